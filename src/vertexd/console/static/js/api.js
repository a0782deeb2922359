// The console's only way to the server: the v1 API (as every client uses it) and a few
// read-only helpers under /console/api. A server with a token answers 401 until the user
// gives it (token.js); the call is then made again.
import { askForToken, authHeaders, savedToken } from "./token.js";

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.status || "";
    // "training_task_inputs.worker_pool_specs[0].replica_count: must be 1." -> field + text
    // Vertex's own form: "List of found errors:\t1.Field: PATH; Message: TEXT\t" (the first).
    const found = /Field: ([^;\s]+); Message: ([\s\S]*?)\s*(?:\t\d+\.Field: [\s\S]*)?$/.exec(this.message);
    const match = found || /^([a-z_][a-z0-9_]*(?:\[\d+\])?(?:\.[a-z_][a-z0-9_]*(?:\[\d+\])?)*): ([\s\S]*)$/.exec(this.message);
    this.field = match ? match[1] : "";
    this.detail = match ? match[2] : this.message;
  }
}

async function call(path, { method = "GET", params, body } = {}) {
  const url = new URL(path, location.origin);
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
  }
  const init = { method, headers: authHeaders() };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  if (response.status === 401) {
    await askForToken(Boolean(savedToken()));
    return call(path, { method, params, body });
  }
  const text = await response.text();
  let data = {};
  try {
    data = text ? JSON.parse(text) : {};
  } catch {
    data = { error: { message: text } };
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export const v1 = {
  list: (parent, collection, query = {}) => call(`/v1/${parent}/${collection}`, { params: query }),
  get: (name, query) => call(`/v1/${name}`, { params: query }),
  create: (parent, collection, body) => call(`/v1/${parent}/${collection}`, { method: "POST", body }),
  cancel: (name) => call(`/v1/${name}:cancel`, { method: "POST", body: {} }),
  logs: (name, offset, taskName) => call(`/v1/${name}/logs`, { params: { offset, taskName } }),
};

export const consoleApi = {
  parents: () => call("/console/api/parents"),
  executors: () => call("/console/api/executors"),
  machineTypes: () => call("/console/api/machine-types"),
  files: (uri) => call("/console/api/files", { params: { uri } }),
  devices: (name) => call("/console/api/devices", { params: { name } }),
};
