"""Variants on which pyx12's verdict is knowingly wrong (or pyx12 fails).

``tests/test_agreement.py`` asserts ``ours(data) == pyx12_verdict(data)``
for every sample and variant, except for the names listed here.  For those
it asserts instead that

* pyx12 still differs from (or fails on) the recorded answer - an entry that
  pyx12 now gets right is stale and fails the test, so remove it; and
* our validator gives exactly the recorded correct answer.

Every entry needs a one-line reason (what pyx12 gets wrong, citing the
implementation guide / X12 rule where it helps) and our correct answer::

    "837P/demo.example1/drop-ST03": (
        "pyx12 cannot build a 999 without ST03 (EngineError: Cannot create AK2)",
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=("
        "TxVerdict(control_number='0021', ik5='R', errors=()),)),))",
    ),

The answer may be the ``repr()`` of a Verdict (a string, evaluated with only
Verdict / GroupVerdict / TxVerdict in scope) or a Verdict object.  When an
agreement test fails, its message prints a ready-to-paste entry with our
verdict in it: check that verdict against the guide before pasting it.
"""

from __future__ import annotations

from .pyx12_oracle import GroupVerdict, TxVerdict, Verdict

__all__ = ["KNOWN_PYX12_DIFFERENCES", "GroupVerdict", "TxVerdict", "Verdict", "expected_verdict"]

# Reasons, one per kind of pyx12 defect (each entry below names one).
_I10 = "pyx12 codes a filled Not Used element IK403 10 (exclusion condition); the 999 guide's code is I10"
_I12 = "pyx12 codes a failed guide pattern (9-digit ZIP) IK403 7 and a filled Not Used element 10; the 999 guide's codes are I12 and I10"
_ST03 = (
    "pyx12 cannot write a 999 without ST03 (EngineError: Cannot create AK2); 5010 requires ST03, IK4 3 code 1"
)
_LXSEQ = "pyx12 checks LX01 numbering but never reports it; after the dropped LX every line number is out of sequence (IK4 7)"
_EMPTYID = "pyx12 attaches the empty-segment error of PAT to the following NM1; the empty PAT is the segment in error"
_COMP13 = "pyx12 raises IndexError on a composite with too many components; the 999 answer is IK403 13"
_HL = "pyx12 rejects broken HL/LX numbering without an IK3 saying where; the 999 must name the HL/LX element (IK4 7)"
_TA1 = "pyx12 writes a TA1 only when ISA14=1; a rejected interchange envelope is answered with a TA1 R whatever ISA14 says"
_GS = "pyx12 notes an invalid GS04/GS05 but still answers AK9 A; a group whose header is in error is rejected (AK9 R)"
_TILDE = "pyx12 stops reading at an empty segment (~~) and reports the IEA missing; the empty segment itself rejects the set (IK5 I5)"
_SETRAIL = "pyx12 attaches the SE trailing-separator error to the segment before SE; the error is SE's (IK5)"
_DUPST = "pyx12 answers AK9 R when one set is accepted and one rejected; the guide's AK901 for that is P"
_ST02 = "pyx12 does not check ST02's length (AN 4-9); a bad control number rejects the set (IK5 7)"
_REPEAT = "pyx12 does not split ISA11 repetitions: EB03 1^33^...^UC (X279A1: up to 99 service types) is checked as one value, IK4 5 and 7"
_EMPTYNEXT = "pyx12 attaches an empty segment's error (IK3 8, no IK4) to the following segment; only the empty DMG is in error"
_LSLE = "pyx12 does not check LS/LE pairing: an LS whose bounded loop (2120C) is not closed by LE is IK3 LE 3"
_SYNTAX = "pyx12 reports a broken X12 syntax rule (R/P pair) as IK3 8 with no IK4; the 999 names the missing element, IK403 2"

# variant name -> (one-line reason, our correct verdict: repr string or Verdict)
KNOWN_PYX12_DIFFERENCES: dict[str, tuple[str, str | Verdict]] = {
    "271/subscriber-health-benefit-check/drop-LE": (
        _LSLE,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='4321', ik5='R', errors=(('IK3', 'LE', 18, '3'),)),)),))",
    ),
    "837P/demo.example2": (
        _I12,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'N4', 10, '8'), ('IK3', 'N4', 28, '8'), ('IK4', 'N4', 10, '3', '116', 'I12'), ('IK4', 'N4', 28, '3', '116', 'I12'))),)),))",
    ),
    "837P/demo.autoaccident": (
        _I12,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'N4', 9, '8'), ('IK3', 'N4', 31, '8'), ('IK4', 'N4', 9, '3', '116', 'I12'), ('IK4', 'N4', 31, '3', '116', 'I12'))),)),))",
    ),
    "837P/demo.drug.example10.1": (
        _I12,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0711', ik5='R', errors=(('IK3', 'N4', 9, '8'), ('IK4', 'N4', 9, '3', '116', 'I12'))),)),))",
    ),
    "837P/demo.example7": (
        _I12,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0001', ik5='R', errors=(('IK3', 'N4', 9, '8'), ('IK4', 'N4', 9, '3', '116', 'I12'))),)),))",
    ),
    "837P/demo.cob.example3.A": (
        _I12,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'N4', 9, '8'), ('IK3', 'N4', 36, '8'), ('IK3', 'NM1', 42, '3'), ('IK4', 'N4', 9, '3', '116', 'I12'), ('IK4', 'N4', 36, '3', '116', 'I12'))),)),))",
    ),
    "837P/demo.example6": (
        _I12,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='3701', ik5='R', errors=(('IK3', 'CLM', 19, '8'), ('IK3', 'HI', 24, '1'), ('IK3', 'HI', 25, '3'), ('IK3', 'N4', 9, '8'), ('IK3', 'SV1', 26, '1'), ('IK3', 'SV1', 27, '3'), ('IK4', 'CLM', 19, '5:1', '1331', '5'), ('IK4', 'CLM', 19, '5:1', '1331', '7'), ('IK4', 'CLM', 19, '5:2', '1332', '1'), ('IK4', 'CLM', 19, '5:3', '1325', '1'), ('IK4', 'N4', 9, '3', '116', 'I12'))),)),))",
    ),
    "837I/institutional-claim": (
        _I12,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='987654', ik5='R', errors=(('IK3', 'CLM', 20, '8'), ('IK3', 'DTP', 21, '8'), ('IK3', 'N4', 10, '8'), ('IK4', 'CLM', 20, '6', '1073', 'I10'), ('IK4', 'DTP', 21, '2', '1250', '7'), ('IK4', 'N4', 10, '3', '116', 'I12'))),)),))",
    ),
    "837I/two-claims-single-provider": (
        _I12,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='987654', ik5='R', errors=(('IK3', 'CLM', 19, '8'), ('IK3', 'CLM', 39, '8'), ('IK3', 'N4', 10, '8'), ('IK4', 'CLM', 19, '6', '1073', 'I10'), ('IK4', 'CLM', 39, '6', '1073', 'I10'), ('IK4', 'N4', 10, '3', '116', 'I12'))),)),))",
    ),
    "835/managed-care": (
        _ST03,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='112233', ik5='R', errors=(('IK3', 'BPR', 2, '8'), ('IK3', 'PER', 8, '3'), ('IK3', 'ST', 1, '8'), ('IK4', 'BPR', 2, '16', '373', '8'), ('IK4', 'ST', 1, '3', '1705', '1'))),)),))",
    ),
    "835/medicare-part-a": (
        _ST03,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='1234', ik5='R', errors=(('IK3', 'PER', 9, '3'), ('IK3', 'ST', 1, '8'), ('IK3', 'TS3', 11, '8'), ('IK3', 'TS3', 21, '8'), ('IK4', 'ST', 1, '3', '1705', '1'), ('IK4', 'TS3', 11, '11', '782', 'I10'), ('IK4', 'TS3', 11, '9', '782', 'I10'), ('IK4', 'TS3', 21, '11', '782', 'I10'), ('IK4', 'TS3', 21, '9', '782', 'I10'))),)),))",
    ),
    "837P/demo.example2/drop-CLM": (
        _I12,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'DTP', 22, '1'), ('IK3', 'DTP', 30, '1'), ('IK3', 'DTP', 33, '1'), ('IK3', 'DTP', 36, '1'), ('IK3', 'DTP', 39, '1'), ('IK3', 'HI', 24, '1'), ('IK3', 'LX', 28, '1'), ('IK3', 'LX', 31, '1'), ('IK3', 'LX', 34, '1'), ('IK3', 'LX', 37, '1'), ('IK3', 'N4', 10, '8'), ('IK3', 'NM1', 25, '1'), ('IK3', 'REF', 23, '1'), ('IK3', 'SV1', 29, '1'), ('IK3', 'SV1', 32, '1'), ('IK3', 'SV1', 35, '1'), ('IK3', 'SV1', 38, '1'), ('IK4', 'N4', 10, '3', '116', 'I12'))),)),))",
    ),
    "837P/demo.autoaccident/drop-CLM": (
        _I12,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'CLM', 37, '3'), ('IK3', 'DTP', 23, '1'), ('IK3', 'DTP', 24, '1'), ('IK3', 'DTP', 34, '1'), ('IK3', 'DTP', 37, '1'), ('IK3', 'HI', 25, '1'), ('IK3', 'LX', 32, '1'), ('IK3', 'LX', 35, '1'), ('IK3', 'N3', 29, '1'), ('IK3', 'N4', 9, '8'), ('IK3', 'N4', 30, '1'), ('IK3', 'NM1', 26, '1'), ('IK3', 'NM1', 28, '1'), ('IK3', 'PER', 31, '5'), ('IK3', 'PRV', 27, '1'), ('IK3', 'SV1', 33, '1'), ('IK3', 'SV1', 36, '1'), ('IK4', 'N4', 9, '3', '116', 'I12'))),)),))",
    ),
    "837P/demo.drug.example10.1/drop-CLM": (
        _I12,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0711', ik5='R', errors=(('IK3', 'AMT', 27, '1'), ('IK3', 'CTP', 29, '1'), ('IK3', 'DTP', 23, '1'), ('IK3', 'DTP', 26, '1'), ('IK3', 'HI', 18, '1'), ('IK3', 'LIN', 28, '1'), ('IK3', 'LX', 21, '1'), ('IK3', 'LX', 24, '1'), ('IK3', 'N4', 9, '8'), ('IK3', 'NM1', 19, '1'), ('IK3', 'PRV', 20, '1'), ('IK3', 'SV1', 22, '1'), ('IK3', 'SV1', 25, '1'), ('IK4', 'N4', 9, '3', '116', 'I12'))),)),))",
    ),
    "837P/demo.example7/drop-CLM": (
        _I12,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0001', ik5='R', errors=(('IK3', 'CR3', 22, '1'), ('IK3', 'CR3', 45, '1'), ('IK3', 'DTP', 23, '1'), ('IK3', 'DTP', 24, '1'), ('IK3', 'DTP', 25, '1'), ('IK3', 'DTP', 26, '1'), ('IK3', 'DTP', 46, '1'), ('IK3', 'DTP', 47, '1'), ('IK3', 'DTP', 48, '1'), ('IK3', 'DTP', 49, '1'), ('IK3', 'FRM', 33, '1'), ('IK3', 'FRM', 34, '1'), ('IK3', 'FRM', 35, '1'), ('IK3', 'FRM', 36, '1'), ('IK3', 'FRM', 37, '1'), ('IK3', 'FRM', 38, '1'), ('IK3', 'FRM', 39, '1'), ('IK3', 'FRM', 40, '1'), ('IK3', 'FRM', 41, '1'), ('IK3', 'FRM', 56, '1'), ('IK3', 'FRM', 57, '1'), ('IK3', 'FRM', 58, '1'), ('IK3', 'FRM', 59, '1'), ('IK3', 'FRM', 60, '1'), ('IK3', 'FRM', 61, '1'), ('IK3', 'FRM', 62, '1'), ('IK3', 'FRM', 63, '1'), ('IK3', 'FRM', 64, '1'), ('IK3', 'HI', 18, '1'), ('IK3', 'LQ', 32, '1'), ('IK3', 'LQ', 55, '1'), ('IK3', 'LX', 19, '1'), ('IK3', 'LX', 42, '1'), ('IK3', 'N3', 51, '1'), ('IK3', 'N4', 9, '8'), ('IK3', 'N4', 52, '5'), ('IK3', 'NM1', 27, '1'), ('IK3', 'NM1', 50, '1'), ('IK3', 'PER', 31, '1'), ('IK3', 'PER', 54, '1'), ('IK3', 'PWK', 21, '1'), ('IK3', 'PWK', 44, '1'), ('IK3', 'REF', 30, '1'), ('IK3', 'REF', 53, '1'), ('IK3', 'SV1', 20, '1'), ('IK3', 'SV1', 43, '1'), ('IK4', 'N4', 9, '3', '116', 'I12'))),)),))",
    ),
    "837P/demo.example2/drop-NM1-85": (
        _I12,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'N3', 8, '1'), ('IK3', 'N4', 9, '1'), ('IK3', 'N4', 27, '8'), ('IK3', 'NM1', 11, '3'), ('IK3', 'NM1', 14, '3'), ('IK3', 'REF', 10, '1'), ('IK4', 'N4', 27, '3', '116', 'I12'))),)),))",
    ),
    "837P/demo.autoaccident/drop-NM1-85": (
        _I12,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'N3', 7, '1'), ('IK3', 'N4', 8, '1'), ('IK3', 'N4', 30, '8'), ('IK3', 'NM1', 10, '3'), ('IK3', 'REF', 9, '1'), ('IK4', 'N4', 30, '3', '116', 'I12'))),)),))",
    ),
    "837P/demo.example2/drop-BHT": (
        _I12,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'BHT', 5, '3'), ('IK3', 'N4', 9, '8'), ('IK3', 'N4', 27, '8'), ('IK3', 'NM1', 2, '1'), ('IK3', 'NM1', 4, '1'), ('IK3', 'PER', 3, '1'), ('IK4', 'N4', 9, '3', '116', 'I12'), ('IK4', 'N4', 27, '3', '116', 'I12'))),)),))",
    ),
    "837P/demo.autoaccident/drop-BHT": (
        _I12,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'BHT', 5, '3'), ('IK3', 'N4', 8, '8'), ('IK3', 'N4', 30, '8'), ('IK3', 'NM1', 2, '1'), ('IK3', 'NM1', 4, '1'), ('IK3', 'PER', 3, '1'), ('IK4', 'N4', 8, '3', '116', 'I12'), ('IK4', 'N4', 30, '3', '116', 'I12'))),)),))",
    ),
    "837P/demo.drug.example10.1/drop-BHT": (
        _I12,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0711', ik5='R', errors=(('IK3', 'BHT', 5, '3'), ('IK3', 'N4', 8, '8'), ('IK3', 'NM1', 2, '1'), ('IK3', 'NM1', 4, '1'), ('IK3', 'PER', 3, '1'), ('IK4', 'N4', 8, '3', '116', 'I12'))),)),))",
    ),
    "837P/demo.example7/drop-BHT": (
        _I12,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0001', ik5='R', errors=(('IK3', 'BHT', 5, '3'), ('IK3', 'N4', 8, '8'), ('IK3', 'NM1', 2, '1'), ('IK3', 'NM1', 4, '1'), ('IK3', 'PER', 3, '1'), ('IK4', 'N4', 8, '3', '116', 'I12'))),)),))",
    ),
    "837P/demo.example1/drop-LX": (
        _LXSEQ,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'DTP', 29, '1'), ('IK3', 'LX', 30, '8'), ('IK3', 'LX', 33, '8'), ('IK3', 'LX', 36, '8'), ('IK3', 'SV1', 28, '1'), ('IK4', 'LX', 30, '1', '554', '7'), ('IK4', 'LX', 33, '1', '554', '7'), ('IK4', 'LX', 36, '1', '554', '7'))),)),))",
    ),
    "837P/demo.example2/drop-SV1": (
        _I12,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'N4', 10, '8'), ('IK3', 'N4', 28, '8'), ('IK3', 'SV1', 30, '3'), ('IK4', 'N4', 10, '3', '116', 'I12'), ('IK4', 'N4', 28, '3', '116', 'I12'))),)),))",
    ),
    "837P/demo.drug.example10.1/drop-DTP-472": (
        _I12,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0711', ik5='R', errors=(('IK3', 'DTP', 24, '3'), ('IK3', 'N4', 9, '8'), ('IK4', 'N4', 9, '3', '116', 'I12'))),)),))",
    ),
    "837P/demo.example2/too-long-CLM01": (
        _I12,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'CLM', 22, '8'), ('IK3', 'N4', 10, '8'), ('IK3', 'N4', 28, '8'), ('IK4', 'CLM', 22, '1', '1028', '5'), ('IK4', 'N4', 10, '3', '116', 'I12'), ('IK4', 'N4', 28, '3', '116', 'I12'))),)),))",
    ),
    "837P/demo.example1/too-short-N403-2010AA": (
        _I12,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'N4', 10, '8'), ('IK4', 'N4', 10, '3', '116', '4'), ('IK4', 'N4', 10, '3', '116', 'I12'))),)),))",
    ),
    "837P/demo.example2/non-numeric-CLM02": (
        _I12,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'CLM', 22, '8'), ('IK3', 'N4', 10, '8'), ('IK3', 'N4', 28, '8'), ('IK4', 'CLM', 22, '2', '782', '6'), ('IK4', 'N4', 10, '3', '116', 'I12'), ('IK4', 'N4', 28, '3', '116', 'I12'))),)),))",
    ),
    "837P/demo.drug.example10.1/non-numeric-AMT02": (
        _I12,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0711', ik5='R', errors=(('IK3', 'AMT', 28, '8'), ('IK3', 'N4', 9, '8'), ('IK4', 'AMT', 28, '2', '782', '6'), ('IK4', 'N4', 9, '3', '116', 'I12'))),)),))",
    ),
    "837P/demo.example7/non-numeric-CR303": (
        _I12,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0001', ik5='R', errors=(('IK3', 'CR3', 23, '8'), ('IK3', 'N4', 9, '8'), ('IK4', 'CR3', 23, '3', '380', '6'), ('IK4', 'N4', 9, '3', '116', 'I12'))),)),))",
    ),
    "837P/demo.example2/out-of-order-DMG-before-N3-2010BA": (
        _I12,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'N3', 19, '1'), ('IK3', 'N4', 10, '8'), ('IK3', 'N4', 20, '1'), ('IK3', 'N4', 28, '8'), ('IK4', 'N4', 10, '3', '116', 'I12'), ('IK4', 'N4', 28, '3', '116', 'I12'))),)),))",
    ),
    "837P/demo.example2/repeat-segment-BHT": (
        _I12,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'BHT', 3, '4'), ('IK3', 'N4', 11, '8'), ('IK3', 'N4', 29, '8'), ('IK4', 'N4', 11, '3', '116', 'I12'), ('IK4', 'N4', 29, '3', '116', 'I12'))),)),))",
    ),
    "837P/demo.autoaccident/repeat-segment-PAT": (
        _I12,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'N4', 9, '8'), ('IK3', 'N4', 32, '8'), ('IK3', 'PAT', 17, '5'), ('IK4', 'N4', 9, '3', '116', 'I12'), ('IK4', 'N4', 32, '3', '116', 'I12'))),)),))",
    ),
    "837P/demo.example2/repeat-loop-2010AA": (
        _I12,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'N4', 10, '8'), ('IK3', 'N4', 14, '8'), ('IK3', 'N4', 32, '8'), ('IK3', 'NM1', 12, '4'), ('IK4', 'N4', 10, '3', '116', 'I12'), ('IK4', 'N4', 14, '3', '116', 'I12'), ('IK4', 'N4', 32, '3', '116', 'I12'))),)),))",
    ),
    "837P/demo.example7/bad-date-RD8-range": (
        _I12,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0001', ik5='R', errors=(('IK3', 'DTP', 24, '8'), ('IK3', 'N4', 9, '8'), ('IK4', 'DTP', 24, '3', '1251', '8'), ('IK4', 'N4', 9, '3', '116', 'I12'))),)),))",
    ),
    "837P/demo.example1/empty-segment-id-only-PAT": (
        _EMPTYID,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'PAT', 20, '1'), ('IK3', 'PAT', 21, '3'))),)),))",
    ),
    "837P/demo.example1/not-used-filled-NM106-2010AA": (
        _I10,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'NM1', 8, '8'), ('IK4', 'NM1', 8, '6', '1038', 'I10'))),)),))",
    ),
    "837P/demo.example1/not-used-filled-CLM03": (
        _I10,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'CLM', 25, '8'), ('IK4', 'CLM', 25, '3', '1032', 'I10'))),)),))",
    ),
    "837P/demo.example1/not-used-filled-SV106": (
        _I10,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'SV1', 29, '8'), ('IK4', 'SV1', 29, '6', '1365', 'I10'))),)),))",
    ),
    "837P/demo.example1/not-used-filled-N405-2010AA": (
        _I10,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'N4', 10, '8'), ('IK4', 'N4', 10, '5', '309', 'I10'))),)),))",
    ),
    "837P/demo.example1/not-used-filled-SBR06": (
        _I10,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'SBR', 16, '8'), ('IK4', 'SBR', 16, '6', '1143', 'I10'))),)),))",
    ),
    "837P/demo.example1/not-used-filled-REF03-EI": (
        _I10,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'REF', 11, '8'), ('IK4', 'REF', 11, '3', '352', 'I10'))),)),))",
    ),
    "837P/demo.example1/bad-component-CLM05-4-extra": (
        _COMP13,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'CLM', 25, '8'), ('IK4', 'CLM', 25, '5:4', 'C023', '13'))),)),))",
    ),
    "837P/demo.example1/hl-bad-parent-HL2-parent5": (
        _HL,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'HL', 15, '8'), ('IK4', 'HL', 15, '2', '734', '7'))),)),))",
    ),
    "837P/demo.example1/hl-bad-parent-HL3-parent3": (
        _HL,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'HL', 19, '8'), ('IK4', 'HL', 19, '2', '734', '7'))),)),))",
    ),
    "837P/demo.example1/hl-bad-count-HL3-as-4": (
        _HL,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'HL', 19, '8'), ('IK4', 'HL', 19, '1', '628', '7'))),)),))",
    ),
    "837P/demo.example1/lx-bad-count-LX2-as-3": (
        _HL,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'LX', 31, '8'), ('IK4', 'LX', 31, '1', '554', '7'))),)),))",
    ),
    "837P/demo.example1/isa-bad-code-ISA14": (
        _TA1,
        "Verdict(ta1='019', groups=(GroupVerdict(ak9='A', transactions=(TxVerdict(control_number='0021', ik5='A', errors=()),)),))",
    ),
    "837P/demo.example1/bad-date-GS04": (
        _GS,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='A', errors=()),)),))",
    ),
    "837P/demo.example1/bad-time-GS05": (
        _GS,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='A', errors=()),)),))",
    ),
    "837P/demo.example1/empty-segment-tilde-tilde": (
        _TILDE,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=()),)),))",
    ),
    "837P/demo.example1/trailing-separator-SE": (
        _SETRAIL,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=()),)),))",
    ),
    "837P/demo.example1/duplicate-st02-same-ST02": (
        _DUPST,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='P', transactions=(TxVerdict(control_number='0021', ik5='A', errors=()), TxVerdict(control_number='0021', ik5='R', errors=()))),))",
    ),
    "837P/demo.example1/too-long-ST02": (
        _ST02,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='1234567890', ik5='R', errors=()),)),))",
    ),
    "837P/demo.example1/too-short-ST02": (
        _ST02,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='123', ik5='R', errors=()),)),))",
    ),
    "837P/demo.example1/drop-ST03": (
        _ST03,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'ST', 1, '8'), ('IK4', 'ST', 1, '3', '1705', '1'))),)),))",
    ),
    "837P/demo.example2/se01-count-plus1": (
        _I12,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'N4', 10, '8'), ('IK3', 'N4', 28, '8'), ('IK4', 'N4', 10, '3', '116', 'I12'), ('IK4', 'N4', 28, '3', '116', 'I12'))),)),))",
    ),
    "837P/demo.example2/se01-count-minus1": (
        _I12,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'N4', 10, '8'), ('IK3', 'N4', 28, '8'), ('IK4', 'N4', 10, '3', '116', 'I12'), ('IK4', 'N4', 28, '3', '116', 'I12'))),)),))",
    ),
    "837P/demo.example2/se01-count-alpha": (
        _I12,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'N4', 10, '8'), ('IK3', 'N4', 28, '8'), ('IK4', 'N4', 10, '3', '116', 'I12'), ('IK4', 'N4', 28, '3', '116', 'I12'))),)),))",
    ),
    "837P/demo.example2/unknown-segment-after-first": (
        _I12,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'N4', 11, '8'), ('IK3', 'N4', 29, '8'), ('IK3', 'XYZ', 3, '1'), ('IK4', 'N4', 11, '3', '116', 'I12'), ('IK4', 'N4', 29, '3', '116', 'I12'))),)),))",
    ),
    "837P/demo.example2/unknown-segment-deep": (
        _I12,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'N4', 10, '8'), ('IK3', 'N4', 29, '8'), ('IK3', 'XYZ', 23, '1'), ('IK4', 'N4', 10, '3', '116', 'I12'), ('IK4', 'N4', 29, '3', '116', 'I12'))),)),))",
    ),
    "837P/demo.example2/unknown-segment-before-SE": (
        _I12,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'N4', 10, '8'), ('IK3', 'N4', 28, '8'), ('IK3', 'XYZ', 41, '1'), ('IK4', 'N4', 10, '3', '116', 'I12'), ('IK4', 'N4', 28, '3', '116', 'I12'))),)),))",
    ),
    "837P/demo.example2/duplicate-st02-same-ST02": (
        _I12,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'N4', 10, '8'), ('IK3', 'N4', 28, '8'), ('IK4', 'N4', 10, '3', '116', 'I12'), ('IK4', 'N4', 28, '3', '116', 'I12'))), TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'N4', 10, '8'), ('IK3', 'N4', 28, '8'), ('IK4', 'N4', 10, '3', '116', 'I12'), ('IK4', 'N4', 28, '3', '116', 'I12'))))),))",
    ),
    "837P/demo.example2/missing-trailer-SE": (
        _I12,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'N4', 10, '8'), ('IK3', 'N4', 28, '8'), ('IK3', 'SE', 40, '3'), ('IK4', 'N4', 10, '3', '116', 'I12'), ('IK4', 'N4', 28, '3', '116', 'I12'))),)),))",
    ),
    "837P/demo.example2/missing-trailer-GE": (
        _I12,
        "Verdict(ta1='024', groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'N4', 10, '8'), ('IK3', 'N4', 28, '8'), ('IK4', 'N4', 10, '3', '116', 'I12'), ('IK4', 'N4', 28, '3', '116', 'I12'))),)),))",
    ),
    "837P/demo.example2/missing-trailer-IEA": (
        _I12,
        "Verdict(ta1='023', groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'N4', 10, '8'), ('IK3', 'N4', 28, '8'), ('IK4', 'N4', 10, '3', '116', 'I12'), ('IK4', 'N4', 28, '3', '116', 'I12'))),)),))",
    ),
    "837I/institutional-claim/not-used-filled-CLM03": (
        _I10,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='987654', ik5='R', errors=(('IK3', 'CLM', 20, '8'), ('IK4', 'CLM', 20, '3', '1032', 'I10'))),)),))",
    ),
    "837I/institutional-claim/not-used-filled-N405-2010AA": (
        _I10,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='987654', ik5='R', errors=(('IK3', 'N4', 10, '8'), ('IK4', 'N4', 10, '5', '309', 'I10'))),)),))",
    ),
    "837I/institutional-claim/not-used-filled-SV206": (
        _I10,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='987654', ik5='R', errors=(('IK3', 'SV2', 37, '8'), ('IK4', 'SV2', 37, '6', '1371', 'I10'))),)),))",
    ),
    "837I/institutional-claim/hl-bad-parent-HL2-parent5": (
        _HL,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='987654', ik5='R', errors=(('IK3', 'HL', 12, '8'), ('IK4', 'HL', 12, '2', '734', '7'))),)),))",
    ),
    "837I/two-claims-single-provider/hl-bad-count-HL3-as-4": (
        _HL,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='987654', ik5='R', errors=(('IK3', 'HL', 32, '8'), ('IK4', 'HL', 32, '1', '628', '7'))),)),))",
    ),
    "837I/institutional-claim/isa-bad-code-ISA14": (
        _TA1,
        "Verdict(ta1='019', groups=(GroupVerdict(ak9='A', transactions=(TxVerdict(control_number='987654', ik5='A', errors=()),)),))",
    ),
    "837I/institutional-claim/bad-date-GS04": (
        _GS,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='987654', ik5='A', errors=()),)),))",
    ),
    "837I/institutional-claim/bad-time-GS05": (
        _GS,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='987654', ik5='A', errors=()),)),))",
    ),
    "837I/institutional-claim/empty-segment-tilde-tilde": (
        _TILDE,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='987654', ik5='R', errors=()),)),))",
    ),
    "837I/institutional-claim/trailing-separator-SE": (
        _SETRAIL,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='987654', ik5='R', errors=()),)),))",
    ),
    "837I/institutional-claim/duplicate-st02-same-ST02": (
        _DUPST,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='P', transactions=(TxVerdict(control_number='987654', ik5='A', errors=()), TxVerdict(control_number='987654', ik5='R', errors=()))),))",
    ),
    "837I/institutional-claim/too-long-ST02": (
        _ST02,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='1234567890', ik5='R', errors=()),)),))",
    ),
    "837I/institutional-claim/too-short-ST02": (
        _ST02,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='123', ik5='R', errors=()),)),))",
    ),
    "837I/institutional-claim/drop-ST03": (
        _ST03,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='987654', ik5='R', errors=(('IK3', 'ST', 1, '8'), ('IK4', 'ST', 1, '3', '1705', '1'))),)),))",
    ),
    "835/managed-care/not-used-filled-REF03-TJ": (
        _I10,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='112233', ik5='R', errors=(('IK3', 'REF', 10, '8'), ('IK4', 'REF', 10, '3', '352', 'I10'))),)),))",
    ),
    "835/managed-care/not-used-filled-N105-PR": (
        _I10,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='112233', ik5='R', errors=(('IK3', 'N1', 5, '8'), ('IK4', 'N1', 5, '5', '706', 'I10'))),)),))",
    ),
    "835/managed-care/not-used-filled-N405": (
        _I10,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='112233', ik5='R', errors=(('IK3', 'N4', 7, '8'), ('IK4', 'N4', 7, '5', '309', 'I10'))),)),))",
    ),
    "835/managed-care/isa-bad-code-ISA14": (
        _TA1,
        "Verdict(ta1='019', groups=(GroupVerdict(ak9='A', transactions=(TxVerdict(control_number='112233', ik5='A', errors=()),)),))",
    ),
    "835/managed-care/bad-date-GS04": (
        _GS,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='112233', ik5='A', errors=()),)),))",
    ),
    "835/managed-care/bad-time-GS05": (
        _GS,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='112233', ik5='A', errors=()),)),))",
    ),
    "835/managed-care/empty-segment-tilde-tilde": (
        _TILDE,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='112233', ik5='R', errors=()),)),))",
    ),
    "835/managed-care/trailing-separator-SE": (
        _SETRAIL,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='112233', ik5='R', errors=()),)),))",
    ),
    "835/managed-care/duplicate-st02-same-ST02": (
        _DUPST,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='P', transactions=(TxVerdict(control_number='112233', ik5='A', errors=()), TxVerdict(control_number='112233', ik5='R', errors=()))),))",
    ),
    "835/managed-care/too-long-ST02": (
        _ST02,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='1234567890', ik5='R', errors=()),)),))",
    ),
    "835/managed-care/too-short-ST02": (
        _ST02,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='123', ik5='R', errors=()),)),))",
    ),
    "835/managed-care/drop-ST03": (
        _ST03,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='112233', ik5='R', errors=(('IK3', 'ST', 1, '8'), ('IK4', 'ST', 1, '3', '1705', '1'))),)),))",
    ),
    "277CA/accepted/not-used-filled-TRN03-2200C": (
        _I10,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='000014420', ik5='R', errors=(('IK3', 'TRN', 16, '8'), ('IK4', 'TRN', 16, '3', '509', 'I10'))),)),))",
    ),
    "277CA/accepted/not-used-filled-NM104-PR": (
        _I10,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='000014420', ik5='R', errors=(('IK3', 'NM1', 4, '8'), ('IK4', 'NM1', 4, '4', '1036', 'I10'))),)),))",
    ),
    "277CA/accepted/hl-bad-parent-HL4-parent9": (
        _HL,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='000014420', ik5='R', errors=(('IK3', 'HL', 18, '8'), ('IK4', 'HL', 18, '2', '734', '7'))),)),))",
    ),
    "277CA/accepted/hl-bad-parent-HL3-parent3": (
        _HL,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='000014420', ik5='R', errors=(('IK3', 'HL', 14, '8'), ('IK4', 'HL', 14, '2', '734', '7'))),)),))",
    ),
    "277CA/accepted/hl-bad-count-HL4-as-5": (
        _HL,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='000014420', ik5='R', errors=(('IK3', 'HL', 18, '8'), ('IK4', 'HL', 18, '1', '628', '7'))),)),))",
    ),
    "277CA/accepted/iea01-count-plus1": (
        _TA1,
        "Verdict(ta1='021', groups=(GroupVerdict(ak9='A', transactions=(TxVerdict(control_number='000014420', ik5='A', errors=()),)),))",
    ),
    "277CA/accepted/iea02-mismatch-IEA02": (
        _TA1,
        "Verdict(ta1='001', groups=(GroupVerdict(ak9='A', transactions=(TxVerdict(control_number='000014420', ik5='A', errors=()),)),))",
    ),
    "277CA/accepted/isa-blank-ISA13": (
        _TA1,
        "Verdict(ta1='018', groups=(GroupVerdict(ak9='A', transactions=(TxVerdict(control_number='000014420', ik5='A', errors=()),)),))",
    ),
    "277CA/accepted/isa-bad-code-ISA15": (
        _TA1,
        "Verdict(ta1='020', groups=(GroupVerdict(ak9='A', transactions=(TxVerdict(control_number='000014420', ik5='A', errors=()),)),))",
    ),
    "277CA/accepted/isa-bad-code-ISA14": (
        _TA1,
        "Verdict(ta1='019', groups=(GroupVerdict(ak9='A', transactions=(TxVerdict(control_number='000014420', ik5='A', errors=()),)),))",
    ),
    "277CA/accepted/bad-date-ISA09": (
        _TA1,
        "Verdict(ta1='014', groups=(GroupVerdict(ak9='A', transactions=(TxVerdict(control_number='000014420', ik5='A', errors=()),)),))",
    ),
    "277CA/accepted/bad-time-ISA10": (
        _TA1,
        "Verdict(ta1='015', groups=(GroupVerdict(ak9='A', transactions=(TxVerdict(control_number='000014420', ik5='A', errors=()),)),))",
    ),
    "277CA/accepted/bad-date-GS04": (
        _GS,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='000014420', ik5='A', errors=()),)),))",
    ),
    "277CA/accepted/bad-time-GS05": (
        _GS,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='000014420', ik5='A', errors=()),)),))",
    ),
    "277CA/accepted/trailing-separator-SE": (
        _SETRAIL,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='000014420', ik5='R', errors=()),)),))",
    ),
    "277CA/accepted/duplicate-st02-same-ST02": (
        _DUPST,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='P', transactions=(TxVerdict(control_number='000014420', ik5='A', errors=()), TxVerdict(control_number='000014420', ik5='R', errors=()))),))",
    ),
    "277CA/accepted/missing-trailer-GE": (
        _TA1,
        "Verdict(ta1='024', groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='000014420', ik5='A', errors=()),)),))",
    ),
    "277CA/accepted/missing-trailer-IEA": (
        _TA1,
        "Verdict(ta1='023', groups=(GroupVerdict(ak9='A', transactions=(TxVerdict(control_number='000014420', ik5='A', errors=()),)),))",
    ),
    "277CA/accepted/too-long-ST02": (
        _ST02,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='1234567890', ik5='R', errors=()),)),))",
    ),
    "277CA/accepted/too-short-ST02": (
        _ST02,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='123', ik5='R', errors=()),)),))",
    ),
    "277CA/accepted/drop-ST03": (
        _ST03,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='000014420', ik5='R', errors=(('IK3', 'ST', 1, '8'), ('IK4', 'ST', 1, '3', '1705', '1'))),)),))",
    ),
    # 270 / 271 (005010X279A1, the project's maps in edi/maps)
    "271/subscriber-health-benefit-check": (
        _REPEAT,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='A', transactions=(TxVerdict(control_number='4321', ik5='A', errors=()),)),))",
    ),
    "270/subscriber-health-benefit-check/empty-segment-id-only-DMG": (
        _EMPTYNEXT,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='1234', ik5='R', errors=(('IK3', 'DMG', 10, '1'),)),)),))",
    ),
    "270/subscriber-health-benefit-check/empty-required-EQ01-R0102": (
        _SYNTAX,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='1234', ik5='R', errors=(('IK3', 'EQ', 12, '8'), ('IK4', 'EQ', 12, '1', '1365', '2'))),)),))",
    ),
    "270/subscriber-health-benefit-check/empty-required-NM109-IL-P0809": (
        _SYNTAX,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='1234', ik5='R', errors=(('IK3', 'NM1', 9, '8'), ('IK4', 'NM1', 9, '9', '67', '2'))),)),))",
    ),
    "270/subscriber-health-benefit-check/not-used-filled-NM106-IL": (
        _I10,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='1234', ik5='R', errors=(('IK3', 'NM1', 9, '8'), ('IK4', 'NM1', 9, '6', '1038', 'I10'))),)),))",
    ),
    "270/subscriber-health-benefit-check/not-used-filled-NM112-PR": (
        _I10,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='1234', ik5='R', errors=(('IK3', 'NM1', 4, '8'), ('IK4', 'NM1', 4, '12', '1035', 'I10'))),)),))",
    ),
    "270/subscriber-health-benefit-check/not-used-filled-DMG04": (
        _I10,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='1234', ik5='R', errors=(('IK3', 'DMG', 10, '8'), ('IK4', 'DMG', 10, '4', '1067', 'I10'))),)),))",
    ),
    "270/subscriber-health-benefit-check/bad-component-EQ02-9-extra": (
        _COMP13,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='1234', ik5='R', errors=(('IK3', 'EQ', 12, '8'), ('IK4', 'EQ', 12, '2:9', 'C003', '13'))),)),))",
    ),
    "270/subscriber-health-benefit-check/hl-bad-parent-HL3-parent9": (
        _HL,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='1234', ik5='R', errors=(('IK3', 'HL', 7, '8'), ('IK4', 'HL', 7, '2', '734', '7'))),)),))",
    ),
    "270/subscriber-health-benefit-check/hl-bad-parent-HL2-parent2": (
        _HL,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='1234', ik5='R', errors=(('IK3', 'HL', 5, '8'), ('IK4', 'HL', 5, '2', '734', '7'))),)),))",
    ),
    "270/subscriber-health-benefit-check/hl-bad-count-HL3-as-4": (
        _HL,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='1234', ik5='R', errors=(('IK3', 'HL', 7, '8'), ('IK4', 'HL', 7, '1', '628', '7'))),)),))",
    ),
    "270/subscriber-health-benefit-check/isa-bad-code-ISA14": (
        _TA1,
        "Verdict(ta1='019', groups=(GroupVerdict(ak9='A', transactions=(TxVerdict(control_number='1234', ik5='A', errors=()),)),))",
    ),
    "270/subscriber-health-benefit-check/bad-date-GS04": (
        _GS,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='1234', ik5='A', errors=()),)),))",
    ),
    "270/subscriber-health-benefit-check/bad-time-GS05": (
        _GS,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='1234', ik5='A', errors=()),)),))",
    ),
    "270/subscriber-health-benefit-check/empty-segment-tilde-tilde": (
        _TILDE,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='1234', ik5='R', errors=()),)),))",
    ),
    "270/subscriber-health-benefit-check/trailing-separator-SE": (
        _SETRAIL,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='1234', ik5='R', errors=()),)),))",
    ),
    "270/subscriber-health-benefit-check/duplicate-st02-same-ST02": (
        _DUPST,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='P', transactions=(TxVerdict(control_number='1234', ik5='A', errors=()), TxVerdict(control_number='1234', ik5='R', errors=()))),))",
    ),
    "270/subscriber-health-benefit-check/too-long-ST02": (
        _ST02,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='1234567890', ik5='R', errors=()),)),))",
    ),
    "270/subscriber-health-benefit-check/too-short-ST02": (
        _ST02,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='123', ik5='R', errors=()),)),))",
    ),
    "270/subscriber-health-benefit-check/drop-ST03": (
        _ST03,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='1234', ik5='R', errors=(('IK3', 'ST', 1, '8'), ('IK4', 'ST', 1, '3', '1705', '1'))),)),))",
    ),
    "271/subscriber-health-benefit-check/empty-segment-id-only-DMG": (
        _EMPTYNEXT,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='4321', ik5='R', errors=(('IK3', 'DMG', 12, '1'),)),)),))",
    ),
    "271/subscriber-health-benefit-check/empty-required-EB10-P0910": (
        _SYNTAX,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='4321', ik5='R', errors=(('IK3', 'EB', 14, '8'), ('IK4', 'EB', 14, '10', '380', '2'))),)),))",
    ),
    "271/subscriber-health-benefit-check/not-used-filled-BHT06": (
        _I10,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='4321', ik5='R', errors=(('IK3', 'BHT', 2, '8'), ('IK4', 'BHT', 2, '6', '640', 'I10'))),)),))",
    ),
    "271/subscriber-health-benefit-check/not-used-filled-NM106-IL": (
        _I10,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='4321', ik5='R', errors=(('IK3', 'NM1', 9, '8'), ('IK4', 'NM1', 9, '6', '1038', 'I10'))),)),))",
    ),
    "271/subscriber-health-benefit-check/not-used-filled-DMG04": (
        _I10,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='4321', ik5='R', errors=(('IK3', 'DMG', 12, '8'), ('IK4', 'DMG', 12, '4', '1067', 'I10'))),)),))",
    ),
    "271/subscriber-health-benefit-check-error/not-used-filled-AAA02": (
        _I10,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='4321', ik5='R', errors=(('IK3', 'AAA', 7, '8'), ('IK4', 'AAA', 7, '2', '559', 'I10'))),)),))",
    ),
    "271/subscriber-health-benefit-check/hl-bad-parent-HL3-parent9": (
        _HL,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='4321', ik5='R', errors=(('IK3', 'HL', 7, '8'), ('IK4', 'HL', 7, '2', '734', '7'))),)),))",
    ),
    "271/subscriber-health-benefit-check/hl-bad-parent-HL2-parent2": (
        _HL,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='4321', ik5='R', errors=(('IK3', 'HL', 5, '8'), ('IK4', 'HL', 5, '2', '734', '7'))),)),))",
    ),
    "271/subscriber-health-benefit-check-error/hl-bad-parent-HL2-parent5": (
        _HL,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='4321', ik5='R', errors=(('IK3', 'HL', 5, '8'), ('IK4', 'HL', 5, '2', '734', '7'))),)),))",
    ),
    "271/subscriber-health-benefit-check/hl-bad-count-HL3-as-4": (
        _HL,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='4321', ik5='R', errors=(('IK3', 'HL', 7, '8'), ('IK4', 'HL', 7, '1', '628', '7'))),)),))",
    ),
    "271/subscriber-health-benefit-check/isa-bad-code-ISA14": (
        _TA1,
        "Verdict(ta1='019', groups=(GroupVerdict(ak9='A', transactions=(TxVerdict(control_number='4321', ik5='A', errors=()),)),))",
    ),
    "271/subscriber-health-benefit-check/bad-date-GS04": (
        _GS,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='4321', ik5='A', errors=()),)),))",
    ),
    "271/subscriber-health-benefit-check/bad-time-GS05": (
        _GS,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='4321', ik5='A', errors=()),)),))",
    ),
    "271/subscriber-health-benefit-check/empty-segment-tilde-tilde": (
        _TILDE,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='4321', ik5='R', errors=()),)),))",
    ),
    "271/subscriber-health-benefit-check/trailing-separator-SE": (
        _SETRAIL,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='4321', ik5='R', errors=()),)),))",
    ),
    "271/subscriber-health-benefit-check/duplicate-st02-same-ST02": (
        _DUPST,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='P', transactions=(TxVerdict(control_number='4321', ik5='A', errors=()), TxVerdict(control_number='4321', ik5='R', errors=()))),))",
    ),
    "271/subscriber-health-benefit-check/too-long-ST02": (
        _ST02,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='1234567890', ik5='R', errors=()),)),))",
    ),
    "271/subscriber-health-benefit-check/too-short-ST02": (
        _ST02,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='123', ik5='R', errors=()),)),))",
    ),
    "271/subscriber-health-benefit-check/drop-ST03": (
        _ST03,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='4321', ik5='R', errors=(('IK3', 'ST', 1, '8'), ('IK4', 'ST', 1, '3', '1705', '1'))),)),))",
    ),
    "271/subscriber-health-benefit-check-error/duplicate-st02-same-ST02": (
        _DUPST,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='P', transactions=(TxVerdict(control_number='4321', ik5='A', errors=()), TxVerdict(control_number='4321', ik5='R', errors=()))),))",
    ),
}


def expected_verdict(name: str) -> Verdict:
    """The recorded correct answer for `name`, as a Verdict."""
    answer = KNOWN_PYX12_DIFFERENCES[name][1]
    if isinstance(answer, Verdict):
        return answer
    scope = {"Verdict": Verdict, "GroupVerdict": GroupVerdict, "TxVerdict": TxVerdict}
    value = eval(answer, {"__builtins__": {}}, scope)
    if not isinstance(value, Verdict):
        raise TypeError(f"{name}: the recorded answer is not a Verdict: {answer!r}")
    return value
