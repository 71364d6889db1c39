"""Privacy: erasing a contact leaves nothing that names them; everything about one contact as JSON."""

from __future__ import annotations

import base64
import json
import quopri
import re
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

import pytest

from leadmagnet.cli import cli
from leadmagnet.foundation import tokens
from leadmagnet.foundation.config import ensure_secret_key
from leadmagnet.store import Store
from leadmagnet.web import services_of
from leadmagnet.web.admin import add_admin
from tests.support.content import write_ebook, write_webinar
from tests.support.smtp import body_text
from tests.support.waiting import wait_until

pytestmark = pytest.mark.both_backends

EMAIL = "erase.me@example.com"
NAME = "Zebulon"
PDF = b"%PDF-1.4\n" + bytes(range(256)) + b"\n%%EOF\n"


@pytest.fixture(autouse=True)
def cli_database(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI (and any child process) opens the test's database, on either backend."""
    if "make_app" in request.fixturenames:
        monkeypatch.setenv("LEADMAGNET_DATABASE", request.getfixturevalue("database"))


def sqlite_only(store, reason: str) -> None:
    if store.backend != "sqlite":
        pytest.skip(f"SQLite only: {reason}")


@pytest.fixture
def people(store):
    """Two contacts with submissions, downloads, emails (and their attempts), consent and opt-out."""
    for email, name in ((EMAIL, NAME), ("keep@example.com", "Keeper")):
        sub = store.record_submission(
            offer_slug="growth-playbook",
            offer_type="ebook",
            email=email,
            fields={"first_name": name, "company": f"{name} Ltd", "team_size": "6+"},
            meta={"utm_source": "news", "referrer": f"https://mail.example/?to={email}", "ip_marker": "192.0.2.0"},
            consent_text="I agree to receive emails",
            tags=["ebook"],
        )
        sid, cid = sub["submission"]["id"], sub["contact_id"]
        store.record_download(sid, "2026-03-01T10:00:00+00:00")
        outbox_id = store.enqueue_email(
            submission_id=sid,
            contact_id=cid,
            kind="delivery",
            to_addr=email,
            subject=f"Your ebook, {name}",
            message=f"To: {email}\r\nSubject: hi\r\n\r\nHello {name}".encode(),
            now="2026-03-01T10:00:00+00:00",
        )
        store.mark_attempt(
            outbox_id, at="2026-03-01T10:00:01+00:00", ok=False, error=f"550 {email} mailbox full", retry_at="2026-03-01T10:05:00+00:00"
        )
        store.record_submission(offer_slug="q1-product-demo", offer_type="webinar", email=email, fields={"last_name": name})
    store.unsubscribe(store.get_contact_by_email(EMAIL)["id"], "2026-03-02T00:00:00+00:00")
    return store


def everything_mentioning(store, *needles: str) -> list[tuple[str, str]]:
    """(table, column) of every text or blob cell, in every table, that contains one of ``needles``."""
    hits = []
    for table in store.tables():
        if store.backend == "postgresql":
            found = store.query("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?", (table,))
            columns = [(c["column_name"], "encode(\"{}\", 'escape')" if c["data_type"] == "bytea" else '"{}"::text') for c in found]
        else:
            columns = [(c["name"], 'CAST("{}" AS TEXT)') for c in store.query(f'PRAGMA table_info("{table}")')]
        for name, as_text in columns:
            for needle in needles:
                sql = f'SELECT count(*) AS n FROM "{table}" WHERE instr(lower({as_text.format(name)}), lower(?)) > 0'  # noqa: S608
                found = store.query(sql, (needle,))
                if found[0]["n"]:
                    hits.append((table, name))
    return hits


def test_contact_record_has_every_submission_download_email_and_consent(people) -> None:
    record = people.contact_record(EMAIL)
    assert record["contact"]["email"] == EMAIL and record["contact"]["custom"] == {"team_size": "6+"}
    assert [s["offer_slug"] for s in record["submissions"]] == ["growth-playbook", "q1-product-demo"]
    assert len(record["downloads"]) == 1 and record["downloads"][0]["offer_slug"] == "growth-playbook"
    assert [(e["kind"], e["to_addr"]) for e in record["emails"]] == [("delivery", EMAIL)]
    assert record["consent"]["records"][0]["consent_text"] == "I agree to receive emails"
    assert record["consent"]["unsubscribed_at"] == "2026-03-02T00:00:00+00:00"
    assert "keep@example.com" not in json.dumps(record)


def test_erase_from_the_cli_leaves_nothing_behind(people, cli_runner, instance_dir, content_dir) -> None:
    assert everything_mentioning(people, EMAIL)  # the search does find it before
    result = cli_runner.invoke(cli, ["--instance", str(instance_dir), "--content", str(content_dir), "erase", EMAIL, "--yes"])
    assert result.exit_code == 0, result.output
    assert "2 submissions" in result.output and "1 outbox" in result.output
    assert everything_mentioning(people, EMAIL, NAME) == []
    audit = [entry for entry in people.audit_entries() if entry["action"] == "erase_contact"]
    assert len(audit) == 1 and audit[0]["actor"] == "cli"
    assert audit[0]["detail"]["deleted"]["contacts"] == 1
    # the other contact is whole
    kept = people.contact_record("keep@example.com")
    assert len(kept["submissions"]) == 2 and len(kept["downloads"]) == 1 and len(kept["emails"]) == 1
    again = cli_runner.invoke(cli, ["--instance", str(instance_dir), "--content", str(content_dir), "erase", EMAIL, "--yes"])
    assert again.exit_code != 0 and "no contact" in again.output


def test_erase_also_sweeps_rows_in_tables_added_later(people) -> None:
    key = "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY" if people.backend == "postgresql" else "INTEGER PRIMARY KEY"
    people.conn.execute(f"CREATE TABLE webhook_log (id {key}, payload TEXT)")
    people.conn.execute("INSERT INTO webhook_log (payload) VALUES (?), ('unrelated')", (json.dumps({"email": EMAIL.upper()}),))
    people.erase_contact(EMAIL, actor="test")
    assert everything_mentioning(people, EMAIL) == []
    assert people.query("SELECT payload FROM webhook_log") == [{"payload": "unrelated"}]


def test_erasure_removes_rate_limit_counters_an_earlier_version_keyed_by_the_address(app, people) -> None:
    limits = services_of(app).erasure.rate_limits
    for key in (f"60:login:{EMAIL}", "60:login:keep@example.com", f"60:login:x{EMAIL}"):
        limits.count_hit(key, 1, 2**40)
    erased = services_of(app).erasure.erase(EMAIL, actor="test")
    assert erased is not None and erased.rate_limits == 1
    assert [row["key"] for row in limits.rows()] == ["60:login:keep@example.com", f"60:login:x{EMAIL}"]
    if people.backend == "postgresql":  # the counters are the database's: no row names the person
        assert everything_mentioning(people, EMAIL) == [("rate_limits", "key")]  # only x{EMAIL}, someone else
        assert people.query("SELECT key FROM rate_limits WHERE key = ?", (f"60:login:{EMAIL}",)) == []


def test_an_erasure_inside_a_larger_transaction_is_vacuumed_by_the_owners_checkpoint(people) -> None:
    if people.backend != "postgresql":
        pytest.skip("PostgreSQL's VACUUM after the enclosing COMMIT (SQLite's checkpoint: the tests above)")
    started = people.query_one("SELECT now() AS t")["t"]
    vacuumed = "SELECT relname FROM pg_stat_user_tables WHERE last_vacuum >= ? AND relname IN ('contacts', 'submissions', 'outbox')"
    with people.transaction():
        assert people.erase_contact(EMAIL, actor="test")["contacts"] == 1  # VACUUM cannot run in here
    assert people.query(vacuumed, (started,)) == []
    assert people.checkpoint() is True  # what the Erasure (the owner) calls after its COMMIT
    wait_until(lambda: len(people.query(vacuumed, (started,))) == 3, what="VACUUM of the erasure's tables")
    assert everything_mentioning(people, EMAIL, NAME) == []


def test_cli_contact_prints_json(people, cli_runner, instance_dir, content_dir) -> None:
    result = cli_runner.invoke(cli, ["--instance", str(instance_dir), "--content", str(content_dir), "contact", EMAIL])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["contact"]["first_name"] == NAME and len(data["submissions"]) == 2
    missing = cli_runner.invoke(cli, ["--instance", str(instance_dir), "--content", str(content_dir), "contact", "nobody@example.com"])
    assert missing.exit_code != 0 and "nobody@example.com" in missing.output


def test_admin_json_download_and_erase(app, people) -> None:
    app.config["WTF_CSRF_ENABLED"] = False
    add_admin(people, "boss@example.com", "correct horse battery")
    client = app.test_client()
    client.post("/admin/login", data={"email": "boss@example.com", "password": "correct horse battery"})
    cid = people.get_contact_by_email(EMAIL)["id"]
    response = client.get(f"/admin/contacts/{cid}.json")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    assert response.get_json()["contact"]["email"] == EMAIL
    assert client.post(f"/admin/contacts/{cid}/erase", data={"email": EMAIL}).status_code == 303
    assert everything_mentioning(people, EMAIL, NAME) == []
    actions = [entry["action"] for entry in people.audit_entries()]  # newest first
    assert actions[:2] == ["erase_contact", "contact_download"]
    assert client.get(f"/admin/contacts/{cid}").status_code == 404


def test_erasing_the_newest_contact_does_not_make_incremental_exports_skip_a_reused_id(store, tmp_path) -> None:
    from leadmagnet.export import writer as export

    for email in ("first@example.com", "newest@example.com"):
        store.record_submission(offer_slug="growth-playbook", offer_type="ebook", email=email, fields={})
    export.export(store, export.ExportRequest(kind="submissions", since_last="crm"), tmp_path / "1.csv")
    erased_id = store.get_contact_by_email("newest@example.com")["id"]
    store.erase_contact("newest@example.com")
    sub = store.record_submission(offer_slug="growth-playbook", offer_type="ebook", email="later@example.com", fields={})
    assert erased_id and (store.backend == "postgresql" or sub["submission"]["id"] == 2)  # SQLite reused the erased id
    result = export.export(store, export.ExportRequest(kind="submissions", since_last="crm"), tmp_path / "2.csv")
    assert result.rows == 1
    assert "later@example.com" in (tmp_path / "2.csv").read_text()


def test_erasing_an_address_that_is_part_of_another_leaves_the_other_contacts_alone(store) -> None:
    for email in ("ada@example.co", "ada@example.com", "bada@example.co", "ada@example.co.uk"):
        store.record_submission(offer_slug="growth-playbook", offer_type="ebook", email=email, fields={"first_name": "Ada"})
    store.erase_contact("ada@example.co", actor="test")
    assert sorted(r["email"] for r in store.contacts()) == [
        "ada@example.co.uk",
        "ada@example.com",
        "bada@example.co",
    ]
    assert store.count_submissions("growth-playbook") == 3
    if store.backend == "sqlite":  # PostgreSQL enforces every foreign key on every write
        assert store.query("PRAGMA foreign_key_check") == []


def test_erasing_redacts_a_mention_in_someone_elses_submission_without_deleting_it(store) -> None:
    store.record_submission(offer_slug="growth-playbook", offer_type="ebook", email="ada@example.org", fields={})
    bob = store.record_submission(
        offer_slug="growth-playbook",
        offer_type="ebook",
        email="bob@corp.com",
        fields={},
        meta={"referrer": "https://mail.example/?fwd=ADA@example.org"},
    )
    store.erase_contact("ada@example.org", actor="test")
    assert everything_mentioning(store, "ada@example.org") == []
    [kept] = store.submissions()
    assert kept["id"] == bob["submission"]["id"]
    assert store.get_contact_by_email("bob@corp.com") is not None
    assert "?fwd=[erased]" in json.dumps(store.submissions())


# -- signed links after an erasure: ids come back, links must not follow them ---------------------


def _emailed_links(store, email_addr: str) -> dict[str, str]:
    """The paths of every signed link in the emails sent to ``email_addr`` (rendered by the sender)."""
    found: dict[str, str] = {}
    for row in store.outbox():
        if row["to_addr"] != email_addr:
            continue
        text = body_text(message_from_bytes(row["message"], policy=policy.default))
        for kind in ("download", "calendar", "confirm", "unsubscribe"):
            for token in re.findall(rf"/{kind}/([A-Za-z0-9_.\-]+?)(?:\.ics)?(?=[\s>\"']|$)", text):
                key = f"{kind}:{row['submission_id']}" if kind != "unsubscribe" else kind
                found[key] = f"/{kind}/{token}" + (".ics" if kind == "calendar" else "")
    return found


def _rows(store) -> dict[str, list[dict]]:
    """Every row of the tables a link may write to, to compare before and after."""
    tables = ("contacts", "submissions", "downloads", "outbox", "email_attempts")
    return {table: store.query(f"SELECT * FROM {table} ORDER BY id") for table in tables}  # noqa: S608


@pytest.fixture
def offers_app(make_app, content_dir):
    """An ebook and a webinar delivered at once, and an ebook behind the site's DOUBLE_OPT_IN."""
    write_ebook(content_dir, "handbook", PDF, extra="double_opt_in: false")
    write_webinar(content_dir, "live-demo", datetime.now(UTC) + timedelta(days=3), extra="double_opt_in: false")
    write_ebook(content_dir, "checked", PDF, filename="checked.pdf")
    return make_app(RATE_LIMIT="off", DOUBLE_OPT_IN=True)


def _sign_up(app, client, email_addr: str) -> dict[str, str]:
    """Take all three offers through the real capture route; send the emails; return every link."""
    links = {}
    for slug in ("handbook", "live-demo", "checked"):
        response = client.post(f"/{slug}", data={"email": email_addr})
        assert response.status_code == 303
        links[f"thanks:{slug}"] = response.headers["Location"]
    services_of(app).deliveries.send_once()  # no SMTP configured: rendered into the outbox and written as .eml files
    links.update(_emailed_links(services_of(app).store, email_addr))
    return links


def test_an_erased_persons_links_never_reach_the_next_person(offers_app) -> None:
    app, client = offers_app, offers_app.test_client()
    store = services_of(app).store
    alice = _sign_up(app, client, "alice@example.com")
    assert {"download:1", "calendar:2", "confirm:3", "unsubscribe"} <= set(alice)
    store.erase_contact("alice@example.com", actor="test")

    bob = _sign_up(app, client, "bob@example.com")
    if store.backend == "sqlite":  # The premise: SQLite gave Bob the erased contact's and submissions' ids.
        assert store.get_contact_by_email("bob@example.com")["id"] == 1
        assert [r["id"] for r in store.submissions()] == [1, 2, 3]
    assert all(alice[key] != bob.get(key) for key in alice)
    before = _rows(store)

    old = [
        ("GET", alice["thanks:handbook"]),
        ("GET", alice["thanks:live-demo"]),
        ("GET", alice["thanks:checked"]),
        ("GET", alice["download:1"]),
        ("GET", alice["calendar:2"]),
        ("GET", alice["confirm:3"]),
        ("POST", alice["confirm:3"]),
        ("GET", alice["unsubscribe"]),
        ("POST", alice["unsubscribe"]),
        ("POST", alice["download:1"] + "/renew"),
    ]
    for method, path in old:
        response = client.open(path, method=method)
        assert response.status_code == 404, (method, path)
        assert "bob@example.com" not in response.get_data(as_text=True)
    assert _rows(store) == before  # no download, no unsubscribe, no confirmation, no email
    assert store.get_contact_by_email("bob@example.com")["opt_in_status"] == "pending"

    # Bob's own links work (his rows' ids: SQLite's 1, 2, 3 again; PostgreSQL's new ones).
    ebook, webinar, checked = sorted(r["id"] for r in store.submissions())
    page = client.get(bob["thanks:handbook"]).get_data(as_text=True)
    assert "bob@example.com" in page and "/download/" in page
    assert client.get(bob[f"download:{ebook}"]).data == PDF and len(store.downloads_of(ebook)) == 1
    assert client.get(bob[f"calendar:{webinar}"]).headers["Content-Type"].startswith("text/calendar")
    assert "you're confirmed" in client.post(bob[f"confirm:{checked}"]).get_data(as_text=True)
    assert store.get_submission(checked)["status"] == "ok"
    assert "You're unsubscribed" in client.post(bob["unsubscribe"]).get_data(as_text=True)
    assert store.get_contact_by_email("bob@example.com")["unsubscribed_at"] is not None


def test_a_repeat_thanks_link_under_double_opt_in_is_bound_to_its_row_too(offers_app) -> None:
    app, client = offers_app, offers_app.test_client()
    store = services_of(app).store
    client.post("/checked", data={"email": "alice@example.com"})
    [row] = store.submissions()
    services_of(app).deliveries.confirm(services_of(app).catalog.get("checked").offer, row["id"])
    repeat = client.post("/checked", data={"email": "alice@example.com"}).headers["Location"]
    assert "Check your inbox" in client.get(repeat).get_data(as_text=True)  # the INBOX_ONLY page
    store.erase_contact("alice@example.com", actor="test")
    client.post("/checked", data={"email": "bob@example.com"})
    assert client.get(repeat).status_code == 404


# -- links sent by versions before stamps: bare ids ------------------------------------------------


def _legacy_links(key: str, contact_id: int, ids: dict[str, int], signed: datetime) -> dict[str, str]:
    """Links as versions before m006 signed them (the bare id), signed at ``signed``."""
    at = signed.timestamp()
    return {
        "thanks:handbook": f"/handbook/thanks/{tokens.dump(key, 'thanks', ids['handbook'], at)}",
        "thanks:checked": f"/checked/thanks/{tokens.dump(key, 'thanks', [ids['checked'], 'inbox'], at)}",
        "download": f"/download/{tokens.dump(key, 'download', [ids['handbook']], at)}",
        "calendar": f"/calendar/{tokens.dump(key, 'calendar', [ids['live-demo']], at)}.ics",
        "confirm": f"/confirm/{tokens.dump(key, 'confirm', [ids['checked']], at)}",
        "unsubscribe": f"/unsubscribe/{tokens.dump(key, 'unsubscribe', [contact_id], at)}",
    }


def test_a_bare_id_link_from_before_the_upgrade_works_for_its_row_and_never_for_a_later_one(
    make_app, content_dir, instance_dir, backend
) -> None:
    if backend == "postgresql":
        pytest.skip("SQLite only: links before m006 were made by SQLite installs; PostgreSQL starts at the baseline")
    write_ebook(content_dir, "handbook", PDF, extra="double_opt_in: false")
    write_webinar(content_dir, "live-demo", datetime.now(UTC) + timedelta(days=3), extra="double_opt_in: false")
    write_ebook(content_dir, "checked", PDF, filename="checked.pdf")
    # Alice signed up an hour ago while the database was at m005, before links had stamps.
    then = datetime.now(UTC) - timedelta(hours=1)
    old = Store(instance_dir / "leadmagnet.db")
    assert old.migrate(stop_before="m006_link_stamps")[-1] == "m005_outbox_template"
    ids = {}
    for slug, kind, status in (("handbook", "ebook", "ok"), ("live-demo", "webinar", "ok"), ("checked", "ebook", "pending")):
        outcome = old.record_submission(
            offer_slug=slug, offer_type=kind, email="alice@example.com", fields={}, status=status, now=then.isoformat()
        )
        ids[slug] = outcome["submission"]["id"]
    old.close()

    app = make_app(RATE_LIMIT="off", DOUBLE_OPT_IN=True)  # upgrades the database to m006
    client, store = app.test_client(), services_of(app).store
    alice = _legacy_links(app.config["SECRET_KEY"], 1, ids, signed=then)
    assert "alice@example.com" in client.get(alice["thanks:handbook"]).get_data(as_text=True)
    assert "Check your inbox" in client.get(alice["thanks:checked"]).get_data(as_text=True)
    assert client.get(alice["download"]).data == PDF and len(store.downloads_of(ids["handbook"])) == 1
    assert client.get(alice["calendar"]).status_code == 200
    assert 'method="post"' in client.get(alice["confirm"]).get_data(as_text=True)
    assert client.get(alice["unsubscribe"]).status_code == 200

    store.erase_contact("alice@example.com", actor="test")
    # Bob signs up now, an hour after Alice's links were signed (whole seconds, as itsdangerous keeps them).
    for slug in ("handbook", "live-demo", "checked"):
        assert client.post(f"/{slug}", data={"email": "bob@example.com"}).status_code == 303
    assert {r["id"] for r in store.submissions()} == set(ids.values())  # ids reused
    before = _rows(store)
    for path in alice.values():
        for method in ("GET", "POST"):
            if method == "POST" and not path.startswith(("/confirm/", "/unsubscribe/")):
                continue
            assert client.open(path, method=method).status_code == 404, (method, path)
    assert _rows(store) == before


def test_a_bare_id_link_never_reaches_a_row_that_took_its_id_before_the_upgrade(make_app, content_dir, instance_dir, backend) -> None:
    if backend == "postgresql":
        pytest.skip("SQLite only: links before m006 were made by SQLite installs; PostgreSQL starts at the baseline")
    # Everything here happened at m005: Alice got links, was erased, and Bob got her ids.
    write_ebook(content_dir, "handbook", PDF, extra="double_opt_in: false")
    write_webinar(content_dir, "live-demo", datetime.now(UTC) + timedelta(days=3), extra="double_opt_in: false")
    write_ebook(content_dir, "checked", PDF, filename="checked.pdf")
    key = ensure_secret_key(instance_dir)
    old = Store(instance_dir / "leadmagnet.db")
    old.migrate(stop_before="m006_link_stamps")
    plan = (("handbook", "ebook", "ok"), ("live-demo", "webinar", "ok"), ("checked", "ebook", "pending"))

    def sign_up(email: str, at: datetime) -> dict[str, str]:
        """Rows created and links signed at ``at`` (a link keeps whole seconds of its signing time)."""
        ids = {
            slug: old.record_submission(offer_slug=slug, offer_type=kind, email=email, fields={}, status=status, now=at.isoformat())[
                "submission"
            ]["id"]
            for slug, kind, status in plan
        }
        return _legacy_links(key, old.get_contact_by_email(email)["id"], ids, signed=at)

    alice = sign_up("alice@example.com", datetime.now(UTC) - timedelta(hours=1))
    old.erase_contact("alice@example.com", actor="test")
    bob = sign_up("bob@example.com", datetime.now(UTC))  # an hour later (in life: days later)
    old.close()

    app = make_app(RATE_LIMIT="off", DOUBLE_OPT_IN=True)  # upgrades the database to m006
    client, store = app.test_client(), services_of(app).store
    before = _rows(store)
    for path in alice.values():
        for method in ("GET", "POST") if path.startswith(("/confirm/", "/unsubscribe/")) else ("GET",):
            assert client.open(path, method=method).status_code == 404, (method, path)
    assert _rows(store) == before  # Bob was not unsubscribed, confirmed or counted
    assert "bob@example.com" in client.get(bob["thanks:handbook"]).get_data(as_text=True)
    assert client.get(bob["download"]).data == PDF


# -- erasure is about the bytes: no file of the instance keeps the person ---------------------------

ALICE = {"email": "Erase.Me@Example.com", "first_name": "Zébulon", "company": "Quillfeather Ümlaut Works"}
BOB = {"email": "keep.me@example.com", "first_name": "Keeperton", "company": "Stayput Holdings"}
SLUGS = ("handbook", "live-demo", "checked")


def _decoded_views(data: bytes) -> list[bytes]:
    """``data`` as read raw, and as the encodings an email may use would decode it (lowercased).

    Quoted-printable (bodies, and ``=?utf-8?q?...?=`` header words, where ``_`` is a space) and
    base64 (bodies, attachments and ``=?utf-8?b?...?=`` words, wrapped or not, at any alignment).
    """
    views = [data, quopri.decodestring(data), quopri.decodestring(data.replace(b"_", b" "))]
    for run in re.findall(rb"[A-Za-z0-9+/=\r\n]{8,}", data):
        flat = re.sub(rb"[^A-Za-z0-9+/]", b"", run)
        for skip in range(4):
            chunk = flat[skip:]
            chunk = chunk[: len(chunk) - 1] if len(chunk) % 4 == 1 else chunk + b"=" * (-len(chunk) % 4)
            views.append(base64.b64decode(chunk))
    return [view.lower() for view in views]


def _needles(person: dict[str, str]) -> dict[str, tuple[bytes, ...]]:
    """Each detail as UTF-8 bytes, lowercased as the views are (ASCII only), and fully lowercased."""
    return {key: (value.encode().lower(), value.lower().encode()) for key, value in person.items()}


def files_naming(folder, person: dict[str, str]) -> dict[str, set[str]]:
    """Every file under ``folder`` (any depth, SQLite's -wal and -shm too) whose bytes name the person: path -> what."""
    needles = _needles(person)
    found: dict[str, set[str]] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        views = _decoded_views(path.read_bytes())
        hits = {key for key, forms in needles.items() if any(form in view for form in forms for view in views)}
        if hits:
            found[str(path.relative_to(folder))] = hits
    return found


def test_the_byte_scan_sees_through_the_encodings_of_an_email() -> None:
    name = ALICE["first_name"].encode()
    assert _decoded_views(b"Hi " + name)[0].count(name.lower()) == 1
    for encoded in (
        quopri.encodestring(b"Hi " + name),  # quoted-printable body: Z=C3=A9bulon
        b"Subject: =?utf-8?q?Hi_" + quopri.encodestring(name, header=True) + b"?=",
        base64.encodebytes(b"x" * 100 + b" Hi " + name + b" " + b"y" * 100),  # wrapped at 76
        base64.b64encode(b"ab" + name),  # another alignment
    ):
        assert any(name.lower() in view for view in _decoded_views(encoded)), encoded
    assert not any(name.lower() in view for view in _decoded_views(base64.b64encode(b"Hi Keeperton")))


def _sign_up_with_details(client, person: dict[str, str]) -> dict[str, str]:
    links = {}
    for slug in SLUGS:
        response = client.post(f"/{slug}", data=person)
        assert response.status_code == 303, response.get_data(as_text=True)
        links[f"thanks:{slug}"] = response.headers["Location"]
    return links


@pytest.fixture
def two_people(make_app, content_dir):
    """Alice and Bob signed up for an ebook, a webinar and an opt-in ebook through the real form,
    their emails written as .eml files by the real sender, Alice's links used; rate limits on."""
    write_ebook(content_dir, "handbook", PDF, extra="double_opt_in: false")
    write_webinar(content_dir, "live-demo", datetime.now(UTC) + timedelta(days=3), extra="double_opt_in: false")
    write_ebook(content_dir, "checked", PDF, filename="checked.pdf")
    app = make_app(DOUBLE_OPT_IN=True, WTF_CSRF_ENABLED=False)
    client, services = app.test_client(), services_of(app)
    add_admin(services.store, "boss@example.com", "correct horse battery")
    # The worst case: rows written and rewritten without secure deletion, as by a version before it
    # on a SQLite built with SQLite's default (Debian's turns it on): old copies sit in free space.
    if services.store.backend == "sqlite":
        services.store.conn.execute("PRAGMA secure_delete = OFF")
    links = {}
    for key, person in (("alice", ALICE), ("bob", BOB)):
        links[key] = _sign_up_with_details(client, person)
        assert services.deliveries.send_once().sent == len(SLUGS)
        links[key].update(_emailed_links(services.store, person["email"].lower()))
        if (
            key == "alice" and services.store.backend == "sqlite"
        ):  # as SQLite's automatic checkpoints do: Alice's rows move into the database file
            services.store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    # Alice uses her links, and once typed her address into the admin's login form.
    assert client.get(links["alice"]["download:1"]).data == PDF
    assert client.get(links["alice"]["calendar:2"]).status_code == 200
    assert client.post("/admin/login", data={"email": ALICE["email"], "password": "a guess"}).status_code == 422
    return app, links


def _erase_through(way: str, app, cli_runner, instance_dir, content_dir) -> None:
    """Erase Alice as a marketer would: ``leadmagnet erase``, or the admin's Erase button."""
    if way == "cli":
        args = ["--instance", str(instance_dir), "--content", str(content_dir), "erase", ALICE["email"], "--yes"]
        result = cli_runner.invoke(cli, args)
        assert result.exit_code == 0, result.output
        return
    admin = app.test_client()
    admin.post("/admin/login", data={"email": "boss@example.com", "password": "correct horse battery"})
    cid = services_of(app).store.get_contact_by_email(ALICE["email"].lower())["id"]
    assert admin.post(f"/admin/contacts/{cid}/erase", data={"email": ALICE["email"]}).status_code == 303


@pytest.mark.parametrize("way", ["cli", "admin"])
def test_erasure_leaves_no_byte_of_the_person_in_any_file_of_the_instance(way, two_people, cli_runner, instance_dir, content_dir) -> None:
    app, links = two_people
    sqlite_only(services_of(app).store, "reads the database's own files (PostgreSQL's: test_erasure_on_postgresql_vacuums...)")
    before = files_naming(instance_dir, ALICE)
    # The premise: the scan finds Alice in the database files and in her emails before the erasure.
    assert any(path.startswith("leadmagnet.db") for path in before), before
    assert sum(path.startswith("outbox/") for path in before) == len(SLUGS), before
    # The admin login form counts the typed address by a keyed hash: the counter file never names her.
    assert not any(path.startswith("ratelimit.db") for path in before), before
    assert {"email", "first_name", "company"} == set().union(*before.values())

    _erase_through(way, app, cli_runner, instance_dir, content_dir)

    assert files_naming(instance_dir, ALICE) == {}
    assert (instance_dir / "leadmagnet.db-wal").stat().st_size == 0  # truncated, not only checkpointed
    # Bob is whole: his rows, his emails' files, his links.
    kept = files_naming(instance_dir, BOB)
    assert sum(path.startswith("outbox/") for path in kept) == len(SLUGS), kept
    assert {"email", "first_name", "company"} == set().union(*kept.values())
    client, store = app.test_client(), services_of(app).store
    record = store.contact_record(BOB["email"])
    assert record["contact"]["company"] == BOB["company"] and len(record["submissions"]) == len(SLUGS)
    assert client.get(links["bob"]["download:4"]).data == PDF
    assert store.integrity_check() == "ok"

    # The app keeps working: a new person signs up and gets her emails; still nothing of Alice.
    carol = {"email": "carol@example.com", "first_name": "Carolyn", "company": "Newcomer Inc"}
    _sign_up_with_details(client, carol)
    assert services_of(app).deliveries.send_once().sent == len(SLUGS)
    assert sum(path.startswith("outbox/") for path in files_naming(instance_dir, carol)) == len(SLUGS)
    assert files_naming(instance_dir, ALICE) == {}


@pytest.mark.parametrize("way", ["cli", "admin"])
def test_erasure_on_postgresql_leaves_no_row_naming_the_person_and_vacuums_what_it_touched(
    way, two_people, cli_runner, instance_dir, content_dir
) -> None:
    app, _links = two_people
    store = services_of(app).store
    if store.backend != "postgresql":
        pytest.skip("PostgreSQL's VACUUM (SQLite's bytes: test_erasure_leaves_no_byte_of_the_person_in_any_file_of_the_instance)")
    alice = (ALICE["email"], ALICE["first_name"], ALICE["company"])
    touched = ("contacts", "submissions", "outbox", "email_attempts", "downloads", "webhook_events", "score_events", "lead_days")
    assert {table for table, _column in everything_mentioning(store, *alice)} >= {"contacts", "submissions", "outbox"}  # the premise
    started = store.query_one("SELECT now() AS t")["t"]

    _erase_through(way, app, cli_runner, instance_dir, content_dir)

    assert everything_mentioning(store, *alice) == []  # every column of every table, bytea included
    # VACUUM ran on every table the erasure touched, after it: the old versions of Alice's rows are out
    # of their pages and indexes. (n_dead_tup is no proof: a backend reports its deletes' counts up to
    # a second late, possibly after the VACUUM, so it can show rows VACUUM already removed.)
    vacuumed = "SELECT relname FROM pg_stat_user_tables WHERE last_vacuum >= ? ORDER BY relname"
    wait_until(lambda: {row["relname"] for row in store.query(vacuumed, (started,))} >= set(touched), what="VACUUM of every touched table")
    assert store.contact_record(BOB["email"].lower())["contact"]["company"] == BOB["company"]  # Bob is whole


LINK_KINDS = [
    ("GET", "thanks:handbook"),
    ("GET", "thanks:live-demo"),
    ("GET", "thanks:checked"),
    ("GET", "download:1"),
    ("POST", "download:1/renew"),
    ("GET", "calendar:2"),
    ("GET", "confirm:3"),
    ("POST", "confirm:3"),
    ("GET", "unsubscribe"),
    ("POST", "unsubscribe"),
]


def test_each_of_an_erased_persons_links_stops_working(two_people, cli_runner, instance_dir, content_dir) -> None:
    app, links = two_people
    client = app.test_client()

    def path(kind: str) -> str:
        key, _, tail = kind.partition("/")
        return links["alice"][key] + (f"/{tail}" if tail else "")

    for method, kind in LINK_KINDS:  # the premise: each link works before the erasure
        assert client.open(path(kind), method=method).status_code in (200, 303), (method, kind)
    _erase_through("cli", app, cli_runner, instance_dir, content_dir)
    store = services_of(app).store
    before = _rows(store)
    for method, kind in LINK_KINDS:
        response = client.open(path(kind), method=method)
        assert response.status_code == 404, (method, kind)
    assert _rows(store) == before
    assert files_naming(instance_dir, ALICE) == {}


def test_the_stores_connections_zero_what_they_free_so_a_later_erasure_needs_no_rewrite(
    make_app, content_dir, cli_runner, instance_dir
) -> None:
    write_ebook(content_dir, "handbook", PDF, extra="double_opt_in: false")
    app = make_app()
    client, services = app.test_client(), services_of(app)
    sqlite_only(services.store, "SQLite's secure_delete and its one-time VACUUM of the file")
    assert services.store.conn.execute("PRAGMA secure_delete").fetchone()[0] == 1
    assert services.erasure.rate_limits.db.conn.execute("PRAGMA secure_delete").fetchone()[0] == 1
    people = [{"email": f"person{i}@example.com", "first_name": f"Firstname{i}x", "company": f"Company{i}x"} for i in range(3)]
    for person in people:
        assert client.post("/handbook", data=person).status_code == 303
    services.deliveries.send_once()
    services.store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    first = services.erasure.erase(people[0]["email"], actor="test")  # the first erasure rewrites the file once
    assert first is not None and first.wal_emptied and len(first.files) == 1
    zeroed_at = services.store.query("SELECT value FROM store_meta WHERE key = 'free_space_zeroed_at'")
    assert len(zeroed_at) == 1
    services.store.conn.execute("UPDATE contacts SET company = 'Renamed Co' WHERE email = ?", (people[1]["email"],))
    services.store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    result = cli_runner.invoke(cli, ["--instance", str(instance_dir), "--content", str(content_dir), "erase", people[1]["email"], "--yes"])
    assert result.exit_code == 0 and "1 email files" in result.output, result.output
    assert services.store.query("SELECT value FROM store_meta WHERE key = 'free_space_zeroed_at'") == zeroed_at  # no second VACUUM
    for person in people[:2]:
        assert files_naming(instance_dir, person) == {}
    assert set().union(*files_naming(instance_dir, people[2]).values()) == {"email", "first_name", "company"}


def test_erasing_again_removes_files_an_earlier_erasure_left_behind(app, cli_runner, instance_dir, content_dir) -> None:
    outbox = instance_dir / "outbox"
    outbox.mkdir(parents=True)
    message = b"To: =?utf-8?q?Z=C3=A9bulon?= <erase.me@example.com>\r\nSubject: hi\r\n\r\nHello\r\n"
    (outbox / "000007-delivery.eml").write_bytes(message)
    (outbox / "000008-delivery.eml").write_bytes(message.replace(b"erase.me@", b"keep.me@"))
    args = ["--instance", str(instance_dir), "--content", str(content_dir), "erase", "erase.me@example.com", "--yes"]
    result = cli_runner.invoke(cli, args)
    assert result.exit_code == 0 and "1 email files" in result.output, result.output
    assert sorted(p.name for p in outbox.iterdir()) == ["000008-delivery.eml"]
    again = cli_runner.invoke(cli, args)
    assert again.exit_code != 0 and "no contact" in again.output


def test_a_person_erased_while_the_sender_holds_their_email_leaves_no_file(offers_app, instance_dir) -> None:
    """The sender claimed the row, then the person was erased before the attempt was recorded:
    the attempt records nothing and the .eml file the pass wrote is deleted again."""
    from leadmagnet.delivery import mail

    services = services_of(offers_app)
    client = offers_app.test_client()
    assert client.post("/handbook", data={"email": "late.erasure@example.com"}).status_code == 303

    def erase_then_build(row: dict) -> bytes:  # the erasure lands between the claim and the attempt
        assert services.erasure.erase("late.erasure@example.com", actor="test") is not None
        return b"To: late.erasure@example.com\r\nSubject: Your copy\r\n\r\nHello\r\n"

    report = mail.send_due(services.store, offers_app.config, render=erase_then_build)
    assert report.sent == 0 and report.failed == 0
    outbox = instance_dir / "outbox"
    assert not outbox.exists() or not any(b"late.erasure" in p.read_bytes() for p in outbox.iterdir())
    assert services.store.outbox() == [] and services.store.get_contact_by_email("late.erasure@example.com") is None


def test_erasing_an_address_leaves_addresses_that_end_with_it_alone(store) -> None:
    """``o'ada@…``, ``x=ada@…`` and ``x/ada@…`` are valid addresses of other people: erasing
    ``ada@…`` must neither redact them nor break a later erasure on the UNIQUE email column."""
    others = ["o'ada@example.co", "x=ada@example.co", "x/ada@example.co", "x%ada@example.co"]
    for email in ["ada@example.co", *others]:
        store.record_submission(offer_slug="guide", offer_type="ebook", email=email, fields={"first_name": "N"})
    store.erase_contact("ada@example.co")
    assert sorted(c["email"] for c in store.contacts()) == sorted(others)
    store.erase_contact("x=ada@example.co")
    assert sorted(c["email"] for c in store.contacts()) == sorted(set(others) - {"x=ada@example.co"})


def test_an_email_held_by_the_sender_never_reaches_the_next_person_who_took_its_ids(offers_app, instance_dir) -> None:
    """Erasing the newest person frees their ids; a new lead takes them while the sender still
    holds the erased person's email. Nothing is sent for the held row, the new lead's email is
    not marked sent in its place, and it goes out on the next pass with the new lead's own data."""
    from leadmagnet.delivery import mail

    services = services_of(offers_app)
    sqlite_only(services.store, "PostgreSQL never hands an erased row's id out again")
    client = offers_app.test_client()
    assert client.post("/handbook", data={"email": "first@example.com"}).status_code == 303
    later = datetime.now(UTC) + timedelta(seconds=1)

    def erase_and_replace(rows: list) -> None:  # between the claim and the send
        [held] = rows
        services.erasure.erase("first@example.com", actor="test")
        assert client.post("/handbook", data={"email": "second@example.com"}).status_code == 303
        [taken] = services.store.outbox()
        assert taken["id"] == held["id"]  # the id came back

    report = mail.send_due(
        services.store, offers_app.config, later, after_claim=erase_and_replace, render=services.deliveries.render_queued
    )
    assert report.sent == 0
    [row] = services.store.outbox()
    assert row["to_addr"] == "second@example.com" and row["status"] == "queued"  # not marked sent for the held row
    outbox = instance_dir / "outbox"
    assert not outbox.exists() or not any(outbox.iterdir())
    again = mail.send_due(services.store, offers_app.config, later, render=services.deliveries.render_queued)
    assert again.sent == 1
    [written] = (instance_dir / "outbox").iterdir()
    assert b"second@example.com" in written.read_bytes() and b"first@example.com" not in written.read_bytes()
