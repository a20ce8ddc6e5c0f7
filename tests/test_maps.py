"""Tests for edi/maps: the project's pyx12-format maps and map registry.

pyx12 runs with ``map_path=pyx12_map_folder()`` and the 999 it writes is
compared segment by segment (IK3/IK4/IK5/AK9) with what the implementation
guides say about each sample.
"""

from __future__ import annotations

import io
import logging
import re
import shutil
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import pyx12
import pyx12.map_if
import pyx12.map_index
import pyx12.params
import pyx12.x12n_document

from edi import maps
from edi.maps import MAP_DIR, PYX12_MAP_DIR, Resolution, find_map_file, pyx12_map_folder, resolve

FIXTURES = Path(__file__).parent / "fixtures" / "x12"
SAMPLE_270 = FIXTURES / "270_005010X279A1" / "subscriber-health-benefit-check.270"
SAMPLE_271 = FIXTURES / "271_005010X279A1" / "subscriber-health-benefit-check.271"
SAMPLE_271_ERROR = FIXTURES / "271_005010X279A1" / "subscriber-health-benefit-check-error.271"
SAMPLE_276 = FIXTURES / "276_005010X212" / "claim-level-status.276"
SAMPLE_277_X212 = FIXTURES / "277_005010X212" / "claim-level-status.277"

OUR_MAPS = ["270.5010.X279.A1.xml", "271.5010.X279.A1.xml", "276.5010.X212.xml"]
EB03_REPEATED = "1^33^35^47^86^88^98^AL^MH^UC"


@pytest.fixture(autouse=True)
def _quiet_pyx12():
    logger = logging.getLogger("pyx12")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def run_pyx12(text: str, folder: Path | None = None) -> list[str]:
    """Validate ``text`` with pyx12 and our map folder; return the 999's
    IK3/IK4/IK5/AK9 segments (everything that carries a verdict)."""
    out = io.StringIO()
    pyx12.x12n_document.x12n_document(
        pyx12.params.params(),
        io.StringIO(text),
        fd_997=out,
        fd_html=None,
        map_path=str(folder or pyx12_map_folder()),
    )
    ack = [s.strip() for s in out.getvalue().split("~") if s.strip()]
    assert any(s.startswith("ST*999*") for s in ack), ack
    return [s for s in ack if s.split("*", 1)[0] in ("IK3", "IK4", "IK5", "AK9")]


ACCEPTED = ["IK5*A", "AK9*A*1*1*1"]
REJECTED = ["IK5*R*5", "AK9*R*1*1*0"]


def segments(path: Path) -> list[str]:
    return [s.strip() for s in path.read_text().split("~") if s.strip()]


def render(segs: list[str]) -> str:
    """Join segments back into an interchange, fixing SE01 (segment count)."""
    segs = list(segs)
    st = next(i for i, s in enumerate(segs) if s.startswith("ST*"))
    se = next(i for i, s in enumerate(segs) if s.startswith("SE*"))
    parts = segs[se].split("*")
    parts[1] = str(se - st + 1)
    segs[se] = "*".join(parts)
    return "~\n".join(segs) + "~\n"


def replace(segs: list[str], old: str, new: str | list[str] | None) -> list[str]:
    """Replace the single segment ``old`` by ``new`` (a segment, several, or none)."""
    assert segs.count(old) == 1, old
    i = segs.index(old)
    repl = [] if new is None else [new] if isinstance(new, str) else new
    return segs[:i] + repl + segs[i + 1 :]


def base_271() -> list[str]:
    """The 271 sample with EB03 reduced to its first repetition (see test_271_sample)."""
    return [s.replace(EB03_REPEATED, "1") for s in segments(SAMPLE_271)]


# --------------------------------------------------------------------------
# the map files
# --------------------------------------------------------------------------

# map.xsd content models, as regular expressions over the child tag sequence.
_CONTENT = {
    "transaction": r"name loop",
    "loop": r"name usage pos repeat( (segment|loop))*",
    "segment": r"name( end_tag)? usage pos max_use( syntax)*( (element|composite))*",
    "composite": r"data_ele name usage seq( refdes)?( syntax)*( repeat)?( element)*",
    "element": r"data_ele name usage seq( refdes)?( repeat)?( valid_codes)?( regex)?",
    "valid_codes": r"(code( code)*)?",
}
_ATTRS = {
    "transaction": {"xid", "{http://www.w3.org/2001/XMLSchema-instance}noNamespaceSchemaLocation"},
    "loop": {"xid", "pos", "usage", "repeat", "type"},
    "segment": {"xid", "usage", "pos", "max_use"},
    "composite": {"xid", "data_ele", "usage", "seq"},
    "element": {"xid", "data_ele", "name", "usage", "seq"},
    "valid_codes": {"external"},
}
_REQUIRED_XID = {"transaction", "loop", "segment", "element"}
_SYNTAX = re.compile(r"(E|L|P|C|R)([0-9]{2}){2,20}")


def _dataele() -> dict[str, dict[str, str]]:
    root = ET.parse(PYX12_MAP_DIR / "dataele.xml").getroot()
    return {e.get("ele_num"): e.attrib for e in root.iter("data_ele")}


def _external_code_sets() -> set[str]:
    return {c.findtext("id") for c in ET.parse(PYX12_MAP_DIR / "codes.xml").getroot().iter("codeset")}


def _where(node: ET.Element) -> str:
    return f"<{node.tag} xid={node.get('xid')!r}>"


def map_xsd_violations(path: Path) -> list[str]:
    """Check a map against pyx12's map.xsd: content models, attributes and
    simple types (usage, pos/seq, syntax)."""
    problems: list[str] = []
    root = ET.parse(path).getroot()
    if root.tag != "transaction":
        return [f"root is <{root.tag}>"]
    for node in root.iter():
        if node.tag not in _CONTENT:
            continue
        tags = " ".join(c.tag for c in node)
        if not re.fullmatch(_CONTENT[node.tag], tags):
            problems.append(f"{_where(node)} children {tags!r} do not match {_CONTENT[node.tag]!r}")
        extra = set(node.attrib) - _ATTRS[node.tag]
        if extra:
            problems.append(f"{_where(node)} unknown attributes {sorted(extra)}")
        if node.tag in _REQUIRED_XID and not node.get("xid"):
            problems.append(f"<{node.tag}> without xid")
        usage = node.findtext("usage")
        if node.tag in ("loop", "segment", "composite", "element") and usage not in ("R", "S", "N"):
            problems.append(f"{_where(node)} usage {usage!r}")
        for tag in ("pos", "seq"):
            value = node.findtext(tag)
            if value is not None and not value.isdigit():
                problems.append(f"{_where(node)} {tag} {value!r} is not a nonNegativeInteger")
        for syn in node.findall("syntax"):
            if not _SYNTAX.fullmatch(syn.text or ""):
                problems.append(f"{_where(node)} syntax {syn.text!r}")
    return problems


def map_convention_violations(path: Path) -> list[str]:
    """What pyx12 needs at run time and the conventions of its 5010 maps:
    known data elements and external code sets, codes that fit their data
    element, contiguous element sequence numbers, element/composite ids
    derived from the segment id, and a required first segment in each loop."""
    dataele = _dataele()
    externals = _external_code_sets()
    problems: list[str] = []
    for node in ET.parse(path).getroot().iter():
        if node.tag == "segment":
            children = [c for c in node if c.tag in ("element", "composite")]
            seqs = [int(c.findtext("seq")) for c in children]
            if seqs != list(range(1, len(seqs) + 1)):
                problems.append(f"{_where(node)} element seq {seqs}")
            for c in children:
                if c.get("xid") != f"{node.get('xid')}{int(c.findtext('seq')):02d}":
                    problems.append(f"{_where(node)} child xid {c.get('xid')}")
        elif node.tag == "element":
            de = node.findtext("data_ele")
            if de not in dataele:
                problems.append(f"{_where(node)} data_ele {de} is not in pyx12 dataele.xml")
                continue
            vc = node.find("valid_codes")
            if vc is None:
                continue
            ext = vc.get("external")
            if ext is not None and ext not in externals:
                problems.append(f"{_where(node)} unknown external code set {ext}")
            lo, hi = int(dataele[de]["min_len"]), int(dataele[de]["max_len"])
            codes = [c.text or "" for c in vc.findall("code")]
            if len(codes) != len(set(codes)):
                problems.append(f"{_where(node)} duplicate codes")
            for code in codes:
                if not lo <= len(code) <= hi:
                    problems.append(f"{_where(node)} code {code!r} does not fit {de} ({lo}..{hi})")
        elif node.tag == "loop":
            first = next((c for c in node if c.tag in ("segment", "loop")), None)
            if first is not None and first.tag == "segment" and first.findtext("usage") != "R":
                # pyx12/map/README.md: loops carry the usage, their first segment is required
                problems.append(f"{_where(node)} first segment {first.get('xid')} is not R")
    return problems


def loop_ids(path: Path) -> set[str]:
    return {lp.get("xid") for lp in ET.parse(path).getroot().iter("loop")}


@pytest.mark.parametrize("name", ["277.5010.X214.xml", "835.5010.X221.A1.xml", "837.5010.X222.A1.xml"])
def test_map_xsd_checker_accepts_pyx12_own_5010_maps(name):
    assert map_xsd_violations(PYX12_MAP_DIR / name) == []


@pytest.mark.parametrize("name", OUR_MAPS)
def test_map_conforms_to_map_xsd(name):
    # pyx12.map_if.load_map_file only parses the XML (defusedxml) and builds
    # the tree; it never validates against map.xsd.  This test does.
    assert map_xsd_violations(MAP_DIR / name) == []
    assert map_convention_violations(MAP_DIR / name) == []


@pytest.mark.parametrize("name", OUR_MAPS)
def test_map_loads_in_pyx12(name):
    m = pyx12.map_if.load_map_file(name, pyx12.params.params(), str(pyx12_map_folder()))
    assert m.icvn == "00501"
    assert m.id == name.split(".")[0]
    assert m.getnodebypath("/ISA_LOOP/GS_LOOP/ST_LOOP/HEADER/BHT") is not None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "270.5010.X279.A1.xml",
            {"2000A", "2100A", "2000B", "2100B", "2000C", "2100C", "2110C", "2000D", "2100D", "2110D"},
        ),
        (
            "271.5010.X279.A1.xml",
            {
                "2000A", "2100A", "2000B", "2100B",
                "2000C", "2100C", "2110C", "2115C", "2120C",
                "2000D", "2100D", "2110D", "2115D", "2120D",
            },
        ),
        (
            "276.5010.X212.xml",
            {
                "2000A", "2100A", "2000B", "2100B", "2000C", "2100C",
                "2000D", "2100D", "2200D", "2210D", "2000E", "2100E", "2200E", "2210E",
            },
        ),
    ],
)  # fmt: skip
def test_map_loops_are_the_guide_loops(name, expected):
    wrappers = {"ISA_LOOP", "GS_LOOP", "ST_LOOP", "HEADER", "DETAIL", "FOOTER"}
    assert loop_ids(MAP_DIR / name) == expected | wrappers


def _segment(path: Path, loop: str, seg: str, code: str | None = None) -> ET.Element:
    for lp in ET.parse(path).getroot().iter("loop"):
        if lp.get("xid") != loop:
            continue
        for s in lp.findall("segment"):
            first = s.find("element/valid_codes")
            if s.get("xid") == seg and (code is None or code in [c.text for c in first.findall("code")]):
                return s
    raise AssertionError(f"{seg} not in {loop}")


@pytest.mark.parametrize(
    ("name", "loop", "seg", "max_use"),
    [
        ("270.5010.X279.A1.xml", "2000C", "TRN", "2"),
        ("270.5010.X279.A1.xml", "2000D", "TRN", "2"),
        ("270.5010.X279.A1.xml", "2100C", "DTP", "2"),
        ("270.5010.X279.A1.xml", "2100C", "REF", "9"),
        ("270.5010.X279.A1.xml", "2110C", "III", "10"),
        ("271.5010.X279.A1.xml", "2000C", "TRN", "3"),
        ("271.5010.X279.A1.xml", "2000D", "TRN", "3"),
        ("271.5010.X279.A1.xml", "2100C", "DTP", "9"),
        ("271.5010.X279.A1.xml", "2100C", "AAA", "9"),
        ("271.5010.X279.A1.xml", "2110C", "MSG", "10"),
        ("271.5010.X279.A1.xml", "2110C", "DTP", "20"),
    ],
)
def test_guide_repeat_counts(name, loop, seg, max_use):
    assert _segment(MAP_DIR / name, loop, seg).findtext("max_use") == max_use


def test_repeating_service_type_elements_are_marked():
    for name, loop, seg, xid in [
        ("270.5010.X279.A1.xml", "2110C", "EQ", "EQ01"),
        ("271.5010.X279.A1.xml", "2110C", "EB", "EB03"),
    ]:
        element = _segment(MAP_DIR / name, loop, seg).find(f"element[@xid='{xid}']")
        assert element.findtext("repeat") == "99"
        assert element.find("valid_codes").get("external") == "service_type"


# --------------------------------------------------------------------------
# maps.xml and the registry
# --------------------------------------------------------------------------


def _versions(path: Path) -> dict[str, list[dict[str, str | None]]]:
    out = {}
    for v in ET.parse(path).getroot().iter("version"):
        out[v.get("icvn")] = [dict(m.attrib, file=m.text) for m in v.iter("map")]
    return out


def test_maps_xml_keeps_pyx12_4010_sections():
    ours, theirs = _versions(MAP_DIR / "maps.xml"), _versions(PYX12_MAP_DIR / "maps.xml")
    assert ours["00400"] == theirs["00400"]
    assert ours["00401"] == theirs["00401"]


def test_maps_xml_conforms_to_maps_xsd_apart_from_map_vriic():
    # maps.xsd: <maps><version icvn>(<map vriic fic tspc abbr>token</map>)+</version>+</maps>.
    # map_vriic is our one extension; pyx12's map_index ignores it.
    root = ET.parse(MAP_DIR / "maps.xml").getroot()
    assert root.tag == "maps"
    limits = {"vriic": 15, "fic": 2, "tspc": 2, "abbr": 50}
    for version in root:
        assert version.tag == "version" and set(version.attrib) == {"icvn"}
        assert len(version.get("icvn")) <= 8
        assert len(version) > 0
        for m in version:
            assert m.tag == "map" and len(m) == 0 and (m.text or "").strip()
            assert set(m.attrib) <= set(limits) | {"map_vriic"}, m.attrib
            for attr, limit in limits.items():
                assert len(m.get(attr, "")) <= limit, m.attrib


def test_every_registered_map_exists_and_pyx12_finds_it():
    index = pyx12.map_index.map_index(str(pyx12_map_folder()))
    for e in maps.map_entries():
        assert find_map_file(e.filename).is_file(), e
        if e.tspc is None:
            assert index.get_filename(e.icvn, e.vriic, e.fic) == e.filename, e


@pytest.mark.parametrize(
    ("fic", "vriic", "filename"),
    [
        ("HS", "005010X279A1", "270.5010.X279.A1.xml"),
        ("HB", "005010X279A1", "271.5010.X279.A1.xml"),
        ("HR", "005010X212", "276.5010.X212.xml"),
        ("HN", "005010X212", "277.5010.X212.xml"),
        ("HN", "005010X214", "277.5010.X214.xml"),
        ("HP", "005010X221A1", "835.5010.X221.A1.xml"),
        ("HC", "005010X222A1", "837.5010.X222.A1.xml"),
        ("HC", "005010X223A2", "837Q3.I.5010.X223.A1.xml"),
        ("FA", "005010X231A1", "999.5010X231.A1.xml"),
        ("FA", "005010X231", "999.5010.xml"),
        ("RA", "005010X218", "820.5010.X218.xml"),
        ("BE", "005010X220A1", "834.5010.X220.A1.xml"),
    ],
)
def test_resolve_registered_5010_maps(fic, vriic, filename):
    assert resolve("00501", fic, vriic) == Resolution(filename, vriic, vriic, False)


def test_resolve_errata_substitutions():
    assert resolve("00501", "HC", "005010X222A2") == Resolution(
        "837.5010.X222.A1.xml", "005010X222A2", "005010X222A1", True
    )
    assert resolve("00501", "HC", "005010X223A3") == Resolution(
        "837Q3.I.5010.X223.A1.xml", "005010X223A3", "005010X223A2", True
    )


def test_resolve_unknown_and_4010():
    assert resolve("00501", "HS", "005010X092A1") is None
    assert resolve("00501", "ZZ", "005010X279A1") is None
    assert resolve("00401", "HS", "004010X092A1").filename == "270.4010.X092.A1.xml"


def test_resolution_is_frozen():
    r = resolve("00501", "HS", "005010X279A1")
    with pytest.raises(AttributeError):
        r.filename = "x"  # type: ignore[misc]


def test_find_map_file_prefers_project_folder():
    assert find_map_file("maps.xml") == MAP_DIR / "maps.xml"
    assert find_map_file("270.5010.X279.A1.xml") == MAP_DIR / "270.5010.X279.A1.xml"
    # corrected copies of pyx12 maps take precedence over pyx12's own
    assert find_map_file("277.5010.X212.xml") == MAP_DIR / "277.5010.X212.xml"
    assert find_map_file("835.5010.X221.A1.xml") == MAP_DIR / "835.5010.X221.A1.xml"
    assert find_map_file("837.5010.X222.A1.xml") == MAP_DIR / "837.5010.X222.A1.xml"
    assert find_map_file("999.5010X231.A1.xml") == PYX12_MAP_DIR / "999.5010X231.A1.xml"
    assert Path(pyx12.__file__).parent / "map" == PYX12_MAP_DIR
    with pytest.raises(FileNotFoundError):
        find_map_file("999.9999.xml")
    with pytest.raises(ValueError):
        find_map_file("../maps/maps.xml")


def test_pyx12_map_folder_contents():
    folder = pyx12_map_folder()
    assert folder == pyx12_map_folder()
    for name in ("maps.xml", "dataele.xml", "codes.xml", "x12.control.00501.xml", "x12.control.00401.xml"):
        assert (folder / name).is_file(), name
    for e in maps.map_entries():
        assert (folder / e.filename).is_file(), e.filename
    assert (folder / "maps.xml").read_bytes() == (MAP_DIR / "maps.xml").read_bytes()
    for name in OUR_MAPS:
        assert (folder / name).read_bytes() == (MAP_DIR / name).read_bytes()


def test_pyx12_map_folder_build_is_reused_and_distrusts_foreign_folders(tmp_path, monkeypatch):
    monkeypatch.setattr(maps.tempfile, "gettempdir", lambda: str(tmp_path))
    build = maps.pyx12_map_folder.__wrapped__
    first = build()
    assert first.parent == tmp_path and first.name.startswith("edi-engine-maps-")
    assert build() == first
    assert [p.name for p in tmp_path.iterdir()] == [first.name]  # no build leftovers
    # A folder others can write to is not trusted: a private copy is used instead.
    first.chmod(0o777)
    other = build()
    assert other != first and (other / "maps.xml").is_file()


# --------------------------------------------------------------------------
# the public samples
# --------------------------------------------------------------------------


def test_270_sample_is_accepted():
    assert run_pyx12(SAMPLE_270.read_text()) == ACCEPTED


def test_271_sample():
    # EB03 is a repeating element in 005010X279A1 (up to 99 service type
    # codes separated by the ISA11 repetition separator "^"), so the sample is
    # valid.  pyx12 4.0 does not split repetitions: it checks the whole value
    # "1^33^...^UC" as one ID (too long: 5, not a code: 7).  That is a pyx12
    # limitation the map cannot express around; the map marks EB03 with
    # <repeat>99</repeat> for engines that do split repetitions.
    bad = f"IK4*3*1365*5*{EB03_REPEATED}", f"IK4*3*1365*7*{EB03_REPEATED}"
    assert run_pyx12(SAMPLE_271.read_text()) == [
        "IK3*EB*19**8", *bad,
        "IK3*EB*20**8", *bad,
        "IK3*EB*21**8", *bad,
        *REJECTED,
    ]  # fmt: skip
    # Everything else in the sample is valid for the map.
    assert run_pyx12(render(base_271())) == ACCEPTED


def test_271_error_sample():
    # AAA*Y**50*N in 2100B is a valid rejection (AAA03 50 "Provider Ineligible
    # for Inquiries", AAA04 N "Resubmission Not Allowed"), and HL04=0 on the
    # 2000B with no subscriber level is allowed in a 271.  The one genuine
    # error is in the envelope: SE02 is 4323 but ST02 is 4321 (X12.6: the
    # trailer control number must equal the header's) -> IK5 code 3.
    assert run_pyx12(SAMPLE_271_ERROR.read_text()) == ["IK5*R*3", "AK9*R*1*1*0"]
    fixed = SAMPLE_271_ERROR.read_text().replace("SE*8*4323", "SE*8*4321")
    assert run_pyx12(fixed) == ACCEPTED


def test_276_sample_is_accepted():
    # Note: the 2100C NPI "166666666" in HL 6 has 9 digits; an NPI has 10.  NM109
    # is AN 2/80 so neither X12 nor the map can see that - an NPI check-digit
    # rule belongs in the engine's semantic validation.
    assert run_pyx12(SAMPLE_276.read_text()) == ACCEPTED


def test_277_x212_sample_with_pyx12_map_is_wrongly_rejected():
    # pyx12's own 277.5010.X212.xml (shipped, not registered) has defects: GS01/GS08
    # accept only "RA"/"005010X218" (copied from the 820 map), 2000C/D/E are siblings
    # of DETAIL instead of nested under 2000B/C/D, and SE sits in a spare loop.
    original = PYX12_MAP_DIR / "277.5010.X212.xml"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "maps"
        shutil.copytree(pyx12_map_folder(), folder)
        (folder / "277.5010.X212.xml").unlink()
        shutil.copy(original, folder / "277.5010.X212.xml")
        assert run_pyx12(SAMPLE_277_X212.read_text(), folder) == [
            "IK3*HL*3**1",
            "IK3*HL*4**3",
            "IK3*HL*7**3",
            "IK3*SE*37**1",
            "IK5*R*5",
            "AK9*R*1*1*0*1*2",
        ]


def test_277_x212_sample_is_accepted_with_corrected_map():
    # edi/maps/277.5010.X212.xml restructures pyx12's map (nesting, GS codes, SE).
    assert run_pyx12(SAMPLE_277_X212.read_text()) == ACCEPTED


def test_835_map_requires_st03():
    # 005010X221A1 requires ST03; pyx12's map marks it Not Used, which makes pyx12
    # crash building the 999 for every 835 (with or without ST03).
    st03 = ET.parse(MAP_DIR / "835.5010.X221.A1.xml").getroot().find(".//element[@xid='ST03']")
    assert st03.findtext("usage") == "R"


# --------------------------------------------------------------------------
# broken variants: each must be rejected for the right reason
# --------------------------------------------------------------------------

S270 = segments(SAMPLE_270)
NM1_IL_270 = "NM1*IL*1*SMITH*ROBERT****MI*11122333301"
TRN_270 = "TRN*1*93175-012547*9877281234"

VARIANTS_270 = {
    # 2100C NM1 is the first segment of the required 2100C loop; without it the
    # subscriber's DMG/DTP/EQ have no loop to belong to.
    "required subscriber NM1 dropped": (
        replace(S270, NM1_IL_270, None),
        ["IK3*DMG*9**1", "IK3*DTP*10**1", "IK3*EQ*11**1", "IK3*NM1*11**3", *REJECTED],
    ),
    "EQ01 service type ZZZ": (
        replace(S270, "EQ*30", "EQ*ZZZ"),
        ["IK3*EQ*12**8", "IK4*1*1365*5*ZZZ", "IK4*1*1365*7*ZZZ", *REJECTED],
    ),
    "EQ01 service type ZZ": (
        replace(S270, "EQ*30", "EQ*ZZ"),
        ["IK3*EQ*12**8", "IK4*1*1365*7*ZZ", *REJECTED],
    ),
    "EQ without EQ01 or EQ02 (syntax R0102)": (
        replace(S270, "EQ*30", "EQ"),
        ["IK3*EQ*12**8", *REJECTED],
    ),
    "DMG02 not a date": (
        replace(S270, "DMG*D8*19430519", "DMG*D8*19431340"),
        ["IK3*DMG*10**8", "IK4*2*1251*8*19431340", *REJECTED],
    ),
    "2000A HL04 0 (a 270 source always has receivers)": (
        replace(S270, "HL*1**20*1", "HL*1**20*0"),
        ["IK3*HL*3**8", "IK4*4*736*7*0", *REJECTED],
    ),
    "2000C HL04 5": (
        replace(S270, "HL*3*2*22*0", "HL*3*2*22*5"),
        ["IK3*HL*7**8", "IK4*4*736*7*5", *REJECTED],
    ),
    "TRN without its trace number": (
        replace(S270, TRN_270, "TRN*1**9877281234"),
        ["IK3*TRN*8**8", "IK4*2*127*1", *REJECTED],
    ),
    "TRN three times (270 max 2)": (
        replace(S270, TRN_270, ["TRN*1*A*9877281234", "TRN*1*B*9877281234", "TRN*1*C*9877281234"]),
        ["IK3*TRN*10**5", *REJECTED],
    ),
    "subscriber last name longer than 60": (
        replace(S270, NM1_IL_270, "NM1*IL*1*" + "S" * 61 + "*ROBERT****MI*11122333301"),
        ["IK3*NM1*9**8", f"IK4*3*1035*5*{'S' * 61}", *REJECTED],
    ),
    "subscriber NM108 ZZ (4010 qualifier, not in 5010)": (
        replace(S270, NM1_IL_270, "NM1*IL*1*SMITH*ROBERT****ZZ*11122333301"),
        ["IK3*NM1*9**8", "IK4*8*66*7*ZZ", *REJECTED],
    ),
    "receiver NM108 ZZ": (
        replace(
            S270,
            "NM1*1P*2*BONE AND JOINT CLINIC*****SV*2000035",
            "NM1*1P*2*BONE AND JOINT CLINIC*****ZZ*2000035",
        ),
        ["IK3*NM1*6**8", "IK4*8*66*7*ZZ", *REJECTED],
    ),
    "DMG after DTP (out of order)": (
        replace(
            replace(S270, "DMG*D8*19430519", None),
            "DTP*291*D8*20060501",
            ["DTP*291*D8*20060501", "DMG*D8*19430519"],
        ),
        ["IK3*DMG*11**1", *REJECTED],
    ),
    "2100C DTP three times (270 max 2)": (
        replace(
            S270, "DTP*291*D8*20060501", ["DTP*291*D8*20060501", "DTP*102*D8*20060501", "DTP*291*D8*20060502"]
        ),
        ["IK3*DTP*13**5", *REJECTED],
    ),
    "BHT02 11 is a response code": (
        replace(S270, "BHT*0022*13*10001234*20060501*1319", "BHT*0022*11*10001234*20060501*1319"),
        ["IK3*BHT*2**8", "IK4*2*353*7*11", *REJECTED],
    ),
}

VALID_270 = {
    "sample": S270,
    "TRN omitted (situational)": replace(S270, TRN_270, None),
    "EQ01 77 (X279A1 code missing from pyx12 codes.xml)": replace(S270, "EQ*30", "EQ*77"),
    "EQ01 CI": replace(S270, "EQ*30", "EQ*CI"),
    "two TRN": replace(S270, TRN_270, [TRN_270, "TRN*1*X*9877281234"]),
    "dependent level": replace(S270, "HL*3*2*22*0", "HL*3*2*22*1")[:-3]
    + ["HL*4*3*23*0", "TRN*1*X1*9877281234", "NM1*03*1*SMITH*JANE", "DMG*D8*19700101*F", "INS*N*01", "EQ*30"]
    + S270[-3:],
    "diagnosis and procedure": replace(
        replace(S270, "DMG*D8*19430519", ["DMG*D8*19430519*M", "HI*ABK:E119*ABF:I10"]),
        "EQ*30",
        ["EQ**HC:99213***1", "III*ZZ*11", "DTP*291*RD8*20060501-20060531"],
    ),
}


@pytest.mark.parametrize("case", sorted(VARIANTS_270))
def test_270_broken_variant(case):
    segs, expected = VARIANTS_270[case]
    assert run_pyx12(render(segs)) == expected


@pytest.mark.parametrize("case", sorted(VALID_270))
def test_270_valid_variant(case):
    assert run_pyx12(render(VALID_270[case])) == ACCEPTED


B271 = base_271()
TRN_271 = "TRN*2*93175-012547*9877281234"
NM1_1P_271 = "NM1*1P*2*BONE AND JOIN CLINIC*****SV*2000035"

VARIANTS_271 = {
    "required payer NM1 dropped": (
        replace(B271, "NM1*PR*2*ABC COMPANY*****PI*841610001", None),
        ["IK3*NM1*4**3", *REJECTED],
    ),
    "AAA03 ZZ": (
        replace(B271, NM1_1P_271, [NM1_1P_271, "AAA*N**ZZ*C"]),
        ["IK3*AAA*7**8", "IK4*3*901*7*ZZ", *REJECTED],
    ),
    "EB01 ZZ is not an eligibility code": (
        replace(B271, "EB*L", "EB*ZZ"),
        ["IK3*EB*15**1", *REJECTED],
    ),
    "EB06 time period 99": (
        replace(B271, "EB*1**30**GOLD 123 PLAN", "EB*1**30**GOLD 123 PLAN*99"),
        ["IK3*EB*14**8", "IK4*6*615*7*99", *REJECTED],
    ),
    "EB03 service type ZZZ": (
        replace(B271, "EB*1**30**GOLD 123 PLAN", "EB*1**ZZZ**GOLD 123 PLAN"),
        ["IK3*EB*14**8", "IK4*3*1365*5*ZZZ", "IK4*3*1365*7*ZZZ", *REJECTED],
    ),
    "MSG eleven times (max 10)": (
        replace(B271, "EB*L", ["EB*L"] + [f"MSG*TEXT {i}" for i in range(11)]),
        ["IK3*MSG*26**5", *REJECTED],
    ),
    "2115C eleven times (max 10)": (
        replace(B271, "EB*L", ["EB*L"] + ["III*ZZ*11"] * 11),
        ["IK3*III*26**4", *REJECTED],
    ),
    "TRN four times (271 max 3)": (
        replace(B271, TRN_271, [TRN_271, TRN_271, "TRN*1*X*9877281234", "TRN*1*Y*9877281234"]),
        ["IK3*TRN*11**5", *REJECTED],
    ),
    "2000C HL04 2": (
        replace(B271, "HL*3*2*22*0", "HL*3*2*22*2"),
        ["IK3*HL*7**8", "IK4*4*736*7*2", *REJECTED],
    ),
    "2100C DTP ten times (271 max 9)": (
        replace(B271, "DTP*346*D8*20060101", ["DTP*346*D8*20060101"] * 10),
        ["IK3*DTP*22**5", *REJECTED],
    ),
    "2100C DTP qualifier 999": (
        replace(B271, "DTP*346*D8*20060101", "DTP*999*D8*20060101"),
        ["IK3*DTP*13**1", *REJECTED],
    ),
    "N4 state XX": (
        replace(B271, "N4*KANSAS CITY*MO*64108", "N4*KANSAS CITY*XX*64108"),
        ["IK3*N4*11**8", "IK4*2*156*7*XX", *REJECTED],
    ),
}

VALID_271 = {
    "sample with single EB03": B271,
    "three TRN": replace(B271, TRN_271, [TRN_271, TRN_271, "TRN*1*X*9877281234"]),
    "ten MSG": replace(B271, "EB*L", ["EB*L"] + [f"MSG*TEXT {i}" for i in range(10)]),
    "AAA on the receiver": replace(B271, NM1_1P_271, [NM1_1P_271, "AAA*Y**50*N"]),
    "Quebec address (QC is missing from pyx12 codes.xml)": replace(
        B271, "N4*KANSAS CITY*MO*64108", "N4*MONTREAL*QC*H2X1Y4"
    ),
    "benefit detail segments": replace(
        B271,
        "EB*L",
        [
            "EB*L",
            "HSD*VS*12*WK*3*34*1",
            "REF*18*PLAN123",
            "DTP*348*D8*20060101",
            "MSG*PCP ON FILE",
            "III*ZZ*11",
        ],
    ),
    "subscriber military and diagnosis": replace(
        B271, "DTP*346*D8*20060101", ["HI*BK:4019", "DTP*346*D8*20060101", "MPI*A*AE*A**A1*D8*20050101"]
    ),
}


@pytest.mark.parametrize("case", sorted(VARIANTS_271))
def test_271_broken_variant(case):
    segs, expected = VARIANTS_271[case]
    assert run_pyx12(render(segs)) == expected


@pytest.mark.parametrize("case", sorted(VALID_271))
def test_271_valid_variant(case):
    assert run_pyx12(render(VALID_271[case])) == ACCEPTED


S276 = segments(SAMPLE_276)

VARIANTS_276 = {
    # 2210E DTP (Service Line Date) is required.
    "service line date dropped": (replace(S276, "DTP*472*D8*20050501", None), ["IK3*DTP*34**3", *REJECTED]),
    "claim REF qualifier ZZ": (
        replace(S276, "REF*EJ*MA345678", "REF*ZZ*MA345678"),
        ["IK3*REF*33**1", *REJECTED],
    ),
    "2100A NM108 SV": (
        replace(S276, "NM1*PR*2*ABC INSURANCE*****PI*12345", "NM1*PR*2*ABC INSURANCE*****SV*12345"),
        ["IK3*NM1*4**8", "IK4*8*66*7*SV", *REJECTED],
    ),
}


@pytest.mark.parametrize("case", sorted(VARIANTS_276))
def test_276_broken_variant(case):
    segs, expected = VARIANTS_276[case]
    assert run_pyx12(render(segs)) == expected
