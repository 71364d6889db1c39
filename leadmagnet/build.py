"""Static export: every published page as plain files any web server or CDN can serve.

``leadmagnet build OUT_DIR`` writes, under ``OUT_DIR``:

- ``index.html`` (when ``LEADMAGNET_INDEX_PAGE`` is on), ``<slug>.html`` per published offer and
  ``404.html``; their forms post to ``LEADMAGNET_BASE_URL`` (the live server captures the lead and
  shows the thank-you page), and a small external ``beacon.js`` counts the view there;
- ``sitemap.xml`` and ``robots.txt``;
- ``media/<path>``: only the files the published pages show (covers, presenter photos, images in
  the Markdown), never a gated file, never an offer's Markdown source;
- ``static/<theme>/<fingerprint>/<path>``: the theme files, at the same fingerprinted URLs the live
  server uses, so they can be cached for a year;
- a ``.gz`` and a ``.br`` twin of every text file, compressed at the maximum level, for servers
  that serve precompressed files (nginx ``gzip_static``, most CDNs).

Builds are incremental: ``OUT_DIR/.leadmagnet-build.json`` records the SHA-256 of every file
written. A rebuild renders everything (rendering is cheap) but writes, and compresses, only the
files whose bytes changed, and deletes files the previous build wrote that are no longer part of
the site. Files it did not write are never touched: a non-empty ``OUT_DIR`` without a manifest is
refused instead of mixed into.

Everything is rendered and checked before the first file is written (as in Pelican), so a build
that fails leaves the previous export whole.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask

from .compress import compress, is_compressible
from .content import Catalog
from .offer import Problem
from .pages import robots_txt, sitemap_xml
from .site import Site

MANIFEST = ".leadmagnet-build.json"
TWINS = {"gzip": ".gz", "br": ".br"}
DEFAULT_BASE_URL = "http://127.0.0.1:5000"
MIME_BY_SUFFIX = {
    ".html": "text/html",
    ".xml": "application/xml",
    ".txt": "text/plain",
    ".css": "text/css",
    ".js": "application/javascript",
    ".svg": "image/svg+xml",
    ".json": "application/json",
}


class BuildError(ValueError):
    """The export cannot be written (the message names the folder and what to do)."""


@dataclass
class BuildReport:
    """What a build did: files written (with their twins) and kept, files removed, problems."""

    out_dir: Path
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    problems: tuple[Problem, ...] = ()
    warnings: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.written) + len(self.unchanged)


def export_files(site: Site, catalog: Catalog, now: datetime) -> dict[str, bytes]:
    """Every file of the export, by path relative to OUT_DIR, rendered in memory.

    Must run inside an app context of ``site.app`` whose ``FORM_BASE`` is the live server.
    """
    app = site.app
    cfg = app.config
    renderer = site.renderer
    files: dict[str, bytes] = {}
    published = [p for p in catalog.pages.values() if p.offer.is_published(now)]
    for page in published:
        rendered = renderer.offer_page(catalog, page, now)
        if rendered.status == 200:  # an expired offer (410 on the server) is left out
            files[f"{page.offer.slug}.html"] = rendered.body
    if cfg["INDEX_PAGE"]:
        offers = sorted((p.offer for p in published), key=lambda o: (o.type, o.title))
        files["index.html"] = renderer.render("index.html", offers=offers, canonical=cfg["BASE_URL"] + "/", now=now).encode()
    files["404.html"] = renderer.render(
        "error.html", status=404, title="Page not found", message="This page does not exist, or the offer is not published."
    ).encode()
    files["sitemap.xml"] = sitemap_xml(cfg["BASE_URL"], catalog, now, cfg["INDEX_PAGE"]).encode()
    files["robots.txt"] = robots_txt(cfg["BASE_URL"]).encode()

    # Security: only what a published page shows. media_shown() already excludes gated files
    # and Markdown sources, whatever a pitch links to.
    root = catalog.content_dir.resolve()
    for rel in sorted(catalog.public_files):
        if not catalog.media_shown(rel, now):
            continue
        source = (root / rel).resolve()
        if source.is_relative_to(root) and source.is_file():
            files[f"media/{rel}"] = source.read_bytes()

    themes = {renderer.theme_for(p.offer).name for p in published} | {cfg["DEFAULT_THEME"]}
    for name in sorted(themes):
        theme = site.themes.get(name)
        seen: set[str] = set()
        for folder in theme.chain:
            static = folder / "static"
            if not static.is_dir():
                continue
            for file in sorted(static.rglob("*")):
                rel = file.relative_to(static).as_posix()
                if file.is_file() and rel not in seen and not any(part.startswith(".") for part in file.parts):
                    seen.add(rel)
                    resolved = theme.static_file(rel)
                    if resolved is not None:
                        files[f"static/{name}/{theme.fingerprint(rel)}/{rel}"] = resolved.read_bytes()
    return files


def build(app: Flask, out_dir: Path, now: datetime | None = None) -> BuildReport:
    """Export the site of ``app`` into ``out_dir``; write only what changed since the last build."""
    out_dir = Path(out_dir).resolve()
    site: Site = app.extensions["leadmagnet"]
    check_out_dir(out_dir, site)
    now = now or datetime.now(UTC)
    report = BuildReport(out_dir)
    base_url = app.config["BASE_URL"]
    if base_url == DEFAULT_BASE_URL:
        report.warnings.append(
            f"LEADMAGNET_BASE_URL is the default {DEFAULT_BASE_URL}: exported forms will post there; set it to your live server's address"
        )
    previous_form_base = app.config.get("FORM_BASE")
    # Exported forms (and the view beacon) go to the live server, not to the static host.
    app.config["FORM_BASE"] = base_url
    try:
        with app.app_context():
            catalog = site.catalog
            files = export_files(site, catalog, now)
    finally:
        if previous_form_base is None:
            app.config.pop("FORM_BASE", None)
        else:
            app.config["FORM_BASE"] = previous_form_base
    report.problems = catalog.problems
    write_files(out_dir, files, report)
    return report


def check_out_dir(out_dir: Path, site: Site) -> None:
    """Refuse folders a build must not write into (the message says what to do instead)."""
    content = site.content_dir.resolve()
    if out_dir == content or content.is_relative_to(out_dir) or out_dir.is_relative_to(content):
        raise BuildError(f"{out_dir}: the output folder must be outside the content folder {content}; pick another folder")
    if out_dir.exists() and not out_dir.is_dir():
        raise BuildError(f"{out_dir}: exists and is not a folder; pick a folder name")
    if out_dir.is_dir() and not (out_dir / MANIFEST).exists() and any(out_dir.iterdir()):
        raise BuildError(
            f"{out_dir}: folder is not empty and was not made by leadmagnet build (no {MANIFEST}); pick an empty or new folder"
        )


def read_manifest(out_dir: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of the previous build; empty when there is none or it is unreadable."""
    try:
        data = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    return {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {}


def write_files(out_dir: Path, files: dict[str, bytes], report: BuildReport) -> None:
    """Write changed files (and twins), delete stale ones, then the manifest."""
    old = read_manifest(out_dir)
    new: dict[str, str] = {}
    out_dir.mkdir(parents=True, exist_ok=True)
    for rel, data in sorted(files.items()):
        digest = hashlib.sha256(data).hexdigest()
        new[rel] = digest
        target = out_dir / rel
        if old.get(rel) == digest and target.is_file():
            report.unchanged.append(rel)
            continue
        write_atomic(target, data)
        stale_twins = set(TWINS.values())
        if is_compressible(MIME_BY_SUFFIX.get(target.suffix)):
            for coding, suffix in TWINS.items():
                write_atomic(target.with_name(target.name + suffix), compress(data, coding, best=True))
                stale_twins.discard(suffix)
        for suffix in stale_twins:
            target.with_name(target.name + suffix).unlink(missing_ok=True)
        report.written.append(rel)
    for rel in sorted(set(old) - set(new)):
        target = out_dir / rel
        if not target.resolve().is_relative_to(out_dir):
            continue  # a tampered manifest must not delete anything outside the export
        for path in (target, *(target.with_name(target.name + s) for s in TWINS.values())):
            path.unlink(missing_ok=True)
        report.removed.append(rel)
        prune_empty_dirs(target.parent, out_dir)
    manifest = {"generator": "leadmagnet build", "built_at": datetime.now(UTC).isoformat(timespec="seconds"), "files": new}
    write_atomic(out_dir / MANIFEST, (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode())


def write_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file and rename, so a server never sends a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def prune_empty_dirs(folder: Path, root: Path) -> None:
    """Remove ``folder`` and its parents up to ``root`` while they are empty."""
    while folder != root and folder.is_relative_to(root):
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent
