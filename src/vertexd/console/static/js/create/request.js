// The form's values -> a TrainingPipeline request (Vertex v1 wire format, camelCase).

export const SCHEMA = "gs://google-cloud-aiplatform/schema/trainingjob/definition/";
export const CUSTOM_TASK = `${SCHEMA}custom_task_1.0.0.yaml`;
export const TUNING_TASK = `${SCHEMA}hyperparameter_tuning_task_1.0.0.yaml`;

/** "a=1, b=2" -> {a: "1", b: "2"} */
export function parseLabels(text) {
  const labels = {};
  for (const part of text.split(/[,\n]/).map((p) => p.trim()).filter(Boolean)) {
    const at = part.indexOf("=");
    labels[(at < 0 ? part : part.slice(0, at)).trim()] = at < 0 ? "" : part.slice(at + 1).trim();
  }
  return labels;
}

function numberOrText(text) {
  const trimmed = String(text).trim();
  if (trimmed === "") return undefined;
  const n = Number(trimmed);
  return Number.isNaN(n) ? trimmed : n;
}

function pool(values, { machineType, replicaCount }) {
  const spec = { machineSpec: { machineType } };
  if (String(replicaCount).trim() !== "") spec.replicaCount = String(replicaCount).trim();
  if (values.containerKind === "custom") {
    spec.containerSpec = { imageUri: values.imageUri, args: values.args };
  } else {
    spec.pythonPackageSpec = {
      executorImageUri: values.executorImageUri,
      packageUris: values.packageUris,
      pythonModule: values.pythonModule,
      args: values.args,
    };
  }
  return spec;
}

function parameter(p) {
  const spec = { parameterId: p.id };
  const values = p.values.split(",").map((v) => v.trim()).filter(Boolean);
  if (p.kind === "DOUBLE") {
    spec.doubleValueSpec = { minValue: numberOrText(p.min), maxValue: numberOrText(p.max) };
  } else if (p.kind === "INTEGER") {
    const text = (v) => (String(v).trim() === "" ? undefined : String(v).trim()); // int64: a string
    spec.integerValueSpec = { minValue: text(p.min), maxValue: text(p.max) };
  } else if (p.kind === "CATEGORICAL") {
    spec.categoricalValueSpec = { values };
  } else {
    spec.discreteValueSpec = { values: values.map(numberOrText) };
  }
  if ((p.kind === "DOUBLE" || p.kind === "INTEGER" || p.kind === "DISCRETE") && p.scale) spec.scaleType = p.scale;
  return spec;
}

function studySpec(tuning) {
  const study = {
    metrics: [{ metricId: tuning.metricId, goal: tuning.goal }],
    parameters: tuning.parameters.map(parameter),
  };
  if (tuning.algorithm) study.algorithm = tuning.algorithm;
  return study;
}

export function buildPipeline(values) {
  const jobSpec = { workerPoolSpecs: values.pools.map((p) => pool(values, p)) };
  if (values.outputDir) jobSpec.baseOutputDirectory = { outputUriPrefix: values.outputDir };
  const body = { displayName: values.displayName };
  if (values.tuning) {
    body.trainingTaskDefinition = TUNING_TASK;
    body.trainingTaskInputs = {
      studySpec: studySpec(values.tuning),
      maxTrialCount: numberOrText(values.tuning.maxTrials),
      parallelTrialCount: numberOrText(values.tuning.parallelTrials),
      trialJobSpec: jobSpec,
    };
  } else {
    body.trainingTaskDefinition = CUSTOM_TASK;
    body.trainingTaskInputs = jobSpec;
  }
  if (values.uploadModel) {
    body.modelToUpload = { displayName: values.modelName || values.displayName };
    if (values.predictionImage) body.modelToUpload.containerSpec = { imageUri: values.predictionImage };
  }
  const labels = parseLabels(values.labels || "");
  if (Object.keys(labels).length) body.labels = labels;
  return body;
}
