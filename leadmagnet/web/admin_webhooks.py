"""The admin's webhooks page, ``/admin/webhooks``: each endpoint's health and recent deliveries, and its actions.

Routes of the admin blueprint (login required, like every admin page), in a module of their own.
Each endpoint of ``[[webhooks]]`` is shown with its state (disabled, and why; resting after
failures), its deliveries by status, and the most recent ones (event, status, attempts, next
try, response code, error). Three buttons, each a POST carrying a CSRF token:

- **Send a test event**: a signed ``webhook.test`` POST, now; the page shows the answer;
- **Retry now**: every undelivered event (failed ones too) is due at once, for the sender's next pass;
- **Enable** (when disabled): deliveries resume, its failure count reset (what "Retry now" also does).

Endpoints are named by their place in config.toml (``/admin/webhooks/1/test``): the page shows
the same list the server loaded at its start.
"""

from __future__ import annotations

from flask import Response, abort, g, redirect, request, url_for

from leadmagnet.delivery.endpoints import Endpoint
from leadmagnet.web import current_services
from leadmagnet.web.admin import AUDIT_ACTIONS, ActionForm, bp, login_required, render

# What a redirect after an action may say (a known word: no text is reflected).
DONE = ("retried", "enabled")


def _endpoint(number: int) -> Endpoint:
    endpoints = current_services().webhooks.endpoints
    if not 1 <= number <= len(endpoints):
        abort(404)
    return endpoints[number - 1]


def _page(**context: object) -> Response:
    done = request.args.get("done")
    return render(
        "webhooks.html",
        overview=current_services().webhooks.overview(),
        action=ActionForm(),
        done=done if done in DONE else None,
        count=request.args.get("n", type=int),
        number=request.args.get("hook", type=int),
        logout=ActionForm(),
        **context,
    )


@bp.get("/webhooks")
@login_required
def webhooks() -> Response:
    return _page()


@bp.post("/webhooks/<int:number>/test")
@login_required
def webhook_test(number: int) -> Response:
    """Send a signed test event now and show what the receiver answered."""
    if not ActionForm().validate_on_submit():
        abort(400)
    endpoint = _endpoint(number)
    answer = current_services().webhooks.send_test(endpoint.url)
    current_services().store.audit(g.admin["email"], "webhook_test", {"endpoint": number, "code": answer.code})
    return _page(tested=number, answer=answer)


@bp.post("/webhooks/<int:number>/retry")
@login_required
def webhook_retry(number: int) -> Response:
    """Make every undelivered event of the endpoint due now (and enable it)."""
    if not ActionForm().validate_on_submit():
        abort(400)
    endpoint = _endpoint(number)
    count, _enabled = current_services().webhooks.retry_now(endpoint.url)
    current_services().store.audit(g.admin["email"], "webhook_retry", {"endpoint": number, "events": count})
    return redirect(url_for("admin.webhooks", done="retried", n=count, hook=number), code=303)


@bp.post("/webhooks/<int:number>/enable")
@login_required
def webhook_enable(number: int) -> Response:
    """Deliver to a disabled endpoint again."""
    if not ActionForm().validate_on_submit():
        abort(400)
    endpoint = _endpoint(number)
    current_services().store.enable_webhook_endpoint(endpoint.url)
    current_services().store.audit(g.admin["email"], "webhook_enable", {"endpoint": number})
    return redirect(url_for("admin.webhooks", done="enabled", hook=number), code=303)


AUDIT_ACTIONS.update(
    {
        "webhook_test": "Sent a webhook test event",
        "webhook_retry": "Retried a webhook endpoint's events now",
        "webhook_enable": "Enabled a disabled webhook endpoint",
    }
)
