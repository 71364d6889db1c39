"""``leadmagnet build``: what the static export holds (and never holds), its twins, its forms and
beacon, incremental rebuilds, and the folders it refuses. Run through the real CLI."""

from __future__ import annotations

import gzip
import itertools
import json
import re
import urllib.parse
import urllib.request
from pathlib import Path

import brotli
import pytest

from leadmagnet.build.files import MANIFEST
from leadmagnet.cli import cli
from leadmagnet.web import services_of
from tests.support.servers import static_server

BASE = "https://offers.example.com"
PUBLISHED = ["growth-playbook", "seo-checklist", "q1-product-demo", "scaling-content-2026"]


def run_build(cli_runner, content_dir: Path, instance_dir: Path, out: Path, base_url: str = BASE):
    args = ["--content", str(content_dir), "--instance", str(instance_dir), "build", str(out)]
    if base_url:
        args[5:5] = ["--base-url", base_url]
    return cli_runner.invoke(cli, args, catch_exceptions=False)


@pytest.fixture
def built(cli_runner, content_dir: Path, instance_dir: Path, tmp_path: Path) -> Path:
    # Valid offers that are not public yet: a draft and one scheduled for 2099.
    for name, extra in (("draft", "draft: true"), ("scheduled", "publish_at: 2099-01-01T00:00:00Z")):
        (content_dir / f"{name}.md").write_text(
            f"---\ntitle: Not public {name}\ntype: ebook\nfile: files/growth-playbook.pdf\n{extra}\n---\nSecret pitch of {name}.\n"
        )
    out = tmp_path / "out"
    result = run_build(cli_runner, content_dir, instance_dir, out)
    assert result.exit_code == 0, result.output
    assert "files written" in result.output
    return out


def exported(out: Path) -> dict[str, bytes]:
    """Every file of the export (twins decompressed too), by relative path."""
    files = {}
    for path in out.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if path.suffix == ".gz":
                data = gzip.decompress(data)
            elif path.suffix == ".br":
                data = brotli.decompress(data)
            files[path.relative_to(out).as_posix()] = data
    return files


def test_export_holds_pages_sitemap_robots_media_and_theme_files(built: Path) -> None:
    files = exported(built)
    for slug in PUBLISHED:
        assert f"{slug}.html" in files
    for name in ("index.html", "404.html", "sitemap.xml", "robots.txt", "media/assets/growth-playbook-cover.svg", "media/assets/ada.png"):
        assert name in files, name
    assert re.search(rb"<loc>https://offers\.example\.com/growth-playbook</loc>", files["sitemap.xml"])
    assert b"Sitemap: https://offers.example.com/sitemap.xml" in files["robots.txt"]
    # Every URL a page links under /static/ or /media/ is in the export.
    for slug in PUBLISHED:
        html = files[f"{slug}.html"].decode()
        for url in re.findall(r'(?:src|href)="/((?:static|media)/[^"]+)"', html):
            assert urllib.parse.unquote(url) in files, (slug, url)
        assert re.search(r'src="/static/default/[0-9a-f]{10}/lead\.js"', html) or slug == "scaling-content-2026"


def test_text_files_have_identical_gz_and_br_twins(built: Path) -> None:
    for rel in ("growth-playbook.html", "sitemap.xml", "robots.txt", "media/assets/q1-demo.svg"):
        original = (built / rel).read_bytes()
        assert gzip.decompress((built / f"{rel}.gz").read_bytes()) == original
        assert brotli.decompress((built / f"{rel}.br").read_bytes()) == original
    assert not (built / "media/assets/ada.png.gz").exists()  # PNGs are already compressed


def test_no_gated_file_draft_source_or_join_url_is_exported(built: Path, content_dir: Path) -> None:
    files = exported(built)
    names = set(files)
    assert not any(name.endswith((".pdf", ".epub", ".md")) for name in names), names
    gated = [(content_dir / "files" / n).read_bytes() for n in ("growth-playbook.pdf", "seo-checklist.epub")]
    assert not any(data in gated for data in files.values())
    join_urls = re.findall(r"^join_url:\s*(\S+)", "".join(p.read_text() for p in content_dir.glob("*.md")), re.M)
    assert join_urls
    for name, data in files.items():
        for url in join_urls:
            assert url.encode() not in data, f"{url} leaked into {name}"
        assert b"join_url" not in data, name
    assert "draft.html" not in names and "scheduled.html" not in names
    assert b"/draft" not in files["sitemap.xml"] and b"/draft" not in files["index.html"]
    assert not any(b"Secret pitch" in data for data in files.values())


def test_exported_forms_and_beacon_point_to_the_live_server(built: Path) -> None:
    html = (built / "growth-playbook.html").read_text()
    assert re.search(r'<form class="lead" method="post" action="https://offers\.example\.com/growth-playbook"', html)
    beacon = re.search(r'<script src="(/static/default/[0-9a-f]{10}/beacon\.js)" data-endpoint="([^"]+)" data-slug="([^"]+)"', html)
    assert beacon and beacon.group(2) == f"{BASE}/beacon" and beacon.group(3) == "growth-playbook"
    assert (built / beacon.group(1).lstrip("/")).is_file()
    assert '<link rel="canonical" href="https://offers.example.com/growth-playbook">' in html


def test_second_build_rewrites_only_the_changed_page(cli_runner, built: Path, content_dir: Path, instance_dir: Path) -> None:
    manifest = json.loads((built / MANIFEST).read_text())["files"]
    before = {p: p.stat().st_mtime_ns for p in built.rglob("*") if p.is_file() and p.name != MANIFEST}

    again = run_build(cli_runner, content_dir, instance_dir, built)
    assert again.exit_code == 0 and "0 files written" in again.output, again.output
    assert "(0 offer files parsed, 0 pages rendered)" in again.output
    assert {p: p.stat().st_mtime_ns for p in before} == before

    source = content_dir / "seo-checklist.md"
    source.write_text(source.read_text() + "\nOne more paragraph, added for the rebuild.\n")
    changed = run_build(cli_runner, content_dir, instance_dir, built)
    assert changed.exit_code == 0 and "1 files written" in changed.output, changed.output
    assert "(1 offer files parsed, 1 pages rendered)" in changed.output
    rewritten = {p.relative_to(built).as_posix() for p, mtime in before.items() if p.stat().st_mtime_ns != mtime}
    assert rewritten == {"seo-checklist.html", "seo-checklist.html.gz", "seo-checklist.html.br"}
    assert b"added for the rebuild" in (built / "seo-checklist.html").read_bytes()
    new_manifest = json.loads((built / MANIFEST).read_text())["files"]
    assert {k for k in manifest if manifest[k] != new_manifest.get(k)} == {"seo-checklist.html"}


def test_unpublished_offer_is_removed_with_its_twins(cli_runner, built: Path, content_dir: Path, instance_dir: Path) -> None:
    source = content_dir / "seo-checklist.md"
    source.write_text(source.read_text().replace("---\n", "---\ndraft: true\n", 1))
    result = run_build(cli_runner, content_dir, instance_dir, built)
    assert result.exit_code == 0 and "removed" in result.output
    for name in ("seo-checklist.html", "seo-checklist.html.gz", "seo-checklist.html.br", "media/assets/seo-checklist-cover.svg"):
        assert not (built / name).exists(), name
    assert b"seo-checklist" not in (built / "sitemap.xml").read_bytes()
    assert (built / "growth-playbook.html").exists()


def test_refuses_a_foreign_folder_and_the_content_folder(cli_runner, content_dir: Path, instance_dir: Path, tmp_path: Path) -> None:
    foreign = tmp_path / "site"
    foreign.mkdir()
    (foreign / "keep-me.html").write_text("mine")
    result = cli_runner.invoke(cli, ["--content", str(content_dir), "--instance", str(instance_dir), "build", str(foreign)])
    assert result.exit_code != 0
    assert "not empty" in result.output and str(foreign) in result.output
    assert (foreign / "keep-me.html").read_text() == "mine" and len(list(foreign.iterdir())) == 1

    inside = run_build_expect_error(cli_runner, content_dir, instance_dir, content_dir / "public")
    assert "outside the content folder" in inside
    assert not (content_dir / "public").exists()


def run_build_expect_error(cli_runner, content_dir: Path, instance_dir: Path, out: Path) -> str:
    result = cli_runner.invoke(cli, ["--content", str(content_dir), "--instance", str(instance_dir), "build", str(out)])
    assert result.exit_code != 0
    return result.output


def test_default_base_url_is_warned_about(cli_runner, content_dir: Path, instance_dir: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("LEADMAGNET_BASE_URL", raising=False)
    result = run_build(cli_runner, content_dir, instance_dir, tmp_path / "out", base_url="")
    assert result.exit_code == 0
    assert "LEADMAGNET_BASE_URL" in result.output


def test_form_posted_from_an_exported_page_is_captured(make_app, tmp_path: Path, content_dir: Path, instance_dir: Path) -> None:
    """The exported page, served by another server, posts a plain form to the live leadmagnet."""
    from tests.support.servers import start_live_server

    app = make_app(MIN_FILL_SECONDS=0)
    live = start_live_server(app)
    try:
        from leadmagnet.build import build

        app.config["BASE_URL"] = live.url
        build(app.config, tmp_path / "out")
        with static_server(tmp_path / "out") as static_url:
            with urllib.request.urlopen(f"{static_url}/seo-checklist", timeout=10) as response:
                html = response.read().decode()
            action = re.search(r'<form class="lead" method="post" action="([^"]+)"', html).group(1)
            assert action == f"{live.url}/seo-checklist" and not action.startswith(static_url)
            fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))
            fields.update({"email": "reader@example.com", "utm_source": "cdn"})
            if 'name="consent"' in html:
                fields["consent"] = "y"
            body = urllib.parse.urlencode(fields).encode()
            request = urllib.request.Request(action, data=body, headers={"Origin": static_url, "Referer": f"{static_url}/seo-checklist"})
            with urllib.request.urlopen(request, timeout=10) as answer:
                assert answer.status == 200
                assert answer.url.startswith(f"{live.url}/seo-checklist/thanks/")
        store = services_of(app).store
        assert store.count_submissions("seo-checklist") == 1
        contact = store.get_contact_by_email("reader@example.com")
        assert contact is not None
        (submission,) = store.submissions()
        assert submission["utm_source"] == "cdn"
    finally:
        live.stop()


def test_a_theme_change_rerenders_every_page(cli_runner, content_dir: Path, instance_dir: Path, tmp_path: Path, monkeypatch) -> None:
    themes = tmp_path / "site-themes"
    (themes / "default" / "static").mkdir(parents=True)
    monkeypatch.setenv("LEADMAGNET_THEMES_DIR", str(themes))
    out = tmp_path / "out"
    assert "(4 offer files parsed, 4 pages rendered)" in run_build(cli_runner, content_dir, instance_dir, out).output
    (themes / "default" / "static" / "lead.js").write_text("// a site's own lead.js\n")
    again = run_build(cli_runner, content_dir, instance_dir, out)
    assert "(0 offer files parsed, 4 pages rendered)" in again.output, again.output
    new_url = re.search(r'src="/(static/default/[0-9a-f]{10}/lead\.js)"', (out / "growth-playbook.html").read_text()).group(1)
    assert (out / new_url).read_text() == "// a site's own lead.js\n"


def test_theme_files_are_exported_when_the_themes_live_under_a_dot_folder(cli_runner, tmp_path: Path) -> None:
    """A wheel installed in .venv/ keeps its bundled theme under a dot-folder: its files still ship."""
    import shutil

    site = tmp_path / ".site"
    shutil.copytree(Path(__file__).parent.parent / "content", site / "content")
    (site / "themes" / "brand" / "static").mkdir(parents=True)
    (site / "themes" / "brand" / "static" / "brand.css").write_text("h1{color:#123}")
    (site / "themes" / "brand" / "static" / ".hidden").write_text("not shipped")
    (site / "themes" / "brand" / "theme.toml").write_text('extends = "default"\n')
    args = ["--content", str(site / "content"), "--instance", str(site / "instance"), "build", "--base-url", BASE, str(tmp_path / "out")]
    result = cli_runner.invoke(cli, args, env={"LEADMAGNET_THEMES_DIR": str(site / "themes"), "LEADMAGNET_DEFAULT_THEME": "brand"})
    assert result.exit_code == 0, result.output
    names = [p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert any(n.startswith("static/brand/") and n.endswith("/brand.css") for n in names)
    assert any(n.endswith("/lead.js") for n in names)  # the default theme's files, through the chain
    assert not any(n.endswith(".hidden") for n in names)


def test_parallel_build_exports_the_same_bytes_and_problems_as_a_serial_one(tmp_path: Path, monkeypatch, caplog) -> None:
    """Many files are parsed and rendered by forked workers (which also compress the pages): the
    export, the problems and the next incremental build must be those of the one-process path."""
    from datetime import UTC, datetime

    from leadmagnet import build as building
    from leadmagnet.build import pages, workers
    from leadmagnet.foundation import config
    from tests.support.cases import PNG, all_cases, build_content

    now = datetime(2027, 6, 1, tzinfo=UTC)

    content = build_content(tmp_path / "site", *all_cases())  # broken files, a slug clash, drafts...
    (content / "sub").mkdir()
    for n in range(12):
        (content / "sub" / f"many-{n:02d}.md").write_text(
            f"---\ntitle: Offer {n}\ntype: ebook\nfile: files/guide.pdf\ndescription: Number {n}.\n---\n"
            f"It's *offer* {n} -- with [a link](https://example.com) and ![a cover](cover-{n}.png)...\n"
        )
        (content / "sub" / f"cover-{n}.png").write_bytes(PNG)

    def run(label: str, parallel_min: int, out: Path) -> building.BuildReport:
        monkeypatch.setattr(workers, "PARALLEL_MIN", parallel_min)
        settings = config.resolve({"CONTENT_DIR": str(content), "INSTANCE_DIR": str(tmp_path / f"instance-{label}"), "BASE_URL": BASE})
        return building.build(settings, out, now=now)

    def raw(out: Path) -> dict[str, bytes]:
        return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != MANIFEST}

    monkeypatch.setattr(workers.os, "cpu_count", lambda: 2)
    serial = run("serial", 10**9, tmp_path / "serial")
    with caplog.at_level("WARNING", logger="leadmagnet.build"):
        parallel = run("parallel", 1, tmp_path / "parallel")
    assert not [r for r in caplog.records if "parallel" in r.getMessage()], "the parallel path fell back to one process"
    assert raw(tmp_path / "parallel") == raw(tmp_path / "serial")
    assert len(raw(tmp_path / "serial")) > 3 * 12
    assert parallel.problems == serial.problems and any(p.key == "slug" for p in serial.problems)
    assert (parallel.parsed, parallel.rendered, sorted(parallel.written)) == (serial.parsed, serial.rendered, sorted(serial.written))
    manifest = json.loads((tmp_path / "parallel" / MANIFEST).read_text())["files"]
    assert manifest == json.loads((tmp_path / "serial" / MANIFEST).read_text())["files"]
    # A first build's workers linked each page's og card into the export: the instance's file itself.
    cards = sorted((tmp_path / "parallel" / "og").iterdir())
    assert len(cards) >= 12 and all(card.stat().st_nlink == 2 for card in cards)

    # The incremental build after the parallel one reuses its cache and rewrites one page.
    (content / "sub" / "many-03.md").write_text((content / "sub" / "many-03.md").read_text() + "\nEdited.\n")
    again = run("parallel", 1, tmp_path / "parallel")
    assert again.rendered == 1
    assert [w for w in again.written if w.endswith(".html")] == ["many-03.html"]
    assert b"Edited." in gzip.decompress((tmp_path / "parallel" / "many-03.html.gz").read_bytes())
    assert not [p.name for p in (tmp_path / "parallel").iterdir() if p.name.startswith(".leadmagnet-staging")]

    # A build that fails after the workers wrote their pages leaves nothing of them behind.
    def broken_sitemap(*args, **kwargs):
        raise RuntimeError("sitemap failed")

    real_sitemap = pages.sitemap_xml
    monkeypatch.setattr(pages, "sitemap_xml", broken_sitemap)
    with pytest.raises(RuntimeError, match="sitemap failed"):
        run("failed", 1, tmp_path / "failed")
    assert not (tmp_path / "failed").exists() or not any((tmp_path / "failed").iterdir())
    (tmp_path / "empty").mkdir()  # a first build into an empty folder leaves it empty, as it was
    (tmp_path / "empty").chmod(0o2775)
    with pytest.raises(RuntimeError, match="sitemap failed"):
        run("failed", 1, tmp_path / "empty")
    assert (tmp_path / "empty").is_dir() and not any((tmp_path / "empty").iterdir())
    assert (tmp_path / "empty").stat().st_mode & 0o7777 == 0o2775

    # A rebuild that fails after its workers rendered every page again (another theme setting)
    # leaves the previous export as it was, byte for byte, and no staging folder.
    before = raw(tmp_path / "parallel")
    manifest = (tmp_path / "parallel" / MANIFEST).read_bytes()
    monkeypatch.setenv("LEADMAGNET_SITE_NAME", "Another name")
    with pytest.raises(RuntimeError, match="sitemap failed"):
        run("parallel", 1, tmp_path / "parallel")
    assert raw(tmp_path / "parallel") == before
    assert (tmp_path / "parallel" / MANIFEST).read_bytes() == manifest
    assert not [p.name for p in (tmp_path / "parallel").iterdir() if p.name.startswith(".leadmagnet-staging")]

    # A failure once the build cache is being written (while the workers render) leaves the
    # previous cache as it was, or none, and no temporary file.
    def broken_cards(*args, **kwargs):
        raise RuntimeError("cards failed")

    def cache_files(label: str) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in (tmp_path / f"instance-{label}" / "build-cache").iterdir() if p.is_file()}

    kept_cache = cache_files("parallel")
    monkeypatch.setattr(pages, "sitemap_xml", real_sitemap)
    monkeypatch.setattr(building, "og_cards", broken_cards)
    for label, out in (("parallel", tmp_path / "parallel"), ("late", tmp_path / "late")):
        with pytest.raises(RuntimeError, match="cards failed"):
            run(label, 1, out)
    assert cache_files("parallel") == kept_cache and sorted(Path(name).suffix for name in kept_cache) == [".lock", ".pickle"]
    assert not (tmp_path / "late").exists()
    assert [Path(name).suffix for name in cache_files("late")] == [".lock"]


def test_build_command_does_not_load_the_web_stack(content_dir: Path, instance_dir: Path, tmp_path: Path) -> None:
    """``leadmagnet build`` starts without Flask, werkzeug or sqlite-utils: a fifth of a second of
    imports that a build after one edit would otherwise spend before doing anything."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from leadmagnet.cli import cli\n"
        f"cli([ '--content', {str(content_dir)!r}, '--instance', {str(instance_dir)!r}, 'build', '--base-url', {BASE!r}, {str(tmp_path / 'out')!r}],"
        " standalone_mode=False)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'flask', 'werkzeug', 'sqlite_utils', 'sqlite3'}))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout + result.stderr
    assert (tmp_path / "out" / "growth-playbook.html").is_file()


def test_builds_into_one_folder_take_turns(content_dir: Path, instance_dir: Path, tmp_path: Path) -> None:
    """A second build into the same folder waits for the first (a failing first build into a new
    folder removes what it wrote: it must not remove another build's export)."""
    import threading

    from leadmagnet import build as building
    from leadmagnet.build import cache
    from leadmagnet.foundation import config
    from tests.support.waiting import flock_waiters, wait_until

    out = tmp_path / "site"
    settings = config.resolve({"CONTENT_DIR": str(content_dir), "INSTANCE_DIR": str(instance_dir), "BASE_URL": BASE})
    done: list[building.BuildReport] = []
    lock = cache.cache_file(settings, out.resolve()).with_suffix(".lock")
    with cache.build_lock(lock):
        worker = threading.Thread(target=lambda: done.append(building.build(settings, out)))
        worker.start()
        wait_until(lambda: flock_waiters(lock) == 1, what="the second build waits for the lock")
        assert worker.is_alive() and not done and not (out / MANIFEST).exists()
    worker.join(timeout=60)
    assert done and (out / MANIFEST).is_file() and (out / "growth-playbook.html").is_file()


def test_a_render_worker_that_fails_half_way_falls_back_to_one_process(tmp_path: Path, monkeypatch, caplog) -> None:
    """A worker that wrote some pages and then died: the pages are rendered again in the build's
    own process and the export is that of a serial build, byte for byte (twins included)."""
    from leadmagnet import build as building
    from leadmagnet.build import workers
    from leadmagnet.foundation import config
    from tests.support.cases import build_content

    content = build_content(tmp_path / "site")
    for n in range(12):
        (content / f"many-{n:02d}.md").write_text(
            f"---\ntitle: Offer {n}\ntype: ebook\nfile: files/guide.pdf\ndescription: Number {n}.\n---\nOffer {n}.\n"
        )
    real = workers.render_chunk

    def half_then_fail(slugs: list[str]):
        done = real(slugs[:1])
        if len(slugs) > 1:
            raise OSError("worker died")
        return done

    # Sent to the workers by name, as the real one is (they are forked from this patched module).
    half_then_fail.__module__, half_then_fail.__qualname__ = real.__module__, real.__qualname__

    def run(label: str, out: Path) -> None:
        settings = config.resolve({"CONTENT_DIR": str(content), "INSTANCE_DIR": str(tmp_path / f"instance-{label}"), "BASE_URL": BASE})
        building.build(settings, out)

    def raw(out: Path) -> dict[str, bytes]:
        return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != MANIFEST}

    monkeypatch.setattr(workers.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(workers, "PARALLEL_MIN", 10**9)
    run("serial", tmp_path / "serial")
    monkeypatch.setattr(workers, "PARALLEL_MIN", 1)
    monkeypatch.setattr(workers, "render_chunk", half_then_fail)
    with caplog.at_level("WARNING", logger="leadmagnet.build"):
        run("parallel", tmp_path / "parallel")
    assert any("worker died" in r.getMessage() and "rendering in one process" in r.getMessage() for r in caplog.records)
    assert raw(tmp_path / "parallel") == raw(tmp_path / "serial")
    manifest = json.loads((tmp_path / "parallel" / MANIFEST).read_text())["files"]
    assert manifest == json.loads((tmp_path / "serial" / MANIFEST).read_text())["files"]


def test_exported_pages_are_the_renderers_offer_pages(built: Path, content_dir: Path, instance_dir: Path) -> None:
    """The build renders pages without the server's ETag and page cache: the bytes are those of
    Renderer.offer_page with the build's settings, for every exported offer page."""
    from datetime import UTC, datetime

    from leadmagnet.build import build_renderer
    from leadmagnet.content.catalog import load_catalog
    from leadmagnet.foundation import config

    settings = config.resolve({"CONTENT_DIR": str(content_dir), "INSTANCE_DIR": str(instance_dir), "BASE_URL": BASE})
    renderer = build_renderer(settings)
    catalog = load_catalog(content_dir)
    pages = [p for p in catalog.pages.values() if (built / f"{p.offer.slug}.html").is_file()]
    assert len(pages) >= 3
    for page in pages:
        served = renderer.offer_page(catalog, page, datetime.now(UTC)).body
        # The one difference: an open webinar's "Starts in N days" is the server's alone (it
        # would go stale in a file).
        served = re.sub(rb'<p class="starts-in">[^<]*</p>', b"", served)
        assert (built / f"{page.offer.slug}.html").read_bytes() == served


@pytest.mark.parametrize("count", [0, 1, 7, 8, 9, 64, 1000, 12345])
def test_guided_chunks_cover_every_item_once_in_order_and_shrink(count: int) -> None:
    from leadmagnet.build.workers import guided_chunks

    items = list(range(count))
    chunks = guided_chunks(items, 2)
    assert [item for chunk in chunks for item in chunk] == items
    sizes = [len(chunk) for chunk in chunks]
    assert all(a >= b for a, b in itertools.pairwise(sizes))  # shrinking
    assert all(size >= 8 for size in sizes[:-1])
    assert max(sizes, default=0) <= 256  # a render worker holds a chunk in memory
    if count >= 1000:
        assert sizes[0] == min(256, count // 4) and len(chunks) < count // 256 + 30  # few messages, small tail


def test_offers_named_index_or_404_cannot_replace_the_exports_own_pages(
    cli_runner, content_dir: Path, instance_dir: Path, tmp_path: Path
) -> None:
    for name in ("index", "404"):
        (content_dir / f"{name}.md").write_text(
            f"---\ntitle: Offer called {name}\ntype: ebook\nfile: files/growth-playbook.pdf\n---\nPitch.\n"
        )
    result = run_build(cli_runner, content_dir, instance_dir, tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "content/index.md: slug: 'index' is used by leadmagnet itself" in result.output
    assert "content/404.md: slug: '404' is used by leadmagnet itself" in result.output
    for page in ("index.html", "404.html"):
        assert b"Offer called" not in (tmp_path / "out" / page).read_bytes()


def test_a_file_gone_between_the_scan_and_the_parse_is_left_out_not_an_error(tmp_path: Path, monkeypatch) -> None:
    """A rename or checkout during a build: the parse workers were given a file that no longer
    exists. As with a fresh scan, it is left out, with no problem reported."""
    from leadmagnet import build as building
    from leadmagnet.build import workers
    from leadmagnet.content.catalog import scan_content
    from leadmagnet.foundation import config
    from tests.support.cases import build_content

    content = build_content(tmp_path / "site")
    for n in range(12):
        (content / f"many-{n:02d}.md").write_text(
            f"---\ntitle: Offer {n}\ntype: ebook\nfile: files/guide.pdf\ndescription: Number {n}.\n---\nOffer {n}.\n"
        )

    def scan_with_a_ghost(folder: Path):
        sources, assets = scan_content(folder)
        return [*sources, (str(folder / "zz-gone.md"), (1.0, 10))], assets

    monkeypatch.setattr(workers.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(workers, "PARALLEL_MIN", 1)
    monkeypatch.setattr(workers, "scan_content", scan_with_a_ghost)
    settings = config.resolve({"CONTENT_DIR": str(content), "INSTANCE_DIR": str(tmp_path / "instance"), "BASE_URL": BASE})
    report = building.build(settings, tmp_path / "out")
    assert not [p for p in report.problems if "zz-gone" in str(p)]
    assert (tmp_path / "out" / "many-11.html").is_file() and not (tmp_path / "out" / "zz-gone.html").exists()


def test_write_in_place_writes_text_twins_and_link_file_replaces_a_link_to_itself(tmp_path: Path) -> None:
    """A first build writes its other files straight into the new export (text files with their
    twins, a PNG without); linking a file over a link to the same file leaves no temporary name."""
    import hashlib

    from leadmagnet.build.files import link_file, write_in_place

    files = {"index.html": b"<p>" + b"x" * 400 + b"</p>", "tag/a.html": b"<p>tag</p>", "media/c.png": b"\x89PNG not text"}
    digests = write_in_place(tmp_path / "out", files)
    assert digests == {rel: hashlib.sha256(data).hexdigest() for rel, data in files.items()}
    names = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert names == ["index.html", "index.html.br", "index.html.gz", "media/c.png", "tag/a.html", "tag/a.html.br", "tag/a.html.gz"]
    assert gzip.decompress((tmp_path / "out" / "index.html.gz").read_bytes()) == files["index.html"]
    assert brotli.decompress((tmp_path / "out" / "tag" / "a.html.br").read_bytes()) == files["tag/a.html"]

    source = tmp_path / "card.png"
    source.write_bytes(b"card")
    target = tmp_path / "out" / "card.png"
    link_file(str(source), str(target), fresh=True)
    link_file(str(source), str(target))  # again, over itself: what a fallback after a worker does
    assert target.read_bytes() == b"card" and target.samefile(source)
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if p.is_file()) == [
        "card.png",
        "index.html",
        "index.html.br",
        "index.html.gz",
    ]
