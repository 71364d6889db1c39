"""The ``leadmagnet`` command: a thin click skin over the library.

Each command parses its options, calls one domain function, and prints. Errors exit non-zero
with a message naming the file or key. The commands live by audience: :mod:`.content` (authors),
:mod:`.leads` (leads, email, exports, admins), :mod:`.database` (migrations, backups),
:mod:`.nurture` (webinar attendance), :mod:`.webhooks` and :mod:`.report` (A/B tests);
:mod:`.base` holds the group and the context.
"""

from __future__ import annotations

import sys

from leadmagnet.cli import content, copying, database, leads, nurture, report, webhooks  # noqa: F401 - registers the commands on the group
from leadmagnet.cli.base import Exit, cli

__all__ = ["cli", "main", "run"]


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
        if Exit.without_teardown and exc.code in (0, None) and sys.getprofile() is None and sys.gettrace() is None:
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
