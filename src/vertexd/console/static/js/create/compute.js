// Step "Compute": machine type and replica count of worker pool 0, and an optional second
// worker pool (the workers) running the same container.
import { h, newId } from "../dom.js";
import { field, input } from "./fields.js";

function machineSelect(machines, chosen, id) {
  const families = new Map();
  for (const m of machines) {
    const family = m.name.replace(/-\d+g?$/, "");
    if (!families.has(family)) families.set(family, []);
    families.get(family).push(m);
  }
  return h("select", { id }, [...families].map(([family, list]) => h("optgroup", { label: family },
    list.map((m) => h("option", { value: m.name, selected: m.name === chosen },
      `${m.name} (${m.cpus} vCPUs, ${m.memoryGb} GB${m.gpus ? `, ${m.gpus} GPU` : ""})`)))));
}

function poolFields(index, machines, chosen, replicas) {
  const machine = machineSelect(machines, chosen, `machine-type-${index}`);
  const count = input({ id: `replica-count-${index}`, type: "number", min: "1", step: "1", value: String(replicas), inputmode: "numeric" });
  const el = h("div", { class: "row" },
    field({ label: "Machine type", control: machine, paths: [`worker_pool_specs[${index}].machine_spec`] }),
    field({ label: "Replica count", control: count, paths: [`worker_pool_specs[${index}].replica_count`],
      hint: index === 0 ? "Worker pool 0 is the chief: one replica." : "Workers: any number." }));
  return { el, values: () => ({ machineType: machine.value, replicaCount: count.value }) };
}

export function computeStep(machineTypes, stepNumber) {
  const { machineTypes: machines, default: chosen } = machineTypes;
  const chief = poolFields(0, machines, chosen, 1);
  const workers = poolFields(1, machines, chosen, 2);
  const toggleId = newId("add-pool");
  const toggle = h("input", { type: "checkbox", id: toggleId });
  const second = h("div", { id: "worker-pool-1", hidden: true }, h("h3", {}, "Worker pool 1 (workers)"), workers.el);
  toggle.addEventListener("change", () => { second.hidden = !toggle.checked; });
  const el = h("fieldset", { id: "step-compute" },
    h("legend", {}, h("span", { class: "step", "aria-hidden": "true" }, String(stepNumber)), "Compute"),
    h("h3", {}, "Worker pool 0 (chief)"), chief.el,
    h("div", { class: "field" }, h("label", { for: toggleId, class: "inline" }, toggle, " Add a worker pool (distributed training)")),
    second);
  return { el, values: () => (toggle.checked ? [chief.values(), workers.values()] : [chief.values()]) };
}
