// A CustomJob: spec per worker pool, state history, error, output files, live logs, Cancel.
import { v1 } from "./api.js";
import { h } from "./dom.js";
import { filesCard, outputDirs } from "./files.js";
import { camelKeys, duration, isTerminal, labelChips, resourceId, timeEl } from "./format.js";
import { errorBox, historyCard } from "./history.js";
import { logViewer } from "./logs.js";
import { follow, pageHead, propsCard } from "./page.js";
import { link } from "./routes.js";
import { replicaNames, specCard } from "./spec.js";

function details(job, trial, study) {
  return propsCard("Details", [
    ["ID", h("span", { class: "mono" }, resourceId(job.name))],
    trial && study ? ["Trial", [`Trial ${trial} of tuning job `, h("a", { href: link(study) }, resourceId(study))]] : null,
    ["Created", timeEl(job.createTime)],
    ["Started", timeEl(job.startTime)],
    ["Ended", timeEl(job.endTime)],
    ["Duration", duration(job)],
    ["Labels", labelChips(job.labels)],
  ], "details-title");
}

export async function render(main, route) {
  const name = `${route.parent}/customJobs/${route.id}`;
  const job = await v1.get(name);
  document.title = `${job.displayName || route.id} · Custom job · vertexd`;
  const spec = camelKeys(job.jobSpec || {});
  const head = pageHead(job, "Custom job");
  const summary = h("div", { class: "grid2" });
  const error = h("div");
  const base = spec.baseOutputDirectory && spec.baseOutputDirectory.outputUriPrefix;
  // Opened from a tuning job's trials table: the trial's own AIP_MODEL_DIR.
  const trial = route.query.get("trial") || "";
  const study = (route.query.get("study") || "").startsWith(`${route.parent}/hyperparameterTuningJobs/`)
    ? route.query.get("study") : "";
  const files = filesCard(outputDirs(base, study ? trial : ""));
  const logs = logViewer(name, replicaNames(spec), { task: route.query.get("task") || "" });

  function draw(current) {
    head.update(current);
    summary.replaceChildren(details(current, trial, study), historyCard(current));
    error.replaceChildren(errorBox(current) || "");
  }
  draw(job);
  main.append(head.el, error, summary, specCard(spec), files.el, logs.el);
  if (route.query.has("task")) logs.el.scrollIntoView();

  const poller = follow(name, job, (next) => {
    draw(next);
    if (isTerminal(next.state)) files.refresh();
  });
  return { dispose() { poller.dispose(); logs.dispose(); } };
}
