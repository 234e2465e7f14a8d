// Run the entra-inbound emulator from JavaScript tests (Jest or node --test): the binary on a free loopback port
// and a small client for it. No dependencies: child_process and the global fetch (Node 18+).
//
// The binary is $ENTRA_INBOUND_BIN, else entra-inbound on PATH. `serve --listen 127.0.0.1:0` lets the OS pick
// the port; the banner's first line (`… listening on http://127.0.0.1:PORT`) says which.
"use strict";

const { spawn } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const readline = require("node:readline");

const DEFAULT_TENANT = "c0ffee00-0000-4000-8000-000000000001";
const DEFAULT_SP = "c0ffee00-0000-4000-8000-0000000000a1";
const DEFAULT_JOB = "API2AAD.c0ffee00000040008000000000000001.c0ffee00-0000-4000-8000-0000000000b1";
const DEFAULT_CLIENT_ID = "c0ffee00-0000-4000-8000-0000000000c1";
const DEFAULT_CLIENT_SECRET = "emulator-secret";
const START_TIMEOUT_MS = 30000;
const REQUEST_TIMEOUT_MS = 30000;

class EmulatorError extends Error {}

function isExecutable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The emulator binary: $ENTRA_INBOUND_BIN, else entra-inbound on PATH. */
function findBinary() {
  const configured = process.env.ENTRA_INBOUND_BIN;
  if (configured) {
    if (!isExecutable(configured)) throw new EmulatorError(`ENTRA_INBOUND_BIN=${configured} is not an executable file`);
    return configured;
  }
  const names = process.platform === "win32" ? ["entra-inbound.exe"] : ["entra-inbound"];
  for (const dir of (process.env.PATH || "").split(path.delimiter)) {
    for (const name of names) {
      const candidate = path.join(dir, name);
      if (dir && isExecutable(candidate)) return candidate;
    }
  }
  throw new EmulatorError(
    "entra-inbound not found: set ENTRA_INBOUND_BIN to the binary, or put it on PATH " +
      "(cargo install --path . from a clone, or a release archive)",
  );
}

/** Talks to one emulator at baseUrl (http://127.0.0.1:PORT) as its default client. */
class EmulatorClient {
  constructor(baseUrl, options = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.tenant = options.tenant || DEFAULT_TENANT;
    this.clientId = options.clientId || DEFAULT_CLIENT_ID;
    this.clientSecret = options.clientSecret || DEFAULT_CLIENT_SECRET;
    this.sp = options.sp || DEFAULT_SP;
    this.job = options.job || DEFAULT_JOB;
    this._token = null;
  }

  async _fetch(method, pathOrUrl, { body, headers = {}, auth = true } = {}) {
    if (auth) headers = { Authorization: `Bearer ${await this.token()}`, ...headers };
    const url = pathOrUrl.startsWith("http") ? pathOrUrl : this.baseUrl + pathOrUrl;
    return fetch(url, { method, body, headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  }

  async _json(method, pathOrUrl, expected, options) {
    const r = await this._fetch(method, pathOrUrl, options);
    const text = await r.text();
    if (r.status !== expected) throw new EmulatorError(`${method} ${pathOrUrl} answered ${r.status}: ${text}`);
    return text ? JSON.parse(text) : null;
  }

  /** A Graph access token from the emulator's token endpoint (client credentials), cached. */
  async token() {
    if (!this._token) {
      const body = new URLSearchParams({
        grant_type: "client_credentials",
        client_id: this.clientId,
        client_secret: this.clientSecret,
        scope: "https://graph.microsoft.com/.default",
      });
      const answer = await this._json("POST", `/${this.tenant}/oauth2/v2.0/token`, 200, { body, auth: false });
      this._token = answer.access_token;
    }
    return this._token;
  }

  /**
   * POSTs a BulkRequest to bulkUpload: a whole request (an object with `schemas`), or an array of SCIM users,
   * each sent as a POST operation. Resolves to the fetch Response, so tests can assert on errors too.
   */
  async upload(usersOrRequest, { job, sp, version = "v1.0" } = {}) {
    const request = Array.isArray(usersOrRequest)
      ? {
          schemas: ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
          Operations: usersOrRequest.map((user, i) => ({
            method: "POST",
            bulkId: `b${i}`,
            path: "/Users",
            data: { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], ...user },
          })),
        }
      : usersOrRequest;
    const url = `/${version}/servicePrincipals/${sp || this.sp}/synchronization/jobs/${job || this.job}/bulkUpload`;
    return this._fetch("POST", url, { body: JSON.stringify(request), headers: { "Content-Type": "application/scim+json" } });
  }

  /** Waits until every operation staged so far is processed and logged; resolves to the drain answer. */
  async drain({ job, timeout = 30 } = {}) {
    return this._json("POST", `/_emulator/jobs/${encodeURIComponent(job || this.job)}/drain?timeout=${timeout}`, 200, { auth: false });
  }

  /** Back to a fresh start: no users, logs or staged operations (configuration and jobs stay). */
  async reset() {
    await this._json("POST", "/_emulator/reset", 204, { auth: false });
  }

  async _control(method, path, document, expected = 200) {
    const body = document === undefined ? undefined : JSON.stringify(document);
    const headers = { "Content-Type": "application/json" };
    return this._json(method, `/_emulator/${path}`, expected, { body, headers, auth: false });
  }

  /** The emulator's durable state as one versioned document. */
  async export() {
    return this._control("GET", "export");
  }

  /** Replaces the state with an exported document, or seeds `{users: [...]}` of Graph user objects. */
  async importState(document) {
    await this._control("POST", "import", document, 204);
  }

  /** Starts from these directory users (Graph properties; `manager: {employeeId}` links one). */
  async seed(users) {
    await this.importState({ users });
  }

  /** Reads the virtual clock, or moves it: `{advance: "PT25H"}`, `{set: "2027-01-01T00:00:00Z"}`, `{system: true}`. */
  async clock({ advance, set, system } = {}) {
    const change = {};
    if (advance !== undefined) change.advance = advance;
    if (set !== undefined) change.set = set;
    if (system) change.mode = "system";
    return Object.keys(change).length ? this._control("POST", "clock", change) : this._control("GET", "clock");
  }

  /** Adds a fault rule (`route`, `status`, `times`, `latencyMs`, `probability`, `seed`, `jobId`, `errorCode`). */
  async addFault(rule) {
    return this._control("POST", "faults", rule, 201);
  }

  async clearFaults() {
    await this._control("DELETE", "faults", undefined, 204);
  }

  /** The request journal, newest first (filters: `limit`, `route`, `status`, `since`). */
  async journal(filters = {}) {
    const query = Object.keys(filters).length ? `?${new URLSearchParams(filters)}` : "";
    return (await this._control("GET", `journal${query}`)).value;
  }

  /** The client conformance report: `[{clientId, findings}]`. */
  async report() {
    return (await this._control("GET", "report")).clients;
  }

  async _pages(path, params) {
    const query = new URLSearchParams(params).toString().replace(/\+/g, "%20");
    let url = query ? `${path}?${query}` : path;
    const out = [];
    while (url) {
      const page = await this._json("GET", url, 200);
      out.push(...page.value);
      url = page["@odata.nextLink"];
    }
    return out;
  }

  /** Every provisioning-log entry (all pages), newest first, optionally under an OData $filter. */
  async logs({ filter, version = "v1.0" } = {}) {
    return this._pages(`/${version}/auditLogs/provisioning`, { $top: "1000", ...(filter ? { $filter: filter } : {}) });
  }

  /** Every directory user (all pages), optionally under $filter and $select. */
  async users({ filter, select, version = "v1.0" } = {}) {
    return this._pages(`/${version}/users`, { ...(filter ? { $filter: filter } : {}), ...(select ? { $select: select } : {}) });
  }
}

/** Starts `entra-inbound serve` on a free port; resolves to { baseUrl, client, process, stop() }. */
function startEmulator({ args = [], env = {}, binary } = {}) {
  const bin = binary || findBinary();
  const environment = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("ENTRA_INBOUND")));
  const child = spawn(bin, ["serve", "--listen", "127.0.0.1:0", ...args], {
    env: { ...environment, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    if (stderr.length < 65536) stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    const fail = (why) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(new EmulatorError(`${bin} did not start: ${(stderr.trim() || why).trim()}`));
    };
    const timer = setTimeout(() => fail(`no banner within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    child.on("error", (e) => fail(e.message));
    child.on("exit", (code) => setImmediate(() => fail(`exited with status ${code}`)));
    const lines = readline.createInterface({ input: child.stdout });
    lines.once("line", (line) => {
      const match = / listening on (http:\/\/\S+)$/.exec(line.trim());
      if (!match) return fail(`unexpected first line: ${line}`);
      clearTimeout(timer);
      child.removeAllListeners("exit");
      // Keep reading the banner so the emulator never blocks on a full pipe.
      lines.on("line", () => {});
      const stop = () =>
        new Promise((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          const force = setTimeout(() => child.kill("SIGKILL"), 10000);
          child.once("exit", () => {
            clearTimeout(force);
            done();
          });
          child.kill("SIGTERM");
        });
      resolve({ baseUrl: match[1], client: new EmulatorClient(match[1]), process: child, stop });
    });
  });
}

/**
 * Registers the fixture with a test framework's hooks: one emulator for the file (`before`/`after`: node:test's
 * before/after, Jest's beforeAll/afterAll), reset before each test (`beforeEach`). Returns a handle whose
 * `client`, `baseUrl` and `emulator` are set once `before` has run.
 */
function useEmulator({ before, after, beforeEach, args, env }) {
  const handle = { emulator: null, client: null, baseUrl: null };
  before(async () => {
    handle.emulator = await startEmulator({ args, env });
    handle.client = handle.emulator.client;
    handle.baseUrl = handle.emulator.baseUrl;
  });
  after(async () => {
    if (handle.emulator) await handle.emulator.stop();
  });
  if (beforeEach) beforeEach(async () => handle.client.reset());
  return handle;
}

module.exports = {
  DEFAULT_CLIENT_ID,
  DEFAULT_JOB,
  DEFAULT_SP,
  DEFAULT_TENANT,
  EmulatorClient,
  EmulatorError,
  findBinary,
  startEmulator,
  useEmulator,
};
