// The console's frame: the section navigation, the project/region picker, and the page the
// hash names (routes.js says which). Each page is a module with render(main, route) that may
// return {dispose()}, called when another page replaces it.
import { consoleApi } from "./api.js";
import { clear, h } from "./dom.js";
import { link, pageOf, parseHash, SECTIONS } from "./routes.js";

const OTHER = "other";

const main = document.getElementById("main");
let known = { parents: [], default: "projects/vertexd/locations/us-central1" };
let current = null; // the page shown: {dispose()}
let sequence = 0;

function rememberedParent() {
  return localStorage.getItem("vertexd.parent") || known.parents[0] || known.default;
}

function renderNav(route) {
  const nav = clear(document.getElementById("nav"));
  for (const section of SECTIONS) {
    const active = route.collection === section.collection;
    nav.append(h("li", {}, h("a", {
      href: link(`${route.parent}/${section.collection}`),
      "aria-current": active && !route.id ? "page" : active ? "true" : null,
    }, section.title)));
  }
  const create = document.getElementById("create-link");
  create.href = link(`${route.parent}/trainingPipelines/create`);
  create.toggleAttribute("aria-current", route.collection === "trainingPipelines" && route.id === "create");
  const select = clear(document.getElementById("parent-select"));
  const parents = [...new Set([route.parent, ...known.parents, known.default])];
  for (const parent of parents) {
    const [, project, , region] = parent.split("/");
    select.append(h("option", { value: parent, selected: parent === route.parent }, `${project} / ${region}`));
  }
  select.append(h("option", { value: OTHER }, "Other project…"));
}

async function show(focus) {
  const route = parseHash();
  const url = pageOf(route);
  if (!url) {
    const parent = route.parent || rememberedParent();
    location.replace(link(`${parent}/customJobs`));
    return;
  }
  localStorage.setItem("vertexd.parent", route.parent);
  renderNav(route);
  const mine = ++sequence;
  if (current && current.dispose) current.dispose();
  current = null;
  const page = await import(url);
  if (mine !== sequence) return; // another navigation won
  clear(main);
  try {
    current = (await page.render(main, route)) || null;
  } catch (error) {
    main.append(h("div", { class: "error-box", role: "alert" }, String(error.message || error)));
  }
  if (focus) main.focus({ preventScroll: false });
}

async function start() {
  try {
    known = await consoleApi.parents();
  } catch {
    // the default parent still works
  }
  const parentForm = document.getElementById("parent-form");
  document.getElementById("parent-select").addEventListener("change", (event) => {
    const route = parseHash();
    parentForm.hidden = event.target.value !== OTHER;
    if (event.target.value === OTHER) {
      document.getElementById("parent-project").focus();
      return;
    }
    location.hash = link(`${event.target.value}/${route.collection || "customJobs"}`);
  });
  parentForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const project = document.getElementById("parent-project").value.trim();
    const region = document.getElementById("parent-region").value.trim();
    if (!/^[^/\s]+$/.test(project) || !/^[^/\s]+$/.test(region)) return;
    parentForm.hidden = true;
    location.hash = link(`projects/${project}/locations/${region}/${parseHash().collection || "customJobs"}`);
  });
  document.getElementById("skip-link").addEventListener("click", (event) => {
    event.preventDefault();
    main.focus();
  });
  window.addEventListener("hashchange", () => show(true));
  await show(false);
}

start();
