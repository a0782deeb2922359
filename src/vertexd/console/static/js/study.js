// A study spec, readable: the metric and its goal, parameters with kind and range, trials.
import { h } from "./dom.js";
import { camelKeys } from "./format.js";

export function goalOf(study) {
  const metric = ((study || {}).metrics || [])[0] || {};
  const goal = metric.goal;
  return { metricId: metric.metricId || "", maximize: !(goal === "MINIMIZE" || goal === 2) };
}

function range(p) {
  const spec = p.doubleValueSpec || p.integerValueSpec;
  if (spec) return `${spec.minValue ?? 0} to ${spec.maxValue ?? 0}`;
  const values = (p.categoricalValueSpec || p.discreteValueSpec || {}).values || [];
  return values.join(", ");
}

function kind(p) {
  if (p.doubleValueSpec) return "Double";
  if (p.integerValueSpec) return "Integer";
  if (p.categoricalValueSpec) return "Categorical";
  if (p.discreteValueSpec) return "Discrete";
  return "—";
}

function scale(p) {
  const names = { 1: "linear", 2: "log", 3: "reverse log", UNIT_LINEAR_SCALE: "linear", UNIT_LOG_SCALE: "log", UNIT_REVERSE_LOG_SCALE: "reverse log" };
  return names[p.scaleType] || "";
}

/** `job`: a tuning job, or a pipeline's tuning task inputs (both have studySpec + counts). */
export function studyCard(rawJob) {
  const job = camelKeys(rawJob || {});
  const study = job.studySpec || {};
  const { metricId, maximize } = goalOf(study);
  const algorithm = { 2: "Grid search", 3: "Random search", GRID_SEARCH: "Grid search", RANDOM_SEARCH: "Random search" }[study.algorithm] || "Default (Bayesian optimization)";
  const params = study.parameters || [];
  return h("section", { class: "card", "aria-labelledby": "study-title" },
    h("h2", { id: "study-title" }, "Hyperparameter tuning"),
    h("dl", { class: "props" },
      h("dt", {}, "Metric"), h("dd", {}, h("span", { class: "mono" }, metricId || "—"), ` (${maximize ? "maximize" : "minimize"})`),
      h("dt", {}, "Algorithm"), h("dd", {}, algorithm),
      h("dt", {}, "Trials"), h("dd", {}, `${job.maxTrialCount ?? "—"} at most, ${job.parallelTrialCount ?? 1} at a time`)),
    params.length ? h("div", { class: "table-wrap", style: "margin-top:.75rem" }, h("table", { class: "cards" },
      h("thead", {}, h("tr", {}, ["Parameter", "Kind", "Range or values", "Scale"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, params.map((p) => h("tr", {},
        h("td", { "data-label": "Parameter", class: "mono" }, p.parameterId),
        h("td", { "data-label": "Kind" }, kind(p)),
        h("td", { "data-label": "Range" }, range(p)),
        h("td", { "data-label": "Scale" }, scale(p) || "—")))))) : null);
}
