"""Screenshots of each landing-page layout at desktop and phone width, for the README.

Usage: .venv/bin/python scripts/screenshots.py   (writes docs/screenshots/<layout>-<width>.png)

Serves the sample content from a temporary instance folder with the app on a free 127.0.0.1 port,
and photographs each layout's sample with the system Chromium (/usr/bin/chromium, through
Playwright): the first screen at 1280 x 800 and at 390 x 844 (a phone). So that the proof lines
show, the temporary database gets that many example sign-ups first (1,240 for the split sample:
"1,200+"); the samples' own content is not changed. Run it again after a theme change to keep the
README current.
"""

from __future__ import annotations

import logging
import shutil
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from leadmagnet.app import create_app  # noqa: E402
from leadmagnet.web import services_of  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
# layout -> (sample slug, example sign-ups for its proof line)
LAYOUTS = {"split": ("growth-playbook", 1240), "centered": ("q1-product-demo", 64), "longform": ("seo-checklist", 312)}
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
CHROMIUM = "/usr/bin/chromium"


def seed(app, slug: str, count: int) -> None:
    """``count`` example sign-ups for ``slug`` in the temporary database (for its proof line)."""
    store = services_of(app).store
    offer = services_of(app).catalog.get(slug).offer
    with store.transaction() as tx:
        for n in range(count):
            tx.record_submission(offer_slug=slug, offer_type=offer.type, email=f"reader{n}@example.com", fields={})


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lm-shots-") as tmp:
        content = Path(tmp) / "content"
        shutil.copytree(ROOT / "content", content)
        app = create_app({"CONTENT_DIR": str(content), "INSTANCE_DIR": str(Path(tmp) / "instance"), "RATE_LIMIT": "off"})
        for slug, count in LAYOUTS.values():
            seed(app, slug, count)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_port}"
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
                for layout, (slug, _count) in LAYOUTS.items():
                    for size, (width, height) in SIZES.items():
                        page = browser.new_page(viewport={"width": width, "height": height})
                        page.goto(f"{url}/{slug}")
                        page.wait_for_load_state("load")
                        target = OUT / f"{layout}-{size}.png"
                        page.screenshot(path=str(target))
                        page.close()
                        print(f"{target.relative_to(ROOT)}: {target.stat().st_size:,} bytes")
                browser.close()
        finally:
            server.shutdown()
            services_of(app).close()


if __name__ == "__main__":
    main()
