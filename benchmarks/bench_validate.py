"""X12 validation benchmark: ``edi validate`` against pyx12's ``x12n_document``.

What is measured
    For each size (claims) and layout, one valid 837P 005010X222A1 interchange is
    generated (``benchmarks.gen_837p``, seeded, so every run validates the same
    bytes) and then validated, each tool in its own fresh child process:

    * ours:  ``python -m edi validate FILE --json``
    * pyx12: ``pyx12.x12n_document.x12n_document(params, FILE, fd_999, None)``
      writing its 999 to a temp file (only up to ``--pyx12-max`` claims).

    Layouts: ``per-claim`` = every claim in its own ST/SE (all in one GS);
    ``shared`` = all claims in one ST/SE.  In both, each claim has its own
    2000A billing-provider / 2000B subscriber hierarchy.

How to read it
    ``seconds``   wall-clock of the whole child: interpreter start, imports, map
                  loading, reading the file and validating it; so small sizes
                  understate steady-state throughput for both tools.
    ``claims/s``  claims / seconds.
    ``peak MiB``  peak resident set size of that child (``ru_maxrss`` from
                  ``os.wait4`` on the child pid), not of this driver.
    ``ratio``     our claims/s divided by pyx12's for the same file; ``n/a`` when
                  pyx12 was not run at that size.
    ``verdict``   ours: exit status 0 = accepted.  pyx12: ``x12n_document``
                  returned True and its 999 says ``AK9*A``.

    Targets (from the issue, never asserted here): ratio >= 20 with identical
    verdicts, and our peak MiB roughly the same at 100,000 claims as at 10,000.
    The driver exits 1 if the verdicts differ or if either tool rejects a file
    (the files are valid by construction), 0 otherwise.  Timings are reported,
    never checked.

Usage
    python -m benchmarks.bench_validate [--sizes 1000,10000,100000]
        [--pyx12-max 10000] [--layout both|per-claim|shared] [--seed 0]
        [--workdir DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.gen_837p import write_837p

REPO_ROOT = Path(__file__).resolve().parent.parent

# Our validator: the file path is appended after "validate"; extra args after it.
EDI_CMD = [sys.executable, "-m", "edi", "validate"]
EDI_EXTRA_ARGS: list[str] = []  # the exit code is the verdict; --json would time the printing of every set

# The pyx12 child: validates argv[1], writes the 999 to argv[2], prints the verdict; argv[3], if
# given, is the map folder (the project's, for the 270/271 maps pyx12 lacks).
PYX12_CHILD = r"""
import json, sys
import pyx12.params
import pyx12.x12n_document

src, out = sys.argv[1], sys.argv[2]
maps = sys.argv[3] if len(sys.argv) > 3 else None
with open(out, "w") as fd_999:
    ok = pyx12.x12n_document.x12n_document(pyx12.params.params(), src, fd_999, None, map_path=maps)
ak9 = ""
ik_errors = 0
with open(out) as fh:
    for seg in fh.read().replace("\n", "").split("~"):
        if seg.startswith("AK9*"):
            ak9 = seg.split("*")[1]
        elif seg.startswith(("IK3*", "IK4*")):
            ik_errors += 1
print(json.dumps({"valid": bool(ok), "ak9": ak9, "ik_errors": ik_errors}))
"""

LAYOUTS = ("per-claim", "shared")


@dataclass
class Run:
    size: int
    layout: str
    tool: str
    seconds: float | None = None
    peak_mib: float | None = None
    accepted: bool | None = None  # None = not run
    note: str = ""

    @property
    def claims_per_s(self) -> float | None:
        if self.seconds is None or self.seconds <= 0:
            return None
        return self.size / self.seconds


def _maxrss_to_mib(maxrss: int) -> float:
    # Linux reports KiB, macOS reports bytes.
    return maxrss / (1024 * 1024) if sys.platform == "darwin" else maxrss / 1024


def run_child(cmd: list[str], log_dir: Path, tag: str) -> tuple[int, float, float | None, str, str]:
    """Run ``cmd``; return (exit code, wall seconds, peak MiB of that child, stdout, stderr)."""
    out_path = log_dir / f"{tag}.stdout"
    err_path = log_dir / f"{tag}.stderr"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=REPO_ROOT)
        try:
            if hasattr(os, "wait4"):
                _, status, usage = os.wait4(proc.pid, 0)
                elapsed = time.perf_counter() - t0
                proc.returncode = os.waitstatus_to_exitcode(status)
                peak = _maxrss_to_mib(usage.ru_maxrss)
            else:  # pragma: no cover - no per-child rusage on this platform
                proc.wait()
                elapsed = time.perf_counter() - t0
                peak = None
        except BaseException:
            proc.kill()
            proc.wait()
            raise
    stdout = out_path.read_text(errors="replace")
    stderr = err_path.read_text(errors="replace")
    return proc.returncode, elapsed, peak, stdout, stderr


def pyx12_peer_verdict(path: Path, work: Path, map_folder: Path | None = None) -> tuple[float | None, str]:
    """(seconds, verdict) of pyx12 validating ``path`` in a child process: the peer the pipeline
    benchmarks print beside their own figures."""
    maps = [str(map_folder)] if map_folder is not None else []
    code, seconds, _peak, out, _err = run_child(
        [sys.executable, "-c", PYX12_CHILD, str(path), str(work / "peer.999"), *maps], work, "pyx12")
    try:
        verdict = json.loads(out.strip().splitlines()[-1])
        ok = "accept" if verdict["valid"] and verdict["ak9"] == "A" else f"reject (ak9 {verdict['ak9']})"
    except (ValueError, IndexError, KeyError):
        ok = f"failed (exit {code})"
    return seconds, ok


def edi_available() -> bool:
    """True if ``python -m edi validate --help`` works."""
    try:
        res = subprocess.run(
            [*EDI_CMD, "--help"], cwd=REPO_ROOT, capture_output=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return res.returncode == 0


def _tail(text: str, n: int = 8) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join("    " + line for line in lines[-n:])


def run_edi(path: Path, size: int, layout: str, log_dir: Path) -> Run:
    code, secs, peak, stdout, stderr = run_child(
        [*EDI_CMD, str(path), *EDI_EXTRA_ARGS], log_dir, f"edi-{layout}-{size}"
    )
    run = Run(size, layout, "edi", secs, peak, code == 0)
    if code != 0:
        run.note = f"exit {code}"
        print(f"  edi validate rejected/failed ({run.note}):\n{_tail(stderr or stdout)}", file=sys.stderr)
    return run


def run_pyx12(path: Path, size: int, layout: str, log_dir: Path) -> Run:
    out_999 = log_dir / f"pyx12-{layout}-{size}.999"
    code, secs, peak, stdout, stderr = run_child(
        [sys.executable, "-c", PYX12_CHILD, str(path), str(out_999)], log_dir, f"pyx12-{layout}-{size}"
    )
    run = Run(size, layout, "pyx12", secs, peak, False)
    try:
        result = json.loads(stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        run.note = f"crashed (exit {code})"
        print(f"  pyx12 child failed:\n{_tail(stderr)}", file=sys.stderr)
        return run
    run.accepted = code == 0 and result["valid"] and result["ak9"] == "A"
    if not run.accepted:
        run.note = f"AK9={result['ak9'] or '?'} IK3/IK4={result['ik_errors']}"
        print(f"  pyx12 rejected: {run.note} (999 in {out_999})", file=sys.stderr)
    return run


def _fmt(value: float | None, spec: str) -> str:
    """Format ``value`` with ``spec`` (e.g. '8.2f'); a right-aligned '-' of the same width if None."""
    width = int(spec.split(".")[0])
    return "-".rjust(width) if value is None else format(value, spec)


def _verdict(run: Run) -> str:
    if run.accepted is None:
        return run.note or "skipped"
    return ("accept" if run.accepted else "REJECT") + (f" ({run.note})" if run.note else "")


def print_table(runs: list[Run]) -> None:
    header = f"{'claims':>8}  {'layout':<9}  {'tool':<5}  {'seconds':>8}  {'claims/s':>9}  {'peak MiB':>8}  verdict"
    print(header)
    print("-" * len(header))
    for r in runs:
        print(
            f"{r.size:>8}  {r.layout:<9}  {r.tool:<5}  {_fmt(r.seconds, '8.2f')}  "
            f"{_fmt(r.claims_per_s, '9.0f')}  {_fmt(r.peak_mib, '8.1f')}  {_verdict(r)}"
        )


def print_ratios(runs: list[Run]) -> None:
    by_key = {(r.size, r.layout, r.tool): r for r in runs}
    print("\nthroughput ratio ours/pyx12 (target >= 20x):")
    for size, layout in dict.fromkeys((r.size, r.layout) for r in runs):
        ours, theirs = by_key.get((size, layout, "edi")), by_key.get((size, layout, "pyx12"))
        a = ours.claims_per_s if ours else None
        b = theirs.claims_per_s if theirs else None
        ratio = f"{a / b:.1f}x" if a and b else "n/a"
        print(f"  {size:>8} {layout:<9}  {ratio}")
    sizes = sorted({r.size for r in runs})
    if 10_000 in sizes and max(sizes) > 10_000:
        print(f"\nour peak memory, 10,000 -> {max(sizes):,} claims (target: flat):")
        for layout in LAYOUTS:
            lo = by_key.get((10_000, layout, "edi"))
            hi = by_key.get((max(sizes), layout, "edi"))
            if lo and hi and lo.peak_mib and hi.peak_mib:
                print(
                    f"  {layout:<9}  {lo.peak_mib:.1f} -> {hi.peak_mib:.1f} MiB ({hi.peak_mib / lo.peak_mib:.2f}x)"
                )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_validate",
        description="Time `edi validate` against pyx12 x12n_document on generated 837P files.",
    )
    p.add_argument("--sizes", default="1000,10000,100000", help="comma-separated claim counts")
    p.add_argument("--pyx12-max", type=int, default=10_000, help="run pyx12 only up to this many claims")
    p.add_argument("--layout", choices=("both", *LAYOUTS), default="both")
    p.add_argument("--seed", type=int, default=0, help="generator seed")
    p.add_argument("--workdir", help="keep generated files and logs here instead of a temp dir")
    args = p.parse_args(argv)
    try:
        args.sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        p.error("--sizes must be comma-separated integers")
    if not args.sizes or min(args.sizes) < 1:
        p.error("--sizes must be positive integers")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    layouts = LAYOUTS if args.layout == "both" else (args.layout,)

    import pyx12

    have_edi = edi_available()
    print(
        f"python {sys.version.split()[0]} | pyx12 {getattr(pyx12, '__version__', '?')} | "
        f"{os.cpu_count()} CPUs | seed {args.seed}"
    )
    if not have_edi:
        print("edi validate not available: skipping our column (only pyx12 is timed)")

    runs: list[Run] = []
    with contextlib.ExitStack() as stack:
        if args.workdir:
            work = Path(args.workdir)
            work.mkdir(parents=True, exist_ok=True)
        else:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="edi-bench-")))
        for size in args.sizes:
            for layout in layouts:
                per_st = 1 if layout == "per-claim" else size
                path = work / f"837p-{layout}-{size}.x12"
                t0 = time.perf_counter()
                write_837p(path, size, per_st, seed=args.seed)
                mib = path.stat().st_size / 2**20
                print(
                    f"generated {size:,} claims ({layout}): {mib:.1f} MiB in {time.perf_counter() - t0:.1f}s"
                )
                if have_edi:
                    runs.append(run_edi(path, size, layout, work))
                else:
                    runs.append(Run(size, layout, "edi", note="edi validate not available"))
                if size <= args.pyx12_max:
                    runs.append(run_pyx12(path, size, layout, work))
                else:
                    runs.append(Run(size, layout, "pyx12", note=f"not run (> --pyx12-max {args.pyx12_max})"))
                if not args.workdir:
                    path.unlink()

    print()
    print_table(runs)
    print_ratios(runs)

    status = 0
    by_key = {(r.size, r.layout, r.tool): r for r in runs}
    for r in runs:
        if r.accepted is False:
            print(f"FAIL: {r.tool} rejected the valid {r.size}-claim {r.layout} file", file=sys.stderr)
            status = 1
    for size in args.sizes:
        for layout in layouts:
            ours, theirs = by_key[(size, layout, "edi")], by_key[(size, layout, "pyx12")]
            if ours.accepted is not None and theirs.accepted is not None and ours.accepted != theirs.accepted:
                print(f"FAIL: verdicts differ for {size} claims ({layout})", file=sys.stderr)
                status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
