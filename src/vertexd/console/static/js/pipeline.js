// A TrainingPipeline: its task (custom or tuning), the backing job and the uploaded model,
// linked; the backing job's logs; Cancel.
import { v1 } from "./api.js";
import { detailPage, propsCard } from "./detail.js";
import { h } from "./dom.js";
import { filesCard, outputDirs } from "./files.js";
import { camelKeys, duration, labelChips, resourceId, timeEl } from "./format.js";
import { logViewer } from "./logs.js";
import { link } from "./routes.js";
import { replicaNames, specCard } from "./spec.js";
import { studyCard } from "./study.js";

const TUNING = "hyperparameter_tuning_task";

function backingOf(pipeline) {
  const meta = pipeline.trainingTaskMetadata || {};
  return meta.backingCustomJob || meta.backingHyperparameterTuningJob || "";
}

function details(pipeline) {
  const tuning = (pipeline.trainingTaskDefinition || "").includes(TUNING);
  const backing = backingOf(pipeline);
  const model = (pipeline.modelToUpload || {}).name;
  return propsCard("Training", [
    ["Task", tuning ? "Custom training with hyperparameter tuning" : "Custom training"],
    ["Definition", h("span", { class: "mono small" }, pipeline.trainingTaskDefinition || "—")],
    [tuning ? "Tuning job" : "Custom job", backing
      ? h("a", { href: link(backing), id: "backing-link" }, resourceId(backing)) : "—"],
    ["Model", model
      ? h("a", { href: link(model), id: "model-link" }, (pipeline.modelToUpload.displayName || resourceId(model)))
      : h("span", { class: "muted" }, pipeline.modelToUpload ? "uploaded when training succeeds" : "none requested")],
    ["Created", timeEl(pipeline.createTime)],
    ["Duration", duration(pipeline)],
    ["Labels", labelChips(pipeline.labels)],
  ], "training-title");
}

export function render(main, route) {
  return detailPage(main, route, {
    collection: "trainingPipelines",
    kind: "Training pipeline",
    setup(pipeline) {
      const inputs = camelKeys(pipeline.trainingTaskInputs || {});
      const tuning = (pipeline.trainingTaskDefinition || "").includes(TUNING);
      const jobSpec = tuning ? inputs.trialJobSpec || {} : inputs;
      const base = (jobSpec.baseOutputDirectory || {}).outputUriPrefix;
      // A tuning task's model is the best trial's (<base>/<trial>/model): the Model names it.
      const dirs = tuning ? outputDirs(base).slice(0, 1) : outputDirs(base);
      const files = filesCard(dirs, "Model output");
      let modelShown = "";
      async function showModelDir(current) {
        const model = (current.modelToUpload || {}).name;
        if (!tuning || !model || model === modelShown) return;
        modelShown = model;
        const uploaded = await v1.get(model).catch(() => null);
        if (uploaded && uploaded.artifactUri) {
          const uri = uploaded.artifactUri.endsWith("/") ? uploaded.artifactUri : `${uploaded.artifactUri}/`;
          files.setDirs([...dirs, ["Model artifacts (the best trial's)", uri]]);
        }
      }
      showModelDir(pipeline);
      const backing = backingOf(pipeline);
      const logs = backing && !tuning
        ? logViewer(backing, replicaNames(jobSpec), { title: "Logs of the custom job" })
        : null;
      return {
        details,
        sections: [tuning ? studyCard(inputs) : null,
          specCard(jobSpec, tuning ? "Trial worker pools" : "Worker pools"),
          files.el,
          logs ? logs.el : null],
        changed(next) {
          if (next.endTime) files.refresh();
          showModelDir(next);
        },
        dispose() { if (logs) logs.dispose(); },
      };
    },
  });
}
