// Requests: the request journal (`GET /_emulator/journal`), newest first, filtered by surface and status,
// refreshed every three seconds while the view is shown.

import { $, badge, every, fill, h, latestOnly, when } from "./dom.js";
import { control } from "./api.js";
import { failed, isCurrent } from "./app.js";

const loads = latestOnly();

export function init() {
  const form = $("#requests-filter");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    refresh().catch(failed);
  });
  form.addEventListener("change", () => refresh().catch(failed));
  $("#requests-refresh").addEventListener("click", () => refresh().catch(failed));
  every(
    3000,
    () => isCurrent("requests"),
    () => refresh().catch(failed),
  );
}

export async function open() {
  await refresh();
}

async function refresh() {
  const ticket = loads();
  const f = $("#requests-filter").elements;
  const params = new URLSearchParams({ limit: "200" });
  if (f.route.value) params.set("route", f.route.value);
  if (f.status.value.trim()) params.set("status", f.status.value.trim());
  const page = await control(`/_emulator/journal?${params}`);
  if (!ticket()) return;
  const body = fill($("#requests-table tbody"));
  for (const e of page.value) {
    body.append(
      h(
        "tr",
        { className: e.status >= 400 ? "failed" : "" },
        h("td", {}, when(e.time)),
        h("td", {}, e.method),
        h("td", { className: "path" }, h("code", {}, e.path)),
        h("td", {}, e.route),
        h("td", {}, badge(e.status)),
        h("td", {}, String(e.durationMs)),
        h("td", {}, h("code", {}, e.clientId || "")),
        h(
          "td",
          {},
          e.reason || (e.operations != null ? `${e.operations} operation${e.operations === 1 ? "" : "s"}` : ""),
        ),
      ),
    );
  }
  $("#requests-empty").hidden = page.value.length > 0;
}
