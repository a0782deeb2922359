// The state history a resource's times tell: created, started, ended (and the state now).
import { h } from "./dom.js";
import { formatTime, isTerminal, shortState, stateKind, stateLabel } from "./format.js";

export function historyCard(resource) {
  const items = [];
  const prefix = (resource.state || "JOB_STATE_").split("_STATE_")[0];
  const full = (s) => `${prefix}_STATE_${s}`;
  items.push([full("QUEUED"), resource.createTime, "Created, queued"]);
  if (resource.startTime) items.push([full("RUNNING"), resource.startTime, "Started running"]);
  const now = shortState(resource.state);
  if (resource.endTime) {
    items.push([resource.state, resource.endTime, `Ended: ${stateLabel(resource.state)}`]);
  } else if (!["QUEUED", "RUNNING"].includes(now) || (now === "QUEUED" && resource.startTime)) {
    items.push([resource.state, resource.updateTime, stateLabel(resource.state)]);
  }
  const list = h("ol", { class: "timeline" }, items.map(([state, time, text]) =>
    h("li", { class: stateKind(state) },
      h("strong", {}, text),
      time ? h("time", { datetime: time }, formatTime(time)) : null)));
  const live = !isTerminal(resource.state) && resource.updateTime
    ? h("p", { class: "muted small" }, `Now ${stateLabel(resource.state).toLowerCase()} (last update ${formatTime(resource.updateTime)})`)
    : null;
  return h("section", { class: "card", "aria-labelledby": "history-title" },
    h("h2", { id: "history-title" }, "State history"), list, live);
}

export function errorBox(resource) {
  if (!resource.error || !resource.error.message) return null;
  return h("div", { class: "error-box", role: "alert" },
    h("strong", {}, `Error (code ${resource.error.code ?? "?"}): `), resource.error.message);
}
