// A Model: where its artifacts are (and the files there), the pipeline that trained it.
import { v1 } from "./api.js";
import { h } from "./dom.js";
import { filesCard } from "./files.js";
import { labelChips, resourceId, timeEl } from "./format.js";
import { propsCard } from "./page.js";
import { link } from "./routes.js";

export async function render(main, route) {
  const name = `${route.parent}/models/${route.id}`;
  const model = await v1.get(name);
  document.title = `${model.displayName || route.id} · Model · vertexd`;
  const container = model.containerSpec || {};
  const pipeline = model.trainingPipeline;
  const artifact = model.artifactUri;
  main.append(
    h("div", { class: "page-head" }, h("div", { class: "title" },
      h("p", { class: "muted small" }, "Model"),
      h("h1", {}, model.displayName || route.id),
      h("p", { class: "mono small muted" }, model.name))),
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
  );
  return null;
}
