"""POST /<slug> and the thank-you page, through HTTP: validation, storage, duplicates, attribution,
spam, rate limits, hostile bodies, and a database that cannot be written."""

from __future__ import annotations

import json
import logging
import re

import pytest

from leadmagnet.foundation import tokens
from leadmagnet.web import services_of
from tests.support.cases import build_content

pytestmark = pytest.mark.both_backends

VALID = {
    "growth-playbook": {"email": "ada@example.com", "first_name": "Ada", "company": "Analytical", "team_size": "2-5", "consent": "y"},
    "seo-checklist": {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace", "job_title": "CMO", "country": "UK"},
    "q1-product-demo": {
        "email": "ada@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "company": "Analytical",
        "phone": "+44 20 7946 0000",
        "question": "Can I export to HubSpot?",
        "consent": "y",
    },
}


def submissions(store, include_spam: bool = True) -> list[dict]:
    return [r for r in store.submissions() if include_spam or not r["spam"]]


@pytest.mark.parametrize("slug", sorted(VALID))
def test_valid_submission_is_stored_then_redirected_to_its_thank_you_page(client, store, slug: str) -> None:
    response = client.post(f"/{slug}", data=VALID[slug])
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith(f"/{slug}/thanks/")
    # Built complete by the view (web.headers.Finished): the security headers once each, no body.
    assert [name for name, _ in response.headers].count("Content-Security-Policy") == 1
    assert response.headers["X-Frame-Options"] == "DENY" and response.data == b""
    [row] = submissions(store)
    assert row["offer_slug"] == slug and row["spam"] == 0
    data = json.loads(row["data"])
    assert data["email"] == "ada@example.com"
    assert data["first_name"] == "Ada"
    assert "consent" not in data
    thanks = client.get(location)
    assert thanks.status_code == 200
    assert thanks.headers["Cache-Control"] == "no-store"
    assert "ada@example.com" in thanks.text
    assert store.get_contact_by_email("ada@example.com")["first_name"] == "Ada"


def test_thank_you_page_renders_the_offers_thank_you_markdown(client) -> None:
    response = client.post("/growth-playbook", data=VALID["growth-playbook"])
    page = client.get(response.headers["Location"]).text
    assert "<strong>Thanks!</strong> Your copy of <em>The Growth Playbook</em>" in page
    assert '<meta name="robots" content="noindex">' in page


def test_consent_text_tags_and_stage_are_kept_with_the_submission(client, store) -> None:
    client.post("/growth-playbook", data=VALID["growth-playbook"])
    [row] = submissions(store)
    assert row["consent_text"].startswith("I agree to receive the playbook")
    assert row["consent_at"] == row["created_at"]
    assert json.loads(row["tags"]) == ["growth", "b2b"]
    assert row["stage"] == "tofu"
    assert json.loads(store.get_contact(row["contact_id"])["custom"]) == {"team_size": "2-5"}


def test_email_is_normalised_so_one_person_is_one_contact(client, store, make_app) -> None:
    client.post("/seo-checklist", data={"email": "  Ada@EXAMPLE.com "})
    client.post("/growth-playbook", data={**VALID["growth-playbook"], "email": "ada@example.COM"})
    assert [c["email"] for c in store.contacts()] == ["ada@example.com"]
    assert len(submissions(store)) == 2


def test_invalid_submission_rerenders_the_page_with_values_messages_and_summary(client, store) -> None:
    response = client.post("/growth-playbook", data={"email": "not-an-email", "first_name": "Ada", "team_size": "9"})
    assert response.status_code == 422
    assert response.headers["Cache-Control"] == "no-store"
    html = response.text
    assert submissions(store) == []
    # the summary first, focusable, listing one link per problem
    assert re.search(r'<div class="summary" id="error-summary" role="alert" tabindex="-1"', html)
    assert "Please fix 3 problems" in html
    assert '<a href="#f-email">' in html and '<a href="#f-team_size">' in html and '<a href="#f-consent">' in html
    # a message per field, tied to its input
    assert 'id="f-email-error">An email address must have an @-sign.' in html
    assert "Choose one of the options for “Size of your marketing team”." in html
    assert 'id="f-consent-error">Tick this box to continue.' in html
    assert re.search(r'id="f-email"[^>]*aria-invalid="true" aria-describedby="f-email-error"', html)
    # what the visitor typed is kept, fields without errors are not marked invalid
    assert 'value="not-an-email"' in html and 'value="Ada"' in html
    assert not re.search(r'id="f-first_name"[^>]*aria-invalid', html)
    assert "<title>Error: The Growth Playbook" in html


def test_every_required_field_says_what_to_fill_in(client) -> None:
    html = client.post("/growth-playbook", data={"first_name": ""}).text
    assert "Enter your work email." in html
    assert "Choose an option for “Size of your marketing team”." in html
    assert "Tick this box to continue." in html


def test_too_long_values_are_refused_with_the_limit(client, store) -> None:
    response = client.post("/growth-playbook", data={**VALID["growth-playbook"], "first_name": "A" * 101})
    assert response.status_code == 422
    assert "“First name” is 101 characters long; shorten it to 100 characters or fewer." in response.text
    assert submissions(store) == []


def test_what_a_visitor_typed_is_escaped_on_the_error_and_thank_you_pages(client) -> None:
    evil = '"><script>alert(1)</script>'
    page = client.post("/growth-playbook", data={"email": "x", "first_name": evil}).text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    ok = client.post("/seo-checklist", data={"email": "evil@example.com", "first_name": evil})
    thanks = client.get(ok.headers["Location"]).text
    assert "<script>alert" not in thanks


def test_unknown_fields_are_ignored_and_text_is_cleaned(client, store) -> None:
    client.post(
        "/seo-checklist",
        data={"email": "ada@example.com", "first_name": "Ame\u0301lie\x00\u202e", "last_name": "  de   la\tCruz ", "is_admin": "1"},
    )
    data = json.loads(submissions(store)[0]["data"])
    assert "is_admin" not in data
    assert data["first_name"] == "Amélie"  # NFC: one code point, controls and bidi overrides gone
    assert data["last_name"] == "de la Cruz"


def test_same_email_and_offer_within_the_window_makes_no_duplicate(client, store) -> None:
    first = client.post("/growth-playbook", data=VALID["growth-playbook"])
    second = client.post("/growth-playbook", data={**VALID["growth-playbook"], "email": "ADA@example.com"})
    assert second.status_code == 303
    assert second.headers["Location"] == first.headers["Location"]
    assert len(submissions(store)) == 1
    # another offer is another submission
    client.post("/seo-checklist", data=VALID["seo-checklist"])
    assert len(submissions(store)) == 2


def test_duplicate_window_zero_keeps_every_submission(make_app) -> None:
    app = make_app(DUPLICATE_WINDOW=0)
    client = app.test_client()
    a = client.post("/seo-checklist", data=VALID["seo-checklist"])
    b = client.post("/seo-checklist", data=VALID["seo-checklist"])
    assert a.headers["Location"] != b.headers["Location"]
    assert services_of(app).store.count_submissions("seo-checklist") == 2


def test_a_malformed_referer_header_costs_the_attribution_not_the_lead(client, store) -> None:
    response = client.post("/seo-checklist", data=VALID["seo-checklist"], headers={"Referer": "http://[oops/seo-checklist?utm_source=x"})
    assert response.status_code == 303
    [row] = submissions(store)
    assert row["utm_source"] in ("", None)


def test_utm_values_and_referrer_from_the_hidden_fields_are_stored(client, store) -> None:
    client.post(
        "/seo-checklist",
        data={
            **VALID["seo-checklist"],
            "utm_source": "newsletter",
            "utm_medium": "email",
            "utm_campaign": "spring",
            "utm_term": "seo",
            "utm_content": "button",
            "referrer": "https://news.example.org/issue-4",
        },
        headers={"User-Agent": "Mozilla/5.0 (test)"},
    )
    [row] = submissions(store)
    assert (row["utm_source"], row["utm_medium"], row["utm_campaign"], row["utm_term"], row["utm_content"]) == (
        "newsletter",
        "email",
        "spring",
        "seo",
        "button",
    )
    assert row["referrer"] == "https://news.example.org/issue-4"
    assert row["user_agent"] == "Mozilla/5.0 (test)"


def test_the_external_referrer_survives_a_form_shown_again(client, store) -> None:
    """After a 422 the browser's own referrer is the landing page: the first load's one is kept."""
    news = "https://news.example.org/issue-4"
    shown = client.post(
        "/seo-checklist", data={**VALID["seo-checklist"], "email": "not-an-address", "referrer": news, "form_ts": "1700000000000-1"}
    )
    assert shown.status_code == 422
    html = shown.get_data(as_text=True)
    # The form says it was shown again, so the page's script does not put document.referrer
    # (this very page) into the empty or kept field; the first load's referrer is carried.
    form = re.search(r'<form class="lead"[^>]*>', html)
    assert form and "data-again" in form.group(0)
    assert f'name="referrer" value="{news}"' in html
    assert "data-again" not in client.get("/seo-checklist").get_data(as_text=True)  # the public page: unchanged
    hidden = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">', html))
    assert client.post("/seo-checklist", data={**VALID["seo-checklist"], **hidden}).status_code == 303
    [row] = submissions(store)
    assert row["referrer"] == news


@pytest.mark.parametrize(
    "own",
    [
        "http://localhost/seo-checklist?utm_source=x",  # the server's own address
        "http://127.0.0.1:5000/seo-checklist",  # BASE_URL's
        "http://127.0.0.1:5000/seo-checklist.html",  # the static export's page posting here
    ],
)
def test_the_landing_page_itself_is_never_stored_as_the_referrer(client, store, own: str) -> None:
    """A visitor who came straight to the page, got a 422 and sent again (an older script filled in
    document.referrer, now the page itself): no referrer, not the landing page."""
    assert client.post("/seo-checklist", data={**VALID["seo-checklist"], "referrer": own}).status_code == 303
    client.post("/growth-playbook", data={**VALID["growth-playbook"], "referrer": "http://localhost/seo-checklist"})
    rows = {row["offer_slug"]: row["referrer"] for row in submissions(store)}
    assert rows["seo-checklist"] in ("", None)
    assert rows["growth-playbook"] == "http://localhost/seo-checklist"  # another page of the site is a referrer


def test_without_javascript_utm_values_come_from_the_landing_url(client, store) -> None:
    client.post(
        "/seo-checklist",
        data=VALID["seo-checklist"],
        headers={"Referer": "http://localhost/seo-checklist?utm_source=linkedin&utm_campaign=q1"},
    )
    [row] = submissions(store)
    assert (row["utm_source"], row["utm_campaign"], row["utm_medium"]) == ("linkedin", "q1", None)


def test_without_javascript_a_corrected_form_keeps_the_campaign_of_the_landing_url(client, store) -> None:
    """The form shown again (422) carries the UTM values read from the Referer in its hidden fields:
    the corrected post comes from that page, whose address has no campaign in it."""
    landing = {"Referer": "http://localhost/seo-checklist?utm_source=newsletter&utm_campaign=dec"}
    shown = client.post("/seo-checklist", data={**VALID["seo-checklist"], "email": "ada@example"}, headers=landing)
    assert shown.status_code == 422
    html = shown.get_data(as_text=True)
    hidden = dict(re.findall(r'<input type="hidden" name="(utm_\w+)" value="([^"]*)"', html))
    assert hidden["utm_source"] == "newsletter" and hidden["utm_campaign"] == "dec", hidden
    response = client.post(
        "/seo-checklist", data={**VALID["seo-checklist"], **hidden}, headers={"Referer": "http://localhost/seo-checklist"}
    )
    assert response.status_code == 303
    [row] = submissions(store)
    assert (row["utm_source"], row["utm_campaign"]) == ("newsletter", "dec")


def test_a_foreign_referer_does_not_set_utm_values(client, store) -> None:
    client.post("/seo-checklist", data=VALID["seo-checklist"], headers={"Referer": "https://evil.example/x?utm_source=fake"})
    assert submissions(store)[0]["utm_source"] is None


def test_honeypot_gets_the_normal_thank_you_but_is_stored_as_spam(client, store) -> None:
    client.post("/seo-checklist", data=VALID["seo-checklist"])
    response = client.post("/growth-playbook", data={**VALID["growth-playbook"], "first_name": "Bot", "website": "http://spam.example"})
    assert response.status_code == 303
    assert client.get(response.headers["Location"]).status_code == 200
    spam_row = submissions(store)[-1]
    assert spam_row["spam"] == 1 and spam_row["spam_reason"] == "honeypot" and spam_row["status"] == "spam"
    assert store.count_submissions() == 1  # not a lead
    assert store.get_contact_by_email("ada@example.com")["first_name"] == "Ada"  # a bot does not rename a contact


def test_a_form_filled_too_fast_is_spam_and_a_slow_one_is_a_lead(client, store) -> None:
    client.post("/seo-checklist", data={**VALID["seo-checklist"], "form_ts": "1700000000000-1700000000400"})
    client.post("/growth-playbook", data={**VALID["growth-playbook"], "form_ts": "1700000000000-1700000009000"})
    fast, slow = submissions(store)
    assert fast["spam"] == 1 and fast["spam_reason"] == "too fast: 0.4 s"
    assert slow["spam"] == 0


def test_a_form_sent_without_javascript_is_a_lead(client, store) -> None:
    client.post("/seo-checklist", data=VALID["seo-checklist"])  # no form_ts at all
    assert submissions(store)[0]["spam"] == 0


def test_rate_limit_answers_429_with_retry_after_per_address_and_offer(make_app) -> None:
    app = make_app(RATE_LIMIT="3/minute")
    client = app.test_client()
    codes = [client.post("/seo-checklist", data={"email": f"p{i}@example.com"}).status_code for i in range(4)]
    assert codes == [303, 303, 303, 429]
    limited = client.post("/seo-checklist", data={"email": "late@example.com", "utm_source": "news", "website": "bot"})
    assert limited.status_code == 429
    wait = int(limited.headers["Retry-After"])
    assert 1 <= wait <= 60
    # The form again, with what was typed, and one message saying what to do (colleagues behind
    # one office address share the limit: they must not lose what they typed).
    assert f"Too many sign-ups from your network just now. Nothing was saved yet: please wait {wait} seconds" in limited.text
    assert 'value="late@example.com"' in limited.text and 'name="utm_source" value="news"' in limited.text
    assert 'name="website" tabindex="-1" autocomplete="off" value=""' in limited.text  # the honeypot stays empty
    assert limited.headers["Cache-Control"] == "no-store"
    assert services_of(app).store.get_contact_by_email("late@example.com") is None
    # another offer, or another address, has its own budget
    assert client.post("/growth-playbook", data=VALID["growth-playbook"]).status_code == 303
    other = client.post("/seo-checklist", data={"email": "x@example.com"}, environ_base={"REMOTE_ADDR": "192.0.2.9"})
    assert other.status_code == 303


def test_rate_limit_off_never_limits(make_app) -> None:
    client = make_app(RATE_LIMIT="off").test_client()
    assert {client.post("/seo-checklist", data={"email": f"p{i}@example.com"}).status_code for i in range(15)} == {303}


def test_x_forwarded_for_counts_only_behind_trusted_proxies(make_app) -> None:
    direct = make_app(RATE_LIMIT="1/minute").test_client()
    spoof = [
        direct.post("/seo-checklist", data={"email": f"p{i}@example.com"}, headers={"X-Forwarded-For": f"198.51.100.{i}"}) for i in range(2)
    ]
    assert [r.status_code for r in spoof] == [303, 429]  # a forged header does not dodge the limit


def test_x_forwarded_for_is_the_visitor_behind_one_trusted_proxy(make_app) -> None:
    app = make_app(RATE_LIMIT="1/minute", TRUSTED_PROXIES=1)
    client = app.test_client()
    codes = [
        client.post("/seo-checklist", data={"email": f"p{i}@example.com"}, headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code
        for i in range(2)
    ]
    assert codes == [303, 303]
    rows = services_of(app).store.submissions()
    assert [r["ip_marker"] for r in rows] == ["198.51.100.0/24", "198.51.100.0/24"]


@pytest.mark.parametrize(
    ("mode", "addr", "expected"),
    [
        ("truncate", "203.0.113.77", "203.0.113.0/24"),
        ("truncate", "2001:db8:abcd:12:1::7", "2001:db8:abcd::/48"),
        ("none", "203.0.113.77", None),
    ],
)
def test_ip_marker_keeps_only_what_the_setting_says(make_app, mode: str, addr: str, expected: str | None) -> None:
    app = make_app(IP_MARKER=mode)
    app.test_client().post("/seo-checklist", data=VALID["seo-checklist"], environ_base={"REMOTE_ADDR": addr})
    [row] = services_of(app).store.submissions()
    assert row["ip_marker"] == expected


def test_ip_marker_hash_is_salted_and_never_the_address(make_app) -> None:
    app = make_app(IP_MARKER="hash", DUPLICATE_WINDOW=0)
    client = app.test_client()
    for addr in ("203.0.113.77", "203.0.113.77", "203.0.113.78"):
        client.post("/seo-checklist", data=VALID["seo-checklist"], environ_base={"REMOTE_ADDR": addr})
    markers = [r["ip_marker"] for r in services_of(app).store.submissions()]
    assert markers[0] == markers[1] != markers[2]
    # 16 hex digits: no address fits (a random hex "203" inside one made this flaky once in ~100 runs).
    assert all(re.fullmatch(r"[0-9a-f]{16}", m) for m in markers)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"email=%FF%FE", "application/x-www-form-urlencoded"),  # not UTF-8
        ("email=caf\u00e9@example.com".encode("latin-1"), "application/x-www-form-urlencoded"),  # raw 8-bit byte
        (b"&".join(b"f%d=1" % i for i in range(150)), "application/x-www-form-urlencoded"),  # too many fields
        (b'{"email": "ada@example.com"}', "application/json"),
        (b"email=ada@example.com", "text/plain"),
        (b"email=ada%zz@example.com", "application/x-www-form-urlencoded"),  # not a percent escape
        (b"email=ada@example.com&first_name=50%", "application/x-www-form-urlencoded"),
        (b"email=ada@example.com", "multipart/form-data"),  # no boundary
    ],
)
def test_malformed_bodies_get_a_themed_400_and_store_nothing(client, store, body: bytes, content_type: str) -> None:
    response = client.post("/seo-checklist", data=body, content_type=content_type)
    assert response.status_code == 400
    assert "Bad request" in response.text and "<html" in response.text
    assert submissions(store) == []


def test_an_oversized_body_gets_413(client, store) -> None:
    response = client.post(
        "/seo-checklist", data=b"email=a%40b.co&first_name=" + b"A" * 70_000, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 413
    assert "Too much data" in response.text
    assert submissions(store) == []


def test_multipart_forms_are_accepted(client, store) -> None:
    response = client.post("/seo-checklist", data=VALID["seo-checklist"], content_type="multipart/form-data")
    assert response.status_code == 303
    assert len(submissions(store)) == 1


def test_posting_to_a_missing_offer_is_404(client, store) -> None:
    assert client.post("/no-such-offer", data={"email": "a@example.com"}).status_code == 404
    assert submissions(store) == []


def test_posting_to_an_expired_offer_is_410(make_app, tmp_path) -> None:
    app = make_app(CONTENT_DIR=str(build_content(tmp_path / "cases", "expired")))
    response = app.test_client().post("/expired", data={"email": "a@example.com"})
    assert response.status_code == 410
    assert services_of(app).store.count_submissions(include_spam=True) == 0


def test_thank_you_links_cannot_be_forged_or_moved_to_another_offer(client, app) -> None:
    location = client.post("/seo-checklist", data=VALID["seo-checklist"]).headers["Location"]
    token = location.rsplit("/", 1)[1]
    # The signature's first character: its every bit counts (the last one's lowest bits do not
    # in base64, so changing the end could leave the signature as it was).
    payload, stamp, sig = token.split(".")
    tampered = f"{payload}.{stamp}.{'B' if sig[0] == 'A' else 'A'}{sig[1:]}"
    assert client.get(f"/seo-checklist/thanks/{tampered}").status_code == 404
    assert client.get(f"/growth-playbook/thanks/{token}").status_code == 404
    forged = tokens.dump(app.config["SECRET_KEY"], "download", 1)  # right key, wrong purpose
    assert client.get(f"/seo-checklist/thanks/{forged}").status_code == 404
    assert client.get(f"/seo-checklist/thanks/{tokens.dump(app.config['SECRET_KEY'], 'thanks', 999)}").status_code == 404


def test_read_only_database_answers_503_and_keeps_what_is_stored(client, store, caplog, backend) -> None:
    if backend == "postgresql":
        pytest.skip("PRAGMA query_only is SQLite's way to make writes fail")
    client.post("/growth-playbook", data=VALID["growth-playbook"])
    # Tests run as root, where chmod does not stop writes; PRAGMA query_only makes SQLite refuse
    # every write on this connection (the test client serves the request on this same thread,
    # and the store keeps one connection per thread) with "attempt to write a readonly database".
    store.conn.execute("PRAGMA query_only = ON")
    with caplog.at_level(logging.ERROR):
        response = client.post("/seo-checklist", data=VALID["seo-checklist"])
    assert response.status_code == 503
    assert "We could not save your details just now. Nothing was lost: please send the form again in a minute." in response.text
    assert f'value="{VALID["seo-checklist"]["email"]}"' in response.text  # what was typed is still in the form
    assert response.headers["Retry-After"] == "60" and response.headers["Cache-Control"] == "no-store"
    assert "could not store a submission to seo-checklist" in caplog.text
    store.conn.execute("PRAGMA query_only = OFF")
    assert [r["offer_slug"] for r in submissions(store)] == ["growth-playbook"]
    assert store.integrity_check() == "ok"
    assert client.post("/seo-checklist", data=VALID["seo-checklist"]).status_code == 303


def test_full_disk_answers_503_and_keeps_what_is_stored(make_app, backend) -> None:
    if backend == "postgresql":
        pytest.skip("PRAGMA max_page_count is SQLite's way to fill the disk")
    app = make_app(RATE_LIMIT="off")
    client, store = app.test_client(), services_of(app).store
    client.post("/growth-playbook", data=VALID["growth-playbook"])
    # A real "database or disk is full" (SQLITE_FULL): cap the file at the pages it has now.
    pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
    store.conn.execute(f"PRAGMA max_page_count = {pages}")
    big = {**VALID["q1-product-demo"], "question": "Q" * 500}
    codes = {client.post("/q1-product-demo", data={**big, "email": f"p{i}@example.com"}).status_code for i in range(40)}
    assert 503 in codes and 500 not in codes
    store.close()  # a fresh connection has no page cap
    assert store.integrity_check() == "ok"
    assert store.get_submission(1)["offer_slug"] == "growth-playbook"
