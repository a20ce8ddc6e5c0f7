"""Validate X12 interchanges against their implementation guides (WEDI SNIP types 1 and 2).

One pass over a stream of segments: envelope pairing, control numbers and counts (SNIP 1), then
each segment placed in its guide by the walker and checked element by element (SNIP 2). The
result is a `ValidationReport` of structured findings from which the 999 and TA1 are built.

Bad input never raises: an unreadable file, a truncated interchange or garbage in the middle of
a transaction all become findings. Messages never quote data values (they may be PHI); the value
is kept in `Finding.bad_value` for the 999's IK404.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .elements import ElementError, check_segment
from .fastcheck import fast_check
from .findings import (
    Finding,
    GroupResult,
    InterchangeResult,
    TransactionResult,
    ValidationReport,
)
from .grammar import Grammar, LoopRule, SegmentRule, load_grammar
from .reader import Source, X12Reader, X12SyntaxError
from .walker import Walker, WalkError

__all__ = ["validate", "Validator", "MapResolution"]

ProgressCallback = Callable[[int, int], None]

# TA1 note codes for ISA/IEA element errors, by element position (as pyx12 maps them).
_ISA_NOTE = {1: "010", 2: "011", 3: "012", 4: "013", 5: "005", 6: "006", 7: "007", 8: "008",
             9: "014", 10: "015", 11: "016", 12: "017", 13: "018", 14: "019", 15: "020", 16: "027"}
_IEA_NOTE = {1: "021", 2: "018"}
_ENVELOPE_IDS = frozenset(("ISA", "IEA", "GS", "GE", "ST", "SE"))
#: segments with bookkeeping beyond placement and element checks take the general path
_SLOW_LANE_IDS = _ENVELOPE_IDS | {""}
#: segments whose numbering the validator checks beyond the guide's element rules
_COUNTED_IDS = frozenset(("HL", "CLM", "LX"))
_BOUND_IDS = frozenset(("LS", "LE"))


@dataclass(frozen=True, slots=True)
class MapResolution:
    filename: str
    requested_vriic: str
    map_vriic: str
    substituted: bool


@lru_cache(maxsize=64)  # a stat of the map folders per group otherwise; maps do not move
def _default_resolver(icvn: str, fic: str, vriic: str) -> tuple[Path, MapResolution] | None:
    from edi.maps import find_map_file, resolve

    res = resolve(icvn, fic, vriic)
    if res is None:
        return None
    return find_map_file(res.filename), MapResolution(
        res.filename, res.requested_vriic, res.map_vriic, res.substituted
    )


@lru_cache(maxsize=4)
def _control_grammar(icvn: str) -> Grammar:
    import pyx12

    name = "x12.control.00501.xml" if icvn == "00501" else "x12.control.00401.xml"
    try:
        from edi.maps import find_map_file

        return load_grammar(find_map_file(name))
    except ImportError:  # pragma: no cover - registry always present in an installed tree
        return load_grammar(Path(pyx12.__file__).parent / "map" / name)


def _is_seg_id(seg_id: str) -> bool:
    return 2 <= len(seg_id) <= 3 and seg_id.isalnum() and seg_id.upper() == seg_id


class Validator:
    """Validation of one source; use `validate()` unless you need progress callbacks."""

    def __init__(
        self,
        resolver: Callable[[str, str, str], tuple[Path, MapResolution] | None] | None = None,
        progress: ProgressCallback | None = None,
        progress_every: int = 50_000,
        warn_codes: frozenset[str] | set[str] = frozenset(),
    ) -> None:
        """`warn_codes`: IK3/IK4 codes a trading partner agreement accepts with a note (IK5 "E")."""
        self.resolver = resolver or _default_resolver
        self.warn_codes = frozenset(warn_codes)
        self.progress = progress
        self.progress_every = progress_every

    def run(self, source: Source, name: str | None = None) -> ValidationReport:
        report = ValidationReport(source=name or _source_name(source))
        reader = X12Reader(source)
        try:
            self._run(reader, report)
        except X12SyntaxError as exc:
            code = "unreadable" if reader.interchanges == 0 else "syntax"
            report.findings.append(Finding("interchange", code, f"Not readable as X12: {exc}"))
        except (OSError, UnicodeError) as exc:
            report.findings.append(Finding("interchange", "unreadable", f"Cannot read input: {type(exc).__name__}"))
        report.segments = reader.segment_index + 1
        if reader.interchanges == 0 and not report.unreadable:
            report.findings.append(Finding("interchange", "unreadable", "No interchange (ISA) in the input"))
        if self.warn_codes:
            for t in report.iter_transactions():
                for f in t.findings:
                    if f.level in ("segment", "element") and f.code in self.warn_codes:
                        f.severity = "warning"
        return report

    # ------------------------------------------------------------------------------------------
    def _run(self, reader: X12Reader, report: ValidationReport) -> None:
        walker = Walker()
        isa: InterchangeResult | None = None
        gs: GroupResult | None = None
        st: TransactionResult | None = None
        grammar: Grammar | None = None
        control: Grammar = _control_grammar("00501")
        node: LoopRule | SegmentRule = control.root
        key_fields: dict = {}
        component = ":"
        repetition = ""
        isa_ids: set[str] = set()
        gs_ids: set[str] = set()
        st_ids: set[str] = set()
        seg_count = 0  # position in the transaction set, ST = 1
        st_list = None
        counters = _Numbering()
        bounds = _LoopBounds()
        check_lx = False
        gs_count = 0
        st_count = 0
        open_isa = open_gs = open_st = False
        business_unit: str | None = None
        progress = self.progress
        every = self.progress_every
        problems = reader.problems
        n_problems = 0
        transactions_done = 0

        def seg_finding(code: str, message: str, seg_id: str, pos: int, loop: str | None) -> Finding:
            return Finding("segment", code, message, segment_id=seg_id, segment_position=pos,
                           loop_id=loop, business_unit=business_unit, file_segment=reader.segment_index + 1)

        def add_element_errors(errors: list[ElementError], seg_id: str, loop: str | None) -> None:
            for e in errors:
                st.findings.append(  # type: ignore[union-attr]
                    Finding("element", e.code, e.message, segment_id=seg_id, segment_position=seg_count,
                            loop_id=loop, element_position=e.position, component_position=e.component,
                            repeat_position=e.repeat,
                            element_ref=e.element_ref, bad_value=e.bad_value,
                            business_unit=business_unit, file_segment=reader.segment_index + 1)
                )

        counts = walker.counts
        plans = walker.plans
        plan_for = walker.plan
        lane_keys: dict[str, tuple] = {}  # see _lane_keys
        #: the fast validity test of each segment rule met, for the interchange's separators
        fasts: dict[SegmentRule, Callable[[list[str]], bool]] = {}
        since_progress = 0
        for seg in reader:
            seg_id = seg[0]
            # ---------------- fast lane: an ordinary segment inside an open transaction ----------------
            if open_st and grammar is not None and len(problems) == n_problems:
                kp = lane_keys.get(seg_id)
                if kp is not None:
                    seg_count += 1
                    if kp:
                        p, c = kp
                        v = seg[p] if len(seg) > p else ""
                        if c and component in v:
                            v = v.split(component, 1)[0]
                        key = (node, seg_id, v)
                    else:
                        key = (node, seg_id)
                    plan = plans.get(key)
                    if plan is None:
                        plan = plan_for(key, node, seg)
                    target, ops, simple, enter = plan
                    if simple is not None:
                        n = counts.get(simple.slot, 0) + 1
                        counts[simple.slot] = n
                        if n > simple.max_use:
                            st.findings.append(seg_finding(  # type: ignore[union-attr]
                                "5", f"Segment {seg_id} ({simple.name}) exceeds its maximum use of {simple.max_use}",
                                seg_id, seg_count, simple.parent.id))
                    elif enter is not None:
                        loop_rule = enter[0]
                        if walker.enter(loop_rule, enter[1]) > loop_rule.repeat:
                            message = (f"Loop {loop_rule.id} ({loop_rule.name}) occurs more than its maximum of "
                                       f"{loop_rule.repeat}" if _is_seg_id(seg_id) else "Segment identifier is not valid")
                            st.findings.append(seg_finding("4", message, seg_id[:3], seg_count, loop_rule.id))  # type: ignore[union-attr]
                    else:
                        for w in walker.replay(ops, seg_id):
                            loop = _loop_id(w.node) if w.node is not None else _loop_id(node)
                            message = w.message if _is_seg_id(w.segment_id) else "Segment identifier is not valid"
                            st.findings.append(seg_finding(w.code, message, w.segment_id[:3], seg_count, loop))  # type: ignore[union-attr]
                        if target is None:
                            continue
                    node = target
                    if bounds.parent is not None or seg_id in _BOUND_IDS:
                        bounds.see(target, seg, seg_count, st.findings, reader.segment_index + 1)  # type: ignore[union-attr]
                    if seg_id in _COUNTED_IDS:
                        business_unit = counters.see(seg, seg_count, target.parent.id, st.findings,  # type: ignore[union-attr]
                                                     reader.segment_index + 1, business_unit)
                    if seg[-1] == "" and len(seg) > 1:
                        st.findings.append(seg_finding(  # type: ignore[union-attr]
                            "8", "Segment ends with an element separator", seg_id, seg_count, target.parent.id))
                    fast = fasts.get(target)
                    if fast is None:
                        fast = fasts[target] = fast_check(target, component, repetition)
                    if not fast(seg):
                        errors = check_segment(target, seg, component, repetition)
                        if errors:
                            add_element_errors(errors, seg_id, target.parent.id)
                    since_progress += 1
                    if since_progress >= every and progress is not None:
                        since_progress = 0
                        progress(reader.segment_index, transactions_done)
                    continue
            if progress is not None and reader.segment_index % every == 0 and reader.segment_index:
                progress(reader.segment_index, transactions_done)
            if len(problems) > n_problems:
                for p in problems[n_problems:]:
                    if p.kind == "unterminated-segment":
                        report.findings.append(Finding("interchange", "unterminated",
                                                       "The last segment has no segment terminator",
                                                       file_segment=p.segment_index + 1))
                n_problems = len(problems)
            if seg == [""]:
                if st is not None and open_st:
                    st.findings.append(Finding("transaction", "I5", "Empty segment (two terminators in a row)",
                                               file_segment=reader.segment_index + 1))
                continue
            if seg_id and seg_id[0] in " \t":
                if st is not None:
                    st.findings.append(seg_finding("1", "Segment begins with white space", seg_id.strip(),
                                                   seg_count + 1, None))
                seg_id = seg_id.lstrip(" \t")
                seg = [seg_id, *seg[1:]]  # a copy: the segment may be another reader's too (ReadSegments)

            # ---------------- ISA ----------------
            if seg_id == "ISA":
                if open_st and st is not None:
                    st.findings.append(Finding("transaction", "2", "Transaction set trailer (SE) missing"))
                if open_gs and gs is not None:
                    gs.findings.append(Finding("group", "3", "Functional group trailer (GE) missing"))
                if open_isa and isa is not None:
                    isa.findings.append(Finding("interchange", "023", "Interchange trailer (IEA) missing"))
                open_st = open_gs = False
                d = reader.delimiters
                if (d.component, d.repetition) != (component, repetition):
                    fasts = {}
                component = d.component
                repetition = d.repetition
                el = seg + [""] * (17 - len(seg))
                isa = InterchangeResult(
                    control_number=el[13], sender_qualifier=el[5], sender_id=el[6], receiver_qualifier=el[7],
                    receiver_id=el[8], date=el[9], time=el[10], version=el[12], usage=el[15],
                    ack_requested=el[14], delimiters=d.to_dict(),
                )
                report.interchanges.append(isa)
                open_isa = True
                if el[13] in isa_ids:
                    isa.findings.append(Finding("interchange", "025", "Duplicate interchange control number in this file"))
                isa_ids.add(el[13])
                gs_ids = set()
                gs_count = 0
                control = _control_grammar(el[12] if el[12] in ("00401", "00501") else "00501")
                isa_node = control.node_by_path("/ISA_LOOP/ISA")
                walker.new_interchange(component)
                counts = walker.counts
                plans = walker.plans
                walker.force_loop_start(isa_node.parent, isa_node)  # type: ignore[arg-type]
                node = isa_node
                if el[12] != "00501":
                    isa.findings.append(Finding("interchange", "017", "Interchange version (ISA12) is not 00501"))
                elif el[11] in (d.element, d.component, d.segment) or el[11].isalnum():
                    isa.findings.append(Finding("interchange", "016", "Repetition separator (ISA11) is missing or not distinct",
                                                element_position=11))
                for e in _envelope_errors(isa_node, seg, "\x00", ""):  # type: ignore[arg-type]
                    isa.findings.append(Finding("interchange", _ISA_NOTE.get(e.position, "026"),
                                                f"ISA: {e.message}", element_position=e.position,
                                                bad_value=e.bad_value))
                continue

            if isa is None:
                report.findings.append(Finding("interchange", "unreadable", "Segment outside an interchange"))
                continue

            # ---------------- GS ----------------
            if seg_id == "GS":
                if open_st and st is not None:
                    st.findings.append(Finding("transaction", "2", "Transaction set trailer (SE) missing"))
                    open_st = False
                if open_gs and gs is not None:
                    gs.findings.append(Finding("group", "3", "Functional group trailer (GE) missing"))
                el = seg + [""] * (9 - len(seg))
                gs = GroupResult(functional_id=el[1], control_number=el[6], version=el[8],
                                 sender_code=el[2], receiver_code=el[3])
                isa.groups.append(gs)
                open_gs = True
                gs_count += 1
                st_count = 0
                st_ids = set()
                if el[6] in gs_ids:
                    gs.findings.append(Finding("group", "19", "Duplicate group control number in this interchange"))
                gs_ids.add(el[6])
                resolved = self.resolver(isa.version, el[1], el[8])
                gs_node = control.node_by_path("/ISA_LOOP/GS_LOOP/GS")
                walker.force_loop_start(gs_node.parent, gs_node)  # type: ignore[arg-type]
                if resolved is None:
                    grammar = None
                    gs.findings.append(Finding("group", "2", f"No implementation guide is supported for GS08 {el[8]!r} with GS01 {el[1]!r}"))
                    node = gs_node
                    check_lx = False
                    gs_rule = gs_node
                else:
                    path, res = resolved
                    grammar = load_grammar(path)
                    key_fields = grammar.key_fields
                    lane_keys = _lane_keys(grammar)
                    check_lx = grammar.id == "837"
                    node = grammar.node_by_path("/ISA_LOOP/GS_LOOP/GS")
                    gs_rule = node
                    if res.substituted:
                        gs.findings.append(Finding(
                            "group", "info",
                            f"{res.requested_vriic} is validated with the {res.map_vriic} implementation guide map",
                            severity="info"))
                for e in _envelope_errors(gs_rule, seg, component, ""):  # type: ignore[arg-type]
                    if e.position == 8 and resolved is not None and resolved[1].substituted and e.code == "7":
                        continue  # an errata identifier resolved to its base guide
                    gs.findings.append(Finding("group", {6: "6", 8: "2"}.get(e.position, "1"), f"GS: {e.message}",
                                               element_position=e.position, bad_value=e.bad_value))
                continue

            # ---------------- walk ----------------
            if seg_id not in _ENVELOPE_IDS:
                seg_count += 1
            elif seg_id == "ST":
                seg_count = 1
            grammar_active = grammar is not None
            if grammar_active:
                kp = key_fields.get(seg_id, ())
                if len(kp) == 1:
                    p, c = kp[0]
                    v = seg[p] if len(seg) > p else ""
                    if c and component in v:
                        v = v.split(component, 1)[0]
                    target, ops, simple, _ = plan_for((node, seg_id, v), node, seg)
                    if simple is not None:
                        n = counts.get(simple.slot, 0) + 1
                        counts[simple.slot] = n
                        walk_errors = [] if n <= simple.max_use else [WalkError(
                            "5", simple, seg_id,
                            f"Segment {seg_id} ({simple.name}) exceeds its maximum use of {simple.max_use}")]
                    else:
                        walk_errors = walker.replay(ops, seg_id)
                else:
                    target, walk_errors = walker.walk(node, seg, kp)
            else:
                target, walk_errors = None, []
                if seg_id in ("GE", "IEA"):
                    target = control.node_by_path(
                        "/ISA_LOOP/GS_LOOP/GE" if seg_id == "GE" else "/ISA_LOOP/IEA")  # type: ignore[assignment]
            if walk_errors and st is not None:
                for w in walk_errors:
                    loop = _loop_id(w.node) if w.node is not None else _loop_id(node)
                    message = w.message if _is_seg_id(w.segment_id) else "Segment identifier is not valid"
                    st.findings.append(seg_finding(w.code, message, w.segment_id[:3], seg_count, loop))
            if target is None:
                if grammar_active or seg_id not in _ENVELOPE_IDS:
                    continue
            else:
                node = target

            # ---------------- envelope bookkeeping ----------------
            if seg_id == "ST":
                if open_st and st is not None:
                    st.findings.append(Finding("transaction", "2", "Transaction set trailer (SE) missing"))
                el = seg + [""] * (4 - len(seg))
                if gs is None:
                    gs = GroupResult(functional_id="", control_number="", version="")
                    isa.groups.append(gs)
                    gs.findings.append(Finding("group", "3", "Transaction set outside a functional group"))
                if st is not None and st_list is not None:
                    st_list.compact_last()  # the previous set is complete
                st_list = gs.transactions
                st = TransactionResult(transaction_set_id=el[1], control_number=el[2],
                                       implementation_reference=el[3] or gs.version,
                                       map_file=grammar.file if grammar else None)
                gs.transactions.append(st)
                open_st = True
                st_count += 1
                if el[2] in st_ids:
                    st.findings.append(Finding("transaction", "23", "Duplicate transaction set control number in this group"))
                st_ids.add(el[2])
                counters.reset(check_lx)
                bounds.parent = None
                business_unit = None
                if grammar is None:
                    st.findings.append(Finding("transaction", "I6", "Implementation convention not supported"))
                    continue
                if target is None:
                    continue
                for e in _envelope_errors(target, seg, component, repetition):  # type: ignore[arg-type]
                    if e.position == 3:
                        continue  # ST03 is judged below, against GS08
                    code = {1: "6", 2: "7"}.get(e.position)
                    st.findings.append(Finding("transaction", code or "5", f"ST: {e.message}",
                                               element_position=e.position, bad_value=e.bad_value))
                st03 = el[3]
                if isa.version == "00501":
                    if not st03:
                        st.findings.append(Finding("element", "1", "Required element ST03 (Implementation Convention Reference) is missing",
                                                   segment_id="ST", segment_position=1, element_position=3, element_ref="1705",
                                                   file_segment=reader.segment_index + 1))
                    elif st03 != gs.version:
                        st.findings.append(Finding("element", "7", "ST03 does not match GS08",
                                                   segment_id="ST", segment_position=1, element_position=3, element_ref="1705",
                                                   bad_value=st03, file_segment=reader.segment_index + 1))
                continue

            if seg_id == "SE":
                el = seg + [""] * (3 - len(seg))
                if st is None or not open_st:
                    if gs is not None:
                        gs.findings.append(Finding("group", "1", "SE without a matching ST"))
                    continue
                bounds.missing(seg_count + 1, st.findings, reader.segment_index + 1)
                if el[2] != st.control_number:
                    st.findings.append(Finding("transaction", "3", "SE02 does not match ST02"))
                if _int(el[1]) != seg_count + 1:
                    st.findings.append(Finding("transaction", "4", "SE01 does not match the number of segments"))
                st.segment_count = seg_count + 1
                for e in _envelope_errors(target, seg, component, repetition):
                    st.findings.append(Finding("transaction", {1: "6", 2: "7"}.get(e.position, "5"),
                                               f"SE: {e.message}", element_position=e.position, bad_value=e.bad_value))
                open_st = False
                transactions_done += 1
                continue

            if seg_id == "GE":
                el = seg + [""] * (3 - len(seg))
                if gs is None or not open_gs:
                    isa.findings.append(Finding("interchange", "024", "GE without a matching GS"))
                    continue
                if open_st and st is not None:
                    st.findings.append(Finding("transaction", "2", "Transaction set trailer (SE) missing"))
                    open_st = False
                if el[2] != gs.control_number:
                    gs.findings.append(Finding("group", "4", "GE02 does not match GS06"))
                gs.declared_count = _int(el[1])
                if gs.declared_count != st_count:
                    gs.findings.append(Finding("group", "5", "GE01 does not match the number of transaction sets"))
                for e in _envelope_errors(target, seg, component, repetition):  # type: ignore[arg-type]
                    gs.findings.append(Finding("group", {2: "6"}.get(e.position, "1"), f"GE: {e.message}",
                                               element_position=e.position, bad_value=e.bad_value))
                open_gs = False
                continue

            if seg_id == "IEA":
                el = seg + [""] * (3 - len(seg))
                if open_st and st is not None:
                    st.findings.append(Finding("transaction", "2", "Transaction set trailer (SE) missing"))
                    open_st = False
                if open_gs and gs is not None:
                    gs.findings.append(Finding("group", "3", "Functional group trailer (GE) missing"))
                    isa.findings.append(Finding("interchange", "024", "Functional group trailer (GE) missing"))
                    open_gs = False
                if el[2] != isa.control_number:
                    isa.findings.append(Finding("interchange", "001", "IEA02 does not match ISA13"))
                if _int(el[1]) != gs_count:
                    isa.findings.append(Finding("interchange", "021", "IEA01 does not match the number of functional groups"))
                for e in _envelope_errors(target, seg, component, repetition):  # type: ignore[arg-type]
                    isa.findings.append(Finding("interchange", _IEA_NOTE.get(e.position, "026"), f"IEA: {e.message}",
                                                element_position=e.position, bad_value=e.bad_value))
                open_isa = False
                gs = None
                st = None
                continue

            if st is None or not open_st:
                continue  # data between SE and GE: placement errors already recorded where possible
            loop = target.parent.id  # type: ignore[union-attr]
            if bounds.parent is not None or seg_id in _BOUND_IDS:
                bounds.see(target, seg, seg_count, st.findings, reader.segment_index + 1)  # type: ignore[arg-type]
            if seg_id in _COUNTED_IDS:
                business_unit = counters.see(seg, seg_count, loop, st.findings, reader.segment_index + 1, business_unit)
            if seg[-1] == "" and len(seg) > 1:
                st.findings.append(seg_finding("8", "Segment ends with an element separator", seg_id, seg_count, loop))
            fast = fasts.get(target)  # type: ignore[arg-type]
            if fast is None:
                fast = fasts[target] = fast_check(target, component, repetition)  # type: ignore[index,arg-type]
            if not fast(seg):
                errors = check_segment(target, seg, component, repetition)  # type: ignore[arg-type]
                if errors:
                    add_element_errors(errors, seg_id, loop)

        # ---------------- end of input ----------------
        if open_st and st is not None:
            st.findings.append(Finding("transaction", "2", "Transaction set trailer (SE) missing"))
        if open_gs and gs is not None:
            gs.findings.append(Finding("group", "3", "Functional group trailer (GE) missing"))
        if open_isa and isa is not None:
            isa.findings.append(Finding("interchange", "023", "Interchange trailer (IEA) missing"))
        for p in problems[n_problems:]:
            if p.kind == "trailing-data":
                report.findings.append(Finding("interchange", "trailing-data", "Data after the last IEA",
                                               severity="error", file_segment=p.segment_index + 1))
        if progress is not None:
            progress(reader.segment_index + 1, transactions_done)


class _Numbering:
    """HL01 sequence, HL02 parent and 837 LX01 sequence checks, within one transaction set."""

    __slots__ = ("hl_stack", "hl_open", "hl_count", "lx_count", "check_lx")

    def __init__(self) -> None:
        self.reset(False)

    def reset(self, check_lx: bool) -> None:
        self.hl_stack: list[int] = []
        self.hl_open: set[int] = set()  # members of hl_stack, for constant-time parent checks
        self.hl_count = 0
        self.lx_count = 0
        self.check_lx = check_lx

    def see(
        self, seg: list[str], pos: int, loop: str, findings: list[Finding], file_seg: int, business_unit: str | None
    ) -> str | None:
        """Check one HL, CLM or LX; return the claim identifier (CLM01) now in effect."""
        seg_id = seg[0]
        if seg_id == "HL":
            self.hl_count += 1
            el = seg + [""] * (4 - len(seg))
            if el[1].isdigit() and int(el[1]) != self.hl_count:
                findings.append(Finding("element", "7", f"HL01 is not the next hierarchical id ({self.hl_count})",
                                        segment_id="HL", segment_position=pos, loop_id=loop, element_position=1,
                                        element_ref="628", bad_value=el[1], file_segment=file_seg))
            if el[2] == "":
                # a new top-level hierarchy: nothing before it can be a parent any more (this also
                # keeps memory flat on files of 100,000 billing-provider levels)
                self.hl_stack.clear()
                self.hl_open.clear()
            else:
                parent = _int(el[2])
                if parent not in self.hl_open:
                    findings.append(Finding("element", "7", "HL02 does not name an earlier parent HL",
                                            segment_id="HL", segment_position=pos, loop_id=loop, element_position=2,
                                            element_ref="734", bad_value=el[2], file_segment=file_seg))
                while self.hl_stack and parent != self.hl_stack[-1]:
                    self.hl_open.discard(self.hl_stack.pop())
            self.hl_stack.append(self.hl_count)
            self.hl_open.add(self.hl_count)
            return None
        if not self.check_lx:
            return business_unit
        if seg_id == "CLM":
            self.lx_count = 0
            return seg[1] if len(seg) > 1 else ""
        self.lx_count += 1
        if len(seg) > 1 and seg[1].isdigit() and seg[1] != str(self.lx_count):
            findings.append(Finding("element", "7", f"LX01 is not the next service line number ({self.lx_count})",
                                    segment_id="LX", segment_position=pos, loop_id=loop, element_position=1,
                                    element_ref="554", bad_value=seg[1] if len(seg) > 1 else None,
                                    file_segment=file_seg))
        return business_unit


class _LoopBounds:
    """LS/LE pairs around bounded loops (271 2120C/D): an LS needs its LE, an LE its LS."""

    __slots__ = ("parent", "ls_pos", "le_pos")

    def __init__(self) -> None:
        self.parent: LoopRule | None = None
        self.ls_pos = self.le_pos = 0

    @property
    def open(self) -> bool:
        return self.parent is not None

    def see(self, target: SegmentRule, seg: list[str], pos: int, findings: list[Finding], file_seg: int) -> None:
        seg_id = seg[0]
        if self.parent is not None:
            if seg_id == "LE" and target.parent is self.parent:
                self.parent = None  # LE01's value is checked by the guide's code list
                return
            if seg_id == "LS" and target.parent is self.parent:
                return  # a repeated LS is over its maximum use; that is the error to report
            loop = target.parent
            while loop is not None and loop.parent is not self.parent:
                loop = loop.parent
            if loop is not None and self.ls_pos < loop.pos < self.le_pos:
                return
            self.missing(pos, findings, file_seg)
        if seg_id == "LS":
            le = next((n for n in target.parent.iter_children()
                       if isinstance(n, SegmentRule) and n.id == "LE" and n.pos > target.pos), None)
            if le is not None:
                self.parent, self.ls_pos, self.le_pos = target.parent, target.pos, le.pos
        elif seg_id == "LE":
            findings.append(Finding("segment", "2", "LE without a preceding LS", segment_id="LE", segment_position=pos,
                                    loop_id=target.parent.id, file_segment=file_seg))

    def missing(self, pos: int, findings: list[Finding], file_seg: int) -> None:
        if self.parent is not None:
            findings.append(Finding("segment", "3", "Required segment LE (loop trailer) is missing after the bounded loop",
                                    segment_id="LE", segment_position=pos, loop_id=self.parent.id, file_segment=file_seg))
            self.parent = None


@lru_cache(maxsize=32)
def _lane_keys(grammar: Grammar) -> dict[str, tuple]:
    """Segment id -> where its qualifier is read ((element, component), or () for none), for the
    ids of `grammar` the validator's fast lane takes: not the envelope, at most one qualifier."""
    return {k: v[0] if v else () for k, v in grammar.key_fields.items()
            if len(v) < 2 and k not in _SLOW_LANE_IDS and k[:1] not in (" ", "\t")}


def _envelope_errors(rule: SegmentRule | None, seg: list[str], component: str, repetition: str) -> list[ElementError]:
    """Element errors of an envelope segment, through the generated fast test first."""
    if rule is None:
        return []
    if fast_check(rule, component, repetition)(seg):
        return []
    return check_segment(rule, seg, component, repetition)


def _loop_id(node: LoopRule | SegmentRule | None) -> str | None:
    if node is None:
        return None
    loop = node if isinstance(node, LoopRule) else node.parent
    return loop.id if loop is not None else None


def _int(value: str) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _source_name(source: Source) -> str:
    if isinstance(source, str | os.PathLike):
        return os.fspath(source)
    if isinstance(source, bytes | bytearray):
        return "<bytes>"
    return getattr(source, "name", "<stream>")


def validate(source: Source, name: str | None = None, **kwargs) -> ValidationReport:
    """Validate every interchange in `source` (path, bytes or binary stream)."""
    return Validator(**kwargs).run(source, name)
