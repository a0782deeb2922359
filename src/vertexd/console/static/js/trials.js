// A tuning job's trials: a sortable table (parameters, final metric, state, duration), the
// best trial highlighted, links to each trial's job and logs.
import { h } from "./dom.js";
import { badge, durationText } from "./format.js";
import { link } from "./routes.js";

export function metricOf(trial, metricId) {
  const metrics = (trial.finalMeasurement || {}).metrics || [];
  const found = metrics.find((m) => !metricId || m.metricId === metricId) || null;
  return found && found.value !== undefined && found.value !== null ? Number(found.value) : null;
}

export function bestTrial(trials, metricId, maximize) {
  let best = null;
  for (const trial of trials) {
    const value = metricOf(trial, metricId);
    if (value === null || trial.state !== "SUCCEEDED") continue;
    if (!best || (maximize ? value > best.value : value < best.value)) best = { id: trial.id, value };
  }
  return best ? best.id : null;
}

function trialMs(trial) {
  if (!trial.startTime) return null;
  return (trial.endTime ? Date.parse(trial.endTime) : Date.now()) - Date.parse(trial.startTime);
}

function paramValue(trial, id) {
  const found = (trial.parameters || []).find((p) => p.parameterId === id);
  return found ? found.value : undefined;
}

function show(value) {
  if (value === undefined || value === null) return "—";
  return typeof value === "number" ? String(Number(value.toPrecision(6))) : String(value);
}

/** Returns {el, update(trials)}; keeps its sort order across updates. */
export function trialsTable(paramIds, metricId, maximize, tuningJob) {
  let sort = { key: "id", ascending: true };
  let trials = [];
  const columns = [
    { key: "id", title: "Trial", value: (t) => Number(t.id), cell: (t) => t.id },
    { key: "state", title: "State", value: (t) => t.state || "", cell: (t) => badge(t.state) },
    ...paramIds.map((id) => ({
      key: `p:${id}`, title: id, value: (t) => paramValue(t, id), cell: (t) => show(paramValue(t, id)),
    })),
    { key: "metric", title: metricId || "Metric", value: (t) => metricOf(t, metricId), cell: (t) => show(metricOf(t, metricId)) },
    { key: "duration", title: "Duration", value: trialMs, cell: (t) => durationText(trialMs(t)) },
    { key: "job", title: "Job", cell: (t) => (t.customJob ? [
      h("a", { href: link(t.customJob, { trial: t.id, study: tuningJob }) }, "Job"), " · ",
      h("a", { href: link(t.customJob, { trial: t.id, study: tuningJob, task: "workerpool0-0" }) }, "Logs")] : "—") },
  ];
  const head = h("tr");
  const body = h("tbody");
  const table = h("table", { class: "cards", id: "trials-table" }, h("caption", { class: "sr-only" }, "Trials"), h("thead", {}, head), body);

  function compare(a, b) {
    const column = columns.find((c) => c.key === sort.key);
    const va = column.value(a);
    const vb = column.value(b);
    const missing = (v) => v === undefined || v === null || Number.isNaN(v);
    if (missing(va) || missing(vb)) return missing(va) - missing(vb); // blanks last
    const order = typeof va === "number" && typeof vb === "number" ? va - vb : String(va).localeCompare(String(vb), undefined, { numeric: true });
    return sort.ascending ? order : -order;
  }

  function drawHead() {
    head.replaceChildren(...columns.map((c) => {
      if (!c.value) return h("th", { scope: "col" }, c.title);
      const active = sort.key === c.key;
      return h("th", { scope: "col", "aria-sort": active ? (sort.ascending ? "ascending" : "descending") : "none" },
        h("button", { type: "button", class: "sort", dataset: { key: c.key }, onclick: () => {
          sort = { key: c.key, ascending: active ? !sort.ascending : true };
          drawHead();
          drawBody();
          head.querySelector(`[data-key="${CSS.escape(c.key)}"]`).focus();
        } }, c.title));
    }));
  }

  function drawBody() {
    const best = bestTrial(trials, metricId, maximize);
    const rows = [...trials].sort(compare);
    body.replaceChildren(...rows.map((t) => h("tr", { class: t.id === best ? "best" : "", dataset: { trial: t.id } },
      columns.map((c, i) => h("td", { "data-label": c.title }, h("div", {}, c.cell(t),
        i === 0 && t.id === best ? [" ", h("span", { class: "chip" }, "best")] : null))))));
    if (!rows.length) body.append(h("tr", {}, h("td", { colspan: columns.length, class: "empty" }, "No trials yet.")));
  }

  drawHead();
  return {
    el: h("div", { class: "table-wrap" }, table),
    update(next) { trials = next || []; drawBody(); },
  };
}
