"""The marketer's admin under ``/admin``: login, dashboard, leads, contact pages, exports, erasure.

Every route but the login page requires a session (:func:`login_required`, checked for every
rule in ``tests/test_admin.py``). Admin forms are Flask-WTF ``FlaskForm`` classes, so every form
that changes something (login, logout, erase) carries a CSRF token; the filter forms use GET and
change nothing, so they carry none (a token in a URL would leak through logs and Referer).
Erasing takes two steps: the contact's page links to a confirmation page where the admin types
the address; a POST without it (one click, a replayed form) erases nothing.

What the pages show is made readable in :mod:`leadmagnet.web.admin_views` (times in
``ADMIN_TIMEZONE``, offers by title, answers by their labels). The dashboard's routes are in
:mod:`leadmagnet.web.admin_dashboard`, the webhooks page's in :mod:`leadmagnet.web.admin_webhooks`.

Sessions are Flask's signed cookies: HttpOnly, SameSite=Lax, Secure when the site is served over
HTTPS, expiring after ``ADMIN_SESSION_HOURS``. Login attempts are rate limited per address and
per email (a keyed hash of it) through :mod:`leadmagnet.leads.throttle`; a wrong email and a wrong password look the same and
take the same time. Passwords are hashed with scrypt (memory-hard), werkzeug's default.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, g, redirect, request, session, stream_with_context, url_for
from flask_wtf import FlaskForm
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from leadmagnet.delivery.scoring import stage_of
from leadmagnet.export.exports import ExportError
from leadmagnet.store import Store
from leadmagnet.web import current_services
from leadmagnet.web.admin_views import FILTER_ARGS, Readable, admin_zone, filters_from_args, lead_status, login_limit_keys
from leadmagnet.web.errors import render_error

bp = Blueprint("admin", __name__, url_prefix="/admin")

PAGE_SIZE = 50
# Compared against when the email is unknown, so both failures take the same time.
_DUMMY_HASH = generate_password_hash("not a password", method="scrypt")


# -- users (also used by `leadmagnet admin add`) ---------------------------------------------


def hash_password(password: str) -> str:
    """scrypt hash of ``password`` (memory-hard; werkzeug's format with salt and parameters)."""
    return generate_password_hash(password, method="scrypt")


def add_admin(store: Store, email: str, password: str) -> int:
    """Create an admin user (or set a new password); returns the user id.

    Raises ValueError with what to fix when the email or password is unusable.
    """
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise ValueError(f"{email!r} is not an email address; give one like you@example.com")
    if len(password) < 10:
        raise ValueError("the password is too short: use at least 10 characters")
    return store.add_user(email, hash_password(password))


def check_login(store: Store, email: str, password: str) -> dict[str, Any] | None:
    """The user for these credentials, or None. Runs the KDF even for an unknown email."""
    user = store.get_user(email=email.strip().lower())
    ok = check_password_hash(user["password_hash"] if user else _DUMMY_HASH, password)
    return user if user and ok else None


# -- forms ------------------------------------------------------------------------------------


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter your admin email."), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired("Enter your password."), Length(max=1024)])
    submit = SubmitField("Log in")


class ActionForm(FlaskForm):
    """A button that changes something (log out, erase): only its CSRF token is checked."""

    submit = SubmitField("Confirm")


class EraseForm(FlaskForm):
    """Erasing asks for the contact's address, typed: a click alone erases nothing."""

    email = StringField("Type their email address to confirm", validators=[Length(max=254)])
    submit = SubmitField("Erase for good")


# -- sessions ---------------------------------------------------------------------------------


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Send anyone without a valid admin session to the login page (401 for non-GET requests)."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        user_id = session.get("admin_user")
        user = current_services().store.get_user(user_id=user_id) if user_id else None
        if user is not None and session.get("admin_key") != _session_key(user):
            user = None  # the password changed since this session logged in: log in again
        if user is None:
            if request.method != "GET":
                abort(401)
            return redirect(url_for("admin.login", next=request.full_path if request.query_string else request.path))
        g.admin = user
        return view(*args, **kwargs)

    return wrapped


def _session_key(user: dict[str, Any]) -> str:
    """A short digest of the password hash: setting a new password ends every older session."""
    return hashlib.sha256(user["password_hash"].encode()).hexdigest()[:16]


def zone() -> tzinfo:
    """The admin's time zone (``ADMIN_TIMEZONE``; checked when the app is made)."""
    return admin_zone(str(current_app.config.get("ADMIN_TIMEZONE") or "UTC"))


def readable() -> Readable:
    name = str(current_app.config.get("ADMIN_TIMEZONE") or "UTC")
    return Readable(zone(), name, current_services().catalog)


def render(template: str, **context: Any) -> Response:
    html = current_services().renderer.render(f"admin/{template}", admin=g.get("admin"), show=readable(), **context)
    response = Response(html, content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"  # personal data: never cached anywhere
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _safe_next(target: str | None) -> str:
    """Only a local /admin path (never an open redirect to another site)."""
    if target and target.startswith("/admin") and not target.startswith("//"):
        return target
    return url_for("admin.dashboard")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response:
    form = LoginForm()
    error = None
    status = 200
    if request.method == "POST":
        limit = current_app.config["ADMIN_LOGIN_LIMIT"]
        for key in login_limit_keys(current_app.config["SECRET_KEY"], request.remote_addr, form.email.data):
            allowed, retry_after = current_services().throttle.hit(key, limit)
            if not allowed:
                response = render_error(429, message=f"Too many login attempts. Wait {retry_after} seconds and try again.")
                response.headers["Retry-After"] = str(retry_after)
                return response
        if form.validate_on_submit():
            user = check_login(current_services().store, form.email.data, form.password.data)
            if user is not None:
                session.clear()  # a fresh session: nothing from before the login carries over
                session["admin_user"] = user["id"]
                session["admin_key"] = _session_key(user)
                session.permanent = True
                current_services().store.audit(user["email"], "admin_login", {"user_id": user["id"]})
                return redirect(_safe_next(request.args.get("next")), code=303)
            error = "That email and password do not match an admin user. Check both and try again."
        elif form.email.errors or form.password.errors:
            error = " ".join([*form.email.errors, *form.password.errors])
        csrf_failed = bool(form.errors.get("csrf_token"))
        status = 400 if csrf_failed else 422
        if csrf_failed:
            error = "The form expired. Reload the page and log in again."
    response = render("login.html", form=form, error=error)
    response.status_code = status
    return response


@bp.post("/logout")
@login_required
def logout() -> Response:
    if not ActionForm().validate_on_submit():
        abort(400)
    session.clear()
    return redirect(url_for("admin.login"), code=303)


# What "Not spam" can come to (contact.html words each).
RELEASE_OUTCOMES = ("released", "unsubscribed", "duplicate", "unpublished", "started", "ended")


# -- pages ------------------------------------------------------------------------------------


@bp.get("/leads")
@login_required
def leads() -> Response:
    filters = filters_from_args(zone())
    before = request.args.get("before", type=int)
    by_score = request.args.get("sort") == "score"  # highest score first (keyset: score, then id)
    store = current_services().store
    rows = store.list_leads(
        filters, before_id=before, limit=PAGE_SIZE + 1, by_score=by_score, below_score=request.args.get("score", type=int)
    )
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    show, contacts = readable(), {}
    for row in rows:  # a page's 50 rows by primary key: status and answers are not in list_leads
        submission = store.get_submission(row["id"]) or {}
        if row["contact_id"] not in contacts:
            contacts[row["contact_id"]] = store.get_contact(row["contact_id"])
        row["status_word"] = lead_status(submission, contacts[row["contact_id"]])
        row["spam_reason"] = submission.get("spam_reason")
        row["answers"] = show.answers(json.loads(submission.get("data") or "{}"), row["offer_slug"])
    # Only the filters carry over to the next page: any other query key could be one of
    # url_for's own arguments (_scheme, _anchor, endpoint...) and break the page.
    kept = {key: request.args.getlist(key) for key in FILTER_ARGS if key in request.args}
    scored = {"score": rows[-1]["score"]} if more and by_score else {}
    next_url = url_for("admin.leads", **kept, **scored, before=rows[-1]["id"]) if more else None
    return render("leads.html", rows=rows, next_url=next_url, args=request.args, logout=ActionForm())


def _contact_or_404(contact_id: int) -> dict[str, Any]:
    store = current_services().store
    contact = store.get_contact(contact_id)
    if contact is None:
        abort(404)
    record = store.contact_record(contact["email"])
    if record is None:
        abort(404)
    return record


@bp.get("/contacts/<int:contact_id>")
@login_required
def contact(contact_id: int) -> Response:
    record = _contact_or_404(contact_id)
    # After "Not spam": which submission, and what came of it (a known word: no text is reflected).
    released = next((s for s in record["submissions"] if s["id"] == request.args.get("submission", type=int)), None)
    outcome = request.args.get("outcome") if released is not None else None
    return render(
        "contact.html",
        record=record,
        score=stage_of(record["contact"]),
        sequences=current_services().deliveries.sequences.positions(contact_id),
        qualified=request.args.get("qualified") == "1",
        action=ActionForm(),
        released=released,
        outcome=outcome if outcome in RELEASE_OUTCOMES else None,
        twin=request.args.get("of", type=int),
        logout=ActionForm(),
    )


@bp.post("/submissions/<int:submission_id>/not-spam")
@login_required
def not_spam(submission_id: int) -> Response:
    """A submission held as spam is a person after all: make it a lead and send what it is owed."""
    if not ActionForm().validate_on_submit():
        abort(400)
    site = current_services()
    submission = site.store.get_submission(submission_id)
    if submission is None:
        abort(404)
    back = functools.partial(url_for, "admin.contact", contact_id=submission["contact_id"], submission=submission_id)
    # Only what the form itself would take now: the offer published, open (or with a replay).
    page = site.catalog.get(submission["offer_slug"])
    plan = None if page is None else site.deliveries.plan(page.offer)
    why = "unpublished" if plan is None else plan.closed
    if plan is None or why is not None:
        return redirect(back(outcome=why), code=303)
    done = site.deliveries.release(plan, submission_id)
    if done is None:
        return redirect(back(), code=303)  # not spam (any more): nothing to do
    if done["result"] == "released":
        site.store.audit(g.admin["email"], "not_spam", {"submission_id": submission_id})
    return redirect(back(outcome=done["result"], of=done["of"]), code=303)


# How the audit log words each action.
AUDIT_ACTIONS = {
    "admin_login": "Logged in",
    "admin_user_set": "Admin user added or password changed (command line)",
    "contact_download": "Downloaded a contact's data",
    "erase_contact": "Erased a contact",
    "erase_files": "Erased a person's email files and rate-limit counters",
    "export_download": "Downloaded an export",
    "not_spam": "Made a spam submission a lead",
    "sales_qualified": "Marked a contact sales-qualified (SQL)",
}


@bp.get("/audit")
@login_required
def audit() -> Response:
    """Who did what with the contacts, newest first, 50 a page (keyset, like the leads)."""
    before = request.args.get("before", type=int)
    entries = current_services().store.audit_entries(before_id=before, limit=PAGE_SIZE + 1)
    more = len(entries) > PAGE_SIZE
    entries = entries[:PAGE_SIZE]
    next_url = url_for("admin.audit", before=entries[-1]["id"]) if more else None
    return render("audit.html", entries=entries, actions=AUDIT_ACTIONS, next_url=next_url, logout=ActionForm())


@bp.get("/contacts/<int:contact_id>.json")
@login_required
def contact_json(contact_id: int) -> Response:
    """Everything stored about one contact, as a JSON download (a subject access request)."""
    record = _contact_or_404(contact_id)
    current_services().store.audit(g.admin["email"], "contact_download", {"contact_id": contact_id})
    body = json.dumps(record, indent=2, ensure_ascii=False, default=str)
    response = Response(body, content_type="application/json; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="contact-{contact_id}.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/contacts/<int:contact_id>/erase", methods=["GET", "POST"])
@login_required
def erase(contact_id: int) -> Response:
    """The confirmation page (GET); erasing (POST) only with the contact's address typed in it."""
    services = current_services()
    contact = services.store.get_contact(contact_id)
    form = EraseForm()
    if request.method == "POST" and not form.validate_on_submit() and "csrf_token" in form.errors:
        abort(400)  # a bad or missing CSRF token (before saying whether the contact exists)
    if contact is None:
        abort(404)
    typed = (form.email.data or "").strip().lower() if request.method == "POST" else None
    if typed == contact["email"].lower():
        services.erasure.erase(contact["email"], actor=g.admin["email"])  # rows, freed bytes, WAL, .eml files
        return redirect(url_for("admin.leads", erased=1), code=303)
    response = render("erase.html", contact=contact, form=form, mismatch=typed is not None, logout=ActionForm())
    response.status_code = 200 if typed is None else 422
    return response


@bp.get("/export")
@login_required
def export_page() -> Response:
    presets = current_services().exports.preset_names()
    return render("export.html", presets=presets, args=request.args, logout=ActionForm())


@bp.get("/export/download")
@login_required
def export_download() -> Response:
    """The same export as ``leadmagnet export``, streamed as a download (no cursor, no split)."""
    services = current_services()
    try:
        req = services.exports.prepare(
            filters_from_args(zone(), for_export=True),
            kind=request.args.get("kind", "contacts"),
            preset=request.args.get("format", "generic"),
            output=request.args.get("output", "csv"),
            excel=request.args.get("excel") == "1",
            split=0,
        )
    except ExportError as exc:
        return Response(f"{exc}\n", status=400, content_type="text/plain; charset=utf-8")
    services.store.audit(g.admin["email"], "export_download", {"kind": req.kind, "format": req.preset})
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    ext = "jsonl" if req.output == "jsonl" else "csv"
    mimetype = "application/x-ndjson" if ext == "jsonl" else "text/csv"
    response = Response(stream_with_context(services.exports.stream(req)), mimetype=mimetype)
    response.headers["Content-Type"] = f"{mimetype}; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="leads-{req.preset}-{stamp}.{ext}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.record_once
def _configure_sessions(state: Any) -> None:
    """Admin session cookies: HttpOnly, SameSite=Lax, Secure on an HTTPS site, limited lifetime."""
    app: Flask = state.app
    admin_zone(str(app.config.get("ADMIN_TIMEZONE") or "UTC"))  # a mistyped zone stops the start, naming the setting
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = app.config.get("SESSION_COOKIE_SAMESITE") or "Lax"
    if str(app.config.get("BASE_URL", "")).startswith("https://"):
        app.config["SESSION_COOKIE_SECURE"] = True
    app.permanent_session_lifetime = timedelta(hours=float(app.config.get("ADMIN_SESSION_HOURS", 8)))
