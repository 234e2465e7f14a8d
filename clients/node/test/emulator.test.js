// The package's own tests, with node:test: the fixture as a suite uses it, and the errors a user can hit.
// Run with ENTRA_INBOUND_BIN or entra-inbound on PATH: `node --test clients/node/test/`.
"use strict";

const { test, before, after, beforeEach } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { DEFAULT_JOB, EmulatorError, findBinary, startEmulator, useEmulator } = require("..");

const entra = useEmulator({ before, after, beforeEach });
const worker = { externalId: "701984", userName: "bjensen@contoso.com", displayName: "Barbara Jensen", active: true };

test("upload, drain, then read the logs and the users", async () => {
  const r = await entra.client.upload([worker, { ...worker, externalId: "701985", userName: "js@contoso.com" }]);
  assert.equal(r.status, 202);
  assert.ok(r.headers.get("location").endsWith(`/v1.0/auditLogs/provisioning/?$filter=jobid%20eq%20'${DEFAULT_JOB}'`));
  assert.equal((await entra.client.drain()).pending, 0);
  const logs = await entra.client.logs();
  assert.deepEqual(logs.map((e) => e.sourceIdentity.id).sort(), ["701984", "701985"]);
  assert.deepEqual(new Set(logs.map((e) => e.provisioningStatusInfo.status)), new Set(["success"]));
  assert.equal((await entra.client.logs({ filter: "sourceIdentity/id eq '701985'" })).length, 1);
  const users = await entra.client.users({ filter: "employeeId eq '701984'", select: "displayName,accountEnabled" });
  assert.deepEqual(users, [{ displayName: "Barbara Jensen", accountEnabled: true }]);
});

test("each test starts from a fresh emulator", async () => {
  assert.deepEqual(await entra.client.users(), []);
  assert.equal((await entra.client.upload([worker])).status, 202);
  await entra.client.drain();
  assert.equal((await entra.client.users()).length, 1);
});

test("a refused upload resolves to its error", async () => {
  const r = await entra.client.upload({ schemas: ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], Operations: [] });
  assert.equal(r.status, 400);
  assert.match(await r.text(), /Invalid Data Format/);
});

test("a seeded user is updated, and the control API is at hand", async () => {
  const c = entra.client;
  await c.seed([{ employeeId: "701984", userPrincipalName: "bjensen@contoso.com", displayName: "Babs", accountEnabled: true }]);
  assert.equal((await c.export()).users[0].employeeId, "701984");
  const rule = await c.addFault({ route: "bulkUpload", status: 429, times: 1 });
  assert.equal((await c.upload([worker])).status, 429);
  assert.equal((await c.upload([worker])).status, 202);
  await c.drain();
  assert.deepEqual((await c.logs()).map((e) => e.provisioningAction), ["update"]);
  assert.deepEqual(await c.users({ select: "displayName" }), [{ displayName: "Barbara Jensen" }]);
  assert.deepEqual((await c.journal({ route: "bulkUpload" })).map((e) => e.status), [202, 429]);
  assert.ok((await c.journal({ status: 429 }))[0].reason.includes(rule.id));
  assert.equal((await c.clock({ advance: "PT25H" })).offsetSeconds, 90000);
  assert.equal((await c.clock({ system: true })).mode, "system");
  await c.clearFaults();
  assert.ok(Array.isArray(await c.report()));
  await assert.rejects(c.clock({ advance: "tomorrow" }), (e) => e instanceof EmulatorError && /answered 400/.test(e.message));
});

test("the token comes from the token endpoint", async () => {
  const token = await entra.client.token();
  assert.equal(token.split(".").length, 3);
});

test("the binary is found through the environment, then PATH", () => {
  const real = findBinary();
  const saved = { bin: process.env.ENTRA_INBOUND_BIN, path: process.env.PATH };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "entra-inbound-testing-"));
  try {
    process.env.ENTRA_INBOUND_BIN = path.join(dir, "missing");
    assert.throws(findBinary, (e) => e instanceof EmulatorError && /is not an executable file/.test(e.message));
    delete process.env.ENTRA_INBOUND_BIN;
    process.env.PATH = dir;
    assert.throws(findBinary, /entra-inbound not found: set ENTRA_INBOUND_BIN/);
    fs.symlinkSync(real, path.join(dir, "entra-inbound"));
    assert.equal(findBinary(), path.join(dir, "entra-inbound"));
  } finally {
    if (saved.bin === undefined) delete process.env.ENTRA_INBOUND_BIN;
    else process.env.ENTRA_INBOUND_BIN = saved.bin;
    process.env.PATH = saved.path;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a start failure says why", async () => {
  await assert.rejects(startEmulator({ args: ["--config", "/nonexistent/emulator.toml"] }), /does not exist/);
});
