"""Unmodified Microsoft client libraries against the emulator (issue 5 acceptance).

Run by tests/it/python_clients.rs, which starts the emulator with its HTTPS listener and passes:
ENTRA_TENANT, ENTRA_CLIENT_ID, ENTRA_CLIENT_SECRET, ENTRA_HTTP_BASE, ENTRA_HTTPS_BASE, ENTRA_SP, ENTRA_JOB,
ENTRA_BULK_FILE and REQUESTS_CA_BUNDLE (the emulator's generated CA, trusted the way users are told to).
Exits non-zero on the first failure; every network call has a timeout.
"""

import os
import socket
import sys

import msal
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ClientSecretCredential

socket.setdefaulttimeout(20)
TIMEOUT = 15
ENV = os.environ
TENANT = ENV["ENTRA_TENANT"]
CLIENT = ENV["ENTRA_CLIENT_ID"]
SECRET = ENV["ENTRA_CLIENT_SECRET"]
HTTP_BASE = ENV["ENTRA_HTTP_BASE"]
HTTPS_BASE = ENV["ENTRA_HTTPS_BASE"]
CA_BUNDLE = ENV["REQUESTS_CA_BUNDLE"]
UPLOAD_PATH = "/v1.0/servicePrincipals/{}/synchronization/jobs/{}/bulkUpload".format(ENV["ENTRA_SP"], ENV["ENTRA_JOB"])
SCOPE = "https://graph.microsoft.com/.default"
with open(ENV["ENTRA_BULK_FILE"], "rb") as f:
    BULK = f.read()


def upload(base, token):
    r = requests.post(
        base + UPLOAD_PATH,
        data=BULK,
        headers={"Authorization": "Bearer " + token, "Content-Type": "application/scim+json"},
        timeout=TIMEOUT,
    )
    assert r.status_code == 202, "upload to {}: {} {}".format(base, r.status_code, r.text)


def azure_identity_client_secret():
    credential = ClientSecretCredential(
        TENANT,
        CLIENT,
        SECRET,
        authority=HTTPS_BASE,
        disable_instance_discovery=True,
        connection_timeout=TIMEOUT,
        read_timeout=TIMEOUT,
    )
    token = credential.get_token(SCOPE).token
    upload(HTTP_BASE, token)
    upload(HTTPS_BASE, token)
    # The CA can also be given per credential instead of through the environment.
    explicit = ClientSecretCredential(
        TENANT, CLIENT, SECRET, authority=HTTPS_BASE, disable_instance_discovery=True, connection_verify=CA_BUNDLE
    )
    assert explicit.get_token(SCOPE).token


def azure_identity_wrong_secret():
    credential = ClientSecretCredential(
        TENANT, CLIENT, "not-the-secret", authority=HTTPS_BASE, disable_instance_discovery=True
    )
    try:
        credential.get_token(SCOPE)
    except ClientAuthenticationError as e:
        assert "AADSTS7000215" in str(e), str(e)
    else:
        raise AssertionError("a wrong secret yielded a token")


def msal_confidential_client():
    for tenant in (TENANT, "contoso.onmicrosoft.com"):
        app = msal.ConfidentialClientApplication(
            CLIENT,
            client_credential=SECRET,
            authority="{}/{}".format(HTTPS_BASE, tenant),
            instance_discovery=False,
            timeout=TIMEOUT,
        )
        result = app.acquire_token_for_client(scopes=[SCOPE])
        assert "access_token" in result, result
        upload(HTTPS_BASE, result["access_token"])
    app = msal.ConfidentialClientApplication(
        CLIENT, client_credential=SECRET, authority=HTTPS_BASE + "/" + TENANT, validate_authority=False, timeout=TIMEOUT
    )
    result = app.acquire_token_for_client(scopes=["00000003-0000-0000-c000-000000000000/.default"])
    assert "access_token" in result, result
    result = app.acquire_token_for_client(scopes=["https://graph.microsoft.com/User.Read"])
    assert result.get("error") == "invalid_scope" and 70011 in result.get("error_codes", []), result


def main():
    checks = [azure_identity_client_secret, azure_identity_wrong_secret, msal_confidential_client]
    for check in checks:
        check()
        print("ok", check.__name__, flush=True)
    print("python client checks passed: azure-identity {}, msal {}".format(
        __import__("azure.identity").identity.__version__, msal.__version__))


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 - report any failure with its type, then fail the Rust test
        print("FAIL: {}: {}".format(type(e).__name__, e), file=sys.stderr, flush=True)
        raise
