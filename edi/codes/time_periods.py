"""Time period qualifiers (X12 code list 615, EB06 of the 271).

They say over which period a benefit amount applies (calendar year, visit,
remaining...); without them a deductible amount is ambiguous to the reader.
"""

from __future__ import annotations

from edi.codes._table import CodeTable, freeze

__all__ = ["TIME_PERIOD_QUALIFIERS"]

TIME_PERIOD_QUALIFIERS: CodeTable = freeze(
    {
        "6": "Hour",
        "7": "Day",
        "13": "24 Hours",
        "21": "Years",
        "22": "Service Year",
        "23": "Calendar Year",
        "24": "Year to Date",
        "25": "Contract",
        "26": "Episode",
        "27": "Visit",
        "28": "Outlier",
        "29": "Remaining",
        "30": "Exceeded",
        "31": "Not Exceeded",
        "32": "Lifetime",
        "33": "Lifetime Remaining",
        "34": "Month",
        "35": "Week",
        "36": "Admission",
    }
)
