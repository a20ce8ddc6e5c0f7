"""Decoding what submitters drop or push (JSON, JSON Lines, X12, mapped CSV and fixed-width)
into canonical requests, with problems in the submitter's own terms. Pure: no I/O but bytes."""

from .decode import DEFAULT_MAX_BYTES, Decoded, Limits, decode, sniff
from .items import DecodedItem, DecodeError, Format, IngestProblem, RequestKind
from .mapping import ColumnMapping, FieldSpec, FixedColumn, MappingError, load_mapping, load_mappings
from .text import check_size

__all__ = [
    "DEFAULT_MAX_BYTES",
    "ColumnMapping",
    "DecodeError",
    "Decoded",
    "DecodedItem",
    "FieldSpec",
    "FixedColumn",
    "Format",
    "IngestProblem",
    "Limits",
    "MappingError",
    "RequestKind",
    "check_size",
    "decode",
    "load_mapping",
    "load_mappings",
    "sniff",
]
