// A HyperparameterTuningJob: the study, a chart of the objective per trial with the best so
// far, the trials table, the trial job spec, its own log; Cancel.
import { objectiveChart } from "./chart.js";
import { detailPage, detailsCard } from "./detail.js";
import { h } from "./dom.js";
import { camelKeys } from "./format.js";
import { logViewer } from "./logs.js";
import { specCard } from "./spec.js";
import { goalOf, studyCard } from "./study.js";
import { bestTrial, metricOf, trialsTable } from "./trials.js";

function trialCount(job) {
  const trials = job.trials || [];
  const done = trials.filter((t) => t.endTime).length;
  return ["Trials", `${trials.length} started, ${done} ended (of ${job.maxTrialCount ?? "?"})`];
}

export function render(main, route) {
  return detailPage(main, route, {
    collection: "hyperparameterTuningJobs",
    kind: "Hyperparameter tuning job",
    tab: "Tuning job",
    setup(job, name) {
      const study = camelKeys(job.studySpec || {});
      const { metricId, maximize } = goalOf(study);
      const paramIds = (study.parameters || []).map((p) => p.parameterId);
      const chart = h("div");
      const table = trialsTable(paramIds, metricId, maximize, name);
      const logs = logViewer(name, [], { title: "Tuning job log" });
      let last = null;
      function drawChart() {
        const width = chart.clientWidth || main.clientWidth - 64;
        chart.replaceChildren(objectiveChart(last.points, { maximize, metricId, bestId: last.bestId, width }));
      }
      let resizing = null;
      const onResize = () => { clearTimeout(resizing); resizing = setTimeout(drawChart, 100); };
      window.addEventListener("resize", onResize);
      return {
        details: (current) => detailsCard(current, [trialCount(current)]),
        sections: [studyCard(job),
          h("section", { class: "card", "aria-labelledby": "chart-heading" },
            h("h2", { id: "chart-heading" }, "Objective per trial"), chart),
          h("section", { class: "card", "aria-labelledby": "trials-heading" },
            h("h2", { id: "trials-heading" }, "Trials"), table.el),
          specCard(job.trialJobSpec, "Trial worker pools"),
          logs.el],
        draw(current) {
          const trials = [...(current.trials || [])].sort((a, b) => Number(a.id) - Number(b.id));
          const points = trials
            .map((t) => ({ trialId: t.id, value: metricOf(t, metricId) }))
            .filter((p) => p.value !== null);
          last = { points, bestId: bestTrial(trials, metricId, maximize) };
          drawChart();
          table.update(trials);
        },
        dispose() { logs.dispose(); window.removeEventListener("resize", onResize); },
      };
    },
  });
}
