"""Correctness across nodes on PostgreSQL: two stores (two nodes' connection pools) on one
database, used from threads at once.

Each claim the single-writer lock (``pg_advisory_xact_lock`` in ``writing()``) must keep, tested
the way several nodes break it: exactly ``capacity`` seats, each due email and each webhook
delivery claimed once, page-view batches added and not overwritten, and a submission committed
while an export reads its cursor exported exactly once. Bounded: a few hundred statements, every
wait with a deadline.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from leadmagnet.store import Store
from tests.support.waiting import wait_until

JOIN = 30.0  # seconds a worker thread may take before the test fails (never reached when correct)


@pytest.fixture
def nodes(pg_url: str) -> Iterator[tuple[Store, Store]]:
    """Two stores on one PostgreSQL database, as two capture nodes have."""
    first, second = Store(pg_url), Store(pg_url)
    first.migrate()
    yield first, second
    first.shutdown()
    second.shutdown()


def run_threads(work: list[tuple[Store | None, Callable[[], None]]]) -> None:
    """Run each ``(store, job)`` on a thread of its own, all released at once; re-raise the first error.

    Each thread takes its store's pooled connection before the start (a pool opens new ones one
    at a time, which would stagger the jobs) and gives it back when done.
    """
    start = threading.Barrier(len(work))
    errors: list[BaseException] = []

    def run(store: Store | None, job: Callable[[], None]) -> None:
        try:
            if store is not None:
                assert store.healthcheck()
            start.wait(timeout=JOIN)
            job()
        except BaseException as exc:
            errors.append(exc)
        finally:
            if store is not None:
                store.close()

    threads = [threading.Thread(target=run, args=pair) for pair in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join(JOIN)
    assert not any(t.is_alive() for t in threads), "a worker thread did not finish"
    if errors:
        raise errors[0]


def register(store: Store, email: str, slug: str, capacity: int) -> bool:
    """What delivery writes for a webinar registration: the lead and its seat (or waitlist place)."""
    with store.transaction() as tx:
        out = tx.record_submission(offer_slug=slug, offer_type="webinar", email=email, fields={})
        return tx.claim_seat(out["submission"]["id"], slug, capacity)


def test_eight_registrations_at_two_nodes_take_exactly_three_seats(nodes: tuple[Store, Store]) -> None:
    for round_ in range(4):  # four webinars: four chances for a race to oversell
        slug = f"live-{round_}"
        seated: list[bool] = []

        def job(n: int, slug: str = slug, seated: list[bool] = seated) -> tuple[Store, Callable[[], None]]:
            store = nodes[n % 2]
            return store, lambda: seated.append(register(store, f"p{n}@example.com", slug, 3))

        run_threads([job(n) for n in range(8)])
        assert sorted(seated) == [False] * 5 + [True] * 3
        assert nodes[0].seats_taken(slug) == 3 and nodes[1].seats_taken(slug) == 3
        assert nodes[1].count_by_status(slug) == {"ok": 3, "waitlisted": 5}


def test_two_senders_at_two_nodes_claim_each_due_email_once(nodes: tuple[Store, Store]) -> None:
    now = datetime.now(UTC)
    queued = set()
    for n in range(60):
        out = nodes[0].record_submission(offer_slug="guide", offer_type="ebook", email=f"r{n}@example.com", fields={})
        queued.add(
            nodes[0].enqueue_email(
                submission_id=out["submission"]["id"],
                contact_id=out["contact_id"],
                kind="delivery",
                to_addr=f"r{n}@example.com",
                subject="Your guide",
                template="delivery",
                now=now.isoformat(timespec="microseconds"),
            )
        )
    claimed: list[int] = []
    due, lease = (now + timedelta(seconds=1)).isoformat(timespec="microseconds"), (now + timedelta(minutes=5)).isoformat()

    def sender(store: Store) -> tuple[Store, Callable[[], None]]:
        def job() -> None:
            while batch := store.claim_due_emails(due, lease, limit=3):
                claimed.extend(row["id"] for row in batch)

        return store, job

    run_threads([sender(nodes[n % 2]) for n in range(4)])
    assert Counter(claimed).most_common(1)[0][1] == 1  # nobody claimed a row another sender holds
    assert set(claimed) == queued
    assert {row["status"] for row in nodes[1].outbox()} == {"sending"}


def test_two_senders_at_two_nodes_claim_each_webhook_delivery_once(nodes: tuple[Store, Store]) -> None:
    now = datetime.now(UTC).isoformat(timespec="microseconds")
    urls = ["https://crm.example/hook", "https://chat.example/hook"]
    for n in range(30):
        nodes[n % 2].enqueue_webhook(event_id=f"evt_{n}", type="lead.created", contact_id=None, body="{}", endpoints=urls, now=now)
    expected = {row["id"] for row in nodes[0].webhook_deliveries(limit=1000)}
    assert len(expected) == 60
    claims: list[tuple[int, str]] = []
    lease = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()

    def sender(store: Store, name: str) -> tuple[Store, Callable[[], None]]:
        def job() -> None:
            while row := store.claim_webhook(now=now, lease_until=lease, claim=name, endpoints=urls):
                claims.append((row["id"], name))

        return store, job

    run_threads([sender(nodes[n % 2], f"sender-{n}") for n in range(4)])
    assert Counter(delivery for delivery, _ in claims).most_common(1)[0][1] == 1
    assert {delivery for delivery, _ in claims} == expected
    # Each row holds the claim of the sender that got it: only that one may record its failure.
    held = {row["id"]: row["claim"] for row in nodes[1].webhook_deliveries(limit=1000)}
    assert held == dict(claims)


def test_page_view_batches_from_two_nodes_add_up(nodes: tuple[Store, Store]) -> None:
    day = "2026-03-01"
    batch = {("guide", day, ""): 3, ("guide", day, "ads"): 1, ("guide", day, "ads", "cpc", "spring", "search.example", "mobile"): 2}

    def flusher(store: Store) -> tuple[Store, Callable[[], None]]:
        def job() -> None:
            for _ in range(20):
                store.add_page_views(batch)

        return store, job

    run_threads([flusher(nodes[n % 2]) for n in range(4)])
    # 4 threads x 20 batches: every batch added, none overwritten by another node's
    assert {row["utm_source"]: row["views"] for row in nodes[0].page_views("guide")} == {"": 80 * 3, "ads": 80 * 3}
    details = nodes[1].query("SELECT dimension, value, views FROM page_view_details WHERE offer_slug = 'guide' ORDER BY dimension")
    assert [(d["dimension"], d["value"], d["views"]) for d in details] == [
        ("campaign", "spring", 160),
        ("device", "mobile", 160),
        ("medium", "cpc", 160),
        ("referrer", "search.example", 160),
    ]


def submit(store: Store, email: str) -> int:
    return store.record_submission(offer_slug="guide", offer_type="ebook", email=email, fields={})["submission"]["id"]


def exported_after(store: Store, cursor: int) -> list[int]:
    """An incremental export's rows: the submissions after the cursor, as a reader sees them now."""
    return [row["id"] for row in store.submissions() if row["id"] > cursor]


def advisory_waiters(store: Store) -> int:
    """Connections waiting for an advisory lock (the write lock) in this database (the server may hold others)."""
    return int(
        store.query_one(
            "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )["n"]
    )


def test_a_submission_committed_while_the_export_reads_its_cursor_is_exported_once(nodes: tuple[Store, Store]) -> None:
    first, second = nodes
    watcher = Store(first.path)  # a third connection, to look at the locks
    for n in range(2):
        submit(first, f"early{n}@example.com")
    inserted, release = threading.Event(), threading.Event()
    ids: dict[str, int] = {}

    def slow_node() -> None:  # a node whose transaction has its id but has not committed yet
        with first.transaction() as tx:
            ids["slow"] = tx.record_submission(offer_slug="guide", offer_type="ebook", email="slow@example.com", fields={})["submission"][
                "id"
            ]
            inserted.set()
            assert release.wait(JOIN)

    def fast_node() -> None:  # another node writing meanwhile: it waits for the write lock
        assert inserted.wait(JOIN)
        ids["fast"] = submit(second, "fast@example.com")

    threads = [threading.Thread(target=slow_node), threading.Thread(target=fast_node)]
    for t in threads:
        t.start()
    try:
        assert inserted.wait(JOIN)
        wait_until(lambda: advisory_waiters(watcher) == 1, what="the second node waits for the write lock")
        cursor = second.max_submission_id()  # a read: it never waits for the lock
        assert cursor == 2 and exported_after(second, cursor) == []
    finally:
        release.set()
        for t in threads:
            t.join(JOIN)
    assert ids["slow"] < ids["fast"]  # ids are committed in id order
    batch = exported_after(second, cursor)
    assert batch == [ids["slow"], ids["fast"]]
    assert exported_after(second, max(batch)) == []  # the next export: nothing twice
    watcher.shutdown()


def test_incremental_exports_during_writes_at_two_nodes_see_every_submission_once(nodes: tuple[Store, Store]) -> None:
    exported: list[int] = []
    writing = threading.Event()
    writing.set()

    def writer(store: Store, n: int) -> tuple[Store, Callable[[], None]]:
        def job() -> None:
            for i in range(15):
                submit(store, f"w{n}-{i}@example.com")

        return store, job

    def exporter() -> None:
        cursor = 0
        while True:
            done = not writing.is_set()  # read before the export: its last pass follows every commit
            batch = exported_after(nodes[1], cursor)
            exported.extend(batch)
            cursor = max(batch, default=cursor)
            if done:
                return

    def writers() -> None:
        try:
            run_threads([writer(nodes[n % 2], n) for n in range(4)])
        finally:
            writing.clear()

    run_threads([(None, writers), (nodes[1], exporter)])
    assert len(exported) == 60 and sorted(set(exported)) == sorted(exported)
    assert set(exported) == {row["id"] for row in nodes[0].submissions()}


def test_threads_that_end_without_closing_give_their_connections_back(pg_url: str) -> None:
    """A worker thread (a thread pool's, a test's) that never calls close(): its pooled connection
    goes back when it ends, so three times the pool's size of them still each get one."""
    from leadmagnet.store.postgres import POOL_SIZE

    store = Store(pg_url)
    store.migrate()
    answers: list[int] = []
    for n in range(3 * POOL_SIZE):  # one at a time: a leaked connection makes the pool's ninth wait fail
        thread = threading.Thread(target=lambda: answers.append(store.seats_taken("live")))
        thread.start()
        thread.join(JOIN)
        assert len(answers) == n + 1, f"thread {n + 1} got no connection from a pool of {POOL_SIZE}"
    store.shutdown()
