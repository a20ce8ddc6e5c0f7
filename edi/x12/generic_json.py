"""A generic, lossless JSON form of any interchange, with loops named by guide loop ids.

For people and tools that want to look inside an interchange without learning X12 separators:
each transaction set becomes a tree of loops (``2000A``, ``2300``, ...) and segments with their
element values. It is *generic*: no field names, no business meaning (that is `edi.models`).
It is *lossless*: `from_json(to_json(x))` gives back the same bytes, up to line breaks after
segment terminators, because every element is kept exactly as sent, including trailing empties.

Element values: a string; a list of strings for a composite (``["HC", "99213"]``); a list of lists
for a repeated element (``[["A"], ["B", "C"]]``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .delimiters import Delimiters
from .grammar import Grammar, LoopRule, SegmentRule, load_grammar
from .reader import Source, X12Reader
from .walker import Walker, key_value
from .writer import format_segment

__all__ = [
    "FORMAT", "from_json", "from_json_bytes", "iter_segments_from_json", "read_document", "split_elements", "to_json",
    "to_json_text",
]

FORMAT = "edi-engine/x12-generic/1"
_STRUCTURAL = ("ISA_LOOP", "GS_LOOP", "ST_LOOP")


def _split(value: str, d: Delimiters) -> Any:
    if d.repetition and d.repetition in value:
        return [v.split(d.component) for v in value.split(d.repetition)]
    if d.component in value:
        return value.split(d.component)
    return value


def split_elements(seg: list[str], d: Delimiters) -> list[Any]:
    """A segment's element values (its id left out), each as `_split` gives it; inlined: a
    document has tens of thousands of them."""
    repetition, component = d.repetition, d.component
    if repetition:
        return [
            [r.split(component) for r in v.split(repetition)] if repetition in v
            else v.split(component) if component in v else v
            for v in seg[1:]
        ]
    return [v.split(component) if component in v else v for v in seg[1:]]


def _segment(seg: list[str], d: Delimiters) -> dict[str, Any]:
    return {"id": seg[0], "elements": split_elements(seg, d)}


def _open_chain(node: SegmentRule) -> list[LoopRule]:
    """Loops enclosing `node` that carry a guide loop id (no wrappers, no envelope loops)."""
    chain: list[LoopRule] = []
    loop = node.parent
    while loop is not None and loop.parent is not None:
        if loop.type != "wrapper" and loop.id not in _STRUCTURAL:
            chain.append(loop)
        loop = loop.parent
    chain.reverse()
    return chain


class _Chains:
    """`_open_chain` of each segment rule, worked out once per process (a grammar does not
    change), equal chains as one list: a segment in the loops the previous one left open (most
    segments) is then seen to be so by identity."""

    def __init__(self) -> None:
        self.by_rule: dict[SegmentRule, list[LoopRule]] = {}
        self.interned: dict[tuple[LoopRule, ...], list[LoopRule]] = {}

    def of(self, target: SegmentRule) -> list[LoopRule]:
        chain = self.by_rule.get(target)
        if chain is None:
            chain = _open_chain(target)
            chain = self.by_rule[target] = self.interned.setdefault(tuple(chain), chain)
        return chain


#: shared by every document read: a rule's chain never changes (grammars are loaded once)
_CHAINS = _Chains()


def _loop_json(loop: LoopRule, content: list) -> dict[str, Any]:
    return {"loop": loop.id, "name": loop.name, "content": content}


class _TransactionTree:
    """Builds the loop tree of one transaction set as segments are placed; `make_loop` gives a
    loop's node from its rule and its (still empty) content list."""

    def __init__(self, body: list, chains: _Chains, make_loop: Callable[[LoopRule, list], Any]) -> None:
        self.make_loop = make_loop
        self.body = body
        self.stack: list[tuple[LoopRule, list]] = []
        self.chains = chains
        self.chain: list[LoopRule] | None = None  # the chain `stack` holds, as last placed
        self.content: list = body  # where the next segment of the open loops goes: the stack's top

    def place(self, seg_json: dict, target: SegmentRule | None, entered: LoopRule | None) -> None:
        if target is None:
            self.content.append(seg_json)
            return
        chain = self.chains.by_rule.get(target)
        if chain is None:
            chain = self.chains.of(target)
        if chain is self.chain and entered is None:  # same loops open, none entered anew
            self.content.append(seg_json)
            return
        self.chain = chain
        stack = self.stack
        keep = 0
        for (loop, _), want in zip(stack, chain, strict=False):
            if loop is not want:
                break
            keep += 1
        if entered is not None and entered in chain:
            keep = min(keep, chain.index(entered))
        del stack[keep:]
        content = stack[-1][1] if stack else self.body
        for loop in chain[keep:]:
            inner: list = []
            content.append(self.make_loop(loop, inner))
            stack.append((loop, inner))
            content = inner
        self.content = content
        content.append(seg_json)


def to_json(
    source: Source,
    resolver: Callable[[str, str, str], tuple[Path, Any] | None] | None = None,
) -> dict[str, Any]:
    """The generic JSON document for every interchange in `source`."""
    return read_document(source, resolver)


def read_document(
    source: Source,
    resolver: Callable[[str, str, str], tuple[Path, Any] | None] | None = None,
    make_segment: Callable[[list[str], Delimiters], Any] = _segment,
    make_loop: Callable[[LoopRule, list], Any] = _loop_json,
) -> dict[str, Any]:
    """`to_json`, with the nodes of each transaction set's body made by `make_segment` and
    `make_loop` (the mappers' own types, with no generic dicts built and converted first)."""
    if resolver is None:
        from .validator import _default_resolver as resolver  # noqa: N813
    reader = X12Reader(source)
    doc: dict[str, Any] = {"format": FORMAT, "interchanges": []}
    walker = Walker()
    grammar: Grammar | None = None
    node: LoopRule | SegmentRule | None = None
    isa = group = tx = None
    tree: _TransactionTree | None = None
    key_fields: dict[str, tuple] = {}
    chains = _CHAINS
    if len(chains.by_rule) > 10_000:  # only ever more grammars loaded: start over
        chains.by_rule.clear()
        chains.interned.clear()
    for seg in reader:
        d = reader.delimiters
        sid = seg[0]
        if sid == "ISA":
            isa = {"delimiters": d.to_dict(), "ISA": seg[1:], "groups": [], "trailer": None}
            doc["interchanges"].append(isa)
            walker.new_interchange(d.component)
            group = tx = None
            continue
        if isa is None:
            continue
        if sid == "GS":
            group = {"GS": split_elements(seg, d), "transactions": [], "trailer": None}
            isa["groups"].append(group)
            resolved = resolver(isa["ISA"][11], seg[1] if len(seg) > 1 else "", seg[8] if len(seg) > 8 else "")
            grammar = load_grammar(resolved[0]) if resolved else None
            key_fields = grammar.key_fields if grammar is not None else {}
            node = grammar.node_by_path("/ISA_LOOP/GS_LOOP/GS") if grammar else None
            continue
        if sid == "ST":
            tx = {"ST": split_elements(seg, d), "body": [], "trailer": None}
            if grammar is not None:
                tx["guide"] = Path(grammar.file).name
            if group is None:
                group = {"GS": None, "transactions": [], "trailer": None}
                isa["groups"].append(group)
            group["transactions"].append(tx)
            tree = _TransactionTree(tx["body"], chains, make_loop)
        if grammar is not None and node is not None:
            fields = key_fields.get(sid, ())
            if not fields:
                key = (node, sid)
            elif len(fields) == 1:
                key = (node, sid, key_value(seg, fields[0], d.component))
            else:
                key = (node, sid, *[key_value(seg, p, d.component) for p in fields])
            # placement only: a plan's counts tell what is missing or over-used, which this
            # lossless reading has no use for (the validator reports it), so none are kept
            plan = walker.plans.get(key)
            if plan is None:
                plan = walker.plan(key, node, seg)
            target, ops, simple, _ = plan
            entered = None if simple is not None or not ops or ops[-1][0] != 3 else ops[-1][1]
            if target is not None:
                node = target
        else:
            target, entered = None, None
        if sid == "ST":
            continue
        if sid == "SE" and tx is not None:
            tx["trailer"] = split_elements(seg, d)
            tx = None
            tree = None
        elif sid == "GE" and group is not None:
            group["trailer"] = split_elements(seg, d)
            group = None
        elif sid == "IEA":
            isa["trailer"] = split_elements(seg, d)
            isa = None
        elif tree is not None:
            tree.place(make_segment(seg, d), target, entered)  # type: ignore[arg-type]
        elif group is not None:
            # outside any transaction set: remember after how many sets it came
            group.setdefault("stray", []).append({**_segment(seg, d), "after": len(group["transactions"])})
        else:
            isa.setdefault("stray", []).append({**_segment(seg, d), "after": len(isa["groups"])})
    return doc


def _walk_content(content: list) -> Iterator[dict]:
    for item in content:
        if "loop" in item:
            yield from _walk_content(item["content"])
        else:
            yield item


def iter_segments_from_json(doc: dict[str, Any]) -> Iterator[tuple[list[Any], Delimiters]]:
    """Every segment of the document in order, as (elements with id first, delimiters)."""
    if doc.get("format") != FORMAT:
        raise ValueError(f"not a generic X12 JSON document (format must be {FORMAT!r})")
    for isa in doc["interchanges"]:
        d = Delimiters.from_dict(isa["delimiters"])
        yield ["ISA", *isa["ISA"]], d
        isa_strays = isa.get("stray", [])
        for gi, group in enumerate(isa["groups"]):
            yield from ((_stray(i), d) for i in isa_strays if i.get("after", 0) == gi)
            if group.get("GS") is not None:
                yield ["GS", *group["GS"]], d
            strays = group.get("stray", [])
            for ti, tx in enumerate(group["transactions"]):
                yield from ((_stray(i), d) for i in strays if i.get("after", 0) == ti)
                yield ["ST", *tx["ST"]], d
                for seg in _walk_content(tx["body"]):
                    yield [seg["id"], *seg["elements"]], d
                if tx.get("trailer") is not None:
                    yield ["SE", *tx["trailer"]], d
            yield from ((_stray(i), d) for i in strays if i.get("after", 0) >= len(group["transactions"]))
            if group.get("trailer") is not None:
                yield ["GE", *group["trailer"]], d
        yield from ((_stray(i), d) for i in isa_strays if i.get("after", 0) >= len(isa["groups"]))
        if isa.get("trailer") is not None:
            yield ["IEA", *isa["trailer"]], d


def _stray(item: dict) -> list[Any]:
    return [item["id"], *item["elements"]]


def from_json(doc: dict[str, Any]) -> str:
    """X12 text for a generic JSON document (encode with ``surrogateescape`` for exact bytes)."""
    out = []
    for seg, d in iter_segments_from_json(doc):
        if seg[0] == "ISA":
            out.append(d.element.join(seg) + d.segment + d.line_break)  # ISA16 stays a plain character
        else:
            out.append(format_segment(seg, d))
    return "".join(out)


def to_json_text(source: Source, **kwargs: Any) -> str:
    return json.dumps(to_json(source, **kwargs), indent=1)


def from_json_bytes(text: str | bytes) -> bytes:
    return from_json(json.loads(text)).encode("utf-8", "surrogateescape")
