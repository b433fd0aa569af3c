"""Tests for the NHS area gazetteer, run against the bundled real data."""

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from paths import ROOT

from service.areas import AreaMention, Gazetteer

DATA = ROOT / "service" / "data" / "gazetteer.json"
CORPUS = ROOT / "corpus"

BSOL = "Birmingham and Solihull"
BNSSG = "Bristol, North Somerset and South Gloucestershire"
BOB = "Buckinghamshire, Oxfordshire and Berkshire West"
CANDW = "Coventry and Warwickshire"
GLOS = "Gloucestershire"
HNY = "Humber and North Yorkshire"
NENC = "North East and North Cumbria"
SSOT = "Staffordshire and Stoke-on-Trent"
SNEE = "Suffolk and North East Essex"
WY = "West Yorkshire"

# The 44 STP footprints of 2016 and the ICS each became part of (an independent oracle,
# written out rather than read from the data file).
STP_TO_ICS = {
    "West, North and East Cumbria": NENC,
    "Northumberland, Tyne and Wear and North Durham": NENC,
    "Durham, Darlington, Tees, Hambleton, Richmondshire and Whitby": NENC,
    "Lancashire and South Cumbria": "Lancashire and South Cumbria",
    "West Yorkshire and Harrogate": WY,
    "Humber, Coast and Vale": HNY,
    "Greater Manchester": "Greater Manchester",
    "Cheshire and Merseyside": "Cheshire and Merseyside",
    "South Yorkshire and Bassetlaw": "South Yorkshire",
    "Staffordshire and Stoke on Trent": SSOT,
    "Shropshire and Telford and Wrekin": "Shropshire, Telford and Wrekin",
    "Derbyshire": "Derby and Derbyshire",
    "Lincolnshire": "Lincolnshire",
    "Nottinghamshire": "Nottingham and Nottinghamshire",
    "Leicester, Leicestershire and Rutland": "Leicester, Leicestershire and Rutland",
    "The Black Country": "Black Country",
    "Birmingham and Solihull": BSOL,
    "Coventry and Warwickshire": CANDW,
    "Herefordshire and Worcestershire": "Herefordshire and Worcestershire",
    "Northamptonshire": "Northamptonshire",
    "Cambridgeshire and Peterborough": "Cambridgeshire and Peterborough",
    "Norfolk and Waveney": "Norfolk and Waveney",
    "Suffolk and North East Essex": SNEE,
    "Milton Keynes, Bedfordshire and Luton": "Bedfordshire, Luton and Milton Keynes",
    "Hertfordshire and West Essex": "Hertfordshire and West Essex",
    "Mid and South Essex": "Mid and South Essex",
    "North West London": "North West London",
    "North Central London": "North Central London",
    "North East London": "North East London",
    "South East London": "South East London",
    "South West London": "South West London",
    "Kent and Medway": "Kent and Medway",
    "Sussex and East Surrey": "Sussex",
    "Frimley Health": "Frimley",
    "Surrey Heartlands": "Surrey Heartlands",
    "Cornwall and the Isles of Scilly": "Cornwall and the Isles of Scilly",
    "Devon": "Devon",
    "Somerset": "Somerset",
    "Bristol, North Somerset and South Gloucestershire": BNSSG,
    "Bath, Swindon and Wiltshire": "Bath and North East Somerset, Swindon and Wiltshire",
    "Dorset": "Dorset",
    "Hampshire and the Isle of Wight": "Hampshire and Isle of Wight",
    "Gloucestershire": GLOS,
    "Buckinghamshire, Oxfordshire and Berkshire West": BOB,
}


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer.load()


def _records() -> list[dict[str, Any]]:
    return list(json.loads(DATA.read_text(encoding="utf-8"))["areas"])


def test_there_are_exactly_42_canonical_areas(gazetteer: Gazetteer) -> None:
    assert len(gazetteer.areas) == 42
    assert gazetteer.areas == sorted(gazetteer.areas)
    assert set(gazetteer.areas) == set(STP_TO_ICS.values()) | {
        "Black Country",
        "Bath and North East Somerset, Swindon and Wiltshire",
    }


def test_areas_per_nhs_england_region() -> None:
    regions = Counter(record["region"] for record in _records())
    assert regions == {
        "North East and Yorkshire": 4,
        "North West": 3,
        "Midlands": 11,
        "East of England": 6,
        "London": 5,
        "South East": 6,
        "South West": 7,
    }


def test_data_lists_exactly_the_44_stp_footprints() -> None:
    stps = [stp for record in _records() for stp in record["stp_names"]]
    assert len(stps) == 44
    assert set(stps) == set(STP_TO_ICS)


@pytest.mark.parametrize(("stp", "ics"), sorted(STP_TO_ICS.items()))
def test_every_stp_name_resolves(gazetteer: Gazetteer, stp: str, ics: str) -> None:
    assert gazetteer.canonical(stp) == ics


def test_every_listed_name_resolves_to_its_own_area(gazetteer: Gazetteer) -> None:
    for record in _records():
        area = record["name"]
        names = [area, *record["aliases"], *record["exact_case_aliases"], *record["former_ccgs"]]
        for name in names:
            assert gazetteer.canonical(name) == area, name
            assert [m.area for m in gazetteer.find_mentions(name)] == [area], name


@pytest.mark.parametrize(
    ("name", "area"),
    [
        ("Stoke-on-Trent", SSOT),
        ("Stoke on Trent", SSOT),
        ("Newcastle-under-Lyme", SSOT),
        ("NHS Stoke on Trent CCG", SSOT),
        ("Rugby", CANDW),
        ("Nuneaton", CANDW),
        ("Warwick", CANDW),
        ("South Warwickshire CCG", CANDW),
        ("C&W", CANDW),
        ("Cheltenham", GLOS),
        ("Gloucester", GLOS),
        ("Stroud", GLOS),
        ("Tewkesbury", GLOS),
        ("Gloucestershire CCG", GLOS),
        ("NHS Gloucestershire Integrated Care Board", GLOS),
        ("South Gloucestershire", BNSSG),
        ("BNSSG", BNSSG),
        ("Solihull", BSOL),
        ("BSol", BSOL),
        ("birmingham & solihull", BSOL),
        ("Ipswich", SNEE),
        ("Colchester", SNEE),
        ("Bury St Edmunds", SNEE),
        ("Leeds", WY),
        ("Bradford", WY),
        ("Craven", WY),
        ("Harrogate", HNY),
        ("Kingston upon Hull", HNY),
        ("Bassetlaw", "Nottingham and Nottinghamshire"),
        ("Glossop", "Derby and Derbyshire"),
        ("Peterborough", "Cambridgeshire and Peterborough"),
        ("Huntingdon", "Cambridgeshire and Peterborough"),
        ("Cumbria and North East", NENC),
        ("Newcastle upon Tyne", NENC),
        ("St. Helens", "Cheshire and Merseyside"),
        ("Kings Lynn", "Norfolk and Waveney"),
        ("The Black Country STP", "Black Country"),
    ],
)
def test_canonical_resolves_names(gazetteer: Gazetteer, name: str, area: str) -> None:
    assert gazetteer.canonical(name) == area


@pytest.mark.parametrize(
    "name", ["Newcastle", "Essex", "Cumbria", "Berkshire", "London", "New York", "Narnia", ""]
)
def test_canonical_refuses_ambiguous_or_unknown_names(gazetteer: Gazetteer, name: str) -> None:
    assert gazetteer.canonical(name) is None


def test_load_without_path_returns_one_shared_instance() -> None:
    assert Gazetteer.load() is Gazetteer.load()


def test_load_from_path_and_reject_conflicting_alias(tmp_path: Path) -> None:
    area = {"name": "Devon", "kind": "ICS", "region": "South West", "stp_names": ["Devon"]}
    path = tmp_path / "gazetteer.json"
    path.write_text(json.dumps({"areas": [{**area, "aliases": ["Exeter"]}]}), encoding="utf-8")
    small = Gazetteer.load(path)
    assert small.areas == ["Devon"]
    assert small.canonical("exeter") == "Devon"

    other = {**area, "name": "Elsewhere", "stp_names": [], "aliases": ["Exeter"]}
    path.write_text(
        json.dumps({"areas": [{**area, "aliases": ["Exeter"]}, other]}), encoding="utf-8"
    )
    with pytest.raises(ValueError, match="'Exeter' would name both Devon and Elsewhere"):
        Gazetteer.load(path)


def test_mention_offsets_are_exact(gazetteer: Gazetteer) -> None:
    text = (
        "Plans for Stoke on Trent, South Gloucestershire’s GPs and Gloucestershire "
        "(not Reading or reading)."
    )
    assert gazetteer.find_mentions(text) == [
        AreaMention(SSOT, "Stoke on Trent", 10, 24),
        AreaMention(BNSSG, "South Gloucestershire", 26, 47),
        AreaMention(GLOS, "Gloucestershire", 58, 73),
        AreaMention(BOB, "Reading", 79, 86),
    ]
    for mention in gazetteer.find_mentions(text):
        assert text[mention.start : mention.end] == mention.matched


@pytest.mark.parametrize(
    "text", ["Stoke-on-Trent", "Stoke on Trent", "Stoke–on–Trent", "Stoke-upon-Trent"]
)
def test_hyphen_and_space_variants_match_whole(gazetteer: Gazetteer, text: str) -> None:
    assert gazetteer.find_mentions(text) == [AreaMention(SSOT, text, 0, len(text))]


def test_longest_match_wins(gazetteer: Gazetteer) -> None:
    text = "Bury St Edmunds, Bath and North East Somerset, Stoke Mandeville"
    assert [(m.area, m.matched) for m in gazetteer.find_mentions(text)] == [
        (SNEE, "Bury St Edmunds"),
        ("Bath and North East Somerset, Swindon and Wiltshire", "Bath and North East Somerset"),
        (BOB, "Stoke Mandeville"),
    ]


def test_ordinary_words_need_exact_case(gazetteer: Gazetteer) -> None:
    text = "a hot bath, reading, a sale; then Bath, Reading and Sale"
    assert [m.matched for m in gazetteer.find_mentions(text)] == ["Bath", "Reading", "Sale"]


def test_names_of_elsewhere_are_not_mentions(gazetteer: Gazetteer) -> None:
    assert gazetteer.find_mentions("a New York study and a Boston Consulting Group report") == []


@pytest.mark.parametrize(
    ("query", "area"),
    [
        ("what are Gloucestershire's urgent care plans", GLOS),
        ("GP access in South Gloucestershire", BNSSG),
        ("mental health beds in Stoke on Trent", SSOT),
        ("compare Leeds with Sheffield", WY),
        ("I was reading the plan", None),
        ("how are waiting lists for hip operations being reduced?", None),
    ],
)
def test_detect_query_area(gazetteer: Gazetteer, query: str, area: str | None) -> None:
    assert gazetteer.detect_query_area(query) == area


def test_document_mostly_about_one_area(gazetteer: Gazetteer) -> None:
    text = "Leeds and Bradford will pool budgets. " * 5 + "A visit from Sheffield is planned."
    assert gazetteer.detect_document_area(text) == WY


def test_document_naming_many_places_once_has_no_area(gazetteer: Gazetteer) -> None:
    text = (
        "Examples come from Leeds, Devon, Rugby, Ipswich, Croydon and Dorset, "
        "each of which tried a different model."
    )
    assert len({m.area for m in gazetteer.find_mentions(text)}) == 6
    assert gazetteer.detect_document_area(text) is None


def test_document_with_no_places_or_a_tie_has_no_area(gazetteer: Gazetteer) -> None:
    assert gazetteer.detect_document_area("The NHS Long Term Plan sets priorities.") is None
    assert gazetteer.detect_document_area("Devon and Dorset. Devon and Dorset.") is None


def test_title_mentions_weigh_more(gazetteer: Gazetteer) -> None:
    body = "The plan was agreed with partners in Devon."
    assert gazetteer.detect_document_area(body) is None
    assert gazetteer.detect_document_area(body, title="Devon long term plan") == "Devon"


@pytest.mark.parametrize(
    ("filename", "area"),
    [
        ("birmingham-solihull-stp-overview.txt", BSOL),
        ("coventry-warwickshire-five-year-plan-2019-24.txt", CANDW),
        ("gloucestershire-stp-community-partner-bulletin-1.txt", GLOS),
        ("staffordshire-planned-care-case-study.txt", SSOT),
        ("staffordshire-planned-care-programme.txt", SSOT),
    ],
)
def test_bundled_corpus_documents(gazetteer: Gazetteer, filename: str, area: str) -> None:
    text = (CORPUS / filename).read_text(encoding="utf-8")
    assert gazetteer.detect_document_area(text) == area
