// A CustomJob: spec per worker pool, state history, error, output files, live logs, Cancel.
import { consoleApi } from "./api.js";
import { detailPage, detailsCard, propsCard } from "./detail.js";
import { h } from "./dom.js";
import { filesCard, outputDirs } from "./files.js";
import { camelKeys, isTerminal, resourceId } from "./format.js";
import { logViewer } from "./logs.js";
import { link } from "./routes.js";
import { replicaNames, specCard } from "./spec.js";

export function render(main, route) {
  return detailPage(main, route, {
    collection: "customJobs",
    kind: "Custom job",
    setup(job, name) {
      const spec = camelKeys(job.jobSpec || {});
      const base = spec.baseOutputDirectory && spec.baseOutputDirectory.outputUriPrefix;
      // Opened from a tuning job's trials table: the trial's own AIP_MODEL_DIR.
      const trial = route.query.get("trial") || "";
      const study = (route.query.get("study") || "").startsWith(`${route.parent}/hyperparameterTuningJobs/`)
        ? route.query.get("study") : "";
      const files = filesCard(outputDirs(base, study ? trial : ""));
      const logs = logViewer(name, replicaNames(spec), { task: route.query.get("task") || "" });
      const trialRow = trial && study
        ? ["Trial", [`Trial ${trial} of tuning job `, h("a", { href: link(study) }, resourceId(study))]] : null;
      const gpus = h("div");
      const showGpus = () => consoleApi.devices(name).then(({ replicas }) => {
        gpus.replaceChildren(replicas.length ? gpuCard(replicas) : "");
      }).catch(() => {});
      showGpus();
      return {
        details: (current) => detailsCard(current, [trialRow]),
        sections: [specCard(spec), gpus, files.el, logs.el],
        shown() { if (route.query.has("task")) logs.el.scrollIntoView(); },
        changed(next) { showGpus(); if (isTerminal(next.state)) files.refresh(); },
        dispose() { logs.dispose(); },
      };
    },
  });
}

/** Which GPUs each replica holds: index, model and UUID, as the job log says them. */
function gpuCard(replicas) {
  return propsCard("GPUs", replicas.map(({ taskName, devices }) => [taskName,
    devices.map((d) => h("div", { class: "mono" },
      d.model ? `GPU ${d.index} · ${d.model} · ${d.id}` : `GPU ${d.id}`))]), "gpus-title");
}
