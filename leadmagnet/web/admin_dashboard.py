"""The admin's dashboard, ``/admin/``, and its tables as CSV downloads, ``/admin/dashboard/<table>.csv``.

Routes of the admin blueprint (login required, like every admin page), in a module of their own.
The page shows, for the chosen period of UTC days: the per-offer table, the email and webhook
health notices, the charts, the funnel and the breakdowns (shaped by
:mod:`leadmagnet.web.dashboard_views`), and the A/B tests with the decision in words (the same
report as ``leadmagnet report``, :mod:`leadmagnet.experiments`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Response, abort, request

from leadmagnet.web import current_services, dashboard_views
from leadmagnet.web.admin import ActionForm, bp, login_required, render, zone
from leadmagnet.web.admin_views import period_args

# An email due this long ago and still not sent means no sender is running (the dashboard says so).
STUCK_MINUTES = 15


@bp.get("/")
@login_required
def dashboard() -> Response:
    since, until, days = period_args(zone())
    services = current_services()
    data = services.store.dashboard(since, until, view_days=days)
    stuck_before = (datetime.now(UTC) - timedelta(minutes=STUCK_MINUTES)).isoformat(timespec="microseconds")
    emails = services.store.email_health(stuck_before, since, until)
    return render(
        "dashboard.html",
        data=data,
        emails=emails,
        stuck_minutes=STUCK_MINUTES,
        hooks_disabled=services.webhooks.disabled(),
        # A/B tests with the decision in words, over the charts' UTC days (as `leadmagnet report --since/--until`):
        # views are counted per UTC day, so a day of the admin's zone would pair them with other hours' leads.
        ab=services.ab.report(since=days[0], until=days[1])["offers"],
        since=request.args.get("since", ""),
        until=request.args.get("until", ""),
        logout=ActionForm(),
        **dashboard_views.build(services, *days),
    )


@bp.get("/dashboard/<table>.csv")
@login_required
def dashboard_csv(table: str) -> Response:
    """One of the dashboard's tables (the daily numbers, a breakdown, the funnel) as a CSV download."""
    if table not in dashboard_views.TABLES:
        abort(404)
    text = dashboard_views.csv_table(table, dashboard_views.build(current_services(), *period_args(zone())[2]))
    disposition = f'attachment; filename="dashboard-{table}.csv"'
    return Response(text, content_type="text/csv; charset=utf-8", headers={"Content-Disposition": disposition, "Cache-Control": "no-store"})
