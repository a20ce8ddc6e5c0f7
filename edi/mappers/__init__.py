"""Translation between the canonical JSON contract (`edi.models`) and X12 005010 transactions.

Each mapper module owns one transaction family and exposes plain functions; `edi.mappers.translate`
chooses the direction and the mapper from the content it is given.
"""
