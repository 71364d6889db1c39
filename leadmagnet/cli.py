"""The ``leadmagnet`` command: a thin click skin over the library.

Each command parses its options, calls one domain function, and prints. ``--content`` and
``--instance`` (before the command name) choose the folders, like the ``LEADMAGNET_CONTENT_DIR``
and ``LEADMAGNET_INSTANCE_DIR`` settings. Errors exit non-zero with a message naming the file or key.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from leadmagnet.app import create_app
from leadmagnet.content.catalog import load_catalog
from leadmagnet.content.offer import KEYS, RESERVED_SLUGS, SLUG_RE, TYPES
from leadmagnet.foundation import config

if TYPE_CHECKING:
    from flask import Flask


class Context:
    """Lazily builds the app once per CLI run, with the folders given on the command line."""

    def __init__(self, overrides: dict[str, Any]) -> None:
        self.overrides = overrides
        self._app: Flask | None = None

    @property
    def app(self) -> Flask:
        if self._app is None:
            try:
                self._app = create_app(self.overrides)
            except ValueError as exc:  # a bad setting or config file: its message names it
                raise click.ClickException(str(exc)) from None
        return self._app

    def settings(self) -> dict[str, Any]:
        """The resolved settings, without building the app; a bad value exits with its message."""
        try:
            return config.resolve(self.overrides)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None


pass_ctx = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--content", "content_dir", type=click.Path(file_okay=False, path_type=Path), help="Content folder (LEADMAGNET_CONTENT_DIR).")
@click.option(
    "--instance", "instance_dir", type=click.Path(file_okay=False, path_type=Path), help="Instance folder (LEADMAGNET_INSTANCE_DIR)."
)
@click.version_option(package_name="leadmagnet")
@click.pass_context
def cli(ctx: click.Context, content_dir: Path | None, instance_dir: Path | None) -> None:
    """Markdown-first landing pages and lead magnets.

    \b
    Quick start:
      leadmagnet new ebook growth-playbook   # write content/growth-playbook.md
      leadmagnet check                       # validate every offer
      leadmagnet serve                       # http://127.0.0.1:5000/growth-playbook
    """
    overrides: dict[str, Any] = {}
    if content_dir is not None:
        overrides["CONTENT_DIR"] = str(content_dir)
    if instance_dir is not None:
        overrides["INSTANCE_DIR"] = str(instance_dir)
    ctx.obj = Context(overrides)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option("--reload/--no-reload", default=False, help="Restart when Python code changes (content and themes reload without it).")
@pass_ctx
def serve(ctx: Context, host: str, port: int, reload: bool) -> None:
    """Run the development server.

    Content and theme files are re-read after each save, without a restart. For production use
    gunicorn (see the README). Example: leadmagnet serve --port 8000
    """
    app = ctx.app
    catalog = app.extensions["leadmagnet"].catalog
    click.echo(f"Serving {len(catalog.pages)} offers from {catalog.content_dir} on http://{host}:{port}/", err=True)
    for problem in catalog.problems:
        click.echo(f"  {problem}", err=True)
    app.run(host=host, port=port, debug=False, use_reloader=reload, threaded=True)


@cli.command()
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@pass_ctx
def check(ctx: Context, strict: bool) -> None:
    """Validate every offer and list all problems; exit 1 if any offer is broken.

    Example: leadmagnet check --strict
    """
    settings = ctx.settings()
    content_dir = Path(settings["CONTENT_DIR"])
    from leadmagnet.render.themes import Themes

    themes = Themes(Path(settings["THEMES_DIR"]))
    catalog = load_catalog(content_dir, check_theme=themes.problem)
    for problem in catalog.problems:
        click.echo(str(problem))
    errors = len(catalog.errors)
    warnings = len(catalog.problems) - errors
    click.echo(f"{len(catalog.pages)} offers OK, {errors} errors, {warnings} warnings in {content_dir}", err=True)
    if errors or (strict and warnings) or not content_dir.is_dir():
        sys.exit(1)


@cli.command()
@click.argument("offer_type", metavar="TYPE", type=click.Choice(TYPES))
@click.argument("slug")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@pass_ctx
def new(ctx: Context, offer_type: str, slug: str, force: bool) -> None:
    """Write content/SLUG.md, a valid, commented starting point for an offer.

    Example: leadmagnet new webinar q1-demo
    """
    if not SLUG_RE.match(slug):
        raise click.BadParameter("use lower-case letters, digits and single hyphens, such as q1-demo", param_hint="SLUG")
    if slug in RESERVED_SLUGS:
        raise click.BadParameter(f"/{slug} is used by leadmagnet itself; pick another slug", param_hint="SLUG")
    content_dir = Path(ctx.settings()["CONTENT_DIR"])
    path = content_dir / f"{slug}.md"
    if path.exists() and not force:
        raise click.ClickException(f"{path} already exists; pick another slug or pass --force")
    content_dir.mkdir(parents=True, exist_ok=True)
    written = write_new_offer(content_dir, offer_type, slug)
    for file in written:
        click.echo(f"wrote {file}")


def write_new_offer(content_dir: Path, offer_type: str, slug: str) -> list[Path]:
    """Write the starter file (and, for an ebook, a placeholder PDF to replace)."""
    written = []
    title = slug.replace("-", " ").capitalize()
    if offer_type == "ebook":
        placeholder = content_dir / "files" / f"{slug}.pdf"
        if not placeholder.exists():
            placeholder.parent.mkdir(parents=True, exist_ok=True)
            placeholder.write_bytes(PLACEHOLDER_PDF)
            written.append(placeholder)
        body = EBOOK_TEMPLATE.format(title=title, slug=slug)
    else:
        start = (datetime.now(UTC) + timedelta(days=14)).replace(hour=16, minute=0, second=0, microsecond=0)
        body = WEBINAR_TEMPLATE.format(title=title, slug=slug, starts_at=start.strftime("%Y-%m-%dT%H:%M:%S"))
    path = content_dir / f"{slug}.md"
    path.write_text(body, encoding="utf-8")
    written.insert(0, path)
    return written


@cli.command()
@click.option("--markdown", is_flag=True, help="Print a Markdown table (the README's).")
def settings(markdown: bool) -> None:
    """List every LEADMAGNET_* setting with its default and meaning.

    Example: leadmagnet settings --markdown
    """
    if markdown:
        click.echo("| Setting | Default | Meaning |\n|---|---|---|")
    for s in config.SETTINGS:
        default = config.shown_default(s)
        if markdown:
            click.echo(f"| `{s.env}` | `{default}` | {s.help} |")
        else:
            click.echo(f"{s.env} = {default}\n    {s.help}")


@cli.command()
def keys() -> None:
    """List every front-matter key, the offer types it applies to, and what it means.

    Example: leadmagnet keys
    """
    for key in KEYS.values():
        req = "required" if key.required else "optional"
        click.echo(f"{key.name} ({'/'.join(key.types)}, {req})\n    {key.help}")


@cli.command()
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--base-url", help="The live server that exported forms post to (LEADMAGNET_BASE_URL).")
@pass_ctx
def build(ctx: Context, out_dir: Path, base_url: str | None) -> None:
    """Export every published page, the sitemap, robots.txt, media and theme files to OUT_DIR.

    Forms in the exported pages post to LEADMAGNET_BASE_URL. A second build writes only what
    changed. Example: leadmagnet build --base-url https://offers.example.com public/
    """
    from leadmagnet.build.site import BuildError
    from leadmagnet.build.site import build as build_site

    if base_url:
        ctx.overrides["BASE_URL"] = base_url.rstrip("/")
    try:
        report = build_site(config.resolve(ctx.overrides), out_dir)
    except BuildError as exc:
        raise click.ClickException(str(exc)) from None
    for problem in report.problems:
        click.echo(f"  {problem}", err=True)
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(
        f"{len(report.written)} files written, {len(report.unchanged)} unchanged, {len(report.removed)} removed in {report.out_dir}"
        f" ({report.parsed} offer files parsed, {report.rendered} pages rendered)"
    )
    global _done_without_teardown
    _done_without_teardown = True


@cli.command()
@click.option("--watch", is_flag=True, help="Keep running: check the outbox every LEADMAGNET_SEND_INTERVAL seconds until stopped.")
@pass_ctx
def send(ctx: Context, watch: bool) -> None:
    """Send the queued emails (and queue due webinar reminders), then exit.

    With no LEADMAGNET_SMTP_HOST, emails are written to instance/outbox/*.eml instead.
    Example: leadmagnet send --watch
    """
    from leadmagnet.delivery.submissions import run_sender

    def show(report: Any) -> None:
        if report.busy or not watch:
            click.echo(str(report), err=True)
        for path in report.written:
            click.echo(f"wrote {path}")

    try:
        report = run_sender(ctx.app, watch=watch, on_pass=show)
    except KeyboardInterrupt:
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
    from dataclasses import replace

    from leadmagnet.export import writer as exporting
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
    request = exporting.ExportRequest(
        filters=filters, kind=kind, preset=preset, output=output, excel=excel, split=split, since_last=since_last
    )
    app = ctx.app
    store = app.extensions["leadmagnet"].store
    site_presets = app.config.get("CRM")
    try:
        exporting.resolve_preset(request, site_presets)
    except exporting.ExportError as exc:
        raise click.ClickException(str(exc)) from None
    if out is None and request.split is None and exporting.crm.get_preset(preset, kind, site_presets).split:
        request = replace(request, split=0)  # stdout is one stream; split needs -o FILE
    show_progress = out is not None and sys.stderr.isatty()
    try:
        if show_progress:
            from rich.progress import Progress

            after_id = store.get_export_cursor(since_last) if since_last else 0
            confirmed_after = store.get_export_cursor_time(since_last) if since_last else None
            total = store.count_export_rows(kind, replace(filters, after_id=after_id, confirmed_after=confirmed_after))
            with Progress(transient=True) as progress:
                task = progress.add_task("Exporting", total=total)
                result = exporting.export(
                    store, request, out, site_presets, on_row=lambda n: progress.update(task, completed=n) if n % 1000 == 0 else None
                )
        else:
            if out is not None:
                result = exporting.export(store, request, out, site_presets)
            else:
                # UTF-8 and no newline translation, whatever the terminal's locale says.
                stdout = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="")
                try:
                    result = exporting.export(store, request, stdout, site_presets)
                finally:
                    stdout.detach()
    except exporting.ExportError as exc:
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
        user_id = add_admin(ctx.app.extensions["leadmagnet"].store, email, password)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"admin user {email.strip().lower()} saved (id {user_id}); log in at /admin/login")


@cli.command()
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_ctx
def erase(ctx: Context, email: str, yes: bool) -> None:
    """Erase a contact: every row naming them, outbox included, with an audit entry (no personal data).

    Example: leadmagnet erase someone@example.com --yes
    """
    if not yes:
        click.confirm(f"Erase {email} and everything stored about them? This cannot be undone", abort=True)
    deleted = ctx.app.extensions["leadmagnet"].store.erase_contact(email.strip().lower(), actor="cli")
    if deleted is None:
        raise click.ClickException(f"no contact with email {email!r}; `leadmagnet export` lists the stored addresses")
    click.echo("erased: " + ", ".join(f"{n} {table}" for table, n in deleted.items()))


@cli.command()
@click.argument("email")
@pass_ctx
def contact(ctx: Context, email: str) -> None:
    """Print everything stored about one contact as JSON (for an access request).

    Example: leadmagnet contact someone@example.com > someone.json
    """
    import json

    record = ctx.app.extensions["leadmagnet"].store.contact_record(email.strip().lower())
    if record is None:
        raise click.ClickException(f"no contact with email {email!r}")
    click.echo(json.dumps(record, indent=2, ensure_ascii=False, default=str))


EBOOK_TEMPLATE = """---
# Offer: an ebook. Run `leadmagnet check` after editing; `leadmagnet keys` lists every key.
title: {title}
type: ebook
# The page address is /{slug} (from the file name); set slug: to change it.
description: One or two sentences for search results and social cards (under 160 characters).
subtitle: The promise of the ebook in one line
# Button text of the form.
cta: Get the free ebook
# The gated file: never public, delivered by a signed link. Replace this placeholder.
file: files/{slug}.pdf
# pages: 24
# image: assets/{slug}-cover.png     # cover image, under the content folder
# Form fields besides email: first_name, last_name, company, job_title, phone, country,
# or custom ones: - {{name: team_size, label: Team size, type: select, choices: [1-5, 6+]}}
fields: [first_name, company]
# consent: I agree to receive emails about this topic.   # adds a required checkbox
thank_you: |
  **Thank you!** Your copy is on its way to your inbox.
tags: [ebook]
stage: tofu
# draft: true                       # unpublished while true
# publish_at: 2027-01-01T09:00:00Z  # not served before
# expires_at: 2027-12-31T23:59:59Z  # "this offer has ended" after
---
Write the pitch here, in Markdown: who it is for, what they will learn, why now.

## What's inside

- The first thing the reader gets
- The second thing
"""

WEBINAR_TEMPLATE = """---
# Offer: a webinar. Run `leadmagnet check` after editing; `leadmagnet keys` lists every key.
title: {title}
type: webinar
# The page address is /{slug} (from the file name); set slug: to change it.
description: One or two sentences for search results and social cards (under 160 characters).
subtitle: What attendees will be able to do afterwards
cta: Save my seat
# Start time: with an offset (2027-03-04T16:00:00+01:00), or naive plus timezone.
starts_at: {starts_at}
timezone: UTC
duration_minutes: 45
# Sent to registrants only; never shown on the public page.
join_url: https://meet.example.com/replace-with-your-room
# capacity: 100                     # registrations beyond it are waitlisted
# replay_url: https://video.example.com/your-recording
presenters:
  - name: Your Name
    title: Your role
    # photo: assets/your-photo.jpg
fields: [first_name, last_name, company]
consent: I agree to receive the joining details and a reminder by email.
thank_you: |
  **You're registered.** The joining details are below and in your inbox.
tags: [webinar]
stage: mofu
---
Write the pitch here, in Markdown: the agenda, who should attend, what they will take away.
"""

# A one-page PDF that says "Replace me", so that a new ebook offer is valid from the start.
PLACEHOLDER_PDF = (
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n"
    b"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>\nendobj\n"
    b"4 0 obj\n<< /Length 44 >>\nstream\nBT /F1 24 Tf 72 700 Td (Replace me) Tj ET\nendstream\nendobj\n"
    b"5 0 obj\n<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
)


# Set by a command whose process has nothing left to clean up once it has printed its report.
_done_without_teardown = False


def main() -> None:
    """The ``leadmagnet`` command, for scripts that call it (it raises ``SystemExit`` as click does)."""
    cli(prog_name="leadmagnet")


def run() -> None:
    """The installed ``leadmagnet`` command: :func:`main`, ending a successful ``build`` quickly.

    After a successful build the process ends without the interpreter's teardown: freeing every
    module and object one by one took 30 ms, a twentieth of a cold build of a thousand offers and
    most of a build after one edit. Everything is written and closed by then (the files, the
    build cache, the worker pools). What a normal exit does besides is still done: the atexit
    handlers run (flushing the log handlers, and any an instance ``config.py`` registered) and
    the output is flushed. Under a profiler or tracer (cProfile, coverage) it ends normally.
    """
    try:
        main()
    except SystemExit as exc:
        if _done_without_teardown and exc.code in (0, None) and sys.getprofile() is None and sys.gettrace() is None:
            import atexit
            import os

            atexit._run_exitfuncs()
            try:
                for stream in (sys.stdout, sys.stderr):
                    if stream is not None:  # None when started with the descriptor closed
                        stream.flush()
            except (OSError, ValueError):  # a closed pipe: let the interpreter report it, as always
                raise exc from None
            os._exit(0)
        raise


if __name__ == "__main__":
    run()
