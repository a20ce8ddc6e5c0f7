"""This machine's processes, read from Linux ``/proc``: who is whose child, and CPU time.

The test servers find the processes a server forked (sshd's session processes) to stop them too.
The benchmarks run on the same two cores as the servers they drive, so what each part of a run
costs is read as CPU time (user + system) per process: wall time mostly says how busy the machine
was. Each benchmark needs its own cut (one process; a process and its live descendants; a server
and the children it reaped; every process, grouped), and this is the one reader of
``/proc/<pid>/stat`` they share.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["ProcessCpu", "cpu_of", "descendants", "processes", "tree_cpu"]

_TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ProcessCpu:
    pid: int
    ppid: int
    command: str
    cpu: float  # seconds, all threads of the process itself
    reaped: float  # seconds of its children that ended and were waited for


def _parse(pid: int, text: str) -> ProcessCpu:
    command = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    return ProcessCpu(pid, int(fields[1]), command, (int(fields[11]) + int(fields[12])) / _TICK,
                      (int(fields[13]) + int(fields[14])) / _TICK)


def cpu_of(pid: int) -> ProcessCpu:
    """One process (``OSError`` once it is gone)."""
    with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
        return _parse(pid, stat.read())


def processes() -> Iterator[ProcessCpu]:
    """Every process alive now (those that end while being listed are skipped)."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                yield cpu_of(int(entry))
            except (OSError, ValueError):
                continue


def _below(root: int, table: list[ProcessCpu]) -> list[int]:
    children: dict[int, list[int]] = {}
    for process in table:
        children.setdefault(process.ppid, []).append(process.pid)
    found: list[int] = []
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def descendants(root: int) -> list[int]:
    """The live processes below ``root`` (its children as found, then theirs)."""
    return _below(root, list(processes()))


def tree_cpu(root: int) -> float:
    """CPU seconds of ``root`` and all its live descendants (the API's supervisor and workers)."""
    table = list(processes())
    tree = {root, *_below(root, table)}
    return sum(p.cpu for p in table if p.pid in tree)
