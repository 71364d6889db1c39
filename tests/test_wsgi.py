"""The production entry point: gunicorn with ``leadmagnet.gunicorn_conf`` serves the app, and a
normal stop writes the views counted in memory (no view lost, no write per request)."""

from __future__ import annotations

import urllib.request

import pytest

from leadmagnet import gunicorn_conf
from leadmagnet.store import Store
from tests.support.servers import gunicorn, leadmagnet_env

pytestmark = pytest.mark.slow


def test_config_has_documented_production_defaults() -> None:
    assert gunicorn_conf.worker_class == "gthread"
    assert gunicorn_conf.workers >= 2 and gunicorn_conf.threads >= 2
    assert gunicorn_conf.timeout > 0 and gunicorn_conf.keepalive > 0
    assert gunicorn_conf.graceful_timeout >= gunicorn_conf.timeout
    assert callable(gunicorn_conf.worker_exit)
    # Recycled workers restart now and then, not all at once, and not every few seconds under load.
    assert gunicorn_conf.max_requests >= 100_000 and 0 < gunicorn_conf.max_requests_jitter < gunicorn_conf.max_requests


def test_views_counted_in_memory_are_written_when_gunicorn_stops(tmp_path, content_dir) -> None:
    instance = tmp_path / "instance"
    # A flush interval far longer than the test: only the stop can write the counts.
    settings = {"CONTENT_DIR": content_dir, "INSTANCE_DIR": instance, "VIEW_FLUSH_SECONDS": 3600}
    with gunicorn(leadmagnet_env(settings), workers=2, log=tmp_path / "gunicorn.log") as server:
        for i in range(6):
            with urllib.request.urlopen(f"{server.url}/growth-playbook?utm_source=test{i % 2}", timeout=10) as response:
                assert response.status == 200
        beacon = urllib.request.Request(f"{server.url}/beacon", data=b"slug=seo-checklist&utm_source=cdn", method="POST")
        with urllib.request.urlopen(beacon, timeout=10) as response:
            assert response.status == 204
        store = Store(instance / "leadmagnet.db")
        assert store.page_views() == []
        assert server.stop() == 0
    assert [(r["offer_slug"], r["utm_source"], r["views"]) for r in store.page_views()] == [
        ("growth-playbook", "test0", 3),
        ("growth-playbook", "test1", 3),
        ("seo-checklist", "cdn", 1),
    ]
