// The server's auth token, when it asks for one (401): asked once in a dialog and kept for
// this tab only (sessionStorage), then sent as `Authorization: Bearer TOKEN`.
import { h } from "./dom.js";

const KEY = "vertexd.token";
let asking = null; // one dialog for every call that got a 401 meanwhile

export function savedToken() {
  return sessionStorage.getItem(KEY) || "";
}

export function authHeaders() {
  const token = savedToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

// Resolves once the user gave a token (kept for the tab); `wrong` says the last one failed.
export function askForToken(wrong) {
  if (!asking) asking = showDialog(wrong).finally(() => { asking = null; });
  return asking;
}

function showDialog(wrong) {
  return new Promise((resolve) => {
    const input = h("input", {
      type: "password", id: "token-input", required: true, autocomplete: "off", spellcheck: "false",
    });
    const form = h("form", { method: "dialog", class: "token-form" },
      h("h2", {}, "Sign in to vertexd"),
      h("p", {}, "This server requires its auth token (vertexd serve --generate-token prints where it is)."),
      wrong ? h("p", { class: "error-box", role: "alert" }, "That token was not accepted.") : null,
      h("label", { for: "token-input" }, "Auth token"), input,
      h("button", { type: "submit", class: "button primary" }, "Sign in"));
    const dialog = h("dialog", { id: "token-dialog", "aria-labelledby": "token-title" }, form);
    form.querySelector("h2").id = "token-title";
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      sessionStorage.setItem(KEY, input.value.trim());
      dialog.close();
      dialog.remove();
      resolve();
    });
    dialog.addEventListener("cancel", (event) => event.preventDefault()); // a token is needed
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
  });
}
