"""Plain landing pages answered from WSGI before Flask (web/fastpath.py): the same status,
headers, body and counted view as the Flask view, and everything else left to Flask."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from leadmagnet.web import pages, services_of

ACCEPT = {"Accept-Encoding": "gzip, br"}


def flask_calls(app: Flask) -> list[str]:
    """Record each request Flask itself handles (a before_request hook never runs on the fast path)."""
    seen: list[str] = []

    @app.before_request
    def record() -> None:
        from flask import request

        seen.append(request.path)

    return seen


def without_length(headers) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers if k not in ("Content-Length", "Date")]


def test_a_plain_landing_page_is_answered_before_flask_with_the_views_exact_answer(app: Flask, client) -> None:
    seen = flask_calls(app)
    fast = client.get("/seo-checklist", headers=ACCEPT)
    assert fast.status_code == 200 and seen == []
    assert fast.headers["Content-Length"] == str(len(fast.data))
    with app.test_request_context("/seo-checklist", headers=ACCEPT):
        view = pages.offer("seo-checklist")
    assert fast.data == view.get_data()
    assert without_length(fast.headers) == without_length(view.headers)
    assert fast.headers["Content-Encoding"] == "br" and "Content-Security-Policy" in fast.headers


def test_head_and_if_none_match_answer_as_flask_would(app: Flask, client) -> None:
    page = client.get("/seo-checklist")
    head = client.head("/seo-checklist")
    assert head.status_code == 200 and head.data == b""
    assert head.headers["Content-Length"] == str(len(page.data)) and head.headers["ETag"] == page.headers["ETag"]
    again = client.get("/seo-checklist", headers={"If-None-Match": page.headers["ETag"]})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == page.headers["ETag"]


def test_views_are_counted_once_per_get_and_not_for_head(app: Flask, client, store) -> None:
    client.get("/seo-checklist?utm_source=News")
    client.head("/seo-checklist")
    client.get("/seo-checklist", headers={"If-None-Match": client.get("/seo-checklist").headers["ETag"]})
    assert services_of(app).page_views.flush() == 3
    assert {(r["offer_slug"], r["utm_source"]): r["views"] for r in store.page_views()} == {
        ("seo-checklist", "news"): 1,
        ("seo-checklist", ""): 2,
    }


def test_everything_else_goes_to_flask(app: Flask, client) -> None:
    seen = flask_calls(app)
    assert client.get("/no-such-offer").status_code == 404  # the 404 page is Flask's
    assert client.get("/healthz").status_code in (200, 503)  # a route of the app's own, never a slug
    assert client.post("/seo-checklist", data={}).status_code in (200, 303, 400, 422)
    assert client.get("/seo-checklist/").status_code == 404
    assert seen == ["/no-such-offer", "/healthz", "/seo-checklist", "/seo-checklist/"]


def test_an_ab_test_goes_to_flask_for_its_cookie(make_app, content_dir: Path) -> None:
    (content_dir / "layouts.md").write_text(
        "---\ntitle: Two layouts\ntype: ebook\ndescription: One pitch, two layouts.\nfile: files/growth-playbook.pdf\nlayout: split\n"
        "variants:\n  b:\n    layout: longform\n---\nThe pitch.\n",
        encoding="utf-8",
    )
    app = make_app()
    seen = flask_calls(app)
    response = app.test_client().get("/layouts")
    assert response.status_code == 200 and seen == ["/layouts"]
    assert "ab-layouts=" in response.headers.get("Set-Cookie", "")
    assert response.headers["Cache-Control"].startswith("private")


def test_an_error_on_the_fast_path_is_answered_by_flask(app: Flask, client, monkeypatch) -> None:
    seen = flask_calls(app)
    renderer = services_of(app).renderer

    def broken(*args, **kwargs):
        raise RuntimeError("the page cache broke")

    monkeypatch.setattr(renderer, "offer_page", broken)
    response = client.get("/seo-checklist")
    assert response.status_code == 500 and seen == ["/seo-checklist"]
