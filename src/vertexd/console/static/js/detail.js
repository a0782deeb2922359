// The detail pages: detailPage() is their one skeleton, the rest its parts (the heading with
// state and Cancel, property lists, polling).
import { v1 } from "./api.js";
import { append, clear, h } from "./dom.js";
import { badge, duration, isTerminal, labelChips, resourceId, shortState, timeEl } from "./format.js";
import { errorBox, historyCard } from "./history.js";

/**
 * Shows `route`'s resource in `collection`: loads it, titles the tab, then the heading, the
 * error, the details beside the state history, and the page's own sections; while the
 * resource runs it is fetched again and all of that redrawn. Returns {dispose()}.
 *   kind: the heading's word for it ("Custom job"); tab: the tab title's (default kind).
 *   state: false for a resource with no state (a Model): the heading alone, then the
 *     sections; no badge, Cancel, error, history or polling.
 *   setup(first, name): called once with the first copy; returns the page's own parts:
 *     sections: [elements] (nulls are skipped); details(current): the details card;
 *     draw(current): redraws what the page keeps up to date (the first copy and each fresh
 *     one); changed(next): after a fresh copy is drawn; shown(): once the page is in the
 *     document; dispose(): when it goes.
 */
export async function detailPage(main, route, { collection, kind, tab = kind, state = true, setup }) {
  const name = `${route.parent}/${collection}/${route.id}`;
  const first = await v1.get(name);
  document.title = `${first.displayName || route.id} · ${tab} · vertexd`;
  const head = pageHead(first, kind, { state });
  const page = setup(first, name);
  const dispose = () => { if (page.dispose) page.dispose(); };
  if (!state) {
    append(main, [head.el, page.sections]);
    return { dispose };
  }
  const error = h("div");
  const summary = h("div", { class: "grid2" });
  function draw(current) {
    head.update(current);
    summary.replaceChildren(page.details(current), historyCard(current));
    error.replaceChildren(errorBox(current) || "");
    if (page.draw) page.draw(current);
  }
  append(main, [head.el, error, summary, page.sections]);
  draw(first);
  if (page.shown) page.shown();
  const poller = follow(name, first, (next) => {
    draw(next);
    if (page.changed) page.changed(next);
  });
  return { dispose() { poller.dispose(); dispose(); } };
}

/** A job's Details card: its ID, `rows` of its own, its times and labels. */
export function detailsCard(job, rows = []) {
  return propsCard("Details", [
    ["ID", h("span", { class: "mono" }, resourceId(job.name))],
    ...rows,
    ["Created", timeEl(job.createTime)],
    ["Started", timeEl(job.startTime)],
    ["Ended", timeEl(job.endTime)],
    ["Duration", duration(job)],
    ["Labels", labelChips(job.labels)],
  ], "details-title");
}

/** Title, state badge, and a Cancel button that asks once more before it cancels; with
 * `state: false` the title alone. */
function pageHead(resource, kind, { state = true } = {}) {
  const title = resource.displayName || resourceId(resource.name);
  const kicker = h("p", { class: "muted small" }, kind);
  const fullName = h("p", { class: "mono small muted" }, resource.name);
  if (!state) {
    return { el: h("div", { class: "page-head" }, h("div", { class: "title" }, kicker, h("h1", {}, title), fullName)), update() {} };
  }
  const badgeSlot = h("span", { class: "state" });
  const actions = h("div", { class: "actions" });
  const message = h("p", { class: "small", role: "status" });
  let current = resource;
  let confirming = false;

  function drawActions() {
    clear(actions);
    if (confirming) {
      actions.append(
        h("span", { class: "small" }, `Cancel this ${kind.toLowerCase()}?`),
        h("button", { type: "button", class: "danger", id: "confirm-cancel", onclick: confirm }, "Yes, cancel it"),
        h("button", { type: "button", id: "keep-running", onclick: () => { confirming = false; drawActions(); actions.querySelector("button").focus(); } }, "Keep it running"));
      actions.querySelector("#confirm-cancel").focus();
      return;
    }
    actions.append(h("button", {
      type: "button", class: "danger", id: "cancel-button",
      disabled: isTerminal(current.state) || shortState(current.state) === "CANCELLING",
      onclick: () => { confirming = true; drawActions(); },
    }, "Cancel"));
  }

  async function confirm() {
    confirming = false;
    try {
      await v1.cancel(current.name);
      message.textContent = "Cancelling…";
    } catch (error) {
      message.textContent = error.message;
    }
    drawActions();
    actions.querySelector("button").focus();
  }

  const el = h("div", { class: "page-head" },
    h("div", { class: "title" }, kicker, h("h1", {}, title, " ", badgeSlot), fullName, message),
    actions);

  function update(next) {
    const ended = isTerminal(next.state) || shortState(next.state) === "CANCELLING";
    const changed = ended !== (isTerminal(current.state) || shortState(current.state) === "CANCELLING");
    current = next;
    badgeSlot.replaceChildren(badge(next.state));
    if (ended) message.textContent = "";
    if (changed && ended) confirming = false;
    if (changed || !actions.firstChild) drawActions();
  }
  update(resource);
  return { el, update };
}

export function propsCard(title, rows, id) {
  return h("section", { class: "card", "aria-labelledby": id },
    h("h2", { id }, title),
    h("dl", { class: "props" }, rows.filter(Boolean).map(([k, v]) => [h("dt", {}, k), h("dd", {}, v ?? "—")])));
}

/** Calls `step(resource)` with a fresh copy of `name` every `ms` while it is not terminal. */
function follow(name, first, step, ms = 2000) {
  let timer = null;
  let stopped = false;
  async function tick() {
    if (stopped) return;
    let next;
    try {
      next = await v1.get(name);
    } catch {
      timer = setTimeout(tick, ms * 2);
      return;
    }
    if (stopped) return;
    step(next);
    if (!isTerminal(next.state)) timer = setTimeout(tick, ms);
  }
  if (!isTerminal(first.state)) timer = setTimeout(tick, ms);
  return { dispose() { stopped = true; clearTimeout(timer); } };
}
