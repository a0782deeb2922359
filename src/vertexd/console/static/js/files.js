// Output directories and the files found there (GET /console/api/files?uri=).
import { consoleApi } from "./api.js";
import { h } from "./dom.js";
import { formatBytes } from "./format.js";

/** dirs: [[title, uri]]. The card lists the files under each, and can be refreshed. */
export function filesCard(dirs, title = "Output", empty = "No output directory was set (baseOutputDirectory).") {
  const body = h("div");
  const card = h("section", { class: "card", "aria-labelledby": "files-title" },
    h("h2", { id: "files-title" }, title), body);

  async function refresh() {
    const blocks = await Promise.all(dirs.map(async ([label, uri]) => {
      let list;
      try {
        const answer = await consoleApi.files(uri);
        list = answer.files.length
          ? h("ul", { class: "files", "aria-label": `Files in ${label}` }, answer.files.map((f) =>
            h("li", {}, h("span", { title: f.uri }, f.path), h("span", {}, formatBytes(f.size)))))
          : h("p", { class: "muted small" }, "No files yet.");
        if (answer.truncated) list = [list, h("p", { class: "muted small" }, "Only the first files are shown.")];
      } catch (error) {
        list = h("p", { class: "muted small" }, error.message);
      }
      return [h("h3", {}, label), h("p", { class: "mono small" }, uri), list];
    }));
    body.replaceChildren(...blocks.flat(Infinity));
  }

  if (!dirs.length) body.append(h("p", { class: "muted" }, empty));
  else refresh();
  return {
    el: card,
    refresh: () => (dirs.length ? refresh() : null),
    setDirs(next) { dirs = next; refresh(); },
  };
}

/** baseOutputDirectory and the AIP_MODEL_DIR under it (a trial's: <base>/<trial>/model/). */
export function outputDirs(base, trial = "") {
  if (!base) return [];
  const root = base.endsWith("/") ? base : `${base}/`;
  const model = trial ? `${root}${trial}/model/` : `${root}model/`;
  return [["Base output directory", root], ["Model directory (AIP_MODEL_DIR)", model]];
}
