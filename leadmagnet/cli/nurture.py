"""Commands for nurturing leads: webinar attendance.

(Where a contact stands in each sequence, and their score and stage, are part of
``leadmagnet contact``: see :mod:`.leads`.)
"""

from __future__ import annotations

from pathlib import Path

import click

from leadmagnet.cli.base import Context, cli, pass_ctx


@cli.command()
@click.argument("offer")
@click.argument("report", type=click.Path(dir_okay=False, path_type=Path))
@pass_ctx
def attendance(ctx: Context, offer: str, report: Path) -> None:
    """Import a webinar's attendee report (CSV): mark each registrant attended or no-show.

    The email column is found by its header (Zoom's Email or User Email, Google Meet's Email, and
    the like); a Zoom report's Attended column (Yes/No) is read too. Attending adds the `attended`
    points of [scoring]; no-shows of a webinar with replay_url get the replay email (run
    `leadmagnet send`, or the server sends it). Importing a report again changes nothing twice.

    Example: leadmagnet attendance q1-product-demo zoom-attendees.csv
    """
    from leadmagnet.delivery.attendance import AttendanceError
    from leadmagnet.leads.attendance import ReportError, read_report

    services = ctx.services
    page = services.catalog.get(offer)
    if page is None:
        known = ", ".join(sorted(o.slug for o in services.catalog.offers() if o.type == "webinar")) or "none"
        raise click.ClickException(f"no offer {offer!r} in the content folder; webinars: {known}")
    try:
        parsed = read_report(report)
        done = services.deliveries.record_attendance(page.offer, parsed)
    except (ReportError, AttendanceError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{offer}: {done} (email column: {', '.join(dict.fromkeys(parsed.columns))})")
    for address in done.not_registered[:20]:
        click.echo(f"  not registered: {address}", err=True)
    if parsed.blank:
        click.echo(f"  {parsed.blank} rows had no email address (guests who joined without one)", err=True)
