"""X12 responses to canonical JSON: TA1, 999, 277CA (X214), 277 claim status (X212) and 835 (X221A1).

Every sample is read into the response models and its key values are asserted field by field on
the JSON the requester gets (``model_dump(mode="json", by_alias=True)``: camelCase names, codes next
to their descriptions). The 999s and TA1s the engine itself writes are read back too, so that every
IK3/IK4 of a validation report survives the round trip. Every result validates against its model's
JSON Schema.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel

from edi.codes import CLAIM_STATUS_CATEGORY_CODES, ELEMENT_ERROR_CODES, SEGMENT_ERROR_CODES, TA1_NOTE_CODES
from edi.mappers.acknowledgments import x12_999_to_acks, x12_to_ta1
from edi.mappers.claim_acknowledgment import claim_accepted, x12_277ca_to_reports
from edi.mappers.claim_status import x12_277_to_claim_status
from edi.mappers.remittance import x12_835_to_reports
from edi.x12.ack import _IK3_CODES, _IK4_CODES, AckNumbers, acknowledge
from edi.x12.validator import validate

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "x12"
ACK_999 = FIXTURES / "999_005010X231A1"
CA_277 = FIXTURES / "277_005010X214" / "accepted.277ca"
STATUS_277 = FIXTURES / "277_005010X212" / "claim-level-status.277"
MANAGED_CARE = FIXTURES / "835_005010X221A1" / "managed-care.835"
MEDICARE_A = FIXTURES / "835_005010X221A1" / "medicare-part-a.835"
EXAMPLE1 = FIXTURES / "837_005010X222A2" / "demo.example1.837"
EXAMPLE6 = FIXTURES / "837_005010X222A2" / "demo.example6.837"
NUMBERS = AckNumbers(interchange=42, group=7, first_transaction=9)

CARC_45 = "Charge exceeds fee schedule/maximum allowable or contracted/legislated fee arrangement."


def segments_of(path: Path) -> list[str]:
    return [s.strip() for s in path.read_text().split("~") if s.strip()]


def x12(segs: list[str]) -> bytes:
    """Segments joined into an interchange; SE01 is recounted so hand-made samples stay well formed."""
    segs = list(segs)
    for i, seg in enumerate(segs):
        if seg.startswith("SE*"):
            st = max(j for j in range(i) if segs[j].startswith("ST*"))
            segs[i] = f"SE*{i - st + 1}*{seg.split('*')[2]}"
    return ("~\n".join(segs) + "~\n").encode()


def dumped(model: BaseModel) -> dict[str, Any]:
    """The JSON a requester receives, checked against the model's JSON Schemas on the way."""
    data = model.model_dump(mode="json", by_alias=True)
    for mode in ("validation", "serialization"):
        jsonschema.Draft202012Validator(type(model).model_json_schema(mode=mode)).validate(data)
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def our_ack(data: bytes | Path) -> str:
    (isa,) = validate(data).interchanges
    text = acknowledge(isa, NUMBERS)
    assert text is not None
    return text


E1 = segments_of(EXAMPLE1)


# ====================================================================== TA1


@pytest.mark.parametrize(
    ("name", "segs", "note"),
    [
        ("iea02-mismatch", [*E1[:-1], "IEA*1*000000908"], "001"),
        (
            "bad-sender-qualifier",
            [E1[0].replace("*30*000000005      *", "*QQ*000000005      *"), *E1[1:]],
            "005",
        ),
    ],
)
def test_ta1_for_a_bad_envelope_has_the_note_code_and_its_description(
    name: str, segs: list[str], note: str
) -> None:
    text = our_ack(x12(segs))
    (ta1,) = x12_to_ta1(text.encode())
    assert dumped(ta1) == {
        "interchangeControlNumber": "000000907",
        "interchangeDate": "131031",
        "interchangeTime": "1147",
        "acknowledgmentCode": "R",
        "acknowledgmentDescription": "The Transmitted Interchange Control Structure Header and Trailer are "
        "Rejected Because of Errors.",
        "noteCode": note,
        "noteDescription": TA1_NOTE_CODES[note],
        "accepted": False,
    }
    assert x12_999_to_acks(text.encode()) == []  # a rejected envelope gets no 999


def test_every_ta1_of_several_interchanges_is_read() -> None:
    accepted = our_ack(EXAMPLE1)  # ISA14 is 1: TA1 A 000 before the 999
    rejected = our_ack(x12([*E1[:-1], "IEA*1*000000908"]))
    found = [dumped(t) for t in x12_to_ta1((accepted + rejected).encode())]
    assert [(t["acknowledgmentCode"], t["noteCode"], t["noteDescription"], t["accepted"]) for t in found] == [
        ("A", "000", "No error", True),
        ("R", "001", TA1_NOTE_CODES["001"], False),
    ]
    assert x12_to_ta1(ACK_999 / "accepted.999") == []


# ====================================================================== 999


def test_accepted_999() -> None:
    (ack,) = x12_999_to_acks(ACK_999 / "accepted.999")
    assert dumped(ack) == {
        "meta": {"senderId": "12345", "submitterId": "987654321", "applicationMode": "production"},
        "controlNumber": "0001",
        "functionalIdentifierCode": "HC",
        "groupControlNumber": "17456",
        "versionIdentifierCode": "005010X223A2",
        "functionalGroupAcknowledgeCode": "A",
        "functionalGroupAcknowledgeDescription": "Accepted",
        "accepted": True,
        "numberOfTransactionSetsIncluded": 1,
        "numberOfReceivedTransactionSets": 1,
        "numberOfAcceptedTransactionSets": 1,
        "syntaxErrorCodes": [],
        "syntaxErrorDescriptions": [],
        "transactionSets": [
            {
                "transactionSetIdentifierCode": "837",
                "controlNumber": "0001",
                "implementationConventionReference": "005010X223A2",
                "acknowledgmentCode": "A",
                "acknowledgmentDescription": "Accepted",
                "accepted": True,
                "syntaxErrorCodes": [],
                "syntaxErrorDescriptions": [],
                "segmentErrors": [],
            }
        ],
    }


def test_rejected_999() -> None:
    (ack,) = x12_999_to_acks(ACK_999 / "rejected.999")
    data = dumped(ack)
    assert data["meta"] == {"senderId": "EMEDNYBAT", "submitterId": "ETIN", "applicationMode": "test"}
    assert data["controlNumber"] == "95832987"
    assert (data["functionalIdentifierCode"], data["groupControlNumber"], data["versionIdentifierCode"]) == (
        "HC",
        "28",
        "005010X223A2",
    )
    assert data["functionalGroupAcknowledgeCode"] == "R"
    assert data["functionalGroupAcknowledgeDescription"] == "Rejected"
    assert data["accepted"] is False
    assert data["numberOfTransactionSetsIncluded"] == 1
    assert data["numberOfReceivedTransactionSets"] == 1
    assert data["numberOfAcceptedTransactionSets"] == 0
    (tx,) = data["transactionSets"]
    assert tx == {
        "transactionSetIdentifierCode": "837",
        "controlNumber": "0028",  # AK203 absent
        "acknowledgmentCode": "R",
        "acknowledgmentDescription": "Rejected",
        "accepted": False,
        "syntaxErrorCodes": ["5"],
        "syntaxErrorDescriptions": ["One or More Segments in Error"],
        "segmentErrors": [
            {
                "segmentId": "NM",
                "position": 17,
                "errorCode": "1",
                "errorDescription": "Unrecognized segment ID",
                "elementErrors": [],
            }
        ],
    }


HAND_MADE_999 = [
    "ISA*00*          *00*          *ZZ*PAYER          *ZZ*SUBMITTER      *240102*0304*^*00501*000000077*0*P*:",
    "GS*FA*PAYER*SUBMITTER*20240102*0304*77*X*005010X231A1",
    "ST*999*0077*005010X231A1",
    "AK1*HC*1201*005010X222A1",
    "AK2*837*0001*005010X222A1",
    "IK5*A",
    "AK2*837*0002*005010X222A1",
    "IK3*CLM*22*2300*8",
    "CTX*CLM01:PATIENT-42",
    "IK4*5:3*1325*7*9",
    "IK4*11:2:2*1362*I12",
    "CTX*SITUATIONAL TRIGGER*CLM*22*2300*11:1*1362",
    "IK3*REF*30*2300*I6",
    "CTX*CLM01:PATIENT-42",
    "CTX*SITUATIONAL TRIGGER*DTP*29*2300",
    "IK5*R*5*I5",
    "AK9*P*3*2*1*5",
    "SE*0*0077",
    "GE*1*77",
    "IEA*1*000000077",
]


def test_999_with_element_errors_contexts_and_group_codes() -> None:
    data = x12(HAND_MADE_999)
    assert validate(data).accepted  # a well-formed 999, so the loops are where the guide puts them
    (ack,) = x12_999_to_acks(data)
    out = dumped(ack)
    assert out["functionalGroupAcknowledgeCode"] == "P"
    assert (
        out["functionalGroupAcknowledgeDescription"]
        == "Partially Accepted, At Least One Transaction Set Was Rejected"
    )
    assert out["accepted"] is False
    assert (
        out["numberOfTransactionSetsIncluded"],
        out["numberOfReceivedTransactionSets"],
        out["numberOfAcceptedTransactionSets"],
    ) == (3, 2, 1)
    assert out["syntaxErrorCodes"] == ["5"]
    assert out["syntaxErrorDescriptions"] == [
        "Number of Included Transaction Sets Does Not Match Actual Count"
    ]
    first, second = out["transactionSets"]
    assert (
        first["controlNumber"],
        first["acknowledgmentCode"],
        first["accepted"],
        first["segmentErrors"],
    ) == (
        "0001",
        "A",
        True,
        [],
    )
    assert second["acknowledgmentCode"] == "R"
    assert second["syntaxErrorCodes"] == ["5", "I5"]
    assert second["syntaxErrorDescriptions"] == [
        "One or More Segments in Error",
        "Implementation One or More Segments in Error",
    ]
    clm, ref = second["segmentErrors"]
    assert clm == {
        "segmentId": "CLM",
        "position": 22,
        "loopId": "2300",
        "errorCode": "8",
        "errorDescription": "Segment Has Data Element Errors",
        "businessUnitName": "CLM01",
        "businessUnitIdentifier": "PATIENT-42",
        "elementErrors": [
            {
                "position": 5,
                "componentPosition": 3,
                "dataElementReference": "1325",
                "errorCode": "7",
                "errorDescription": "Invalid Code Value",
                "badValue": "9",
            },
            {
                "position": 11,
                "componentPosition": 2,
                "repeatPosition": 2,
                "dataElementReference": "1362",
                "errorCode": "I12",
                "errorDescription": "Implementation Pattern Match Failure",
                "situationalTrigger": {
                    "segmentId": "CLM",
                    "position": "22",
                    "loopId": "2300",
                    "elementPosition": "11",
                    "componentPosition": "1",
                    "dataElementReference": "1362",
                },
            },
        ],
    }
    assert ref == {
        "segmentId": "REF",
        "position": 30,
        "loopId": "2300",
        "errorCode": "I6",
        "errorDescription": "Implementation Dependent Segment Missing",
        "businessUnitName": "CLM01",
        "businessUnitIdentifier": "PATIENT-42",
        "situationalTrigger": {"segmentId": "DTP", "position": "29", "loopId": "2300"},
        "elementErrors": [],
    }


def _partially_rejected_837() -> bytes:
    st, se = 2, E1.index("SE*40*0021")
    second = [s.replace("0021", "0022") for s in E1[st : se + 1]]
    second[second.index("DMG*D8*19730501*M")] = "DMG*D8*19730231*M"
    return x12([*E1[: se + 1], *second, "GE*2*1", *E1[-1:]])


@pytest.mark.parametrize(
    "data",
    [EXAMPLE6.read_bytes(), _partially_rejected_837()],
    ids=["demo.example6", "one-of-two-rejected"],
)
def test_our_own_999_reads_back_with_every_ik3_and_ik4_of_the_findings(data: bytes) -> None:
    report = validate(data)
    (isa,) = report.interchanges
    (group,) = isa.groups
    text = acknowledge(isa, NUMBERS)
    assert text is not None
    (ack,) = x12_999_to_acks(text.encode())
    out = dumped(ack)
    assert out["controlNumber"] == "0009"
    assert (out["functionalIdentifierCode"], out["groupControlNumber"], out["versionIdentifierCode"]) == (
        group.functional_id,
        group.control_number,
        group.version,
    )
    assert out["functionalGroupAcknowledgeCode"] == group.ack_code
    assert out["numberOfReceivedTransactionSets"] == len(group.transactions)
    assert out["numberOfAcceptedTransactionSets"] == sum(t.ack_code in ("A", "E") for t in group.transactions)
    assert len(out["transactionSets"]) == len(group.transactions)
    findings_seen = 0
    for tx, result in zip(out["transactionSets"], group.transactions, strict=True):
        assert (tx["transactionSetIdentifierCode"], tx["controlNumber"]) == ("837", result.control_number)
        assert tx["implementationConventionReference"] == result.implementation_reference
        assert tx["acknowledgmentCode"] == result.ack_code
        by_position = {}
        for seg in tx["segmentErrors"]:
            by_position.setdefault(seg["position"], []).append(seg)
        for f in result.findings:
            if f.severity not in ("error", "warning"):
                continue
            if f.level == "segment" and f.code in _IK3_CODES:
                found = [s for s in by_position[f.segment_position] if s["errorCode"] == f.code]
                assert found and found[0]["segmentId"] == f.segment_id
                assert found[0]["errorDescription"] == SEGMENT_ERROR_CODES[f.code]
                if f.business_unit:
                    assert found[0]["businessUnitName"] == "CLM01"
                    assert found[0]["businessUnitIdentifier"] == f.business_unit
                findings_seen += 1
            elif f.level == "element" and f.code in _IK4_CODES:
                (seg8,) = [s for s in by_position[f.segment_position] if s["errorCode"] == "8"]
                assert seg8["segmentId"] == f.segment_id
                expected = {
                    "position": f.element_position,
                    "componentPosition": f.component_position,
                    "repeatPosition": f.repeat_position,
                    "dataElementReference": f.element_ref,
                    "errorCode": f.code,
                    "errorDescription": ELEMENT_ERROR_CODES[f.code],
                }
                expected = {k: v for k, v in expected.items() if v is not None}
                if f.bad_value:
                    expected["badValue"] = f.bad_value
                assert expected in seg8["elementErrors"]
                findings_seen += 1
    assert findings_seen > 0


# ==================================================================== 277CA


def _claims(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        claim
        for tx in report["transactions"]
        for payer in tx["payers"]
        for receiver in payer["claimStatusTransactions"]
        for provider in receiver["claimStatusDetails"]
        for patient in provider["patientClaimStatusDetails"]
        for claim in patient["claims"]
    ]


def test_accepted_277ca() -> None:
    (report,) = x12_277ca_to_reports(CA_277)
    out = dumped(report)
    assert out["fileName"] == "accepted.277ca"
    assert out["meta"] == {"senderId": "EMEDNYBAT", "submitterId": "ETIN", "applicationMode": "production"}
    (tx,) = out["transactions"]
    assert (tx["controlNumber"], tx["referenceIdentification"]) == ("000014420", "000000674")
    assert (tx["transactionSetCreationDate"], tx["transactionSetCreationTime"]) == ("20110311", "100831")
    (payer,) = tx["payers"]
    assert payer["organizationName"] == "NYSDOH"
    assert payer["payerIdentification"] == "141797357"
    assert (payer["entityIdentifierCode"], payer["entityIdentifierCodeValue"]) == ("PR", "Payer")
    assert payer["informationSourceApplicationTraceIdentifier"] == "000014420"
    assert payer["informationSourceReceiptDate"] == "20110311"
    assert payer["informationSourceProcessDate"] == "20110311"
    (receiver,) = payer["claimStatusTransactions"]
    assert receiver["receiver"] == {"organizationName": "A NY MD GROUP", "etin": "ETIN"}
    assert receiver["claimTransactionBatchNumber"] == "000000674"
    assert receiver["totalAcceptedQuantity"] == "1"
    assert receiver["totalAcceptedAmount"] == "125.0"
    assert "totalRejectedQuantity" not in receiver
    assert receiver["providerClaimStatuses"] == [
        {
            "statusInformationEffectiveDate": "20110311",
            "statusInformationActionCode": "WQ",
            "totalClaimChargeAmount": "125.0",
            "providerStatuses": [
                {
                    "healthCareClaimStatusCategoryCode": "A1",
                    "healthCareClaimStatusCategoryCodeValue": CLAIM_STATUS_CATEGORY_CODES["A1"],
                    "statusCode": "20",
                    "statusCodeValue": "Accepted for processing.",
                }
            ],
        }
    ]
    (provider,) = receiver["claimStatusDetails"]
    assert provider["serviceProvider"] == {
        "lastName": "OCTOR",
        "firstName": "IMA",
        "middleName": "D",
        "npi": "1234567890",
    }
    assert provider["providerOfServiceInformationTraceIdentifier"] == "1107000000000135FF"
    (patient,) = provider["patientClaimStatusDetails"]
    assert patient["subscriber"] == {
        "lastName": "TPATIENT",
        "firstName": "THEBE",
        "middleName": "S",
        "memberId": "LL99999X",
    }
    (claim,) = patient["claims"]
    assert claim["accepted"] is True
    assert claim["claimStatusVerdict"] == "accepted"
    assert claim["serviceLines"] == []
    assert claim["claimStatus"] == {
        "referencedTransactionTraceNumber": "5781",
        "patientAccountNumber": "5781",
        "tradingPartnerClaimNumber": "1107000000014420",
        "claimServiceDate": "10010101",
        "informationClaimStatuses": [
            {
                "statusInformationEffectiveDate": "20110311",
                "statusInformationActionCode": "WQ",
                "totalClaimChargeAmount": "125",
                "informationStatuses": [
                    {
                        "healthCareClaimStatusCategoryCode": "A2",
                        "healthCareClaimStatusCategoryCodeValue": CLAIM_STATUS_CATEGORY_CODES["A2"],
                        "statusCode": "20",
                        "statusCodeValue": "Accepted for processing.",
                    }
                ],
            }
        ],
    }


REJECTED_277CA = [
    "ISA*00*          *00*          *ZZ*EMEDNYBAT      *ZZ*ETIN           *110311*1008*^*00501*000014421*0*P*:",
    "GS*HN*EMEDNYBAT*XDZ*20110311*100831*14421*X*005010X214",
    "ST*277*0002*005010X214",
    "BHT*0085*08*000000675*20110311*100831*TH",
    "HL*1**20*1",
    "NM1*PR*2*NYSDOH*****PI*141797357",
    "TRN*1*000014421",
    "DTP*050*D8*20110311",
    "DTP*009*D8*20110312",
    "HL*2*1*21*1",
    "NM1*41*2*A NY MD GROUP*****46*ETIN",
    "TRN*2*000000675",
    "STC*A1:20*20110311*WQ*325",
    "QTY*90*1",
    "QTY*AA*1",
    "AMT*YU*125",
    "AMT*YY*200",
    "HL*3*2*19*1",
    "NM1*85*2*A NY MD GROUP*****XX*1234567890",
    "TRN*1*1107000000000136FF",
    "STC*A1:19:85**WQ*325",
    "REF*TJ*123456789",
    "QTY*QA*1",
    "QTY*QC*1",
    "AMT*YU*125",
    "AMT*YY*200",
    "HL*4*3*PT",
    "NM1*QC*1*TPATIENT*THEBE*S***MI*LL99999X",
    "TRN*2*5781",
    "STC*A2:20*20110311*WQ*125",
    "REF*1K*1107000000014421",
    "REF*D9*CH0001",
    "DTP*472*D8*20110301",
    "HL*5*3*PT",
    "NM1*QC*1*DOE*JANE****MI*ZZ88888Y",
    "TRN*2*PCN-77",
    "STC*A7:21:IL*20110311*U*200******A3:153:QC",
    "REF*D9*CH0002",
    "DTP*472*RD8*20110301-20110305",
    "SVC*HC:99213:25*200*****1",
    "STC*A7:454*20110311*U",
    "REF*FJ*LINE-1",
    "DTP*472*D8*20110301",
    "SE*0*0002",
    "GE*1*14421",
    "IEA*1*000014421",
]


def test_277ca_with_a_rejected_claim_and_a_rejected_line() -> None:
    data = x12(REJECTED_277CA)
    assert validate(data).accepted
    (report,) = x12_277ca_to_reports(data)
    out = dumped(report)
    assert "fileName" not in out  # read from bytes
    (tx,) = out["transactions"]
    (payer,) = tx["payers"]
    assert payer["informationSourceProcessDate"] == "20110312"
    (receiver,) = payer["claimStatusTransactions"]
    assert [receiver[k] for k in ("totalAcceptedQuantity", "totalRejectedQuantity")] == ["1", "1"]
    assert [receiver[k] for k in ("totalAcceptedAmount", "totalRejectedAmount")] == ["125", "200"]
    (provider,) = receiver["claimStatusDetails"]
    assert provider["serviceProvider"] == {
        "organizationName": "A NY MD GROUP",
        "npi": "1234567890",
        "taxId": "123456789",
    }
    assert [provider[k] for k in ("totalAcceptedQuantity", "totalRejectedQuantity")] == ["1", "1"]
    assert [provider[k] for k in ("totalAcceptedAmount", "totalRejectedAmount")] == ["125", "200"]
    (status,) = provider["serviceProviderClaimStatuses"]
    assert status["totalClaimChargeAmount"] == "325"
    assert status["serviceProviderStatuses"][0]["entityIdentifierCodeValue"] == "Billing Provider"
    accepted, rejected = _claims(out)
    assert (accepted["accepted"], accepted["claimStatusVerdict"]) == (True, "accepted")
    assert accepted["claimStatus"]["clearinghouseTraceNumber"] == "CH0001"
    assert accepted["claimStatus"]["tradingPartnerClaimNumber"] == "1107000000014421"

    assert (rejected["accepted"], rejected["claimStatusVerdict"]) == (False, "rejected")
    claim_status = rejected["claimStatus"]
    assert claim_status["referencedTransactionTraceNumber"] == "PCN-77"
    assert claim_status["clearinghouseTraceNumber"] == "CH0002"
    assert "tradingPartnerClaimNumber" not in claim_status  # the payer gives no number to a rejected claim
    assert (claim_status["claimServiceBeginDate"], claim_status["claimServiceEndDate"]) == (
        "20110301",
        "20110305",
    )
    (stc,) = claim_status["informationClaimStatuses"]
    assert (stc["statusInformationActionCode"], stc["totalClaimChargeAmount"]) == ("U", "200")
    assert stc["informationStatuses"] == [
        {
            "healthCareClaimStatusCategoryCode": "A7",
            "healthCareClaimStatusCategoryCodeValue": CLAIM_STATUS_CATEGORY_CODES["A7"],
            "statusCode": "21",
            "statusCodeValue": "Missing or invalid information.",
            "entityIdentifierCode": "IL",
            "entityIdentifierCodeValue": "Insured or Subscriber",
        },
        {  # STC10
            "healthCareClaimStatusCategoryCode": "A3",
            "healthCareClaimStatusCategoryCodeValue": CLAIM_STATUS_CATEGORY_CODES["A3"],
            "statusCode": "153",  # not in edi.codes: no description
            "entityIdentifierCode": "QC",
            "entityIdentifierCodeValue": "Patient",
        },
    ]
    (line,) = rejected["serviceLines"]
    assert line == {
        "lineItemControlNumber": "LINE-1",
        "serviceLineDate": "20110301",
        "service": {
            "serviceIdQualifierCode": "HC",
            "procedureCode": "99213",
            "procedureModifiers": ["25"],
            "chargeAmount": "200",
            "submittedUnits": "1",
        },
        "serviceClaimStatuses": [
            {
                "statusInformationEffectiveDate": "20110311",
                "statusInformationActionCode": "U",
                "serviceStatuses": [
                    {
                        "healthCareClaimStatusCategoryCode": "A7",
                        "healthCareClaimStatusCategoryCodeValue": CLAIM_STATUS_CATEGORY_CODES["A7"],
                        "statusCode": "454",
                        "statusCodeValue": "Procedure code for services rendered.",
                    }
                ],
            }
        ],
    }


@pytest.mark.parametrize(
    ("categories", "verdict"),
    [
        (["A1"], True),
        (["A2"], True),
        (["A3"], False),
        (["A6"], False),
        (["A7"], False),
        (["A8"], False),
        (["A4"], False),
        (["A2", "A7"], False),
        (["P1"], None),
        ([], None),
    ],
)
def test_claim_verdict_from_status_categories(categories: list[str], verdict: bool | None) -> None:
    assert claim_accepted(categories) is verdict


# ============================================================ 277 (X212)


def test_277_claim_status_gives_one_response_per_patient() -> None:
    responses = [dumped(r) for r in x12_277_to_claim_status(STATUS_277)]
    assert len(responses) == 3
    for r in responses:
        assert r["meta"] == {"senderId": "000000005", "submitterId": "12345", "applicationMode": "test"}
        assert r["controlNumber"] == "0001"
        assert r["tradingPartnerServiceId"] == "12345"
        assert r["payer"] == {"organizationName": "ABC INSURANCE", "payerIdentification": "12345"}
        assert r["receiver"] == {"organizationName": "XYZ SERVICE", "etin": "X67E"}
    smith, jones, mann = responses

    assert smith["provider"] == {"organizationName": "HOME HOSPITAL", "npi": "1666666661"}
    assert smith["subscriber"] == {"lastName": "SMITH", "firstName": "FRED", "memberId": "123456789A"}
    assert "dependent" not in smith
    (claim,) = smith["claims"]
    assert claim["serviceDetails"] == []
    assert claim["claimStatus"] == {
        "statusCategoryCode": "P3",
        "statusCategoryCodeValue": CLAIM_STATUS_CATEGORY_CODES["P3"],
        "statusCode": "317",  # not in edi.codes: no description
        "effectiveDate": "20050913",
        "submittedAmount": "8513.88",
        "trackingNumber": "ABCXYZ1",
        "claimServiceBeginDate": "20050831",
        "claimServiceEndDate": "20050906",
        "tradingPartnerClaimNumber": "05347006051",
        "patientAccountNumber": "SM123456",
        "billTypeIdentifier": "111",
    }

    assert jones["subscriber"]["lastName"] == "JONES"
    (claim,) = jones["claims"]
    status = claim["claimStatus"]
    assert (status["statusCategoryCode"], status["statusCode"]) == ("F0", "3")
    assert status["statusCodeValue"] == "Claim has been adjudicated and is awaiting payment cycle."
    assert (status["submittedAmount"], status["amountPaid"]) == ("7599.00", "7599.00")
    assert (status["trackingNumber"], status["tradingPartnerClaimNumber"]) == ("ABCXYZ2", "0529675341")
    assert status["patientAccountNumber"] == "J0234567"
    assert (status["claimServiceBeginDate"], status["claimServiceEndDate"]) == ("20050731", "20050809")

    assert mann["provider"] == {"organizationName": "HOME HOSPITAL PHYSICIANS", "npi": "166666666"}
    assert mann["subscriber"] == {"lastName": "MANN", "firstName": "JOHN", "memberId": "345678901"}
    assert mann["dependent"] == {"lastName": "MANN", "firstName": "JOSEPH"}
    (claim,) = mann["claims"]
    denied = {
        "statusCategoryCode": "F2",
        "statusCategoryCodeValue": "Finalized/Denial - The claim/line has been denied.",
        "statusCode": "88",
        "statusCodeValue": "Entity is not eligible for benefits for submitted dates of service.",
        "entityCode": "QC",
        "entity": "Patient",
        "effectiveDate": "20050612",
    }
    assert claim["claimStatus"] == {
        **denied,
        "submittedAmount": "150.00",
        "amountPaid": "0.00",
        "trackingNumber": "ABCXYC3",
        "tradingPartnerClaimNumber": "051681010827",
        "patientAccountNumber": "MA345678",
    }
    assert claim["serviceDetails"] == [
        {
            "serviceIdQualifierCode": "HC",
            "procedureCode": "99203",
            "submittedAmount": "150.00",
            "amountPaid": "0.00",
            "submittedUnits": "1.00",
            "beginServiceDate": "20050501",
            "status": [denied],
        }
    ]


def test_277_claim_with_several_statuses_keeps_them_all() -> None:
    segs = segments_of(STATUS_277)
    at = segs.index("STC*P3:317*20050913**8513.88")
    segs[at] = "STC*P3:317*20050913**8513.88******R4:294:1P"
    segs.insert(at + 1, "STC*P1:20*20050914")
    data = x12(segs)
    claim = dumped(x12_277_to_claim_status(data)[0])["claims"][0]["claimStatus"]
    assert (claim["statusCategoryCode"], claim["statusCode"], claim["trackingNumber"]) == (
        "P3",
        "317",
        "ABCXYZ1",
    )
    assert [
        (s["statusCategoryCode"], s["statusCode"], s.get("entityCode"), s["effectiveDate"])
        for s in claim["additionalStatuses"]
    ] == [("R4", "294", "1P", "20050913"), ("P1", "20", None, "20050914")]
    assert claim["additionalStatuses"][1]["statusCodeValue"] == "Accepted for processing."


def test_277_receiver_and_provider_level_statuses_and_payer_contact() -> None:
    segs = segments_of(STATUS_277)
    at = segs.index("NM1*PR*2*ABC INSURANCE*****PI*12345")
    segs.insert(at + 1, "PER*IC*HELP DESK*TE*8005550000")
    at = segs.index("NM1*41*2*XYZ SERVICE*****46*X67E")
    segs[at + 1 : at + 1] = ["TRN*2*BATCH1", "STC*A1:19*20050916"]
    at = segs.index("NM1*1P*2*HOME HOSPITAL*****XX*1666666661")
    segs[at + 1 : at + 1] = ["TRN*1*PROV1", "STC*A1:19:1P*20050916"]
    data = x12(segs)
    assert validate(data).accepted
    first, second, third = (dumped(r) for r in x12_277_to_claim_status(data))
    assert first["payer"]["contactInformation"] == {
        "name": "HELP DESK",
        "contacts": [{"communicationMode": "Telephone", "communicationNumber": "8005550000"}],
    }
    assert first["receiver"]["traceNumber"] == "BATCH1"
    assert [
        (s["statusCategoryCode"], s["statusCode"], s["effectiveDate"]) for s in first["receiver"]["statuses"]
    ] == [("A1", "19", "20050916")]
    assert first["provider"]["traceNumber"] == "PROV1"
    (status,) = first["provider"]["statuses"]
    assert (status["entityCode"], status["entity"]) == ("1P", "Provider")
    assert second["provider"] == first["provider"]
    assert "traceNumber" not in third["provider"]  # the second provider has no 2200C


# ====================================================================== 835


def _claim_summary(info: dict[str, Any]) -> tuple:
    c = info["claimPaymentInfo"]
    return (
        c["patientControlNumber"],
        c["claimStatusCode"],
        c["claimStatusCodeValue"],
        c["totalClaimChargeAmount"],
        c["claimPaymentAmount"],
        c.get("patientResponsibilityAmount"),
        c["claimFilingIndicatorCode"],
        c["payerClaimControlNumber"],
    )


def _cas(adjustments: list[dict[str, Any]]) -> list[tuple]:
    out = []
    for a in adjustments:
        for n in range(1, 7):
            if f"adjustmentReasonCode{n}" in a:
                out.append(
                    (
                        a["claimAdjustmentGroupCode"],
                        a["claimAdjustmentGroupCodeValue"],
                        a[f"adjustmentReasonCode{n}"],
                        a.get(f"adjustmentReasonCode{n}Value"),
                        a[f"adjustmentAmount{n}"],
                        a.get(f"adjustmentQuantity{n}"),
                    )
                )
    return out


def test_835_managed_care() -> None:
    (report,) = x12_835_to_reports(MANAGED_CARE)
    out = dumped(report)
    assert out["fileName"] == "managed-care.835"
    assert out["meta"] == {"senderId": "000000005", "submitterId": "12345", "applicationMode": "test"}
    (tx,) = out["transactions"]
    assert (tx["controlNumber"], tx["productionDate"]) == ("112233", "20020314")
    assert tx["financialInformation"] == {
        "transactionHandlingCode": "I",
        "transactionHandlingCodeValue": "Remittance Information Only",
        "totalActualProviderPaymentAmount": "945.00",
        "creditOrDebitFlagCode": "C",
        "paymentMethodCode": "ACH",
        "paymentMethodCodeValue": "Automated Clearing House (ACH)",
        "paymentFormatCode": "CCP",
        "senderDfiIdNumberQualifier": "01",
        "senderDfiIdentifier": "888999777",
        "senderAccountNumberQualifier": "DA",
        "senderAccountNumber": "24681012",
        "payerIdentifier": "1935665544",
        "receiverDfiIdNumberQualifier": "01",
        "receiverDfiIdentifier": "111333555",
        "receiverAccountNumberQualifier": "DA",
        "receiverAccountNumber": "144444",
        "checkIssueOrEFTEffectiveDate": "20002316",  # month 23: kept as sent...
    }
    assert tx["errors"] == [  # ...and noted
        {
            "field": "financialInformation.checkIssueOrEFTEffectiveDate",
            "code": "invalid-date",
            "description": "BPR16 (check issue or EFT effective date) is not a valid YYYYMMDD calendar date; "
            "the value is kept as sent.",
        }
    ]
    assert tx["paymentAndRemitReassociationDetails"] == {
        "traceTypeCode": "1",
        "checkOrEFTTraceNumber": "7170066655",
        "originatingCompanyIdentifier": "1935665544",
    }
    assert tx["payer"] == {
        "name": "RUSHMORE LIFE",
        "address": {
            "address1": "10 SOUTH AVENUE",
            "city": "RAPID CITY",
            "state": "SD",
            "postalCode": "55111",
        },
    }
    assert tx["payee"] == {"name": "ACME MEDICAL CENTER", "npi": "5544667733", "taxId": "777667755"}
    assert tx["providerAdjustments"] == []
    (detail,) = tx["detailInfo"]
    assert detail["assignedNumber"] == "1"
    budd, settle = detail["paymentInfo"]

    assert _claim_summary(budd) == (
        "5554555444",
        "1",
        "Processed as Primary",
        "800.00",
        "450.00",
        "300.00",
        "12",
        "94060555410000",
    )
    assert _cas(budd["claimAdjustments"]) == [("CO", "Contractual Obligations", "A2", None, "50.00", None)]
    assert budd["patientName"] == {
        "lastName": "BUDD",
        "firstName": "WILLIAM",
        "memberId": "33344555510",
        "identificationCodeQualifier": "MI",
    }
    (line,) = budd["serviceLines"]
    assert line["servicePaymentInformation"] == {
        "productOrServiceIDQualifier": "HC",
        "productOrServiceIDQualifierValue": "Health Care Financing Administration Common Procedural Coding System "
        "(HCPCS) Codes",
        "adjudicatedProcedureCode": "99211",
        "lineItemChargeAmount": "800.00",
        "lineItemProviderPaymentAmount": "500.00",
    }
    assert (line["serviceStartDate"], line["serviceEndDate"]) == ("20020301", "20020304")
    assert _cas(line["serviceAdjustments"]) == [
        ("PR", "Patient Responsibility", "1", "Deductible Amount", "300.00", None)
    ]

    assert _claim_summary(settle) == (
        "8765432112",
        "1",
        "Processed as Primary",
        "1200.00",
        "495.00",
        "600.00",
        "12",
        "94077799230000",
    )
    assert _cas(settle["claimAdjustments"]) == [("CO", "Contractual Obligations", "A2", None, "55.00", None)]
    assert (settle["patientName"]["lastName"], settle["patientName"]["memberId"]) == ("SETTLE", "44455666610")
    (line,) = settle["serviceLines"]
    payment = line["servicePaymentInformation"]
    assert (payment["adjudicatedProcedureCode"], payment["lineItemChargeAmount"]) == ("93555", "1200.00")
    assert payment["lineItemProviderPaymentAmount"] == "550.00"
    assert (line["serviceStartDate"], line["serviceEndDate"]) == ("20020310", "20020312")
    assert _cas(line["serviceAdjustments"]) == [
        ("PR", "Patient Responsibility", "1", "Deductible Amount", "600.00", None),
        ("CO", "Contractual Obligations", "45", CARC_45, "50.00", None),
    ]


def test_835_medicare_part_a() -> None:
    (report,) = x12_835_to_reports(MEDICARE_A)
    (tx,) = dumped(report)["transactions"]
    assert "errors" not in tx
    fin = tx["financialInformation"]
    assert (fin["transactionHandlingCode"], fin["transactionHandlingCodeValue"]) == (
        "C",
        "Payment Accompanies Remittance Advice",
    )
    assert (fin["totalActualProviderPaymentAmount"], fin["creditOrDebitFlagCode"]) == ("150000.00", "C")
    assert (fin["paymentMethodCode"], fin["paymentFormatCode"]) == ("ACH", "CTX")
    assert (fin["senderDfiIdentifier"], fin["senderAccountNumber"]) == ("99999992", "123456")
    assert (fin["receiverDfiIdentifier"], fin["receiverAccountNumber"]) == ("999988880", "98765")
    assert (fin["payerIdentifier"], fin["checkIssueOrEFTEffectiveDate"]) == ("1512345678", "20020913")
    assert tx["paymentAndRemitReassociationDetails"]["checkOrEFTTraceNumber"] == "12345"
    assert tx["productionDate"] == "20020916"
    assert tx["payer"] == {
        "name": "INSURANCE COMPANY OF TIMBUCKTU",
        "payerIdentificationNumber": "999",  # REF*2U
        "address": {"address1": "1 MAIN STREET", "city": "TIMBUCKTU", "state": "AK", "postalCode": "89111"},
    }
    assert tx["payee"] == {"name": "REGIONAL HOPE HOSPITAL", "npi": "6543210903"}
    first, second = tx["detailInfo"]

    assert first["assignedNumber"] == "110212"
    assert first["providerSummaryInformation"] == {
        "providerIdentifier": "6543210903",
        "facilityTypeCode": "11",
        "fiscalPeriodDate": "20021231",
        "totalClaimCount": "1",
        "totalClaimChargeAmount": "211366.97",
        "TS309": "138018.40",  # positions the 5010 guide no longer uses keep their element id
        "TS311": "73348.57",
    }
    assert first["providerSupplementalSummaryInformation"] == {
        "totalDRGAmount": "2178.45",
        "totalFederalSpecificAmount": "1919.71",
        "totalDisproportionateShareAmount": "56.82",
        "totalCapitalAmount": "197.69",
        "totalIndirectMedicalEducationAmount": "4.23",
    }
    (jones,) = first["paymentInfo"]
    assert _claim_summary(jones) == (
        "666123",
        "1",
        "Processed as Primary",
        "211366.97",
        "138018.40",
        None,
        "MA",
        "1999999444444",
    )
    info = jones["claimPaymentInfo"]
    assert (info["facilityTypeCode"], info["claimFrequencyCode"]) == ("11", "1")
    assert _cas(jones["claimAdjustments"]) == [
        ("CO", "Contractual Obligations", "45", CARC_45, "73348.57", None)
    ]
    assert jones["patientName"] == {
        "lastName": "JONES",
        "firstName": "SAM",
        "middleName": "O",
        "memberId": "666666666A",
        "identificationCodeQualifier": "HN",
    }
    assert jones["inpatientAdjudication"] == {"coveredDaysOrVisitsCount": "0", "claimDRGAmount": "138018.40"}
    assert (jones["claimStatementPeriodStart"], jones["claimStatementPeriodEnd"]) == ("20020816", "20020824")
    assert jones["claimSupplementalInformationQuantities"] == {"coveredActual": "8.00"}
    assert jones["serviceLines"] == []

    assert second["assignedNumber"] == "130212"
    assert second["providerSummaryInformation"]["fiscalPeriodDate"] == "19961231"
    assert "providerSupplementalSummaryInformation" not in second
    (border,) = second["paymentInfo"]
    assert _claim_summary(border) == (
        "777777",
        "1",
        "Processed as Primary",
        "15000.00",
        "11980.33",
        None,
        "MB",
        "1999999444445",
    )
    assert _cas(border["claimAdjustments"]) == [
        ("CO", "Contractual Obligations", "45", CARC_45, "3019.67", None)
    ]
    assert (border["patientName"]["lastName"], border["patientName"]["memberId"]) == ("BORDER", "996669999B")
    assert border["outpatientAdjudication"] == {"claimPaymentRemarkCode1": "MA02"}
    assert border["claimStatementPeriodStart"] == "20020512"

    assert tx["providerAdjustments"] == [
        {
            "providerIdentifier": "6543210903",
            "fiscalPeriodDate": "20021231",
            "adjustments": [
                {
                    "adjustmentReasonCode": "CV",
                    "adjustmentReasonCodeValue": "Capital Passthru",
                    "providerAdjustmentIdentifier": "CP",
                    "providerAdjustmentAmount": "-1.27",
                }
            ],
        }
    ]


RICH_835 = [
    "ISA*00*          *00*          *ZZ*PAYERSEND      *ZZ*PROVRECV       *240105*0930*^*00501*000000321*0*P*:",
    "GS*HP*PAYERSEND*PROVRECV*20240105*0930*321*X*005010X221A1",
    "ST*835*0001*005010X221A1",
    "BPR*C*1100.50*C*CHK************20240104",
    "TRN*1*CHK000123*1999999999",
    "REF*EV*PROVRECV",
    "DTM*405*20240103",
    "N1*PR*ACME HEALTH PLAN",
    "N3*100 MAIN ST*SUITE 200",
    "N4*DALLAS*TX*752010000",
    "REF*2U*99999",
    "PER*CX*CLAIMS DEPT*TE*8005551212*EX*123",
    "PER*BL*EDI SUPPORT*TE*8005551313*EM*EDI@ACME.EXAMPLE",
    "PER*IC**UR*WWW.ACME.EXAMPLE",
    "N1*PE*GOOD CLINIC*XX*1234567893",
    "N3*5 ELM ST",
    "N4*AUSTIN*TX*78701",
    "REF*TJ*741234567",
    "LX*1",
    "CLP*PCN-1001*1*1500.00*1100.50*150.00*12*PAYERCN-1*11*1",
    "CAS*CO*45*200.00**253*49.50",
    "NM1*QC*1*DOE*JOHN*Q***MI*W123456789",
    "NM1*IL*1*DOE*JANE****MI*W123456700",
    "NM1*74*1*DOE*JONATHAN",
    "NM1*82*1*WELBY*MARCUS****XX*1999999992",
    "MOA***N130",
    "REF*1L*GRP-555",
    "REF*1A*BC-777",
    "DTM*232*20231201",
    "DTM*233*20231202",
    "DTM*050*20231215",
    "PER*CX*PROVIDER SERVICES*TE*8005551414",
    "AMT*AU*1300.00",
    "QTY*VS*2",
    "SVC*HC:99214:25:59*1000.00*700.50**1*HC:99215*1",
    "DTM*472*20231201",
    "CAS*CO*45*150.00",
    "CAS*PR*2*100.00*1*3*50.00",
    "REF*6R*LINE0001",
    "REF*HPI*1999999992",
    "AMT*B6*850.50",
    "LQ*HE*M15",
    "LQ*HE*N130",
    "SVC*NU:0450*500.00*400.00*0450",
    "DTM*472*20231202",
    "CAS*CO*253*49.50*1*45*50.50",
    "REF*6R*LINE0002",
    "AMT*B6*450.00",
    "PLB*1234567893*20231231*L6*-10.00*WO:OVERPAY-9*25.00",
    "SE*0*0001",
    "GE*1*321",
    "IEA*1*000000321",
]


def test_835_with_every_claim_and_line_detail() -> None:
    data = x12(RICH_835)
    assert validate(data).accepted
    (report,) = x12_835_to_reports(data, file_name="era-0001.835")
    out = dumped(report)
    assert out["fileName"] == "era-0001.835"
    (tx,) = out["transactions"]
    assert tx["receiverIdentifier"] == "PROVRECV"
    assert tx["financialInformation"] == {
        "transactionHandlingCode": "C",
        "transactionHandlingCodeValue": "Payment Accompanies Remittance Advice",
        "totalActualProviderPaymentAmount": "1100.50",
        "creditOrDebitFlagCode": "C",
        "paymentMethodCode": "CHK",
        "paymentMethodCodeValue": "Check",
        "checkIssueOrEFTEffectiveDate": "20240104",
    }
    assert tx["paymentAndRemitReassociationDetails"]["checkOrEFTTraceNumber"] == "CHK000123"
    payer = tx["payer"]
    assert (payer["name"], payer["payerIdentificationNumber"]) == ("ACME HEALTH PLAN", "99999")
    assert payer["address"] == {
        "address1": "100 MAIN ST",
        "address2": "SUITE 200",
        "city": "DALLAS",
        "state": "TX",
        "postalCode": "752010000",
    }
    assert payer["businessContactInformation"] == {
        "name": "CLAIMS DEPT",
        "contacts": [
            {"communicationMode": "Telephone", "communicationNumber": "8005551212"},
            {"communicationMode": "Extension", "communicationNumber": "123"},
        ],
    }
    assert payer["technicalContactInformation"] == [
        {
            "name": "EDI SUPPORT",
            "contacts": [
                {"communicationMode": "Telephone", "communicationNumber": "8005551313"},
                {"communicationMode": "Email", "communicationNumber": "EDI@ACME.EXAMPLE"},
            ],
        }
    ]
    assert payer["webSite"] == "WWW.ACME.EXAMPLE"
    assert tx["payee"] == {
        "name": "GOOD CLINIC",
        "npi": "1234567893",
        "taxId": "741234567",
        "address": {"address1": "5 ELM ST", "city": "AUSTIN", "state": "TX", "postalCode": "78701"},
    }
    (claim,) = tx["detailInfo"][0]["paymentInfo"]
    assert _claim_summary(claim) == (
        "PCN-1001",
        "1",
        "Processed as Primary",
        "1500.00",
        "1100.50",
        "150.00",
        "12",
        "PAYERCN-1",
    )
    assert _cas(claim["claimAdjustments"]) == [
        ("CO", "Contractual Obligations", "45", CARC_45, "200.00", None),
        (
            "CO",
            "Contractual Obligations",
            "253",
            "Sequestration - reduction in federal payment.",
            "49.50",
            None,
        ),
    ]
    assert claim["subscriber"] == {
        "lastName": "DOE",
        "firstName": "JANE",
        "memberId": "W123456700",
        "identificationCodeQualifier": "MI",
    }
    assert claim["correctedPatientOrInsuredName"] == {"lastName": "DOE", "firstName": "JONATHAN"}
    assert claim["renderingProvider"] == {"lastName": "WELBY", "firstName": "MARCUS", "npi": "1999999992"}
    assert claim["outpatientAdjudication"] == {"claimPaymentRemarkCode1": "N130"}
    assert claim["otherClaimRelatedIdentification"] == {"groupOrPolicyNumber": "GRP-555"}
    assert claim["renderingProviderIdentification"] == {"blueCrossProviderNumber": "BC-777"}
    assert (claim["claimStatementPeriodStart"], claim["claimStatementPeriodEnd"]) == ("20231201", "20231202")
    assert claim["claimReceivedDate"] == "20231215"
    assert claim["claimContactInformation"] == {
        "name": "PROVIDER SERVICES",
        "contacts": [{"communicationMode": "Telephone", "communicationNumber": "8005551414"}],
    }
    assert claim["claimSupplementalInformation"] == {"coverageAmount": "1300.00"}
    assert claim["claimSupplementalInformationQuantities"] == {"visits": "2"}

    office, room = claim["serviceLines"]
    assert office["servicePaymentInformation"] == {
        "productOrServiceIDQualifier": "HC",
        "productOrServiceIDQualifierValue": "Health Care Financing Administration Common Procedural Coding System "
        "(HCPCS) Codes",
        "adjudicatedProcedureCode": "99214",
        "adjudicatedProcedureModifierCodes": ["25", "59"],
        "lineItemChargeAmount": "1000.00",
        "lineItemProviderPaymentAmount": "700.50",
        "unitsOfServicePaidCount": "1",
        "submittedProductOrServiceIDQualifier": "HC",
        "submittedAdjudicatedProcedureCode": "99215",
        "originalUnitsOfServiceCount": "1",
    }
    assert office["serviceDate"] == "20231201"
    assert _cas(office["serviceAdjustments"]) == [
        ("CO", "Contractual Obligations", "45", CARC_45, "150.00", None),
        ("PR", "Patient Responsibility", "2", "Coinsurance Amount", "100.00", "1"),
        ("PR", "Patient Responsibility", "3", "Co-payment Amount", "50.00", None),
    ]
    assert office["lineItemControlNumber"] == "LINE0001"
    assert office["renderingProviderInformation"] == {"npi": "1999999992"}
    assert office["serviceSupplementalAmounts"] == {"allowedActual": "850.50"}
    assert office["healthCareCheckRemarkCodes"] == [
        {
            "codeListQualifierCode": "HE",
            "codeListQualifierCodeValue": "Claim Payment Remark Codes",
            "remarkCode": code,
        }
        for code in ("M15", "N130")
    ]
    payment = room["servicePaymentInformation"]
    assert (payment["productOrServiceIDQualifier"], payment["adjudicatedProcedureCode"]) == ("NU", "0450")
    assert payment["nationalUniformBillingCommitteeRevenueCode"] == "0450"
    assert (payment["lineItemChargeAmount"], payment["lineItemProviderPaymentAmount"]) == ("500.00", "400.00")
    assert _cas(room["serviceAdjustments"]) == [
        (
            "CO",
            "Contractual Obligations",
            "253",
            "Sequestration - reduction in federal payment.",
            "49.50",
            "1",
        ),
        ("CO", "Contractual Obligations", "45", CARC_45, "50.50", None),
    ]
    assert (room["lineItemControlNumber"], room["serviceSupplementalAmounts"]) == (
        "LINE0002",
        {"allowedActual": "450.00"},
    )
    assert room["healthCareCheckRemarkCodes"] == []

    (plb,) = tx["providerAdjustments"]
    assert plb == {
        "providerIdentifier": "1234567893",
        "fiscalPeriodDate": "20231231",
        "adjustments": [
            {
                "adjustmentReasonCode": "L6",
                "adjustmentReasonCodeValue": "Interest Owed",
                "providerAdjustmentAmount": "-10.00",
            },
            {
                "adjustmentReasonCode": "WO",
                "adjustmentReasonCodeValue": "Overpayment Recovery",
                "providerAdjustmentIdentifier": "OVERPAY-9",
                "providerAdjustmentAmount": "25.00",
            },
        ],
    }


# ============================================================ all together


def test_each_mapper_reads_only_its_own_transaction_sets() -> None:
    assert x12_835_to_reports(CA_277) == []
    assert x12_277ca_to_reports(MANAGED_CARE) == []
    assert x12_277_to_claim_status(MANAGED_CARE) == []
    assert x12_999_to_acks(MANAGED_CARE) == []


def test_several_interchanges_give_one_report_each() -> None:
    data = MANAGED_CARE.read_bytes() + b"\n" + MEDICARE_A.read_bytes()
    reports = x12_835_to_reports(data)
    assert [r.transactions[0].control_number for r in reports] == ["112233", "1234"]


ALL_RESULTS = {
    "ta1": lambda: x12_to_ta1(our_ack(x12([*E1[:-1], "IEA*1*000000908"])).encode()),
    "999-accepted": lambda: x12_999_to_acks(ACK_999 / "accepted.999"),
    "999-rejected": lambda: x12_999_to_acks(ACK_999 / "rejected.999"),
    "999-hand-made": lambda: x12_999_to_acks(x12(HAND_MADE_999)),
    "999-ours": lambda: x12_999_to_acks(our_ack(EXAMPLE6).encode()),
    "277ca-accepted": lambda: x12_277ca_to_reports(CA_277),
    "277ca-rejected": lambda: x12_277ca_to_reports(x12(REJECTED_277CA)),
    "277-status": lambda: x12_277_to_claim_status(STATUS_277),
    "835-managed-care": lambda: x12_835_to_reports(MANAGED_CARE),
    "835-medicare-part-a": lambda: x12_835_to_reports(MEDICARE_A),
    "835-rich": lambda: x12_835_to_reports(x12(RICH_835)),
}


@pytest.mark.parametrize("name", list(ALL_RESULTS))
def test_json_validates_against_the_model_schema_and_keeps_camel_case(name: str) -> None:
    results = ALL_RESULTS[name]()
    assert results
    for model in results:
        data = model.model_dump(mode="json", by_alias=True)
        jsonschema.Draft202012Validator(type(model).model_json_schema()).validate(data)
        keys: list[str] = []

        def collect(value: Any, keys: list[str] = keys) -> None:
            if isinstance(value, dict):
                keys.extend(value)
                for v in value.values():
                    collect(v)
            elif isinstance(value, list):
                for v in value:
                    collect(v)

        collect(data)
        assert not [k for k in keys if "_" in k]  # camelCase aliases all the way down
