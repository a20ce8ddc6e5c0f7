"""Tests for edi/partners.py: the partners file, its errors, envelopes and secret references."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from edi.mappers.eligibility import request_to_270
from edi.models.eligibility import EligibilityRequest
from edi.partners import (
    PARTNERS_FILE_ENV,
    ControlNumbers,
    MissingSecretError,
    PartnersConfigError,
    SecretRef,
    Transaction,
    TransportKind,
    load_partners,
    parse_partners,
)
from edi.x12.validator import validate

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLE = FIXTURES / "partners.yaml"
NOW = datetime(2024, 3, 5, 14, 7)

CORE_LINE = '      core_soap: {url: "https://core.example/rt", sender_id: ME, receiver_id: ACME}'
MINIMAL_270_PARTNER = """\
partners:
  acme:
    name: ACME
    payer_ids: ["ACME01"]
    interchange: {sender_id: ME, receiver_id: ACME}
    transactions: ["270"]
    transport:
      core_soap: {url: "https://core.example/rt", sender_id: ME, receiver_id: ACME}
"""


def with_core(extra: str) -> str:
    """The minimal partner with `extra` keys added to its core_soap settings."""
    assert CORE_LINE in MINIMAL_270_PARTNER
    return MINIMAL_270_PARTNER.replace(CORE_LINE, CORE_LINE[:-1] + ", " + extra + "}")


def eligibility_request() -> EligibilityRequest:
    return EligibilityRequest.model_validate(
        {
            "controlNumber": "000012345",
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


def issues_of(text: str) -> dict[str, str]:
    with pytest.raises(PartnersConfigError) as caught:
        parse_partners(text)
    return {issue.path: issue.message for issue in caught.value.issues}


# ============================================================================ the sample file


def test_sample_file_loads():
    config = load_partners(SAMPLE)
    assert set(config.partners) == {"acme", "bluepeak"}
    acme = config.partner("acme")
    assert acme.id == "acme" and acme.name == "ACME Health Plan"
    assert config.for_payer("841610001") is acme and config.for_payer("ACME01") is acme
    assert config.for_payer("BPM77").id == "bluepeak"
    assert acme.transactions == [
        Transaction.ELIGIBILITY_270,
        Transaction.PROFESSIONAL_837P,
        Transaction.INSTITUTIONAL_837I,
    ]
    core = acme.transport.core_soap
    assert core is not None
    assert str(core.url) == "https://core.acme-health.example/CORE/RealTime"
    assert (core.sender_id, core.receiver_id, core.timeout_seconds) == ("SUBMITTER01", "ACMEHEALTH", 20)
    assert core.username == SecretRef(env="ACME_CORE_USERNAME")
    sftp = acme.transport.sftp
    assert sftp is not None and sftp.port == 22 and sftp.poll_interval_seconds == 30
    assert (sftp.inbound_dir, sftp.outbound_dir) == ("/inbound", "/outbound")
    # relative paths are relative to the YAML file
    assert sftp.private_key is not None and sftp.private_key.file == FIXTURES / "keys" / "acme_ed25519"
    assert sftp.known_hosts == FIXTURES / "keys" / "known_hosts"
    assert acme.batch.max_claims_per_transaction_set == 5000
    assert acme.batch.max_claims_per_file == 20000 and acme.batch.window_seconds == 60
    assert acme.transport_for("270") is TransportKind.CORE_SOAP
    assert acme.transport_for(Transaction.INSTITUTIONAL_837I) is TransportKind.SFTP
    bluepeak = config.partner("bluepeak")
    assert bluepeak.accepts("270") and not bluepeak.accepts("837P")
    with pytest.raises(ValueError, match="does not accept 837P"):
        bluepeak.transport_for("837P")
    with pytest.raises(KeyError):
        config.for_payer("NOBODY")
    with pytest.raises(KeyError):
        config.partner("nobody")


def test_sample_submitters():
    config = load_partners(SAMPLE)
    clinic = config.submitter("clinic-a")
    assert str(clinic.callback_url) == "https://hooks.clinic-a.example/edi"
    assert clinic.signing_secret == SecretRef(env="CLINIC_A_WEBHOOK_SECRET")
    assert clinic.reply_queue == "clinic-a.responses"
    billing = config.submitter("billing-co")
    assert billing.callback_url is None
    assert billing.outbound_dir == FIXTURES / "outbound" / "billing-co"
    assert (
        billing.signing_secret is not None
        and billing.signing_secret.file == FIXTURES / "secrets" / "billing-co.key"
    )


def test_path_from_environment_variable():
    config = load_partners(environ={PARTNERS_FILE_ENV: str(SAMPLE)})
    assert "acme" in config.partners
    with pytest.raises(PartnersConfigError, match=PARTNERS_FILE_ENV):
        load_partners(environ={})


def test_unreadable_file_is_named():
    with pytest.raises(PartnersConfigError) as caught:
        load_partners(FIXTURES / "no-such-partners.yaml")
    assert "no-such-partners.yaml" in str(caught.value)
    assert "FileNotFoundError" in str(caught.value)


# ============================================================================ errors and their paths


def test_bad_file_reports_every_error_at_its_yaml_path():
    text = """\
partners:
  acme:
    name: ACME
    payer_ids: ["841610001"]
    interchange:
      sender_qualifier: QQ
      sender_id: SUBMITTER01
      receiver_id: ACME
      usage: X
    delimiters: {element: "*", component: "*"}
    transactions: ["270", "835"]
    transport:
      core_soap:
        url: not-a-url
        sender_id: SUBMITTER01
        receiver_id: ACME
        username: {env: ACME_USER}
        password: hunter2-inline-secret
    batch: {max_claims_per_transaction_set: 6000}
    colour: blue
submitters:
  clinic-a: {callback_url: "https://hooks.example/cb"}
"""
    with pytest.raises(PartnersConfigError) as caught:
        parse_partners(text, source="partners.yaml")
    error = caught.value
    by_path = {issue.path: issue for issue in error.issues}
    assert set(by_path) == {
        "partners.acme.interchange.sender_qualifier",
        "partners.acme.interchange.usage",
        "partners.acme.delimiters",
        "partners.acme.transactions[1]",
        "partners.acme.transport.core_soap.url",
        "partners.acme.transport.core_soap.password",
        "partners.acme.batch.max_claims_per_transaction_set",
        "partners.acme.colour",
        "submitters.clinic-a",
    }
    assert "never inline" in by_path["partners.acme.transport.core_soap.password"].message
    assert "signing_secret" in by_path["submitters.clinic-a"].message
    assert "must all differ" in by_path["partners.acme.delimiters"].message
    # line numbers point into the file (1-based)
    assert by_path["partners.acme.interchange.sender_qualifier"].line == 6
    assert by_path["partners.acme.transactions[1]"].line == 11
    assert by_path["partners.acme.transport.core_soap.password"].line == 18
    assert by_path["partners.acme.colour"].line == 20
    message = str(error)
    assert "partners.yaml" in message and "partners.acme.transport.core_soap.url (line 14" in message
    # a secret put inline is never repeated, nor is any other configured value
    assert "hunter2" not in message
    assert "QQ" not in message and "not-a-url" not in message and "blue" not in message


def test_cross_field_errors_point_at_the_right_place():
    text = """\
partners:
  acme:
    name: ACME
    payer_ids: ["1"]
    interchange: {sender_id: ME, receiver_id: ACME}
    transactions: ["837P"]
  other:
    name: Other
    payer_ids: ["2", "1"]
    interchange: {sender_id: ME, receiver_id: "TH~EM"}
    transactions: ["270"]
"""
    issues = issues_of(text)
    assert issues == {
        "partners.acme.transport.sftp": "837 batches are accepted but transport.sftp is not configured",
        "partners.other.transport.core_soap": "270 is accepted but transport.core_soap is not configured",
        "partners.other.interchange.receiver_id": "contains one of the partner's separators",
    }


def test_a_payer_id_served_twice_is_refused_where_it_repeats():
    text = (
        MINIMAL_270_PARTNER
        + """\
  other:
    name: Other
    payer_ids: ["X", "ACME01"]
    interchange: {sender_id: ME, receiver_id: OTHER}
    transactions: ["270"]
    transport:
      core_soap: {url: "https://other.example/rt", sender_id: ME, receiver_id: OTHER}
"""
    )
    with pytest.raises(PartnersConfigError) as caught:
        parse_partners(text)
    [issue] = caught.value.issues
    assert issue.path == "partners.other.payer_ids[1]"
    assert "already served by partner 'acme'" in issue.message
    assert issue.line == 11


def test_yaml_level_errors():
    with pytest.raises(PartnersConfigError, match=r"given twice"):
        parse_partners("partners:\n  acme: {}\n  acme: {}\n")
    with pytest.raises(PartnersConfigError, match=r"line 1"):
        parse_partners("partners: [1, 2")
    with pytest.raises(PartnersConfigError, match="mapping"):
        parse_partners("- just\n- a list\n")
    assert parse_partners("").partners == {}


def test_value_rules():
    base = MINIMAL_270_PARTNER
    assert "partners.acme.interchange.sender_id" in issues_of(
        base.replace("sender_id: ME,", "sender_id: ABCDEFGHIJKLMNOP,")
    )
    assert "partners.acme.interchange.application_sender" in issues_of(
        base.replace("receiver_id: ACME}", "receiver_id: ACME, application_sender: A}")
    )
    assert "partners.acme.transport.core_soap.timeout_seconds" in issues_of(with_core("timeout_seconds: 0"))
    assert "partners.acme.transport.core_soap" in issues_of(with_core("username: {env: U}"))
    assert "partners.acme.transport.core_soap.username" in issues_of(
        with_core("username: {env: U, file: x}, password: {env: P}")
    )
    assert "partners.acme.transport.core_soap.username.env" in issues_of(
        with_core("username: {env: 'A B'}, password: {env: P}")
    )
    assert "partners.acme.transactions" in issues_of(base.replace('["270"]', '["270", "270"]'))
    assert "partners.acme.delimiters.segment" in issues_of(
        base.replace("transactions:", "delimiters: {segment: A}\n    transactions:")
    )
    assert "ids are letters" in issues_of(base.replace("  acme:", "  b@d:"))["partners.b@d"]


# ============================================================================ envelopes


def test_envelope_carries_the_partners_identity_and_the_numbers_handed_in():
    acme = load_partners(SAMPLE).partner("acme")
    env = acme.envelope(ControlNumbers(interchange=907, group=31, transaction=42), now=NOW)
    assert (env.sender_qualifier, env.sender_id) == ("ZZ", "SUBMITTER01")
    assert (env.receiver_qualifier, env.receiver_id) == ("30", "841610001")
    assert (env.application_sender, env.application_receiver) == ("SUBMITTER01", "ACMEHEALTH")
    assert env.usage == "T" and env.ack_requested == "0"
    assert (env.interchange_control_number, env.group_control_number, env.transaction_control_number) == (
        907,
        31,
        42,
    )
    assert env.delimiters.to_dict() == {
        "element": "*",
        "component": ":",
        "repetition": "^",
        "segment": "~",
        "line_break": "\n",
    }

    text = request_to_270(eligibility_request(), env)
    segments = [s.strip().split("*") for s in text.split("~") if s.strip()]
    isa, gs, st = segments[0], segments[1], segments[2]
    assert isa[5:9] == ["ZZ", "SUBMITTER01    ", "30", "841610001      "]
    assert isa[11] == "^" and isa[13] == "000000907" and isa[15] == "T" and isa[16] == ":"
    assert gs[2:4] == ["SUBMITTER01", "ACMEHEALTH"] and gs[6] == "31"
    assert st[2] == "0042"
    report = validate(text.encode())
    assert [str(f) for f in report.all_findings()] == []


def test_envelope_with_other_delimiters_and_defaults():
    bluepeak = load_partners(SAMPLE).partner("bluepeak")
    env = bluepeak.envelope(ControlNumbers(1, 2), now=NOW)
    assert env.sender_qualifier == env.receiver_qualifier == "ZZ"
    # GS02 / GS03 default to ISA06 / ISA08
    assert (env.application_sender, env.application_receiver) == ("SUBMITTER01", "BLUEPEAK")
    assert env.usage == "P" and env.transaction_control_number == 1
    text = request_to_270(eligibility_request(), env)
    assert "\n" not in text  # no line break configured
    isa = text.split("~")[0].split("|")
    assert isa[0] == "ISA" and isa[11] == "!" and isa[16] == ">" and isa[15] == "P"
    report = validate(text.encode())
    assert [str(f) for f in report.all_findings()] == []


@pytest.mark.parametrize(
    "numbers",
    [
        dict(interchange=0, group=1),
        dict(interchange=1, group=1_000_000_000),
        dict(interchange=1, group=1, transaction=-5),
        dict(interchange="7", group=1),
        dict(interchange=True, group=1),
    ],
)
def test_control_numbers_are_checked(numbers):
    with pytest.raises(ValueError, match="control number"):
        ControlNumbers(**numbers)


# ============================================================================ secrets


def test_secret_from_environment():
    ref = SecretRef(env="ACME_CORE_PASSWORD")
    assert ref.resolve({"ACME_CORE_PASSWORD": "s3cr3t"}) == "s3cr3t"
    assert ref.reference == "env:ACME_CORE_PASSWORD"


def test_secret_from_file_drops_the_final_line_break(tmp_path):
    secret = tmp_path / "core.pw"
    secret.write_text("from-a-file\n")
    config = parse_partners(
        with_core("username: {env: ACME_USER}, password: {file: core.pw}"),
        base_dir=tmp_path,
    )
    core = config.partner("acme").transport.core_soap
    assert core is not None and core.password is not None
    assert core.password.file == secret
    assert core.credentials({"ACME_USER": "submitter"}) == ("submitter", "from-a-file")


def test_missing_secrets_name_the_reference_never_a_value(tmp_path):
    with pytest.raises(MissingSecretError) as caught:
        SecretRef(env="ACME_CORE_PASSWORD").resolve({"OTHER": "not-this-one"})
    assert caught.value.reference == "env:ACME_CORE_PASSWORD"
    assert "env:ACME_CORE_PASSWORD" in str(caught.value) and "not-this-one" not in str(caught.value)

    missing = tmp_path / "nope.key"
    with pytest.raises(MissingSecretError, match=r"file:.*nope\.key does not exist"):
        SecretRef(file=missing).resolve()
    empty = tmp_path / "empty.key"
    empty.write_text("\n")
    with pytest.raises(MissingSecretError, match="is empty"):
        SecretRef(file=empty).resolve()
    with pytest.raises(MissingSecretError, match="is not set"):
        SecretRef(env="EMPTY").resolve({"EMPTY": ""})


def test_partner_credentials_resolve_through_references():
    core = load_partners(SAMPLE).partner("acme").transport.core_soap
    assert core is not None
    env = {"ACME_CORE_USERNAME": "submitter01", "ACME_CORE_PASSWORD": "pw-123"}
    assert core.credentials(env) == ("submitter01", "pw-123")
    with pytest.raises(MissingSecretError) as caught:
        core.credentials({"ACME_CORE_USERNAME": "submitter01"})
    assert "env:ACME_CORE_PASSWORD" in str(caught.value) and "submitter01" not in str(caught.value)
    bluepeak = load_partners(SAMPLE).partner("bluepeak").transport.core_soap
    assert bluepeak is not None and bluepeak.credentials({}) is None


def test_secret_reference_needs_exactly_one_source():
    with pytest.raises(ValueError):
        SecretRef()
    with pytest.raises(ValueError):
        SecretRef(env="A", file=Path("b"))
    assert repr(SecretRef(env="A")) == "SecretRef(env:A)"


# ============================================================================ submitters


def test_callback_allow_list():
    clinic = load_partners(SAMPLE).submitter("clinic-a")
    assert clinic.callback_allowed("https://hooks.clinic-a.example/edi/other")
    assert clinic.callback_allowed("https://HOOKS.clinic-a.example:8443/x")
    assert clinic.callback_allowed("https://eu.clinic-a.example/x")  # *.clinic-a.example
    assert not clinic.callback_allowed("https://clinic-a.example/x")  # the wildcard wants a subdomain
    assert not clinic.callback_allowed("https://evil.example/x")
    assert not clinic.callback_allowed("https://hooks.clinic-a.example.evil.example/x")
    assert not clinic.callback_allowed("http://127.0.0.1:8080/x")
    assert not clinic.callback_allowed("http://169.254.169.254/latest/meta-data")
    assert not clinic.callback_allowed("ftp://hooks.clinic-a.example/x")
    assert not clinic.callback_allowed("https://user:pw@hooks.clinic-a.example/x")
    assert not clinic.callback_allowed("https://hooks.clinic-a.example:notaport/x")
    billing = load_partners(SAMPLE).submitter("billing-co")
    assert not billing.callback_allowed("https://hooks.clinic-a.example/edi")


# ============================================================================ circuit breaker settings


def test_circuit_breaker_settings_are_per_partner_with_defaults_and_checked():
    default = parse_partners(MINIMAL_270_PARTNER).partner("acme").transport.core_soap
    assert default is not None and default.circuit_breaker is None  # the process's defaults apply
    own = parse_partners(with_core("circuit_breaker: {failure_threshold: 2, open_seconds: 7.5}"))
    settings = own.partner("acme").transport.core_soap.circuit_breaker  # type: ignore[union-attr]
    assert (settings.failure_threshold, settings.open_seconds, settings.half_open_trials) == (2, 7.5, 1)
    assert "partners.acme.transport.core_soap.circuit_breaker.failure_threshold" in issues_of(
        with_core("circuit_breaker: {failure_threshold: 0}")
    )
    assert "partners.acme.transport.core_soap.circuit_breaker.open_seconds" in issues_of(
        with_core("circuit_breaker: {open_seconds: -1}")
    )
    assert "partners.acme.transport.core_soap.circuit_breaker.tripped_after" in issues_of(
        with_core("circuit_breaker: {tripped_after: 3}")
    )
