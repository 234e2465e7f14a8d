// Jobs: each job's run state, status code, counters, queue depth and quarantine reason, start / pause / restart
// buttons (Graph's own job actions), and the attribute mappings of its schema as a table. The figures refresh
// every few seconds while the view is shown; a card is built once and then only its values change, so focus
// stays where the keyboard left it.

import { $, badge, dl, every, fill, h, text, when } from "./dom.js";
import { graph, jobPath, jobs, loadSession } from "./api.js";
import { failed, isCurrent, report } from "./app.js";

const cards = new Map();
// Refreshes run one after another (a poll, a button, an action's own), so a card is built once and a later
// answer is never overwritten by an earlier one.
let queue = Promise.resolve();

export function init() {
  $("#jobs-refresh").addEventListener("click", () => refresh().catch(failed));
  every(
    3000,
    () => isCurrent("jobs"),
    () => refresh().catch(failed),
  );
}

export async function open() {
  await refresh();
}

function refresh() {
  const run = queue.then(load);
  queue = run.catch(() => {});
  return run;
}

async function load() {
  await loadSession();
  const list = $("#jobs-list");
  const bySp = new Map();
  for (const job of jobs()) {
    if (!bySp.has(job.sp)) bySp.set(job.sp, []);
    bySp.get(job.sp).push(job);
  }
  for (const [sp, spJobs] of bySp) {
    const answer = await graph(`/v1.0/servicePrincipals/${encodeURIComponent(sp)}/synchronization/jobs`);
    for (const job of spJobs) {
      const resource = answer.value.find((j) => j.id === job.id);
      if (!resource) continue;
      let card = cards.get(job.id);
      if (!card) {
        card = build(job);
        cards.set(job.id, card);
        list.append(card.root);
        loadMappings(job, card).catch(failed);
      }
      update(card, job, resource);
    }
  }
}

function build(job) {
  const values = {};
  const field = (name) => (values[name] = h("span"));
  const action = (verb, label) =>
    h("button", { type: "button", onclick: () => act(job, verb), dataset: { action: verb } }, label);
  const root = h(
    "article",
    { className: "panel job", "aria-label": `Job ${job.id}`, dataset: { job: job.id } },
    h("h3", { className: "job-id" }, job.id),
    h("p", { className: "muted" }, `${job.spName} · service principal ${job.sp}`),
    dl(
      [
        ["State", field("state")],
        ["Status", field("code")],
        ["Queued", field("queued")],
        ["Users synchronized", field("synchronized")],
        ["Last run", field("lastRun")],
        ["Last run imported", field("imported")],
        ["Last run exported", field("exported")],
        ["Last run failed", field("escrowed")],
        ["Quarantine", field("quarantine")],
      ],
      "props grid",
    ),
    h(
      "div",
      { className: "actions" },
      action("start", "Start"),
      action("pause", "Pause"),
      action("restart", "Restart"),
    ),
    h(
      "details",
      { className: "mappings", open: true },
      h("summary", {}, "Attribute mappings"),
      (values.mappings = h("div")),
    ),
  );
  return { root, values };
}

function update(card, job, resource) {
  const v = card.values;
  const status = resource.status || {};
  const last = status.lastExecution || {};
  fill(v.state, badge(resource.schedule?.state));
  fill(v.code, badge(status.code));
  v.queued.textContent = text(job.queued);
  const users = (status.synchronizedEntryCountByType || []).find((e) => e.key === "User");
  v.synchronized.textContent = text(users?.value ?? 0);
  v.imported.textContent = text(last.countImported ?? 0);
  v.exported.textContent = text(last.countExported ?? 0);
  v.escrowed.textContent = text(last.countEscrowed ?? 0);
  v.lastRun.textContent = last.timeEnded ? `${last.state} · ${when(last.timeEnded)}` : "never";
  const q = status.quarantine;
  fill(
    v.quarantine,
    q
      ? h("strong", { className: "error-text" }, `${q.reason}${q.error?.message ? `: ${q.error.message}` : ""}`)
      : "none",
  );
}

async function act(job, verb) {
  try {
    await graph(`${jobPath(job)}/${verb}`, { method: "POST" });
    report(`${verb[0].toUpperCase()}${verb.slice(1)}: done (${job.id}).`);
    await refresh();
  } catch (err) {
    failed(err);
  }
}

async function loadMappings(job, card) {
  const schema = await graph(`${jobPath(job)}/schema`);
  const tables = [];
  for (const rule of schema.synchronizationRules || []) {
    for (const mapping of rule.objectMappings || []) {
      tables.push(
        h(
          "h4",
          {},
          `${mapping.sourceObjectName} → ${mapping.targetObjectName}${mapping.enabled === false ? " (disabled)" : ""}`,
        ),
        h(
          "div",
          { className: "scroll" },
          h(
            "table",
            { className: "mapping-table" },
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                ["Target attribute", "Source", "Applied", "Matching"].map((c) => h("th", { scope: "col" }, c)),
              ),
            ),
            h(
              "tbody",
              {},
              (mapping.attributeMappings || []).map((m) =>
                h(
                  "tr",
                  {},
                  h("td", {}, m.targetAttributeName),
                  h("td", {}, h("code", {}, m.source?.expression ?? text(m.defaultValue))),
                  h("td", {}, m.flowType),
                  h("td", {}, m.matchingPriority ? `priority ${m.matchingPriority}` : ""),
                ),
              ),
            ),
          ),
        ),
      );
    }
  }
  fill(card.values.mappings, tables.length ? tables : h("p", { className: "muted" }, "No mappings."));
}
