"""The ``leadmagnet`` command group and what every command shares: the folders and the app.

``--content`` and ``--instance`` (before the command name) choose the folders, like the
``LEADMAGNET_CONTENT_DIR`` and ``LEADMAGNET_INSTANCE_DIR`` settings. The app is built once per run,
on first use: ``check``, ``new``, ``keys`` and ``build`` never build it, and ``export`` builds only
the store, the catalog and the presets (:func:`leadmagnet.app.build_exports`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from leadmagnet.app import build_exports, create_app
from leadmagnet.foundation import config

if TYPE_CHECKING:
    from flask import Flask

    from leadmagnet.export.exports import Exports
    from leadmagnet.services import Services

T = TypeVar("T")


class Exit:
    """How this process may end: a command with nothing left to clean up says so (``build``)."""

    without_teardown = False


class Context:
    """Lazily builds the app once per CLI run, with the folders given on the command line."""

    def __init__(self, overrides: dict[str, Any]) -> None:
        self.overrides = overrides
        self._app: Flask | None = None
        self._exports: Exports | None = None

    @property
    def app(self) -> Flask:
        if self._app is None:
            self._app = _or_exit(create_app, self.overrides)
        return self._app

    @property
    def services(self) -> Services:
        """The app's :class:`~leadmagnet.services.Services` (building the app on first use)."""
        from leadmagnet.web import services_of

        return services_of(self.app)

    @property
    def exports(self) -> Exports:
        """The exports (``leadmagnet export``): the app's, or built alone without the app."""
        if self._app is not None:
            return self.services.exports
        if self._exports is None:
            self._exports = _or_exit(build_exports, self.overrides)
        return self._exports

    def settings(self) -> dict[str, Any]:
        """The resolved settings, without building the app; a bad value exits with its message."""
        return _or_exit(config.resolve, self.overrides)


def _or_exit(make: Callable[[dict[str, Any]], T], overrides: dict[str, Any]) -> T:
    """``make(overrides)``; a bad setting or config file exits with its message (which names it)."""
    try:
        return make(overrides)
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
      leadmagnet new ebook growth-playbook   # write content/growth-playbook.md, a draft
      leadmagnet check                       # validate every offer
      leadmagnet serve                       # http://127.0.0.1:5000/ (and send the emails)
    Remove `draft: true` from the new file to publish it at /growth-playbook.
    """
    overrides: dict[str, Any] = {}
    if content_dir is not None:
        overrides["CONTENT_DIR"] = str(content_dir)
    if instance_dir is not None:
        overrides["INSTANCE_DIR"] = str(instance_dir)
    ctx.obj = Context(overrides)
