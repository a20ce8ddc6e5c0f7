"""The project's X12 map registry.

pyx12 4.0 ships 5010 maps for 837P/837I/835/277CA/999/820/834 but none for
the 270/271 eligibility transaction (005010X279A1) or the 276 claim status
request (005010X212), and it carries a 277 005010X212 map that its own
``maps.xml`` does not register.  This package holds the missing maps, written
in pyx12's own map format so that both pyx12 and edi-engine's validator (which
compiles pyx12-format maps) can use them, plus a ``maps.xml`` index that lists
every 5010 map the project supports.

The index also records errata identifiers seen in the field (for example
``005010X222A2``) together with the guide their map was written for
(``map_vriic="005010X222A1"``), so callers can tell when a substitute map was
used.  That mapping lives in ``maps.xml``, not in code.

pyx12 looks for ``maps.xml``, ``dataele.xml``, ``codes.xml``, the control maps
and the transaction maps in one folder.  :func:`pyx12_map_folder` builds such
a folder (pyx12's files plus ours, ours winning) once per content version in
the temporary directory, so it works when site-packages is read-only.

Everything here is local: no network access.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from xml.etree import ElementTree as ET

__all__ = [
    "MAP_DIR",
    "PYX12_MAP_DIR",
    "MapEntry",
    "Resolution",
    "find_map_file",
    "map_entries",
    "pyx12_map_folder",
    "resolve",
]

MAP_DIR: Path = Path(__file__).resolve().parent
"""This folder: the project's maps and its ``maps.xml``."""


def _pyx12_map_dir() -> Path:
    import pyx12

    return Path(pyx12.__file__).resolve().parent / "map"


PYX12_MAP_DIR: Path = _pyx12_map_dir()
"""pyx12's installed map folder (``pyx12/map``)."""

MAPS_INDEX = "maps.xml"
_FOLDER_PREFIX = "edi-engine-maps-"


@dataclass(frozen=True)
class Resolution:
    """The map chosen for a functional group."""

    filename: str
    """Map file name (basename); locate it with :func:`find_map_file`."""
    requested_vriic: str
    """The GS08 version/release/industry identifier that was asked for."""
    map_vriic: str
    """The identifier the map was written for (differs for errata substitutions)."""
    substituted: bool
    """True when the map was written for another (earlier) release of the guide."""


@dataclass(frozen=True)
class MapEntry:
    """One ``<map>`` line of ``maps.xml``."""

    icvn: str
    vriic: str
    fic: str
    tspc: str | None
    abbr: str | None
    filename: str
    map_vriic: str


def find_map_file(filename: str) -> Path:
    """Return the path of a map file: this folder first, then pyx12's map folder.

    Raises :class:`ValueError` for names with a directory part and
    :class:`FileNotFoundError` when neither folder has the file.
    """
    if not filename or Path(filename).name != filename or filename in (".", ".."):
        raise ValueError(f"map file name must be a plain file name: {filename!r}")
    for folder in (MAP_DIR, PYX12_MAP_DIR):
        candidate = folder / filename
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"map file {filename!r} is neither in {MAP_DIR} nor in {PYX12_MAP_DIR}")


@cache
def map_entries() -> tuple[MapEntry, ...]:
    """All ``<map>`` entries of ``edi/maps/maps.xml``, in file order (read once)."""
    root = ET.parse(MAP_DIR / MAPS_INDEX).getroot()
    entries = []
    for version in root.iter("version"):
        icvn = version.get("icvn") or ""
        for m in version.iterfind("map"):
            vriic = m.get("vriic") or ""
            entries.append(
                MapEntry(
                    icvn=icvn,
                    vriic=vriic,
                    fic=m.get("fic") or "",
                    tspc=m.get("tspc"),
                    abbr=m.get("abbr"),
                    filename=(m.text or "").strip(),
                    map_vriic=m.get("map_vriic") or vriic,
                )
            )
    return tuple(entries)


def resolve(icvn: str, fic: str, vriic: str, tspc: str | None = None) -> Resolution | None:
    """Find the map registered for ISA12 ``icvn``, GS01 ``fic`` and GS08 ``vriic``.

    Matching follows pyx12's ``map_index.get_filename`` (first entry wins;
    ``tspc``, the 4010 278 BHT02 discriminator, is only compared when given).
    Returns ``None`` when no map is registered.
    """
    for e in map_entries():
        if e.icvn == icvn and e.fic == fic and e.vriic == vriic and (tspc is None or e.tspc == tspc):
            return Resolution(
                filename=e.filename,
                requested_vriic=vriic,
                map_vriic=e.map_vriic,
                substituted=e.map_vriic != vriic,
            )
    return None


def _folder_sources() -> dict[str, Path]:
    """File name -> source path for the combined pyx12 map folder (ours override pyx12's)."""
    sources: dict[str, Path] = {}
    for folder in (PYX12_MAP_DIR, MAP_DIR):
        for p in sorted(folder.iterdir()):
            if p.is_file() and p.suffix in (".xml", ".xsd", ".dtd"):
                sources[p.name] = p
    return sources


def _content_hash(sources: dict[str, Path]) -> str:
    h = hashlib.sha256()
    for name in sorted(sources):
        h.update(name.encode())
        h.update(b"\0")
        h.update(hashlib.sha256(sources[name].read_bytes()).digest())
    return h.hexdigest()[:16]


def _is_trusted_dir(path: Path) -> bool:
    """A cache folder we may reuse: a real directory we own that others cannot write."""
    try:
        st = path.lstat()
    except OSError:
        return False
    if not stat.S_ISDIR(st.st_mode):
        return False
    if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)):
        return False
    return (path / MAPS_INDEX).is_file()


@cache
def pyx12_map_folder() -> Path:
    """A folder to pass to pyx12 as ``map_path``.

    It holds our ``maps.xml``, pyx12's ``dataele.xml`` and ``codes.xml``,
    the control maps and every map file (pyx12's and ours, ours winning).
    It is built once per user and content hash under the temporary
    directory (``edi-engine-maps-<uid>-<hash>``), in a private build folder
    that is then renamed into place, so concurrent processes never see a
    half-built folder.
    """
    sources = _folder_sources()
    base = Path(tempfile.gettempdir())
    owner = os.getuid() if hasattr(os, "getuid") else "user"
    target = base / f"{_FOLDER_PREFIX}{owner}-{_content_hash(sources)}"
    if _is_trusted_dir(target):
        return target
    build = Path(tempfile.mkdtemp(prefix=f".{_FOLDER_PREFIX}build-", dir=base))
    try:
        for name, src in sources.items():
            shutil.copyfile(src, build / name)
        build.chmod(0o755)
        try:
            build.rename(target)
        except OSError:
            # Another process finished first, or the name is taken by something
            # we must not trust: keep our private copy in that case.
            if _is_trusted_dir(target):
                shutil.rmtree(build, ignore_errors=True)
                return target
            return build
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    return target
