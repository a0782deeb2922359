// A Model (or one version: #/.../models/ID@2): where its artifacts are (and the files there),
// the pipeline that trained it, and every version of the model.
import { v1 } from "./api.js";
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
          versionsCard(model),
          filesCard(artifact ? [["Artifact directory", artifact.endsWith("/") ? artifact : `${artifact}/`]] : [], "Artifacts", "This model names no artifacts.").el,
        ],
      };
    },
  });
}

/** The model's versions, newest first; the one shown is marked, the others are links. */
function versionsCard(model) {
  const body = h("tbody", {}, h("tr", {}, h("td", { colspan: 4, class: "muted" }, "Loading…")));
  const row = (v) => h("tr", v.versionId === model.versionId ? { "aria-current": "true" } : {},
    h("td", { "data-label": "Version", class: "mono" }, v.versionId === model.versionId
      ? h("strong", {}, v.versionId) : h("a", { href: link(`${v.name}@${v.versionId}`) }, v.versionId)),
    h("td", { "data-label": "Aliases" }, (v.versionAliases || []).join(", ") || "—"),
    h("td", { "data-label": "Created" }, timeEl(v.versionCreateTime)),
    h("td", { "data-label": "Artifacts", class: "mono" }, v.artifactUri || "—"));
  v1.get(`${model.name}:listVersions`, { pageSize: 1000 }).then(
    (answer) => body.replaceChildren(...(answer.models || []).reverse().map(row)),
    (err) => body.replaceChildren(h("tr", {}, h("td", { colspan: 4 }, err.message))));
  return h("section", { class: "card", "aria-labelledby": "versions-title" },
    h("h2", { id: "versions-title" }, "Versions"),
    h("div", { class: "table-wrap" }, h("table", { class: "cards", id: "versions-table" },
      h("thead", {}, h("tr", {}, ["Version", "Aliases", "Created", "Artifacts"].map((t) => h("th", { scope: "col" }, t)))),
      body)));
}
