"""``leadmagnet webhooks``: list the endpoints, add one, send a test event, retry an endpoint's events."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from leadmagnet.cli.base import Context, cli, pass_ctx
from leadmagnet.delivery.endpoints import EVENTS, Endpoint, EndpointError, append_endpoint, load_endpoints, new_secret, parse_endpoint


@cli.group()
def webhooks() -> None:
    """Signed webhooks to a CRM or automation tool: [[webhooks]] in instance/config.toml.

    \b
    Example:
      leadmagnet webhooks add https://crm.example.com/hooks/leads
      leadmagnet webhooks test
    """


def _chosen(ctx: Context, url: str | None) -> list[Endpoint]:
    """The endpoints a command acts on: the one at ``url``, or all of them."""
    endpoints = list(ctx.services.webhooks.endpoints)
    if not endpoints:
        raise click.ClickException("no [[webhooks]] in instance/config.toml; add one with: leadmagnet webhooks add URL")
    if url is None:
        return endpoints
    found = [e for e in endpoints if e.url == url]
    if not found:
        raise click.ClickException(f"{url} is not a [[webhooks]] url in instance/config.toml; `leadmagnet webhooks list` shows them")
    return found


@webhooks.command("list")
@pass_ctx
def list_(ctx: Context) -> None:
    """List the endpoints with their state and deliveries by status.

    Example: leadmagnet webhooks list
    """
    try:
        load_endpoints(ctx.settings())
    except EndpointError as exc:
        raise click.ClickException(str(exc)) from None
    overview = ctx.services.webhooks.overview(recent=0)
    if not overview:
        click.echo("no webhooks: add one with `leadmagnet webhooks add URL`")
    for n, item in enumerate(overview, start=1):
        endpoint, state, counts = item["endpoint"], item["state"], item["counts"]
        status = f"DISABLED since {state['disabled_at']} ({state['disabled_reason']})" if state.get("disabled_at") else "enabled"
        if not state.get("disabled_at") and state.get("consecutive_failures"):
            status += f", {state['consecutive_failures']} consecutive failures"
        click.echo(f"{n}. {endpoint.url}  [{status}]")
        click.echo(f"   events: {', '.join(endpoint.events)}")
        if endpoint.offers or endpoint.tags:
            click.echo(f"   offers: {', '.join(endpoint.offers) or 'any'}; tags: {', '.join(endpoint.tags) or 'any'}")
        click.echo("   deliveries: " + ", ".join(f"{s} {counts.get(s, 0)}" for s in ("queued", "sending", "delivered", "failed")))


@webhooks.command()
@click.argument("url")
@click.option("--event", "events", multiple=True, type=click.Choice(EVENTS), help="An event to send (repeat; default: all).")
@click.option("--offer", "offers", multiple=True, metavar="SLUG", help="Only events of this offer (repeat for several).")
@click.option("--tag", "tags", multiple=True, help="Only events of offers with this tag (repeat for several).")
@pass_ctx
def add(ctx: Context, url: str, events: tuple[str, ...], offers: tuple[str, ...], tags: tuple[str, ...]) -> None:
    """Add an endpoint to instance/config.toml with a new signing secret, and print the secret.

    Give the secret to the receiver: it verifies every request with it. Restart the server
    (and `leadmagnet send --watch`) to start sending.

    Example: leadmagnet webhooks add https://crm.example.com/hooks/leads --event lead.created
    """
    settings = ctx.settings()
    path = Path(settings["INSTANCE_DIR"]) / "config.toml"
    try:
        existing = load_endpoints(settings)
        endpoint = parse_endpoint(
            f"webhooks add {url}",
            {"url": url, "secret": new_secret(), "events": list(events or EVENTS), "offers": list(offers), "tags": list(tags)},
        )
    except EndpointError as exc:
        raise click.ClickException(str(exc)) from None
    if any(e.url == endpoint.url for e in existing):
        raise click.ClickException(f"{path}: {endpoint.url} is already a [[webhooks]] url; edit its table instead")
    append_endpoint(path, endpoint)
    click.echo(f"added to {path}: {endpoint.url}")
    click.echo(f"secret (the receiver verifies signatures with it): {endpoint.secret}")
    click.echo("restart the server (and `leadmagnet send --watch`) to start sending")


@webhooks.command()
@click.argument("url", required=False)
@pass_ctx
def test(ctx: Context, url: str | None) -> None:
    """Send a signed webhook.test event to each endpoint (or the one at URL) now, and print the answers.

    Example: leadmagnet webhooks test https://crm.example.com/hooks/leads
    """
    failed = False
    for endpoint in _chosen(ctx, url):
        answer = ctx.services.webhooks.send_test(endpoint.url)
        said = f"answered {answer.code}" if answer.code else "no answer"
        click.echo(f"{endpoint.url}: {said}" + (f" ({answer.error})" if answer.error and answer.outcome != "delivered" else ""))
        failed = failed or answer.outcome != "delivered"
    sys.exit(1 if failed else 0)


@webhooks.command()
@click.argument("url", required=False)
@pass_ctx
def retry(ctx: Context, url: str | None) -> None:
    """Send every undelivered event (failed ones too) of each endpoint, or the one at URL, now; enable it if disabled.

    Example: leadmagnet webhooks retry https://crm.example.com/hooks/leads
    """
    hooks = ctx.services.webhooks
    for endpoint in _chosen(ctx, url):
        count, enabled = hooks.retry_now(endpoint.url)
        click.echo(f"{endpoint.url}: {count} events due now" + (" (it was disabled: enabled again)" if enabled else ""))
    report = hooks.send_due()
    click.echo(f"webhooks: {report}")
    sys.exit(1 if report.failed or report.retried else 0)
