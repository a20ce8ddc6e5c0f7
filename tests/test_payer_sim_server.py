"""The payer simulator's CORE endpoint over real HTTP: the engine's 270s through the engine's client.

The 270s are built by `request_to_270` from the partner's envelope and sent by `SyncCoreClient` to
`sim_app` under uvicorn; the 271s are read back with `x12_271_to_responses`. The last test runs
``python -m edi payer-sim`` as a separate process, as `edi run` and the compose file will, and reads
its ``core: URL`` line (the SFTP mailbox listener is tested in ``test_payer_sim_mailbox``).
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.core.client import CircuitBreakers, CoreErrorResponse, RetryPolicy, SyncCoreClient
from connectors.core.envelope import PayloadType
from connectors.payer_sim.roster import load_roster
from connectors.payer_sim.rules import load_rules
from connectors.payer_sim.server import ControlCounter, sim_app
from edi.mappers.eligibility import request_to_270, x12_271_to_responses
from edi.models.eligibility import EligibilityRequest, EligibilityResponse
from edi.partners import ControlNumbers, TradingPartner, parse_partners
from tests.servers.children import first_line, stop
from tests.servers.http import serve

ROOT = Path(__file__).parent.parent
ROSTER = ROOT / "tests" / "fixtures" / "payer_sim" / "roster.yaml"
RULES = ROOT / "tests" / "fixtures" / "payer_sim" / "rules.yaml"
FAST_RETRY = RetryPolicy(base=0.05, cap=0.2, max_attempts=3)


def partner_at(url: str, core_receiver: str = "SIMPLAN01") -> TradingPartner:
    config = parse_partners(
        f"""
partners:
  sim:
    name: Simulated Health Plan
    payer_ids: ["SIMPLAN01"]
    interchange: {{sender_id: ENGINE01, receiver_id: SIMPLAN01, usage: T}}
    transactions: ["270"]
    transport:
      core_soap: {{url: "{url}", sender_id: ENGINE01, receiver_id: {core_receiver}, timeout_seconds: 10}}
"""
    )
    return config.partner("sim")


def eligibility_request(member_id: str, first: str, last: str, dob: str, control: str) -> EligibilityRequest:
    return EligibilityRequest.model_validate(
        {
            "controlNumber": control,
            "tradingPartnerServiceId": "SIMPLAN01",
            "provider": {"organizationName": "HAPPY CLINIC", "npi": "1234567893"},
            "subscriber": {"memberId": member_id, "firstName": first, "lastName": last, "dateOfBirth": dob},
            "encounter": {"serviceTypeCodes": ["30"], "dateOfService": "20240501"},
        }
    )


def x12_270(partner: TradingPartner, request: EligibilityRequest, number: int = 101) -> str:
    return request_to_270(request, partner.envelope(ControlNumbers(number, number, 1)))


def client(partner: TradingPartner) -> SyncCoreClient:
    return SyncCoreClient(partner, retry=FAST_RETRY, breakers=CircuitBreakers(), environ={}, trust_env=False)


def ask(
    c: SyncCoreClient, partner: TradingPartner, request: EligibilityRequest, number: int = 101
) -> tuple[str, EligibilityResponse]:
    result = c.send_270(x12_270(partner, request, number))
    assert result.payload_type == PayloadType.X12_271_RESPONSE
    (response,) = x12_271_to_responses(result.payload.encode())
    assert response.control_number == request.control_number  # matched back by TRN
    return result.payload, response


def segments(text: str) -> list[str]:
    return [s.strip() for s in text.split("~") if s.strip()]


@pytest.fixture(scope="module")
def sim_url() -> Iterator[str]:
    app = sim_app(load_roster(ROSTER), load_rules(RULES), receiver_id="SIMPLAN01", sender_id="SIMPLAN01")
    with serve(app) as base:
        yield base + "/core"


def test_active_member_gets_eb1(sim_url: str) -> None:
    partner = partner_at(sim_url)
    with client(partner) as c:
        text, response = ask(
            c, partner, eligibility_request("SIM00001", "JOHN", "DOE", "19800115", "111111111")
        )
    segs = segments(text)
    assert any(s.startswith("EB*1*") for s in segs)
    assert response.errors is None
    isa = segs[0].split("*")
    assert isa[6].strip() == "SIMPLAN01" and isa[8].strip() == "ENGINE01"  # answered from the payer


def test_inactive_member_gets_eb6(sim_url: str) -> None:
    partner = partner_at(sim_url)
    with client(partner) as c:
        text, response = ask(
            c, partner, eligibility_request("SIM00003", "PAT", "POE", "19600101", "222222222")
        )
    segs = segments(text)
    assert any(s.startswith("EB*6") for s in segs)
    assert not any(s.startswith("EB*1*") for s in segs)
    assert response.errors is None


def test_unknown_member_gets_aaa_75(sim_url: str) -> None:
    partner = partner_at(sim_url)
    with client(partner) as c:
        text, response = ask(
            c, partner, eligibility_request("NOSUCH999", "NO", "BODY", "19900101", "333333333")
        )
    segs = segments(text)
    assert any(s == "AAA*Y**75*C" for s in segs)
    assert not any(s.startswith("EB*") for s in segs)
    assert response.errors and response.errors[0].code == "75"


def test_control_numbers_advance_and_wrong_receiver_is_refused() -> None:
    app = sim_app(
        load_roster(ROSTER),
        load_rules(RULES),
        receiver_id="SIMPLAN01",
        sender_id="SIMPLAN01",
        control_start=41,
    )
    request = eligibility_request("SIM00002", "MARY", "ROE", "19750630", "444444444")
    with serve(app) as base:
        partner = partner_at(base + "/core")
        with client(partner) as c:
            first, _ = ask(c, partner, request, 1)
            second, _ = ask(c, partner, request, 2)
        assert segments(first)[0].split("*")[13] == "000000041"
        assert segments(second)[0].split("*")[13] == "000000042"
        other = partner_at(base + "/core", core_receiver="SOMEONEELSE")
        with client(other) as c, pytest.raises(CoreErrorResponse) as refused:
            c.send_270(x12_270(other, request))
        assert refused.value.response.error_code == "ReceiverIDIllegal"


def test_counter_is_thread_safe_and_wraps() -> None:
    counter = ControlCounter(1)
    seen: list[int] = []
    lock = threading.Lock()

    def take() -> None:
        got = [counter.next() for _ in range(500)]
        with lock:
            seen.extend(got)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == list(range(1, 4001))
    high = ControlCounter(999_999_999)
    assert [high.next(), high.next()] == [999_999_999, 1]


def test_cli_serves_and_prints_its_url() -> None:
    command = [
        sys.executable,
        "-m",
        "edi",
        "payer-sim",
        "--roster",
        str(ROSTER),
        "--rules",
        str(RULES),
        "--port",
        "0",
    ]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = first_line(process, 30, "URL")
        assert line.startswith("core: http://127.0.0.1:") and line.endswith("/core"), line
        url = line.removeprefix("core: ")
        assert not url.startswith("http://127.0.0.1:0/")
        partner = partner_at(url)
        with client(partner) as c:
            text, response = ask(
                c, partner, eligibility_request("SIM00001", "JOHN", "DOE", "19800115", "555555555")
            )
        assert any(s.startswith("EB*1*") for s in segments(text))
    finally:
        stop(process)
    assert process.returncode in (0, -15), process.stderr.read() if process.stderr else ""



def test_answer_wait_is_the_delay_or_evenly_spread_around_it() -> None:
    import random

    from connectors.payer_sim.server import answer_wait

    assert answer_wait(1.0) == 1.0
    rng = random.Random(7)
    waits = [answer_wait(1.0, 0.5, rng) for _ in range(2000)]
    assert min(waits) >= 0.5 and max(waits) <= 1.5
    assert min(waits) < 0.6 and max(waits) > 1.4  # the whole range is used, not one value
    assert all(answer_wait(0.2, 0.5, rng) >= 0.0 for _ in range(200))  # never a negative wait
