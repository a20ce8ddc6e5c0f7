"""pyx12 as a test oracle: the verdict of pyx12's 999 for an X12 interchange.

Why this exists: ``edi.x12`` is our own, faster validator, and it must reach
the same verdicts as pyx12 (the reference open-source HIPAA validator) on
the same input.  This module runs pyx12 on a byte string, parses the 999
(and the TA1) it writes, and reduces it to a small comparable value:

* ``Verdict.ta1``: TA105 when pyx12 wrote a TA1 with TA104 != "A", else None;
* per functional group (AK1..AK9): AK901, and per transaction set
  (AK2..IK5): AK202, IK501 and the sorted IK3/IK4 errors.

Dates, control numbers and everything else that varies run to run are left
out.  When pyx12 itself gives up (an exception, "Map not found", or the
999 writer failing half-way and leaving an empty or truncated 999, as on
an 835 without ST03), the result is a ``Pyx12Failure`` with the reason,
never a made-up verdict.

pyx12 runs with the project's map folder (``edi.maps.pyx12_map_folder()``,
which registers the 005010X222A2 / 005010X223A3 errata ids) plus the few
map corrections in ``_MAP_FIXES`` without which pyx12 cannot acknowledge an
835 or an 837I at all (see there).

Known pyx12 quirks worth remembering when reading verdicts: pyx12 stops
reading at an empty segment (``~~``); with several ISA errors it picks TA105
out of a set, i.e. by hash seed (the oracle sorts that set, so TA105 is the
lowest code); the 999 is always written with ``~ * :``.
"""

from __future__ import annotations

import functools
import io
import logging
import re
from dataclasses import dataclass

__all__ = [
    "GroupVerdict",
    "Pyx12Failure",
    "TxVerdict",
    "Verdict",
    "corpus_map_path",
    "parse_999",
    "pyx12_verdict",
]


@dataclass(frozen=True)
class TxVerdict:
    control_number: str  # AK202
    ik5: str  # IK501: A / E / R
    # sorted; ("IK3", seg_id, seg_pos, ik304) and
    # ("IK4", seg_id, seg_pos, element_pos "5" or "5:1", data_element_ref, ik403)
    errors: tuple[tuple, ...] = ()


@dataclass(frozen=True)
class GroupVerdict:
    ak9: str  # AK901
    transactions: tuple[TxVerdict, ...] = ()


@dataclass(frozen=True)
class Verdict:
    ta1: str | None = None  # TA105 when TA104 != "A"
    groups: tuple[GroupVerdict, ...] = ()


@dataclass(frozen=True)
class Pyx12Failure:
    reason: str


class _Incomplete(Exception):
    pass


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            msg += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
        self.messages.append(msg)


def _run_pyx12(text: str, map_path: str | None) -> tuple[bool, str, list[str]]:
    """Run pyx12 silently; return (valid, 999 text, error log messages)."""
    import pyx12.error_999
    import pyx12.params
    import pyx12.x12n_document

    logger = logging.getLogger("pyx12")
    # pyx12.error_999 sets its own logger to DEBUG, so silence at the parent
    # by not propagating, and keep ERRORs for the failure reason.
    saved = (logger.level, logger.propagate, logger.disabled)
    capture = _Capture()
    logger.setLevel(logging.ERROR)
    logger.propagate = False
    logger.disabled = False
    logger.addHandler(capture)
    sub = logging.getLogger("pyx12.error_999")
    sub_saved = sub.level
    sub.setLevel(logging.ERROR)
    # pyx12 takes TA105 from list(set(codes))[0]: with several ISA errors the
    # code depends on the hash seed.  Sort, so it is always the lowest code.
    visitor = pyx12.error_999.error_999_visitor
    isa_errors = visitor._error_999_visitor__get_isa_errors
    visitor._error_999_visitor__get_isa_errors = lambda self, err_isa: sorted(isa_errors(self, err_isa))
    try:
        out = io.StringIO()
        ok = pyx12.x12n_document.x12n_document(
            pyx12.params.params(), io.StringIO(text), out, None, map_path=map_path
        )
        return bool(ok), out.getvalue(), capture.messages
    finally:
        logger.removeHandler(capture)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
        logger.disabled = saved[2]
        sub.setLevel(sub_saved)
        visitor._error_999_visitor__get_isa_errors = isa_errors


def _split_999(text: str) -> list[list[str]]:
    """Segments of a 999 as element lists; element 1 of IK4 kept composite."""
    if not text.startswith("ISA") or len(text) < 106:
        raise _Incomplete("no ISA in pyx12's 999 output")
    sep, comp, term = text[3], text[104], text[105]
    segs = []
    for raw in text.split(term):
        raw = raw.strip("\r\n")
        if raw:
            segs.append([el.split(comp) for el in raw.split(sep)])
    return [[":".join(parts) for parts in seg] for seg in segs]


def parse_999(text: str) -> Verdict:
    """Reduce pyx12's 999 text to a Verdict; raise _Incomplete if truncated."""
    segs = _split_999(text)

    def el(seg: list[str], i: int) -> str:
        return seg[i] if len(seg) > i else ""

    ta1: str | None = None
    groups: list[GroupVerdict] = []
    txs: list[TxVerdict] | None = None  # open group
    tx: dict | None = None  # open transaction
    last_ik3: tuple[str, int] | None = None
    seen = {"ISA": False, "IEA": False}
    for seg in segs:
        sid = seg[0]
        if sid in seen:
            seen[sid] = True
        elif sid == "TA1":
            if el(seg, 4) != "A" and ta1 is None:
                ta1 = el(seg, 5)
        elif sid == "AK1":
            if txs is not None:
                raise _Incomplete("AK1 before the previous AK9")
            txs = []
        elif sid == "AK2":
            if txs is None or tx is not None:
                raise _Incomplete("AK2 outside a group or before the previous IK5")
            tx = {"cn": el(seg, 2), "errors": []}
            last_ik3 = None
        elif sid == "IK3":
            if tx is None:
                raise _Incomplete("IK3 outside AK2..IK5")
            last_ik3 = (el(seg, 1), int(el(seg, 2) or 0))
            tx["errors"].append(("IK3", *last_ik3, el(seg, 4)))
        elif sid == "IK4":
            if tx is None or last_ik3 is None:
                raise _Incomplete("IK4 without IK3")
            tx["errors"].append(("IK4", *last_ik3, el(seg, 1), el(seg, 2), el(seg, 3)))
        elif sid == "IK5":
            if tx is None or txs is None:
                raise _Incomplete("IK5 without AK2")
            txs.append(TxVerdict(tx["cn"], el(seg, 1), tuple(sorted(tx["errors"]))))
            tx = None
        elif sid == "AK9":
            if txs is None or tx is not None:
                raise _Incomplete("AK9 without AK1 or with an open AK2")
            groups.append(GroupVerdict(el(seg, 1), tuple(txs)))
            txs = None
    if txs is not None or tx is not None:
        raise _Incomplete("999 ends inside a group (AK1 without AK9)")
    if not (seen["ISA"] and seen["IEA"]):
        raise _Incomplete("999 without ISA/IEA")
    return Verdict(ta1, tuple(groups))


def pyx12_verdict(data: bytes, map_path: str | None = None) -> Verdict | Pyx12Failure:
    """pyx12's verdict on `data`.

    map_path: the map folder handed to pyx12; by default the project's maps
    (``corpus_map_path()``: ``edi.maps.pyx12_map_folder()`` plus
    ``_MAP_FIXES``).  Pass ``edi.maps.PYX12_MAP_DIR`` for pyx12's stock maps.
    Results are cached per (data, map folder): pyx12 is slow.
    """
    return _verdict(data, map_path if map_path is not None else corpus_map_path())


@functools.lru_cache(maxsize=4096)
def _verdict(data: bytes, map_path: str) -> Verdict | Pyx12Failure:
    text = data.decode("latin-1")
    try:
        _ok, ack, errors = _run_pyx12(text, map_path)
    except Exception as exc:  # pyx12 may raise anything on bad input
        return Pyx12Failure(f"{type(exc).__name__}: {exc}")
    log = "; ".join(dict.fromkeys(errors))
    if not ack.strip():
        return Pyx12Failure("pyx12 wrote no 999" + (f" ({log})" if log else ""))
    try:
        verdict = parse_999(ack)
    except (_Incomplete, ValueError) as exc:
        return Pyx12Failure(f"incomplete 999: {exc}" + (f" ({log})" if log else ""))
    if "Failed to create 999 response" in log:
        return Pyx12Failure(f"999 writer failed ({log})")
    return verdict


# pyx12 crashes in its 999 writer (KeyError in error_999.__get_st_errors)
# whenever an ST03 element error is reported, so with the stock maps it can
# never acknowledge a 5010 835 (its map marks ST03 "Not Used" although the
# TR3 requires it) nor an 837I under the 005010X223A3 errata id (the map's
# GS08/ST03 code lists only know 005010X223A2).  The 837P map's GS08 list
# gets 005010X222A2 too (else pyx12 answers AK9*A with AK905 2, "version not
# supported").  The oracle validates with the project's map folder plus these
# minimal corrections; each one is a no-op once edi/maps carries it.
_MAP_FIXES: dict[str, tuple[tuple[str, str, str], ...]] = {
    # map file: (element xid, "usage" | "code", usage to set | code to add)
    "835.5010.X221.A1.xml": (("ST03", "usage", "R"),),
    "837.5010.X222.A1.xml": (("GS08", "code", "005010X222A2"),),
    "837Q3.I.5010.X223.A1.xml": (("GS08", "code", "005010X223A3"), ("ST03", "code", "005010X223A3")),
}


def _fix_map(text: str, xid: str, what: str, value: str) -> str:
    start = text.find(f'xid="{xid}"')
    end = text.find("</element>", start)
    if start < 0 or end < 0:
        return text
    block = text[start:end]
    if what == "usage":
        block = re.sub(r"<usage>[^<]*</usage>", f"<usage>{value}</usage>", block, count=1)
    elif f"<code>{value}</code>" not in block and "</valid_codes>" in block:
        block = block.replace("</valid_codes>", f"  <code>{value}</code>\n</valid_codes>", 1)
    return text[:start] + block + text[end:]


def corpus_map_path() -> str:
    """The folder the agreement tests give pyx12 as ``map_path``.

    ``edi.maps.pyx12_map_folder()`` (pyx12's maps + ours + the errata ids),
    copied to a private temporary folder with ``_MAP_FIXES`` applied when any
    of them is still needed.
    """
    from edi.maps import pyx12_map_folder

    return _fixed_folder(str(pyx12_map_folder()))


@functools.cache
def _fixed_folder(folder: str) -> str:
    import atexit
    import shutil
    import tempfile
    from pathlib import Path

    fixed: dict[str, str] = {}
    for name, fixes in _MAP_FIXES.items():
        path = Path(folder) / name
        if not path.is_file():
            continue
        text = original = path.read_text(encoding="utf-8")
        for xid, what, value in fixes:
            text = _fix_map(text, xid, what, value)
        if text != original:
            fixed[name] = text
    if not fixed:
        return folder
    target = Path(tempfile.mkdtemp(prefix="edi-agreement-maps-"))
    atexit.register(shutil.rmtree, target, True)
    for src in Path(folder).iterdir():
        if src.is_file():
            shutil.copyfile(src, target / src.name)
    for name, text in fixed.items():
        (target / name).write_text(text, encoding="utf-8")
    return str(target)
