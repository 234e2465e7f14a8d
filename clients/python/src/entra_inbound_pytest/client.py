"""A small client for the emulator: tokens, uploads, draining, and reading logs and users (standard library only).

Every call has a timeout; an answer the call does not expect raises :class:`EmulatorError` with the status and
body, except :meth:`EmulatorClient.upload`, which returns the :class:`Response` so tests can assert on errors.
"""

import json
import urllib.error
import urllib.parse
import urllib.request
from collections import namedtuple

DEFAULT_TENANT = "c0ffee00-0000-4000-8000-000000000001"
DEFAULT_SP = "c0ffee00-0000-4000-8000-0000000000a1"
DEFAULT_JOB = "API2AAD.c0ffee00000040008000000000000001.c0ffee00-0000-4000-8000-0000000000b1"
DEFAULT_CLIENT_ID = "c0ffee00-0000-4000-8000-0000000000c1"
DEFAULT_CLIENT_SECRET = "emulator-secret"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
TIMEOUT = 30

# `headers` looks names up case-insensitively (an `email.message.Message`).
Response = namedtuple("Response", ["status", "headers", "body"])


class EmulatorError(Exception):
    """The emulator is missing, did not start, or answered something unexpected."""


class EmulatorClient:
    """Talks to one emulator at ``base_url`` (``http://127.0.0.1:PORT``) as its default client."""

    def __init__(self, base_url, tenant=DEFAULT_TENANT, client_id=DEFAULT_CLIENT_ID,
                 client_secret=DEFAULT_CLIENT_SECRET, sp=DEFAULT_SP, job=DEFAULT_JOB):
        self.base_url = base_url.rstrip("/")
        self.tenant, self.client_id, self.client_secret = tenant, client_id, client_secret
        self.sp, self.job = sp, job
        self._token = None

    def _request(self, method, path, body=None, headers=None, token=True):
        headers = dict(headers or {})
        if token:
            headers.setdefault("Authorization", "Bearer " + self.token())
        url = path if path.startswith("http") else self.base_url + path
        request = urllib.request.Request(url, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as r:
                return Response(r.status, r.headers, r.read())
        except urllib.error.HTTPError as e:
            return Response(e.code, e.headers, e.read())

    def _json(self, method, path, expected=200, **kwargs):
        r = self._request(method, path, **kwargs)
        if r.status != expected:
            raise EmulatorError("{} {} answered {}: {}".format(method, path, r.status, r.body.decode("utf-8", "replace")))
        return json.loads(r.body) if r.body else None

    def token(self):
        """A Graph access token from the emulator's token endpoint (client credentials), cached."""
        if self._token is None:
            form = urllib.parse.urlencode({
                "grant_type": "client_credentials", "client_id": self.client_id,
                "client_secret": self.client_secret, "scope": "https://graph.microsoft.com/.default",
            }).encode()
            answer = self._json("POST", "/{}/oauth2/v2.0/token".format(self.tenant), body=form, token=False,
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
            self._token = answer["access_token"]
        return self._token

    def upload(self, users_or_request, job=None, sp=None, version="v1.0"):
        """POSTs a BulkRequest to bulkUpload: a whole request (a dict with ``schemas``), or a list of SCIM
        users, each sent as a POST operation (``schemas`` added when missing). Returns the :class:`Response`."""
        if isinstance(users_or_request, dict):
            request = users_or_request
        else:
            operations = []
            for i, user in enumerate(users_or_request):
                data = dict(user)
                data.setdefault("schemas", [CORE_USER])
                operations.append({"method": "POST", "bulkId": "b{}".format(i), "path": "/Users", "data": data})
            request = {"schemas": [BULK_REQUEST], "Operations": operations}
        path = "/{}/servicePrincipals/{}/synchronization/jobs/{}/bulkUpload".format(version, sp or self.sp, job or self.job)
        return self._request("POST", path, body=json.dumps(request).encode(),
                             headers={"Content-Type": "application/scim+json"})

    def drain(self, job=None, timeout=30):
        """Waits until every operation staged so far is processed and logged; returns the drain answer."""
        path = "/_emulator/jobs/{}/drain?timeout={}".format(urllib.parse.quote(job or self.job, safe=""), timeout)
        return self._json("POST", path, token=False)

    def reset(self):
        """Back to a fresh start with the same configuration: directory, logs, staged operations, journal, fault
        rules and report emptied, jobs in their configured state, the clock on system time."""
        self._json("POST", "/_emulator/reset", expected=204, token=False)

    def _control(self, method, path, document=None, expected=200):
        body = None if document is None else json.dumps(document).encode()
        return self._json(method, "/_emulator/" + path, expected=expected, body=body, token=False,
                          headers={"Content-Type": "application/json"})

    def export(self):
        """The emulator's durable state as one versioned document (a dict)."""
        return self._control("GET", "export")

    def import_state(self, document):
        """Replaces the state with an exported document, or seeds ``{"users": [...]}`` of Graph user objects."""
        self._control("POST", "import", document, expected=204)

    def seed(self, users):
        """Starts from these directory users (Graph properties; ``"manager": {"employeeId": ...}`` links one)."""
        self.import_state({"users": list(users)})

    def clock(self, advance=None, set=None, system=False):
        """Reads the virtual clock, or moves it: ``advance="PT25H"``, ``set="2027-01-01T00:00:00Z"`` or
        ``system=True``. Returns ``{"mode", "now", "offsetSeconds"}``."""
        change = {k: v for k, v in (("advance", advance), ("set", set)) if v is not None}
        if system:
            change["mode"] = "system"
        return self._control("POST", "clock", change) if change else self._control("GET", "clock")

    def add_fault(self, **rule):
        """Adds a fault rule (``route``, ``status``, ``times``, ``latencyMs``, ``probability``, ``seed``,
        ``jobId``, ``errorCode``); returns it with its ``id``."""
        return self._control("POST", "faults", rule, expected=201)

    def clear_faults(self):
        self._control("DELETE", "faults", expected=204)

    def journal(self, **filters):
        """The request journal, newest first (filters: ``limit``, ``route``, ``status``, ``since``)."""
        query = "?" + urllib.parse.urlencode(filters) if filters else ""
        return self._control("GET", "journal" + query)["value"]

    def report(self):
        """The client conformance report: ``[{"clientId", "findings": [...]}]``."""
        return self._control("GET", "report")["clients"]

    def _pages(self, path, params):
        url = path + ("?" + urllib.parse.urlencode(params, quote_via=urllib.parse.quote) if params else "")
        out = []
        while url:
            page = self._json("GET", url)
            out.extend(page["value"])
            url = page.get("@odata.nextLink")
        return out

    def logs(self, filter=None, version="v1.0"):
        """Every provisioning-log entry (all pages), newest first, optionally under an OData ``$filter``."""
        params = {"$top": "1000"}
        if filter:
            params["$filter"] = filter
        return self._pages("/{}/auditLogs/provisioning".format(version), params)

    def users(self, filter=None, select=None, version="v1.0"):
        """Every directory user (all pages), optionally under ``$filter`` and ``$select``."""
        params = {}
        if filter:
            params["$filter"] = filter
        if select:
            params["$select"] = select
        return self._pages("/{}/users".format(version), params)
