"""Spam verdicts for lead forms: a honeypot and a minimum fill time, with no per-visitor state.

Public forms carry no session or CSRF token (landing pages stay the same bytes for every visitor),
so the defences are things a bot gets wrong and a person does not:

* **Honeypot.** The form has a ``website`` text field that people never see nor hear (moved off
  screen, ``aria-hidden``, ``tabindex=-1``, ``autocomplete=off``). Form-filling bots fill every
  field they find; anything in it marks the submission as spam.
* **Fill time.** ``lead.js`` writes ``form_ts`` as ``<loaded>-<submitted>`` (milliseconds of the
  browser's own clock, so a visitor's wrong clock does not matter). A form sent faster than
  ``LEADMAGNET_MIN_FILL_SECONDS`` after the page loaded was not typed by a person. A form sent
  without JavaScript has no ``form_ts`` and is never timed: a person without JavaScript is a lead.

A caught submission is answered exactly like a real one (the thank-you page: bots learn nothing)
and stored with ``spam = 1`` and the reason, so nothing is silently lost and a wrong verdict can
be reviewed.
"""

from __future__ import annotations

import re
import time

_TS_RE = re.compile(r"^(\d{10,16})(?:-(\d{10,16}))?$")


def verdict(honeypot: str, form_ts: str, min_fill_seconds: float, now: float | None = None) -> str | None:
    """Return why a submission is spam (``honeypot``, ``too fast: 0.4 s``…), or None for a person.

    ``form_ts`` is ``<loaded_ms>-<submitted_ms>`` from ``lead.js``, or ``<loaded_ms>`` alone when
    the script could not see the submit (then the server's clock ``now`` is used, and a page time
    in the future is not judged, since the visitor's clock may be ahead), or empty without
    JavaScript (never judged).
    """
    if honeypot.strip():
        return "honeypot"
    form_ts = form_ts.strip()
    if not form_ts or min_fill_seconds <= 0:
        return None
    match = _TS_RE.match(form_ts)
    if match is None:
        return "malformed form_ts"
    loaded = int(match.group(1))
    if match.group(2) is not None:
        elapsed = (int(match.group(2)) - loaded) / 1000
    else:
        elapsed = ((time.time() if now is None else now) * 1000 - loaded) / 1000
        if elapsed < 0:
            return None
    if elapsed < min_fill_seconds:
        return f"too fast: {max(elapsed, 0):.1f} s"
    return None
