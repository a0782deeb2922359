// Live logs of a job, one replica or all, read through GET /v1/{job}/logs?offset=&taskName=
// and followed until the server says the log is done.
import { v1 } from "./api.js";
import { h, newId } from "./dom.js";

const MAX_LINES = 5000;

function clock(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : d.toTimeString().slice(0, 8);
}

/** A card that follows `name`'s log. `replicas`: task names to choose from. */
export function logViewer(name, replicas, { task = "", title = "Logs" } = {}) {
  const selectId = newId("replica");
  const select = h("select", { id: selectId },
    h("option", { value: "" }, "All replicas"),
    replicas.map((r) => h("option", { value: r, selected: r === task }, r)),
    h("option", { value: "service", selected: task === "service" }, "vertexd (service lines)"));
  const follow = h("input", { type: "checkbox", checked: true, id: newId("follow") });
  const box = h("div", { class: "log", role: "log", "aria-live": "off", tabindex: "0", "aria-label": `${title} output` });
  const status = h("p", { class: "log-status", "aria-live": "polite" }, "Loading…");
  let offset = 0;
  let timer = null;
  let run = 0;
  let stopped = false;

  function addLines(entries) {
    const fragment = document.createDocumentFragment();
    for (const entry of entries) {
      fragment.append(h("span", { class: `line ${entry.stream || ""}` },
        h("span", { class: "t" }, clock(entry.time)), " ",
        h("span", { class: "task" }, entry.taskName || ""), " ",
        h("span", { class: "text" }, entry.text ?? "")));
    }
    box.append(fragment);
    while (box.childElementCount > MAX_LINES) box.firstElementChild.remove();
    if (follow.checked) box.scrollTop = box.scrollHeight;
  }

  async function poll(mine) {
    let answer;
    try {
      answer = await v1.logs(name, offset, select.value);
    } catch (error) {
      if (mine !== run || stopped) return;
      status.textContent = `Could not read the log: ${error.message}`;
      timer = setTimeout(() => poll(mine), 3000);
      return;
    }
    if (mine !== run || stopped) return;
    offset = Number(answer.nextOffset || offset);
    const entries = answer.entries || [];
    if (entries.length) addLines(entries);
    const lines = box.childElementCount;
    if (answer.done) {
      status.textContent = lines ? `End of log (${lines} lines).` : "This log is empty.";
      return;
    }
    status.textContent = `Following… ${lines} lines.`;
    timer = setTimeout(() => poll(mine), entries.length ? 250 : 1000);
  }

  function restart() {
    clearTimeout(timer);
    run += 1;
    offset = 0;
    box.replaceChildren();
    status.textContent = "Loading…";
    poll(run);
  }

  select.addEventListener("change", restart);
  const el = h("section", { class: "card", id: "logs", "aria-label": title },
    h("h2", {}, title),
    h("div", { class: "log-tools" },
      h("label", { for: selectId }, "Replica", select),
      h("label", { for: follow.id }, follow, "Follow")),
    box, status);
  restart();
  return {
    el,
    dispose() { stopped = true; clearTimeout(timer); },
  };
}
