"""The landing-page sections of the content contract (``leadmagnet.content.sections``): every key
parses into plain data, every bad item is reported with its number, and the proof figure rounds
down, never up."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadmagnet.content import sections
from leadmagnet.content.catalog import load_catalog
from leadmagnet.content.contract import KEYS, parse_offer
from leadmagnet.content.images import image_size
from leadmagnet.content.sections import friendly_count
from tests.support.cases import PNG, build_content

BASE = {"title": "T", "type": "ebook", "description": "D", "file": "files/guide.pdf"}


def parse(content: Path, **keys):
    return parse_offer(content / "t.md", content, {**BASE, **keys}, "")


@pytest.fixture
def content(tmp_path: Path) -> Path:
    return build_content(tmp_path)


def test_every_section_parses_into_plain_data(tmp_path: Path) -> None:
    catalog = load_catalog(build_content(tmp_path, "sections-all"))
    assert catalog.errors == []
    offer = catalog.pages["sections-all"].offer
    assert (offer.layout, offer.primary, offer.proof, offer.proof_min) == ("longform", "#1f6f43", "Join {count} readers", 5)
    assert offer.benefits == (sections.Benefit("Fast", "Read it in ten minutes.", "bolt"), sections.Benefit("Tested"))
    assert offer.testimonials == (sections.Testimonial("It works.", "Ada Lovelace", "Head of Growth", "assets/photo.png"),)
    assert offer.logos == (sections.Logo("Northwind", "assets/cover.png", 40, 40),)
    assert offer.faq == (sections.Question("Is it free?", "Yes, **always**."),)
    assert offer.author == sections.Author("Grace Hopper", "", "assets/photo.png", "Writes about growth.")
    # Their images are public like a cover; nothing else is.
    assert offer.public_files() == {"assets/photo.png", "assets/cover.png"}


def test_defaults_when_no_section_is_given(content: Path) -> None:
    offer, problems = parse(content)
    assert problems == [] and offer is not None
    assert (offer.layout, offer.benefits, offer.faq, offer.proof, offer.proof_min, offer.author, offer.primary) == (
        "split",
        (),
        (),
        None,
        100,
        None,
        None,
    )


def test_every_bad_item_is_reported_with_its_number(tmp_path: Path) -> None:
    catalog = load_catalog(build_content(tmp_path, "sections-bad-items"))
    messages = [f"{p.key}: {p.message}" for p in catalog.errors]
    assert "benefits: item 1: icon 'rocket' is not a built-in icon; use one of: check, bolt, chart" in "\n".join(messages)
    assert "benefits: item 2: title is required" in messages
    assert "logos: item 1: image is required" in messages
    assert "faq: item 1: unknown key 'answer'; questions take q, a" in messages
    assert any(m.startswith("testimonials: item 1: photo 'assets/missing.png' does not exist under") for m in messages)
    assert any(m.startswith("proof: 'Join our readers' has no {count}") for m in messages)
    assert "sections-bad-items" not in catalog.pages


def test_a_primary_colour_that_fails_contrast_is_refused_naming_the_pair_and_ratio(content: Path) -> None:
    offer, problems = parse(content, primary="#7fb3ff")
    assert offer is None
    assert [str(p) for p in problems] == [
        "content/t.md: primary: #7fb3ff on #ffffff (buttons under white text, links): contrast 2.14:1, "
        "below the 4.5:1 WCAG AA needs for text; use a darker colour"
    ]
    assert parse(content, primary="#0B57D0")[0].primary == "#0b57d0"
    (problem,) = parse(content, primary="blue")[1]
    assert problem.message == "'blue' is not a colour; write it as #rrggbb (such as #0b57d0)"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("centred", "'centred' is not a layout (did you mean 'centered'?)"),
        ("Big Hero", "'Big Hero' is not a layout; use one of: split, centered, longform"),
    ],
)
def test_layout_typos_are_errors_but_a_theme_may_name_its_own(content: Path, value: str, message: str) -> None:
    offer, problems = parse(content, layout=value)
    assert offer is None and problems[0].message.startswith(message)
    assert parse(content, layout="magazine")[0].layout == "magazine"  # a theme's own layout


def test_proof_needs_count_and_nothing_else_between_braces(content: Path) -> None:
    assert parse(content, proof="Join {count} readers")[0].proof == "Join {count} readers"
    (problem,) = parse(content, proof="Join {count} {readers}")[1]
    assert "placeholder other than {count}" in problem.message
    (problem,) = parse(content, proof_min=0)[1]
    assert problem.key == "proof_min" and "above zero" in problem.message


def test_author_is_for_ebooks_and_may_be_just_a_name(content: Path) -> None:
    assert parse(content, author="Ada Lovelace")[0].author == sections.Author("Ada Lovelace")
    webinar = {"type": "webinar", "starts_at": "2029-01-01T10:00:00Z", "duration_minutes": 30, "join_url": "https://x.example/j"}
    _offer, problems = parse_offer(content / "w.md", content, {**BASE, "file": None, **webinar, "author": "Ada"}, "")
    assert "author: only applies to ebook offers, not webinar" in [f"{p.key}: {p.message}" for p in problems]


def test_every_section_key_is_in_the_contract_table() -> None:
    for key in ("layout", "benefits", "testimonials", "logos", "faq", "proof", "proof_min", "author", "primary"):
        assert key in KEYS and KEYS[key].help


@pytest.mark.parametrize(
    ("count", "shown"),
    [
        (0, "0"),
        (7, "7"),
        (57, "57+"),
        (100, "100+"),
        (157, "150+"),
        (999, "990+"),
        (1240, "1,200+"),
        (12345, "12,000+"),
        (1_000_001, "1,000,000+"),
    ],
)
def test_friendly_count_rounds_down_to_two_significant_digits(count: int, shown: str) -> None:
    assert friendly_count(count) == shown


def test_image_size_reads_png_svg_gif_and_jpeg(tmp_path: Path) -> None:
    files = {
        "a.png": PNG,
        "b.svg": b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="150px" height="40"><rect/></svg>',
        "c.svg": b'<svg viewBox="0 0 300 100" xmlns="http://www.w3.org/2000/svg"></svg>',
        "d.gif": b"GIF89a\x20\x00\x10\x00" + b"\x00" * 10,
        "e.jpg": b"\xff\xd8\xff\xe0\x00\x04\x00\x00\xff\xc0\x00\x11\x08\x00\x30\x00\x50\x03" + b"\x00" * 20,
        "f.txt": b"not an image",
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    sizes = {name: image_size(tmp_path / name) for name in files}
    assert sizes == {"a.png": (1, 1), "b.svg": (150, 40), "c.svg": (300, 100), "d.gif": (32, 16), "e.jpg": (80, 48), "f.txt": None}
