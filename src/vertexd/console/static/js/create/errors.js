// API errors beside the field they name: "training_task_inputs.worker_pool_specs[0]
// .machine_spec.machine_type: ..." -> the control whose data-path is the longest match.

/** The error's path relative to the task inputs (a tuning task's trial spec included). */
export function normalise(path) {
  let p = path.replace(/^training_task_inputs\.?/, "");
  p = p.replace(/^(trial_job_spec|job_spec)\./, "");
  return p;
}

function matches(errorPath, path) {
  return errorPath === path || errorPath.startsWith(`${path}.`) || errorPath.startsWith(`${path}[`);
}

export function clearErrors(form) {
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  for (const el of form.querySelectorAll(".field-error")) el.textContent = "";
}

/** Shows `error` beside its field; returns that field's control, or null if none matched. */
export function showFieldError(form, error) {
  if (!error.field) return null;
  const wanted = [normalise(error.field), error.field];
  let best = null;
  let bestLength = -1;
  for (const el of form.querySelectorAll("[data-path]")) {
    if (el.closest("[hidden]")) continue;
    for (const path of el.dataset.path.split(" ")) {
      if (wanted.some((w) => matches(w, path)) && path.length > bestLength) {
        best = el;
        bestLength = path.length;
      }
    }
  }
  if (!best) return null;
  const holder = best.closest(".field");
  const slot = holder && holder.querySelector(".field-error");
  if (slot) {
    slot.textContent = error.detail;
    slot.title = error.message;
  }
  best.setAttribute("aria-invalid", "true");
  return best;
}
