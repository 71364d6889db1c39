"""The admin over HTTP: auth on every route, login, sessions, CSRF, rate limit, dashboard, leads, exports."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from leadmagnet.cli import cli
from leadmagnet.export import writer as export
from leadmagnet.web import services_of
from leadmagnet.web.admin import add_admin
from tests.support.content import csrf_token, submit

pytestmark = pytest.mark.both_backends

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def cli_database(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI opens the test's database, on either backend."""
    if "make_app" in request.fixturenames:
        monkeypatch.setenv("LEADMAGNET_DATABASE", request.getfixturevalue("database"))


@pytest.fixture
def admin_app(make_app):
    app = make_app(WTF_CSRF_ENABLED=False, ADMIN_LOGIN_LIMIT="off")
    add_admin(services_of(app).store, "boss@example.com", PASSWORD)
    return app


@pytest.fixture
def store(admin_app):
    return services_of(admin_app).store


@pytest.fixture
def logged_in(admin_app):
    client = admin_app.test_client()
    response = client.post("/admin/login", data={"email": "boss@example.com", "password": PASSWORD})
    assert response.status_code == 303
    return client


def add(store, email, offer="growth-playbook", kind="ebook", fields=None, **kw):
    return store.record_submission(offer_slug=offer, offer_type=kind, email=email, fields=fields or {}, **kw)


def admin_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/admin") and rule.endpoint != "admin.login":
            yield rule


def test_every_admin_route_requires_a_session(admin_app, store) -> None:
    add(store, "someone@example.com")
    client = admin_app.test_client()
    rules = list(admin_rules(admin_app))
    assert {r.endpoint for r in rules} >= {
        "admin.dashboard",
        "admin.leads",
        "admin.contact",
        "admin.contact_json",
        "admin.erase",
        "admin.export_download",
        "admin.logout",
    }
    for rule in rules:
        url = rule.rule
        for arg in rule.arguments:
            url = url.replace(f"<int:{arg}>", "1").replace(f"<{arg}>", "x")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(url, method=method)
            if method == "GET":
                assert response.status_code == 302, url
                assert response.location.startswith("/admin/login"), url
            else:
                assert response.status_code == 401, (method, url)
            assert b"someone@example.com" not in response.data
    assert store.get_contact_by_email("someone@example.com") is not None  # the erase POST did nothing


def test_login_wrong_password_and_unknown_email_look_the_same(admin_app) -> None:
    client = admin_app.test_client()
    wrong = client.post("/admin/login", data={"email": "boss@example.com", "password": "nope"})
    unknown = client.post("/admin/login", data={"email": "who@example.com", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 422
    assert b"do not match an admin user" in wrong.data and b"do not match an admin user" in unknown.data
    assert "session=" not in (wrong.headers.get("Set-Cookie") or "")
    assert client.get("/admin/").status_code == 302


def test_login_sets_a_hardened_cookie_then_logout_ends_the_session(admin_app) -> None:
    client = admin_app.test_client()
    response = client.post("/admin/login?next=/admin/leads", data={"email": "Boss@Example.com", "password": PASSWORD})
    assert response.status_code == 303 and response.location == "/admin/leads"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert client.get("/admin/").status_code == 200
    assert client.post("/admin/logout").status_code == 303
    assert client.get("/admin/").status_code == 302


def test_login_refuses_an_open_redirect(admin_app) -> None:
    response = admin_app.test_client().post(
        "/admin/login?next=https://evil.example/", data={"email": "boss@example.com", "password": PASSWORD}
    )
    assert response.location == "/admin/"


def test_secure_cookie_on_an_https_site(make_app) -> None:
    app = make_app(WTF_CSRF_ENABLED=False, BASE_URL="https://leads.example.com")
    add_admin(services_of(app).store, "boss@example.com", PASSWORD)
    response = app.test_client().post(
        "/admin/login", data={"email": "boss@example.com", "password": PASSWORD}, base_url="https://leads.example.com"
    )
    assert "Secure" in response.headers["Set-Cookie"]


def test_login_is_rate_limited(make_app) -> None:
    app = make_app(WTF_CSRF_ENABLED=False, ADMIN_LOGIN_LIMIT="3/minute")
    add_admin(services_of(app).store, "boss@example.com", PASSWORD)
    client = app.test_client()
    codes = [client.post("/admin/login", data={"email": "boss@example.com", "password": f"guess {i}"}).status_code for i in range(4)]
    assert codes == [422, 422, 422, 429]
    blocked = client.post("/admin/login", data={"email": "boss@example.com", "password": PASSWORD})
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1  # even the right password waits


def test_csrf_rejections(make_app) -> None:
    app = make_app(WTF_CSRF_ENABLED=True, ADMIN_LOGIN_LIMIT="off")
    store = services_of(app).store
    add_admin(store, "boss@example.com", PASSWORD)
    add(store, "victim@example.com")
    client = app.test_client()
    no_token = client.post("/admin/login", data={"email": "boss@example.com", "password": PASSWORD})
    assert no_token.status_code == 400 and b"form expired" in no_token.data
    page = client.get("/admin/login").get_data(as_text=True)
    token = csrf_token(page)
    assert client.post("/admin/login", data={"email": "boss@example.com", "password": PASSWORD, "csrf_token": token}).status_code == 303
    contact_id = store.get_contact_by_email("victim@example.com")["id"]
    assert client.post(f"/admin/contacts/{contact_id}/erase").status_code == 400
    assert client.post(f"/admin/contacts/{contact_id}/erase", data={"csrf_token": "forged"}).status_code == 400
    assert store.get_contact_by_email("victim@example.com") is not None
    assert client.post("/admin/logout").status_code == 400
    page = client.get(f"/admin/contacts/{contact_id}").get_data(as_text=True)
    token = csrf_token(page)
    assert client.post(f"/admin/contacts/{contact_id}/erase", data={"csrf_token": token, "email": "victim@example.com"}).status_code == 303
    assert store.get_contact_by_email("victim@example.com") is None


def test_dashboard_numbers(logged_in, store) -> None:
    store.add_page_views(
        {
            ("growth-playbook", "2026-03-01", ""): 40,
            ("growth-playbook", "2026-03-02", "news"): 10,
            ("q1-product-demo", "2026-03-01", ""): 20,
        }
    )
    for i in range(5):
        sub = add(store, f"e{i}@example.com", meta={"utm_source": "news" if i < 3 else "ads"}, now=f"2026-03-01T1{i}:00:00.000000+00:00")
        store.record_download(sub["submission"]["id"], f"2026-03-01T1{i}:30:00.000000+00:00")
    add(store, "spam@example.com", spam_reason="honeypot", now="2026-03-01T12:00:00.000000+00:00")
    add(store, "w@example.com", offer="q1-product-demo", kind="webinar", now="2026-03-02T09:00:00.000000+00:00")
    add(store, "late@example.com", now="2026-04-01T09:00:00.000000+00:00")
    html = logged_in.get("/admin/?since=2026-03-01&until=2026-03-31").get_data(as_text=True)

    def cell(offer, col):
        row = re.search(rf'<tr data-offer="{offer}">(.*?)</tr>', html, re.S).group(1)
        return re.search(rf'data-col="{col}"[^>]*>([^<]*)<', row).group(1)

    assert cell("growth-playbook", "views") == "50"
    assert cell("growth-playbook", "submissions") == "5"  # spam and April left out
    assert cell("growth-playbook", "conversion") == "10.0%"
    assert cell("growth-playbook", "downloads") == "5"
    assert cell("q1-product-demo", "registrations") == "1"
    assert cell("total", "submissions") == "6"
    assert "news (3), ads (2)" in html
    assert logged_in.get("/admin/?since=yesterday").status_code == 400


def test_leads_search_filters_and_keyset_pages(logged_in, store) -> None:
    for i in range(120):
        add(store, f"lead{i:03d}@example.com", fields={"company": "Acme" if i % 2 else "Globex"}, tags=["ebook"])
    add(
        store,
        "web@example.com",
        offer="q1-product-demo",
        kind="webinar",
        fields={"first_name": "Wanda", "last_name": "Maximoff"},
        tags=["webinar"],
    )
    seen, url = [], "/admin/leads"
    while url:
        html = logged_in.get(url).get_data(as_text=True)
        seen += [int(i) for i in re.findall(r'<tr data-id="(\d+)">', html)]
        match = re.search(r'<a rel="next" href="([^"]+)"', html)
        url = match.group(1).replace("&amp;", "&") if match else None
    assert seen == sorted(range(1, 122), reverse=True)  # every lead once, newest first, over 3 pages
    html = logged_in.get("/admin/leads?q=wanda+max").get_data(as_text=True)
    assert re.findall(r"mailto:|>([\w.]+@example\.com)<", html) == ["web@example.com"]
    html = logged_in.get("/admin/leads?offer=q1-product-demo").get_data(as_text=True)
    assert html.count("<tr data-id=") == 1
    html = logged_in.get("/admin/leads?q=acme&tag=ebook").get_data(as_text=True)
    assert html.count("<tr data-id=") == 50 and "Globex" not in html
    html = logged_in.get("/admin/leads?q=100%25").get_data(as_text=True)  # LIKE wildcards are literal
    assert html.count("<tr data-id=") == 0
    # Query keys that are not filters (here url_for's own arguments) do not break the next link.
    for odd in ("_scheme=javascript", "_anchor=x", "endpoint=admin.logout", "_external=1"):
        response = logged_in.get(f"/admin/leads?q=acme&{odd}")
        assert response.status_code == 200, odd
        nxt = re.search(r'<a rel="next" href="([^"]+)"', response.get_data(as_text=True)).group(1)
        assert nxt.startswith("/admin/leads?") and "q=acme" in nxt and odd.split("=")[0] not in nxt, nxt


def test_contact_page_escapes_what_visitors_typed(logged_in, store) -> None:
    add(
        store,
        "xss@example.com",
        fields={"first_name": "<script>alert(1)</script>", "company": '"><img src=x onerror=alert(1)>'},
        consent_text="I agree <b>",
    )
    cid = store.get_contact_by_email("xss@example.com")["id"]
    for url in (f"/admin/contacts/{cid}", "/admin/leads"):
        html = logged_in.get(url).get_data(as_text=True)
        assert "<script>alert(1)" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert logged_in.get("/admin/contacts/999999").status_code == 404


def test_export_download_with_filters_and_preset(logged_in, store) -> None:
    add(store, "a@example.com", fields={"last_name": "=A"})
    add(store, "b@example.com", offer="q1-product-demo", kind="webinar")
    response = logged_in.get("/admin/export/download?format=salesforce&offer=growth-playbook")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"] and response.headers["Cache-Control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(r["Email"], r["Last Name"]) for r in rows] == [("a@example.com", "'=A")]
    jsonl = logged_in.get("/admin/export/download?format=generic&output=jsonl&kind=submissions").get_data(as_text=True)
    assert len(jsonl.splitlines()) == 2
    bad = logged_in.get("/admin/export/download?format=zoho")
    assert bad.status_code == 400 and b"unknown export format 'zoho'" in bad.data


def test_cli_admin_add_reads_the_password_from_stdin(cli_runner, make_app, instance_dir, content_dir) -> None:
    args = ["--instance", str(instance_dir), "--content", str(content_dir), "admin", "add", "new@example.com"]
    result = cli_runner.invoke(cli, args, input="short\n")
    assert result.exit_code != 0 and "at least 10 characters" in result.output
    result = cli_runner.invoke(cli, args, input="a long enough password\n")
    assert result.exit_code == 0, result.output
    app = make_app(WTF_CSRF_ENABLED=False)
    user = services_of(app).store.get_user(email="new@example.com")
    assert user["password_hash"].startswith("scrypt:") and "a long enough" not in user["password_hash"]
    ok = app.test_client().post("/admin/login", data={"email": "new@example.com", "password": "a long enough password"})
    assert ok.status_code == 303


def test_a_new_password_ends_older_sessions(logged_in, store) -> None:
    assert logged_in.get("/admin/").status_code == 200
    add_admin(store, "boss@example.com", "a brand new password")
    assert logged_in.get("/admin/").status_code == 302


def test_empty_login_says_what_is_missing(admin_app) -> None:
    response = admin_app.test_client().post("/admin/login", data={"email": "", "password": ""})
    assert response.status_code == 422
    assert b"Enter your admin email." in response.data and b"Enter your password." in response.data


def test_dashboard_warns_about_failed_and_waiting_emails(admin_app, logged_in, store) -> None:
    visitor = admin_app.test_client()
    for i in range(3):
        assert visitor.post("/seo-checklist", data={"email": f"r{i}@example.com"}).status_code == 303
    assert 'id="email-health"' not in logged_in.get("/admin/").text  # just queued: nothing to say
    failed, waiting, _fresh = store.outbox()
    now = datetime.now(UTC)
    store.mark_attempt(failed["id"], at=now.isoformat(), ok=False, error="SMTPAuthenticationError: (535, b'bad login')")
    # The sender has not run for an hour: this one has been due all that time.
    an_hour_ago = (now - timedelta(hours=1)).isoformat(timespec="microseconds")
    store.conn.execute("UPDATE outbox SET next_attempt_at = ? WHERE id = ?", (an_hour_ago, waiting["id"]))
    html = logged_in.get("/admin/").text
    assert "1 email could not be delivered</strong>. The newest error: “SMTPAuthenticationError: (535, b&#39;bad login&#39;)”" in html
    assert "1 email has been waiting more than 15 minutes.</strong> Is the sender running?" in html
    # A period before these emails: no failure in it (a waiting email is news whatever the period).
    html = logged_in.get("/admin/?since=2020-01-01&until=2020-01-31").text
    assert "could not be delivered" not in html and "been waiting" in html
    contact = store.get_contact_by_email("r0@example.com")
    page = logged_in.get(f"/admin/contacts/{contact['id']}").text
    assert "failed after 1 attempt; last error: “SMTPAuthenticationError: (535, b&#39;bad login&#39;)”" in page


def test_a_submission_held_as_spam_can_be_made_a_lead_and_gets_its_email(admin_app, logged_in, store) -> None:
    visitor = admin_app.test_client()
    # A person whose password manager filled the hidden trap field: stored as spam, no email.
    held = {"email": "real@example.com", "first_name": "Rita", "last_name": "Real", "job_title": "CMO", "website": "autofill"}
    assert visitor.post("/seo-checklist", data=held).status_code == 303
    (sub,) = store.submissions()
    assert sub["spam"] == 1 and store.outbox() == []
    contact = store.get_contact_by_email("real@example.com")
    assert contact["first_name"] is None  # spam never fills in a contact
    page = logged_in.get(f"/admin/contacts/{contact['id']}").text
    assert f'id="not-spam-{sub["id"]}"' in page
    # An incremental CRM export ran while it was held: it was not in it.
    assert export.export(store, export.ExportRequest(since_last="crm"), io.StringIO()).rows == 0

    response = logged_in.post(f"/admin/submissions/{sub['id']}/not-spam")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/admin/contacts/{contact['id']}?submission={sub['id']}&outcome=released")
    (sub,) = store.submissions()
    assert (sub["spam"], sub["status"], sub["spam_reason"]) == (0, "ok", "honeypot") and sub["released_at"]
    assert [(e["kind"], e["to_addr"], e["status"]) for e in store.outbox()] == [("delivery", "real@example.com", "queued")]
    assert store.get_contact_by_email("real@example.com")["first_name"] == "Rita"
    page = logged_in.get(response.headers["Location"]).text
    assert f"Submission {sub['id']} (The SEO Checklist) is a lead now" in page and f'id="not-spam-{sub["id"]}"' not in page
    assert [e["action"] for e in store.audit_entries() if e["action"] == "not_spam"] == ["not_spam"]
    # The next incremental export brings it, although its id is older than the cursor.
    out = io.StringIO()
    assert export.export(store, export.ExportRequest(since_last="crm"), out).rows == 1 and "real@example.com" in out.getvalue()
    # Twice is once: no second email.
    logged_in.post(f"/admin/submissions/{sub['id']}/not-spam")
    assert len(store.outbox()) == 1


def test_not_spam_sends_only_what_the_form_would_send_now(logged_in, store) -> None:
    def held(email, offer="seo-checklist", **kw):
        return add(store, email, offer=offer, spam_reason="too fast: 0.4 s", **kw)["submission"]["id"]

    def release(sid):
        response = logged_in.post(f"/admin/submissions/{sid}/not-spam")
        return response.headers["Location"].rsplit("outcome=", 1)[-1], logged_in.get(response.headers["Location"]).text

    # An offer that is gone or not published takes no sign-ups: nothing to send, it stays spam.
    gone = held("a@example.com", offer="retired-guide")
    assert release(gone)[0] == "unpublished"
    assert "retired-guide is not published, so it takes no sign-ups" in release(gone)[1]
    assert store.get_submission(gone)["spam"] == 1 and store.outbox() == []
    # A copy of a lead sent at about the same time (the form would have said "duplicate").
    store.record_submission(offer_slug="seo-checklist", offer_type="ebook", email="b@example.com", fields={})
    twin = held("b@example.com")
    outcome, page = release(twin)
    assert outcome == f"duplicate&of={twin - 1}"
    assert f"Submission {twin} is a copy of submission {twin - 1}" in page and store.get_submission(twin)["spam"] == 1
    # Unsubscribed after sending it: it stays as it is (a lead owed nothing would hold a seat).
    late = held("c@example.com")
    store.unsubscribe(store.get_contact_by_email("c@example.com")["id"], "2999-01-01T00:00:00.000000+00:00")
    outcome, page = release(late)
    assert outcome == "unsubscribed" and "They unsubscribed after sending submission" in page
    assert store.get_submission(late)["spam"] == 1 and store.outbox() == []


def test_releasing_spam_keeps_the_details_a_later_submission_gave(store) -> None:
    store.record_submission(
        offer_slug="seo-checklist",
        offer_type="ebook",
        email="a@example.com",
        fields={"company": "Old", "size": "6+", "q": "Why?"},
        spam_reason="honeypot",
    )
    store.record_submission(
        offer_slug="growth-playbook", offer_type="ebook", email="a@example.com", fields={"company": "New", "first_name": "Al", "q": ""}
    )
    held = next(s["id"] for s in store.submissions() if s["spam"])
    assert store.release_spam(held, "ok")["result"] == "released"
    contact = store.get_contact_by_email("a@example.com")
    assert (contact["company"], contact["first_name"]) == ("New", "Al")
    assert json.loads(contact["custom"]) == {"size": "6+", "q": "Why?"}  # blanks are filled in, not kept
    assert store.release_spam(held, "ok") is None  # not spam any more


def test_the_audit_log_shows_who_did_what_newest_first_without_personal_data(admin_app, logged_in, store) -> None:
    keep = add(store, "keep@example.com")["contact_id"]
    gone = add(store, "gone@example.com")["contact_id"]
    assert logged_in.get(f"/admin/contacts/{keep}.json").status_code == 200
    assert logged_in.post(f"/admin/contacts/{gone}/erase", data={"email": "gone@example.com"}).status_code == 303
    html = logged_in.get("/admin/audit").text
    rows = re.findall(r'<tr data-id="\d+"><td>[^<]+</td><td>([^<]+)</td><td>([^<]+)</td>', html)
    assert rows[:3] == [
        ("boss@example.com", "Erased a contact"),
        ("boss@example.com", "Downloaded a contact&#39;s data"),
        ("boss@example.com", "Logged in"),
    ]
    assert f'href="/admin/contacts/{keep}"' in html  # a contact still there is one click away
    assert "submissions 1" in html and "gone@example.com" not in html and "keep@example.com" not in html
    assert 'href="/admin/audit"' in html  # in the admin's navigation
    # 50 a page, older ones behind a link
    for n in range(60):
        store.audit("cli", "admin_user_set", {"user_id": n})
    first = logged_in.get("/admin/audit").text
    assert first.count("<tr data-id=") == 50
    older = re.search(r'<a rel="next" href="([^"]+)"', first).group(1)
    assert logged_in.get(older).text.count("<tr data-id=") == 14  # 10 more, the three above, the admin user set up


# -- the admin, readable (issue 15) ------------------------------------------------------------

OUTBOUND = """---
title: The Outbound Guide
type: ebook
description: A test ebook with two custom questions.
file: files/outbound.pdf
fields:
  - first_name
  - name: uses_sequencer
    label: Do you use a sales sequencer?
    type: checkbox
  - name: team_size
    label: Team size
    type: select
    choices:
      - "2-5": 2 to 5 people
      - "6+": 6 or more
---
The pitch.
"""


@pytest.fixture
def outbound(content_dir) -> str:
    """An ebook offer with a checkbox and a select question (the app reloads content on every request)."""
    (content_dir / "files").mkdir(exist_ok=True)
    (content_dir / "files" / "outbound.pdf").write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 8)
    (content_dir / "outbound-guide.md").write_text(OUTBOUND, encoding="utf-8")
    return "outbound-guide"


def rows_by_email(html: str) -> dict[str, str]:
    """The leads table's rows by the email they show."""
    rows = re.findall(r'<tr data-id="\d+">(.*?)</tr>', html, re.S)
    return {re.search(r">([\w.]+@example\.com)<", row).group(1): row for row in rows}


def col(row: str, name: str) -> str:
    return re.search(rf'data-col="{name}"[^>]*>(.*?)</td>', row, re.S).group(1).strip()


def test_times_offers_and_answers_read_as_a_person_reads_them(make_app, outbound) -> None:
    app = make_app(WTF_CSRF_ENABLED=False, ADMIN_LOGIN_LIMIT="off", ADMIN_TIMEZONE="Europe/Paris")
    store = services_of(app).store
    add_admin(store, "boss@example.com", PASSWORD)
    client = app.test_client()
    assert client.post("/admin/login", data={"email": "boss@example.com", "password": PASSWORD}).status_code == 303
    answers = {"first_name": "Ann", "uses_sequencer": True, "team_size": "2-5"}
    cid = add(store, "ann@example.com", offer=outbound, fields=answers, now="2026-12-03T10:32:05.123456+00:00")["contact_id"]
    for url in ("/admin/leads", f"/admin/contacts/{cid}"):
        html = client.get(url).text
        assert "3 Dec 2026, 11:32" in html, url  # 10:32 UTC is 11:32 in Paris in December
        assert "Europe/Paris" in html, url  # the zone is named where times are shown
        assert "2026-12-03T" not in html and ".123456" not in html, url
        assert "The Outbound Guide" in html, url
        assert "Do you use a sales sequencer? Yes" in html and "Team size: 2 to 5 people" in html, url
        assert "uses_sequencer" not in html and "True" not in html and "2-5<" not in html, url
    for url in ("/admin/audit", "/admin/"):
        html = client.get(url).text
        assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:", html), url
    assert "The Outbound Guide" in client.get("/admin/").text
    assert '<option value="outbound-guide">The Outbound Guide</option>' in client.get("/admin/leads").text
    # The From / To days are days in that zone too: 23:30 UTC on the 2nd is 00:30 on the 3rd in Paris.
    add(store, "night@example.com", offer=outbound, now="2026-12-02T23:30:00.000000+00:00")
    assert set(rows_by_email(client.get("/admin/leads?since=2026-12-03&until=2026-12-03").text)) == {"ann@example.com", "night@example.com"}
    assert set(rows_by_email(client.get("/admin/leads?until=2026-12-02").text)) == set()


def test_an_unknown_admin_timezone_is_refused_at_start(make_app) -> None:
    with pytest.raises(ValueError, match=r"LEADMAGNET_ADMIN_TIMEZONE: 'Europe/Pari' is not a time zone.*Europe/Paris"):
        make_app(ADMIN_TIMEZONE="Europe/Pari")


def test_the_leads_list_shows_each_lead_status_and_the_custom_answers(logged_in, store, outbound) -> None:
    add(store, "lead@example.com", offer=outbound, fields={"uses_sequencer": False, "team_size": "6+"})
    add(store, "wait@example.com", offer="q1-product-demo", kind="webinar", status="waitlisted")
    add(store, "pending@example.com", status="pending")
    add(store, "bot@example.com", spam_reason="honeypot")
    add(store, "gone@example.com")
    store.unsubscribe(store.get_contact_by_email("gone@example.com")["id"], store.now())
    html = logged_in.get("/admin/leads").text
    assert '<th scope="col">Status</th>' in html and '<th scope="col">Answers</th>' in html
    rows = rows_by_email(html)
    assert {email: col(row, "status") for email, row in rows.items()} == {
        "lead@example.com": "lead",
        "wait@example.com": "waitlisted",
        "pending@example.com": "pending opt-in",
        "gone@example.com": "unsubscribed",
    }
    assert col(rows["lead@example.com"], "answers") == "Do you use a sales sequencer? No; Team size: 6 or more"
    rows = rows_by_email(logged_in.get("/admin/leads?include_spam=1").text)
    assert col(rows["bot@example.com"], "status") == "spam"
    pending = store.get_contact_by_email("pending@example.com")["id"]
    assert "<td>pending opt-in</td>" in logged_in.get(f"/admin/contacts/{pending}").text  # the contact page words it alike


def test_the_dashboard_shows_the_spam_count_with_a_link_to_review_it(logged_in, store) -> None:
    add(store, "a@example.com")
    add(store, "bot1@example.com", spam_reason="honeypot")
    add(store, "bot2@example.com", spam_reason="too fast: 0.4 s")
    html = logged_in.get("/admin/").text
    row = re.search(r'<tr data-offer="growth-playbook">(.*?)</tr>', html, re.S).group(1)
    link, count = re.search(r'data-col="spam"><a href="([^"]+)">(\d+)</a>', row).groups()
    assert count == "2"
    total = re.search(r'<tr data-offer="total">(.*?)</tr>', html, re.S).group(1)
    assert re.search(r'data-col="spam"><a href="/admin/leads\?include_spam=1">2</a>', total)
    rows = rows_by_email(logged_in.get(link.replace("&amp;", "&")).text)
    assert {email: col(row, "status") for email, row in rows.items()} == {
        "a@example.com": "lead",
        "bot1@example.com": "spam",
        "bot2@example.com": "spam",
    }


def test_registrations_leave_out_the_waitlist_and_downloads_count_people(admin_app, logged_in, store, outbound) -> None:
    add(store, "seated@example.com", offer="q1-product-demo", kind="webinar")
    add(store, "waiting@example.com", offer="q1-product-demo", kind="webinar", status="waitlisted")
    add(store, "unconfirmed@example.com", offer="q1-product-demo", kind="webinar", status="pending")
    for who in ("ann@example.com", "bob@example.com"):
        visitor = admin_app.test_client()
        response = submit(visitor, outbound, who, first_name="Ann")
        assert response.status_code == 303
        [url] = re.findall(r'href="([^"]*/download/[^"]+)"', visitor.get(response.headers["Location"]).text)
        path = urlsplit(url).path
        assert visitor.get(path).status_code == 200
        if who == "ann@example.com":  # a mail scanner first, then Ann, whose browser resumes from the start
            assert visitor.get(path).status_code == 200
            assert visitor.get(path, headers={"Range": "bytes=0-99"}).status_code == 206
    html = logged_in.get("/admin/").text

    def cell(offer, name):
        return col(re.search(rf'<tr data-offer="{offer}">(.*?)</tr>', html, re.S).group(1), name)

    assert cell(outbound, "downloads") == "2"  # two people
    assert cell("q1-product-demo", "registrations") == "1"  # neither the waitlist nor an unconfirmed one
    assert cell("q1-product-demo", "waitlisted") == "1"


def test_erase_asks_for_the_address_before_it_deletes(logged_in, store) -> None:
    cid = add(store, "erase.me@example.com")["contact_id"]
    page = logged_in.get(f"/admin/contacts/{cid}").text
    assert f'action="/admin/contacts/{cid}/erase"' not in page  # no one-click erase button
    assert f'href="/admin/contacts/{cid}/erase"' in page
    # One click, or the wrong address, erases nothing.
    for data in ({}, {"email": "someone.else@example.com"}):
        response = logged_in.post(f"/admin/contacts/{cid}/erase", data=data)
        assert response.status_code == 422 and "Type erase.me@example.com" in response.text, data
    assert store.get_contact_by_email("erase.me@example.com") is not None
    assert "erase_contact" not in [e["action"] for e in store.audit_entries()]
    confirm = logged_in.get(f"/admin/contacts/{cid}/erase")
    assert confirm.status_code == 200 and 'name="email"' in confirm.text and "cannot be undone" in confirm.text
    done = logged_in.post(f"/admin/contacts/{cid}/erase", data={"email": " Erase.Me@example.com "})
    assert done.status_code == 303 and done.location.endswith("/admin/leads?erased=1")
    assert store.get_contact_by_email("erase.me@example.com") is None
    assert store.audit_entries()[0]["action"] == "erase_contact"
    assert logged_in.get(f"/admin/contacts/{cid}/erase").status_code == 404


def test_registrations_count_people_not_repeated_registrations(store) -> None:
    for email in ("a@example.com", "a@example.com", "a@example.com", "b@example.com"):
        add(store, email, offer="demo", kind="webinar")  # no duplicate window in the store itself
    [demo] = [o for o in store.dashboard()["offers"] if o["offer"] == "demo"]
    assert demo["submissions"] == 4 and demo["registrations"] == 2 == store.seats_taken("demo")


def test_a_date_filter_beyond_what_a_time_holds_is_a_clear_400(make_app) -> None:
    app = make_app(WTF_CSRF_ENABLED=False, ADMIN_LOGIN_LIMIT="off", ADMIN_TIMEZONE="Europe/Paris")
    add_admin(services_of(app).store, "boss@example.com", PASSWORD)
    client = app.test_client()
    assert client.post("/admin/login", data={"email": "boss@example.com", "password": PASSWORD}).status_code == 303
    for query in ("since=0001-01-01", "until=9999-12-31"):
        for page in ("/admin/", "/admin/leads", "/admin/export/download"):
            response = client.get(f"{page}?{query}")
            assert response.status_code == 400 and "YYYY-MM-DD" in response.text, (page, query)


def test_a_download_that_fails_half_way_is_a_failed_transfer_not_a_short_file(tmp_path, content_dir) -> None:
    """Bad data met once the first lines are sent (a value another program wrote in another
    encoding): the 200 and its headers are out, so gunicorn closes the connection without the
    chunked body's last chunk. A browser or curl reports that download as failed; none is
    handed a short file that looks complete. The reason is in the server's log."""
    import http.client

    from leadmagnet.store import Store
    from tests.support.servers import gunicorn

    instance = tmp_path / "instance"
    store = Store(instance / "leadmagnet.db")
    try:
        store.migrate()
        add_admin(store, "boss@example.com", PASSWORD)
        for i in range(3):
            add(store, f"p{i}@example.com", fields={"first_name": "Ann"})
        with store.transaction():  # the sqlite3 shell of someone whose terminal speaks Latin-1
            store.conn.execute("UPDATE contacts SET first_name = CAST(? AS TEXT) WHERE email = 'p1@example.com'", (b"S\xf8ren",))
    finally:
        store.close()
    env = {"LEADMAGNET_CONTENT_DIR": str(content_dir), "LEADMAGNET_INSTANCE_DIR": str(instance), "LEADMAGNET_ADMIN_LOGIN_LIMIT": "off"}
    log = tmp_path / "gunicorn.log"
    with gunicorn(env, log=log) as server:

        def request(method: str, path: str, body: str | None = None, cookie: str = "") -> http.client.HTTPResponse:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            headers = {"Cookie": cookie} if cookie else {}
            if body is not None:
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            conn.request(method, path, body=body, headers=headers)
            return conn.getresponse()

        form = request("GET", "/admin/login")
        cookie = form.getheader("Set-Cookie", "").split(";")[0]
        token = csrf_token(form.read().decode())
        login = request(
            "POST", "/admin/login", f"csrf_token={token}&email=boss%40example.com&password={PASSWORD.replace(' ', '+')}", cookie
        )
        assert login.status == 303
        cookie = login.getheader("Set-Cookie", "").split(";")[0]

        download = request("GET", "/admin/export/download?format=generic", cookie=cookie)
        assert download.status == 200 and download.getheader("Transfer-Encoding") == "chunked"
        with pytest.raises(http.client.IncompleteRead) as cut:
            download.read()
        assert cut.value.partial.startswith(b"email,")  # the header line went out; the file never ended

        # The same download once the value is mended ends properly: the test tells the two apart.
        store = Store(instance / "leadmagnet.db")
        try:
            with store.transaction():
                store.conn.execute("UPDATE contacts SET first_name = 'Soren' WHERE email = 'p1@example.com'")
        finally:
            store.close()
        whole = request("GET", "/admin/export/download?format=generic", cookie=cookie).read().decode()
        assert whole.count("\r\n") == 4 and "p1@example.com" in whole and "Soren" in whole
    assert "not UTF-8 text, in the row that starts 'p1@example.com'" in log.read_text()


def test_an_admin_page_meeting_a_stored_value_that_is_not_text_says_which_and_what_to_do(logged_in, store, backend) -> None:
    """Another program stored a name in Latin-1 (an SQLite file only: PostgreSQL refuses it). The
    page that reads it cannot show it; it says which column and value, and how to correct it."""
    if backend == "postgresql":
        pytest.skip("PostgreSQL refuses text that is not UTF-8: only an SQLite file can hold it")
    add(store, "p1@example.com", fields={"first_name": "Ann"})
    with store.transaction():  # the sqlite3 shell of someone whose terminal speaks Latin-1
        store.conn.execute("UPDATE contacts SET first_name = CAST(? AS TEXT) WHERE email = 'p1@example.com'", (b"S\xf8ren",))
    page = logged_in.get("/admin/leads")
    assert page.status_code == 500
    html = page.get_data(as_text=True)
    assert "A stored value is not text" in html
    assert re.search(r"not UTF-8 text, in column (&#39;|')first_name(&#39;|') with text (&#39;|')S\ufffdren", html)
    assert "sqlite3 shell" in html
    assert logged_in.get("/admin/").status_code == 200  # the pages that do not read it still work


def test_the_not_text_message_is_for_signed_in_admins_only(admin_app, store, backend) -> None:
    """The message shows the stored value: the login page (in the admin's blueprint, no session
    needed) keeps the general page, even when the value it met is the admin's password hash."""
    if backend == "postgresql":
        pytest.skip("PostgreSQL refuses text that is not UTF-8: only an SQLite file can hold it")
    with store.transaction():
        store.conn.execute("UPDATE users SET password_hash = CAST(x'F8' AS TEXT) || password_hash WHERE email = 'boss@example.com'")
    page = admin_app.test_client().post("/admin/login", data={"email": "boss@example.com", "password": "not the password"})
    assert page.status_code == 500
    html = page.get_data(as_text=True)
    assert "Something went wrong" in html
    assert "password_hash" not in html and "scrypt" not in html and "not UTF-8" not in html
