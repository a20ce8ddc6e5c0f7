"""The token endpoint throttles failed client logins per client id and per address (real HTTP on
loopback; the clients connect from different loopback addresses, 127.0.0.2 to 127.0.0.4)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from connectors.api.auth import install_auth
from connectors.api.throttle import FailureThrottle
from edi.auth import (
    ClientRegistry,
    OAuthClient,
    Scope,
    SigningKeys,
    TokenIssuer,
    TokenVerifier,
    generate_signing_key_pem,
    hash_client_secret,
)
from tests.servers.http import serve

FAST = {"n": 2**10}
SECRETS = {"good-client": "good secret", "other-client": "other secret"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def url(clock: Clock) -> Iterator[str]:
    issuer = TokenIssuer(SigningKeys.from_pems({"k1": generate_signing_key_pem()}, "k1"),
                         issuer="https://edi.test/", audience="https://api.edi.test")
    clients = ClientRegistry.from_submitters({"clinic-a": [
        OAuthClient(client_id=cid, secret_hash=hash_client_secret(secret, **FAST), scopes=[Scope.CLAIMS_WRITE])
        for cid, secret in SECRETS.items()]})
    app = FastAPI()
    install_auth(app, TokenVerifier([issuer.trusted()]), issuer=issuer, clients=clients,
                 throttle=FailureThrottle(3, 60, clock=clock))
    with serve(app) as base:
        yield base


def login(url: str, source: str, client_id: str, secret: str) -> httpx.Response:
    with httpx.Client(transport=httpx.HTTPTransport(local_address=source)) as client:
        return client.post(f"{url}/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))


def test_failed_logins_are_throttled_per_client_and_per_address(url: str, clock: Clock) -> None:
    for _ in range(3):
        assert login(url, "127.0.0.2", "good-client", "guess").status_code == 401
    blocked = login(url, "127.0.0.2", "good-client", SECRETS["good-client"])  # even the right secret
    assert blocked.status_code == 429
    assert blocked.headers["content-type"].startswith("application/problem+json")
    assert 1 <= int(blocked.headers["retry-after"]) <= 60
    assert blocked.json()["status"] == 429 and "access_token" not in blocked.text

    # per client id: the same client from elsewhere is blocked too; another client from there is not
    assert login(url, "127.0.0.3", "good-client", SECRETS["good-client"]).status_code == 429
    assert login(url, "127.0.0.3", "other-client", SECRETS["other-client"]).status_code == 200

    # per address: guesses at many client ids from one address block that address
    for guess in ("nobody-1", "nobody-2", "nobody-3"):
        assert login(url, "127.0.0.4", guess, "x").status_code == 401
    assert login(url, "127.0.0.4", "other-client", SECRETS["other-client"]).status_code == 429

    # the window passes: the right secret works again
    clock.now += 61
    assert login(url, "127.0.0.2", "good-client", SECRETS["good-client"]).status_code == 200


def test_successes_and_other_errors_do_not_count(url: str) -> None:
    for _ in range(5):
        assert login(url, "127.0.0.2", "good-client", SECRETS["good-client"]).status_code == 200
    with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2")) as client:
        for _ in range(5):  # a request error, not a failed authentication
            answer = client.post(f"{url}/oauth/token", data={"grant_type": "password"},
                                 auth=("good-client", SECRETS["good-client"]))
            assert answer.status_code == 400
    assert login(url, "127.0.0.2", "good-client", SECRETS["good-client"]).status_code == 200


def test_the_throttle_forgets_failures_outside_its_window() -> None:
    clock = Clock()
    throttle = FailureThrottle(2, 10, clock=clock)
    throttle.failed("a")
    clock.now += 6
    throttle.failed("a")
    assert throttle.retry_after("a") == 4 and throttle.retry_after("b", None) is None
    clock.now += 4
    assert throttle.retry_after("a") is None  # the first failure left the window
    with pytest.raises(ValueError):
        FailureThrottle(0, 10)
