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
_I12 = "pyx12 codes a failed guide pattern (9-digit ZIP) IK403 7; the 999 guide's code is I12, and Not Used elements I10 not 10"
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

# variant name -> (one-line reason, our correct verdict: repr string or Verdict)
KNOWN_PYX12_DIFFERENCES: dict[str, tuple[str, str | Verdict]] = {
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
    "837P/demo.example1/drop-LX": (
        _LXSEQ,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='R', transactions=(TxVerdict(control_number='0021', ik5='R', errors=(('IK3', 'DTP', 29, '1'), ('IK3', 'LX', 30, '8'), ('IK3', 'LX', 33, '8'), ('IK3', 'LX', 36, '8'), ('IK3', 'SV1', 28, '1'), ('IK4', 'LX', 30, '1', '554', '7'), ('IK4', 'LX', 33, '1', '554', '7'), ('IK4', 'LX', 36, '1', '554', '7'))),)),))",
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
    "837P/demo.example2/duplicate-st02-same-ST02": (
        _DUPST,
        "Verdict(ta1=None, groups=(GroupVerdict(ak9='P', transactions=(TxVerdict(control_number='0021', ik5='A', errors=()), TxVerdict(control_number='0021', ik5='R', errors=()))),))",
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
