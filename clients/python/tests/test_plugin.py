"""The package's own tests: the fixtures as a test suite uses them, and the errors a user can hit.

Run with the package installed (its pytest11 entry point loads the plugin) and ENTRA_INBOUND_BIN or
entra-inbound on PATH: `pytest clients/python/tests`.
"""

import os

import pytest

from entra_inbound_pytest import DEFAULT_JOB, EmulatorError, find_binary, start_emulator

WORKER = {"externalId": "701984", "userName": "bjensen@contoso.com", "displayName": "Barbara Jensen", "active": True}


def test_upload_drain_then_read_logs_and_users(entra):
    r = entra.upload([WORKER, dict(WORKER, externalId="701985", userName="jsmith@contoso.com", displayName="J Smith")])
    assert r.status == 202
    assert r.headers["Location"].endswith("/v1.0/auditLogs/provisioning/?$filter=jobid%20eq%20'{}'".format(DEFAULT_JOB))
    assert entra.drain()["pending"] == 0
    logs = entra.logs()
    assert sorted(e["sourceIdentity"]["id"] for e in logs) == ["701984", "701985"]
    assert {e["provisioningAction"] for e in logs} == {"create"}
    assert {e["provisioningStatusInfo"]["status"] for e in logs} == {"success"}
    assert len(entra.logs("sourceIdentity/id eq '701985'")) == 1
    users = entra.users("employeeId eq '701984'", select="displayName,accountEnabled")
    assert users == [{"displayName": "Barbara Jensen", "accountEnabled": True}]


def test_each_test_starts_from_a_fresh_emulator(entra):
    assert entra.upload([WORKER]).status == 202
    entra.drain()
    assert len(entra.users()) == 1
    entra.reset()
    assert entra.users() == [] and entra.logs() == []


def test_a_seeded_user_is_updated_and_the_control_api_is_at_hand(entra):
    entra.seed([{"employeeId": "701984", "userPrincipalName": "bjensen@contoso.com", "displayName": "Babs",
                 "accountEnabled": True}])
    assert entra.export()["users"][0]["employeeId"] == "701984"
    rule = entra.add_fault(route="bulkUpload", status=429, times=1)
    assert entra.upload([WORKER]).status == 429
    assert entra.upload([WORKER]).status == 202
    entra.drain()
    assert [e["provisioningAction"] for e in entra.logs()] == ["update"]
    assert entra.users(select="displayName") == [{"displayName": "Barbara Jensen"}]
    assert [e["status"] for e in entra.journal(route="bulkUpload")] == [202, 429]
    assert rule["id"] in entra.journal(status=429)[0]["reason"]
    assert entra.clock(advance="PT25H")["offsetSeconds"] == 90000
    assert entra.clock(system=True)["mode"] == "system"
    entra.clear_faults()
    assert isinstance(entra.report(), list)
    with pytest.raises(EmulatorError, match="answered 400"):
        entra.clock(advance="tomorrow")


def test_a_refused_upload_returns_its_error(entra):
    r = entra.upload({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": []})
    assert r.status == 400
    assert b"Invalid Data Format" in r.body


def test_the_token_comes_from_the_token_endpoint(entra):
    token = entra.token()
    assert token.count(".") == 2 and token == entra.token()


def test_the_binary_is_found_through_the_environment_then_path(monkeypatch, tmp_path):
    real = find_binary()
    monkeypatch.setenv("ENTRA_INBOUND_BIN", str(tmp_path / "missing"))
    with pytest.raises(EmulatorError, match="is not an executable file"):
        find_binary()
    monkeypatch.delenv("ENTRA_INBOUND_BIN")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(EmulatorError, match="entra-inbound not found: set ENTRA_INBOUND_BIN"):
        find_binary()
    os.symlink(real, tmp_path / "entra-inbound")
    assert find_binary() == str(tmp_path / "entra-inbound")


def test_a_start_failure_says_why():
    with pytest.raises(EmulatorError, match="does not exist"):
        start_emulator(["--config", "/nonexistent/emulator.toml"])


def test_start_emulator_works_without_pytest_fixtures(tmp_path):
    config = tmp_path / "emulator.toml"
    config.write_text('[auth]\nmode = "lenient"\n')
    with start_emulator(["--config", str(config)]) as emulator:
        assert emulator.client.upload([WORKER]).status == 202
        assert emulator.client.drain()["processed"] == 1
    assert emulator.process.poll() is not None
