"""The intrinsic size of an image under the content folder, read from its first bytes.

A page gives every image its ``width`` and ``height`` so the browser reserves its box before the
file arrives (no layout shift). Logos and brand marks come in any aspect ratio, so their size is
read here, once per parse: PNG (IHDR), GIF (logical screen), JPEG (the first SOF marker) and SVG
(``width``/``height`` or ``viewBox`` of the root element). Anything else gives None and the
template falls back to a square box.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

_SVG_ROOT = re.compile(rb"<svg\b[^>]*>", re.IGNORECASE | re.DOTALL)
_SVG_ATTR = re.compile(rb'\b(width|height|viewBox)\s*=\s*["\']([^"\']*)["\']', re.IGNORECASE)
_NUMBER = re.compile(rb"^\s*([0-9]*\.?[0-9]+)\s*(px)?\s*$")


def image_size(path: Path) -> tuple[int, int] | None:
    """``(width, height)`` in CSS pixels of the image at ``path``, or None when it cannot tell."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(65536)
    except OSError:
        return None
    if head.startswith(b"\x89PNG\r\n\x1a\n") and len(head) >= 24:
        width, height = struct.unpack(">II", head[16:24])
        return _positive(width, height)
    if head[:6] in (b"GIF87a", b"GIF89a") and len(head) >= 10:
        width, height = struct.unpack("<HH", head[6:10])
        return _positive(width, height)
    if head.startswith(b"\xff\xd8"):
        return _jpeg_size(head)
    root = _SVG_ROOT.search(head)
    if root is not None:
        return _svg_size(root.group(0))
    return None


def _positive(width: float, height: float) -> tuple[int, int] | None:
    return (round(width), round(height)) if width > 0 and height > 0 else None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    at = 2
    while at + 9 < len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        # Start-of-frame markers (not DHT C4, JPG C8, DAC CC) carry the height, then the width.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return _positive(width, height)
        at += 2 + length
    return None


def _svg_size(root: bytes) -> tuple[int, int] | None:
    attrs = {name.lower(): value for name, value in _SVG_ATTR.findall(root)}
    width, height = (_NUMBER.match(attrs.get(k, b"")) for k in (b"width", b"height"))
    if width and height:
        return _positive(float(width.group(1)), float(height.group(1)))
    box = attrs.get(b"viewbox", b"").replace(b",", b" ").split()
    if len(box) == 4:
        try:
            return _positive(float(box[2]), float(box[3]))
        except ValueError:
            return None
    return None
