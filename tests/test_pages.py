"""Public pages over HTTP (Flask test client on a real app, real files, real SQLite): landing
pages and their states, search tags, sitemap, robots, health, media, error pages, caching."""

from __future__ import annotations

import gzip
import json
import os
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import Flask

from leadmagnet.web import services_of
from tests.support.cases import build_content

SAMPLES = ["growth-playbook", "seo-checklist", "q1-product-demo", "scaling-content-2026"]


class Doc(HTMLParser):
    """The parts of a page the tests look at: tags with attributes, and script texts."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.scripts: list[tuple[dict[str, str], str]] = []
        self._script: dict[str, str] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        self.tags.append((tag, attributes))
        if tag == "script":
            self._script = attributes

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self.scripts.append((self._script, data))
            self._script = None

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script = None

    def meta(self, key: str) -> str | None:
        for tag, a in self.tags:
            if tag == "meta" and (a.get("property") == key or a.get("name") == key):
                return a.get("content")
        return None

    def find(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())]

    def json_ld(self, kind: str | None = None) -> dict:
        """The page's JSON-LD object (of ``@type`` ``kind``; by default the one that is not the FAQ)."""
        found = [json.loads(t) for a, t in self.scripts if a.get("type") == "application/ld+json"]
        (data,) = [d for d in found if (d["@type"] == kind if kind else d["@type"] != "FAQPage")]
        return data


@pytest.fixture
def cases_app(make_app, tmp_path: Path):
    """An app over chosen tests/content cases: ``cases_app("draft", "valid-ebook")``."""

    def build(*cases: str, **overrides) -> Flask:
        return make_app(CONTENT_DIR=str(build_content(tmp_path / "cases", *cases)), **overrides)

    return build


# -- landing pages ------------------------------------------------------------------------------


@pytest.mark.parametrize("slug", SAMPLES)
def test_sample_page_is_cacheable_and_answers_304(client, slug: str) -> None:
    response = client.get(f"/{slug}")
    assert response.status_code == 200
    assert response.content_type == "text/html; charset=utf-8"
    etag = response.headers["ETag"]
    assert "public" in response.headers["Cache-Control"] and "max-age=300" in response.headers["Cache-Control"]
    again = client.get(f"/{slug}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert client.get(f"/{slug}", headers={"If-None-Match": '"other"'}).status_code == 200


def test_if_none_match_lists_weak_tags_and_star_are_understood(client) -> None:
    etag = client.get("/growth-playbook", headers={"Accept-Encoding": "br"}).headers["ETag"]
    for header in (f'"other", {etag}', f"W/{etag}", "*"):
        response = client.get("/growth-playbook", headers={"Accept-Encoding": "br", "If-None-Match": header})
        assert response.status_code == 304, header
        assert response.headers["ETag"] == etag and response.headers["Vary"] == "Accept-Encoding"
        assert "Content-Security-Policy" in response.headers
    # the identity variant's copy does not match the brotli bytes
    plain = client.get("/growth-playbook").headers["ETag"]
    assert client.get("/growth-playbook", headers={"Accept-Encoding": "br", "If-None-Match": plain}).status_code == 200


@pytest.mark.parametrize("url", ["/", "/sitemap.xml", "/robots.txt", "/media/assets/funnel.svg"])
def test_other_cacheable_responses_answer_304(client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200
    assert client.get(url, headers={"If-None-Match": response.headers["ETag"]}).status_code == 304


@pytest.mark.parametrize("slug", SAMPLES)
def test_page_is_the_same_bytes_for_every_visitor(client, slug: str) -> None:
    first = client.get(f"/{slug}").data
    other = client.get(f"/{slug}?utm_source=<script>x</script>", headers={"Cookie": "a=b", "User-Agent": "other"}).data
    assert first == other
    assert b"<script>x</script>" not in other


@pytest.mark.parametrize("slug", SAMPLES)
def test_page_fits_14_kb_gzipped_with_its_css(client, slug: str) -> None:
    html = client.get(f"/{slug}").data
    stylesheets = re.findall(rb'<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"', html)
    css = b"".join(client.get(href.decode()).data for href in stylesheets)
    size = len(gzip.compress(html + css, 9))
    assert size <= 14 * 1024, f"/{slug} is {size} bytes gzipped"


def test_ebook_page_has_search_and_social_tags_and_book_json_ld(client) -> None:
    doc = Doc(client.get("/growth-playbook").get_data(as_text=True))
    base = "http://127.0.0.1:5000"
    assert doc.find("link", rel="canonical")[0]["href"] == f"{base}/growth-playbook"
    assert doc.meta("description") == doc.meta("og:description") == doc.meta("twitter:description")
    assert doc.meta("og:title") == doc.meta("twitter:title") == "The Growth Playbook"
    assert doc.meta("og:url") == f"{base}/growth-playbook"
    # An SVG cover cannot be a social card: a 1200 x 630 card is drawn (tests/test_ogimage.py).
    assert doc.meta("og:image") == doc.meta("twitter:image")
    assert doc.meta("og:image").startswith(f"{base}/og/growth-playbook.") and doc.meta("og:image").endswith(".png")
    assert (doc.meta("og:image:width"), doc.meta("og:image:height")) == ("1200", "630")
    assert doc.meta("twitter:card") == "summary_large_image"
    data = doc.json_ld()
    assert data["@context"] == "https://schema.org" and data["@type"] == "Book"
    assert data["name"] == "The Growth Playbook" and data["numberOfPages"] == 24
    assert data["url"] == f"{base}/growth-playbook"
    assert len([t for t, _ in doc.tags if t == "h1"]) == 1


def test_webinar_page_has_event_json_ld_without_join_url(client) -> None:
    doc = Doc(client.get("/q1-product-demo").get_data(as_text=True))
    data = doc.json_ld()
    assert data["@type"] == "Event"
    assert data["startDate"] == "2029-03-15T16:00:00+01:00"
    assert data["endDate"] == "2029-03-15T16:45:00+01:00"
    assert data["location"] == {"@type": "VirtualLocation", "url": "http://127.0.0.1:5000/q1-product-demo"}
    assert [p["name"] for p in data["performer"]] == ["Ada Lovelace", "Grace Hopper"]
    assert "meet.example.com" not in json.dumps(data)
    past = Doc(client.get("/scaling-content-2026").get_data(as_text=True)).json_ld()
    assert past["offers"]["availability"] == "https://schema.org/SoldOut"


def test_json_ld_cannot_close_its_script_element(cases_app, tmp_path: Path) -> None:
    app = cases_app("valid-ebook")
    source = Path(app.config["CONTENT_DIR"]) / "valid-ebook.md"
    source.write_text(source.read_text().replace("title: A valid ebook", "title: 'Evil </script><script>alert(1)</script>'"))
    html = app.test_client().get("/valid-ebook").get_data(as_text=True)
    script = html.split('<script type="application/ld+json">', 1)[1].split("</script>", 1)[0]
    assert json.loads(script)["name"] == "Evil </script><script>alert(1)</script>"
    assert "<script>alert(1)" not in html  # the title is escaped in the HTML too


def test_join_url_never_appears_in_any_public_response(client) -> None:
    secret_urls = [b"meet.example.com/j/q1-demo-4711", b"meet.example.com/j/scaling-2026"]
    urls = ["/", "/sitemap.xml", "/robots.txt", "/healthz", "/nope", *[f"/{s}" for s in SAMPLES]]
    html = b"".join(client.get(u).data for u in urls)
    media = re.findall(rb'(?:src|href|content)="(?:http://127.0.0.1:5000)?(/(?:media|static)/[^"]+)"', html)
    assert media, "the pages show images and scripts"
    bodies = html + b"".join(client.get(m.decode()).data for m in set(media))
    for secret in secret_urls:
        assert secret not in bodies


def test_webinar_time_is_shown_in_its_timezone_with_utc_offset(client) -> None:
    html = client.get("/q1-product-demo").get_data(as_text=True)
    assert "Thursday 15 March 2029, 16:00 (Europe/Paris, UTC+01:00)" in html
    assert '<time datetime="2029-03-15T16:00:00+01:00">' in html
    past = client.get("/scaling-content-2026").get_data(as_text=True)
    assert "Tuesday 15 September 2026, 17:00 (America/New_York, UTC-04:00)" in past


def test_webinar_with_offset_but_no_timezone_shows_the_offset(cases_app) -> None:
    html = cases_app("valid-webinar").test_client().get("/valid-webinar").get_data(as_text=True)
    assert "Friday 01 June 2029, 15:00 (UTC+02:00)" in html


def test_past_webinar_stays_200_with_an_ended_state(client) -> None:
    response = client.get("/scaling-content-2026")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "state-ended" in html and "took place on Tuesday 15 September 2026" in html
    assert "Save my seat" not in html


def test_past_webinar_without_replay_has_no_form(cases_app) -> None:
    app = cases_app("valid-webinar")
    source = Path(app.config["CONTENT_DIR"]) / "valid-webinar.md"
    source.write_text(source.read_text().replace("2029-06-01T15:00:00+02:00", "2020-06-01T15:00:00+02:00"))
    response = app.test_client().get("/valid-webinar")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "This webinar has ended" in html and '<form class="lead"' not in html and 'href="/"' in html


def test_ebook_shows_pages_webinar_shows_presenters(client) -> None:
    assert "24 pages" in client.get("/growth-playbook").get_data(as_text=True)
    doc = Doc(client.get("/q1-product-demo").get_data(as_text=True))
    photos = [a["src"] for a in doc.find("img") if "ada" in a.get("src", "") or "grace" in a.get("src", "")]
    assert photos == ["/media/assets/ada.png", "/media/assets/grace.png"]


def test_form_shows_every_field_with_a_label(client) -> None:
    doc = Doc(client.get("/growth-playbook").get_data(as_text=True))
    form = doc.find("form", method="post")
    assert form and form[0]["action"] == "/growth-playbook"
    labelled = {a["for"] for a in doc.find("label")}
    for name in ("email", "first_name", "company", "team_size", "consent"):
        assert f"f-{name}" in labelled, name
    assert [o["value"] for o in doc.find("option")] == ["", "1", "2-5", "6+"]
    assert any(a.get("type") == "submit" for _, a in doc.tags)
    assert "Send me the playbook" in client.get("/growth-playbook").get_data(as_text=True)


def test_markdown_features_render_on_the_page(cases_app) -> None:
    client = cases_app("markdown-features").test_client()
    html = client.get("/markdown-features").get_data(as_text=True)
    assert "<table>" in html and 'class="footnote"' in html and 'id="intro"' in html
    assert "&lt;fenced&gt;" in html
    assert client.get("/media/assets/chart.png").status_code == 200  # an image the body shows


def test_image_in_a_subfolder_offer_resolves_and_is_served(cases_app, tmp_path: Path) -> None:
    app = cases_app()
    content = Path(app.config["CONTENT_DIR"])
    (content / "2027").mkdir()
    (content / "2027" / "img").mkdir()
    (content / "2027" / "img" / "pic.png").write_bytes((content / "assets" / "chart.png").read_bytes())
    (content / "2027" / "spring.md").write_text(
        "---\ntitle: Spring\ntype: ebook\ndescription: d\nfile: files/guide.pdf\n---\n![pic](img/pic.png) ![up](../assets/chart.png)\n"
    )
    client = app.test_client()
    html = client.get("/spring").get_data(as_text=True)
    assert 'src="/media/2027/img/pic.png"' in html and 'src="/media/assets/chart.png"' in html
    assert client.get("/media/2027/img/pic.png").status_code == 200
    assert client.get("/media/assets/chart.png").status_code == 200


# -- publication windows ------------------------------------------------------------------------


def test_draft_and_scheduled_offers_are_404_with_their_images(cases_app) -> None:
    client = cases_app("draft", "scheduled", "valid-ebook").test_client()
    assert client.get("/draft").status_code == 404
    assert client.get("/scheduled").status_code == 404
    assert client.get("/media/assets/cover.png").status_code == 404  # the scheduled offer's cover stays private
    assert client.get("/valid-ebook").status_code == 200


def test_expired_offer_answers_410_with_an_ended_page(cases_app) -> None:
    client = cases_app("expired").test_client()
    response = client.get("/expired")
    html = response.get_data(as_text=True)
    assert response.status_code == 410
    assert "This offer has ended" in html and "<h1>An expired offer</h1>" in html
    assert '<form class="lead"' not in html and 'href="/"' in html


def test_schedule_window_follows_edits_of_publish_at_and_expires_at(cases_app) -> None:
    app = cases_app()
    source = Path(app.config["CONTENT_DIR"]) / "window.md"
    year = datetime.now(UTC).year

    def save(publish: int, expires: int) -> None:
        source.write_text(
            "---\ntitle: Window\ntype: ebook\ndescription: d\nfile: files/guide.pdf\n"
            f"publish_at: {publish}-01-01T00:00:00Z\nexpires_at: {expires}-01-01T00:00:00+02:00\n---\n"
        )
        st = source.stat()
        os.utime(source, (st.st_atime, st.st_mtime + 2 * (publish - year + 10)))

    client = app.test_client()
    save(year - 1, year + 1)
    assert client.get("/window").status_code == 200
    save(year + 1, year + 2)
    assert client.get("/window").status_code == 404
    save(year - 2, year - 1)
    assert client.get("/window").status_code == 410


def test_broken_front_matter_404s_that_offer_only(cases_app, caplog: pytest.LogCaptureFixture) -> None:
    app = cases_app("invalid-yaml", "valid-ebook")
    client = app.test_client()
    assert client.get("/invalid-yaml").status_code == 404
    assert client.get("/valid-ebook").status_code == 200
    assert any("content/invalid-yaml.md: front matter is not valid YAML" in r.getMessage() for r in caplog.records)


def test_edit_shows_on_the_next_request_without_a_new_app(client, content_dir: Path) -> None:
    source = content_dir / "seo-checklist.md"
    before = client.get("/seo-checklist")
    assert "The SEO Checklist" in before.get_data(as_text=True)
    source.write_text(source.read_text().replace("title: The SEO Checklist", "title: The Edited Checklist"))
    st = source.stat()
    os.utime(source, (st.st_atime, st.st_mtime + 2))
    after = client.get("/seo-checklist", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert "The Edited Checklist" in after.get_data(as_text=True)
    assert after.headers["ETag"] != before.headers["ETag"]


def test_rendered_page_is_cached_until_a_file_changes(app) -> None:
    client = app.test_client()
    renderer = services_of(app).renderer
    calls: list[str] = []
    original = renderer.render

    def counting(template, offer=None, **context):
        calls.append(offer.slug if offer else "")
        return original(template, offer, **context)

    renderer.render = counting
    for _ in range(3):
        assert client.get("/growth-playbook").status_code == 200
    assert calls == ["growth-playbook"]


# -- index, sitemap, robots, health -------------------------------------------------------------


def test_index_lists_published_offers_only(cases_app) -> None:
    html = cases_app("valid-ebook", "valid-webinar", "draft", "scheduled", "expired").test_client().get("/").get_data(as_text=True)
    links = {a["href"] for a in Doc(html).find("a")}
    assert {"/valid-ebook", "/valid-webinar", "/expired"} <= links
    assert "/draft" not in links and "/scheduled" not in links


def test_index_page_can_be_turned_off(make_app) -> None:
    client = make_app(INDEX_PAGE=False).test_client()
    assert client.get("/").status_code == 404
    assert client.get("/growth-playbook").status_code == 200
    assert "<loc>http://127.0.0.1:5000/</loc>" not in client.get("/sitemap.xml").get_data(as_text=True)


def test_sitemap_lists_only_published_unexpired_offers(cases_app) -> None:
    client = cases_app("valid-ebook", "valid-webinar", "draft", "scheduled", "expired", "invalid-yaml").test_client()
    response = client.get("/sitemap.xml")
    assert response.content_type == "application/xml; charset=utf-8"
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    root = ET.fromstring(response.data)  # noqa: S314 - our own sitemap
    locs = [e.text for e in root.findall("s:url/s:loc", ns)]
    assert locs == ["http://127.0.0.1:5000/", "http://127.0.0.1:5000/valid-ebook", "http://127.0.0.1:5000/valid-webinar"]
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", e.text or "") for e in root.findall("s:url/s:lastmod", ns))


def test_robots_txt_points_to_the_sitemap(client) -> None:
    response = client.get("/robots.txt")
    assert response.content_type == "text/plain; charset=utf-8"
    lines = response.get_data(as_text=True).splitlines()
    assert "User-agent: *" in lines and "Sitemap: http://127.0.0.1:5000/sitemap.xml" in lines


def test_healthz_is_200_when_content_and_database_are_fine(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": True, "content": True, "offers": 4, "content_errors": 0}


def test_healthz_is_503_when_the_database_cannot_open(app) -> None:
    store = services_of(app).store
    store.close()
    database = Path(store.path)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    database.mkdir()  # a folder where the database file was: sqlite cannot open it
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] is False and response.json["status"] == "unavailable"


def test_healthz_is_503_when_the_content_folder_is_gone(app, content_dir: Path) -> None:
    import shutil

    shutil.rmtree(content_dir)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503 and response.json["content"] is False


# -- media --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/media/assets/growth-playbook-cover.svg",  # image:
        "/media/assets/ada.png",  # presenter photo
        "/media/assets/funnel.svg",  # image in the Markdown body
    ],
)
def test_media_shown_by_a_page_is_served(client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200 and len(response.data) > 0
    assert "public" in response.headers["Cache-Control"]


@pytest.mark.parametrize(
    "url",
    [
        "/media/files/growth-playbook.pdf",  # gated file
        "/media/files/seo-checklist.epub",
        "/media/growth-playbook.md",  # a Markdown source
        "/media/q1-product-demo.md",
        "/media/assets/nothing-shows-this.png",  # a file no page shows
        "/media/../pyproject.toml",
        "/media/%2e%2e/pyproject.toml",
        "/media/assets/%2e%2e/growth-playbook.md",
        "/media/assets/..%2fgrowth-playbook.md",
        "/media//etc/passwd",
        "/media/%2fetc%2fpasswd",
        "/media/assets",
    ],
)
def test_everything_else_under_content_is_404(client, content_dir: Path, url: str) -> None:
    (content_dir / "assets" / "nothing-shows-this.png").write_bytes(b"x")
    response = client.get(url, follow_redirects=True)
    assert response.status_code == 404
    assert b"%PDF" not in response.data and b"join_url" not in response.data


def test_gated_file_is_404_even_when_the_pitch_shows_it(cases_app) -> None:
    app = cases_app()
    content = Path(app.config["CONTENT_DIR"])
    (content / "leaky.md").write_text(
        "---\ntitle: Leaky\ntype: ebook\ndescription: d\nfile: files/guide.pdf\n---\n![oops](files/guide.pdf)\n"
    )
    client = app.test_client()
    assert client.get("/leaky").status_code == 200
    assert client.get("/media/files/guide.pdf").status_code == 404


# -- error pages --------------------------------------------------------------------------------


def test_themed_404_links_back_to_the_offers(client) -> None:
    response = client.get("/no-such-offer")
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in html and 'href="/"' in html
    assert 'name="robots" content="noindex"' in html
    assert response.headers["Cache-Control"] == "no-store"


def test_themed_500_page_links_back_to_the_offers(make_app, caplog: pytest.LogCaptureFixture) -> None:
    app = make_app(TESTING=False, PROPAGATE_EXCEPTIONS=False)

    @app.get("/boom")
    def boom():
        raise RuntimeError("kaboom")

    response = app.test_client().get("/boom")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "<h1>Something went wrong</h1>" in html and 'href="/"' in html
    assert "kaboom" not in html  # no internals to the visitor
    assert any("unhandled error on GET /boom" in r.getMessage() for r in caplog.records)


def test_every_error_status_gets_a_themed_page_with_a_clear_title(make_app) -> None:
    from flask import abort

    app = make_app()

    @app.get("/needs/<int:code>")
    def needs(code: int):
        abort(code)

    client = app.test_client()
    for code, title in [(401, "Please sign in"), (403, "Not allowed"), (418, "I&#39;m a teapot")]:
        response = client.get(f"/needs/{code}")
        html = response.get_data(as_text=True)
        assert response.status_code == code
        assert f"<h1>{title}</h1>" in html, html[html.find("<h1") : html.find("<h1") + 80]
        assert 'href="/"' in html, code


def test_405_keeps_allow_header(client) -> None:
    response = client.delete("/growth-playbook")
    assert response.status_code == 405 and "GET" in response.headers["Allow"]


@pytest.mark.parametrize(
    ("starts_at", "zone", "shown"),
    [
        ("2029-06-01T15:00:00Z", None, "Friday 01 June 2029, 15:00 (UTC)"),
        ("2029-06-01T15:00:00", "UTC", "Friday 01 June 2029, 15:00 (UTC)"),
        ("2029-06-01T15:00:00", "America/New_York", "Friday 01 June 2029, 15:00 (America/New_York, UTC-04:00)"),
        ("2029-06-01T15:00:00+05:30", "Europe/London", "Friday 01 June 2029, 10:30 (Europe/London, UTC+01:00)"),
    ],
)
def test_webinar_time_label(cases_app, starts_at: str, zone: str | None, shown: str) -> None:
    app = cases_app("valid-webinar")
    source = Path(app.config["CONTENT_DIR"]) / "valid-webinar.md"
    text = source.read_text().replace("2029-06-01T15:00:00+02:00", starts_at)
    source.write_text(text.replace("duration_minutes:", f"timezone: {zone}\nduration_minutes:") if zone else text)
    assert shown in app.test_client().get("/valid-webinar").get_data(as_text=True)


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Nesting(HTMLParser):
    """Checks that every element is closed in order and that ids are unique."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.ids += [v for k, v in attrs if k == "id" and v]
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()


@pytest.mark.parametrize("path", ["/", "/no-such-offer", *[f"/{s}" for s in SAMPLES]])
def test_pages_are_well_formed_html5(client, path: str) -> None:
    html = client.get(path).get_data(as_text=True)
    assert html.startswith("<!doctype html>\n<html lang=")
    checker = Nesting()
    checker.feed(html)
    assert checker.problems == [] and checker.stack == []
    assert len(checker.ids) == len(set(checker.ids)), sorted(i for i in checker.ids if checker.ids.count(i) > 1)


def test_every_address_the_site_answers_is_a_reserved_slug(app) -> None:
    from leadmagnet.content.contract import RESERVED_SLUGS, SLUG_RE

    first_segments = {rule.rule.strip("/").split("/")[0] for rule in app.url_map.iter_rules()}
    routes = {s for s in first_segments if SLUG_RE.match(s)}
    assert routes, "the site answers /healthz at least"
    assert routes <= RESERVED_SLUGS, f"add {sorted(routes - RESERVED_SLUGS)} to contract.RESERVED_SLUGS: an offer there would be shadowed"
