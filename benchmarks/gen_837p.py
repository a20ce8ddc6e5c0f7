"""Deterministic generator of valid 837P (005010X222A1) interchanges for benchmarks.

``generate_837p(n_claims, claims_per_st, seed)`` yields the interchange as a stream
of ``bytes`` chunks (about 64 KiB each), so even 100,000 claims never sit in memory
at once; ``write_837p`` writes that stream to a file.

Layout:

* one ISA/IEA holding one GS/GE;
* claims are split into transaction sets of ``claims_per_st`` claims each:
  ``claims_per_st=1`` gives one ST/SE per claim, a large number (e.g. equal to
  ``n_claims``) puts every claim into one ST/SE;
* every claim sits in its own hierarchy: a 2000A billing-provider HL (parent of)
  a 2000B subscriber HL, the subscriber being the patient (no 2000C).  Claim
  bodies are therefore byte-for-byte the same in both layouts, apart from HL
  numbers, so the layouts differ only in envelope overhead.

Per claim: 2010AA billing provider (NPI with a valid Luhn check digit, 9-digit
ZIP, REF*EI), 2000B SBR*P*18, 2010BA subscriber (varied name, member id,
address, DMG date of birth and gender), 2010BB payer, 2300 CLM (varied patient
control number, charge equal to the sum of its 1-4 service lines, CLM05
``11:B:1``), HI with ABK + ABF ICD-10-CM codes, and 2400 LX/SV1/DTP*472 lines.

Delimiters: element ``*``, component (ISA16) ``:``, repetition (ISA11) ``^``,
segment terminator ``~`` followed by a newline.

Run ``python -m benchmarks.gen_837p N CLAIMS_PER_ST OUT`` to write a file.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

__all__ = ["generate_837p", "write_837p", "npi_check_digit", "make_npi"]

VERSION = "005010X222A1"
TERM = "~\n"
CHUNK_BYTES = 64 * 1024

# Fixed envelope values keep the output a pure function of (n_claims, claims_per_st, seed).
_ENV_DATE = date(2024, 3, 15)
_ENV_TIME = "1200"

# fmt: off
_LAST_NAMES = (
    "SMITH", "JOHNSON", "WILLIAMS", "BROWN", "JONES", "GARCIA", "MILLER", "DAVIS",
    "RODRIGUEZ", "MARTINEZ", "HERNANDEZ", "LOPEZ", "GONZALEZ", "WILSON", "ANDERSON",
    "THOMAS", "TAYLOR", "MOORE", "JACKSON", "MARTIN", "LEE", "PEREZ", "THOMPSON",
    "WHITE", "HARRIS", "SANCHEZ", "CLARK", "RAMIREZ", "LEWIS", "ROBINSON", "NGUYEN",
    "OBRIEN", "KIM", "PATEL", "COHEN", "MURPHY", "SULLIVAN", "OKAFOR", "TANAKA",
)
_FIRST_F = (
    "MARY", "PATRICIA", "JENNIFER", "LINDA", "ELIZABETH", "BARBARA", "SUSAN", "JESSICA",
    "SARAH", "KAREN", "NANCY", "LISA", "BETTY", "SANDRA", "ASHLEY", "EMILY", "DONNA",
    "MICHELLE", "AMANDA", "MELISSA", "AISHA", "MEI", "PRIYA", "SOFIA",
)
_FIRST_M = (
    "JAMES", "ROBERT", "JOHN", "MICHAEL", "DAVID", "WILLIAM", "RICHARD", "JOSEPH",
    "THOMAS", "CHARLES", "CHRISTOPHER", "DANIEL", "MATTHEW", "ANTHONY", "MARK",
    "DONALD", "STEVEN", "PAUL", "ANDREW", "JOSHUA", "OMAR", "WEI", "RAJ", "MATEO",
)
_STREETS = (
    "MAIN ST", "OAK AVE", "PINE ST", "MAPLE DR", "CEDAR LN", "ELM ST", "WASHINGTON BLVD",
    "LAKE SHORE DR", "PARK AVE", "HILLCREST RD", "SUNSET BLVD", "RIVER RD", "CHURCH ST",
    "HIGHLAND AVE", "MILL RD", "FOREST DR", "SPRING ST", "BROADWAY",
)
# (city, state, 5-digit ZIP) - real city/state/ZIP combinations.
_PLACES = (
    ("MIAMI", "FL", "33111"), ("TAMPA", "FL", "33602"), ("ATLANTA", "GA", "30303"),
    ("CHICAGO", "IL", "60601"), ("HOUSTON", "TX", "77002"), ("DALLAS", "TX", "75201"),
    ("PHOENIX", "AZ", "85004"), ("DENVER", "CO", "80202"), ("SEATTLE", "WA", "98101"),
    ("PORTLAND", "OR", "97204"), ("BOSTON", "MA", "02108"), ("NEW YORK", "NY", "10001"),
    ("NEWARK", "NJ", "07102"), ("PHILADELPHIA", "PA", "19103"), ("COLUMBUS", "OH", "43215"),
    ("DETROIT", "MI", "48226"), ("NASHVILLE", "TN", "37203"), ("CHARLOTTE", "NC", "28202"),
    ("MINNEAPOLIS", "MN", "55401"), ("KANSAS CITY", "MO", "64105"), ("OMAHA", "NE", "68102"),
    ("SALT LAKE CITY", "UT", "84101"), ("LAS VEGAS", "NV", "89101"), ("SAN DIEGO", "CA", "92101"),
    ("SACRAMENTO", "CA", "95814"), ("ALBUQUERQUE", "NM", "87102"), ("BALTIMORE", "MD", "21202"),
    ("RICHMOND", "VA", "23219"), ("LOUISVILLE", "KY", "40202"), ("MILWAUKEE", "WI", "53202"),
)
_PROVIDER_NAMES = (
    "SUNRISE FAMILY MEDICINE", "LAKESIDE PEDIATRICS", "RIVERVIEW INTERNAL MEDICINE",
    "NORTHSIDE ORTHOPEDICS", "BAYSHORE CARDIOLOGY", "VALLEY DERMATOLOGY GROUP",
    "SUMMIT PRIMARY CARE", "HARBOR WOMENS HEALTH", "PINECREST NEUROLOGY",
    "MERIDIAN URGENT CARE", "CEDAR PHYSICAL THERAPY", "OAKWOOD MEDICAL ASSOCIATES",
)
_PAYERS = (
    ("KEY INSURANCE COMPANY", "999996666"), ("BLUE VALLEY HEALTH PLAN", "12345"),
    ("SUMMIT MUTUAL HEALTH", "SMH01"), ("GREAT LAKES CARE", "60054"),
    ("PACIFIC HEALTH ALLIANCE", "PHA77"), ("LIBERTY HEALTH", "87726"),
)
# (CPT/HCPCS code, base charge in cents)
_PROCEDURES = (
    ("99212", 7500), ("99213", 11000), ("99214", 16500), ("99215", 22000),
    ("99203", 15000), ("99204", 23000), ("36415", 1500), ("85025", 2800),
    ("80053", 4200), ("81001", 1200), ("87880", 3500), ("90471", 2500),
    ("90686", 3800), ("93000", 6000), ("71046", 9500), ("97110", 5200),
    ("97140", 4800), ("20610", 18000), ("11721", 9000), ("G0008", 2600),
)
# ICD-10-CM codes billable for FY2024 dates of service (no decimal point, as sent in X12).
_ICD10 = (
    "J069", "J209", "I10", "E119", "E785", "M5450", "R509", "R0602", "K219", "N390",
    "F419", "F329", "J45909", "M25561", "Z0000", "Z23", "R519", "L309", "H6690", "B349",
    "M79605", "S93401A", "E6601", "G43909", "R1030", "J302",
)
# fmt: on


def npi_check_digit(npi9: str) -> str:
    """Luhn check digit for a 9-digit NPI base (computed over the '80840' prefix)."""
    if len(npi9) != 9 or not npi9.isdigit():
        raise ValueError("NPI base must be 9 digits")
    total = 0
    # Luhn over "80840" + npi9, doubling every second digit from the right of the payload.
    for i, ch in enumerate(reversed("80840" + npi9)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def make_npi(rng: random.Random) -> str:
    """A syntactically valid individual/organization NPI (starts with 1 or 2)."""
    base = rng.choice("12") + f"{rng.randrange(10**8):08d}"
    return base + npi_check_digit(base)


def _money(cents: int) -> str:
    """Integer cents as an X12 R-type amount with two decimals, e.g. 12345 -> 123.45."""
    return f"{cents // 100}.{cents % 100:02d}"


class _Writer:
    """Collects segments, counts them for SE01, and hands out ~64 KiB chunks."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.st_segments = 0

    def seg(self, *elements: str) -> None:
        # Drop trailing empty elements (X12 forbids trailing element separators).
        end = len(elements)
        while end > 1 and elements[end - 1] == "":
            end -= 1
        text = "*".join(elements[:end]) + TERM
        self.parts.append(text)
        self.size += len(text)
        self.st_segments += 1

    def ready(self) -> bool:
        return self.size >= CHUNK_BYTES

    def take(self) -> bytes:
        data = "".join(self.parts).encode("ascii")
        self.parts.clear()
        self.size = 0
        return data


def _claim(w: _Writer, rng: random.Random, hl: int, claim_no: int, seed: int) -> None:
    """Emit one claim: 2000A/2010AA, 2000B/2010BA/2010BB, 2300, 2400 x 1-4."""
    # 2000A billing provider hierarchy
    w.seg("HL", str(hl), "", "20", "1")
    prov = rng.choice(_PROVIDER_NAMES)
    w.seg("NM1", "85", "2", prov, "", "", "", "", "XX", make_npi(rng))
    city, state, zip5 = rng.choice(_PLACES)
    w.seg("N3", f"{rng.randint(1, 9999)} {rng.choice(_STREETS)}")
    w.seg("N4", city, state, f"{zip5}{rng.randint(1, 9999):04d}")
    w.seg("REF", "EI", f"{rng.randint(10, 99)}{rng.randrange(10**7):07d}")

    # 2000B subscriber hierarchy (subscriber is the patient: SBR02=18, HL04=0)
    w.seg("HL", str(hl + 1), str(hl), "22", "0")
    w.seg("SBR", "P", "18", f"GRP{rng.randrange(10**6):06d}", "", "", "", "", "", "CI")
    gender = rng.choice("FM")
    first = rng.choice(_FIRST_F if gender == "F" else _FIRST_M)
    middle = rng.choice("ABCDEFGHJKLMNPRSTW")
    member_id = f"{rng.choice('ABCDHJKMNPRTW')}{rng.randrange(10**9):09d}{rng.randint(1, 9):02d}"
    w.seg("NM1", "IL", "1", rng.choice(_LAST_NAMES), first, middle, "", "", "MI", member_id)
    s_city, s_state, s_zip = rng.choice(_PLACES)
    w.seg("N3", f"{rng.randint(1, 99999)} {rng.choice(_STREETS)}")
    zip_code = s_zip if rng.random() < 0.5 else f"{s_zip}{rng.randint(1, 9999):04d}"
    w.seg("N4", s_city, s_state, zip_code)
    dob = date(1935, 1, 1) + timedelta(days=rng.randrange(70 * 365))
    w.seg("DMG", "D8", dob.strftime("%Y%m%d"), gender)
    payer_name, payer_id = rng.choice(_PAYERS)
    w.seg("NM1", "PR", "2", payer_name, "", "", "", "", "PI", payer_id)

    # 2300 claim
    n_lines = rng.randint(1, 4)
    lines = []
    for _ in range(n_lines):
        code, base = rng.choice(_PROCEDURES)
        units = rng.choice((1, 1, 1, 2))
        charge = (base + rng.randrange(0, 2000, 25)) * units
        lines.append((code, charge, units))
    total = sum(charge for _, charge, _ in lines)
    pcn = f"P{seed % 1000:03d}{claim_no:07d}{rng.choice('ABCDEFGHJKLMNPQRSTUVWXYZ')}{rng.randrange(1000):03d}"
    w.seg("CLM", pcn, _money(total), "", "", "11:B:1", "Y", "A", "Y", "Y")
    # One principal (ABK) plus 1-4 other (ABF) diagnoses.
    dx = rng.sample(_ICD10, rng.randint(2, 5))
    w.seg("HI", f"ABK:{dx[0]}", *(f"ABF:{code}" for code in dx[1:]))
    pointers = ":".join(str(i + 1) for i in range(min(len(dx), 4)))
    svc = date(2024, 1, 2) + timedelta(days=rng.randrange(60))
    # 2400 service lines
    for lx, (code, charge, units) in enumerate(lines, start=1):
        w.seg("LX", str(lx))
        w.seg("SV1", f"HC:{code}", _money(charge), "UN", str(units), "", "", pointers)
        w.seg("DTP", "472", "D8", svc.strftime("%Y%m%d"))


def generate_837p(n_claims: int, claims_per_st: int, seed: int = 0) -> Iterator[bytes]:
    """Yield a valid 837P 005010X222A1 interchange as ASCII ``bytes`` chunks.

    ``claims_per_st`` claims go into each transaction set (the last may hold fewer);
    all transaction sets share one functional group.  Output depends only on the
    arguments.
    """
    if n_claims < 1:
        raise ValueError("n_claims must be >= 1")
    if claims_per_st < 1:
        raise ValueError("claims_per_st must be >= 1")
    n_st = -(-n_claims // claims_per_st)
    if n_st > 999_999_999:
        raise ValueError("too many transaction sets for ST02")
    rng = random.Random(seed)
    w = _Writer()
    isa13 = f"{seed % 999_999_999 + 1:09d}"
    gs06 = str(seed % 999_999_999 + 1)
    yymmdd = _ENV_DATE.strftime("%y%m%d")
    ccyymmdd = _ENV_DATE.strftime("%Y%m%d")

    # fmt: off
    w.seg(
        "ISA", "00", " " * 10, "00", " " * 10, "ZZ", "EDIBENCHSUBMIT".ljust(15), "ZZ",
        "EDIBENCHRECEIVE".ljust(15), yymmdd, _ENV_TIME, "^", "00501", isa13, "0", "P", ":",
    )
    # fmt: on
    w.seg("GS", "HC", "EDIBENCHSUBMIT", "EDIBENCHRECEIVE", ccyymmdd, _ENV_TIME, gs06, "X", VERSION)

    claim_no = 0
    for st_no in range(1, n_st + 1):
        st02 = f"{st_no:04d}"
        w.st_segments = 0
        w.seg("ST", "837", st02, VERSION)
        w.seg("BHT", "0019", "00", f"B{seed % 10000:04d}{st_no:08d}", ccyymmdd, _ENV_TIME, "CH")
        # 1000A submitter, 1000B receiver
        w.seg("NM1", "41", "2", "EDI BENCH CLEARINGHOUSE", "", "", "", "", "46", "EDIBENCHSUBMIT")
        w.seg("PER", "IC", "BENCH SUPPORT", "TE", "5555550100")
        w.seg("NM1", "40", "2", "EDI BENCH RECEIVER", "", "", "", "", "46", "EDIBENCHRECEIVE")
        hl = 1
        for _ in range(min(claims_per_st, n_claims - claim_no)):
            claim_no += 1
            _claim(w, rng, hl, claim_no, seed)
            hl += 2
            if w.ready():
                yield w.take()
        w.seg("SE", str(w.st_segments + 1), st02)
    w.seg("GE", str(n_st), gs06)
    w.seg("IEA", "1", isa13)
    yield w.take()


def write_837p(path: str | Path, n_claims: int, claims_per_st: int, seed: int = 0) -> Path:
    """Write ``generate_837p(...)`` to ``path`` chunk by chunk; return the path."""
    path = Path(path)
    with path.open("wb") as fh:
        for chunk in generate_837p(n_claims, claims_per_st, seed):
            fh.write(chunk)
    return path


if __name__ == "__main__":  # pragma: no cover - convenience CLI
    if len(sys.argv) != 4:
        sys.exit("usage: python -m benchmarks.gen_837p N_CLAIMS CLAIMS_PER_ST OUT")
    write_837p(sys.argv[3], int(sys.argv[1]), int(sys.argv[2]))
