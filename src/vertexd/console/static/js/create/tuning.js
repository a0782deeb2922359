// Step "Hyperparameters" (optional): the metric and its goal, parameters with their kind and
// range, the number of trials.
import { h, newId } from "../dom.js";
import { field, group, input, select } from "./fields.js";

const KINDS = [["DOUBLE", "Double"], ["INTEGER", "Integer"], ["CATEGORICAL", "Categorical"], ["DISCRETE", "Discrete"]];
const SCALES = [["UNIT_LINEAR_SCALE", "Linear"], ["UNIT_LOG_SCALE", "Log"], ["UNIT_REVERSE_LOG_SCALE", "Reverse log"], ["", "None"]];

function parameterRow(list, onChange) {
  const headingId = newId("param");
  const row = h("div", { class: "param", role: "group", "aria-labelledby": headingId });
  const id = input({ placeholder: "learning_rate" });
  const kind = select(KINDS);
  const min = input({ type: "text", inputmode: "decimal", placeholder: "0.0001" });
  const max = input({ type: "text", inputmode: "decimal", placeholder: "0.1" });
  const values = input({ placeholder: "adam, sgd  or  16, 32, 64" });
  const scale = select(SCALES);
  const heading = h("h3", { id: headingId });
  const remove = h("button", { type: "button" }, "Remove");
  const rangeRow = h("div", { class: "row" });
  const valuesField = h("div");
  const controls = { id, kind, min, max, values, scale };
  row.append(h("div", { class: "param-head" }, heading, remove),
    h("div", { class: "row" }, field({ label: "Parameter name", control: id }), field({ label: "Type", control: kind })),
    rangeRow, valuesField);
  rangeRow.append(field({ label: "Minimum", control: min }), field({ label: "Maximum", control: max }), field({ label: "Scale", control: scale }));
  valuesField.append(field({ label: "Values", control: values, hint: "Comma-separated." }));
  function showKind() {
    const numeric = kind.value === "DOUBLE" || kind.value === "INTEGER";
    rangeRow.hidden = !numeric;
    valuesField.hidden = numeric;
  }
  kind.addEventListener("change", showKind);
  remove.addEventListener("click", () => { row.remove(); onChange(); });
  showKind();
  row.renumber = (i) => {
    heading.textContent = `Parameter ${i + 1}`;
    remove.setAttribute("aria-label", `Remove parameter ${i + 1}`);
    const base = `study_spec.parameters[${i}]`;
    id.dataset.path = `${base}.parameter_id ${base}`;
    min.dataset.path = `${base}.double_value_spec.min_value ${base}.integer_value_spec.min_value`;
    max.dataset.path = `${base}.double_value_spec.max_value ${base}.integer_value_spec.max_value`;
    values.dataset.path = `${base}.categorical_value_spec ${base}.discrete_value_spec`;
    scale.dataset.path = `${base}.scale_type`;
    kind.dataset.path = `${base}.double_value_spec ${base}.integer_value_spec`;
  };
  row.values = () => Object.fromEntries(Object.entries(controls).map(([k, c]) => [k, c.value.trim()]));
  list.append(row);
  onChange();
  return row;
}

export function tuningStep(stepNumber) {
  const toggleId = newId("tuning");
  const toggle = h("input", { type: "checkbox", id: toggleId });
  const list = h("div", { id: "parameters" });
  const renumber = () => [...list.children].forEach((row, i) => row.renumber(i));
  const addParam = h("button", { type: "button", id: "add-parameter", onclick: () => parameterRow(list, renumber).querySelector("input").focus() }, "Add parameter");
  const metric = input({ id: "metric-id", placeholder: "accuracy" });
  const goal = select([["MAXIMIZE", "Maximize"], ["MINIMIZE", "Minimize"]], { id: "metric-goal" });
  const maxTrials = input({ id: "max-trials", type: "number", min: "1", value: "4", inputmode: "numeric" });
  const parallel = input({ id: "parallel-trials", type: "number", min: "1", value: "2", inputmode: "numeric" });
  const algorithm = select([["", "Default (Bayesian optimization)"], ["GRID_SEARCH", "Grid search"], ["RANDOM_SEARCH", "Random search"]], { id: "algorithm" });
  const body = h("div", { id: "tuning-fields", hidden: true },
    h("div", { class: "row" },
      field({ label: "Metric to optimize", control: metric, required: true, paths: ["study_spec.metrics"],
        hint: "The metric id your code reports with cloudml-hypertune." }),
      field({ label: "Goal", control: goal, paths: ["study_spec.metrics[0].goal"] })),
    group({ label: "Parameters", content: h("div", {}, list, addParam), paths: ["study_spec.parameters"], id: "parameters-group" }),
    h("div", { class: "row" },
      field({ label: "Maximum number of trials", control: maxTrials, paths: ["max_trial_count"] }),
      field({ label: "Maximum number of parallel trials", control: parallel, paths: ["parallel_trial_count"] }),
      field({ label: "Search algorithm", control: algorithm, paths: ["study_spec.algorithm"] })));
  parameterRow(list, renumber);
  toggle.addEventListener("change", () => { body.hidden = !toggle.checked; });
  const el = h("fieldset", { id: "step-tuning" },
    h("legend", {}, h("span", { class: "step", "aria-hidden": "true" }, String(stepNumber)), "Hyperparameters (optional)"),
    h("div", { class: "field" }, h("label", { for: toggleId }, toggle, " Enable hyperparameter tuning")),
    body);
  return {
    el,
    values: () => (toggle.checked ? {
      metricId: metric.value.trim(), goal: goal.value, maxTrials: maxTrials.value, parallelTrials: parallel.value,
      algorithm: algorithm.value, parameters: [...list.children].map((row) => row.values()),
    } : null),
  };
}
