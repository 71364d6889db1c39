"""Email: building messages from theme templates, and the sender that empties the outbox.

An outbox row is queued inside the transaction that makes it owed (so it exists exactly when the
lead does); its message is built by the sender from the row's template and then stored whole, so
a retry sends the same bytes. The sender claims due rows with a lease, delivers each over SMTP, and records every attempt: success, or a failure retried
after ``MAIL_RETRY_SECONDS`` doubling each time, up to ``MAIL_MAX_ATTEMPTS``. A sender that dies
mid-way leaves its rows leased; when the lease runs out another run picks them up again.

A failure that no retry can fix (:class:`Undeliverable`) fails the email at once, and an
unexpected error while sending one email counts as a failed attempt of that email only: one bad
row never stops a pass, so the rows after it still go out.

International addresses (accepted by the forms, as email-validator allows them) are sent in
their ASCII form when there is one (an IDN domain as punycode); an address whose local part is
not ASCII has none, so its message is written with UTF-8 headers (RFC 6532) and sent with
SMTPUTF8 (RFC 6531), and fails for good on a server that does not offer it. The same holds for
the sender address (``SMTP_FROM``). Address headers are built as
:class:`~email.headerregistry.Address` objects, so the policy quotes or encodes the site name as
one display name whatever its punctuation (``Café, Inc.``, ``Müller (GmbH)``).

With no ``SMTP_HOST`` configured, messages are written as ``instance/outbox/<id>-<kind>.eml``
files instead, so a marketer can open them in a mail program while building offers.

Templates are ``email/<kind>.txt`` and ``email/<kind>.html`` in the offer's theme (falling back to
the default theme), rendered with autoescaping; the text template turns it off for itself.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email

from leadmagnet.content.offer import Offer
from leadmagnet.delivery import messages
from leadmagnet.render.renderer import Renderer
from leadmagnet.store import Store, utcnow

log = logging.getLogger(__name__)

LEASE_SECONDS = 300  # a claimed email is retried by another run if not settled within this
# A pass stops sending this long before its lease ends: a row it has not reached by then is left
# for the run that claims it once the lease is over, never sent by both (slow SMTP, a paused VM).
LEASE_MARGIN = timedelta(seconds=60)
SMTP_TIMEOUT = 30


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str
    subtype: str
    params: dict[str, str] = field(default_factory=dict)


def check_settings(cfg: Mapping[str, Any]) -> None:
    """Raise ValueError naming the setting if the sender settings cannot make a valid email.

    Read when the app starts: a wrong sender address otherwise shows only later, as every email
    failing in the outbox.
    """
    name = str(cfg.get("SITE_NAME") or "")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise ValueError("LEADMAGNET_SITE_NAME: it is the emails' sender name, so it must be one line with no control characters")
    sender = str(cfg.get("SMTP_FROM") or "")
    # The shape only (local part @ domain, nothing else): leadmagnet@localhost is a fine sender for
    # a test install, which email-validator would refuse as a reserved name.
    local, at, domain = sender.rpartition("@")
    if not (local and at and domain) or any(ch.isspace() or ch in '<>,;"' or ord(ch) < 32 for ch in sender):
        spaces = " (it has a space at the start or end: remove it)" if sender != sender.strip() else ""
        raise ValueError(f"LEADMAGNET_SMTP_FROM: {sender!r} is not an email address{spaces}; write it like news@example.com")


def smtp_address(address: str) -> str:
    """The form of ``address`` to send to, in the envelope and the headers alike.

    An address whose local part is ASCII has an ASCII form (email-validator's: an IDN domain
    as punycode), which every server accepts. One whose local part is not ASCII has none and is
    returned unchanged: it can only be sent with SMTPUTF8.
    """
    if address.isascii():
        return address
    try:
        ascii_email = validate_email(address, check_deliverability=False).ascii_email
    except EmailNotValidError:
        return address  # not ours to refuse here: the server answers for it
    return ascii_email or address


def mailbox(address: str, display_name: str = "") -> Address:
    """``address`` (with ``display_name``) as a header mailbox, for the policy to quote or encode.

    Built from its parts: the stdlib refuses to parse an addr_spec whose local part is not ASCII,
    though the SMTPUTF8 policy writes one as it is (RFC 6532).
    """
    username, at, domain = address.rpartition("@")
    if not at:
        username, domain = address, ""
    return Address(display_name, username=username, domain=domain)


def ascii_domain(domain: str) -> str | None:
    """``domain`` in ASCII: an IDN as punycode (email-validator's IDNA 2008 form); None if it has none.

    For headers that stay ASCII even in an SMTPUTF8 message, such as the Message-ID.
    """
    if domain.isascii():
        return domain
    try:
        # email-validator offers its IDNA conversion only through a whole address; postmaster is
        # a valid local part at every domain (RFC 5321), so only the domain is judged.
        return validate_email(f"postmaster@{domain}", check_deliverability=False).ascii_domain
    except EmailNotValidError:
        return None


def compose(
    renderer: Renderer,
    cfg: Mapping[str, Any],
    offer: Offer | None,
    template: str,
    *,
    to_addr: str,
    subject: str,
    context: dict[str, Any],
    unsubscribe_url: str | None = None,
    attachments: tuple[Attachment, ...] = (),
) -> EmailMessage:
    """A multipart text + HTML message from ``email/<template>.txt`` and ``.html``, rendered by
    ``renderer`` (the offer's theme); ``cfg`` gives the sender (``SMTP_FROM``, ``SITE_NAME``).

    ``unsubscribe_url`` adds the RFC 2369 ``List-Unsubscribe`` and RFC 8058
    ``List-Unsubscribe-Post`` headers, so mail programs can offer one-click unsubscribing.
    Addresses are written in their :func:`smtp_address` form; when one is still not ASCII, the
    message uses the SMTPUTF8 policy (UTF-8 headers), since an encoded word is not allowed there.
    The site name is the sender's display name: an encoded word under the SMTP policy, a quoted
    UTF-8 string under SMTPUTF8. The Message-ID's domain is ASCII either way.
    """
    ctx = {"subject": subject, "unsubscribe_url": unsubscribe_url, **context}
    ctx.pop("offer", None)  # passed to the renderer on its own
    text = renderer.render(f"email/{template}.txt", offer, **ctx)
    html = renderer.render(f"email/{template}.html", offer, **ctx)
    from_addr, to_addr = smtp_address(cfg["SMTP_FROM"]), smtp_address(to_addr)
    msg = messages.new_message(ascii_only=(from_addr + to_addr).isascii())
    msg["Subject"] = subject
    # Address objects, not formatted strings: the policy then quotes or encodes the whole name. A
    # string loses a name with a comma (two mailboxes under SMTPUTF8) or parentheses (a comment).
    sender = mailbox(from_addr, cfg["SITE_NAME"] or "")
    msg["From"] = messages.from_header(msg.policy, sender.display_name, sender.username, sender.domain)  # parsed once
    msg["To"] = mailbox(to_addr)
    msg["Date"] = datetime.now(UTC)  # a datetime: the policy formats it (RFC 5322) without parsing text back
    msg_domain = ascii_domain(from_addr.rpartition("@")[2]) or ascii_domain(urlsplit(cfg["BASE_URL"]).hostname or "")
    msg["Message-ID"] = make_msgid(domain=msg_domain or "localhost")
    msg["Auto-Submitted"] = "auto-generated"
    if unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(text)
    msg.make_alternative(boundary=messages.boundary())  # ours: see delivery/messages.py
    msg.add_alternative(html, subtype="html")
    if attachments:
        msg.make_mixed(boundary=messages.boundary())
    for item in attachments:
        msg.add_attachment(item.content, maintype=item.maintype, subtype=item.subtype, filename=item.filename, params=item.params)
    return msg


# -- sending ---------------------------------------------------------------------------------


class RenderError(Exception):
    """A queued email could not be built from its template (a broken theme, a removed offer)."""


class Undeliverable(Exception):
    """An email that no retry can deliver (an international address on a server without SMTPUTF8)."""


@dataclass
class SendReport:
    """What one pass over the outbox did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    reminders: int = 0
    promoted: int = 0  # waitlisted people given a seat that was added
    rescheduled: int = 0  # registrants told a webinar's new time
    sequenced: int = 0  # follow-up sequence emails queued
    trimmed: int = 0  # sent emails whose bytes were dropped (KEEP_SENT_EMAILS_DAYS)
    written: list[Path] = field(default_factory=list)
    webhooks: Any = None  # the pass's webhooks.WebhookReport

    @property
    def busy(self) -> bool:
        """Something happened in this pass."""
        return bool(
            self.sent
            or self.retried
            or self.failed
            or self.reminders
            or self.promoted
            or self.rescheduled
            or self.sequenced
            or self.webhooks
        )

    def __str__(self) -> str:
        text = f"{self.reminders} reminders queued, " + (f"{self.sequenced} sequence emails queued, " if self.sequenced else "")
        text += f"{self.sent} sent, {self.retried} to retry, {self.failed} failed"
        text += f", {self.promoted} seated from the waitlist" if self.promoted else ""
        text += f", {self.rescheduled} told a webinar's new time" if self.rescheduled else ""
        text += f"; webhooks: {self.webhooks}" if self.webhooks else ""
        return text + (f", {self.trimmed} old sent emails' text dropped" if self.trimmed else "")


def outbox_dir(cfg: Mapping[str, Any]) -> Path:
    """The folder of the ``.eml`` files written when no ``SMTP_HOST`` is set."""
    return Path(cfg["INSTANCE_DIR"]) / "outbox"


def eml_path(folder: Path, outbox_id: int, kind: str) -> Path:
    """The file of outbox row ``outbox_id``: ``<id>-<kind>.eml``, the id first (see :func:`eml_id`)."""
    return folder / f"{outbox_id:06d}-{kind.replace(':', '-')}.eml"


def eml_id(path: Path) -> int | None:
    """The outbox id of a file :func:`eml_path` named, or None for any other file."""
    head = path.name.partition("-")[0]
    return int(head) if path.suffix == ".eml" and head.isdigit() else None


class Transport:
    """Delivers raw messages: over SMTP, or as ``.eml`` files when no SMTP host is set."""

    def __init__(self, cfg: Mapping[str, Any], outbox_dir: Path) -> None:
        self.cfg = cfg
        self.outbox_dir = outbox_dir
        self._smtp: smtplib.SMTP | None = None

    @property
    def is_smtp(self) -> bool:
        return bool(self.cfg.get("SMTP_HOST"))

    def deliver(self, row: dict[str, Any]) -> Path | None:
        """Deliver one outbox row; raise on failure. Returns the file written, if any."""
        if not self.is_smtp:
            self.outbox_dir.mkdir(parents=True, exist_ok=True)
            path = eml_path(self.outbox_dir, row["id"], row["kind"])
            path.write_bytes(row["message"])
            return path
        smtp = self._connect()
        sender, recipient = smtp_address(self.cfg["SMTP_FROM"]), smtp_address(row["to_addr"])
        options: tuple[str, ...] = ()
        if not (sender + recipient).isascii():
            # What smtplib's send_message does for such addresses; the message is already
            # stored with UTF-8 headers (see compose), so its bytes are sent as they are.
            if not smtp.has_extn("smtputf8"):
                if sender.isascii():
                    reason = "to an address with non-ASCII characters before the @; use a mail server that offers SMTPUTF8"
                else:
                    reason = (
                        f"from SMTP_FROM {sender!r}, which has non-ASCII characters before the @;"
                        " use an ASCII sender address or a mail server that offers SMTPUTF8"
                    )
                raise Undeliverable(
                    f"the mail server does not accept international addresses (SMTPUTF8), so this email cannot be sent {reason}"
                )
            options = ("SMTPUTF8", "BODY=8BITMIME")
        try:
            smtp.sendmail(sender, [recipient], row["message"], mail_options=options)
        except smtplib.SMTPResponseException:
            # the server answered: the connection is still usable for the next message
            raise
        except Exception:
            # anything else may leave the SMTP conversation half-way: start the next one afresh
            self.close()
            raise
        return None

    def _connect(self) -> smtplib.SMTP:
        if self._smtp is not None:
            return self._smtp
        cfg = self.cfg
        smtp = smtplib.SMTP(cfg["SMTP_HOST"], int(cfg["SMTP_PORT"]), timeout=SMTP_TIMEOUT)
        try:
            smtp.ehlo()
            if cfg.get("SMTP_STARTTLS"):
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if cfg.get("SMTP_USERNAME"):
                smtp.login(cfg["SMTP_USERNAME"], cfg.get("SMTP_PASSWORD") or "")
        except BaseException:
            smtp.close()
            raise
        self._smtp = smtp
        return smtp

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None


def backoff(cfg: Mapping[str, Any], attempts_so_far: int) -> timedelta:
    """Wait before the next try after ``attempts_so_far`` failures (1, 2, 3...): doubling."""
    return timedelta(seconds=float(cfg["MAIL_RETRY_SECONDS"]) * 2 ** max(0, attempts_so_far - 1))


def send_due(
    store: Store,
    cfg: Mapping[str, Any],
    now: datetime | None = None,
    limit: int = 100,
    after_claim: Callable[[list[dict[str, Any]]], None] | None = None,
    render: Callable[[dict[str, Any]], bytes] | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> SendReport:
    """Deliver every email due at ``now``; record each attempt. One pass; returns the counts.

    The pass stops :data:`LEASE_MARGIN` before its lease ends (read from ``clock``), leaving the
    rows it has not reached to whoever claims them next.

    Rows queued with a ``template`` are built by ``render(row)`` first (and kept, so a retry
    sends the same bytes); a row that cannot be built counts as a failed attempt, retried
    later like a refused one, so fixing the template lets it go out. So does any unexpected
    error while sending a row (logged with its traceback): the pass goes on with the next row.
    An :class:`Undeliverable` row fails for good at once.
    ``after_claim`` is called with the claimed rows before any is sent (tests use it to stop a
    sender right there, as a crash would).
    """
    now = now or datetime.now(UTC)
    report = SendReport()
    lease_until = now + timedelta(seconds=LEASE_SECONDS)
    rows = store.claim_due_emails(now.isoformat(timespec="microseconds"), lease_until.isoformat(), limit)
    if after_claim is not None:
        after_claim(rows)
    transport = Transport(cfg, outbox_dir(cfg))
    try:
        for row in rows:
            if clock() >= lease_until - LEASE_MARGIN:
                # The lease is nearly over: another sender may claim these rows soon. Leave them.
                log.warning(
                    "the send pass ran close to its %s s lease: %s claimed emails left for the next pass",
                    LEASE_SECONDS,
                    len(rows) - report.sent,
                )
                break
            try:
                if row.get("template"):
                    if render is None:
                        raise RenderError(f"no renderer for template {row['template']!r}")
                    try:
                        row["message"] = render(row)
                    except Exception as exc:
                        raise RenderError(f"could not build the email from template {row['template']!r}: {exc}") from exc
                    if not store.save_rendered(row["id"], row["message"], row.get("created_at")):
                        continue  # erased while held, and its id taken by a later email: nothing to send
                written = transport.deliver(row)
            except Undeliverable as exc:
                _record_failure(store, cfg, report, row, now, exc, permanent=True)
                continue
            except (smtplib.SMTPException, OSError, RenderError) as exc:
                _record_failure(store, cfg, report, row, now, exc)
                continue
            except Exception as exc:  # a bug must cost this one email an attempt, not stop the pass
                _record_failure(store, cfg, report, row, now, exc, unexpected=True)
                continue
            if not store.mark_attempt(row["id"], at=utcnow(), ok=True, created_at=row.get("created_at")):
                # Erased while this pass held it: the email may have gone, but no copy stays here.
                if written is not None:
                    written.unlink(missing_ok=True)
                continue
            report.sent += 1
            if written is not None:
                report.written.append(written)
    finally:
        transport.close()
    return report


def _record_failure(
    store: Store,
    cfg: Mapping[str, Any],
    report: SendReport,
    row: dict[str, Any],
    now: datetime,
    exc: Exception,
    *,
    permanent: bool = False,
    unexpected: bool = False,
) -> None:
    """Record a failed attempt of ``row``: retried after :func:`backoff`, or failed for good when
    ``permanent`` or out of attempts. An ``unexpected`` error is logged with its traceback."""
    attempts = row["attempts"] + 1
    error = f"{type(exc).__name__}: {exc}"[:500]
    exc_info = exc if unexpected else None
    if permanent or attempts >= int(cfg["MAIL_MAX_ATTEMPTS"]):
        store.mark_attempt(row["id"], at=utcnow(), ok=False, error=error, created_at=row.get("created_at"))
        report.failed += 1
        log.error("email %s to %s failed for good after %s attempts: %s", row["id"], row["to_addr"], attempts, error, exc_info=exc_info)
    else:
        retry_at = (now + backoff(cfg, attempts)).isoformat(timespec="microseconds")
        store.mark_attempt(row["id"], at=utcnow(), ok=False, error=error, retry_at=retry_at, created_at=row.get("created_at"))
        report.retried += 1
        log.warning(
            "email %s to %s failed (attempt %s), retrying at %s: %s",
            row["id"],
            row["to_addr"],
            attempts,
            retry_at,
            error,
            exc_info=exc_info,
        )
