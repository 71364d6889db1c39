"""Rendering speed: 1,000 generated offers, each page cold (first request) and warm (cached).

What is measured, through the Flask test client (no network, so only our code and Flask count):

- **load**: ``create_app`` reading, validating and rendering the Markdown of every offer, per
  offer. Baseline: Python-Markdown converting the same bodies with the same extensions, per body,
  the floor of what reading an offer can cost.
- **cold**: the first request for each page after the app was created (theme templates render,
  the page is stored in the cache). Baseline: a minimal Jinja2 template producing a page of the
  same size, rendered directly with no app, per page: the floor of what rendering HTML costs.
  A second cold baseline is Python-Markdown converting the same body: what a server that renders
  the Markdown on every request would pay at the very least.
- **warm**: the second request for each page (served from the page cache, ETag computed once).
  Baseline: a bare Flask app answering the same bytes from a constant route through the same
  test client, the floor of any Flask request; a ratio near 1 means the cache leaves only the
  framework's own cost (our extra: catalog check, security headers, compression, view counts).

Times are this process's CPU time (``time.process_time``), not wall time: the machine is shared,
and other processes' load would otherwise land on whichever side ran at a busier moment. Each
figure is the median of ``--rounds`` rounds (a new app and content folder per round). Usage: ``.venv/bin/python -m bench.render [--offers 1000] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from importlib import metadata
from pathlib import Path

import flask
import jinja2
import markdown

from bench._results import record
from leadmagnet.app import create_app
from leadmagnet.content.catalog import load_catalog
from leadmagnet.content.markup import EXTENSIONS
from leadmagnet.web import services_of

BODY = """Most advice is written for teams of a hundred. This {kind} is for the team of one to five
who has to pick **one** thing that works this quarter, number {n}.

## What's inside

| Chapter | You will learn |
|---|---|
| Channels | How to pick one channel and measure it weekly |
| Offers | Why the landing page comes before the product |
| Follow-up | The single question to ask every lead |

- A checklist you can use on Monday
- The numbers from {n} teams who tried it[^n]
- Templates for the first three emails

```text
[ ] one h1 per page
[ ] meta description under 160 characters
```

[^n]: Medians over the teams we interviewed.
"""

EBOOK = """---
title: Growth guide number {n}
type: ebook
description: A guide to growth tactics for small B2B teams, edition {n}.
subtitle: Tested tactics, edition {n}
image: assets/cover.png
file: files/guide.pdf
pages: 24
fields: [first_name, company, {{name: team_size, label: Team size, type: select, choices: ["1", "2-5", "6+"]}}]
consent: I agree to receive emails about growth marketing.
tags: [growth, b2b]
stage: tofu
---
"""

WEBINAR = """---
title: Live demo number {n}
type: webinar
description: A 45-minute live demo of the campaign workflow, session {n}.
starts_at: 2029-03-15T16:00:00
timezone: Europe/Paris
duration_minutes: 45
join_url: https://meet.example.com/j/demo-{n}
presenters:
  - name: Ada Lovelace
    title: Head of Product
    photo: assets/cover.png
fields: [first_name, last_name, company]
---
"""

MINIMAL = jinja2.Template(
    "<!doctype html><html lang=en><head><meta charset=utf-8><title>{{ title }}</title>"
    "<style>{{ css }}</style></head><body><main><h1>{{ title }}</h1>{{ body|safe }}"
    "<form method=post><label for=e>Email</label><input id=e name=email><button>Go</button></form></main></body></html>",
    autoescape=True,
)


def write_offers(root: Path, count: int) -> tuple[Path, list[str], list[str]]:
    """Write ``count`` offers (every fifth a webinar); return the folder, slugs and bodies."""
    content = root / "content"
    (content / "files").mkdir(parents=True)
    (content / "assets").mkdir()
    (content / "files" / "guide.pdf").write_bytes(b"%PDF-1.4\n")
    shutil.copy(Path(__file__).resolve().parent.parent / "content" / "assets" / "ada.png", content / "assets" / "cover.png")
    slugs, bodies = [], []
    for n in range(count):
        kind = "webinar" if n % 5 == 4 else "ebook"
        body = BODY.format(kind=kind, n=n)
        head = (WEBINAR if kind == "webinar" else EBOOK).format(n=n)
        slug = f"offer-{n:04d}"
        (content / f"{slug}.md").write_text(head + body, encoding="utf-8")
        slugs.append(slug)
        bodies.append(body)
    return content, slugs, bodies


def one_round(count: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="lm-bench-render-") as tmp:
        root = Path(tmp)
        content, slugs, bodies = write_offers(root, count)

        started = time.process_time()
        for body in bodies:
            markdown.Markdown(extensions=EXTENSIONS).convert(body)
        markdown_each = (time.process_time() - started) / count

        started = time.process_time()
        app = create_app({"CONTENT_DIR": str(content), "INSTANCE_DIR": str(root / "instance"), "THEMES_DIR": str(root / "themes")})
        load_each = (time.process_time() - started) / count
        assert len(services_of(app).catalog.pages) == count, services_of(app).catalog.problems[:3]

        client = app.test_client()
        sizes = []
        started = time.process_time()
        for slug in slugs:
            response = client.get(f"/{slug}")
            assert response.status_code == 200
            sizes.append(len(response.data))
        cold_each = (time.process_time() - started) / count

        started = time.process_time()
        for slug in slugs:
            assert client.get(f"/{slug}").status_code == 200
        warm_each = (time.process_time() - started) / count

        # One save among many offers: the reload re-reads only that file.
        site = services_of(app)
        site.catalog_cache.interval = 0
        edited = content / f"{slugs[1]}.md"
        edited.write_text(edited.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
        stamp = edited.stat()
        os.utime(edited, (stamp.st_atime, stamp.st_mtime + 2))
        started = time.process_time()
        catalog = site.catalog
        reload_one = time.process_time() - started
        assert "One more line." in catalog.pages[slugs[1]].body_html
        started = time.process_time()
        load_catalog(content)
        load_all = time.process_time() - started

        # The baseline page: same title and body HTML, padded with CSS to the real page's size.
        html_bodies = [markdown.Markdown(extensions=EXTENSIONS).convert(b) for b in bodies]
        average = sum(sizes) / len(sizes)
        css = "x" * max(0, int(average - len(MINIMAL.render(title="t", css="", body=html_bodies[0]))))
        started = time.process_time()
        for n, html in enumerate(html_bodies):
            MINIMAL.render(title=f"Offer {n}", css=css, body=html)
        jinja_each = (time.process_time() - started) / count
        baseline_size = len(MINIMAL.render(title="Offer 0", css=css, body=html_bodies[0]))

        # The floor of a request: a bare Flask app answering the same bytes through the test client.
        bare = flask.Flask("bare")
        page = client.get(f"/{slugs[0]}").data

        @bare.get("/<slug>")
        def constant(slug: str) -> flask.Response:
            return flask.Response(page, content_type="text/html; charset=utf-8")

        bare_client = bare.test_client()
        started = time.process_time()
        for slug in slugs:
            assert bare_client.get(f"/{slug}").status_code == 200
        bare_each = (time.process_time() - started) / count
        site.close()  # write the counted views and close the store before the folder goes away
    return {
        "markdown": markdown_each,
        "load": load_each,
        "cold": cold_each,
        "warm": warm_each,
        "jinja": jinja_each,
        "bare": bare_each,
        "reload_one": reload_one,
        "load_all": load_all,
        "page_bytes": average,
        "baseline_bytes": baseline_size,
    }


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--offers", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rounds = [one_round(args.offers) for _ in range(args.rounds)]
    med = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}

    def row(figure: str, key: str, baseline: str, base: str) -> dict:
        return {
            "figure": figure,
            "value": ms(med[key]),
            "baseline": baseline,
            "baseline_value": ms(med[base]),
            "ratio": med[key] / med[base],
        }

    page_kb = med["baseline_bytes"] / 1024
    rows = [
        row(
            f"load: create_app per offer ({args.offers} offers; lower is better)",
            "load",
            "Python-Markdown converting the same body",
            "markdown",
        ),
        row(
            "cold: first request per page (lower is better)",
            "cold",
            "Python-Markdown converting the same body (what rendering per request would at least cost)",
            "markdown",
        ),
        row(
            "cold: first request per page (lower is better)",
            "cold",
            f"minimal Jinja2 page of the same size ({page_kb:.1f} KB), rendered directly, no app",
            "jinja",
        ),
        row(
            "warm: cached request per page (lower is better)", "warm", "bare Flask route returning the same bytes, same test client", "bare"
        ),
        row(
            f"reload after saving one of {args.offers} offers (lower is better)",
            "reload_one",
            "reading the whole content folder (load_catalog)",
            "load_all",
        ),
        row("warm vs cold (lower is better)", "warm", "cold request", "cold"),
    ]
    libraries = ", ".join(f"{name} {metadata.version(name)}" for name in ("Markdown", "Jinja2", "MarkupSafe"))
    notes = (
        f"Stock {libraries}, public APIs only (the speed twins of their internals were removed in issue 14). "
        f"CPU time of the benchmark process. Pages average {med['page_bytes'] / 1024:.1f} KB. Through the Flask test client with the default "
        "`LEADMAGNET_RELOAD_INTERVAL` (1 s), medians of "
        f"{args.rounds} rounds. The load figure includes YAML parsing, validation and Markdown rendering of each file, "
        "opening the database and running migrations once; the page figures include routing, the security headers "
        "and the ETag."
    )
    command = f".venv/bin/python -m bench.render --offers {args.offers} --rounds {args.rounds}"
    record("render", command, rows, notes)
    for row in rows:
        print(f"{row['figure']}: {row['value']} vs {row['baseline_value']} ({row['baseline']}): ratio {row['ratio']:.3g}")


if __name__ == "__main__":
    main()
