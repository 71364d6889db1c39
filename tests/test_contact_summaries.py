"""``contact_summaries`` stays equal to each contact's non-spam submissions grouped afresh, through
every insert, "Not spam", update and erasure, on both backends."""

from __future__ import annotations

import pytest

from leadmagnet.store import DELIVERED, contact_summaries

pytestmark = pytest.mark.both_backends

COLUMNS = contact_summaries.COLUMNS.split(", ")


def summaries(store) -> list[tuple]:
    rows = store.query(f"SELECT {contact_summaries.COLUMNS} FROM contact_summaries ORDER BY contact_id")  # noqa: S608
    return [tuple(row[c] for c in COLUMNS) for row in rows]


def grouped_afresh(store) -> list[tuple]:
    """What the export's GROUP BY gives (the definition the table keeps), in Python from the raw rows."""
    rows = store.query("SELECT id, contact_id, offer_slug, tags, stage, consent_at FROM submissions WHERE spam = 0 ORDER BY contact_id, id")
    found: dict[int, list] = {}
    rank = {"bofu": 3, "mofu": 2, "tofu": 1}
    for r in rows:
        offers, tags, stage, count, consent, first, _last = found.get(r["contact_id"], [None, None, 0, 0, None, r["id"], r["id"]])
        consent = max((c for c in (consent, r["consent_at"]) if c is not None), default=None)
        found[r["contact_id"]] = [
            r["offer_slug"] if offers is None else f"{offers},{r['offer_slug']}",
            r["tags"] if tags is None else f"{tags}\x1f{r['tags']}",
            max(stage, rank.get(r["stage"], 0)),
            count + 1,
            consent,
            first,
            r["id"],
        ]
    return [(contact, *values) for contact, values in sorted(found.items())]


def submit(store, email: str, offer: str = "growth-playbook", **kwargs) -> dict:
    return store.record_submission(offer_slug=offer, offer_type="ebook", email=email, fields={}, **kwargs)


def test_the_summaries_follow_every_insert_release_update_and_erasure(store) -> None:
    submit(store, "a@example.com", tags=("ebook", "2026"), stage="tofu")
    submit(store, "a@example.com", offer="q1-product-demo", tags=("webinar",), stage="mofu", consent_text="yes")
    submit(store, "a@example.com", offer="seo-checklist", tags=("ebook",), stage="tofu")
    spam = submit(store, "b@example.com", spam_reason="honeypot", tags=("x",), stage="bofu")
    submit(store, "c@example.com", consent_text="yes")
    assert summaries(store) == grouped_afresh(store)
    assert [row[0] for row in summaries(store)] == sorted(
        {r["contact_id"] for r in store.query("SELECT contact_id FROM submissions WHERE spam = 0")}
    )
    a = summaries(store)[0]
    assert a[1:5] == ("growth-playbook,q1-product-demo,seo-checklist", '["ebook", "2026"]\x1f["webinar"]\x1f["ebook"]', 2, 3)

    store.release_spam(spam["submission"]["id"], DELIVERED)  # "Not spam": b becomes a lead
    assert summaries(store) == grouped_afresh(store)
    assert spam["contact_id"] in [row[0] for row in summaries(store)]

    # a raw update of what a summary reads (the sqlite3 shell, a fix by hand)
    store.conn.execute("UPDATE submissions SET stage = 'bofu', tags = '[\"moved\"]' WHERE contact_id = ?", (spam["contact_id"],))
    assert summaries(store) == grouped_afresh(store)

    store.erase_contact("a@example.com")
    assert summaries(store) == grouped_afresh(store)
    assert a[0] not in [row[0] for row in summaries(store)]


def test_a_submission_stored_with_an_older_id_is_put_in_its_place(store) -> None:
    """An id given explicitly (lower than the contact's last) is not appended: the row is worked out again."""
    ids = [submit(store, "d@example.com", tags=(tag,))["submission"]["id"] for tag in ("one", "two", "three")]
    contact = store.query("SELECT contact_id FROM submissions WHERE id = ?", (ids[0],))[0]["contact_id"]
    store.conn.execute("DELETE FROM submissions WHERE id = ?", (ids[1],))
    assert summaries(store) == grouped_afresh(store)
    store.conn.execute(
        "INSERT INTO submissions (id, contact_id, offer_slug, offer_type, data, created_at, tags, stage)"
        " VALUES (?, ?, 'seo-checklist', 'ebook', '{}', '2026-01-01T00:00:00.000000+00:00', '[\"two again\"]', 'bofu')",
        (ids[1], contact),
    )
    assert summaries(store) == grouped_afresh(store)
    assert summaries(store)[0][1:5] == ("growth-playbook,seo-checklist,growth-playbook", '["one"]\x1f["two again"]\x1f["three"]', 3, 3)
