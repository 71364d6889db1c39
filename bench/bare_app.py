"""The baseline of bench/serve and bench/submit: a bare Flask app with no leadmagnet code at all.

It runs under the same gunicorn settings as leadmagnet (gthread, the same workers, threads and
keep-alive), so the ratio of a leadmagnet route to its twin here is what leadmagnet costs beyond
what Flask, gunicorn and SQLite themselves cost:

- ``GET /page`` answers the bytes and headers that leadmagnet answered for its landing page (read
  once at start-up from the file named by ``BARE_PAGE``, which the benchmark wrote from a real
  response: same body, same header names and values, so the same size on the wire);
- ``GET /raw-page`` answers the same bytes and headers from a plain WSGI callable in front of
  Flask (no request object, no routing): what gunicorn alone costs to send the page, the floor
  under leadmagnet's own WSGI fast path for landing pages (leadmagnet/web/fastpath.py);
- ``POST /submit`` reads the form (Flask's own parsing), then runs one parameterised INSERT and
  COMMIT in a ``BEGIN IMMEDIATE`` transaction on the SQLite file ``BARE_DB``, with the journal and
  synchronous settings of leadmagnet's store (WAL, ``synchronous=NORMAL``, the same busy timeout),
  and answers ``303 See Other``, as leadmagnet does after storing a lead.

Nothing is validated, nothing is signed, no email is queued: that is the point of a floor.
Start: ``BARE_PAGE=page.json BARE_DB=bare.db gunicorn --worker-class gthread ... bench.bare_app:app``.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask, Response, redirect, request

app = Flask(__name__)

_page: tuple[bytes, list[tuple[str, str]]] | None = None
if os.environ.get("BARE_PAGE"):
    _saved = json.loads(Path(os.environ["BARE_PAGE"]).read_text())
    _page = (base64.b64decode(_saved["body"]), [(k, v) for k, v in _saved["headers"]])

_local = threading.local()
_DB = os.environ.get("BARE_DB", "")
BUSY_TIMEOUT_MS = 10_000  # as leadmagnet.store.connection.BUSY_TIMEOUT_MS


def _connection() -> sqlite3.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = sqlite3.connect(_DB, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS leads (id INTEGER PRIMARY KEY, email TEXT NOT NULL, first_name TEXT, country TEXT, created_at TEXT NOT NULL)"
        )
        _local.conn = conn
    return conn


_flask_wsgi = app.wsgi_app


def _raw_page(environ: dict, start_response):  # type: ignore[no-untyped-def]
    if environ.get("PATH_INFO") == "/raw-page" and _page is not None:
        body, headers = _page
        start_response("200 OK", [*headers, ("Content-Length", str(len(body)))])
        return [body]
    return _flask_wsgi(environ, start_response)


app.wsgi_app = _raw_page  # type: ignore[method-assign]


@app.get("/page")
def page() -> Response:
    assert _page is not None, "BARE_PAGE is not set"
    body, headers = _page
    return Response(body, headers=headers)


@app.post("/submit")
def submit() -> Response:
    form = request.form
    conn = _connection()
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "INSERT INTO leads (email, first_name, country, created_at) VALUES (?, ?, ?, ?)",
            (form["email"], form.get("first_name"), form.get("country"), datetime.now(UTC).isoformat()),
        )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return redirect("/thanks", code=303)


@app.get("/_ping")
def ping() -> str:
    return "ok"
