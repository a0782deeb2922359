// A HyperparameterTuningJob: the study, a chart of the objective per trial with the best so
// far, the trials table, the trial job spec, its own log; Cancel.
import { v1 } from "./api.js";
import { h } from "./dom.js";
import { objectiveChart } from "./chart.js";
import { camelKeys, duration, labelChips, resourceId, timeEl } from "./format.js";
import { errorBox, historyCard } from "./history.js";
import { logViewer } from "./logs.js";
import { follow, pageHead, propsCard } from "./page.js";
import { specCard } from "./spec.js";
import { goalOf, studyCard } from "./study.js";
import { bestTrial, metricOf, trialsTable } from "./trials.js";

function details(job) {
  const trials = job.trials || [];
  const done = trials.filter((t) => t.endTime).length;
  return propsCard("Details", [
    ["ID", h("span", { class: "mono" }, resourceId(job.name))],
    ["Trials", `${trials.length} started, ${done} ended (of ${job.maxTrialCount ?? "?"})`],
    ["Created", timeEl(job.createTime)],
    ["Started", timeEl(job.startTime)],
    ["Ended", timeEl(job.endTime)],
    ["Duration", duration(job)],
    ["Labels", labelChips(job.labels)],
  ], "details-title");
}

export async function render(main, route) {
  const name = `${route.parent}/hyperparameterTuningJobs/${route.id}`;
  const job = await v1.get(name);
  document.title = `${job.displayName || route.id} · Tuning job · vertexd`;
  const study = camelKeys(job.studySpec || {});
  const { metricId, maximize } = goalOf(study);
  const paramIds = (study.parameters || []).map((p) => p.parameterId);
  const head = pageHead(job, "Hyperparameter tuning job");
  const summary = h("div", { class: "grid2" });
  const error = h("div");
  const chart = h("div");
  const table = trialsTable(paramIds, metricId, maximize, name);
  const logs = logViewer(name, [], { title: "Tuning job log" });

  function draw(current) {
    head.update(current);
    summary.replaceChildren(details(current), historyCard(current));
    error.replaceChildren(errorBox(current) || "");
    const trials = [...(current.trials || [])].sort((a, b) => Number(a.id) - Number(b.id));
    const points = trials
      .map((t) => ({ trialId: t.id, value: metricOf(t, metricId) }))
      .filter((p) => p.value !== null);
    last = { points, bestId: bestTrial(trials, metricId, maximize) };
    drawChart();
    table.update(trials);
  }
  let last = null;
  function drawChart() {
    const width = chart.clientWidth || main.clientWidth - 64;
    chart.replaceChildren(objectiveChart(last.points, { maximize, metricId, bestId: last.bestId, width }));
  }
  let resizing = null;
  const onResize = () => { clearTimeout(resizing); resizing = setTimeout(drawChart, 100); };
  window.addEventListener("resize", onResize);
  main.append(head.el, error, summary, studyCard(job),
    h("section", { class: "card", "aria-labelledby": "chart-heading" },
      h("h2", { id: "chart-heading" }, "Objective per trial"), chart),
    h("section", { class: "card", "aria-labelledby": "trials-heading" },
      h("h2", { id: "trials-heading" }, "Trials"), table.el),
    specCard(job.trialJobSpec, "Trial worker pools"),
    logs.el);
  draw(job);
  const poller = follow(name, job, draw);
  return { dispose() { poller.dispose(); logs.dispose(); window.removeEventListener("resize", onResize); } };
}
