// A Model: where its artifacts are (and the files there), the pipeline that trained it.
import { detailPage, propsCard } from "./detail.js";
import { h } from "./dom.js";
import { filesCard } from "./files.js";
import { labelChips, resourceId, timeEl } from "./format.js";
import { link } from "./routes.js";

export function render(main, route) {
  return detailPage(main, route, {
    collection: "models",
    kind: "Model",
    state: false,
    setup(model) {
      const container = model.containerSpec || {};
      const pipeline = model.trainingPipeline;
      const artifact = model.artifactUri;
      return {
        sections: [
          propsCard("Details", [
            ["ID", h("span", { class: "mono" }, resourceId(model.name))],
            ["Version", `${model.versionId || "1"} (${(model.versionAliases || []).join(", ") || "no alias"})`],
            ["Created", timeEl(model.createTime)],
            ["Artifacts", artifact ? h("span", { class: "mono" }, artifact) : "—"],
            ["Prediction container", container.imageUri ? h("span", { class: "mono" }, container.imageUri) : "—"],
            ["Training pipeline", pipeline ? h("a", { href: link(pipeline) }, resourceId(pipeline)) : "—"],
            ["Labels", labelChips(model.labels)],
          ], "model-details"),
          filesCard(artifact ? [["Artifact directory", artifact.endsWith("/") ? artifact : `${artifact}/`]] : [], "Artifacts", "This model names no artifacts.").el,
        ],
      };
    },
  });
}
