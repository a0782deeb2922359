// "Create training pipeline", following Vertex's console: training method, model details,
// training container, hyperparameters, compute; posted to the v1 API. Field errors from the
// API are shown beside the field they name; success opens the new pipeline's page.
import { consoleApi, v1 } from "../api.js";
import { h } from "../dom.js";
import { link } from "../routes.js";
import { computeStep } from "./compute.js";
import { containerStep } from "./container.js";
import { clearErrors, showFieldError } from "./errors.js";
import { field, group, input, radios } from "./fields.js";
import { buildPipeline } from "./request.js";
import { tuningStep } from "./tuning.js";

function legend(number, text) {
  return h("legend", {}, h("span", { class: "step", "aria-hidden": "true" }, String(number)), text);
}

function methodStep() {
  const dataset = h("select", { id: "dataset" }, h("option", { value: "" }, "No managed dataset"));
  return h("fieldset", { id: "step-method" }, legend(1, "Training method"),
    field({ label: "Dataset", control: dataset, paths: ["input_data_config"],
      hint: "vertexd has no managed datasets: your code reads its data from storage (gs://, file://)." }),
    group({ label: "Training method", content: radios("method", [
      ["custom", "Custom training (advanced)", "Run your own training code: a Python package or a container."],
      ["automl", "AutoML", "Not available in vertexd.", true],
    ], "custom") }));
}

function detailsStep() {
  const name = input({ id: "display-name", placeholder: "my-training" });
  const upload = h("input", { type: "checkbox", id: "upload-model", checked: true });
  const modelName = input({ id: "model-name", placeholder: "the pipeline's name" });
  const prediction = input({ id: "prediction-image", placeholder: "us-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-0:latest" });
  const labels = input({ id: "labels", placeholder: "team=ml, env=dev" });
  const modelFields = h("div", { class: "row", id: "model-fields" },
    field({ label: "Model name", control: modelName, paths: ["model_to_upload.display_name"] }),
    field({ label: "Prediction container (optional)", control: prediction, paths: ["model_to_upload.container_spec"] }));
  upload.addEventListener("change", () => { modelFields.hidden = !upload.checked; });
  const el = h("fieldset", { id: "step-details" }, legend(2, "Model details"),
    field({ label: "Training pipeline name", control: name, required: true, paths: ["display_name"] }),
    h("div", { class: "field" }, h("label", { for: upload.id }, upload, " Upload a model when training succeeds")),
    modelFields,
    field({ label: "Labels", control: labels, paths: ["labels"], hint: "key=value, separated by commas." }));
  return {
    el,
    values: () => ({
      displayName: name.value.trim(), uploadModel: upload.checked, modelName: modelName.value.trim(),
      predictionImage: prediction.value.trim(), labels: labels.value,
    }),
  };
}

export async function render(main, route) {
  document.title = "Create training pipeline · vertexd";
  const [executors, machines] = await Promise.all([consoleApi.executors(), consoleApi.machineTypes()]);
  const details = detailsStep();
  const container = containerStep(executors.frameworks);
  const tuning = tuningStep(4);
  const compute = computeStep(machines, 5);
  const general = h("div", { class: "form-error", role: "alert", id: "form-error" });
  const submit = h("button", { type: "submit", class: "primary", id: "submit" }, "Start training");
  const form = h("form", { class: "create", novalidate: true },
    methodStep(), details.el, container.el, tuning.el, compute.el, general,
    h("div", { class: "submit-row" }, submit,
      h("a", { href: link(`${route.parent}/trainingPipelines`) }, "Cancel")));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    general.textContent = "";
    const body = buildPipeline({
      ...details.values(), ...container.values(), tuning: tuning.values(), pools: compute.values(),
    });
    submit.disabled = true;
    submit.textContent = "Starting…";
    try {
      const pipeline = await v1.create(route.parent, "trainingPipelines", body);
      location.hash = link(pipeline.name);
    } catch (error) {
      submit.disabled = false;
      submit.textContent = "Start training";
      const control = showFieldError(form, error);
      if (control) {
        const target = control.matches("input, select, textarea") ? control : control.querySelector("input, select, textarea");
        (target || control).focus();
        control.scrollIntoView({ block: "center" });
      } else {
        general.textContent = error.message;
        general.scrollIntoView({ block: "center" });
      }
    }
  });

  main.append(
    h("div", { class: "page-head" }, h("div", { class: "title" },
      h("h1", {}, "Create training pipeline"),
      h("p", { class: "muted small" }, `In ${route.parent}. A training pipeline runs a custom job (or a hyperparameter tuning job) and uploads the model it trains.`))),
    form);
  return null;
}
