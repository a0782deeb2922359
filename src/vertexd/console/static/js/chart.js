// The objective per trial as an SVG chart, with the best-so-far line and the best trial marked.
import { h, s } from "./dom.js";

const M = { left: 64, right: 20, top: 16, bottom: 44 };

/** Round tick values covering [lo, hi]. */
export function ticks(lo, hi, count = 5) {
  if (lo === hi) return [lo];
  const raw = (hi - lo) / count;
  const step = 10 ** Math.floor(Math.log10(raw));
  const nice = [1, 2, 2.5, 5, 10].map((f) => f * step).find((f) => raw <= f) || raw;
  const out = [];
  for (let v = Math.ceil(lo / nice) * nice; v <= hi + nice * 1e-9; v += nice) out.push(Number(v.toPrecision(12)));
  return out;
}

function label(v) {
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e5 || a < 1e-3) ? v.toExponential(1) : String(Number(v.toPrecision(4)));
}

/** points: [{trialId, value}] in trial order; `width`: the pixels the chart has. */
export function objectiveChart(points, { maximize, metricId, bestId, width = 720 }) {
  const W = Math.round(Math.max(320, Math.min(960, width)));
  const H = Math.round(Math.max(220, Math.min(320, W * 0.4)));
  if (!points.length) {
    return h("p", { class: "muted", id: "chart-empty" }, "No trial has reported its final metric yet.");
  }
  const values = points.map((p) => p.value);
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  const pad = lo === hi ? Math.abs(lo) * 0.1 || 1 : (hi - lo) * 0.08;
  lo -= pad;
  hi += pad;
  const iw = W - M.left - M.right;
  const ih = H - M.top - M.bottom;
  const x = (i) => M.left + (points.length === 1 ? iw / 2 : (i * iw) / (points.length - 1));
  const y = (v) => M.top + ih - ((v - lo) / (hi - lo)) * ih;
  const yTicks = ticks(lo, hi);
  const every = Math.ceil(points.length / Math.max(4, Math.floor(W / 60)));

  let best = null;
  const steps = points.map((p, i) => {
    best = best === null ? p.value : maximize ? Math.max(best, p.value) : Math.min(best, p.value);
    return [x(i), y(best)];
  });
  const line = steps.map(([px, py], i) => (i === 0 ? `M${px},${py}` : `H${px}V${py}`)).join("");

  const title = `${metricId || "Objective"} per trial (${maximize ? "higher" : "lower"} is better)`;
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": "chart-title chart-desc", id: "trial-chart" },
    s("title", { id: "chart-title" }, title),
    s("desc", { id: "chart-desc" }, `${points.length} trials; best so far ${label(best)}.`),
    s("g", { class: "grid" }, yTicks.map((t) => s("line", { x1: M.left, x2: W - M.right, y1: y(t), y2: y(t) }))),
    s("g", { class: "axis" },
      s("line", { x1: M.left, x2: M.left, y1: M.top, y2: M.top + ih }),
      s("line", { x1: M.left, x2: W - M.right, y1: M.top + ih, y2: M.top + ih }),
      yTicks.map((t) => s("text", { x: M.left - 8, y: y(t) + 4, "text-anchor": "end" }, label(t))),
      points.map((p, i) => (i % every === 0
        ? s("text", { x: x(i), y: M.top + ih + 16, "text-anchor": "middle" }, p.trialId) : null)),
      s("text", { x: M.left + iw / 2, y: H - 6, "text-anchor": "middle" }, "Trial"),
      s("text", { x: 14, y: M.top + ih / 2, "text-anchor": "middle", transform: `rotate(-90 14 ${M.top + ih / 2})` }, metricId || "objective")),
    s("path", { class: "best-line", d: line }),
    points.map((p, i) => s("circle", {
      class: p.trialId === bestId ? "point best" : "point", cx: x(i), cy: y(p.value),
      r: p.trialId === bestId ? 7 : 5, "data-trial": p.trialId,
    }, s("title", {}, `Trial ${p.trialId}: ${p.value}`))));
  return h("div", { class: "chart" }, svg,
    h("div", { class: "legend", "aria-hidden": "true" },
      h("span", {}, "Trial"), h("span", { class: "l-best" }, "Best trial"), h("span", { class: "l-line" }, "Best so far")));
}
