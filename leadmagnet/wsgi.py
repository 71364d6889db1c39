"""The WSGI entry point for production servers: ``gunicorn -c python:leadmagnet.gunicorn_conf leadmagnet.wsgi:app``.

Settings come from ``instance/config.toml`` and ``LEADMAGNET_*`` environment variables, as for
every other command.
"""

from __future__ import annotations

from leadmagnet.app import create_app, start_serving

# Each gunicorn worker imports this after the fork (the app is not preloaded), so each starts
# its own in-server sender when LEADMAGNET_SEND_IN_SERVER is on.
app = start_serving(create_app())
