"""The dashboard's store verbs against a real SQLite file with known data: daily counts, breakdowns,
funnel, response times, and the roll-up triggers through opt-in, "Not spam" and erasure."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadmagnet.store import Store

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
IPAD = "Mozilla/5.0 (iPad; CPU OS 16_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"


@pytest.fixture
def db(store_url: str) -> Store:
    """A migrated store, once on SQLite and once on PostgreSQL."""
    store = Store(store_url)
    store.migrate()
    return store


def lead(db: Store, email: str, day: str, offer: str = "guide", kind: str = "ebook", **meta) -> int:
    status = meta.pop("status", "ok")
    spam = meta.pop("spam", None)
    made = db.record_submission(
        offer_slug=offer,
        offer_type=kind,
        email=email,
        fields={},
        meta=meta,
        status=status,
        spam_reason=spam,
        now=f"{day}T10:00:00.000000+00:00",
    )
    return made["submission"]["id"]


@pytest.fixture
def known(db: Store) -> Store:
    """Views and leads over two days of March 2026, and one in April."""
    db.add_page_views(
        {
            ("guide", "2026-03-01", "news", "email", "spring", "", "phone"): 30,
            ("guide", "2026-03-01", "", "", "", "google.com", "desktop"): 50,
            ("guide", "2026-03-02", "news", "email", "spring", "", "desktop"): 20,
            ("guide", "2026-03-02", ""): 100,  # counted before views had details
            ("demo", "2026-03-02", "ads", "cpc", "launch", "bing.com", "tablet"): 40,
        }
    )
    meta_news = {"utm_source": "News", "utm_medium": "email", "utm_campaign": "Spring", "user_agent": IPHONE}
    lead(db, "a@example.com", "2026-03-01", **meta_news)
    lead(db, "b@example.com", "2026-03-01", **meta_news)
    lead(db, "c@example.com", "2026-03-01", referrer="https://www.google.com/search?q=x", user_agent=LINUX)
    lead(db, "d@example.com", "2026-03-02", **{**meta_news, "user_agent": LINUX})
    lead(db, "bot@example.com", "2026-03-01", spam="honeypot", **meta_news)
    lead(
        db,
        "e@example.com",
        "2026-03-02",
        offer="demo",
        kind="webinar",
        utm_source="ads",
        utm_medium="cpc",
        utm_campaign="launch",
        user_agent=IPAD,
        referrer="https://bing.com/",
    )
    lead(db, "f@example.com", "2026-03-02", offer="demo", kind="webinar", status="pending", utm_source="ads", user_agent=IPAD)
    lead(db, "g@example.com", "2026-04-01", **meta_news)
    return db


def by_value(result: dict) -> dict[str, tuple[int, int]]:
    return {r["value"]: (r["views"], r["submissions"]) for r in result["rows"]}


def test_daily_counts_per_offer_and_day(known: Store) -> None:
    rows = known.daily_counts("2026-03-01", "2026-04-01")
    assert [(r["offer_slug"], r["day"], r["views"], r["submissions"], r["spam"], r["confirmed"], r["seated"]) for r in rows] == [
        ("demo", "2026-03-02", 40, 2, 0, 1, 1),
        ("guide", "2026-03-01", 80, 3, 1, 3, 0),
        ("guide", "2026-03-02", 120, 1, 0, 1, 0),
    ]
    assert [r["day"] for r in known.daily_counts("2026-04-01", None)] == ["2026-04-01"]
    assert [r["offer_slug"] for r in known.daily_counts(None, None, offers=("demo",))] == ["demo"]


def test_breakdowns_have_views_where_known_and_leads_without_spam(known: Store) -> None:
    march = ("2026-03-01", "2026-04-01")
    source = known.breakdown("source", *march)
    assert by_value(source) == {"news": (50, 3), "": (150, 1), "ads": (40, 2)}
    assert source["unrecorded_views"] == 0  # every view has its source
    medium = known.breakdown("medium", *march)
    assert by_value(medium) == {"email": (50, 3), "cpc": (40, 1), "": (50, 2)}
    assert medium["unrecorded_views"] == 100
    assert by_value(known.breakdown("campaign", *march)) == {"spring": (50, 3), "launch": (40, 1), "": (50, 2)}
    assert by_value(known.breakdown("referrer", *march)) == {"": (50, 4), "google.com": (50, 1), "bing.com": (40, 1)}
    assert by_value(known.breakdown("device", *march)) == {"phone": (30, 2), "desktop": (70, 2), "tablet": (40, 2)}
    assert by_value(known.breakdown("source", "2026-04-01", None)) == {"news": (0, 1)}
    with pytest.raises(ValueError, match="unknown breakdown 'browser'"):
        known.breakdown("browser", None, None)


def test_the_roll_up_follows_opt_in_not_spam_and_erasure(known: Store) -> None:
    def demo() -> tuple[int, int, int]:
        [row] = known.daily_counts(None, None, offers=("demo",))
        return row["submissions"], row["confirmed"], row["seated"]

    assert demo() == (2, 1, 1)
    pending = known.get_contact_by_email("f@example.com")["id"]
    [sub] = [s for s in known.submissions() if s["contact_id"] == pending]
    known.confirm_opt_in(sub["id"], "2026-03-02T11:00:00.000000+00:00")
    assert demo() == (2, 2, 2)

    [bot] = [s for s in known.submissions() if s["spam"]]
    known.release_spam(bot["id"], "ok")
    assert by_value(known.breakdown("source", "2026-03-01", "2026-03-02"))["news"] == (30, 3)

    known.erase_contact("a@example.com", actor="test")
    known.erase_contact("e@example.com", actor="test")
    assert by_value(known.breakdown("source", "2026-03-01", "2026-03-02"))["news"] == (30, 2)
    assert demo() == (1, 1, 1)
    # The roll-up still equals a count over the submissions themselves.
    for dimension, column in (("source", "utm_source"), ("campaign", "utm_campaign")):
        expected = known.query(
            f"SELECT substr(created_at, 1, 10) AS day, lower({column}) AS v, count(*) AS n FROM submissions WHERE spam = 0"  # noqa: S608
            f" AND {column} IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2"
        )
        rolled = known.query(
            "SELECT day, value AS v, sum(submissions) AS n FROM lead_days WHERE dimension = ? AND value != '' AND submissions > 0"
            " GROUP BY 1, 2 ORDER BY 1, 2",
            (dimension,),
        )
        assert rolled == expected


def test_an_erased_campaign_name_leaves_the_roll_up(db: Store) -> None:
    lead(db, "ada@example.com", "2026-03-01", utm_campaign="ada@example.com")
    assert db.query("SELECT count(*) AS n FROM lead_days WHERE value LIKE '%ada@%'") == [{"n": 1}]
    db.erase_contact("ada@example.com", actor="test")
    assert db.query("SELECT count(*) AS n FROM lead_days") == [{"n": 0}]


def test_downloaded_counts_leads_with_a_download_once_on_the_leads_day(known: Store) -> None:
    def downloaded() -> dict[str, int]:
        return {r["day"]: r["downloaded"] for r in known.daily_counts(None, None, offers=("guide",)) if r["downloaded"]}

    subs = {s["contact_id"]: s["id"] for s in known.submissions()}
    a, b = (known.get_contact_by_email(e)["id"] for e in ("a@example.com", "b@example.com"))
    known.record_download(subs[a], "2026-03-01T11:00:00.000000+00:00")
    known.record_download(subs[a], "2026-03-05T11:00:00.000000+00:00")  # a second download: the same lead
    known.record_download(subs[b], "2026-03-09T12:00:00.000000+00:00")  # counted on the lead's day
    assert downloaded() == {"2026-03-01": 2}
    known.erase_contact("a@example.com", actor="test")  # the lead and its downloads go (a cascade)
    assert downloaded() == {"2026-03-01": 1}
    assert known.dashboard("2026-03-01", "2026-04-01")["offers"][1]["downloaded_by"] == 1


def test_response_seconds_run_from_the_submission_to_its_first_sent_email(known: Store) -> None:
    subs = sorted(s["id"] for s in known.submissions() if s["offer_slug"] == "guide" and not s["spam"])
    for sid, (minutes, kind) in zip(subs, ((1, "delivery"), (30, "delivery"), (5, "confirm")), strict=False):
        made = known.get_submission(sid)["created_at"]
        box = known.enqueue_email(submission_id=sid, contact_id=None, kind=kind, to_addr="x@example.com", subject="s", now=made)
        sent = made.replace("T10:00", f"T10:{minutes:02d}")
        assert known.mark_attempt(box, at=sent, ok=True)
    later = known.enqueue_email(submission_id=subs[0], contact_id=None, kind="reminder", to_addr="x@example.com", subject="s", now="x")
    known.mark_attempt(later, at="2026-03-09T10:00:00.000000+00:00", ok=True)  # a later email: not the response
    assert sorted(known.response_seconds("guide", "2026-03-01", "2026-04-01")) == [60.0, 300.0, 1800.0]
    assert known.response_seconds("guide", "2026-03-01", "2026-04-01", sample=1) == [300.0]  # the newest lead only
    assert known.response_seconds("demo", None, None) == []


def test_the_upgrade_counts_existing_leads_as_the_triggers_count_new_ones(tmp_path: Path) -> None:
    """m010 counts the submissions already stored in Python; the triggers count later ones in SQL."""
    visits = [
        {"utm_source": " News ", "utm_medium": "EMAIL", "referrer": "https://www.Google.com/x", "user_agent": IPHONE},
        {"utm_campaign": "Été", "referrer": "android-app://com.slack/", "user_agent": IPAD},
        {"referrer": "http://user@host.example:80/?a=//b", "user_agent": LINUX},
        {},
    ]

    def fill(store: Store) -> None:
        for i, meta in enumerate(visits * 3):
            kind = "webinar" if i % 2 else "ebook"
            status = "pending" if i % 5 == 0 else "ok"
            store.record_submission(
                offer_slug=f"{kind}-offer",
                offer_type=kind,
                email=f"p{i}@example.com",
                fields={},
                meta=dict(meta),
                status=status,
                spam_reason="honeypot" if i == 7 else None,
                now=f"2026-03-0{1 + i % 3}T10:00:00.000000+00:00",
            )
        for sid in (1, 1, 2, 4, 8):  # two downloads of one lead, one of a spam submission
            store.record_download(sid, "2026-03-05T10:00:00.000000+00:00")

    def roll_up(store: Store) -> list[dict]:
        return store.query("SELECT * FROM lead_days ORDER BY offer_slug, day, dimension, value")

    upgraded = Store(tmp_path / "old.db")
    upgraded.migrate(stop_before="m013_dashboard_rollups")
    fill(upgraded)
    assert upgraded.migrate()[0] == "m013_dashboard_rollups"  # then any later ones
    fresh = Store(tmp_path / "new.db")
    fresh.migrate()
    fill(fresh)
    assert roll_up(upgraded) == roll_up(fresh)
    assert sum(r["downloaded"] for r in roll_up(fresh)) == 3  # leads 1, 2 and 4; not the spam
    owners = "SELECT id, offer_slug, contact_id FROM downloads ORDER BY id"
    assert upgraded.query(owners) == fresh.query(owners) and all(r["offer_slug"] for r in fresh.query(owners))
    assert {r["value"] for r in roll_up(fresh) if r["dimension"] == "referrer"} == {"google.com", "com.slack", "host.example", ""}


def test_the_per_offer_table_is_exact_at_bounds_inside_a_day(db: Store) -> None:
    """Whole UTC days come from the roll-up, the hours at either end from the submissions."""
    for i in range(72):  # one lead an hour for three days, sources by the hour
        source = ["News", "ads", None][i % 3]
        lead(db, f"p{i}@example.com", f"2026-03-0{1 + i // 24}", utm_source=source)
        db.conn.execute(
            "UPDATE submissions SET created_at = ? WHERE id = ?", (f"2026-03-0{1 + i // 24}T{i % 24:02d}:30:00.000000+00:00", i + 1)
        )
    for since, until in (
        ("2026-03-01T05:00:00.000000+00:00", "2026-03-03T07:00:00.000000+00:00"),  # Paris-like bounds: both ends partial
        ("2026-03-01T00:00:00.000000+00:00", "2026-03-02T00:00:00.000000+00:00"),  # one whole day
        ("2026-03-02T10:00:00.000000+00:00", "2026-03-02T12:00:00.000000+00:00"),  # inside a day
        (None, "2026-03-02T23:00:00.000000+00:00"),
        ("2026-03-01T23:00:00.000000+00:00", None),
    ):
        lo, hi = since or "", until or "9999"
        [guide] = db.dashboard(since, until)["offers"]
        expected = db.query("SELECT count(*) AS n FROM submissions WHERE created_at >= ? AND created_at < ?", (lo, hi))[0]["n"]
        by_source = db.query(
            "SELECT lower(utm_source) AS s, count(*) AS n FROM submissions WHERE utm_source IS NOT NULL AND created_at >= ?"
            " AND created_at < ? GROUP BY 1 ORDER BY n DESC, s",
            (lo, hi),
        )
        assert guide["submissions"] == expected, (since, until)
        assert guide["sources"] == [(r["s"], r["n"]) for r in by_source], (since, until)
