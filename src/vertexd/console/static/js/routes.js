// Which hash shows which page: #/projects/P/locations/L/<collection> is a list,
// #/.../<collection>/<id> a resource's page, #/.../trainingPipelines/create the form.
// It imports nothing: the pages take `link` from here, the frame (main.js) the rest.

/** The sections of the navigation, in its order, and the page of one of their resources. */
export const SECTIONS = [
  { collection: "customJobs", title: "Custom jobs", detail: "./job.js" },
  { collection: "hyperparameterTuningJobs", title: "Tuning jobs", detail: "./tuning.js" },
  { collection: "trainingPipelines", title: "Training pipelines", detail: "./pipeline.js" },
  { collection: "models", title: "Models", detail: "./model.js" },
];
const ROUTE = /^\/(projects\/[^/]+\/locations\/[^/]+)(?:\/([A-Za-z]+)(?:\/([^/]+))?)?\/?$/;

export function parseHash(hash = location.hash) {
  const [rawPath, search = ""] = hash.replace(/^#/, "").split("?");
  const path = decodeURIComponent(rawPath) || "/";
  const match = ROUTE.exec(path);
  const query = new URLSearchParams(search);
  if (!match) return { parent: null, collection: null, id: null, query };
  return { parent: match[1], collection: match[2] || null, id: match[3] || null, query };
}

/** The hash that shows the resource (or collection) `name`. */
export function link(name, query) {
  const q = query ? `?${new URLSearchParams(query)}` : "";
  return `#/${name}${q}`;
}

/** The URL of the module whose render(main, route) shows `route`; null where none does. */
export function pageOf(route) {
  const section = SECTIONS.find((s) => s.collection === route.collection);
  if (!route.parent || !section) return null;
  let page = "./list.js";
  if (route.id) page = route.collection === "trainingPipelines" && route.id === "create" ? "./create/form.js" : section.detail;
  return new URL(page, import.meta.url).href;
}
