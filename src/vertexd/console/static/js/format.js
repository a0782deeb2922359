// Times, durations, states and labels as the console shows them.
import { h } from "./dom.js";

const TERMINAL = ["SUCCEEDED", "FAILED", "CANCELLED", "EXPIRED", "PARTIALLY_SUCCEEDED", "INFEASIBLE"];

export function shortState(state) {
  if (!state) return "UNKNOWN";
  const at = state.indexOf("_STATE_");
  return at >= 0 ? state.slice(at + 7) : state;
}

export function isTerminal(state) {
  return TERMINAL.includes(shortState(state));
}

export function stateKind(state) {
  const short = shortState(state);
  if (short === "SUCCEEDED") return "ok";
  if (short === "FAILED" || short === "EXPIRED" || short === "INFEASIBLE") return "bad";
  if (short === "RUNNING" || short === "ACTIVE") return "run";
  if (short.startsWith("CANCEL") || short === "STOPPING" || short === "PAUSED") return "stop";
  return "wait";
}

export function stateLabel(state) {
  const short = shortState(state).toLowerCase().replaceAll("_", " ");
  return short.charAt(0).toUpperCase() + short.slice(1);
}

export function badge(state) {
  return h("span", { class: `badge ${stateKind(state)}`, title: state || "" }, stateLabel(state));
}

const pad = (n) => String(n).padStart(2, "0");

export function formatTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function timeEl(iso) {
  return iso ? h("time", { datetime: iso, title: iso }, formatTime(iso)) : "—";
}

export function durationText(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "—";
  const total = Math.max(0, Math.round(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  if (hours) return `${hours} h ${minutes} min`;
  if (minutes) return `${minutes} min ${seconds} s`;
  return `${seconds} s`;
}

/** How long a resource ran: start to end, or start to now while it runs. */
export function duration(resource) {
  const start = resource.startTime;
  if (!start) return "—";
  const end = resource.endTime ? Date.parse(resource.endTime) : Date.now();
  return durationText(end - Date.parse(start));
}

export function labelChips(labels) {
  const entries = Object.entries(labels || {});
  if (!entries.length) return h("span", { class: "muted" }, "—");
  return entries.map(([k, v]) => h("span", { class: "chip" }, v ? `${k}: ${v}` : k));
}

export function resourceId(name) {
  return (name || "").split("/").pop();
}

export function formatBytes(size) {
  if (size === null || size === undefined) return "";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = size;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit ? value.toFixed(1) : value} ${units[unit]}`;
}

/** Task inputs arrive in either casing (the Python SDK sends snake_case): make them camelCase. */
export function camelKeys(value) {
  if (Array.isArray(value)) return value.map(camelKeys);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase()), camelKeys(v)]),
    );
  }
  return value;
}
