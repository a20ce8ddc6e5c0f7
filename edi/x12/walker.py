"""Find where each segment sits in an implementation guide, and what that passes over.

This is pyx12's loop walker (map_walker.walk_tree) reproduced rule for rule, because its
placement decisions define what a loop is, where a required segment counts as missing and when a
loop repeats too often; agreeing with it is a requirement. It is made fast by one observation:
*where* a segment lands depends only on the starting node and the segment's id and qualifier,
never on the counts. So the walk is computed once per (start node, id, qualifier) as a short plan
of counter operations, cached, and replayed against the live counts for each occurrence.
"""

from __future__ import annotations

from dataclasses import dataclass

from .grammar import LoopRule, SegmentRule

__all__ = ["Walker", "WalkError", "key_value"]


@dataclass(slots=True)
class WalkError:
    """A placement error: IK304 `code` about `node` (missing, over-used) or the segment itself."""

    code: str  # "1" not found, "2" not used, "3" missing, "4" loop over max, "5" segment over max
    node: LoopRule | SegmentRule | None  # the map node the error concerns
    segment_id: str  # the segment id reported in IK301
    message: str


# plan operations
_CAND_SEG = 0
_CAND_LOOP = 1
_MATCH = 2
_ENTER = 3
_NOT_FOUND = 4


#: (target, ops, simple, enter); see `Walker.plan`
_Plan = tuple[SegmentRule | None, tuple, SegmentRule | None, tuple[LoopRule, SegmentRule] | None]
_Plans = dict[tuple, _Plan]
# Plans shared by every walker of the process, one table per component separator: a plan depends
# only on its key (grammar nodes are loaded once, ``load_grammar`` caches them), so the 271 the
# real-time path validates and then maps, and every later document of the same guide, reuse the
# walks the first one computed instead of each walker starting empty.
_SHARED_PLANS: dict[str, _Plans] = {}
_MAX_PLANS = 20_000  # per table; only malformed input makes many distinct keys


def _plans_for(component: str) -> _Plans:
    plans = _SHARED_PLANS.get(component)
    if plans is None:
        if len(_SHARED_PLANS) > 16:  # a stream of odd separators: start over rather than grow
            _SHARED_PLANS.clear()
        plans = _SHARED_PLANS.setdefault(component, {})
    return plans


class Walker:
    """Tracks counts across one interchange and places segments in the grammar."""

    __slots__ = ("counts", "plans", "component")

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}
        self.component = ":"
        #: (start node, segment id, qualifier values...) -> (target, ops, simple); see `plan`
        self.plans: _Plans = _plans_for(self.component)

    def new_interchange(self, component: str) -> None:
        """Counts start afresh; plans are those of the component separator."""
        self.counts = {}
        if component != self.component:
            self.plans = _plans_for(component)
            self.component = component

    # -- counters -------------------------------------------------------------------------------
    def reset_loop(self, loop: LoopRule) -> None:
        """Forget the counts of everything inside `loop` (a new iteration of it begins)."""
        counts = self.counts
        desc = loop.descendant_slots
        # the intersection is made in C by going through the smaller of the two
        for slot in desc.intersection(counts) if len(counts) < len(desc) else counts.keys() & desc:
            del counts[slot]

    def force_loop_start(self, loop: LoopRule, first: SegmentRule) -> None:
        """ISA and GS are placed directly, as pyx12 does (forceWalkCounterToLoopStart)."""
        self.reset_loop(loop)
        self.counts[loop.slot] = self.counts.get(loop.slot, 0) + 1
        self.counts[first.slot] = self.counts.get(first.slot, 0) + 1

    # -- walking --------------------------------------------------------------------------------
    def plan(self, key: tuple, start: LoopRule | SegmentRule, seg: list[str]) -> _Plan:
        """The cached placement of `seg` from `start`; `key` must identify (start, id, qualifiers).

        The third item is the matched segment when the whole plan is "count one more of it"
        (the common case); the fourth (loop, its first segment) when it is "a new iteration of
        this loop begins" (the next most common, each claim, line or payment): both let the caller
        skip the replay, the second with `enter`.
        """
        plan = self.plans.get(key)
        if plan is None:
            target, ops = _make_plan(start, seg, self.component)
            simple = enter = None
            if len(ops) == 1 and ops[0][0] == _MATCH and ops[0][1].usage != "N":
                simple = ops[0][1]
            elif len(ops) == 1 and ops[0][0] == _ENTER and ops[0][1].usage != "N":
                enter = (ops[0][1], ops[0][2])
            plan = (target, ops, simple, enter)
            if len(self.plans) > _MAX_PLANS:
                self.plans.clear()
            self.plans[key] = plan
        return plan

    def walk(
        self, start: LoopRule | SegmentRule, seg: list[str], key_positions: tuple
    ) -> tuple[SegmentRule | None, list[WalkError]]:
        key = (start, seg[0], *[_key_value(seg, p, self.component) for p in key_positions])
        target, ops, _, _ = self.plan(key, start, seg)
        return target, self.replay(ops, seg[0])

    def enter(self, loop: LoopRule, first: SegmentRule) -> int:
        """`replay` of an "enter" plan: `loop` begins again at `first`; returns the loop's count
        (over `loop.repeat` is the error replay reports as code 4)."""
        counts = self.counts
        desc = loop.descendant_slots
        if counts:
            for slot in desc.intersection(counts) if len(counts) < len(desc) else counts.keys() & desc:
                del counts[slot]
        n = counts[loop.slot] = counts.get(loop.slot, 0) + 1
        counts[first.slot] = counts.get(first.slot, 0) + 1
        return n

    def replay(self, ops: tuple, seg_id: str) -> list[WalkError]:
        """Apply a plan's counter operations; return the placement errors they reveal."""
        counts = self.counts
        missing: list[tuple[SegmentRule, LoopRule | SegmentRule]] = []
        errors: list[WalkError] = []
        for op in ops:
            kind = op[0]
            if kind == _CAND_SEG:
                node = op[1]
                if counts.get(node.slot, 0) < 1:
                    missing.append((node, node))
            elif kind == _CAND_LOOP:
                loop, first = op[1], op[2]
                if counts.get(loop.slot, 0) < 1:
                    missing.append((first, loop))
            elif kind == _MATCH:
                child: SegmentRule = op[1]
                n = counts.get(child.slot, 0) + 1
                counts[child.slot] = n
                if child.usage == "N":
                    errors.append(WalkError("2", None, seg_id, f"Segment {child.id} is not used in this guide"))
                elif n > child.max_use:
                    errors.append(
                        WalkError(
                            "5",
                            child,
                            seg_id,
                            f"Segment {child.id} ({child.name}) exceeds its maximum use of {child.max_use}",
                        )
                    )
                key = child.eq_key
                missing = [m for m in missing if m[0].eq_key != key]
                missing = self._flush(missing, errors, child.pos)
            elif kind == _ENTER:
                loop, first = op[1], op[2]
                if loop.usage == "N":
                    errors.append(WalkError("2", None, seg_id, f"Loop {loop.id} is not used in this guide"))
                else:
                    self.reset_loop(loop)
                    n = counts.get(loop.slot, 0) + 1
                    counts[loop.slot] = n
                    if n > loop.repeat:
                        errors.append(
                            WalkError(
                                "4",
                                loop,
                                seg_id,
                                f"Loop {loop.id} ({loop.name}) occurs more than its maximum of {loop.repeat}",
                            )
                        )
                counts[first.slot] = counts.get(first.slot, 0) + 1
                missing = self._flush(missing, errors, None)
            else:  # _NOT_FOUND
                errors.append(WalkError("1", op[1], seg_id, f"Segment {seg_id} is not expected here"))
        return errors

    @staticmethod
    def _flush(missing: list, errors: list[WalkError], cur_pos: int | None) -> list:
        keep = []
        for seg_node, what in missing:
            if seg_node.pos != cur_pos:
                if what is seg_node:
                    msg = f'Required segment {seg_node.id} "{seg_node.name}" is missing'
                else:
                    msg = f'Required loop {what.id} "{what.name}" is missing'
                errors.append(WalkError("3", seg_node, seg_node.id, msg))
            else:
                keep.append((seg_node, what))
        return keep


def _key_value(seg: list[str], pos: tuple[int, int], component: str) -> str:
    """The qualifier a plan depends on: for a composite key only its first component, so that
    plans are shared by every ``SV1*HC:<procedure>`` instead of one per procedure code."""
    value = seg[pos[0]] if len(seg) > pos[0] else ""
    if pos[1] and component in value:
        return value.split(component, 1)[0]
    return value


key_value = _key_value


def _make_plan(start: LoopRule | SegmentRule, seg: list[str], component: str) -> tuple[SegmentRule | None, tuple]:
    ops: list[tuple] = []
    node_pos = start.pos
    loop: LoopRule = start if isinstance(start, LoopRule) else start.parent
    while True:
        found = _scan(loop, node_pos, seg, component, ops)
        if found is not None:
            return found, _prune(ops, start)
        if loop.parent is None:
            ops.append((_NOT_FOUND, start))
            return None, _prune(ops, start)
        node_pos = loop.pos
        loop = loop.parent


def _prune(ops: list, start: LoopRule | SegmentRule) -> tuple:
    """Drop candidate checks that can never fire.

    The starting segment was counted when it was placed, and every loop enclosing it was counted
    when entered (wrapper loops, which are entered uncounted, never yield candidates); plans only
    reset counts in their last operation. So "missing if its count is 0" is dead for those nodes.
    """
    ancestors = set()
    node = start if isinstance(start, LoopRule) else start.parent
    while node is not None:
        ancestors.add(id(node))
        node = node.parent
    return tuple(
        op for op in ops
        if not ((op[0] == _CAND_SEG and op[1] is start) or (op[0] == _CAND_LOOP and id(op[1]) in ancestors))
    )


def _scan(loop: LoopRule, node_pos: int, seg: list[str], component: str, ops: list) -> SegmentRule | None:
    for pos, group in loop.children:
        if pos < node_pos:
            continue
        for child in group:
            if isinstance(child, SegmentRule):
                if child.matches(seg, component):
                    if loop.parent is not None and _is_loop_match(loop, seg, component, ops):
                        return _goto(loop, seg, component, ops)
                    ops.append((_MATCH, child))
                    return child
                if child.usage == "R":
                    ops.append((_CAND_SEG, child))
            elif _is_loop_match(child, seg, component, ops):
                return _goto(child, seg, component, ops)
    return None


def _is_loop_match(loop: LoopRule, seg: list[str], component: str, ops: list) -> bool:
    first = loop.first_node()
    if first is None:
        return False
    if isinstance(first, LoopRule):
        for child in loop.iter_children():
            if isinstance(child, LoopRule) and _is_loop_match(child, seg, component, ops):
                return True
        return False
    if first.matches(seg, component):
        return True
    if loop.usage == "R":
        ops.append((_CAND_LOOP, loop, first))
    return False


def _goto(loop: LoopRule, seg: list[str], component: str, ops: list) -> SegmentRule | None:
    first = loop.first_segment()
    if first is not None and first.matches(seg, component):
        ops.append((_ENTER, loop, first))
        return first
    for child in loop.iter_children():
        if isinstance(child, LoopRule):
            found = _goto(child, seg, component, ops)
            if found is not None:
                return found
    return None
