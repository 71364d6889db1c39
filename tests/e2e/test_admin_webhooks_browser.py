"""The admin's webhooks page in a real Chromium against a real server: a disabled endpoint is
announced on the dashboard; send a test event, retry now, and see the delivery (real CSRF tokens)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from leadmagnet.delivery.endpoints import EVENTS, new_secret
from leadmagnet.web import services_of
from leadmagnet.web.admin import add_admin
from tests.support.content import write_ebook
from tests.support.receiver import Receiver
from tests.support.servers import start_live_server

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple"


def test_admin_webhooks_page(make_app, content_dir, page: Page) -> None:
    write_ebook(content_dir, "handbook", b"%PDF-1.4\n%%EOF\n", filename="handbook.pdf")
    receiver = Receiver(secret=new_secret(), answers=[503]).start()
    hook = {"url": receiver.url, "secret": receiver.secret, "events": list(EVENTS)}
    app = make_app(RATE_LIMIT="off", WEBHOOK_ALLOW_PRIVATE=True, WEBHOOK_DISABLE_AFTER=1, WEBHOOKS=[hook])
    services = services_of(app)
    add_admin(services.store, "boss@example.com", PASSWORD)
    server = start_live_server(app)
    try:
        assert app.test_client().post("/handbook", data={"email": "ada@example.com"}).status_code == 303
        services.deliveries.send_once(datetime.now(UTC))  # 503 once: disabled (WEBHOOK_DISABLE_AFTER=1)

        page.goto(server.url + "/admin/")
        page.get_by_label("Email").fill("boss@example.com")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.locator("#webhooks-disabled")).to_contain_text("1 webhook endpoint is disabled")
        page.get_by_role("link", name="See the webhooks").click()
        section = page.locator("#endpoint-1")
        expect(section.locator('[data-state="disabled"]')).to_contain_text("1 consecutive failed attempts")
        expect(section.locator('tr[data-status="queued"]')).to_contain_text("503")
        assert [f"{v['id']}: {v['help']}" for v in Axe().run(page).response["violations"]] == []

        receiver.answers = [200]
        section.get_by_role("button", name="Send a test event").click()
        expect(page.locator("#test-result")).to_contain_text("the receiver answered 200")
        page.locator("#endpoint-1").get_by_role("button", name="Retry now").click()
        expect(page.locator("#done")).to_contain_text("1 undelivered event is due now")
        expect(page.locator('#endpoint-1 [data-state="disabled"]')).to_have_count(0)  # retrying enabled it
        services.deliveries.send_once()
        page.reload()
        expect(page.locator('#endpoint-1 tr[data-status="delivered"]')).to_contain_text("lead.created")
        assert [r.answered for r in receiver.received] == [503, 200, 200]
        assert all(r.verified for r in receiver.received)
    finally:
        server.stop()
        receiver.stop()
