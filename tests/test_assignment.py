"""A/B tests through real HTTP: fresh visitors split by the weights, a returning visitor keeps one
variant, crawlers get the control, every submission (a plain no-JS form post too) is attributed to
the variant shown, and ``leadmagnet report --json`` shows the counts."""

from __future__ import annotations

import gzip
import http.cookiejar
import json
import math
import re
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from leadmagnet.cli import cli
from leadmagnet.leads import assignment
from leadmagnet.web import services_of

BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
TITLES = {"a": "The Split Guide", "b": "The Better Split Guide"}


def write_test_offer(content_dir: Path, weights: tuple[float, float] = (1, 3), winner: str | None = None) -> None:
    """``content/split-guide.md``: control a and variant b, with their weights."""
    lines = [
        "---",
        f"title: {TITLES['a']}",
        "type: ebook",
        "description: A guide under an A/B test.",
        "file: files/growth-playbook.pdf",
        "fields: [first_name]",
        f"weight: {weights[0]}",
        "variants:",
        "  b:",
        f"    title: {TITLES['b']}",
        "    cta: Send me the better guide",
        "    thank_you: Thanks from variant **b**.",
        "    body: |",
        "      The *b* pitch, shorter.",
        f"    weight: {weights[1]}",
    ]
    if winner:
        lines.append(f"winner: {winner}")
    (content_dir / "split-guide.md").write_text("\n".join([*lines, "---", "The control's pitch.", ""]), encoding="utf-8")


@pytest.fixture
def ab_server(content_dir, make_app):
    from tests.support.servers import start_live_server

    write_test_offer(content_dir)
    app = make_app(RATE_LIMIT="off")  # a dozen sign-ups from one address in a second
    server = start_live_server(app)
    try:
        yield server
    finally:
        server.stop()


def opener(jar: http.cookiejar.CookieJar | None = None) -> urllib.request.OpenerDirector:
    handlers = [urllib.request.HTTPCookieProcessor(jar)] if jar is not None else []
    built = urllib.request.build_opener(*handlers)
    built.addheaders = [("User-Agent", BROWSER)]
    return built


def shown(html: str) -> str:
    """Which variant a page shows, by its title, checked against its form's hidden field."""
    variant = "b" if f"<h1>{TITLES['b']}</h1>" in html else "a"
    assert f'<input type="hidden" name="variant" value="{variant}">' in html
    return variant


def test_fresh_visitors_split_by_the_weights_within_binomial_bounds(ab_server) -> None:
    n = 400
    seen: Counter[str] = Counter()
    for _ in range(n):  # a new visitor each time: no cookie jar
        with opener().open(f"{ab_server.url}/split-guide") as response:
            seen[shown(response.read().decode())] += 1
            assert response.headers["Set-Cookie"].startswith("ab-split-guide=")
    expected, sd = n * 0.75, math.sqrt(n * 0.75 * 0.25)
    assert abs(seen["b"] - expected) <= 4.5 * sd, seen  # weights 1:3; fails by chance about once in 150,000 runs
    app = ab_server.app
    services_of(app).variant_views.flush()
    views = {r["variant"]: r["views"] for r in services_of(app).store.variant_views("split-guide")}
    assert views == dict(seen)


def test_a_returning_visitor_keeps_one_variant(ab_server) -> None:
    jar = http.cookiejar.CookieJar()
    visitor = opener(jar)
    with visitor.open(f"{ab_server.url}/split-guide") as response:
        first = shown(response.read().decode())
        cookie = response.headers["Set-Cookie"]
    assert f"ab-split-guide={first}" in cookie and "HttpOnly" in cookie and "Path=/split-guide" in cookie
    for _ in range(25):
        with visitor.open(f"{ab_server.url}/split-guide") as response:
            assert shown(response.read().decode()) == first
            assert response.headers["Set-Cookie"] is None  # nothing new to remember


def test_pages_under_test_are_private_to_the_browser_and_crawlers_get_the_control(ab_server) -> None:
    with opener().open(f"{ab_server.url}/split-guide") as response:
        assert response.headers["Cache-Control"].startswith("private, ")
        assert "Cookie" in response.headers["Vary"]
        html = response.read().decode()
        assert f'<link rel="canonical" href="{ab_server.url}/split-guide">' in html  # every variant names the offer's URL
    for agent in ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "facebookexternalhit/1.1", "Slackbot 1.0"):
        request = urllib.request.Request(f"{ab_server.url}/split-guide", headers={"User-Agent": agent})
        for _ in range(10):
            with urllib.request.urlopen(request) as response:
                assert shown(response.read().decode()) == "a"
                assert response.headers["Set-Cookie"] is None
    services_of(ab_server.app).variant_views.flush()
    assert sum(r["views"] for r in services_of(ab_server.app).store.variant_views()) == 1  # crawlers are not counted
    with opener().open(f"{ab_server.url}/growth-playbook") as response:  # an offer without a test is unchanged
        assert response.headers["Cache-Control"].startswith("public, ") and response.headers["Set-Cookie"] is None


def test_each_variant_is_its_own_cached_page_and_answers_304(content_dir, make_app) -> None:
    write_test_offer(content_dir)
    app = make_app()
    client = app.test_client()
    etags = {}
    for variant in ("a", "b"):
        client.set_cookie(assignment.cookie_name("split-guide"), variant, domain="localhost", path="/split-guide")
        first, again = (client.get("/split-guide", headers={"User-Agent": BROWSER}) for _ in range(2))
        assert first.data == again.data and first.headers["ETag"] == again.headers["ETag"]
        etags[variant] = first.headers["ETag"]
        revisit = client.get("/split-guide", headers={"User-Agent": BROWSER, "If-None-Match": etags[variant]})
        assert revisit.status_code == 304 and revisit.headers["Cache-Control"].startswith("private, ")
    assert etags["a"] != etags["b"]
    services_of(app).variant_views.flush()
    assert {r["variant"]: r["views"] for r in services_of(app).store.variant_views("split-guide")} == {"a": 3, "b": 3}


def form_fields(html: str) -> dict[str, str]:
    """What a browser without JavaScript sends: every named input with its value as served."""
    form = re.search(r'<form class="lead".*?</form>', html, re.S).group(0)
    return {name: value for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form)}


def test_submissions_are_attributed_to_the_variant_shown_even_without_cookies_or_javascript(ab_server, cli_runner, content_dir) -> None:
    shown_to: dict[str, str] = {}
    for index in range(12):
        jar = http.cookiejar.CookieJar()
        visitor = opener(jar)
        with visitor.open(f"{ab_server.url}/split-guide") as response:
            html = response.read().decode()
        variant = shown(html)
        data = {**form_fields(html), "email": f"person{index}@example.com", "first_name": "Ada"}
        assert data["variant"] == variant and data["form_ts"] == ""  # the no-JS form as served
        if index % 2:
            jar.clear()  # a browser that keeps no cookies: the hidden field alone attributes it
        body = urllib.parse.urlencode(data).encode()
        with visitor.open(urllib.request.Request(f"{ab_server.url}/split-guide", data=body)) as response:
            thanks = response.read().decode()
            assert "/split-guide/thanks/" in response.url
        if variant == "b":
            assert "Thanks from variant <strong>b</strong>" in thanks  # the variant's own thank_you
        shown_to[data["email"]] = variant
    app = ab_server.app
    stored = {json.loads(s["data"])["email"]: s["variant"] for s in services_of(app).store.submissions("split-guide")}
    assert stored == shown_to
    services_of(app).variant_views.flush()

    instance = app.config["INSTANCE_DIR"]
    result = cli_runner.invoke(
        cli,
        ["--content", str(content_dir), "--instance", instance, "report", "--json", "--offer", "split-guide"],
    )
    assert result.exit_code == 0, result.output
    (offer,) = json.loads(result.output)["offers"]
    counts = Counter(shown_to.values())
    assert [(v["name"], v["views"], v["submissions"]) for v in offer["variants"]] == [
        ("a", counts["a"], counts["a"]),
        ("b", counts["b"], counts["b"]),
    ]
    assert offer["decision"]["winner"] is None and offer["decision"]["status"] == "waiting"
    assert offer["srm"] is False
    table = cli_runner.invoke(cli, ["--content", str(content_dir), "--instance", instance, "report"])
    assert table.exit_code == 0 and "split-guide (running)" in table.output and "no winner yet" in table.output


def test_a_form_shown_again_keeps_the_variant(ab_server) -> None:
    body = urllib.parse.urlencode({"email": "not an address", "variant": "b"}).encode()
    request = urllib.request.Request(f"{ab_server.url}/split-guide", data=body, headers={"User-Agent": BROWSER})
    with pytest.raises(urllib.error.HTTPError) as failed:
        urllib.request.urlopen(request)
    assert failed.value.code == 422 and shown(failed.value.read().decode()) == "b"


def test_winner_ends_the_test_for_everyone(content_dir, make_app) -> None:
    write_test_offer(content_dir, winner="b")
    app = make_app()
    client = app.test_client()
    for _ in range(10):
        response = client.get("/split-guide", headers={"User-Agent": BROWSER})
        html = response.get_data(as_text=True)
        assert f"<h1>{TITLES['b']}</h1>" in html and 'name="variant"' not in html
        assert response.headers["Cache-Control"].startswith("public, ") and "Set-Cookie" not in response.headers
    report = services_of(app).ab.report()
    (offer,) = report["offers"]
    assert offer["status"] == "ended" and offer["decision"]["winner"] == "b" and offer["decision"]["status"] == "ended"


@pytest.mark.parametrize("variant", ["a", "b"])
def test_variant_pages_keep_the_weight_csp_and_no_js_promises(content_dir, make_app, variant: str) -> None:
    write_test_offer(content_dir)
    client = make_app().test_client()
    client.set_cookie(assignment.cookie_name("split-guide"), variant, domain="localhost", path="/split-guide")
    response = client.get("/split-guide", headers={"User-Agent": BROWSER})
    html = response.data
    assert shown(html.decode()) == variant
    stylesheets = re.findall(rb'<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"', html)
    css = b"".join(client.get(href.decode()).data for href in stylesheets)
    assert len(gzip.compress(html + css, 9)) <= 14 * 1024
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
    for attrs, body in re.findall(rb"<script([^>]*)>(.*?)</script>", html, re.S):
        assert b"src=" in attrs or b'type="application/ld+json"' in attrs
        assert b"src=" not in attrs or body == b""
    assert re.search(rb'<form class="lead" method="post" action="/split-guide"', html)  # works without JavaScript
