"""``leadmagnet db copy --to URL``: move this SQLite install to an empty PostgreSQL database.

A command of the ``db`` group (:mod:`.database`: ``db migrate``, ``db status``); the copying
itself is :func:`leadmagnet.store.copying.copy_install`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from leadmagnet.cli.base import Context, pass_ctx
from leadmagnet.cli.database import db
from leadmagnet.foundation.database_url import masked, scrubbed


@db.command("copy")
@click.option("--to", "url", required=True, metavar="URL", help="The empty PostgreSQL database: postgresql://user:password@host/db")
@click.option("--batch", default=2000, show_default=True, help="Rows read and written at a time (memory stays flat).")
@pass_ctx
def copy(ctx: Context, url: str, batch: int) -> None:
    """Copy every row of this SQLite install (LEADMAGNET_DATABASE) into an empty PostgreSQL database.

    The target is migrated first and must hold no row; ids are kept; the whole copy is one
    transaction; each table is counted on both sides afterwards (exit 1 when one differs).
    Stop the app (and `leadmagnet send --watch`) first, then point LEADMAGNET_DATABASE at the URL.

    Example: leadmagnet db copy --to postgresql://leadmagnet:secret@db.internal/leadmagnet
    """
    from leadmagnet.store import DatabaseError, Store
    from leadmagnet.store.copying import CopyRefused, copy_install

    source_path = str(ctx.settings()["DATABASE"])
    if source_path.startswith(("postgresql://", "postgres://")):
        raise click.ClickException(f"LEADMAGNET_DATABASE is already PostgreSQL ({masked(source_path)}); db copy moves an SQLite install")
    if not url.startswith(("postgresql://", "postgres://")):
        raise click.BadParameter(f"{url!r} is not a postgresql:// URL; write postgresql://user:password@host/db", param_hint="--to")
    file = Path(source_path.removeprefix("sqlite:///"))
    if not file.is_file():
        raise click.ClickException(f"no SQLite database at {file}; set LEADMAGNET_DATABASE or --instance to the install to copy")
    source, target = Store(file), Store(url)
    click.echo(f"copying {file} to {masked(url)}", err=True)
    try:
        counts = copy_install(source, target, batch=batch, progress=lambda table, n: click.echo(f"  {table}: {n} rows", err=True))
    except CopyRefused as exc:
        raise click.ClickException(f"nothing copied: {scrubbed(str(exc), url)}") from None
    except DatabaseError as exc:
        raise click.ClickException(f"nothing copied (the transaction was rolled back): {scrubbed(str(exc), url)}") from None
    finally:
        source.shutdown()
        target.shutdown()
    width = max(len(c.table) for c in counts)
    click.echo(f"{'table':<{width}}  {'sqlite':>10}  {'postgresql':>10}")
    for c in counts:
        click.echo(f"{c.table:<{width}}  {c.source:>10}  {c.target:>10}{'' if c.ok else '  DIFFERS'}")
    wrong = [c.table for c in counts if not c.ok]
    if wrong:
        click.echo(f"error: the counts differ in {', '.join(wrong)}; was the app still writing to {file}?", err=True)
        sys.exit(1)
    click.echo(f"ok: {sum(c.target for c in counts)} rows in {len(counts)} tables; now set LEADMAGNET_DATABASE={masked(url)}", err=True)
