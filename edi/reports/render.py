"""Reports as CSV, JSON, HTML (with an inline SVG chart) and PDF.

The HTML is one self-contained file -- inline CSS and SVG, no script, no external fetch -- so
it opens offline, in a mail client, or archived years later, and it is what the PDF is printed
from. PDF: headless Chromium's ``--print-to-pdf`` on that HTML, which gives the same layout as
the browser view; chosen over WeasyPrint, which needs Pango and its font stack from the system
besides the wheel, while Chromium is already installed for the HTML tests (``EDI_CHROMIUM``
names another binary).
"""

from __future__ import annotations

import csv
import io
import math
import os
import shutil
import subprocess
import tempfile
from html import escape
from pathlib import Path

from edi.reports.model import DailyPoint, Report, ReportError

__all__ = ["FORMATS", "chromium_command", "render", "to_csv", "to_html", "to_json", "to_pdf"]

FORMATS = ("csv", "json", "html", "pdf")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json", "html": "text/html; charset=utf-8",
               "pdf": "application/pdf"}
_PDF_TIMEOUT = 120.0


def to_json(report: Report) -> bytes:
    return report.model_dump_json(indent=2).encode("utf-8")


def to_csv(report: Report) -> bytes:
    """One section per table: a header row and data rows, each led by the table's name."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for table in report.tables:
        writer.writerow(["table", *table.columns])
        for row in table.rows:
            writer.writerow([table.name, *("" if cell is None else cell for cell in row)])
    if report.daily is not None:
        writer.writerow(["table", "day", "volume", "rejected", "rejection_rate"])
        for point in report.daily:
            writer.writerow(["daily", point.day.isoformat(), point.volume, point.rejected,
                             round(point.rejection_rate, 4)])
    return out.getvalue().encode("utf-8")


_CSS = """
body{font-family:"DejaVu Sans",Arial,sans-serif;margin:24px;color:#1d232a;font-size:12px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:15px;margin:22px 0 6px}
.meta{color:#555;margin:0 0 4px}.note{color:#555;font-style:italic}
table{border-collapse:collapse;margin:4px 0 8px;page-break-inside:auto}tr{page-break-inside:avoid}
th,td{border:1px solid #c9d0d6;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#eef2f5}td.n{text-align:right;font-variant-numeric:tabular-nums}
.empty{color:#777}svg text{font-family:inherit;font-size:10px;fill:#333}
"""


def _chart(points: list[DailyPoint]) -> str:
    """Bars of daily volume (left axis) and a line of the rejection rate (right axis, 0-100 %)."""
    width, height, left, right, top, bottom = 720, 260, 48, 52, 16, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max(4, math.ceil(max((p.volume for p in points), default=0) / 4) * 4)  # whole-number ticks
    slot = plot_w / max(len(points), 1)
    bar = max(slot * 0.6, 1.0)
    parts = [
        f'<svg id="daily-chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="Daily volume and rejection rate">',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fafbfc" stroke="#c9d0d6"/>',
    ]
    for tick in range(5):
        y = top + plot_h - plot_h * tick / 4
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e7ea"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 3:.1f}" text-anchor="end">{round(peak * tick / 4)}</text>')
        parts.append(f'<text x="{left + plot_w + 6}" y="{y + 3:.1f}">{25 * tick}%</text>')
    line = []
    label_every = max(1, len(points) // 12)
    for i, point in enumerate(points):
        x = left + slot * i + (slot - bar) / 2
        h = plot_h * point.volume / peak
        parts.append(f'<rect class="volume" x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" '
                     f'height="{h:.1f}" fill="#5b8db8"><title>{point.day}: {point.volume}</title></rect>')
        cx = left + slot * i + slot / 2
        line.append(f"{cx:.1f},{top + plot_h - plot_h * point.rejection_rate:.1f}")
        if i % label_every == 0:
            parts.append(f'<text x="{cx:.1f}" y="{top + plot_h + 14}" text-anchor="middle">'
                         f'{point.day.strftime("%m-%d")}</text>')
    if line:
        parts.append(f'<polyline class="rejection-rate" points="{" ".join(line)}" fill="none" stroke="#c0392b" '
                     'stroke-width="2"/>')
        parts += [f'<circle cx="{xy.split(",")[0]}" cy="{xy.split(",")[1]}" r="2.5" fill="#c0392b"/>' for xy in line]
    legend_y = height - 8
    parts.append(f'<rect x="{left}" y="{legend_y - 8}" width="10" height="8" fill="#5b8db8"/>'
                 f'<text x="{left + 14}" y="{legend_y}">transactions per day (left)</text>'
                 f'<line x1="{left + 190}" x2="{left + 204}" y1="{legend_y - 4}" y2="{legend_y - 4}" '
                 f'stroke="#c0392b" stroke-width="2"/><text x="{left + 208}" y="{legend_y}">rejection rate (right)</text>')
    parts.append("</svg>")
    return "".join(parts)


def _cell(value: object) -> str:
    if value is None:
        return "<td></td>"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f'<td class="n">{escape(str(value))}</td>'
    return f"<td>{escape(str(value))}</td>"


def to_html(report: Report) -> bytes:
    w = report.window
    params = "".join(f" &middot; {escape(k)}: {escape(v)}" for k, v in report.parameters.items())
    body = [
        f"<h1>{escape(report.title)}</h1>",
        f'<p class="meta">From {escape(w.start.isoformat())} to {escape(w.end.isoformat())} (UTC, end excluded)'
        f"{params}</p>",
        f'<p class="meta">Generated {escape(report.generated_at.isoformat(timespec="seconds"))}</p>',
        *(f'<p class="note">{escape(note)}</p>' for note in report.notes),
    ]
    if report.daily is not None:
        body += ["<h2>Daily volume and rejection rate</h2>", _chart(report.daily)]
    for table in report.tables:
        body.append(f'<h2>{escape(table.title)}</h2><table id="{escape(table.name)}"><thead><tr>'
                    + "".join(f"<th>{escape(c)}</th>" for c in table.columns) + "</tr></thead><tbody>")
        if not table.rows:
            body.append(f'<tr><td class="empty" colspan="{len(table.columns)}">none</td></tr>')
        body += ["<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in table.rows]
        body.append("</tbody></table>")
    html = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(report.title)}</title>'
            f"<style>{_CSS}</style></head><body>{''.join(body)}</body></html>")
    return html.encode("utf-8")


def chromium_command() -> list[str]:
    """The headless Chromium to run: ``EDI_CHROMIUM`` or the first of the usual names on PATH."""
    configured = os.environ.get("EDI_CHROMIUM")
    binary = configured or next(
        (found for name in ("chromium", "chromium-browser", "google-chrome") if (found := shutil.which(name))), None)
    if binary is None:
        raise ReportError("PDF reports need Chromium: install the chromium package or set EDI_CHROMIUM")
    command = [binary, "--headless", "--disable-gpu", "--no-first-run", "--disable-extensions"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    return command


def to_pdf(report: Report) -> bytes:
    with tempfile.TemporaryDirectory(prefix="edi-report-") as work:
        page, pdf = Path(work) / "report.html", Path(work) / "report.pdf"
        page.write_bytes(to_html(report))
        command = [*chromium_command(), f"--user-data-dir={Path(work) / 'profile'}", "--no-pdf-header-footer",
                   f"--print-to-pdf={pdf}", page.as_uri()]
        try:
            done = subprocess.run(command, capture_output=True, timeout=_PDF_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            raise ReportError(f"Chromium did not print the PDF within {_PDF_TIMEOUT:.0f} s") from None
        data = pdf.read_bytes() if pdf.exists() else b""
        if done.returncode != 0 or not data.startswith(b"%PDF-"):
            raise ReportError(f"Chromium could not print the PDF (exit {done.returncode})")
        return data


def render(report: Report, fmt: str) -> bytes:
    renderers = {"csv": to_csv, "json": to_json, "html": to_html, "pdf": to_pdf}
    if fmt not in renderers:
        raise ReportError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    return renderers[fmt](report)
