// Google's Node.js client on its default transport, gRPC (no `fallback`), against vertexd.
// Run by tests/test_grpc_node.py with VERTEXD_GRPC_PORT, VERTEXD_PROBE_URI, VERTEXD_EXECUTOR
// and GRPC_DEFAULT_SSL_ROOTS_FILE_PATH (vertexd's CA) set.
const test = require('node:test');
const assert = require('node:assert');
const {JobServiceClient, PipelineServiceClient} = require('@google-cloud/aiplatform').v1;
const {PassThroughClient} = require('google-auth-library');

const port = Number(process.env.VERTEXD_GRPC_PORT);
const parent = 'projects/node-grpc/locations/us-central1';
const executor = process.env.VERTEXD_EXECUTOR;
const probe = process.env.VERTEXD_PROBE_URI;

// With Application Default Credentials, `{apiEndpoint, port}` is all; here there are none,
// so the auth library's client that sends no credentials stands in.
const options = {apiEndpoint: 'localhost', port, authClient: new PassThroughClient()};
const jobs = new JobServiceClient(options);
const pipelines = new PipelineServiceClient(options);

function probeJob(displayName, args) {
  return {displayName, jobSpec: {workerPoolSpecs: [{
    machineSpec: {machineType: 'n1-standard-4'},
    replicaCount: 1,
    pythonPackageSpec: {executorImageUri: executor, packageUris: [probe], pythonModule: 'probe.task', args},
  }]}};
}

async function waitFor(name, states, seconds = 120) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const [job] = await jobs.getCustomJob({name});
    if (states.includes(job.state)) return job;
    assert.ok(Date.now() < deadline, `still ${job.state}`);
    await new Promise(resolve => setTimeout(resolve, 100));
  }
}

test('CustomJob over gRPC: create, get until it succeeds, list, delete', async () => {
  const [job] = await jobs.createCustomJob({parent, customJob: probeJob('node-grpc', ['--say', 'node grpc'])});
  assert.match(job.name, /^projects\/node-grpc\/locations\/us-central1\/customJobs\/\d+$/);
  const done = await waitFor(job.name, ['JOB_STATE_SUCCEEDED', 'JOB_STATE_FAILED']);
  assert.strictEqual(done.state, 'JOB_STATE_SUCCEEDED');
  assert.strictEqual(done.jobSpec.workerPoolSpecs[0].replicaCount, '1');
  const [listed] = await jobs.listCustomJobs({parent});
  assert.ok(listed.some(j => j.name === job.name));
  const [operation] = await jobs.deleteCustomJob({name: job.name});
  await operation.promise();
  await assert.rejects(jobs.getCustomJob({name: job.name}), err => err.code === 5);
});

test('CustomJob over gRPC: cancel a running job', async () => {
  const [job] = await jobs.createCustomJob({parent, customJob: probeJob('node-grpc-cancel', ['--sleep', '600'])});
  await waitFor(job.name, ['JOB_STATE_RUNNING']);
  await jobs.cancelCustomJob({name: job.name});
  const done = await waitFor(job.name, ['JOB_STATE_CANCELLED'], 30);
  assert.strictEqual(done.error.code, 1);
});

test('a bad spec is INVALID_ARGUMENT naming the field', async () => {
  const bad = probeJob('bad', []);
  bad.jobSpec.workerPoolSpecs[0].machineSpec.machineType = 'n9-nothing-1';
  await assert.rejects(
    jobs.createCustomJob({parent, customJob: bad}),
    err => err.code === 3 && /machine_spec\.machine_type/.test(err.details),
  );
});

test('PipelineService over gRPC answers', async () => {
  const [listed] = await pipelines.listTrainingPipelines({parent: 'projects/none/locations/us-central1'});
  assert.deepStrictEqual(listed, []);
});
