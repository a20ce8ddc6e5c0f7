"""Implementation-guide grammars compiled from pyx12-format map XML.

The grammar is data (pyx12's maps and the project's own maps in the same format); this module
turns a map file into plain, slot-based Python objects once, with everything the validator needs
per segment precomputed: element rules with resolved data types and lengths, valid-code sets
(external code lists included), syntax rules, child positions in order, counter slots and
descendant sets. Nothing here validates data; `edi.x12.engine` does.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

__all__ = [
    "ElementRule",
    "CompositeRule",
    "SegmentRule",
    "LoopRule",
    "Grammar",
    "load_grammar",
    "data_elements",
    "external_codes",
]

MAXINT = 2**31 - 1


def _pyx12_map_dir() -> Path:
    import pyx12

    return Path(pyx12.__file__).parent / "map"


def _field(elem: ET.Element, name: str) -> str | None:
    """pyx12 maps store node properties either as attributes (v2) or as child elements (v1)."""
    value = elem.get(name)
    if value:
        return value
    return elem.findtext(name)


def _repeat(value: str | None) -> int:
    if value is None or value.strip() in (">1", "&gt;1", ""):
        return MAXINT
    return int(value)


@cache
def data_elements(path: str | None = None) -> dict[str, tuple[str, int, int, str]]:
    """Data element dictionary: number -> (data type, min length, max length, name)."""
    file = Path(path) if path else _pyx12_map_dir() / "dataele.xml"
    out: dict[str, tuple[str, int, int, str]] = {}
    for e in ET.parse(file).getroot().iter("data_ele"):
        out[e.get("ele_num", "")] = (
            e.get("data_type", "AN"),
            int(e.get("min_len", "1")),
            int(e.get("max_len", "9999")),
            e.get("name", ""),
        )
    return out


@cache
def external_codes(path: str | None = None) -> dict[str, frozenset[str]]:
    """External code lists (states, service types, ...) by code set id."""
    file = Path(path) if path else _pyx12_map_dir() / "codes.xml"
    out: dict[str, frozenset[str]] = {}
    for cs in ET.parse(file).getroot().iter("codeset"):
        cid = cs.findtext("id") or ""
        out[cid] = frozenset((c.text or "") for c in cs.iter("code"))
    return out


@dataclass(slots=True, eq=False)
class ElementRule:
    ref: str  # reference designator, e.g. "NM109" or "CLM05-1"
    name: str
    usage: str
    seq: int
    data_ele: str
    data_type: str
    min_len: int
    max_len: int
    codes: frozenset[str] | None
    external: str | None
    external_set: frozenset[str] | None
    regex: re.Pattern[str] | None
    regex_text: str | None
    max_use: int
    in_composite: bool = False
    composite_usage: str | None = None
    first_code: str | None = None  # first listed code, in map order

    @property
    def is_composite(self) -> bool:
        return False


@dataclass(slots=True, eq=False)
class CompositeRule:
    ref: str
    name: str
    usage: str
    seq: int
    data_ele: str
    components: list[ElementRule]
    max_use: int

    @property
    def is_composite(self) -> bool:
        return True


@dataclass(slots=True, eq=False)
class SegmentRule:
    id: str
    name: str
    usage: str
    pos: int
    max_use: int
    syntax: list[tuple[str, tuple[int, ...]]]
    children: list[ElementRule | CompositeRule]
    parent: LoopRule
    path: str = ""
    path_part: str = ""
    slot: int = -1
    index: int = -1  # position in Grammar.nodes
    # where the qualifier that tells same-id segments apart is read: (element, component or 0)
    key_field: tuple[int, int] | None = None
    key_codes: frozenset[str] | None = None
    fast: object = None  # generated "certainly valid" tests by separators (edi.x12.fastcheck), made on first use

    is_loop = False

    @property
    def eq_key(self) -> tuple[str, str]:
        return (self.id, self.parent.id)

    def matches(self, seg: list[str], component: str) -> bool:
        """Is `seg` an occurrence of this segment (id and, where the guide uses one, qualifier)?"""
        if seg[0] != self.id:
            return False
        if self.key_field is None:
            return True
        ele, comp = self.key_field
        value = seg[ele] if len(seg) > ele else ""
        if comp:
            value = value.split(component)[0] if value else ""
        elif component in value:
            return False  # a composite where a simple qualifier belongs matches nothing
        return value in self.key_codes  # type: ignore[operator]


@dataclass(slots=True, eq=False)
class LoopRule:
    id: str
    name: str
    usage: str
    pos: int
    repeat: int
    type: str | None
    parent: LoopRule | None
    children: list[tuple[int, list[LoopRule | SegmentRule]]]
    path: str = ""
    path_part: str = ""
    slot: int = -1
    index: int = -1
    descendant_slots: frozenset[int] = frozenset()

    is_loop = True

    @property
    def eq_key(self) -> tuple[str, str | None]:
        return (self.id, self.parent.id if self.parent else None)

    @property
    def is_root(self) -> bool:
        return self.parent is None

    def first_node(self) -> LoopRule | SegmentRule | None:
        return self.children[0][1][0] if self.children else None

    def first_segment(self) -> SegmentRule | None:
        node = self.first_node()
        return node if isinstance(node, SegmentRule) else None

    def iter_children(self):  # noqa: ANN201
        for _, nodes in self.children:
            yield from nodes


@dataclass(eq=False)
class Grammar:
    """One compiled implementation guide (or the control-segment grammar)."""

    id: str  # transaction set id, e.g. "837"
    name: str
    file: str
    root: LoopRule
    nodes: list[LoopRule | SegmentRule]
    slots: int
    # seg id -> element positions (1-based; (element, component)) read to tell same-id segments apart
    key_fields: dict[str, tuple[tuple[int, int], ...]]

    def node_by_path(self, path: str) -> LoopRule | SegmentRule:
        for node in self.nodes:
            if node.path == path:
                return node
        raise KeyError(path)

    def loop(self, loop_id: str) -> LoopRule:
        for node in self.nodes:
            if node.is_loop and node.id == loop_id:
                return node  # type: ignore[return-value]
        raise KeyError(loop_id)


class _Compiler:
    def __init__(self, file: Path) -> None:
        self.file = file
        self.dataele = data_elements()
        self.codes = external_codes()

    def element(self, e: ET.Element, in_composite: bool = False, comp_usage: str | None = None) -> ElementRule:
        ref = e.get("xid") or ""
        data_ele = _field(e, "data_ele") or ""
        dtype, mn, mx, _ = self.dataele.get(data_ele, ("AN", 1, 9999, ""))
        codes: frozenset[str] | None = None
        external = None
        first_code = None
        v = e.find("valid_codes")
        if v is not None:
            external = v.get("external")
            listed = [c.text or "" for c in v.findall("code")]
            codes = frozenset(listed) if listed else None
            first_code = listed[0] if listed else None
        regex_text = e.findtext("regex") or None
        return ElementRule(
            ref=ref,
            name=_field(e, "name") or "",
            usage=_field(e, "usage") or "S",
            seq=int(_field(e, "seq") or "0"),
            data_ele=data_ele,
            data_type=dtype,
            min_len=mn,
            max_len=mx,
            codes=codes,
            external=external,
            external_set=self.codes.get(external) if external else None,
            regex=re.compile(regex_text, re.S) if regex_text else None,
            regex_text=regex_text,
            max_use=_repeat(_field(e, "repeat") or _field(e, "max_use") or "1"),
            in_composite=in_composite,
            composite_usage=comp_usage,
            first_code=first_code,
        )

    def composite(self, e: ET.Element) -> CompositeRule:
        usage = _field(e, "usage") or "S"
        comps = {}
        for c in e.findall("element"):
            comps[int(_field(c, "seq") or "0")] = self.element(c, True, usage)
        return CompositeRule(
            ref=e.get("xid") or "",
            name=_field(e, "name") or "",
            usage=usage,
            seq=int(_field(e, "seq") or "0"),
            data_ele=_field(e, "data_ele") or "",
            components=[comps[k] for k in sorted(comps)],
            max_use=_repeat(_field(e, "repeat") or _field(e, "max_use") or "1"),
        )

    def segment(self, e: ET.Element, parent: LoopRule) -> SegmentRule:
        children: dict[int, ElementRule | CompositeRule] = {}
        for c in e.findall("element"):
            rule = self.element(c)
            children[rule.seq] = rule
        for c in e.findall("composite"):
            rule = self.composite(c)
            children[rule.seq] = rule
        syntax = []
        for s in e.findall("syntax"):
            text = (s.text or "").strip()
            if text and text[0] in "PRCLE":
                syntax.append((text[0], tuple(int(text[i : i + 2]) for i in range(1, len(text) - 1, 2))))
        seg = SegmentRule(
            id=e.get("xid") or "",
            name=_field(e, "name") or "",
            usage=_field(e, "usage") or "S",
            pos=int(_field(e, "pos") or "0"),
            max_use=_repeat(_field(e, "max_use")),
            syntax=syntax,
            children=[children[k] for k in sorted(children)],
            parent=parent,
        )
        seg.key_field, seg.key_codes = _key_field(seg)
        return seg

    def loop(self, e: ET.Element, parent: LoopRule | None) -> LoopRule:
        loop = LoopRule(
            id=e.get("xid") or "",
            name=_field(e, "name") or "",
            usage=_field(e, "usage") or "S",
            pos=int(_field(e, "pos") or "0"),
            repeat=_repeat(_field(e, "repeat")),
            type=e.get("type"),
            parent=parent,
            children=[],
        )
        by_pos: dict[int, list[LoopRule | SegmentRule]] = {}
        for c in e.findall("loop"):
            child = self.loop(c, loop)
            by_pos.setdefault(child.pos, []).append(child)
        for c in e.findall("segment"):
            child = self.segment(c, loop)
            by_pos.setdefault(child.pos, []).append(child)
        loop.children = [(p, by_pos[p]) for p in sorted(by_pos)]
        return loop


def _key_field(seg: SegmentRule) -> tuple[tuple[int, int] | None, frozenset[str] | None]:
    """Which value tells this segment from its same-id siblings (mirrors pyx12's is_match)."""
    ch = seg.children
    c0 = ch[0] if len(ch) > 0 else None
    c1 = ch[1] if len(ch) > 1 else None
    c2 = ch[2] if len(ch) > 2 else None
    if isinstance(c0, ElementRule) and c0.data_type == "ID" and c0.usage == "R" and c0.codes:
        return (1, 0), c0.codes
    if seg.id == "ENT" and isinstance(c1, ElementRule) and c1.data_type == "ID" and c1.codes:
        return (2, 0), c1.codes
    if (
        seg.id == "CTX"
        and isinstance(c0, CompositeRule)
        and c0.components
        and c0.components[0].data_type == "AN"
        and c0.components[0].codes
    ):
        return (1, 1), c0.components[0].codes
    if (
        isinstance(c0, CompositeRule)
        and c0.components
        and c0.components[0].data_type == "ID"
        and c0.components[0].codes
    ):
        return (1, 1), c0.components[0].codes
    if seg.id == "HL" and isinstance(c2, ElementRule) and c2.codes:
        return (3, 0), c2.codes
    return None, None


def _guess_key_code(seg: SegmentRule) -> str | None:
    """pyx12 names same-position segments in counter paths by their first qualifier code."""
    ch = seg.children
    c0 = ch[0] if len(ch) > 0 else None
    c1 = ch[1] if len(ch) > 1 else None
    c2 = ch[2] if len(ch) > 2 else None
    for cand in (
        c0 if isinstance(c0, ElementRule) and c0.data_type == "ID" and c0.codes else None,
        c1 if seg.id == "ENT" and isinstance(c1, ElementRule) and c1.data_type == "ID" and c1.codes else None,
        c0.components[0]
        if isinstance(c0, CompositeRule) and c0.components and c0.components[0].data_type == "ID" and c0.components[0].codes
        else None,
        c2 if seg.id == "HL" and isinstance(c2, ElementRule) and c2.codes else None,
    ):
        if cand is not None:
            return cand.first_code
    return None


def _descendants(loop: LoopRule) -> set[int]:
    out: set[int] = set()
    for child in loop.iter_children():
        out.add(child.slot)
        if isinstance(child, LoopRule):
            out |= _descendants(child)
    loop.descendant_slots = frozenset(out - {loop.slot})
    return out


#: Counter slots are numbered per distinct node path across every grammar in the process, so that
#: counts kept while the control grammar is active (ISA, GS) stay meaningful in the transaction grammar.
_SLOT_OF_PATH: dict[str, int] = {"/": 0}


def _finish(root: LoopRule, grammar_id: str, name: str, file: str) -> Grammar:
    nodes: list[LoopRule | SegmentRule] = []
    slot_of_path = _SLOT_OF_PATH

    def visit(node: LoopRule | SegmentRule, parent_path: str) -> None:
        node.path = (parent_path if parent_path != "/" else "") + "/" + node.path_part
        node.index = len(nodes)
        nodes.append(node)
        node.slot = slot_of_path.setdefault(node.path, len(slot_of_path))
        if isinstance(node, LoopRule):
            for child in node.iter_children():
                visit(child, node.path)

    # path parts: loops by id; segments by id, plus "[code]" where several share a position
    for node in _walk(root):
        node.path_part = node.id
    for loop in (n for n in _walk(root) if isinstance(n, LoopRule)):
        for _, group in loop.children:
            if len(group) > 1:
                for seg in group:
                    if isinstance(seg, SegmentRule):
                        code = _guess_key_code(seg)
                        if code is not None:
                            seg.path_part = f"{seg.id}[{code}]"
    root.path = ""
    root.index = 0
    nodes.append(root)
    root.slot = 0
    for child in root.iter_children():
        visit(child, "/")

    _descendants(root)
    key_fields: dict[str, set[tuple[int, int]]] = {}
    for node in nodes:
        if isinstance(node, SegmentRule):
            key_fields.setdefault(node.id, set())
            if node.key_field:
                key_fields[node.id].add(node.key_field)
    return Grammar(
        id=grammar_id,
        name=name,
        file=file,
        root=root,
        nodes=nodes,
        slots=len(slot_of_path),
        key_fields={k: tuple(sorted(v)) for k, v in key_fields.items()},
    )


def _walk(loop: LoopRule):  # noqa: ANN202
    yield loop
    for child in loop.iter_children():
        if isinstance(child, LoopRule):
            yield from _walk(child)
        else:
            yield child


def _compile_file(path: Path) -> Grammar:
    root_elem = ET.parse(path).getroot()
    compiler = _Compiler(path)
    root = LoopRule(
        id=root_elem.get("xid") or "",
        name=_field(root_elem, "name") or "",
        usage="R",
        pos=0,
        repeat=1,
        type="root",
        parent=None,
        children=[],
    )
    by_pos: dict[int, list[LoopRule | SegmentRule]] = {}
    for c in root_elem.findall("loop"):
        child = compiler.loop(c, root)
        by_pos.setdefault(child.pos, []).append(child)
    root.children = [(p, by_pos[p]) for p in sorted(by_pos)]
    return _finish(root, root.id, root.name, str(path))


def _cache_dir() -> Path:
    base = os.environ.get("EDI_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "edi-engine" / "grammars"


def _cache_key(path: Path) -> str:
    h = hashlib.sha256()
    h.update(path.read_bytes())
    for dep in (Path(__file__), _pyx12_map_dir() / "dataele.xml", _pyx12_map_dir() / "codes.xml"):
        h.update(dep.read_bytes())
    h.update(sys.version.encode())
    return h.hexdigest()[:32]


def _rebind_slots(grammar: Grammar) -> Grammar:
    """Slots are per process: renumber an unpickled grammar through this process's path table."""
    for node in grammar.nodes:
        node.slot = _SLOT_OF_PATH.setdefault(node.path or "/", len(_SLOT_OF_PATH))
    _descendants(grammar.root)
    return grammar


@lru_cache(maxsize=32)
def load_grammar(file: str | Path) -> Grammar:
    """Compile one map file, once per process and (through a pickle cache) once per map version.

    Parsing a 1 MB map costs ~0.1 s, which matters to a command-line validation of a small file;
    the cache is keyed by the map's bytes, this compiler's source and the Python version, and any
    problem with it just means compiling again.
    """
    path = Path(file)
    try:
        cached = _cache_dir() / f"{path.name}.{_cache_key(path)}.pickle"
        with open(cached, "rb") as fh:
            grammar = pickle.load(fh)
        if isinstance(grammar, Grammar):
            grammar.file = str(path)
            return _rebind_slots(grammar)
    except (OSError, pickle.PickleError, EOFError, AttributeError, ImportError, TypeError, ValueError):
        pass
    grammar = _compile_file(path)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cached.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(grammar, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, cached)
    except (OSError, pickle.PickleError, RecursionError, NameError):
        pass
    return grammar
