// Google's Node.js client with a token: an auth client that adds `Authorization: Bearer`.
// Run by tests/test_security_clients.py with VERTEXD_PORT and VERTEXD_TOKEN set.
const test = require('node:test');
const assert = require('node:assert');
const {JobServiceClient} = require('@google-cloud/aiplatform').v1;

const port = Number(process.env.VERTEXD_PORT);
const parent = 'projects/node-token/locations/us-central1';

// The client sends every request through its auth client's fetch, which adds the header.
function bearer(token) {
  const auth = {
    getClient: async () => auth,
    getRequestHeaders: async () => new Headers({Authorization: `Bearer ${token}`}),
    getProjectId: async () => 'node-token',
    fetch: (url, request) => {
      const headers = new Headers(request.headers);
      headers.set('Authorization', `Bearer ${token}`);
      return fetch(url, {method: request.method, headers, body: request.body, signal: request.signal});
    },
  };
  return new JobServiceClient({apiEndpoint: '127.0.0.1', port, protocol: 'http', fallback: true, auth});
}

test('with the token: create and list', async () => {
  const jobs = bearer(process.env.VERTEXD_TOKEN);
  const spec = {workerPoolSpecs: [{
    machineSpec: {machineType: 'n1-standard-4'}, replicaCount: 1,
    pythonPackageSpec: {executorImageUri: process.env.VERTEXD_EXECUTOR, packageUris: [process.env.VERTEXD_PROBE_URI],
      pythonModule: 'probe.task', args: ['--say', 'node-token', '--sleep', '600']},
  }]};
  const [job] = await jobs.createCustomJob({parent, customJob: {displayName: 'node-token', jobSpec: spec}});
  const [listed] = await jobs.listCustomJobs({parent});
  assert.ok(listed.some(j => j.name === job.name));
  await jobs.cancelCustomJob({name: job.name});
});

test('with a wrong token: UNAUTHENTICATED', async () => {
  const jobs = bearer('not-the-token');
  await assert.rejects(jobs.listCustomJobs({parent}), (error) => {
    assert.strictEqual(error.code, 16, String(error));
    assert.match(error.message, /auth token/);
    return true;
  });
});
