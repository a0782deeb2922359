// Step "Training container": a prebuilt container (Model framework + version -> executor
// image, packages, Python module) or a custom container (image); arguments; output directory.
import { h } from "../dom.js";
import { field, group, input, radios, repeated, select } from "./fields.js";

const POOLS = [0, 1];
const paths = (rest) => POOLS.map((i) => `worker_pool_specs[${i}].${rest}`);

export function containerStep(frameworks) {
  const kind = radios("container-kind", [
    ["prebuilt", "Prebuilt container", "Your Python training package runs on one of Vertex's prebuilt training images."],
    ["custom", "Custom container", "A container image of your own (needs a container engine in vertexd)."],
  ], "prebuilt");

  const framework = select(frameworks.map((f) => [f.id, f.label]), { id: "framework" });
  const version = h("select", { id: "framework-version" });
  const image = h("output", { class: "image", id: "executor-image", for: "framework framework-version" });
  function fillVersions() {
    const chosen = frameworks.find((f) => f.id === framework.value) || { versions: [] };
    version.replaceChildren(...chosen.versions.map((v) =>
      h("option", { value: v.imageUri }, `${v.version} (${v.accelerator})`)));
    image.value = version.value;
  }
  framework.addEventListener("change", fillVersions);
  version.addEventListener("change", () => { image.value = version.value; });
  fillVersions();

  const packages = repeated({
    name: "Package location", placeholder: "gs://BUCKET/path/trainer-0.1.tar.gz", addLabel: "Add package",
    path: (i) => paths(`python_package_spec.package_uris[${i}]`).join(" "),
  });
  const module = input({ id: "python-module", placeholder: "trainer.task" });
  const prebuilt = h("div", { id: "prebuilt-fields" },
    h("div", { class: "row" },
      field({ label: "Model framework", control: framework }),
      field({ label: "Model framework version", control: version, paths: paths("python_package_spec.executor_image_uri") })),
    h("p", { class: "hint" }, "Executor image: ", image),
    group({ label: "Package location", id: "packages", content: packages.el, paths: paths("python_package_spec.package_uris"),
      hint: "Your training application as Python source distributions or wheels: gs:// (vertexd's local buckets), file:// or a path." }),
    field({ label: "Python module", control: module, required: true, paths: paths("python_package_spec.python_module"),
      hint: "The module to run, as python -m would: trainer.task" }));

  const imageUri = input({ id: "container-image", placeholder: "us-docker.pkg.dev/PROJECT/REPO/trainer:latest" });
  const custom = h("div", { id: "custom-fields", hidden: true },
    field({ label: "Container image", control: imageUri, required: true, paths: paths("container_spec") }));

  const args = h("textarea", { id: "arguments", rows: 3, placeholder: "--epochs=10\n--learning-rate=0.01", spellcheck: "false" });
  const outputDir = input({ id: "output-dir", placeholder: "gs://BUCKET/path" });

  kind.addEventListener("change", () => {
    const isCustom = kind.querySelector("input:checked").value === "custom";
    prebuilt.hidden = isCustom;
    custom.hidden = !isCustom;
  });

  const el = h("fieldset", { id: "step-container" },
    h("legend", {}, h("span", { class: "step", "aria-hidden": "true" }, "3"), "Training container"),
    group({ label: "Container", content: kind }),
    prebuilt, custom,
    field({ label: "Arguments", control: args, paths: [...paths("python_package_spec.args"), ...paths("container_spec.args")],
      hint: "One argument per line, passed to your code as written." }),
    field({ label: "Model output directory", control: outputDir, paths: ["base_output_directory"],
      hint: "baseOutputDirectory: your code writes the model to AIP_MODEL_DIR (<directory>/model/)." }));

  return {
    el,
    values: () => ({
      containerKind: kind.querySelector("input:checked").value,
      executorImageUri: version.value,
      packageUris: packages.values(),
      pythonModule: module.value.trim(),
      imageUri: imageUri.value.trim(),
      args: args.value.split("\n").map((a) => a.trim()).filter(Boolean),
      outputDir: outputDir.value.trim(),
    }),
  };
}
