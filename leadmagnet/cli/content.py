"""Commands for authors: serve the pages, check the content, start an offer, list keys and settings, export the site."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from leadmagnet.app import start_serving
from leadmagnet.cli.base import Context, Exit, cli, pass_ctx
from leadmagnet.content.catalog import load_catalog
from leadmagnet.content.contract import KEYS, RESERVED_SLUGS, SLUG_RE, TYPES
from leadmagnet.content.scaffold import write_new_offer
from leadmagnet.foundation import config


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option("--reload/--no-reload", default=False, help="Restart when Python code changes (content and themes reload without it).")
@pass_ctx
def serve(ctx: Context, host: str, port: int, reload: bool) -> None:
    """Run the development server.

    Content and theme files are re-read after each save, without a restart. It also sends the
    queued emails, unless LEADMAGNET_SEND_IN_SERVER is set to false. For production use gunicorn
    and `leadmagnet send --watch` (see the README). Example: leadmagnet serve --port 8000
    """
    # The development server sends the queued emails itself unless told otherwise, so the first
    # form filled in gives an email (instance/outbox/*.eml without SMTP): see the README.
    try:
        if not config.is_set("SEND_IN_SERVER", ctx.overrides):
            ctx.overrides["SEND_IN_SERVER"] = True
    except ValueError as exc:  # a bad setting or config file: its message names it
        raise click.ClickException(str(exc)) from None
    app = start_serving(ctx.app)  # the catalog logs each content problem as it loads
    catalog = ctx.services.catalog
    click.echo(f"Serving {len(catalog.pages)} offers from {catalog.content_dir} on http://{host}:{port}/", err=True)
    from leadmagnet.delivery.mail import outbox_dir

    settings = ctx.services.settings
    if ctx.services.sender is not None:
        where = f"through {settings['SMTP_HOST']}" if settings.get("SMTP_HOST") else f"as files in {outbox_dir(settings)}"
        click.echo(f"Also sending queued emails from this process, {where} (LEADMAGNET_SEND_IN_SERVER=false turns it off)", err=True)
    else:
        click.echo("Not sending emails: run `leadmagnet send --watch` beside it (LEADMAGNET_SEND_IN_SERVER is false)", err=True)
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
    from leadmagnet.foundation.brand import Brand
    from leadmagnet.render.landing import brand_problems

    # The brand is set once for every page: its colours must pass WCAG AA like an offer's primary:.
    brand = brand_problems(Brand.from_settings(settings), content_dir)
    for message in brand:
        click.echo(f"brand: {message}")
    errors = len(catalog.errors) + len(brand)
    warnings = len(catalog.problems) - errors
    drafts = sum(page.offer.draft for page in catalog.pages.values())
    unpublished = f"; {drafts} drafts not published (remove `draft: true` to publish)" if drafts else ""
    click.echo(f"{len(catalog.pages)} offers OK, {errors} errors, {warnings} warnings in {content_dir}{unpublished}", err=True)
    if errors or (strict and warnings) or not content_dir.is_dir():
        sys.exit(1)


@cli.command()
@click.argument("offer_type", metavar="TYPE", type=click.Choice(TYPES))
@click.argument("slug")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@pass_ctx
def new(ctx: Context, offer_type: str, slug: str, force: bool) -> None:
    """Write content/SLUG.md, a valid, commented starting point for an offer, as a draft.

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
    click.echo(f"{path.name} is a draft, not published: remove `draft: true` from it when it is ready.")


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
    from leadmagnet.build import BuildError
    from leadmagnet.build import build as build_site

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
    Exit.without_teardown = True
