"""Where the checkout and its sample content are, and offers written by the tests themselves.

The offers' times are relative to now; the helpers write ``content/<slug>.md`` (and the gated file).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "content"

JOIN_URL = "https://meet.example.com/j/secret-room-4711"
REPLAY_URL = "https://video.example.com/replays/secret-recording-99"


def write_webinar(
    content_dir: Path,
    slug: str,
    starts_at: datetime,
    *,
    duration: int = 60,
    capacity: int | None = None,
    replay: bool = False,
    extra: str = "",
) -> None:
    """Write ``content/<slug>.md``: a webinar starting at ``starts_at`` (aware), in Europe/Paris."""
    lines = [
        "---",
        f"title: Webinar {slug}",
        "type: webinar",
        "description: A test webinar.",
        f"starts_at: {starts_at.isoformat()}",
        "timezone: Europe/Paris",
        f"duration_minutes: {duration}",
        f"join_url: {JOIN_URL}",
        "fields: [first_name, company]",
    ]
    if capacity is not None:
        lines.append(f"capacity: {capacity}")
    if replay:
        lines.append(f"replay_url: {REPLAY_URL}")
    if extra:
        lines.append(extra)
    lines += ["---", "The agenda.", ""]
    (content_dir / f"{slug}.md").write_text("\n".join(lines), encoding="utf-8")


def write_ebook(content_dir: Path, slug: str, data: bytes, *, filename: str = "guide.pdf", extra: str = "") -> None:
    """Write ``content/<slug>.md``, an ebook offering ``files/<filename>`` with bytes ``data``."""
    (content_dir / "files").mkdir(exist_ok=True)
    (content_dir / "files" / filename).write_bytes(data)
    lines = [
        "---",
        f"title: Ebook {slug}",
        "type: ebook",
        "description: A test ebook.",
        f"file: files/{filename}",
        "fields: [first_name, company]",
    ]
    if extra:
        lines.append(extra)
    lines += ["---", "The pitch.", ""]
    (content_dir / f"{slug}.md").write_text("\n".join(lines), encoding="utf-8")


def submit(client, slug: str, email_addr: str, **fields: str):
    """POST the offer's form like a browser without JavaScript; return the response (not followed)."""
    data = {"email": email_addr, **fields}
    return client.post(f"/{slug}", data=data)


def csrf_token(page: str) -> str:
    """The CSRF token of the (first) form on an admin ``page``'s HTML."""
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert found, "the page carries a CSRF token"
    return found[1]
