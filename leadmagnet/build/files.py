"""The export's files: checking the output folder, the manifest, atomic writes and compressed twins.

``OUT_DIR/.leadmagnet-build.json`` (the manifest) records the SHA-256 of every file the build
wrote: only files whose bytes changed are written and compressed again, and files of the previous
build that are no longer part of the site are deleted. Files the build did not write are never
touched: a non-empty ``OUT_DIR`` without a manifest is refused instead of mixed into. Every file
is written to a temporary name and renamed, so a server never sends a half-written file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from leadmagnet.build.report import BuildError, BuildReport
from leadmagnet.render.compression import compress, is_compressible

MANIFEST = ".leadmagnet-build.json"
TWINS = {"gzip": ".gz", "br": ".br"}
# The text files of an export, by suffix: these get compressed twins.
MIME_BY_SUFFIX = {
    ".html": "text/html",
    ".xml": "application/xml",
    ".txt": "text/plain",
    ".css": "text/css",
    ".js": "application/javascript",
    ".svg": "image/svg+xml",
    ".json": "application/json",
}


def check_out_dir(out_dir: Path, content_dir: Path) -> None:
    """Refuse folders a build must not write into (the message says what to do instead)."""
    if out_dir == content_dir or content_dir.is_relative_to(out_dir) or out_dir.is_relative_to(content_dir):
        raise BuildError(f"{out_dir}: the output folder must be outside the content folder {content_dir}; pick another folder")
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


def write_files(
    out_dir: Path,
    files: dict[str, bytes],
    kept: set[str],
    old: dict[str, str],
    report: BuildReport,
    staging: Path | None = None,
    staged: Mapping[str, str] | None = None,
    linked: Mapping[str, tuple[str, str]] | None = None,
) -> None:
    """Write changed files (and twins), delete stale ones, then the manifest.

    ``staged`` maps files already written, with their twins, in ``staging`` to their digests:
    they are moved into place instead (their bytes are not in ``files``). ``linked`` maps files
    to ``(source, digest)``: a file of a content-addressed cache that never changes once written
    (og cards), hard-linked into place (copied where the file system cannot link), and recorded
    with that digest.
    """
    staged = staged or {}
    linked = linked or {}
    new: dict[str, str] = {}
    out_dir.mkdir(parents=True, exist_ok=True)
    for rel in sorted(kept):
        if os.path.isfile(os.path.join(out_dir, rel)):
            new[rel] = old[rel]
            report.unchanged.append(rel)
    changed: list[tuple[Path, bytes]] = []
    moves: list[str] = []  # staged elsewhere than in place (a rebuild): renamed into place
    in_place = staging == out_dir  # a first build: the workers wrote where the pages belong
    for rel in sorted(files.keys() | staged.keys()):
        if rel in staged and staging is not None:
            # On strings: a thousand pages a cold build, where pathlib cost a third of this loop.
            new[rel] = staged[rel]
            report.written.append(rel)
            if not in_place:
                moves.append(rel)
            continue
        target = out_dir / rel
        data = files[rel]
        digest = hashlib.sha256(data).hexdigest()
        new[rel] = digest
        if old.get(rel) == digest and target.is_file():
            report.unchanged.append(rel)
            continue
        changed.append((target, data))
        report.written.append(rel)
    for folder in sorted({target.parent for target, _data in changed} | {out_dir / os.path.dirname(rel) for rel in moves}):
        folder.mkdir(parents=True, exist_ok=True)
    # Staged pages are renamed into place here (a thousand renames cost less than handing them
    # to threads); the rest are compressed by threads: zlib, brotli and file writes release the
    # GIL, so they overlap on every core.
    root, source = str(out_dir), str(staging)
    for rel in moves:
        for suffix in ("", *TWINS.values()):
            os.replace(os.path.join(source, rel + suffix), os.path.join(root, rel + suffix))
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for _ in pool.map(lambda item: write_with_twins(*item), changed):
            pass
    for rel, (source_file, digest) in sorted(linked.items()):
        new[rel] = digest
        target = os.path.join(root, rel)
        if old.get(rel) == digest and os.path.isfile(target):
            report.unchanged.append(rel)
            continue
        folder = os.path.dirname(target)
        if not os.path.isdir(folder):
            os.makedirs(folder, exist_ok=True)
        link_file(source_file, target)
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


def write_with_twins(target: Path, data: bytes) -> None:
    """Write one file and, for text, its ``.gz`` and ``.br`` twins (removing twins it no longer has).

    The folder exists already (made by :func:`write_files`).
    """
    folder, name = os.path.split(target)
    replace_file(folder, name, data)
    stale_twins = set(TWINS.values())
    if is_compressible(MIME_BY_SUFFIX.get(target.suffix)):
        for suffix, packed in compress_twins(data).items():
            replace_file(folder, name + suffix, packed)
            stale_twins.discard(suffix)
    for suffix in stale_twins:
        target.with_name(target.name + suffix).unlink(missing_ok=True)


def write_in_place(out_dir: Path, files: Mapping[str, bytes]) -> dict[str, str]:
    """Write ``files`` and the twins of the text files into a first build's export (a new or
    empty folder: no temporary names, nothing is there to replace). Returns their SHA-256 by path.

    A first build's process does this while the render workers work, instead of after them.
    """
    root = str(out_dir)
    digests: dict[str, str] = {}
    folders: set[str] = set()
    for rel, data in files.items():
        target = os.path.join(root, rel)
        folder = os.path.dirname(target)
        if folder not in folders:
            os.makedirs(folder, exist_ok=True)
            folders.add(folder)
        write_new(target, data)
        if is_compressible(MIME_BY_SUFFIX.get(os.path.splitext(rel)[1])):
            for suffix, packed in compress_twins(data).items():
                write_new(target + suffix, packed)
        digests[rel] = hashlib.sha256(data).hexdigest()
    return digests


def compress_twins(data: bytes) -> dict[str, bytes]:
    """The ``.gz`` and ``.br`` twins of a text file, compressed as hard as a build affords."""
    return {suffix: compress(data, coding, best=True) for coding, suffix in TWINS.items()}


def link_file(source: str, target: str, fresh: bool = False) -> None:
    """Put ``source`` at ``target`` as a hard link (a copy across file systems), atomically.

    ``fresh``: nothing is at ``target`` yet (a first build): linked there directly (a link
    appears whole), and only where that fails through a temporary name as always.
    """
    if fresh:
        try:
            os.link(source, target)
            return
        except OSError:
            pass
    tmp = target + ".tmp"
    try:
        os.link(source, tmp)
    except FileExistsError:  # left by a build that was killed
        os.unlink(tmp)
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    os.replace(tmp, target)
    # When ``target`` already was this very file (a link made by a render worker that then
    # failed), rename leaves both names in place: the temporary one must not stay in the export.
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)


def write_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file and rename, so a server never sends a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_file(str(path.parent), path.name, data)


def replace_file(folder: str, name: str, data: bytes) -> None:
    """:func:`write_atomic` into an existing folder, on plain strings (cheaper than pathlib)."""
    tmp = os.path.join(folder, f".{name}.tmp")
    write_new(tmp, data)
    os.replace(tmp, os.path.join(folder, name))


def write_new(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` with three system calls: no buffered file object (three
    thousand files a cold build; Python's file objects cost a quarter of the writing)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0), 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def prune_empty_dirs(folder: Path, root: Path) -> None:
    """Remove ``folder`` and its parents up to ``root`` while they are empty."""
    while folder != root and folder.is_relative_to(root):
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def undo_first_build(out_dir: Path, existed: bool) -> None:
    """Remove what a failed first build wrote in place: ``out_dir`` itself if the build made it,
    else its contents (the folder stays: its owner, mode and ACLs are the user's)."""
    if not existed:
        shutil.rmtree(out_dir, ignore_errors=True)
        return
    for entry in os.scandir(out_dir):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):  # the build's own error is the one to report
                os.unlink(entry.path)
