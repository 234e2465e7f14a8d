// The dashboard's shell: the session (or the admin token sign-in), the views behind `#jobs`, `#logs`, `#users`,
// `#playground`, `#requests` (plain links, so the browser's history and keyboard work as usual), and the status
// line every view reports failures on.

import { $, fill } from "./dom.js";
import { NeedsAdminToken, clearAdminToken, hasAdminToken, loadSession, setAdminToken } from "./api.js";
import * as jobsView from "./jobs.js";
import * as logsView from "./logs.js";
import * as usersView from "./users.js";
import * as playgroundView from "./playground.js";
import * as requestsView from "./requests.js";

const views = { jobs: jobsView, logs: logsView, users: usersView, playground: playgroundView, requests: requestsView };
let current = null;
let started = false;
let initialised = false;

/** Shows `message` on the status line (`error` in red), or clears it. */
export function report(message = "", error = false) {
  const status = $("#status");
  status.textContent = message;
  status.classList.toggle("error-text", error);
}

/** Reports a failed call; a 401 of the control API brings back the sign-in form. */
export function failed(err) {
  if (err instanceof NeedsAdminToken) {
    showLogin(hasAdminToken() ? "The admin token is not valid." : "");
    return;
  }
  report(err.message || String(err), true);
}

/** `#logs?user=ID` → `["logs", URLSearchParams]`. */
function route() {
  const [name, query] = location.hash.slice(1).split("?");
  return [views[name] ? name : "jobs", new URLSearchParams(query || "")];
}

function show(name) {
  for (const section of document.querySelectorAll(".view")) section.hidden = section.id !== `view-${name}`;
  for (const link of document.querySelectorAll("nav a")) {
    if (link.dataset.view === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

async function navigate() {
  if (!started) return;
  const [name, params] = route();
  show(name);
  report();
  current = name;
  document.title = `${$(`nav a[data-view="${name}"]`).textContent} · entra-inbound`;
  try {
    await views[name].open(params);
  } catch (err) {
    failed(err);
  }
}

export const isCurrent = (name) => started && current === name;

function showLogin(message) {
  started = false;
  clearAdminToken();
  show("login");
  $("#login-error").textContent = message;
  $("#login-token").focus();
}

async function start() {
  try {
    const session = await loadSession();
    fill($("#tenant"), `tenant ${session.tenantId}`);
  } catch (err) {
    if (err instanceof NeedsAdminToken) {
      showLogin(hasAdminToken() ? "The admin token is not valid." : "");
    } else {
      report(`The dashboard cannot start: ${err.message}`, true);
    }
    return;
  }
  if (!initialised) {
    initialised = true;
    for (const view of Object.values(views)) view.init();
  }
  started = true;
  report();
  await navigate();
}

$("#login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  setAdminToken($("#login-token").value);
  $("#login-token").value = "";
  start();
});
window.addEventListener("hashchange", navigate);
start();
