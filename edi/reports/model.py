"""What every report is made of: a window, tables of figures, and maybe a daily series.

One shape for all kinds keeps the renderers kind-agnostic (a new report is a query, not a new
template), and the JSON rendering is this model as it stands, so API clients get the same
figures the HTML shows.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["DailyPoint", "Report", "ReportError", "Table", "Window", "parse_moment"]

Cell = str | int | float | None


class ReportError(ValueError):
    """A report request that cannot be answered as asked; the message says what to change."""


class Window(BaseModel):
    """``[start, end)`` in UTC."""

    model_config = ConfigDict(frozen=True)

    start: datetime
    end: datetime

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("give report times with a timezone (or as dates, read as UTC)")
        if self.end <= self.start:
            raise ValueError("the end of a report window must be after its start")
        return self

    @classmethod
    def parse(cls, start: str, end: str) -> Window:
        """From ISO dates or datetimes; a date ``end`` includes that whole day."""
        first, last = parse_moment(start, "from"), parse_moment(end, "to", end_of_day=True)
        if last <= first:
            raise ReportError("'to' must be after 'from'")
        return cls(start=first, end=last)

    def days(self) -> list[date]:
        first, last = self.start.date(), (self.end - timedelta(microseconds=1)).date()
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def parse_moment(text: str, name: str, *, end_of_day: bool = False) -> datetime:
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day + timedelta(days=1) if end_of_day else day, time(), UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ReportError(f"{name} must be an ISO date (2026-12-01) or datetime (2026-12-01T08:00:00Z)") from None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


class Table(BaseModel):
    name: str  # machine name (CSV section, JSON key)
    title: str
    columns: list[str]
    rows: list[list[Cell]] = Field(default_factory=list)

    def records(self) -> list[dict[str, Cell]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


class DailyPoint(BaseModel):
    day: date
    volume: int
    rejected: int

    @property
    def rejection_rate(self) -> float:
        return self.rejected / self.volume if self.volume else 0.0


class Report(BaseModel):
    kind: str
    title: str
    window: Window
    generated_at: datetime
    parameters: dict[str, str] = Field(default_factory=dict)  # never PHI: a member id is not echoed
    notes: list[str] = Field(default_factory=list)
    tables: list[Table]
    daily: list[DailyPoint] | None = None

    def table(self, name: str) -> Table:
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(name)
