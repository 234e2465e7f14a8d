"""The SCIM service provider against real SCIM client libraries (issue 11 acceptance).

Run by tests/it/python_clients.rs, which starts the emulator and passes SCIM_BASE (its HTTP base URL),
SCIM_GRAPH_TOKEN (a Graph token with Directory.ReadWrite.All), SCIM_CLIENT_ID and SCIM_CLIENT_SECRET.

1. scim2-tester checks /scim/v2 (with the Graph token) and /admin/v1 (with a token from /oauth2/v1/token):
   any ERROR or CRITICAL result fails.
2. scim2-client drives /admin/v1 as an Oracle IDCS client would, with only its base URL changed: a token
   from POST /oauth2/v1/token (client credentials in HTTP Basic, scope urn:opc:idm:__myscopes__), then
   Bulk (IDCS answers 201), a filtered Users query, PATCH and DELETE.
Exits non-zero on the first failure; every network call has a timeout.
"""

import collections
import os
import sys

import httpx2 as httpx
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_models import (
    BulkOperation,
    BulkRequest,
    Group,
    PatchOp,
    PatchOperation,
    SearchRequest,
    User,
)
from scim2_tester import Status as CheckStatus
from scim2_tester import check_server

TIMEOUT = 30
BASE = os.environ["SCIM_BASE"]
GRAPH_TOKEN = os.environ["SCIM_GRAPH_TOKEN"]
CLIENT_ID = os.environ["SCIM_CLIENT_ID"]
CLIENT_SECRET = os.environ["SCIM_CLIENT_SECRET"]


def idcs_token():
    r = httpx.post(
        BASE + "/oauth2/v1/token",
        data={"grant_type": "client_credentials", "scope": "urn:opc:idm:__myscopes__"},
        auth=(CLIENT_ID, CLIENT_SECRET),
        timeout=TIMEOUT,
    )
    assert r.status_code == 200, "token: {} {}".format(r.status_code, r.text)
    body = r.json()
    assert sorted(body) == ["access_token", "expires_in", "token_type"], body
    return body["access_token"]


def client(prefix, token):
    http = httpx.Client(base_url=BASE + prefix, headers={"Authorization": "Bearer " + token}, timeout=TIMEOUT)
    c = SyncSCIMClient(http)
    c.discover()
    return c


def tester(prefix, token):
    results = check_server(client(prefix, token))
    counts = collections.Counter(r.status.name for r in results)
    bad = [r for r in results if r.status in (CheckStatus.ERROR, CheckStatus.CRITICAL)]
    for r in bad:
        print("  {} {} {}: {}".format(r.status.name, r.title, r.resource_type, r.reason))
    assert not bad, "scim2-tester on {}: {} error or critical results".format(prefix, len(bad))
    assert counts["SUCCESS"] >= 100, "scim2-tester on {} ran too few checks: {}".format(prefix, dict(counts))
    print("ok scim2_tester {} {}".format(prefix, dict(sorted(counts.items()))))


def idcs_client_flow():
    c = client("/admin/v1", idcs_token())
    request = BulkRequest[User | Group](
        operations=[
            BulkOperation[User](
                method=BulkOperation.Method.post,
                bulk_id="u1",
                path="/Users",
                data={"schemas": [User.__schema__], "userName": "py.ann", "displayName": "Ann"},
            ),
            BulkOperation[User](
                method=BulkOperation.Method.post,
                bulk_id="u2",
                path="/Users",
                data={"schemas": [User.__schema__], "userName": "py.bob", "displayName": "Bob"},
            ),
            BulkOperation[Group](
                method=BulkOperation.Method.post,
                bulk_id="g1",
                path="/Groups",
                data={
                    "schemas": [Group.__schema__],
                    "displayName": "py.team",
                    "members": [{"value": "bulkId:u1"}, {"value": "bulkId:u2"}],
                },
            ),
        ]
    )
    response = c.bulk(request, expected_status_codes=[201])
    statuses = [op.status for op in response.operations]
    assert statuses == [201, 201, 201], statuses
    print("ok scim2_client_bulk")

    found = c.search(User, SearchRequest(filter='userName eq "PY.ANN"'))
    assert found.total_results == 1, found
    ann = found.resources[0]
    assert ann.user_name == "py.ann" and ann.groups and ann.groups[0].display == "py.team", ann
    print("ok scim2_client_filtered_query")

    patch = PatchOp[User](
        operations=[PatchOperation(op=PatchOperation.Op.replace_, path="displayName", value="Ann B")]
    )
    patched = c.modify(User, ann.id, patch)
    assert patched is None or patched.display_name == "Ann B", patched
    assert c.query(User, ann.id).display_name == "Ann B"
    print("ok scim2_client_patch")

    c.delete(User, ann.id)
    remaining = c.search(User, SearchRequest(filter='userName sw "py."'))
    assert remaining.total_results == 1, remaining
    group = c.search(Group, SearchRequest(filter='displayName eq "py.team"')).resources[0]
    assert [m.value for m in group.members] == [remaining.resources[0].id], group
    print("ok scim2_client_delete")


def main():
    tester("/scim/v2", GRAPH_TOKEN)
    tester("/admin/v1", idcs_token())
    idcs_client_flow()


if __name__ == "__main__":
    try:
        main()
    except Exception:
        import traceback

        traceback.print_exc()
        sys.exit(1)
