// The dashboard's calls to the emulator's own HTTP API, same origin only:
// - the control API (`/_emulator/*`) with the admin token the page asked for, kept in sessionStorage;
// - Graph with a token from the emulator's token endpoint (client credentials of the client `GET
//   /_emulator/ui/session` names), fetched when needed and renewed before it expires.
// Requests made to watch the emulator carry `X-Entra-Inbound-Dashboard`, so the request journal and the client
// report leave them out; an upload from the playground does not, and is journaled like any client's.

/** The emulator's base path: the page is `{base}/_emulator/ui` (a reverse proxy may add a prefix). */
export const base = location.pathname.replace(/\/_emulator\/ui\/?$/, "");
const ADMIN_KEY = "entra-inbound.adminToken";
const MARK = { "X-Entra-Inbound-Dashboard": "1" };

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/** Thrown when the control API wants the admin token (401): the page shows its sign-in form. */
export class NeedsAdminToken extends ApiError {}

export function setAdminToken(token) {
  sessionStorage.setItem(ADMIN_KEY, token);
}

export function hasAdminToken() {
  return Boolean(sessionStorage.getItem(ADMIN_KEY));
}

export function clearAdminToken() {
  sessionStorage.removeItem(ADMIN_KEY);
}

async function errorOf(response) {
  const raw = await response.text();
  let body = raw;
  let message = `${response.status} ${response.statusText}`;
  try {
    body = JSON.parse(raw);
    const e = body.error;
    if (e && typeof e === "object" && e.message)
      message = `${response.status}: ${e.code ? `${e.code}: ` : ""}${e.message}`;
    else if (body.error_description) message = `${response.status}: ${body.error_description.split("\r\n")[0]}`;
  } catch {
    // Not JSON: the status line says it.
  }
  return { message, body };
}

/** A control API call; `NeedsAdminToken` on 401. */
export async function control(path, init = {}) {
  const headers = { ...MARK, ...(init.headers || {}) };
  const token = sessionStorage.getItem(ADMIN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(base + path, { ...init, headers });
  if (response.status === 401) {
    const { message, body } = await errorOf(response);
    throw new NeedsAdminToken(401, message, body);
  }
  if (!response.ok) {
    const { message, body } = await errorOf(response);
    throw new ApiError(response.status, message, body);
  }
  return response.status === 204 ? null : response.json();
}

let session = null;
let token = null;

/** `GET /_emulator/ui/session`: tenant, client, service principals and jobs (queue depths are fresh each call). */
export async function loadSession() {
  session = await control("/_emulator/ui/session");
  return session;
}

export const currentSession = () => session;

/** Every job of every service principal, as `{sp, spName, id, queued}`. */
export function jobs() {
  return (session?.servicePrincipals || []).flatMap((sp) =>
    sp.jobs.map((job) => ({ sp: sp.id, spName: sp.displayName, id: job.id, queued: job.queued })),
  );
}

async function graphToken() {
  if (token && token.renewAt > Date.now()) return token.value;
  if (!session) await loadSession();
  if (!session.client) {
    throw new ApiError(0, "No configured client has a secret: the dashboard cannot get a Graph token.");
  }
  const form = new URLSearchParams({
    grant_type: "client_credentials",
    client_id: session.client.clientId,
    client_secret: session.client.clientSecret,
    scope: "https://graph.microsoft.com/.default",
  });
  const response = await fetch(`${base}/${encodeURIComponent(session.tenantId)}/oauth2/v2.0/token`, {
    method: "POST",
    headers: MARK,
    body: form,
  });
  if (!response.ok) {
    const { message, body } = await errorOf(response);
    throw new ApiError(response.status, `The token endpoint refused the dashboard's client: ${message}`, body);
  }
  const answer = await response.json();
  const lifetime = Number(answer.expires_in) || 300;
  token = { value: answer.access_token, renewAt: Date.now() + Math.max(lifetime - 60, 30) * 1000 };
  return token.value;
}

/**
 * A Graph call: `path` from the base (`/v1.0/users`) or an absolute same-origin URL (an `@odata.nextLink`).
 * `{raw: true}` answers the Response itself (status and headers matter); `{journal: true}` leaves the mark off.
 */
export async function graph(path, { method = "GET", body, headers = {}, raw = false, journal = false } = {}) {
  const url = path.startsWith("http") ? sameOrigin(path) : base + path;
  const send = async () => {
    const all = { ...(journal ? {} : MARK), ...headers, Authorization: `Bearer ${await graphToken()}` };
    return fetch(url, { method, headers: all, body });
  };
  let response = await send();
  if (response.status === 401 && !journal) {
    // The token expired early (the emulator's clock moved, or it restarted with another key): once more with a
    // new one. An upload is not retried: what the emulator answered is what the playground shows.
    token = null;
    response = await send();
  }
  if (response.status === 401) token = null;
  if (raw) return response;
  if (!response.ok) {
    const { message, body: answer } = await errorOf(response);
    throw new ApiError(response.status, message, answer);
  }
  return response.status === 204 ? null : response.json();
}

/** A link the emulator wrote, made same-origin (its path and query on this page's origin). */
function sameOrigin(link) {
  const url = new URL(link);
  return url.origin === location.origin ? url.href : location.origin + url.pathname + url.search;
}

/** A string as an OData literal: `'O''Brien'`. */
export const literal = (value) => `'${String(value).replaceAll("'", "''")}'`;

/** The Graph path of a job: `/v1.0/servicePrincipals/{sp}/synchronization/jobs/{job}`. */
export const jobPath = (job) =>
  `/v1.0/servicePrincipals/${encodeURIComponent(job.sp)}/synchronization/jobs/${encodeURIComponent(job.id)}`;
