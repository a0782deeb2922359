// The lists: custom jobs, tuning jobs, training pipelines, models. Newest first, 50 rows a
// page (pageToken), filter by state and text, refreshing by itself while anything runs.
import { v1 } from "./api.js";
import { clear, h } from "./dom.js";
import { badge, duration, isTerminal, labelChips, resourceId, timeEl } from "./format.js";
import { link, SECTIONS } from "./routes.js";

const PAGE_SIZE = 50;
const REFRESH_MS = 3000;
const STATES = ["QUEUED", "PENDING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLING", "CANCELLED"];
const PREFIX = { customJobs: "JOB_STATE_", hyperparameterTuningJobs: "JOB_STATE_", trainingPipelines: "PIPELINE_STATE_" };

/** Free text -> an AIP-160 filter: `key=value` words match labels, other words the name. */
export function textFilter(text) {
  const parts = [];
  for (const word of text.trim().split(/\s+/).filter(Boolean)) {
    const clean = word.replaceAll('"', "").replaceAll("\\", "");
    const label = /^([a-z0-9_-]+)[=:](.*)$/i.exec(clean);
    if (label) parts.push(label[2] ? `labels.${label[1]}="${label[2]}"` : `labels.${label[1]}:*`);
    else if (clean) parts.push(`display_name:"*${clean}*"`);
  }
  return parts.join(" AND ");
}

function columns(collection) {
  if (collection === "models") {
    return [
      ["Name", "name-cell", (r, route) => nameCell(r, route)],
      ["Version", "", (r) => r.versionId || "1"],
      ["Created", "", (r) => timeEl(r.createTime)],
      ["Training pipeline", "", (r) => r.trainingPipeline
        ? h("a", { href: link(r.trainingPipeline) }, resourceId(r.trainingPipeline)) : "—"],
      ["Labels", "", (r) => labelChips(r.labels)],
    ];
  }
  return [
    ["Name", "name-cell", (r, route) => nameCell(r, route)],
    ["State", "", (r) => badge(r.state)],
    ["Created", "", (r) => timeEl(r.createTime)],
    ["Duration", "", (r) => duration(r)],
    ["Labels", "", (r) => labelChips(r.labels)],
  ];
}

function nameCell(resource) {
  return [
    h("a", { href: link(resource.name) }, resource.displayName || resourceId(resource.name)),
    h("span", { class: "sub" }, resourceId(resource.name)),
  ];
}

export async function render(main, route) {
  const { parent, collection } = route;
  const section = SECTIONS.find((s) => s.collection === collection);
  document.title = `${section.title} · vertexd`;
  const prefix = PREFIX[collection];
  const cols = columns(collection);
  let tokens = [""]; // tokens[i] is the pageToken of page i
  let page = 0;
  let timer = null;
  let disposed = false;

  const stateSelect = prefix && h("select", { id: "filter-state", name: "state" },
    h("option", { value: "" }, "Any state"),
    STATES.map((s) => h("option", { value: prefix + s, selected: route.query.get("state") === prefix + s },
      s.charAt(0) + s.slice(1).toLowerCase())));
  const textInput = h("input", {
    id: "filter-text", type: "search", name: "q", value: route.query.get("q") || "",
    placeholder: "name, or label key=value", autocomplete: "off",
  });
  const note = h("span", { class: "refresh-note", "aria-live": "polite" });
  const tbody = h("tbody");
  const table = h("table", { class: "cards", "aria-busy": "true" },
    h("caption", { class: "sr-only" }, section.title),
    h("thead", {}, h("tr", {}, cols.map(([title]) => h("th", { scope: "col" }, title)))), tbody);
  const prev = h("button", { type: "button", onclick: () => go(page - 1) }, "← Newer");
  const next = h("button", { type: "button", onclick: () => go(page + 1) }, "Older →");
  const range = h("span", { class: "muted", "aria-live": "polite" });
  const error = h("div", { class: "error-box", role: "alert", hidden: true });

  main.append(
    h("div", { class: "page-head" },
      h("div", { class: "title" }, h("h1", {}, section.title),
        h("p", { class: "muted small" }, parent)),
      collection === "trainingPipelines" && h("div", { class: "actions" },
        h("a", { class: "button primary", href: link(`${parent}/trainingPipelines/create`) }, "Create"))),
    h("form", { class: "filters", role: "search", onsubmit: (e) => { e.preventDefault(); restart(); } },
      stateSelect && h("label", { for: "filter-state" }, "State", stateSelect),
      h("label", { class: "grow", for: "filter-text" }, "Filter", textInput),
      note),
    error,
    h("div", { class: "table-wrap" }, table),
    h("nav", { class: "pager", "aria-label": "Pages" }, prev, next, range),
  );

  function filterText() {
    const parts = [];
    if (stateSelect && stateSelect.value) parts.push(`state="${stateSelect.value}"`);
    const text = textFilter(textInput.value);
    if (text) parts.push(text);
    return parts.join(" AND ");
  }

  function keepInUrl() {
    const query = {};
    if (stateSelect && stateSelect.value) query.state = stateSelect.value;
    if (textInput.value.trim()) query.q = textInput.value.trim();
    history.replaceState(null, "", link(`${parent}/${collection}`, Object.keys(query).length ? query : null));
  }

  async function load() {
    clearTimeout(timer);
    table.setAttribute("aria-busy", "true");
    let answer;
    try {
      answer = await v1.list(parent, collection, {
        pageSize: PAGE_SIZE, pageToken: tokens[page], filter: filterText(),
      });
    } catch (err) {
      if (disposed) return;
      error.hidden = false;
      error.textContent = err.message;
      table.setAttribute("aria-busy", "false");
      return;
    }
    if (disposed) return;
    error.hidden = true;
    const rows = answer[collection] || [];
    tokens[page + 1] = answer.nextPageToken || null;
    clear(tbody);
    for (const resource of rows) {
      tbody.append(h("tr", { dataset: { name: resource.name } },
        cols.map(([title, cls, cell]) => h("td", { "data-label": title, class: cls }, h("div", {}, cell(resource, route))))));
    }
    if (!rows.length) {
      tbody.append(h("tr", {}, h("td", { colspan: cols.length, class: "empty" },
        filterText() ? "Nothing matches this filter." : "Nothing here yet.")));
    }
    const first = page * PAGE_SIZE;
    range.textContent = rows.length > 1 ? `Rows ${first + 1}–${first + rows.length}` : rows.length ? `Row ${first + 1}` : "";
    prev.disabled = page === 0;
    next.disabled = !answer.nextPageToken;
    table.setAttribute("aria-busy", "false");
    const active = prefix && rows.some((r) => !isTerminal(r.state));
    note.textContent = active ? "Refreshing while jobs run" : "";
    if (active) timer = setTimeout(load, REFRESH_MS);
  }

  function go(to) {
    if (to < 0 || (to > page && !tokens[to])) return;
    page = to;
    load();
  }

  function restart() {
    tokens = [""];
    page = 0;
    keepInUrl();
    load();
  }

  let debounce = null;
  textInput.addEventListener("input", () => {
    clearTimeout(debounce);
    debounce = setTimeout(restart, 300);
  });
  if (stateSelect) stateSelect.addEventListener("change", restart);
  await load();
  return { dispose() { disposed = true; clearTimeout(timer); clearTimeout(debounce); } };
}
