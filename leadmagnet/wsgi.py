"""The WSGI entry point for production servers: ``gunicorn -c python:leadmagnet.gunicorn_conf leadmagnet.wsgi:app``.

Settings come from ``instance/config.toml`` and ``LEADMAGNET_*`` environment variables, as for
every other command.
"""

from __future__ import annotations

from leadmagnet.app import create_app

app = create_app()
