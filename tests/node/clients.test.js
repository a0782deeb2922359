// Google's Node.js client (@google-cloud/aiplatform), unmodified, against a running vertexd.
// Run by tests/test_sdk_node.py with VERTEXD_PORT, VERTEXD_PROBE_URI and VERTEXD_EXECUTOR set.
const test = require('node:test');
const assert = require('node:assert');
const {JobServiceClient, ModelServiceClient, PipelineServiceClient} = require('@google-cloud/aiplatform').v1;

const port = Number(process.env.VERTEXD_PORT);
const parent = 'projects/node-project/locations/us-central1';
const executor = process.env.VERTEXD_EXECUTOR;
const probe = process.env.VERTEXD_PROBE_URI;

// A pass-through auth client: no credentials, plain HTTP to the local endpoint.
const auth = {
  getClient: async () => auth,
  getRequestHeaders: async () => new Headers(),
  getProjectId: async () => 'node-project',
  fetch: (url, request) =>
    fetch(url, {method: request.method, headers: request.headers, body: request.body, signal: request.signal})
      .catch(error => {  // fetch's own message ("fetch failed") hides which call and why
        throw new Error(`${request.method} ${url}: ${error.message}: ${error.cause}`, {cause: error});
      }),
};
const options = {apiEndpoint: '127.0.0.1', port, protocol: 'http', fallback: true, auth};
const jobs = new JobServiceClient(options);
const pipelines = new PipelineServiceClient(options);
const models = new ModelServiceClient(options);

function probeSpec(args) {
  return {
    workerPoolSpecs: [{
      machineSpec: {machineType: 'n1-standard-4'},
      replicaCount: 1,
      pythonPackageSpec: {executorImageUri: executor, packageUris: [probe], pythonModule: 'probe.task', args},
    }],
  };
}

async function waitFor(get, states, seconds = 120) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const [resource] = await get();
    if (states.includes(resource.state)) return resource;
    assert.ok(Date.now() < deadline, `still ${resource.state}`);
    await new Promise(resolve => setTimeout(resolve, 100));
  }
}

test('CustomJob: create, get, list, then it succeeds', async () => {
  const [job] = await jobs.createCustomJob({parent, customJob: {displayName: 'node-job', jobSpec: probeSpec(['--say', 'node'])}});
  assert.match(job.name, /^projects\/node-project\/locations\/us-central1\/customJobs\/\d+$/);
  const done = await waitFor(() => jobs.getCustomJob({name: job.name}), ['JOB_STATE_SUCCEEDED', 'JOB_STATE_FAILED']);
  assert.strictEqual(done.state, 'JOB_STATE_SUCCEEDED');
  assert.strictEqual(Number(done.jobSpec.workerPoolSpecs[0].replicaCount), 1);
  const [listed] = await jobs.listCustomJobs({parent});
  assert.ok(listed.some(j => j.name === job.name));
});

test('CustomJob: cancel a running job', async () => {
  const [job] = await jobs.createCustomJob({parent, customJob: {displayName: 'node-cancel', jobSpec: probeSpec(['--sleep', '600'])}});
  await waitFor(() => jobs.getCustomJob({name: job.name}), ['JOB_STATE_RUNNING']);
  await jobs.cancelCustomJob({name: job.name});
  const done = await waitFor(() => jobs.getCustomJob({name: job.name}), ['JOB_STATE_CANCELLED'], 30);
  assert.strictEqual(done.error.code, 1);
});

test('CustomJob: a bad spec is an INVALID_ARGUMENT naming the field', async () => {
  const spec = probeSpec([]);
  spec.workerPoolSpecs[0].machineSpec.machineType = 'n9-nothing-1';
  await assert.rejects(
    jobs.createCustomJob({parent, customJob: {displayName: 'bad', jobSpec: spec}}),
    err => err.code === 3 && /machine_type/.test(err.message),
  );
});

test('TrainingPipeline: a custom task runs its backing CustomJob', async () => {
  const trainingTaskInputs = {
    structValue: {fields: {workerPoolSpecs: {listValue: {values: [{structValue: {fields: {
      machineSpec: {structValue: {fields: {machineType: {stringValue: 'n1-standard-4'}}}},
      replicaCount: {numberValue: 1},
      pythonPackageSpec: {structValue: {fields: {
        executorImageUri: {stringValue: executor},
        packageUris: {listValue: {values: [{stringValue: probe}]}},
        pythonModule: {stringValue: 'probe.task'},
      }}},
    }}}]}}}},
  };
  const [pipeline] = await pipelines.createTrainingPipeline({parent, trainingPipeline: {
    displayName: 'node-pipeline',
    trainingTaskDefinition: 'gs://google-cloud-aiplatform/schema/trainingjob/definition/custom_task_1.0.0.yaml',
    trainingTaskInputs,
  }});
  const done = await waitFor(() => pipelines.getTrainingPipeline({name: pipeline.name}),
    ['PIPELINE_STATE_SUCCEEDED', 'PIPELINE_STATE_FAILED']);
  assert.strictEqual(done.state, 'PIPELINE_STATE_SUCCEEDED');
  const backing = done.trainingTaskMetadata.structValue.fields.backingCustomJob.stringValue;
  const [job] = await jobs.getCustomJob({name: backing});
  assert.strictEqual(job.state, 'JOB_STATE_SUCCEEDED');
  const [listed] = await pipelines.listTrainingPipelines({parent});
  assert.ok(listed.some(p => p.name === pipeline.name));
});

test('HyperparameterTuningJob: create, get, list; trials report with cloudml-hypertune', async () => {
  const trialJobSpec = {
    workerPoolSpecs: [{
      machineSpec: {machineType: 'n1-standard-4'},
      replicaCount: 1,
      pythonPackageSpec: {
        executorImageUri: executor,
        packageUris: [process.env.VERTEXD_TUNING_URI],
        pythonModule: 'tunetrial.task',
        args: ['--objective=-(x - 1) ** 2'],
      },
    }],
  };
  const [job] = await jobs.createHyperparameterTuningJob({parent, hyperparameterTuningJob: {
    displayName: 'node-tuning',
    maxTrialCount: 2,
    parallelTrialCount: 2,
    studySpec: {
      metrics: [{metricId: 'score', goal: 'MAXIMIZE'}],
      parameters: [{parameterId: 'x', doubleValueSpec: {minValue: -2, maxValue: 2}}],
      algorithm: 'RANDOM_SEARCH',
    },
    trialJobSpec,
  }});
  const done = await waitFor(() => jobs.getHyperparameterTuningJob({name: job.name}),
    ['JOB_STATE_SUCCEEDED', 'JOB_STATE_FAILED'], 300);
  assert.strictEqual(done.state, 'JOB_STATE_SUCCEEDED');
  assert.strictEqual(done.trials.length, 2);
  for (const trial of done.trials) {
    assert.strictEqual(trial.state, 'SUCCEEDED');
    assert.strictEqual(trial.finalMeasurement.metrics[0].metricId, 'score');
  }
  const [listed] = await jobs.listHyperparameterTuningJobs({parent});
  assert.ok(listed.some(j => j.name === job.name));
});

test('HyperparameterTuningJob: cancel stops it', async () => {
  const [job] = await jobs.createHyperparameterTuningJob({parent, hyperparameterTuningJob: {
    displayName: 'node-tuning-cancel',
    maxTrialCount: 4,
    parallelTrialCount: 1,
    studySpec: {
      metrics: [{metricId: 'score', goal: 'MAXIMIZE'}],
      parameters: [{parameterId: 'x', doubleValueSpec: {minValue: -2, maxValue: 2}}],
    },
    trialJobSpec: probeSpec(['--sleep', '600']),
  }});
  await waitFor(() => jobs.getHyperparameterTuningJob({name: job.name}), ['JOB_STATE_RUNNING']);
  await jobs.cancelHyperparameterTuningJob({name: job.name});
  const done = await waitFor(() => jobs.getHyperparameterTuningJob({name: job.name}), ['JOB_STATE_CANCELLED'], 60);
  assert.strictEqual(done.error.code, 1);
});

test('Model: upload, a new version, and the reads of Google\'s get-model sample', async () => {
  const image = 'us-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-0:latest';
  const model = {displayName: 'node-model', artifactUri: 'gs://test-bucket/node-model', containerSpec: {imageUri: image}};
  const [operation] = await models.uploadModel({parent, model, modelId: 'node-model'});
  const [uploaded] = await operation.promise();
  assert.strictEqual(uploaded.model, `${parent}/models/node-model`);
  assert.strictEqual(uploaded.modelVersionId, '1');
  const [again] = await models.uploadModel({parent, model, parentModel: uploaded.model});
  const [second] = await again.promise();
  assert.strictEqual(second.modelVersionId, '2');

  const [response] = await models.getModel({name: uploaded.model});
  assert.strictEqual(response.versionId, '1');  // the new version did not ask for `default`
  // What the sample reads, without checking for null:
  assert.strictEqual(response.predictSchemata.instanceSchemaUri, '');
  const [exportFormat] = response.supportedExportFormats;
  const [deployed] = response.deployedModels;
  assert.strictEqual(exportFormat, undefined);
  assert.strictEqual(deployed, undefined);
  assert.strictEqual(response.containerSpec.imageUri, image);
  assert.deepStrictEqual(response.labels, {});

  const [versions] = await models.listModelVersions({name: uploaded.model});
  assert.deepStrictEqual(versions.map(v => v.versionId), ['1', '2']);
  const [two] = await models.getModel({name: `${uploaded.model}@2`});
  assert.strictEqual(two.versionId, '2');
  await assert.rejects(
    models.uploadModel({parent, model, modelId: 'node-model'}),
    err => err.code === 6 && /already exists/.test(err.message),
  );
});
