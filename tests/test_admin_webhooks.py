"""The admin's webhooks page: deliveries per endpoint, and its three buttons behind CSRF tokens."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from leadmagnet.delivery.endpoints import EVENTS, new_secret
from leadmagnet.web import services_of
from leadmagnet.web.admin import add_admin
from tests.support.content import csrf_token, write_ebook
from tests.support.receiver import Receiver

pytestmark = pytest.mark.both_backends  # the admin and page-view paths on SQLite and on PostgreSQL

PASSWORD = "correct horse battery staple"


def test_the_page_lists_deliveries_and_every_button_needs_a_csrf_token(make_app, content_dir) -> None:
    write_ebook(content_dir, "handbook", b"%PDF-1.4\n%%EOF\n", filename="handbook.pdf")
    receiver = Receiver(secret=new_secret(), answers=[500]).start()
    try:
        hook = {"url": receiver.url, "secret": receiver.secret, "events": list(EVENTS)}
        app = make_app(RATE_LIMIT="off", ADMIN_LOGIN_LIMIT="off", WEBHOOK_ALLOW_PRIVATE=True, WEBHOOKS=[hook])
        services = services_of(app)
        add_admin(services.store, "boss@example.com", PASSWORD)
        client = app.test_client()
        assert client.post("/handbook", data={"email": "ada@example.com"}).status_code == 303
        services.deliveries.send_once(datetime.now(UTC))  # answered 500: queued for a retry

        login = client.get("/admin/login").get_data(as_text=True)
        client.post("/admin/login", data={"email": "boss@example.com", "password": PASSWORD, "csrf_token": csrf_token(login)})
        page = client.get("/admin/webhooks").get_data(as_text=True)
        assert receiver.url in page and 'data-state="failing"' in page
        row = re.search(r'<tr data-status="queued">(.*?)</tr>', page, re.S).group(1)
        assert "lead.created" in row and '<td class="num">1</td>' in row and '<td class="num">500</td>' in row and "answered 500" in row

        for action in ("test", "retry", "enable"):
            assert client.post(f"/admin/webhooks/1/{action}").status_code == 400
            assert client.post(f"/admin/webhooks/1/{action}", data={"csrf_token": "forged"}).status_code == 400
        assert len(receiver.received) == 1

        receiver.answers = [200]
        tested = client.post("/admin/webhooks/1/test", data={"csrf_token": csrf_token(page)})
        assert tested.status_code == 200 and "the receiver answered 200" in tested.get_data(as_text=True)
        assert receiver.received[-1].type == "webhook.test" and receiver.received[-1].verified
        retried = client.post("/admin/webhooks/1/retry", data={"csrf_token": csrf_token(page)}, follow_redirects=True)
        assert "1 undelivered event is due now for endpoint 1" in retried.get_data(as_text=True)
        services.deliveries.send_once()
        assert services.store.webhook_deliveries()[0]["status"] == "delivered"
        assert client.post("/admin/webhooks/9/test", data={"csrf_token": csrf_token(page)}).status_code == 404
        actions = [e["action"] for e in services.store.audit_entries()]
        assert "webhook_test" in actions and "webhook_retry" in actions
    finally:
        receiver.stop()
