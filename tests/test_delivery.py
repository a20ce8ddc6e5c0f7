"""Callback delivery against a real receiver on loopback: signatures, retries, dead letters, replay, SSRF rules.

Every test that sends talks to ``connectors.delivery.receiver.CallbackReceiver`` (uvicorn in a
thread on a free 127.0.0.x port), which verifies each signature with the ``standardwebhooks``
library. Names that must resolve to 10.x or 169.254.x use ``StaticResolver`` (the ``curl
--resolve`` of this code base); ``localhost`` goes through the system resolver. Backoff is a
few milliseconds so the whole file runs in seconds.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import json
import random
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from standardwebhooks import Webhook

from connectors.delivery import (
    CachingResolver,
    StaticResolver,
    WebhookSender,
    deliver,
    new_secret,
    replay,
    sign_headers,
)
from connectors.delivery.receiver import CallbackReceiver, Reply
from edi.delivery import (
    Attempt,
    AttemptError,
    AttemptOutcome,
    CallbackConfig,
    Delivery,
    DeliveryLimits,
    DeliveryRefused,
    DeliveryResult,
    DeliveryRetryPolicy,
    DeliveryState,
    RefusalReason,
    check_addresses,
    check_callback_url,
    classify_status,
    host_matches,
    is_public_address,
    parse_retry_after,
    plan_delivery,
    webhook_id_for,
)

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
FAST = DeliveryRetryPolicy(max_attempts=3, initial_delay=0.005, max_delay=0.02)
LOOPBACK = ("127.0.0.0/8", "::1/128")
BODY = {"controlNumber": "000000001", "status": "accepted", "subscriber": {"memberId": "SYNTH0001"}}


def loopback_config(url: str | None = None, secret: str | None = SECRET, **overrides: object) -> CallbackConfig:
    settings: dict[str, object] = {
        "url": url, "secret": secret, "http_hosts": ("127.0.0.1", "127.0.0.2", "localhost", "*.test"),
        "allowed_networks": LOOPBACK,
    }
    settings.update(overrides)
    return CallbackConfig("submitter-1", **settings)  # type: ignore[arg-type]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@pytest.fixture
def receiver() -> Iterator[CallbackReceiver]:
    with CallbackReceiver(SECRET) as r:
        yield r


def manual_signature(secret: str, webhook_id: str, timestamp: str, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


# ------------------------------------------------------------------ signing


def test_signature_matches_the_spec_vector_and_a_manual_hmac() -> None:
    """The Standard Webhooks reference vector, through our header builder and by hand."""
    body = b'{"test": 2432232314}'
    headers = sign_headers(SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", body, 1614265330)
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert headers == {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": expected,
        "content-type": "application/json",
    }
    assert manual_signature(SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", body) == expected


def test_raw_byte_secrets_sign_like_their_whsec_form() -> None:
    raw = base64.b64decode(SECRET.removeprefix("whsec_"))
    assert sign_headers(raw, "msg_1", b"{}", 1_700_000_000) == sign_headers(SECRET, "msg_1", b"{}", 1_700_000_000)


@pytest.mark.parametrize("form", ["whsec", "bare", "bytes"])
def test_each_of_several_secrets_signs_as_the_library_does_and_verifies_with_no_other(form: str) -> None:
    """The hand-rolled HMAC against ``standardwebhooks`` itself, for secrets in every accepted form,
    signed in turn and again (so the decoded-key cache is warm and must not hand out a stale key)."""
    from standardwebhooks.webhooks import WebhookVerificationError

    keys = [new_secret() for _ in range(3)]
    body = json.dumps(BODY).encode()
    now = int(time.time())
    for rounds in range(2):
        for n, secret in enumerate(keys):
            raw = base64.b64decode(secret.removeprefix("whsec_"))
            given = {"whsec": secret, "bare": secret.removeprefix("whsec_"), "bytes": raw}[form]
            webhook_id = f"msg_rot{rounds}{n}"
            headers = sign_headers(given, webhook_id, body, now)
            stamp = dt.datetime.fromtimestamp(now, dt.UTC)
            assert headers["webhook-signature"] == Webhook(secret).sign(webhook_id, stamp, body.decode())
            assert Webhook(secret).verify(body, headers) == BODY
            for other in keys[:n] + keys[n + 1:]:
                with pytest.raises(WebhookVerificationError):
                    Webhook(other).verify(body, headers)


def test_one_sender_signs_with_the_rotated_secret_at_once() -> None:
    """A long-lived sender (as the delivery worker keeps) follows a rotation from the next POST on:
    the new receiver verifies it with the library, the old secret's receiver no longer would."""
    rotated = new_secret()
    with CallbackReceiver(SECRET) as old, CallbackReceiver(rotated) as new:

        async def run() -> list[Attempt]:
            async with WebhookSender(retry=FAST) as sender:
                return [
                    await sender.send_once(Delivery("msg_r1", "submitter-1", b"{}"), loopback_config(old.url)),
                    await sender.send_once(Delivery("msg_r2", "submitter-1", b"{}"),
                                           loopback_config(new.url, secret=rotated)),
                    await sender.send_once(Delivery("msg_r3", "submitter-1", b"{}"),
                                           loopback_config(old.url, secret=rotated)),
                ]

        first, second, third = asyncio.run(run())
    assert (first.status, second.status, third.status) == (200, 200, 401)
    assert [r.verified for r in old.requests] == [True, False] and [r.verified for r in new.requests] == [True]


def test_delivery_verifies_at_the_receiver_with_the_library_and_by_hand(receiver: CallbackReceiver) -> None:
    config = loopback_config(receiver.url)
    delivery = plan_delivery(config, BODY, webhook_id=webhook_id_for("tx-1", "271"))
    before = int(time.time())
    result = deliver(delivery, config, retry=FAST)

    assert result.state is DeliveryState.DELIVERED and len(result.attempts) == 1
    (got,) = receiver.requests
    assert got.verified and got.status == 200 and got.json() == BODY
    assert got.body == delivery.body
    assert got.headers["content-type"] == "application/json"
    assert got.webhook_id == delivery.webhook_id
    assert before <= int(got.timestamp or 0) <= int(time.time())
    assert Webhook(SECRET).verify(got.body, dict(got.headers)) == BODY
    assert got.headers["webhook-signature"] == manual_signature(SECRET, got.webhook_id or "", got.timestamp or "",
                                                                got.body)


@pytest.fixture(scope="module")
def shared_receiver() -> Iterator[CallbackReceiver]:
    with CallbackReceiver(SECRET) as r:
        yield r


def _tamper(kind: str, headers: dict[str, str], body: bytes) -> tuple[dict[str, str], bytes]:
    headers = dict(headers)
    if kind == "body":
        body = body.replace(b"accepted", b"rejected")
    elif kind == "timestamp":
        headers["webhook-timestamp"] = str(int(headers["webhook-timestamp"]) - 1)
    elif kind == "signature":
        mac = bytearray(base64.b64decode(headers["webhook-signature"][3:]))
        mac[0] ^= 1
        headers["webhook-signature"] = "v1," + base64.b64encode(bytes(mac)).decode()
    elif kind == "id":
        headers["webhook-id"] = "msg_other"
    elif kind == "missing-signature":
        del headers["webhook-signature"]
    elif kind == "malformed-signature":
        headers["webhook-signature"] = "garbage"
    elif kind == "other-secret":
        headers = sign_headers(new_secret(), headers["webhook-id"], body, int(headers["webhook-timestamp"]))
    elif kind == "too-old":
        headers = sign_headers(SECRET, headers["webhook-id"], body, int(time.time()) - 600)
    return headers, body


@pytest.mark.parametrize("kind", ["body", "timestamp", "signature", "id", "missing-signature",
                                  "malformed-signature", "other-secret", "too-old"])
def test_receiver_rejects_tampering(shared_receiver: CallbackReceiver, kind: str) -> None:
    body = json.dumps(BODY).encode()
    good = sign_headers(SECRET, "msg_tamper_" + kind, body, int(time.time()))
    headers, sent = _tamper(kind, good, body)
    with httpx.Client(trust_env=False) as client:
        assert client.post(shared_receiver.url, content=sent, headers=headers).status_code == 401
        assert client.post(shared_receiver.url, content=body, headers=good).status_code == 200
    rejected = [r for r in shared_receiver.rejected if r.webhook_id == headers.get("webhook-id")]
    assert rejected and rejected[-1].status == 401


# ------------------------------------------------------------------ retries, dead letters, replay


def test_two_500s_then_200_delivers_on_the_third_attempt_with_one_webhook_id(receiver: CallbackReceiver) -> None:
    receiver.reply(500, 500, 200)
    config = loopback_config(receiver.url)
    delivery = plan_delivery(config, BODY, webhook_id=webhook_id_for("tx-2", "999"))
    seen: list[Attempt] = []
    dead: list[DeliveryResult] = []
    result = deliver(delivery, config, retry=FAST, on_attempt=seen.append, dead_letter=dead.append)

    assert result.state is DeliveryState.DELIVERED and not dead
    assert [a.status for a in result.attempts] == [500, 500, 200]
    assert [a.outcome for a in result.attempts] == [AttemptOutcome.RETRY, AttemptOutcome.RETRY,
                                                    AttemptOutcome.DELIVERED]
    assert list(result.attempts) == seen
    assert [r.status for r in receiver.requests] == [500, 500, 200]
    assert {r.webhook_id for r in receiver.requests} == {delivery.webhook_id}
    assert all(r.verified for r in receiver.requests)


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_other_4xx_fail_without_retry(receiver: CallbackReceiver, status: int) -> None:
    receiver.reply(status, 200)
    config = loopback_config(receiver.url)
    dead: list[DeliveryResult] = []
    result = deliver(plan_delivery(config, BODY, webhook_id="msg_4xx"), config, retry=FAST, dead_letter=dead.append)
    assert result.state is DeliveryState.FAILED
    assert [(a.status, a.outcome, a.error) for a in result.attempts] == [
        (status, AttemptOutcome.FAILED, AttemptError.STATUS)]
    assert len(receiver.requests) == 1
    assert dead == [result]


def test_408_and_429_are_retried_and_retry_after_is_honoured(receiver: CallbackReceiver) -> None:
    receiver.reply(408, Reply(429, headers={"retry-after": "1"}), 200)
    config = loopback_config(receiver.url)
    result = deliver(plan_delivery(config, BODY, webhook_id="msg_429"), config, retry=FAST)
    assert result.state is DeliveryState.DELIVERED
    assert [a.status for a in result.attempts] == [408, 429, 200]
    assert result.attempts[1].retry_after == 1.0
    first, second, third = receiver.requests
    assert second.received_at - first.received_at < 0.5
    assert third.received_at - second.received_at >= 0.9


def test_receiver_down_is_retried_then_dead_lettered_and_replay_later_succeeds() -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/callback"
    config = loopback_config(url)
    delivery = plan_delivery(config, BODY, webhook_id=webhook_id_for("tx-3", "277CA"))
    dead: list[DeliveryResult] = []
    result = deliver(delivery, config, retry=FAST, dead_letter=dead.append)

    assert result.state is DeliveryState.DEAD_LETTERED and dead == [result]
    assert [(a.number, a.outcome, a.error) for a in result.attempts] == [
        (n, AttemptOutcome.RETRY, AttemptError.CONNECT) for n in (1, 2, 3)]

    with CallbackReceiver(SECRET, port=port) as receiver:
        replayed = replay(result, config, retry=FAST)
        assert replayed.state is DeliveryState.DELIVERED
        assert replayed.webhook_id == result.webhook_id == delivery.webhook_id
        (got,) = receiver.requests
        assert got.verified and got.webhook_id == delivery.webhook_id and got.json() == BODY


def test_replay_uses_the_current_configuration_and_the_receiver_sees_a_duplicate() -> None:
    """A moved receiver and a rotated secret: the replay follows the config; the id stays the same."""
    rotated = new_secret()
    with CallbackReceiver(SECRET, replies=[503, 503, 503]) as old, CallbackReceiver(rotated) as new:
        delivery = plan_delivery(loopback_config(old.url), BODY, webhook_id="msg_rotate")
        first = deliver(delivery, loopback_config(old.url), retry=FAST)
        assert first.state is DeliveryState.DEAD_LETTERED and len(old.requests) == 3
        again = loopback_config(new.url, secret=rotated)
        assert replay(first, again, retry=FAST).delivered
        assert replay(first, again, retry=FAST).delivered
        assert [(r.webhook_id, r.verified, r.duplicate) for r in new.requests] == [
            ("msg_rotate", True, False), ("msg_rotate", True, True)]
        assert len(new.deliveries) == 1


def test_async_sender_with_async_dead_letter_sink() -> None:
    sunk: list[DeliveryResult] = []

    async def sink(result: DeliveryResult) -> None:
        await asyncio.sleep(0)
        sunk.append(result)

    async def run(config: CallbackConfig) -> tuple[DeliveryResult, Attempt]:
        async with WebhookSender(retry=DeliveryRetryPolicy(max_attempts=2, initial_delay=0.001)) as sender:
            delivery = plan_delivery(config, BODY, webhook_id="msg_async")
            return await sender.deliver(delivery, config, dead_letter=sink), await sender.send_once(delivery, config)

    with CallbackReceiver(SECRET, replies=[502, 502, 201]) as receiver:
        result, once = asyncio.run(run(loopback_config(receiver.url)))
    assert result.state is DeliveryState.DEAD_LETTERED and sunk == [result]
    assert once.outcome is AttemptOutcome.DELIVERED and once.status == 201


# ------------------------------------------------------------------ timeouts, size, redirects


def test_read_timeout_is_retried_then_dead_lettered() -> None:
    with CallbackReceiver(SECRET, replies=[Reply(delay=1.0)] * 2) as receiver:
        config = loopback_config(receiver.url)
        limits = DeliveryLimits(read_timeout=0.2, total_timeout=5)
        result = deliver(plan_delivery(config, BODY, webhook_id="msg_slow"), config,
                         retry=DeliveryRetryPolicy(max_attempts=2, initial_delay=0.001), limits=limits)
    assert result.state is DeliveryState.DEAD_LETTERED
    assert [a.error for a in result.attempts] == [AttemptError.TIMEOUT, AttemptError.TIMEOUT]
    assert all(a.elapsed < 0.9 for a in result.attempts)


def test_total_timeout_bounds_an_attempt_whatever_the_read_timeout() -> None:
    with CallbackReceiver(SECRET, replies=[Reply(delay=1.2)]) as receiver:
        config = loopback_config(receiver.url)
        limits = DeliveryLimits(read_timeout=10, total_timeout=0.3)
        result = deliver(plan_delivery(config, BODY, webhook_id="msg_total"), config,
                         retry=DeliveryRetryPolicy(max_attempts=1), limits=limits)
    (attempt,) = result.attempts
    assert attempt.error is AttemptError.TIMEOUT and attempt.elapsed < 1.5
    assert result.state is DeliveryState.DEAD_LETTERED


def test_response_size_is_limited(receiver: CallbackReceiver) -> None:
    receiver.reply(Reply(200, body=b"x" * 1_000_000), Reply(200, body=b"ok"))
    config = loopback_config(receiver.url)
    limits = DeliveryLimits(max_response_bytes=1024)
    big = deliver(plan_delivery(config, BODY, webhook_id="msg_big"), config, retry=FAST, limits=limits)
    small = deliver(plan_delivery(config, BODY, webhook_id="msg_small"), config, retry=FAST, limits=limits)
    assert big.delivered and big.attempts[0].truncated and big.attempts[0].response_bytes <= 1024
    assert small.delivered and not small.attempts[0].truncated and small.attempts[0].response_bytes == 2


def test_307_to_an_allowed_host_is_followed_with_the_same_signed_request() -> None:
    with CallbackReceiver(SECRET) as first, CallbackReceiver(SECRET, host="127.0.0.2") as second:
        first.reply(Reply(307, headers={"location": second.url}))
        config = loopback_config(first.url, allowed_hosts=("127.0.0.2",))
        result = deliver(plan_delivery(config, BODY, webhook_id="msg_moved"), config, retry=FAST)
        assert result.delivered and result.attempts[0].redirects == 1
        assert result.attempts[0].address == "127.0.0.2"
        (got,) = second.requests
        assert got.verified and got.webhook_id == "msg_moved"


def test_redirect_to_a_host_not_allowed_is_not_followed() -> None:
    with CallbackReceiver(SECRET) as first, CallbackReceiver(SECRET, host="127.0.0.2") as second:
        first.reply(Reply(308, headers={"location": second.url}), Reply(302, headers={"location": "/callback"}))
        config = loopback_config(first.url)
        refused = deliver(plan_delivery(config, BODY, webhook_id="msg_away"), config, retry=FAST)
        assert refused.state is DeliveryState.FAILED and len(refused.attempts) == 1
        assert refused.attempts[0].error is AttemptError.REDIRECT
        assert refused.attempts[0].refusal is RefusalReason.HOST_NOT_ALLOWED
        found = deliver(plan_delivery(config, BODY, webhook_id="msg_found"), config, retry=FAST)
        assert found.state is DeliveryState.FAILED and found.attempts[0].status == 302
        assert second.requests == [] and len(first.requests) == 2


def test_cookies_a_receiver_sets_are_never_sent_back(receiver: CallbackReceiver) -> None:
    """A receiver's cookie would otherwise ride along on every later callback of every claim."""
    receiver.reply(Reply(200, headers={"set-cookie": "session=abc; Path=/"}), 200, 200)
    config = loopback_config(receiver.url)

    async def run() -> list[Attempt]:
        async with WebhookSender(retry=FAST) as sender:
            return [await sender.send_once(plan_delivery(config, BODY, webhook_id=f"msg_cookie{n}"), config)
                    for n in range(3)]

    attempts = asyncio.run(run())
    assert [a.outcome for a in attempts] == [AttemptOutcome.DELIVERED] * 3
    assert [r.webhook_id for r in receiver.requests] == ["msg_cookie0", "msg_cookie1", "msg_cookie2"]
    assert all("cookie" not in r.headers for r in receiver.requests)
    assert all(r.verified and r.headers["user-agent"].startswith("edi-engine-webhooks/") for r in receiver.requests)


# ------------------------------------------------------------------ allow-list and SSRF


def test_request_named_host_not_on_the_list_is_refused_before_any_connection() -> None:
    with CallbackReceiver(SECRET, host="127.0.0.2") as receiver:
        config = loopback_config(allow_request_callback=True, allowed_hosts=("127.0.0.1", "*.example.com"))
        with pytest.raises(DeliveryRefused) as refused:
            plan_delivery(config, BODY, webhook_id="msg_x", callback_url=receiver.url)
        assert refused.value.reason is RefusalReason.HOST_NOT_ALLOWED
        assert "/callback" not in str(refused.value)
        dead: list[DeliveryResult] = []
        delivery = Delivery("msg_x", "submitter-1", b"{}", callback_url=receiver.url)
        result = deliver(delivery, config, retry=FAST, dead_letter=dead.append)
        assert result.state is DeliveryState.REFUSED and result.attempts == () and dead == [result]
        assert result.refusal is RefusalReason.HOST_NOT_ALLOWED
        assert receiver.requests == []


def test_request_named_callback_needs_the_submitters_permission(receiver: CallbackReceiver) -> None:
    strict = loopback_config(receiver.url, allowed_hosts=("127.0.0.1",))
    with pytest.raises(DeliveryRefused) as refused:
        plan_delivery(strict, BODY, webhook_id="msg_y", callback_url=receiver.url)
    assert refused.value.reason is RefusalReason.REQUEST_CALLBACK_NOT_PERMITTED
    with pytest.raises(DeliveryRefused):
        plan_delivery(strict, BODY, webhook_id="msg_y", secret=new_secret())
    permissive = loopback_config(None, secret=None, allow_request_callback=True, allowed_hosts=("127.0.0.1",))
    with pytest.raises(DeliveryRefused) as refused:
        plan_delivery(permissive, BODY, webhook_id="msg_y", callback_url=receiver.url)
    assert refused.value.reason is RefusalReason.NO_SECRET
    own = new_secret()
    delivery = plan_delivery(permissive, BODY, webhook_id="msg_y", callback_url=receiver.url, secret=own)
    receiver.webhook = Webhook(own)
    assert deliver(delivery, permissive, retry=FAST).delivered
    assert receiver.deliveries[0].webhook_id == "msg_y"


@pytest.mark.parametrize(("name", "address"), [("localhost", None), ("hooks.loop.test", "127.0.0.1"),
                                               ("hooks.corp.test", "10.1.2.3"),
                                               ("metadata.test", "169.254.169.254"),
                                               ("mapped.test", "::ffff:127.0.0.1"),
                                               ("decimal-ip", None)])
def test_names_resolving_to_internal_addresses_are_refused(receiver: CallbackReceiver, name: str,
                                                           address: str | None) -> None:
    host = "2130706433" if name == "decimal-ip" else name
    url = f"http://{host}:{receiver.port}/callback"
    config = loopback_config(allow_request_callback=True, allowed_hosts=(host,), http_hosts=(host,),
                             allowed_networks=())
    resolver = StaticResolver({name: [address]}) if address else None
    result = deliver(Delivery("msg_int", "submitter-1", b"{}", callback_url=url), config, retry=FAST,
                     resolver=resolver)
    assert result.state is DeliveryState.REFUSED
    (attempt,) = result.attempts
    assert attempt.refusal is RefusalReason.ADDRESS_NOT_ALLOWED and attempt.address is None
    assert receiver.requests == []


@pytest.mark.parametrize("url", ["http://127.0.0.1/cb", "http://10.0.0.1/cb", "http://169.254.169.254/latest",
                                 "http://[::1]/cb", "http://0.0.0.0/cb", "http://224.0.0.1/cb",
                                 "http://100.64.0.1/cb", "http://[fe80::1]/cb"])
def test_ip_literals_for_internal_addresses_are_refused(url: str) -> None:
    host = urlsplit(url).hostname or ""
    config = loopback_config(allow_request_callback=True, allowed_hosts=(host,), http_hosts=(host,),
                             allowed_networks=())
    result = deliver(Delivery("msg_lit", "submitter-1", b"{}", callback_url=url), config, retry=FAST)
    assert result.state is DeliveryState.REFUSED and result.attempts[0].refusal is RefusalReason.ADDRESS_NOT_ALLOWED


def test_explicitly_allowed_networks_are_reached_at_the_checked_address(receiver: CallbackReceiver) -> None:
    """The name is known only to the static resolver: reaching the receiver proves the connection used
    the checked address rather than resolving again (which is what defeats a DNS rebinding)."""
    url = f"http://hooks.loop.test:{receiver.port}/callback"
    config = loopback_config(url, allowed_networks=("127.0.0.1/32",))
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("hooks.loop.test", receiver.port)
    result = deliver(plan_delivery(config, BODY, webhook_id="msg_pin"), config, retry=FAST,
                     resolver=StaticResolver({"hooks.loop.test": ["127.0.0.1"]}))
    assert result.delivered and result.attempts[0].address == "127.0.0.1"
    assert receiver.requests[0].host_header == f"hooks.loop.test:{receiver.port}"


class SwitchingResolver:
    """A name whose answer the test changes between attempts: a DNS rebinding, on loopback only."""

    def __init__(self, *addresses: str) -> None:
        self.answer = list(addresses)
        self.asked = 0

    async def resolve(self, host: str, port: int) -> list:
        self.asked += 1
        return [ip(a) for a in self.answer]


def test_a_rebinding_is_refused_although_the_earlier_answer_was_allowed(receiver: CallbackReceiver) -> None:
    """The address verdict is remembered per resolver answer: the same sender and configuration, a
    name rebound from an allowed address to an internal one, and the next attempt is refused with
    nothing sent; rebound back, it is delivered again."""
    url = f"http://hooks.rebind.test:{receiver.port}/callback"
    config = loopback_config(url, allowed_networks=("127.0.0.1/32",))
    resolver = SwitchingResolver("127.0.0.1")

    async def run() -> list[Attempt]:
        attempts = []
        async with WebhookSender(retry=FAST, resolver=resolver) as sender:
            for n, answer in enumerate([["127.0.0.1"], ["127.0.0.1"], ["127.0.0.2"], ["127.0.0.1", "127.0.0.2"],
                                        ["127.0.0.1"]]):
                resolver.answer = answer
                attempts.append(await sender.send_once(Delivery(f"msg_rb{n}", "submitter-1", b"{}"), config))
        return attempts

    attempts = asyncio.run(run())
    assert [a.outcome for a in attempts] == [AttemptOutcome.DELIVERED, AttemptOutcome.DELIVERED,
                                             AttemptOutcome.REFUSED, AttemptOutcome.REFUSED,
                                             AttemptOutcome.DELIVERED]
    assert attempts[2].refusal is attempts[3].refusal is RefusalReason.ADDRESS_NOT_ALLOWED
    assert [r.webhook_id for r in receiver.requests] == ["msg_rb0", "msg_rb1", "msg_rb4"]
    assert resolver.asked == 5  # asked on every attempt: the sender itself keeps no answer
    assert check_addresses("hooks.rebind.test", [ip("127.0.0.1")], config) == (ip("127.0.0.1"),)
    with pytest.raises(DeliveryRefused):
        check_addresses("hooks.rebind.test", [ip("127.0.0.2")], config)


def test_the_caching_resolver_keeps_answers_for_its_ttl_and_asks_again_after() -> None:
    now = [100.0]
    inner = SwitchingResolver("127.0.0.1")
    cache = CachingResolver(inner, ttl=10, max_entries=2, clock=lambda: now[0])

    def resolve(host: str = "a.test", port: int = 443) -> list:
        return asyncio.run(cache.resolve(host, port))

    assert resolve() == [ip("127.0.0.1")] and inner.asked == 1
    inner.answer = ["127.0.0.2"]
    now[0] = 109.9
    assert resolve() == [ip("127.0.0.1")] and inner.asked == 1  # kept
    assert resolve(port=80) == [ip("127.0.0.2")] and inner.asked == 2  # another port is another entry
    now[0] = 110.0
    assert resolve() == [ip("127.0.0.2")] and inner.asked == 3  # expired: asked again, the new answer
    resolve("b.test")  # a third entry evicts the least recently refreshed (a.test:80)
    assert resolve(port=80) and inner.asked == 5

    class Failing:
        asked = 0

        async def resolve(self, host: str, port: int) -> list:
            self.asked += 1
            raise socket.gaierror(socket.EAI_NONAME, "no such name")

    failing = Failing()
    cache = CachingResolver(failing, clock=lambda: now[0])
    for _ in range(2):
        with pytest.raises(socket.gaierror):
            asyncio.run(cache.resolve("gone.test", 443))
    assert failing.asked == 2  # failures are not kept
    assert isinstance(WebhookSender()._resolver, CachingResolver)  # the sender's default


def test_a_rebinding_behind_the_caching_resolver_is_refused_once_the_answer_expires(
        receiver: CallbackReceiver) -> None:
    """While the allowed answer is kept the sender goes on using (and checking) it; the rebound
    answer, once the cache asks again, is checked and refused."""
    now = [0.0]
    url = f"http://hooks.rebind.test:{receiver.port}/callback"
    config = loopback_config(url, allowed_networks=("127.0.0.1/32",))
    inner = SwitchingResolver("127.0.0.1")

    async def run() -> list[Attempt]:
        attempts = []
        async with WebhookSender(retry=FAST, resolver=CachingResolver(inner, ttl=10, clock=lambda: now[0])) as sender:
            for n, (at, answer) in enumerate([(0, "127.0.0.1"), (5, "127.0.0.2"), (10, "127.0.0.2")]):
                now[0], inner.answer = at, [answer]
                attempts.append(await sender.send_once(Delivery(f"msg_cr{n}", "submitter-1", b"{}"), config))
        return attempts

    attempts = asyncio.run(run())
    assert [(a.outcome, a.address) for a in attempts] == [
        (AttemptOutcome.DELIVERED, "127.0.0.1"), (AttemptOutcome.DELIVERED, "127.0.0.1"),
        (AttemptOutcome.REFUSED, None)]
    assert attempts[2].refusal is RefusalReason.ADDRESS_NOT_ALLOWED and inner.asked == 2
    assert [r.webhook_id for r in receiver.requests] == ["msg_cr0", "msg_cr1"]


def test_localhost_is_reached_only_when_loopback_is_allowed(receiver: CallbackReceiver) -> None:
    url = f"http://localhost:{receiver.port}/callback"
    assert not deliver(plan_delivery(loopback_config(url, allowed_networks=()), BODY, webhook_id="msg_l1"),
                       loopback_config(url, allowed_networks=()), retry=FAST).delivered
    assert deliver(plan_delivery(loopback_config(url), BODY, webhook_id="msg_l2"),
                   loopback_config(url), retry=FAST).delivered
    assert [r.webhook_id for r in receiver.requests] == ["msg_l2"]


def test_plain_http_only_to_hosts_allowed_for_it(receiver: CallbackReceiver) -> None:
    config = loopback_config(allow_request_callback=True, allowed_hosts=("127.0.0.1",), http_hosts=("localhost",))
    with pytest.raises(DeliveryRefused) as refused:
        plan_delivery(config, BODY, webhook_id="msg_h", callback_url=receiver.url)
    assert refused.value.reason is RefusalReason.HTTP_NOT_ALLOWED
    result = deliver(Delivery("msg_h", "submitter-1", b"{}", callback_url=receiver.url), config, retry=FAST)
    assert result.state is DeliveryState.REFUSED and result.attempts == () and receiver.requests == []
    with pytest.raises(ValueError, match="http_not_allowed"):
        CallbackConfig("submitter-1", url="http://hooks.example.com/cb", secret=SECRET)


def test_mixed_public_and_internal_answers_are_refused() -> None:
    config = loopback_config()
    public = [ip("93.184.216.34"), ip("2606:4700::1")]
    assert check_addresses("hooks.example.com", public, config) == tuple(public)
    with pytest.raises(DeliveryRefused):
        check_addresses("hooks.example.com", [ip("93.184.216.34"), ip("10.0.0.1")], config)
    with pytest.raises(DeliveryRefused):
        check_addresses("hooks.example.com", [], config)


def ip(text: str):  # noqa: ANN201 - a one-line helper
    import ipaddress

    return ipaddress.ip_address(text)


@pytest.mark.parametrize(("address", "public"), [
    ("93.184.216.34", True), ("2606:4700::1", True), ("127.0.0.1", False), ("10.9.8.7", False),
    ("172.16.0.1", False), ("192.168.1.1", False), ("169.254.169.254", False), ("100.64.0.1", False),
    ("0.0.0.0", False), ("224.0.1.1", False), ("240.0.0.1", False), ("255.255.255.255", False), ("::1", False),
    ("fe80::1", False), ("fc00::1", False), ("ff0e::1", False), ("::ffff:10.0.0.1", False), ("::", False),
])
def test_public_address_rule(address: str, public: bool) -> None:
    assert is_public_address(ip(address)) is public


def test_host_patterns() -> None:
    patterns = ("hooks.example.com", "*.partner.org", "127.0.0.1", "::1")
    assert host_matches("HOOKS.example.com.", patterns)
    assert host_matches("a.partner.org", patterns) and host_matches("a.b.partner.org", patterns)
    assert not host_matches("partner.org", patterns)
    assert not host_matches("evilpartner.org", patterns)
    assert not host_matches("hooks.example.com.evil.net", patterns)
    assert host_matches("127.0.0.1", patterns) and host_matches("0:0:0:0:0:0:0:1", patterns)
    assert not host_matches("127.0.0.1", ("*.0.0.1",))
    with pytest.raises(ValueError):
        CallbackConfig("s", allowed_hosts=("hooks.*.com",))
    with pytest.raises(ValueError):
        CallbackConfig("s", allowed_networks=("not-a-network",))


@pytest.mark.parametrize(("url", "reason"), [
    ("https://hooks.example.com@evil.example.net/cb", RefusalReason.INVALID_URL),
    ("https://user:pw@hooks.example.com/cb", RefusalReason.INVALID_URL),
    ("ftp://hooks.example.com/cb", RefusalReason.SCHEME_NOT_ALLOWED),
    ("hooks.example.com/cb", RefusalReason.SCHEME_NOT_ALLOWED),
    ("https://hooks.example.com:99999/cb", RefusalReason.INVALID_URL),
    ("https://hooks.example.com/c b", RefusalReason.INVALID_URL),
    ("https://hooks.example.com\\@evil.net/", RefusalReason.INVALID_URL),
    ("https://evil.net/cb", RefusalReason.HOST_NOT_ALLOWED),
    ("https://sub.hooks.example.com/cb", RefusalReason.HOST_NOT_ALLOWED),
])
def test_url_rules(url: str, reason: RefusalReason) -> None:
    config = CallbackConfig("s", allow_request_callback=True, allowed_hosts=("hooks.example.com",))
    with pytest.raises(DeliveryRefused) as refused:
        check_callback_url(url, config, requested=True)
    assert refused.value.reason is reason


def test_accepted_url_keeps_path_and_query_and_drops_the_fragment() -> None:
    config = CallbackConfig("s", allowed_hosts=("*.example.com",))
    target = check_callback_url("https://A.Hooks.Example.com:8443/cb/271?tenant=7#frag", config, requested=True)
    assert (target.scheme, target.host, target.port, target.path) == ("https", "a.hooks.example.com", 8443,
                                                                     "/cb/271?tenant=7")
    assert target.host_header == "a.hooks.example.com:8443" and target.source == "request"
    assert check_callback_url("https://a.example.com", config, requested=True).path == "/"


# ------------------------------------------------------------------ HTTPS with a pinned address


def _tls_files(tmp: Path, name: str) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for ``name``, as PEM files."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "edi test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
          .not_valid_after(now + dt.timedelta(hours=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_path, cert_path, key_path = tmp / "ca.pem", tmp / "cert.pem", tmp / "key.pem"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return ca_path, cert_path, key_path


@pytest.mark.parametrize(("cert_name", "delivered"), [("hooks.tls.test", True), ("other.tls.test", False)])
def test_https_to_a_pinned_address_verifies_the_certificate_for_the_name(
    tmp_path: Path, cert_name: str, delivered: bool
) -> None:
    ca, cert, key = _tls_files(tmp_path, cert_name)
    with CallbackReceiver(SECRET, certfile=cert, keyfile=key) as receiver:
        url = f"https://hooks.tls.test:{receiver.port}/callback"
        config = loopback_config(url, http_hosts=(), allowed_networks=("127.0.0.1/32",))
        result = deliver(plan_delivery(config, BODY, webhook_id="msg_tls"), config,
                         retry=DeliveryRetryPolicy(max_attempts=1), resolver=StaticResolver({"hooks.tls.test": ["127.0.0.1"]}),
                         ssl_context=ssl.create_default_context(cafile=str(ca)))
        assert result.delivered is delivered
        if delivered:
            assert receiver.requests[0].verified
        else:
            assert result.attempts[0].error is AttemptError.CONNECT and receiver.requests == []


# ------------------------------------------------------------------ pure rules


def test_webhook_ids_are_stable_and_distinct() -> None:
    assert webhook_id_for("tx-1", "999") == webhook_id_for("tx-1", "999")
    assert webhook_id_for("tx-1", "999") != webhook_id_for("tx-1", "277CA")
    assert webhook_id_for("tx-1", "999").startswith("msg_") and "tx-1" not in webhook_id_for("tx-1", "999")
    with pytest.raises(ValueError):
        webhook_id_for()


def test_backoff_grows_with_jitter_caps_and_honours_retry_after() -> None:
    policy = DeliveryRetryPolicy(initial_delay=1, multiplier=2, max_delay=10, jitter=0.5, max_retry_after=60)
    rng = random.Random(7)
    for attempt, full in [(1, 1), (2, 2), (3, 4), (4, 8), (5, 10), (50, 10)]:
        delays = [policy.delay(attempt, rng) for _ in range(200)]
        assert all(full / 2 <= d <= full for d in delays) and max(delays) - min(delays) > full / 10
    assert policy.delay(1, rng, retry_after=30) == 30
    assert policy.delay(1, rng, retry_after=7200) == 60
    assert 5 <= policy.delay(5, rng, retry_after=0) <= 10
    assert DeliveryRetryPolicy(multiplier=10, max_delay=5, jitter=0).delay(10_000, rng) == 5


def test_status_classes_and_retry_after_forms() -> None:
    assert [classify_status(s) for s in (200, 204, 408, 429, 500, 503, 599, 301, 400, 410)] == [
        AttemptOutcome.DELIVERED, AttemptOutcome.DELIVERED, AttemptOutcome.RETRY, AttemptOutcome.RETRY,
        AttemptOutcome.RETRY, AttemptOutcome.RETRY, AttemptOutcome.RETRY, AttemptOutcome.FAILED,
        AttemptOutcome.FAILED, AttemptOutcome.FAILED]
    now = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now) == 30
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now) == 0
    assert parse_retry_after("soon", now) is None and parse_retry_after(None, now) is None


def test_no_phi_or_secret_in_reprs() -> None:
    config = CallbackConfig("s", url="https://hooks.example.com/cb?token=abc", secret=SECRET)
    delivery = plan_delivery(config, BODY, webhook_id="msg_r")
    result = DeliveryResult(delivery, DeliveryState.DEAD_LETTERED, ())
    for text in (repr(config), repr(delivery), repr(result)):
        assert "SYNTH0001" not in text and SECRET not in text and "token=abc" not in text
    with pytest.raises(ValueError) as bad:
        CallbackConfig("s", url="https://hooks.example.com/cb", secret="whsec_not base64!")
    assert "not base64" not in str(bad.value)


def test_config_from_mapping() -> None:
    config = CallbackConfig.from_mapping("clinic-7", {
        "callback_url": "https://hooks.clinic7.example/edi", "secret": SECRET, "allow_request_callback": True,
        "allowed_hosts": ["*.clinic7.example"], "allowed_networks": ["10.20.0.0/16"],
    })
    assert config.host_permitted("hooks.clinic7.example") and config.host_permitted("b.clinic7.example")
    assert config.network_allowed(ip("10.20.3.4")) and not config.network_allowed(ip("10.21.0.1"))
    with pytest.raises(ValueError, match="unknown"):
        CallbackConfig.from_mapping("clinic-7", {"callbackurl": "https://x.example"})
