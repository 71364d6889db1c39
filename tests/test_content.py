"""The catalog (``leadmagnet.content.catalog``): every case file in ``tests/content/``, clashes, broken
files that do not stop the others, and reloading on change with a throttled stat() check."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
import yaml

from leadmagnet.content import catalog as content
from leadmagnet.content import frontmatter
from leadmagnet.content.catalog import CatalogCache, load_catalog
from leadmagnet.content.frontmatter import split_front_matter
from tests.support.cases import CASES, all_cases, build_content

# Every case file and what the catalog must say about it: None = published cleanly.
EXPECTED = {
    "bad-slug": "content/bad-slug.md: slug: 'Not_A_Slug' is not a slug",
    "bad-starts-at-date": "content/bad-starts-at-date.md: starts_at: '2027-13-01' is not a valid date: month 13 (a month is 01 to 12)",
    "custom-fields": None,
    "draft": None,
    "ebook-key-on-webinar": "content/ebook-key-on-webinar.md: pages: only applies to ebook offers, not webinar",
    "expired": None,
    "invalid-yaml": "content/invalid-yaml.md: front matter is not valid YAML at line",
    "long-description": None,
    "markdown-features": None,
    "missing-required-ebook": "content/missing-required-ebook.md: title: is required",
    "missing-required-webinar": "content/missing-required-webinar.md: starts_at: is required",
    "missing-theme": "content/missing-theme.md: theme: theme 'no-such-theme' not found",
    "naive-starts-at-with-timezone": None,
    "naive-starts-at-without-timezone": "content/naive-starts-at-without-timezone.md: starts_at: '2029-01-15T16:00:00' is not an ISO 8601 date with a UTC offset or timezone (add an offset",
    "no-front-matter": "content/no-front-matter.md: has no front matter; start the file with --- then key: value lines, then ---",
    "scheduled": None,
    "sequence-with-stop-when": None,
    "sequence-without-body": "content/sequence-without-body.md: sequence: item 2: give the email's text as body: (Markdown) or file:",
    "sections-all": None,
    "sections-bad-items": "content/sections-bad-items.md: layout: 'centred' is not a layout (did you mean 'centered'?)",
    "slug-clash-a": None,
    "slug-clash-b": "content/slug-clash-b.md: slug: 'same-slug' is already used by content/slug-clash-a.md; give one of them another slug",
    "unknown-key-typo": "content/unknown-key-typo.md: subtitel: unknown key (did you mean 'subtitle'?)",
    "valid-ebook": None,
    "valid-webinar": None,
    "variants": None,
    "variants-broken": "content/variants-broken.md: winner: 'c' is not a variant of this offer",
}


def theme_problem(name: str) -> str | None:
    from leadmagnet.render.themes import Themes

    return Themes(None).problem(name)


def test_every_case_file_is_listed_here() -> None:
    assert sorted(EXPECTED) == all_cases()


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_case_file_alone(tmp_path: Path, case: str) -> None:
    content = build_content(tmp_path, case, "valid-ebook")
    catalog = load_catalog(content, check_theme=theme_problem)
    errors = [str(p) for p in catalog.errors if p.path.endswith(f"{case}.md")]
    expected = EXPECTED[case]
    if expected is None or case == "slug-clash-b":
        assert errors == [], errors
        assert case in {p.offer.source.removeprefix("content/").removesuffix(".md") for p in catalog.pages.values()}
    else:
        assert len(errors) >= 1 and errors[0].startswith(expected), errors
        assert all(p.offer.source != f"content/{case}.md" for p in catalog.pages.values())
    # A broken file never stops the others.
    assert "valid-ebook" in catalog.pages


def test_all_cases_together_report_every_problem_and_keep_the_good_offers(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    content = build_content(tmp_path, *EXPECTED)
    with caplog.at_level(logging.WARNING, logger="leadmagnet.content.catalog"):
        catalog = load_catalog(content, check_theme=theme_problem)
        assert caplog.records == []  # the caller reports them, once: `check` prints, a server logs
        served = CatalogCache(content, check_theme=theme_problem).get()
    messages = [str(p) for p in catalog.errors]
    assert served.problems == catalog.problems
    for case, expected in EXPECTED.items():
        if expected is not None:
            assert any(m.startswith(expected) for m in messages), (case, messages)
            assert sum(r.getMessage().startswith(expected) for r in caplog.records) == 1, case  # and once in the server's log
    published_sources = {p.offer.source for p in catalog.pages.values()}
    assert published_sources == {f"content/{c}.md" for c, e in EXPECTED.items() if e is None}


def test_slug_clash_alphabetically_first_file_keeps_the_slug(tmp_path: Path) -> None:
    content = build_content(tmp_path, "slug-clash-a", "slug-clash-b")
    catalog = load_catalog(content)
    assert catalog.pages["same-slug"].offer.source == "content/slug-clash-a.md"
    (error,) = catalog.errors
    assert "content/slug-clash-a.md" in str(error) and "content/slug-clash-b.md" in str(error)


def test_slug_defaults_to_file_name_also_in_a_subfolder(tmp_path: Path) -> None:
    content = build_content(tmp_path)
    (content / "2027").mkdir()
    (content / "2027" / "spring-guide.md").write_text((CASES / "valid-ebook.md").read_text())
    catalog = load_catalog(content)
    assert catalog.pages["spring-guide"].offer.source == "content/2027/spring-guide.md"


def test_files_and_folders_starting_with_dot_or_underscore_are_skipped(tmp_path: Path) -> None:
    content = build_content(tmp_path)
    text = (CASES / "valid-ebook.md").read_text()
    (content / "_drafts").mkdir()
    (content / "_drafts" / "later.md").write_text(text)
    (content / ".hidden.md").write_text(text)
    assert load_catalog(content).pages == {}


def test_front_matter_split_handles_bom_and_dots() -> None:
    assert split_front_matter("\ufeff---\ntitle: x\n...\nbody") == ("title: x\n", "body")
    assert split_front_matter("no front matter") == (None, "no front matter")
    assert split_front_matter("---\ntitle: never closed\n") == (None, "---\ntitle: never closed\n")


def test_non_utf8_file_is_reported(tmp_path: Path) -> None:
    content = build_content(tmp_path)
    (content / "latin1.md").write_bytes("---\ntitle: Caf\xe9\n---\n".encode("latin-1"))
    (problem,) = load_catalog(content).errors
    assert str(problem).startswith("content/latin1.md: is not UTF-8 text") and "save it as UTF-8" in str(problem)


def test_yaml_dates_stay_text_so_the_contract_reports_them(tmp_path: Path) -> None:
    content = build_content(tmp_path, "expired")
    offer = load_catalog(content).pages["expired"].offer
    assert offer.publish_at is not None and offer.publish_at.isoformat() == "2019-01-01T00:00:00+00:00"


def test_missing_content_folder_is_one_problem(tmp_path: Path) -> None:
    catalog = load_catalog(tmp_path / "nowhere")
    assert [p.message for p in catalog.errors] == ["content folder does not exist"]


# -- reload -------------------------------------------------------------------------------------


def bump(path: Path, text: str) -> None:
    """Rewrite a file and move its mtime forward, as a save a second later would."""
    path.write_text(text)
    st = path.stat()
    os.utime(path, (st.st_atime, st.st_mtime + 2))


def test_cache_reloads_on_change_and_swaps_the_whole_catalog(tmp_path: Path) -> None:
    content = build_content(tmp_path, "valid-ebook")
    cache = CatalogCache(content, interval=0)
    first = cache.get()
    assert cache.get() is first  # nothing changed: the same object
    source = content / "valid-ebook.md"
    bump(source, source.read_text().replace("A valid ebook", "An edited ebook"))
    second = cache.get()
    assert second is not first and second.version == first.version + 1
    assert second.pages["valid-ebook"].offer.title == "An edited ebook"
    assert first.pages["valid-ebook"].offer.title == "A valid ebook"  # the old catalog is untouched


def test_broken_edit_unpublishes_only_that_offer_and_fixing_it_restores_it(tmp_path: Path) -> None:
    content = build_content(tmp_path, "valid-ebook", "valid-webinar")
    cache = CatalogCache(content, interval=0)
    source = content / "valid-ebook.md"
    good = source.read_text()
    bump(source, good.replace("type: ebook", "type: [ebook"))
    catalog = cache.get()
    assert set(catalog.pages) == {"valid-webinar"}
    assert str(catalog.errors[0]).startswith("content/valid-ebook.md: front matter is not valid YAML")
    bump(source, good)
    assert set(cache.get().pages) == {"valid-ebook", "valid-webinar"}


def test_reload_interval_throttles_the_stat_checks(tmp_path: Path) -> None:
    content = build_content(tmp_path, "valid-ebook")
    now = [1000.0]
    cache = CatalogCache(content, interval=1.0, clock=lambda: now[0])
    first = cache.get()
    source = content / "valid-ebook.md"
    bump(source, source.read_text().replace("A valid ebook", "Edited"))
    for _ in range(50):
        assert cache.get() is first  # within the interval: no stat() at all
    assert cache.scans == 0
    now[0] += 1.0
    assert cache.get().pages["valid-ebook"].offer.title == "Edited"
    assert cache.scans == 1
    cache.get()
    assert cache.scans == 1


def test_negative_interval_never_reloads(tmp_path: Path) -> None:
    content = build_content(tmp_path, "valid-ebook")
    cache = CatalogCache(content, interval=-1)
    first = cache.get()
    bump(content / "valid-ebook.md", "broken")
    assert cache.get() is first and cache.scans == 0


def test_new_and_deleted_files_are_noticed(tmp_path: Path) -> None:
    content = build_content(tmp_path, "valid-ebook")
    cache = CatalogCache(content, interval=0)
    (content / "second.md").write_text((content / "valid-ebook.md").read_text())
    assert set(cache.get().pages) == {"valid-ebook", "second"}
    (content / "valid-ebook.md").unlink()
    assert set(cache.get().pages) == {"second"}


def test_listeners_hear_about_each_reload(tmp_path: Path) -> None:
    content = build_content(tmp_path, "valid-ebook")
    cache = CatalogCache(content, interval=0)
    heard: list[int] = []
    cache.listeners.append(lambda catalog: heard.append(catalog.version))
    bump(content / "valid-ebook.md", (content / "valid-ebook.md").read_text() + "\nMore.\n")
    cache.get()
    assert heard == [2]


def test_reload_parses_only_the_changed_file(tmp_path: Path) -> None:
    content = build_content(tmp_path, "valid-ebook", "valid-webinar", "custom-fields")
    cache = CatalogCache(content, interval=0)
    first = cache.get()
    bump(content / "valid-webinar.md", (content / "valid-webinar.md").read_text().replace("Join us.", "Join us now."))
    second = cache.get()
    assert second.pages["valid-ebook"] is first.pages["valid-ebook"]  # not parsed again
    assert second.pages["custom-fields"] is first.pages["custom-fields"]
    assert second.pages["valid-webinar"] is not first.pages["valid-webinar"]
    assert "Join us now." in second.pages["valid-webinar"].body_html


def test_a_changed_asset_revalidates_every_offer(tmp_path: Path) -> None:
    content = build_content(tmp_path, "valid-ebook", "long-description")
    cache = CatalogCache(content, interval=0)
    assert set(cache.get().pages) == {"valid-ebook", "long-description"}
    (content / "files" / "guide.pdf").unlink()  # both offers gate this file
    catalog = cache.get()
    assert catalog.pages == {}
    assert {str(p) for p in catalog.errors} >= {
        f"content/valid-ebook.md: file: 'files/guide.pdf' does not exist under {content}; add the file or fix the path"
    }
    assert [str(p) for p in catalog.problems if p.level == "warning"] == [
        "content/long-description.md: description: warning: is 163 characters; search engines cut it at about 160"
    ]  # kept problems are reported again, not lost


# -- YAML: libyaml when available, with the pure loader's results and messages -----------------

YAML_SAMPLES = [
    "title: Plain\npublish_at: 2027-01-01\nstarts_at: 2029-03-15T16:00:00+01:00\n",
    "pages: 24\ncapacity: 0x1F\nratio: 1.5e3\ndraft: yes\ndouble_opt_in: off\nnothing: ~\n",
    'tags: [growth, b2b]\nfields:\n  - first_name\n  - name: size\n    choices:\n      - "1": Just me\n',
    "thank_you: |\n  **Thanks!** 'quoted' \u00e9t\u00e9\n  second line\nfolded: >\n  a\n  b\n",
    "anchors: &a {x: 1}\nref: *a\nmerged:\n  <<: *a\n  y: 2\n",
    "dup: 1\ndup: 2\n",
]
BROKEN_YAML = ["title: [unclosed\n", "a: b: c\n", "key: 'open\n", "\tindented: tab\n", "x: \x07bell\n", "- a\nb: c\n"]


def outcome(load: object, text: str) -> object:
    """What a loader makes of ``text``: the value, or the error's message."""
    try:
        return load(text)  # type: ignore[operator]
    except yaml.YAMLError as exc:
        return f"error: {exc}"


@pytest.mark.skipif(frontmatter.LibyamlLoader is None, reason="PyYAML built without libyaml")
@pytest.mark.parametrize("text", YAML_SAMPLES + [split_front_matter(p.read_text())[0] or "" for p in sorted(CASES.glob("*.md"))])
def test_libyaml_loader_builds_what_the_pure_loader_builds(text: str) -> None:
    expected = outcome(lambda t: yaml.load(t, Loader=frontmatter.PureLoader), text)  # noqa: S506 - SafeLoader subclass
    if not str(expected).startswith("error: "):
        assert yaml.load(text, Loader=frontmatter.LibyamlLoader) == expected  # noqa: S506 - CSafeLoader subclass
    assert outcome(frontmatter.load_front_matter, text) == expected


class _StockLoader(yaml.SafeLoader):
    """PyYAML's own SafeLoader with leadmagnet's resolvers, without the text fast path."""

    yaml_implicit_resolvers = frontmatter.RESOLVERS


TAGGED_YAML = [
    "a: !!str 123\nb: !!int '7'\nc: '0x1F'\nd: \"yes\"\n1: one\n? [x, y]\n: pair\n",
    "name: &n Ada\nagain: *n\nlist: [*n, !!str true, !!float '1']\nempty: ''\nbin: !!binary aGk=\n",
    "people:\n  - {name: Ada, title: CTO, photo: a.png}\n  - name: Bob\n    title: !!null ''\n",
    "a: 123\nb: '123'\nc: yes\nd: 'yes'\ne: ~\nf: '~'\ng: 1.5\nh: \"1.5\"\n123: a\n'123': b\n",  # same words, plain and quoted
]


@pytest.mark.parametrize(
    "text", YAML_SAMPLES + TAGGED_YAML + [split_front_matter(p.read_text())[0] or "" for p in sorted(CASES.glob("*.md"))]
)
def test_text_fast_path_builds_what_stock_pyyaml_builds(text: str) -> None:
    expected = outcome(lambda t: yaml.load(t, Loader=_StockLoader), text)  # noqa: S506 - SafeLoader subclass
    for _again in range(2):  # the second time from the resolved tags the first one remembered
        assert outcome(lambda t: yaml.load(t, Loader=frontmatter.PureLoader), text) == expected  # noqa: S506 - SafeLoader subclass
        if frontmatter.LibyamlLoader is not None and not str(expected).startswith("error: "):
            assert yaml.load(text, Loader=frontmatter.LibyamlLoader) == expected  # noqa: S506 - CSafeLoader subclass


@pytest.mark.parametrize("text", BROKEN_YAML)
def test_broken_yaml_gets_the_pure_loader_s_message(text: str, tmp_path: Path) -> None:
    with pytest.raises(yaml.YAMLError) as pure:
        yaml.load(text, Loader=frontmatter.PureLoader)  # noqa: S506 - SafeLoader subclass
    with pytest.raises(yaml.YAMLError) as loaded:
        frontmatter.load_front_matter(text)
    assert str(loaded.value) == str(pure.value)
    folder = tmp_path / "content"
    folder.mkdir()
    (folder / "broken.md").write_text(f"---\n{text}---\nBody\n", encoding="utf-8")
    (problem,) = load_catalog(folder).errors
    assert str(problem).startswith("content/broken.md: front matter is not valid YAML")


def test_without_libyaml_the_pure_loader_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(frontmatter, "LibyamlLoader", None)
    assert frontmatter.load_front_matter("when: 2027-01-01\nn: 3\n") == {"when": "2027-01-01", "n": 3}


def test_scan_lists_files_in_pathlib_order_with_the_same_skips(tmp_path: Path) -> None:
    """``scan_content`` walks with os.scandir; it must find, skip and order files as ``sorted(rglob)`` did
    (the order decides which of two files claiming a slug keeps it)."""
    root = tmp_path / "content"
    for rel in ["a.md", "a-b/x.md", "a/b.md", "a/b/c.md", "_drafts/d.md", ".hidden/e.md", "sub/.f.md", "sub/_g.md"]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x")
    for rel in ["sub/h.MD", ".md", "..md", "x.md.", "img/p.png", "Z.md", "z.md", "dir.md/inner.md"]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x")
    (root / "link-to-a").symlink_to(root / "a")
    (root / "link.md").symlink_to(root / "a.md")
    (root / "broken.md").symlink_to(root / "nowhere.md")
    (root / "loop").symlink_to(root)

    expected_sources, expected_assets = [], []
    for path in sorted(root.rglob("*")):
        try:
            st = path.stat()
        except OSError:
            continue
        if path.suffix == ".md" and not any(part.startswith((".", "_")) for part in path.relative_to(root).parts):
            expected_sources.append((str(path), (st.st_mtime, st.st_size)))
        elif not path.is_dir():
            expected_assets.append((str(path), st.st_mtime, st.st_size))
    sources, assets = content.scan_content(root)
    assert sources == expected_sources and assets == tuple(expected_assets)
    assert [Path(p).relative_to(root).as_posix() for p, _ in sources][:4] == ["Z.md", "a/b/c.md", "a/b.md", "a-b/x.md"]


def test_images_in_a_pitch_resolve_from_the_offer_files_own_folder(tmp_path: Path) -> None:
    content = build_content(tmp_path)
    text = (CASES / "valid-ebook.md").read_text() + "\n![Chart](chart.png) ![Up](../top.png)\n"
    (content / "2027" / "q1").mkdir(parents=True)
    (content / "2027" / "q1" / "deep-guide.md").write_text(text)
    (content / "top-guide.md").write_text(text)
    catalog = load_catalog(content)
    deep, top = catalog.pages["deep-guide"], catalog.pages["top-guide"]
    assert deep.images >= {"2027/q1/chart.png", "2027/top.png"}
    assert 'src="/media/2027/q1/chart.png"' in deep.body_html
    assert top.images >= {"chart.png"} and "top.png" not in top.images  # ../ leaves the content folder
