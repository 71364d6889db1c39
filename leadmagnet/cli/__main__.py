"""``python -m leadmagnet.cli``: the same as the installed ``leadmagnet`` command."""

from leadmagnet.cli import run

run()
