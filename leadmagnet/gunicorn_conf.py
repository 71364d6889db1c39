"""Production defaults for gunicorn: ``gunicorn -c python:leadmagnet.gunicorn_conf leadmagnet.wsgi:app``.

Every value can be overridden on the command line (``--workers 8``) or by gunicorn's own
environment variables (``WEB_CONCURRENCY``, ``GUNICORN_CMD_ARGS``); the README explains each.

- ``gthread`` workers with a few threads each: landing pages are cached bytes, so a request is
  short and CPU-bound, while keep-alive connections (which the ``sync`` worker cannot hold) save a
  TCP handshake per request behind a proxy or under a load test.
- Two workers per core: one can run Python while the other waits on a socket or SQLite.
- The app is not preloaded: every worker opens its own SQLite connections after the fork.
- When a worker stops normally (restart, ``--max-requests``, shutdown), ``worker_exit`` writes the
  page views it has counted in memory but not yet flushed, so no view is lost.
"""

from __future__ import annotations

import logging
import multiprocessing
import os

# Behind a reverse proxy on the same machine; pass --bind 0.0.0.0:8000 to listen on every interface.
bind = "127.0.0.1:8000"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
worker_class = "gthread"
threads = 4
# A request that takes longer than this is a stuck worker: it is killed and replaced.
timeout = 30
# Time a stopping worker gets to finish its requests (and flush its view counts).
graceful_timeout = 30
# Seconds an idle keep-alive connection stays open; a reverse proxy usually holds its own pool.
keepalive = 5
# Workers are recycled after this many requests (with jitter so they do not all restart at once),
# a guard against slow leaks. A restart costs the new worker about 0.8 s of CPU (0.7 s of imports,
# 0.1 s to render its first page): at 2,000 requests/s on 4 workers, 10,000 meant a restart every
# 5 s, 0.16 s of CPU per second spent starting workers.
max_requests = 100_000
max_requests_jitter = 10_000
# X-Forwarded-Proto from these addresses marks a request as HTTPS (HSTS, secure cookies).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# No access log by default (the reverse proxy keeps one); --access-logfile - turns it on.
accesslog = None
errorlog = "-"
loglevel = "info"


def worker_exit(server: object, worker: object) -> None:
    """Flush the worker's batched page-view counts before it goes away."""
    from leadmagnet.leads import pageviews as views

    try:
        views.flush_all()
    except Exception:
        logging.getLogger("leadmagnet").exception("could not flush page views at worker exit")
