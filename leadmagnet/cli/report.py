"""``leadmagnet report``: the A/B tests' results, as a table or as JSON."""

from __future__ import annotations

import json

import click

from leadmagnet.cli.base import Context, cli, pass_ctx
from leadmagnet.cli.leads import _iso_option


@cli.command("report")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the shape is in docs/ab-testing.md) instead of a table.")
@click.option("--offer", metavar="SLUG", help="Only this offer's test.")
@click.option("--since", metavar="DATE", help="Only views and submissions at or after this ISO 8601 date (UTC).")
@click.option("--until", metavar="DATE", help="Only views and submissions before this ISO 8601 date (UTC).")
@pass_ctx
def report(ctx: Context, as_json: bool, offer: str | None, since: str | None, until: str | None) -> None:
    """Show every A/B test: views, submissions and conversion per variant, and the decision.

    Views and submissions are counted per UTC day, so --since and --until keep whole days
    (a time counts as its day).

    \b
    Examples:
      leadmagnet report
      leadmagnet report --json --offer growth-playbook --since 2026-11-01
    """
    from leadmagnet.experiments.report import ReportError, table

    try:
        result = ctx.services.ab.report(offer, _iso_option("--since", since), _iso_option("--until", until))
    except ReportError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(result, indent=2, ensure_ascii=False) if as_json else table(result))
