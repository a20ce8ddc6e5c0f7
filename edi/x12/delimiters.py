"""The four X12 separators, taken from each ISA rather than assumed.

Trading partners choose their own separators; an engine that hard-codes `*`, `:`, `^` and `~`
misreads real files. Everything that reads or writes X12 carries a `Delimiters` value instead.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Delimiters", "DEFAULT_DELIMITERS", "ISA_LENGTH"]

#: Length of a well-formed ISA segment including its terminator (fixed-width fields).
ISA_LENGTH = 106


@dataclass(frozen=True, slots=True)
class Delimiters:
    """Separators of one interchange, plus the line break (if any) written after each terminator."""

    element: str = "*"
    component: str = ":"
    repetition: str = "^"
    segment: str = "~"
    line_break: str = "\n"

    def characters(self) -> set[str]:
        """The separator characters that may not appear inside data values."""
        return {c for c in (self.element, self.component, self.repetition, self.segment) if c}

    def to_dict(self) -> dict[str, str]:
        return {
            "element": self.element,
            "component": self.component,
            "repetition": self.repetition,
            "segment": self.segment,
            "line_break": self.line_break,
        }

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> Delimiters:
        return cls(
            element=data["element"],
            component=data["component"],
            repetition=data.get("repetition", ""),
            segment=data["segment"],
            line_break=data.get("line_break", ""),
        )


DEFAULT_DELIMITERS = Delimiters()
