"""Commands for leads: send the queued emails, export for a CRM, manage admins, erase and show a contact."""

from __future__ import annotations

import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from leadmagnet.cli.base import Context, cli, pass_ctx


@cli.command()
@click.option("--watch", is_flag=True, help="Keep running: check the outbox every LEADMAGNET_SEND_INTERVAL seconds until stopped.")
@pass_ctx
def send(ctx: Context, watch: bool) -> None:
    """Send the queued emails (and queue due webinar reminders), then exit.

    With no LEADMAGNET_SMTP_HOST, emails are written to instance/outbox/*.eml instead.
    Example: leadmagnet send --watch
    """

    def show(report: Any) -> None:
        if report.busy or not watch:
            click.echo(str(report), err=True)
        for path in report.written:
            click.echo(f"wrote {path}")

    stop = threading.Event()
    if watch:
        # Ctrl-C and a service manager's SIGTERM end the watch after the pass under way; handlers of
        # our own, so that a SIGINT ignored by the shell that started us (a background job) still stops it.
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, lambda *_: stop.set())
    report = ctx.services.deliveries.run_sender(watch=watch, on_pass=show, stop=stop)
    if watch:
        click.echo("stopped", err=True)
        return
    sys.exit(1 if report.failed else 0)


def _export_filters(fn: Any) -> Any:
    """The filters shared by every export (the admin's export page offers the same)."""
    options = [
        click.option("--offer", "offers", multiple=True, metavar="SLUG", help="Only this offer (repeat for several)."),
        click.option("--tag", help="Only submissions of offers with this tag."),
        click.option("--since", metavar="DATE", help="Only submissions at or after this ISO 8601 date or time (UTC)."),
        click.option("--until", metavar="DATE", help="Only submissions before this ISO 8601 date or time (UTC)."),
        click.option("--consented-only", is_flag=True, help="Only contacts who ticked a consent box (and are not awaiting opt-in)."),
        click.option("--include-spam", is_flag=True, help="Also export submissions stored as spam."),
        click.option("--include-unsubscribed", is_flag=True, help="Also export contacts who unsubscribed."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _iso_option(name: str, value: str | None) -> str | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 date or time; write 2026-01-31 or 2026-01-31T09:00:00Z", param_hint=name
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


@cli.command("export")
@click.option(
    "-f",
    "--format",
    "preset",
    default="generic",
    show_default=True,
    help="Preset: generic, hubspot, mailchimp, salesforce, or one from instance/config.toml.",
)
@click.option("--jsonl", "output", flag_value="jsonl", help="Write JSON Lines instead of CSV.")
@click.option("--csv", "output", flag_value="csv", default=True, help="Write CSV (the default).")
@click.option("--submissions", "kind", flag_value="submissions", help="One row per form submission instead of one per contact.")
@click.option("--contacts", "kind", flag_value="contacts", default=True, help="One row per contact (the default).")
@click.option(
    "-o",
    "--output-file",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to FILE (safely: temp file, fsync, rename) instead of stdout.",
)
@click.option(
    "--excel", is_flag=True, help="A CSV to open in Excel: a UTF-8 byte-order mark (accents right) and phone numbers kept as text."
)
@click.option(
    "--split",
    type=click.IntRange(min=0),
    help="At most N rows per file, written as FILE-001.csv, FILE-002.csv… (salesforce: 50000; 0: one file).",
)
@click.option(
    "--since-last", metavar="NAME", help="Only what arrived since the last run with this NAME; the cursor moves once the file is written."
)
@_export_filters
@pass_ctx
def export_command(
    ctx: Context,
    preset: str,
    output: str,
    kind: str,
    out: Path | None,
    excel: bool,
    split: int | None,
    since_last: str | None,
    offers: tuple[str, ...],
    tag: str | None,
    since: str | None,
    until: str | None,
    consented_only: bool,
    include_spam: bool,
    include_unsubscribed: bool,
) -> None:
    """Export contacts (or submissions) as CSV or JSON Lines for a CRM, streaming.

    \b
    Examples:
      leadmagnet export -f hubspot -o hubspot.csv
      leadmagnet export -f salesforce -o leads.csv            # leads-001.csv, 50,000 rows each
      leadmagnet export -f mailchimp --consented-only --since-last mailchimp -o new.csv
      leadmagnet export --submissions --jsonl --offer growth-playbook > subs.jsonl
    """
    import io
    import os

    from leadmagnet.export.exports import ExportError
    from leadmagnet.store.reports import Filters

    filters = Filters(
        offers=offers,
        tag=tag,
        since=_iso_option("--since", since),
        until=_iso_option("--until", until),
        include_spam=include_spam,
        include_unsubscribed=include_unsubscribed,
        consented_only=consented_only,
    )
    exports = ctx.exports
    try:
        request = exports.prepare(
            filters, kind=kind, preset=preset, output=output, excel=excel, split=split, since_last=since_last, single_stream=out is None
        )
        if out is not None and sys.stderr.isatty():
            from rich.progress import Progress

            with Progress(transient=True) as progress:
                task = progress.add_task("Exporting", total=exports.count(request))
                result = exports.write(request, out, on_row=lambda n: progress.update(task, completed=n) if n % 1000 == 0 else None)
        elif out is not None:
            result = exports.write(request, out)
        else:
            # UTF-8 and no newline translation, whatever the terminal's locale says.
            stdout = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="")
            try:
                result = exports.write(request, stdout)
            finally:
                stdout.detach()
    except ExportError as exc:
        raise click.ClickException(str(exc)) from None
    except BrokenPipeError:
        # The reader (| head) went away: stop quietly, and move no cursor (export raised first).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except OSError as exc:
        raise click.ClickException(f"{out or 'stdout'}: {exc.strerror or exc}") from None
    files = ", ".join(str(f) for f in result.files) or "stdout"
    click.echo(
        f"exported {result.rows} {kind} to {files}"
        + (f" (cursor {since_last!r} at submission {result.cursor})" if since_last and result.cursor else ""),
        err=True,
    )


@cli.group()
def admin() -> None:
    """Manage admin users (who can log in at /admin).

    Example: leadmagnet admin add you@example.com
    """


@admin.command("add")
@click.argument("email")
@pass_ctx
def admin_add(ctx: Context, email: str) -> None:
    """Create an admin user, or set a new password. The password is prompted, or read from stdin.

    \b
    Examples:
      leadmagnet admin add you@example.com
      printf '%s\\n' "$PASSWORD" | leadmagnet admin add you@example.com
    """
    from leadmagnet.web.admin import add_admin

    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        user_id = add_admin(ctx.services.store, email, password)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"admin user {email.strip().lower()} saved (id {user_id}); log in at /admin/login")


@cli.command()
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_ctx
def erase(ctx: Context, email: str, yes: bool) -> None:
    """Erase a contact: every row naming them, outbox included, with an audit entry (no personal data),
    and their bytes in the instance folder (the database's free space and WAL, their .eml files).

    Example: leadmagnet erase someone@example.com --yes
    """
    if not yes:
        click.confirm(f"Erase {email} and everything stored about them? This cannot be undone", abort=True)
    erased = ctx.services.erasure.erase(email.strip().lower(), actor="cli")
    if erased is None:
        raise click.ClickException(f"no contact with email {email!r}; `leadmagnet export` lists the stored addresses")
    click.echo(f"erased: {erased}")
    if not erased.wal_emptied:
        click.echo("warning: another process was reading; the database's WAL keeps old pages until its next checkpoint", err=True)


@cli.command()
@click.argument("email")
@pass_ctx
def contact(ctx: Context, email: str) -> None:
    """Print everything stored about one contact as JSON (for an access request), with their score,
    lifecycle stage and where they are in each follow-up sequence.

    Example: leadmagnet contact someone@example.com > someone.json
    """
    import json

    from leadmagnet.delivery.scoring import stage_of

    services = ctx.services
    record = services.store.contact_record(email.strip().lower())
    if record is None:
        raise click.ClickException(f"no contact with email {email!r}")
    record["score"] = stage_of(record["contact"])
    record["sequences"] = services.deliveries.sequences.positions(record["contact"]["id"])
    click.echo(json.dumps(record, indent=2, ensure_ascii=False, default=str))
