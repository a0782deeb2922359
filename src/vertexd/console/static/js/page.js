// What the detail pages share: the heading with state and Cancel, property lists, polling.
import { v1 } from "./api.js";
import { clear, h } from "./dom.js";
import { badge, isTerminal, resourceId, shortState } from "./format.js";

/** Title, state badge, and a Cancel button that asks once more before it cancels. */
export function pageHead(resource, kind, { cancellable = true } = {}) {
  const badgeSlot = h("span", { class: "state" });
  const actions = h("div", { class: "actions" });
  const message = h("p", { class: "small", role: "status" });
  let current = resource;
  let confirming = false;

  function drawActions() {
    clear(actions);
    if (!cancellable) return;
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
    h("div", { class: "title" },
      h("p", { class: "muted small" }, kind),
      h("h1", {}, resource.displayName || resourceId(resource.name), " ", badgeSlot),
      h("p", { class: "mono small muted" }, resource.name),
      message),
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
export function follow(name, first, step, ms = 2000) {
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
