"""Build a content folder from the one-case-per-file fixtures in ``tests/content/``.

Each case is a small ``.md`` named for what it shows; the assets they refer to (a gated PDF, a
cover, a chart) are written as tiny real files so that only the case under test is broken.
"""

from __future__ import annotations

import shutil
from pathlib import Path

CASES = Path(__file__).resolve().parents[1] / "content"

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


def build_content(root: Path, *cases: str) -> Path:
    """Copy the named cases (without ``.md``) into ``root/content`` with their asset files."""
    content = root / "content"
    (content / "files").mkdir(parents=True, exist_ok=True)
    (content / "assets").mkdir(exist_ok=True)
    (content / "files" / "guide.pdf").write_bytes(b"%PDF-1.4\n% gated\n")
    for name in ("chart.png", "cover.png", "photo.png", "unused.png"):
        (content / "assets" / name).write_bytes(PNG)
    for case in cases:
        shutil.copy(CASES / f"{case}.md", content / f"{case}.md")
    return content


def all_cases() -> list[str]:
    return sorted(p.stem for p in CASES.glob("*.md"))
