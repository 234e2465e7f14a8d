// Provisioning logs: the newest entries of `GET /v1.0/auditLogs/provisioning`, filtered by status, action, job
// and externalId (or by the user a link from the Users view names), polled every two seconds so new entries
// appear at the top without a reload. A row expands into the entry's steps in order, its modifiedProperties
// (old → new) and the mappings the export step evaluated; a failure shows its errorCode and reason first.

import { $, badge, dl, every, fill, h, text, when } from "./dom.js";
import { graph, jobs, literal } from "./api.js";
import { failed, isCurrent } from "./app.js";

const PAGE = 50;
let filter = "";
let user = "";
let nextLink = null;
const rows = new Map();
// Bumped by every reload: a poll that started before one does not add its rows.
let generation = 0;

export function init() {
  const form = $("#logs-filter");
  form.addEventListener("submit", (event) => event.preventDefault());
  let typing = null;
  // The table is loaded again only for a filter it does not show yet: the externalId box's `change` on blur
  // (after its input already reloaded) must not redraw the table and close the row just opened.
  const refilter = () => {
    clearTimeout(typing);
    if (currentFilter() !== filter) reload().catch(failed);
  };
  form.addEventListener("change", refilter);
  form.elements.externalId.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(refilter, 300);
  });
  $("#logs-more").addEventListener("click", () => older().catch(failed));
  every(
    2000,
    () => isCurrent("logs"),
    () => poll().catch(failed),
  );
}

export async function open(params) {
  const select = $("#logs-filter").elements.job;
  if (select.options.length === 1) {
    for (const job of jobs()) select.append(h("option", { value: job.id }, job.id));
  }
  user = params.get("user") || "";
  const chip = $("#logs-user");
  chip.hidden = !user;
  if (user) {
    fill(chip, `Only user ${params.get("name") || user} `, h("a", { href: "#logs" }, "show all"));
  }
  await reload();
}

function currentFilter() {
  const f = $("#logs-filter").elements;
  const clauses = [];
  if (f.status.value) clauses.push(`provisioningStatusInfo/status eq ${literal(f.status.value)}`);
  if (f.action.value) clauses.push(`provisioningAction eq ${literal(f.action.value)}`);
  if (f.job.value) clauses.push(`jobId eq ${literal(f.job.value)}`);
  if (f.externalId.value.trim()) clauses.push(`sourceIdentity/id eq ${literal(f.externalId.value.trim())}`);
  if (user) clauses.push(`targetIdentity/id eq ${literal(user)}`);
  return clauses.join(" and ");
}

function query(top) {
  const params = new URLSearchParams({ $top: String(top) });
  if (filter) params.set("$filter", filter);
  return `/v1.0/auditLogs/provisioning?${params}`;
}

async function reload() {
  filter = currentFilter();
  const mine = ++generation;
  const page = await graph(query(PAGE));
  if (mine !== generation) return;
  rows.clear();
  fill($("#logs-table tbody"));
  nextLink = page["@odata.nextLink"] || null;
  for (const entry of page.value) $("#logs-table tbody").append(...row(entry));
  after();
}

/** New entries since the last look go on top, newest first; rows already shown stay as they are. */
async function poll() {
  const wanted = currentFilter();
  if (wanted !== filter) return reload();
  const mine = generation;
  const page = await graph(query(PAGE));
  if (mine !== generation) return;
  const fresh = page.value.filter((entry) => !rows.has(entry.id));
  const body = $("#logs-table tbody");
  const first = body.firstChild;
  for (const entry of fresh) {
    for (const tr of row(entry, true)) body.insertBefore(tr, first);
  }
  if (rows.size === fresh.length) nextLink = page["@odata.nextLink"] || null;
  after();
}

async function older() {
  if (!nextLink) return;
  const mine = generation;
  const page = await graph(nextLink);
  if (mine !== generation) return;
  nextLink = page["@odata.nextLink"] || null;
  const body = $("#logs-table tbody");
  for (const entry of page.value.filter((e) => !rows.has(e.id))) body.append(...row(entry));
  after();
}

function after() {
  $("#logs-empty").hidden = rows.size > 0;
  $("#logs-more").hidden = !nextLink;
  $("#logs-live").textContent = `Live · checked ${new Date().toLocaleTimeString()}`;
}

/** The entry's row and its (hidden) detail row. */
function row(entry, isNew = false) {
  const info = entry.provisioningStatusInfo || {};
  const status = info.status;
  const error = info.errorInformation;
  const detailId = `detail-${entry.id}`;
  const detail = h("tr", { className: "detail", id: detailId, hidden: true }, h("td", { colSpan: 8 }));
  const toggle = h("button", {
    type: "button",
    className: "expand",
    "aria-expanded": "false",
    "aria-controls": detailId,
    "aria-label": `Details of ${entry.provisioningAction} ${entry.sourceIdentity?.id || entry.id}`,
    onclick: () => {
      const open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      detail.hidden = !open;
      if (open && !detail.firstChild.firstChild) fill(detail.firstChild, details(entry));
    },
  });
  const tr = h(
    "tr",
    { className: `entry status-${status}${isNew ? " new" : ""}`, dataset: { id: entry.id } },
    h("td", {}, toggle),
    h(
      "td",
      { dataset: { label: "Time" } },
      h("time", { dateTime: entry.activityDateTime }, when(entry.activityDateTime)),
    ),
    h("td", { dataset: { label: "Action" } }, entry.provisioningAction),
    h("td", { dataset: { label: "Status" } }, badge(status)),
    h("td", { dataset: { label: "externalId" } }, h("code", {}, entry.sourceIdentity?.id || "")),
    h("td", { dataset: { label: "Source" } }, entry.sourceIdentity?.displayName || ""),
    h("td", { dataset: { label: "Target" } }, entry.targetIdentity?.displayName || entry.targetIdentity?.id || ""),
    h(
      "td",
      { dataset: { label: "Error" } },
      error?.errorCode ? h("strong", { className: "error-text" }, error.errorCode) : "",
      error?.reason ? h("span", { className: "reason" }, error.reason) : null,
    ),
  );
  rows.set(entry.id, tr);
  return [tr, detail];
}

function details(entry) {
  const error = entry.provisioningStatusInfo?.errorInformation;
  const steps = entry.provisioningSteps || [];
  const exports = steps.filter((s) => s.provisioningStepType === "export");
  const evaluated = exports.flatMap((s) =>
    Object.entries(s.details || {}).filter(([k]) => k !== "ReportableIdentifier"),
  );
  return h(
    "div",
    { className: "entry-detail" },
    error
      ? h(
          "div",
          { className: "failure-box", role: "note" },
          h("p", {}, h("strong", {}, error.errorCode || "Error"), error.reason ? `: ${error.reason}` : ""),
          error.additionalDetails ? h("p", {}, error.additionalDetails) : null,
          error.recommendedAction ? h("p", {}, `Recommended: ${error.recommendedAction}`) : null,
        )
      : null,
    h(
      "div",
      { className: "detail-grid" },
      h(
        "div",
        {},
        dl([
          ["Log entry id", entry.id],
          ["Job", entry.jobId],
          ["Change id", entry.changeId],
          ["Target id", entry.targetIdentity?.id || "—"],
          ["Duration", `${entry.durationInMilliseconds} ms`],
        ]),
        h("h4", {}, "Steps"),
        h(
          "ol",
          { className: "steps" },
          steps.map((step) =>
            h(
              "li",
              { className: `step status-${step.status}` },
              h(
                "p",
                {},
                badge(step.status),
                " ",
                h("strong", {}, step.name),
                h("span", { className: "muted" }, ` (${step.provisioningStepType})`),
              ),
              h("p", {}, step.description),
              step.provisioningStepType !== "export" && Object.keys(step.details || {}).length
                ? h(
                    "details",
                    { className: "step-details" },
                    h("summary", {}, `Details (${Object.keys(step.details).length})`),
                    dl(Object.entries(step.details), "props small"),
                  )
                : null,
            ),
          ),
        ),
      ),
      h(
        "div",
        {},
        h("h4", {}, "Modified properties"),
        (entry.modifiedProperties || []).length
          ? h(
              "div",
              { className: "scroll" },
              h(
                "table",
                { className: "modified" },
                h(
                  "thead",
                  {},
                  h(
                    "tr",
                    {},
                    ["Property", "Old value", "New value"].map((c) => h("th", { scope: "col" }, c)),
                  ),
                ),
                h(
                  "tbody",
                  {},
                  entry.modifiedProperties.map((p) =>
                    h(
                      "tr",
                      {},
                      h("td", {}, p.displayName),
                      h("td", { className: "old" }, text(p.oldValue)),
                      h("td", { className: "new" }, `→ ${text(p.newValue)}`),
                    ),
                  ),
                ),
              ),
            )
          : h("p", { className: "muted" }, "None."),
        h("h4", {}, "Evaluated mappings"),
        evaluated.length
          ? h(
              "div",
              { className: "scroll" },
              h(
                "table",
                { className: "evaluated" },
                h(
                  "thead",
                  {},
                  h(
                    "tr",
                    {},
                    ["Target attribute", "Expression = value"].map((c) => h("th", { scope: "col" }, c)),
                  ),
                ),
                h(
                  "tbody",
                  {},
                  evaluated.map(([target, value]) =>
                    h("tr", {}, h("td", {}, target), h("td", {}, h("code", {}, value))),
                  ),
                ),
              ),
            )
          : h("p", { className: "muted" }, "No export step: nothing was evaluated for the target."),
      ),
    ),
  );
}
