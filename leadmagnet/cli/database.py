"""Commands for the database itself: ``db migrate``, ``db status`` and ``backup``.

They open the store straight from the settings, never the app: an app on a PostgreSQL database
with migrations pending refuses to start, and ``db migrate`` is what makes it startable. Every
line they print shows the database with its password masked.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from leadmagnet.cli.base import Context, cli, pass_ctx
from leadmagnet.foundation import database_url

if TYPE_CHECKING:
    from leadmagnet.store import Store


@contextmanager
def opened(ctx: Context) -> Iterator[tuple[Store, str]]:
    """The store of ``LEADMAGNET_DATABASE`` and how to show it; a database that does not answer exits 1."""
    from leadmagnet.store import DatabaseError, Store

    target = str(ctx.settings()["DATABASE"])
    shown = database_url.masked(target)
    try:
        store = Store(target)
    except RuntimeError as exc:  # a postgresql:// URL without its driver installed
        raise click.ClickException(str(exc)) from None
    except (DatabaseError, OSError) as exc:
        raise click.ClickException(f"cannot open the database {shown}: {database_url.scrubbed(str(exc), target)}") from None
    try:
        yield store, shown
    except (DatabaseError, OSError) as exc:
        raise click.ClickException(f"the database {shown} failed: {database_url.scrubbed(str(exc), target)}") from None
    finally:
        store.shutdown()


@cli.group()
def db() -> None:
    """The database: apply the migrations of a new version, see which are pending, or copy an
    SQLite install into an empty PostgreSQL database.

    \b
    Examples:
      leadmagnet db migrate          (once per deploy, before restarting the servers)
      leadmagnet db copy --to postgresql://user:password@host/leadmagnet
    """


@db.command()
@pass_ctx
def migrate(ctx: Context) -> None:
    """Apply the pending migrations and print their names.

    Run it once per deploy, from one machine, before starting the new version: on PostgreSQL
    the servers never migrate at start, and refuse to start while a migration is pending. (An
    SQLite install also migrates at start; this command does the same ahead of time.)

    Example: leadmagnet db migrate
    """
    with opened(ctx) as (store, shown):
        click.echo(f"database: {shown} ({store.backend})")
        applied = store.migrate()
        for name in applied:
            click.echo(f"applied {name}")
        version = store.schema_version()
    last = version[-1] if version else "none"
    if applied:
        click.echo(f"{len(applied)} migration(s) applied; the schema is up to date ({last})")
    else:
        click.echo(f"nothing to apply: the schema is up to date ({last})")


@db.command()
@click.option("--check", is_flag=True, help="Exit 1 when a migration is pending (for deploy scripts).")
@pass_ctx
def status(ctx: Context, check: bool) -> None:
    """Show which migrations are applied and which are pending.

    Example: leadmagnet db status --check
    """
    settings_target = str(ctx.settings()["DATABASE"])
    if database_url.backend(settings_target) == database_url.SQLITE and not Path(settings_target).exists():
        click.echo(f"database: {settings_target} (sqlite) does not exist yet; the first start or `leadmagnet db migrate` creates it")
        if check:
            sys.exit(1)
        return
    with opened(ctx) as (store, shown):
        applied = store.schema_version()
        pending = store.pending_migrations()
        click.echo(f"database: {shown} ({store.backend})")
    click.echo(f"applied: {len(applied)}" + (f" (last: {applied[-1]})" if applied else ""))
    click.echo(f"pending: {len(pending)}" + ("" if pending else " (up to date)"))
    for name in pending:
        click.echo(f"  {name}")
    if pending:
        click.echo("run `leadmagnet db migrate` to apply them")
        if check:
            sys.exit(1)


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
@pass_ctx
def backup(ctx: Context, path: Path, force: bool) -> None:
    """Copy the SQLite database to PATH while the server runs, and check the copy.

    The copy is consistent (SQLite's online backup API), private (mode 0600), verified with
    `PRAGMA integrity_check`, and counted. PostgreSQL is backed up with pg_dump: this command
    prints the command line.

    Example: leadmagnet backup backups/leadmagnet-$(date +%F).db
    """
    target = str(ctx.settings()["DATABASE"])
    if database_url.backend(target) == database_url.POSTGRESQL:
        raise click.ClickException(pg_dump_advice(target, path))
    if not Path(target).is_file():
        raise click.ClickException(f"there is no database at {target} to back up (LEADMAGNET_DATABASE)")
    if path.exists() and not force:
        raise click.ClickException(f"{path} exists; choose another name, or pass --force to replace it")
    if path.resolve() == Path(target).resolve():
        raise click.ClickException(f"{path} is the database itself; name another file")
    with opened(ctx) as (store, shown):
        try:
            report = store.backup_to(path, overwrite=force)
        except (FileExistsError, IsADirectoryError, ValueError) as exc:
            raise click.ClickException(str(exc)) from None
    counts = ", ".join(f"{report[table]:,} {table}" for table in ("contacts", "submissions") if report[table] is not None)
    click.echo(
        f"backed up {shown} to {path} ({report['bytes']:,} bytes): integrity {report['integrity']}" + (f", {counts}" if counts else "")
    )


def pg_dump_advice(target: str, path: Path) -> str:
    """What to run instead of ``leadmagnet backup`` on PostgreSQL (the password masked)."""
    shown = database_url.masked(target)
    lines = [
        "leadmagnet backup copies SQLite files; back up PostgreSQL with pg_dump (a consistent snapshot, while the servers run):",
        f"  pg_dump --format=custom --file={path} '{shown}'",
    ]
    if shown != target:
        lines.append("  (*** stands for the password: write it there, or leave it out of the URL and set PGPASSWORD)")
    lines.append(f"Restore into an empty database with: pg_restore --no-owner --dbname='{shown}' {path}")
    return "\n".join(lines)
