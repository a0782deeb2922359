// Labelled form fields with a hint and an error slot. `paths` are the API field paths
// (snake_case, relative to the task inputs) whose errors belong to this field.
import { h, newId } from "../dom.js";

function describe(control, ids) {
  control.setAttribute("aria-describedby", ids.filter(Boolean).join(" "));
}

export function field({ label, control, hint, paths = [], required = false, id }) {
  control.id = control.id || id || newId("field");
  const hintId = hint ? `${control.id}-hint` : null;
  const errorId = `${control.id}-error`;
  if (paths.length) control.dataset.path = paths.join(" ");
  if (required) control.setAttribute("aria-required", "true");
  describe(control, [hintId, errorId]);
  return h("div", { class: "field" },
    h("label", { for: control.id }, label, required ? h("span", { "aria-hidden": "true" }, " *") : null),
    control,
    h("p", { class: "field-error", id: errorId }),
    hint ? h("p", { class: "hint", id: hintId }, hint) : null);
}

/** A field made of several controls (a list of URIs, a choice): a labelled group. */
export function group({ label, content, hint, paths = [], id }) {
  const groupId = id || newId("group");
  const errorId = `${groupId}-error`;
  return h("div", {
    class: "field", role: "group", id: groupId, "aria-labelledby": `${groupId}-label`,
    "aria-describedby": errorId, dataset: paths.length ? { path: paths.join(" ") } : undefined,
  },
  h("span", { class: "label", id: `${groupId}-label` }, label),
  content,
  h("p", { class: "field-error", id: errorId }),
  hint ? h("p", { class: "hint" }, hint) : null);
}

export function input(attrs = {}) {
  return h("input", { type: "text", autocomplete: "off", spellcheck: "false", ...attrs });
}

export function select(options, attrs = {}) {
  return h("select", attrs, options.map(([value, text]) => h("option", { value }, text)));
}

/** A radio group: options [[value, label, hint]]. */
export function radios(name, options, checked) {
  return h("div", { class: "choice" }, options.map(([value, text, hint, disabled]) => {
    const id = newId(name);
    return h("label", { for: id },
      h("input", { type: "radio", name, value, id, checked: value === checked, disabled: Boolean(disabled) }),
      h("span", {}, text, hint ? h("span", { class: "hint" }, hint) : null));
  }));
}

/** A list of text inputs with Add and Remove buttons; `path(i)` names each one's API path. */
export function repeated({ name, placeholder, path, addLabel, values = [""] }) {
  const list = h("div");
  function renumber() {
    [...list.children].forEach((row, i) => {
      const control = row.querySelector("input");
      control.setAttribute("aria-label", `${name} ${i + 1}`);
      control.dataset.path = path(i);
      const remove = row.querySelector("button");
      remove.setAttribute("aria-label", `Remove ${name.toLowerCase()} ${i + 1}`);
      remove.disabled = list.children.length === 1;
    });
  }
  function add(value = "") {
    const row = h("div", { class: "repeat" },
      input({ value, placeholder }),
      h("button", { type: "button", onclick: () => { row.remove(); renumber(); list.querySelector("input").focus(); } }, "Remove"));
    list.append(row);
    renumber();
    return row;
  }
  values.forEach((v) => add(v));
  const addButton = h("button", { type: "button", onclick: () => add().querySelector("input").focus() }, addLabel);
  return {
    el: h("div", {}, list, addButton),
    values: () => [...list.querySelectorAll("input")].map((i) => i.value.trim()).filter(Boolean),
  };
}
