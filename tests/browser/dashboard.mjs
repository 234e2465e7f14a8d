// The dashboard driven in Debian's headless Chromium by playwright-core (tests/it/dashboard.rs starts two
// emulators and runs this script; it fails loudly, never skips). Environment:
//   CHROMIUM         the browser executable
//   BASE             an emulator without admin.token
//   ADMIN_BASE       an emulator with admin.token = ADMIN_TOKEN, quarantined by two failures
//   FIXTURES         tests/fixtures (Microsoft's bulkUpload examples)
//   SCREENSHOTS      when set, a directory to write each view's screenshot to (1280×800 PNG)
// Each check throws with what it saw; the script prints one line per scenario and exits non-zero on the first
// failure. Nothing waits for a fixed time: every wait is for a condition, bounded by playwright's timeout.

import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import process from "node:process";
import { chromium } from "playwright-core";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const BASE = env("BASE");
const ADMIN_BASE = env("ADMIN_BASE");
const ADMIN_TOKEN = env("ADMIN_TOKEN");
const FIXTURES = env("FIXTURES");
const SCREENSHOTS = process.env.SCREENSHOTS || "";
const TENANT = "c0ffee00-0000-4000-8000-000000000001";
const SP = "c0ffee00-0000-4000-8000-0000000000a1";
const JOB = "API2AAD.c0ffee00000040008000000000000001.c0ffee00-0000-4000-8000-0000000000b1";
const JOB_PATH = `/v1.0/servicePrincipals/${SP}/synchronization/jobs/${JOB}`;
const TIMEOUT = 15_000;

// ---- the API, as a client under test uses it (not through the page)

async function token(base) {
  const r = await fetch(`${base}/${TENANT}/oauth2/v2.0/token`, {
    method: "POST",
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_id: "c0ffee00-0000-4000-8000-0000000000c1",
      client_secret: "emulator-secret",
      scope: "https://graph.microsoft.com/.default",
    }),
  });
  assert.equal(r.status, 200, `token request: ${r.status} ${await r.clone().text()}`);
  return (await r.json()).access_token;
}

async function upload(base, body) {
  const r = await fetch(`${base}${JOB_PATH}/bulkUpload`, {
    method: "POST",
    headers: { Authorization: `Bearer ${await token(base)}`, "Content-Type": "application/scim+json" },
    body,
  });
  assert.equal(r.status, 202, `upload: ${r.status} ${await r.clone().text()}`);
}

async function jobStatus(base) {
  const r = await fetch(`${base}${JOB_PATH}`, { headers: { Authorization: `Bearer ${await token(base)}` } });
  assert.equal(r.status, 200);
  return (await r.json()).status.code;
}

/** `count` creates that fail: records without userName for users that do not exist (externalIds 9990001…). */
const failing = (count) =>
  JSON.stringify({
    schemas: ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
    Operations: Array.from({ length: count }, (_, i) => ({
      method: "POST",
      bulkId: `x${i + 1}`,
      path: "/Users",
      data: { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], externalId: `999000${i + 1}`, active: true },
    })),
  });

// ---- the browser

const browser = await chromium.launch({
  executablePath: env("CHROMIUM"),
  headless: true,
  // Chromium's sandbox needs user namespaces, which a container running as root usually lacks.
  args: process.getuid?.() === 0 ? ["--no-sandbox"] : [],
});

/** A page at 1280×800 whose console errors, uncaught exceptions and failed requests are collected. */
async function newPage() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.problems = [];
  pages.push(page);
  page.on("console", (m) => m.type() === "error" && page.problems.push(`console: ${m.text()} (${m.location().url})`));
  page.on("pageerror", (e) => page.problems.push(`exception: ${e.message}`));
  page.on("requestfailed", (r) => page.problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  return page;
}

async function shoot(page, name) {
  if (!SCREENSHOTS) return;
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });
}

/** The element that has focus, described. */
const focused = (page) =>
  page.evaluate(() => {
    const el = document.activeElement;
    return `${el.tagName.toLowerCase()}:${(el.getAttribute("aria-label") || el.textContent || "").trim()}`;
  });

/** No horizontal scrolling of the page itself at the current width (tables scroll in their own box). */
async function fitsTheWindow(page, what) {
  const { scroll, width } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    width: window.innerWidth,
  }));
  assert.ok(scroll <= width, `${what}: the page is ${scroll}px wide in a ${width}px window`);
}

const step = (name) => console.log(`ok - ${name}`);
const pages = [];

try {
  const page = await newPage();

  // `/` redirects to the dashboard, which opens on the jobs.
  await page.goto(`${BASE}/`);
  assert.equal(new URL(page.url()).pathname, "/_emulator/ui");
  await page.locator(`article[data-job="${JOB}"]`).waitFor();
  step("/ redirects to /_emulator/ui and the jobs view shows the job");

  // Keyboard: Tab reaches the skip link, then the views in order; Enter follows a link.
  await page.keyboard.press("Tab");
  assert.equal(await focused(page), "a:Skip to content");
  await page.keyboard.press("Tab");
  assert.equal(await focused(page), "a:Jobs");
  await page.keyboard.press("Tab");
  assert.equal(await focused(page), "a:Provisioning logs");
  await page.keyboard.press("Enter");
  await page.locator("#view-logs").waitFor({ state: "visible" });
  assert.ok(await page.locator("#view-jobs").isHidden());
  assert.equal(await page.locator('nav a[aria-current="page"]').textContent(), "Provisioning logs");
  step("keyboard: Tab order skip link → Jobs → Provisioning logs; Enter opens the logs view");

  // Upload through the API: the rows appear without a reload.
  await page.evaluate(() => {
    window.notReloaded = true;
  });
  await page.locator("#logs-empty").waitFor({ state: "visible" });
  await upload(BASE, await readFile(path.join(FIXTURES, "example1.json")));
  await page.locator("#logs-table tbody tr.entry").nth(1).waitFor();
  await upload(BASE, failing(1));
  await page.locator("#logs-table tbody tr.entry.status-failure").waitFor();
  assert.equal(await page.locator("#logs-table tbody tr.entry").count(), 3);
  assert.equal(await page.evaluate(() => window.notReloaded), true, "the page was reloaded");
  step("uploads through the API appear in the live log table without a reload");

  // A failure shows its errorCode in its row.
  const failure = page.locator("#logs-table tbody tr.entry.status-failure");
  const code = (await failure.locator("td").nth(7).locator("strong").textContent()).trim();
  assert.ok(code.length > 0, "the failed entry's row shows no errorCode");
  assert.ok((await failure.locator("td").nth(7).locator(".reason").textContent()).length > 0, "no reason in the row");
  assert.equal((await failure.locator("td").nth(4).textContent()).trim(), "9990001");

  // Expand a create with the keyboard: its steps in order, modified properties, evaluated mappings.
  const kathy = page.locator("#logs-table tbody tr.entry", { hasText: "701985" });
  await kathy.locator("button.expand").focus();
  await page.keyboard.press("Enter");
  assert.equal(await kathy.locator("button.expand").getAttribute("aria-expanded"), "true");
  const detail = page.locator(`#${await kathy.locator("button.expand").getAttribute("aria-controls")}`);
  await detail.waitFor({ state: "visible" });
  const steps = await detail.locator("ol.steps > li strong").allTextContents();
  assert.deepEqual(steps, [
    "EntryImport",
    "EntrySynchronizationScoping",
    "EntrySynchronizationAdd",
    "EntryExportAdd",
    "EntryReferenceResolution",
  ]);
  const modified = await detail.locator("table.modified tbody tr", { hasText: "displayName" }).first().textContent();
  assert.match(modified, /displayName.*—.*→ Kathy Jensen/);
  const mapping = await detail.locator("table.evaluated tbody tr", { hasText: "employeeId" }).textContent();
  assert.match(mapping, /employeeId\[externalId\] = "701985"/);
  step("a row expands (keyboard) into its steps in order, old → new values and the evaluated mappings");

  // The failure's detail leads with its errorCode and reason.
  await failure.locator("button.expand").click();
  const box = page.locator("#logs-table .failure-box");
  await box.waitFor();
  assert.ok((await box.textContent()).startsWith(code), `the failure box does not lead with ${code}`);

  // Filters: status, then externalId.
  await page.selectOption('#logs-filter select[name="status"]', "failure");
  await page.waitForFunction(() => document.querySelectorAll("#logs-table tbody tr.entry").length === 1);
  await page.selectOption('#logs-filter select[name="status"]', "");
  await page.fill('#logs-filter input[name="externalId"]', "701984");
  await page.waitForFunction(
    () =>
      document.querySelectorAll("#logs-table tbody tr.entry").length === 1 &&
      document.querySelector("#logs-table tbody tr.entry").textContent.includes("701984"),
  );
  await page.fill('#logs-filter input[name="externalId"]', "");
  await page.locator("#logs-table tbody tr.entry").nth(2).waitFor();
  step("a failure shows its errorCode and reason; status and externalId filters narrow the table");
  await kathy.locator("button.expand").click();
  await kathy.locator("button.expand[aria-expanded=true]").waitFor();
  await shoot(page, "logs");

  // Pause the job from the UI: the API reports it paused; start it again.
  await page.click('nav a[data-view="jobs"]');
  const card = page.locator(`article[data-job="${JOB}"]`);
  await card.locator('button[data-action="pause"]').click();
  await card.locator("dd .badge", { hasText: "Paused" }).first().waitFor();
  assert.equal(await jobStatus(BASE), "Paused");
  await card.locator('button[data-action="start"]').click();
  await card.locator("dd .badge", { hasText: "Active" }).first().waitFor();
  assert.equal(await jobStatus(BASE), "Active");
  assert.ok((await card.locator("table.mapping-table tbody tr").count()) > 10, "the mappings table is empty");
  assert.match(
    await card.locator("table.mapping-table tbody tr", { hasText: "employeeId" }).first().textContent(),
    /\[externalId\]/,
  );
  step("pausing the job from the UI makes the API report Paused; Start makes it Active; the mappings table is shown");
  await page.locator("#status").filter({ hasText: "Start: done" }).waitFor();
  await shoot(page, "jobs");

  // Users: search, properties, manager chain, and the link to the user's log entries.
  await page.click('nav a[data-view="users"]');
  await page.fill('#users-search input[name="q"]', "Kathy");
  await page.waitForFunction(() => document.querySelectorAll("#users-table tbody tr").length === 1);
  await page.click('#users-table tbody button:has-text("Kathy Jensen")');
  const panel = page.locator("#user-detail");
  await panel.locator("h3", { hasText: "Kathy Jensen" }).waitFor();
  assert.deepEqual(await panel.locator("ol.chain > li button").allTextContents(), ["Babs Jensen"]);
  assert.match(await panel.locator("dl").textContent(), /employeeId701985/);
  await page.fill('#users-search input[name="q"]', "");
  await page.waitForFunction(() => document.querySelectorAll("#users-table tbody tr").length === 2);
  await shoot(page, "users");
  await panel.locator("a", { hasText: "Provisioning log entries for this user" }).click();
  await page.locator("#logs-user").waitFor({ state: "visible" });
  await page.waitForFunction(
    () =>
      document.querySelectorAll("#logs-table tbody tr.entry").length === 1 &&
      document.querySelector("#logs-table tbody tr.entry").textContent.includes("701985"),
  );
  step("users: search, properties, manager chain, and the link to the user's log entries");

  // Playground: an expression's result, an error at its position, and a pasted upload's status and Location.
  await page.click('nav a[data-view="playground"]');
  await page.fill("#expr-input", 'Join(" ", [name.givenName], [name.familyName])');
  await page.click('#expr-form button[type="submit"]');
  await page.locator("#expr-result output").filter({ hasText: "Barbara Jensen" }).waitFor();
  await page.fill("#expr-input", 'Join(" ", [a], ');
  await page.click('#expr-form button[type="submit"]');
  await page.locator("#expr-result pre.expr-error").waitFor();
  assert.match(await page.locator("#expr-result").textContent(), /ExpressionParsingFailed.*position 15/);
  assert.equal(await page.locator("#expr-result pre.expr-error").getAttribute("aria-label"), "Error at position 15");
  await page.fill("#expr-input", 'Join(" ", [name.givenName], [name.familyName])');
  await page.click('#expr-form button[type="submit"]');
  await page.locator("#expr-result output").filter({ hasText: "Barbara Jensen" }).waitFor();
  await page.click('#upload-form button[type="submit"]');
  await page.locator("#upload-result .upload-status").filter({ hasText: "202" }).waitFor();
  assert.match(
    await page.locator("#upload-result code.location").textContent(),
    /\/v1\.0\/auditLogs\/provisioning\/\?\$filter=jobid/,
  );
  step("playground: an expression evaluates, an error shows its position, a pasted upload shows 202 and Location");
  await shoot(page, "playground");

  // Requests: the journal lists the uploads (the API's and the playground's), not the dashboard's own reads.
  await page.click('nav a[data-view="requests"]');
  await page.waitForFunction(() => document.querySelectorAll("#requests-table tbody tr").length >= 3);
  const routes = await page.locator("#requests-table tbody tr td:nth-child(4)").allTextContents();
  assert.equal(routes.filter((r) => r === "bulkUpload").length, 3, `journal routes: ${routes}`);
  assert.ok(!routes.includes("provisioningLogs") && !routes.includes("users"), `journal routes: ${routes}`);
  step("requests: the journal shows the uploads and none of the dashboard's own requests");
  await shoot(page, "requests");

  // A narrow window: every view fits without scrolling the page sideways, the navigation stays reachable.
  await page.setViewportSize({ width: 390, height: 800 });
  for (const view of ["jobs", "logs", "users", "playground", "requests"]) {
    await page.click(`nav a[data-view="${view}"]`);
    await page.locator(`#view-${view}`).waitFor({ state: "visible" });
    await fitsTheWindow(page, `${view} at 390px`);
    assert.ok(await page.locator('nav a[data-view="requests"]').isVisible());
  }
  // The log entries become cards: nothing to scroll sideways, not even inside the table's box.
  await page.click('nav a[data-view="logs"]');
  await page.locator("#logs-table tbody tr.entry").nth(2).waitFor();
  const cards = await page.evaluate(() => {
    const scroller = document.querySelector("#logs-table").parentElement;
    return { scroll: scroller.scrollWidth, width: scroller.clientWidth };
  });
  assert.ok(cards.scroll <= cards.width, `the log table is ${cards.scroll}px wide in its ${cards.width}px box`);
  await page.setViewportSize({ width: 1280, height: 800 });
  await fitsTheWindow(page, "requests at 1280px");
  step("every view fits a 390px-wide window and a 1280×800 one");

  assert.deepEqual(page.problems, [], "console errors, exceptions or failed requests");
  step("no console errors, exceptions or failed requests");

  // With admin.token: the page asks for it once, keeps it for the tab, and sends it. Its job is quarantined.
  await upload(ADMIN_BASE, failing(2));
  const admin = await newPage();
  await admin.goto(`${ADMIN_BASE}/_emulator/ui`);
  await admin.locator("#view-login").waitFor({ state: "visible" });
  assert.equal(await focused(admin), "input:");
  await admin.keyboard.type("not-the-token");
  await admin.keyboard.press("Enter");
  await admin.locator("#login-error", { hasText: "The admin token is not valid." }).waitFor();
  await admin.keyboard.type(ADMIN_TOKEN);
  await admin.keyboard.press("Enter");
  await admin.locator(`article[data-job="${JOB}"]`).waitFor();
  assert.equal(await admin.evaluate(() => sessionStorage.getItem("entra-inbound.adminToken")), ADMIN_TOKEN);
  await admin.reload();
  const quarantined = admin.locator(`article[data-job="${JOB}"]`);
  await quarantined.waitFor();
  assert.ok(await admin.locator("#view-login").isHidden());
  // The poll brings the quarantine in once the worker has processed the failures.
  await quarantined.locator("dd .badge", { hasText: "Quarantine" }).waitFor();
  assert.match(
    await quarantined.locator("dd strong.error-text").textContent(),
    /^EncounteredEscrowProportionThreshold: /,
  );
  await admin.click('nav a[data-view="requests"]');
  // The journal (read with the admin token) holds this script's token request and upload, not the page's reads.
  await admin.waitForFunction(() => document.querySelectorAll("#requests-table tbody tr").length === 2);
  const adminRoutes = await admin.locator("#requests-table tbody tr td:nth-child(4)").allTextContents();
  assert.deepEqual(adminRoutes, ["bulkUpload", "token"]);
  // The two refused session requests are the only problems: the browser reports each 401 on the console.
  const unexpected = admin.problems.filter((p) => !/status of 401/.test(p));
  assert.deepEqual(unexpected, [], "console errors besides the refused admin tokens");
  assert.equal(admin.problems.length, 2, `expected the two refused sign-ins: ${admin.problems}`);
  step(
    "with admin.token: the sign-in form, a wrong token refused, the right one kept for the tab and sent; a quarantine and its reason",
  );
} catch (err) {
  // What the pages showed and reported, to say why.
  for (const page of pages) {
    console.error(
      `page ${page.url()}: status line "${await page
        .locator("#status")
        .textContent()
        .catch(() => "?")}"`,
    );
    console.error(`  problems: ${JSON.stringify(page.problems)}`);
  }
  throw err;
} finally {
  await browser.close();
}
