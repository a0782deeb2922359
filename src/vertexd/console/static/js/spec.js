// A job spec, readable: per worker pool its role, machine, replicas, and what it runs.
import { h } from "./dom.js";
import { camelKeys } from "./format.js";

const ROLES = ["Chief (workerpool0)", "Workers (workerpool1)", "Parameter servers (workerpool2)", "Evaluators (workerpool3)"];

/** Task names of every replica: workerpool0-0, workerpool1-0, workerpool1-1, ... */
export function replicaNames(spec) {
  const names = [];
  (camelKeys(spec || {}).workerPoolSpecs || []).forEach((pool, index) => {
    if (!pool || !Object.keys(pool).length) return;
    const count = Number(pool.replicaCount || 1);
    for (let r = 0; r < count; r += 1) names.push(`workerpool${index}-${r}`);
  });
  return names;
}

function argv(list) {
  if (!list || !list.length) return h("span", { class: "muted" }, "none");
  return h("div", { class: "argv" }, list.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(" "));
}

function machine(spec) {
  const m = spec || {};
  const parts = [m.machineType || "n1-standard-4 (default)"];
  if (m.acceleratorType && m.acceleratorType !== "ACCELERATOR_TYPE_UNSPECIFIED") {
    parts.push(`${m.acceleratorCount || 1} × ${m.acceleratorType}`);
  }
  return parts.join(", ");
}

function poolView(pool, index) {
  const rows = [
    ["Machine", machine(pool.machineSpec)],
    ["Replicas", String(pool.replicaCount || 1)],
  ];
  const pkg = pool.pythonPackageSpec;
  const container = pool.containerSpec;
  if (pkg) {
    rows.push(["Executor image", h("span", { class: "mono" }, pkg.executorImageUri || "—")]);
    rows.push(["Packages", (pkg.packageUris || []).length
      ? h("ul", { class: "plain mono" }, pkg.packageUris.map((u) => h("li", {}, u)))
      : "—"]);
    rows.push(["Python module", h("span", { class: "mono" }, pkg.pythonModule || "—")]);
    rows.push(["Arguments", argv(pkg.args)]);
  } else if (container) {
    rows.push(["Container image", h("span", { class: "mono" }, container.imageUri || "—")]);
    rows.push(["Command", container.command && container.command.length ? argv(container.command) : h("span", { class: "muted" }, "the image's ENTRYPOINT")]);
    rows.push(["Arguments", container.args && container.args.length ? argv(container.args) : h("span", { class: "muted" }, "the image's CMD")]);
  }
  const env = [...((pkg || container || {}).env || [])];
  if (env.length) rows.push(["Environment", argv(env.map((e) => `${e.name}=${e.value ?? ""}`))]);
  if (pool.diskSpec) rows.push(["Disk", `${pool.diskSpec.bootDiskSizeGb || 100} GB ${pool.diskSpec.bootDiskType || ""}`]);
  return h("div", { class: "pool" },
    h("h3", {}, ROLES[index] || `workerpool${index}`),
    h("dl", { class: "props" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])));
}

/** The card for a CustomJobSpec (or a pipeline's task inputs / a tuning job's trialJobSpec). */
export function specCard(rawSpec, title = "Worker pools") {
  const spec = camelKeys(rawSpec || {});
  const pools = (spec.workerPoolSpecs || []).map((pool, index) =>
    pool && Object.keys(pool).length ? poolView(pool, index) : null);
  const extra = [];
  if (spec.baseOutputDirectory) extra.push(["Base output directory", h("span", { class: "mono" }, spec.baseOutputDirectory.outputUriPrefix)]);
  if (spec.scheduling && spec.scheduling.timeout) extra.push(["Timeout", spec.scheduling.timeout]);
  if (spec.serviceAccount) extra.push(["Service account", spec.serviceAccount]);
  return h("section", { class: "card", "aria-labelledby": "spec-title" },
    h("h2", { id: "spec-title" }, title),
    pools.filter(Boolean).length ? pools : h("p", { class: "muted" }, "No worker pools."),
    extra.length ? h("dl", { class: "props pool extra" }, extra.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])) : null);
}
