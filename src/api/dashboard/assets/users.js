// Users: the directory (`GET /v1.0/users`), searched by the start of the display name, UPN or employeeId; a
// user's properties (beta, which answers every property), its manager chain ($expand=manager, level by level),
// and a link to the provisioning log entries whose target was this user.

import { $, dl, fill, h, latestOnly, text } from "./dom.js";
import { graph, literal } from "./api.js";
import { failed } from "./app.js";

const SELECT = "id,displayName,userPrincipalName,employeeId,accountEnabled,department";
const searches = latestOnly();
const shows = latestOnly();
/** Longest manager chain followed (a cycle stops it earlier). */
const MAX_CHAIN = 10;

export function init() {
  const form = $("#users-search");
  let typing = null;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    search().catch(failed);
  });
  form.elements.q.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => search().catch(failed), 300);
  });
}

export async function open() {
  await search();
}

async function search() {
  const ticket = searches();
  const q = $("#users-search").elements.q.value.trim();
  const params = new URLSearchParams({ $select: SELECT, $top: "100" });
  if (q) {
    const l = literal(q);
    params.set(
      "$filter",
      `startswith(displayName,${l}) or startswith(userPrincipalName,${l}) or startswith(employeeId,${l})`,
    );
  }
  const page = await graph(`/v1.0/users?${params}`);
  if (!ticket()) return;
  const body = fill($("#users-table tbody"));
  for (const user of page.value) {
    body.append(
      h(
        "tr",
        { dataset: { id: user.id } },
        h(
          "td",
          {},
          h(
            "button",
            { type: "button", className: "link", onclick: () => show(user.id).catch(failed) },
            user.displayName || user.id,
          ),
        ),
        h("td", {}, user.userPrincipalName),
        h("td", {}, h("code", {}, user.employeeId || "")),
        h("td", {}, user.accountEnabled ? "yes" : "no"),
        h("td", {}, user.department || ""),
      ),
    );
  }
  $("#users-empty").hidden = page.value.length > 0;
}

const expandManager = `$expand=${encodeURIComponent("manager($select=id,displayName,employeeId)")}`;

async function show(id) {
  const ticket = shows();
  const user = await graph(`/beta/users/${encodeURIComponent(id)}?${expandManager}`);
  const chain = [];
  const seen = new Set([user.id]);
  let manager = user.manager;
  while (manager && !seen.has(manager.id) && chain.length < MAX_CHAIN) {
    chain.push(manager);
    seen.add(manager.id);
    const next = await graph(`/v1.0/users/${encodeURIComponent(manager.id)}?$select=id&${expandManager}`);
    manager = next.manager;
  }
  if (!ticket()) return;
  const properties = Object.entries(user).filter(([k]) => !k.startsWith("@odata") && k !== "manager");
  const logs = new URLSearchParams({ user: user.id, name: user.displayName || user.id });
  const panel = $("#user-detail");
  fill(
    panel,
    h("h3", {}, user.displayName || user.id),
    h("p", {}, h("a", { href: `#logs?${logs}` }, "Provisioning log entries for this user")),
    h("h4", {}, "Manager chain"),
    chain.length
      ? h(
          "ol",
          { className: "chain" },
          chain.map((m) =>
            h(
              "li",
              {},
              h(
                "button",
                { type: "button", className: "link", onclick: () => show(m.id).catch(failed) },
                m.displayName || m.id,
              ),
              m.employeeId ? ` (${m.employeeId})` : "",
            ),
          ),
        )
      : h("p", { className: "muted" }, "No manager."),
    h("h4", {}, "Properties"),
    dl(properties.map(([k, v]) => [k, text(v)])),
  );
  panel.hidden = false;
  panel.focus();
}
