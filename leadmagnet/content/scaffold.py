"""Starter files for ``leadmagnet new``: a valid, commented offer of each type, as a draft.

Every key a starter file shows is a key of the contract (:mod:`leadmagnet.content.contract`);
``tests/test_cli.py`` checks that each starter passes ``leadmagnet check`` as written. A starter
says ``draft: true``: its placeholders (the PDF, the join link) are never published until the
author removes that line.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

EBOOK_TEMPLATE = """---
# Offer: an ebook. Run `leadmagnet check` after editing; `leadmagnet keys` lists every key.
title: {title}
type: ebook
# The page address is /{slug} (from the file name); set slug: to change it.
description: One or two sentences for search results and social cards (under 160 characters).
subtitle: The promise of the ebook in one line
# Button text of the form.
cta: Get the free ebook
# The gated file: never public, delivered by a signed link. Replace this placeholder.
file: files/{slug}.pdf
# pages: 24
# image: assets/{slug}-cover.png     # cover image, under the content folder
# Form fields besides email: first_name, last_name, company, job_title, phone, country,
# or custom ones: - {{name: team_size, label: Team size, type: select, choices: [1-5, 6+]}}
fields: [first_name, company]
# consent: I agree to receive emails about this topic.   # adds a required checkbox
thank_you: |
  **Thank you!** Your copy is on its way to your inbox.
tags: [ebook]
stage: tofu
# next: another-offer   # what the thank-you page recommends (default: next stage, shared tag)
# The landing page (README "Layouts and sections"): every section is optional.
# layout: split                      # split, centered or longform
# proof: "Join {{count}} readers"     # the real number of leads, shown from proof_min (100) on
# benefits:
#   - {{title: What you learn, text: One line about it, icon: check}}
# faq:
#   - {{q: Is it free?, a: Yes.}}
# A draft is checked but not published (404): remove this line when the offer is ready.
draft: true
# publish_at: 2027-01-01T09:00:00Z  # not served before
# expires_at: 2027-12-31T23:59:59Z  # "this offer has ended" after
# Follow-up emails after the download (delays like 30 minutes, 2 days or P2D):
# sequence:
#   - after: 2 days
#     subject: Three ways to use what you downloaded
#     body: |
#       Start with the **second** chapter.
# stop_when: [your-demo-offer]      # its submission ends the sequence
---
Write the pitch here, in Markdown: who it is for, what they will learn, why now.

## What's inside

- The first thing the reader gets
- The second thing
"""

WEBINAR_TEMPLATE = """---
# Offer: a webinar. Run `leadmagnet check` after editing; `leadmagnet keys` lists every key.
title: {title}
type: webinar
# The page address is /{slug} (from the file name); set slug: to change it.
description: One or two sentences for search results and social cards (under 160 characters).
subtitle: What attendees will be able to do afterwards
cta: Save my seat
# Start time: with an offset (2027-03-04T16:00:00+01:00), or naive plus timezone.
starts_at: {starts_at}
timezone: UTC
duration_minutes: 45
# Sent to registrants only; never shown on the public page.
join_url: https://meet.example.com/replace-with-your-room
# capacity: 100                     # registrations beyond it are waitlisted
# replay_url: https://video.example.com/your-recording
presenters:
  - name: Your Name
    title: Your role
    # photo: assets/your-photo.jpg
fields: [first_name, last_name, company]
consent: I agree to receive the joining details and a reminder by email.
thank_you: |
  **You're registered.** The joining details are below and in your inbox.
tags: [webinar]
stage: mofu
# next: another-offer   # what the thank-you page recommends (default: next stage, shared tag)
# The landing page (README "Layouts and sections"): every section is optional.
# layout: split                      # split, centered or longform
# proof: "Join {{count}} readers"     # the real number of leads, shown from proof_min (100) on
# benefits:
#   - {{title: What you learn, text: One line about it, icon: check}}
# faq:
#   - {{q: Is it free?, a: Yes.}}
# A draft is checked but not published (404): remove this line when the offer is ready.
draft: true
---
Write the pitch here, in Markdown: the agenda, who should attend, what they will take away.
"""

# A one-page PDF that says "Replace me", so that a new ebook offer is valid from the start.
PLACEHOLDER_PDF = (
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n"
    b"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>\nendobj\n"
    b"4 0 obj\n<< /Length 44 >>\nstream\nBT /F1 24 Tf 72 700 Td (Replace me) Tj ET\nendstream\nendobj\n"
    b"5 0 obj\n<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
)


def write_new_offer(content_dir: Path, offer_type: str, slug: str) -> list[Path]:
    """Write the starter file (and, for an ebook, a placeholder PDF to replace)."""
    written = []
    title = slug.replace("-", " ").capitalize()
    if offer_type == "ebook":
        placeholder = content_dir / "files" / f"{slug}.pdf"
        if not placeholder.exists():
            placeholder.parent.mkdir(parents=True, exist_ok=True)
            placeholder.write_bytes(PLACEHOLDER_PDF)
            written.append(placeholder)
        body = EBOOK_TEMPLATE.format(title=title, slug=slug)
    else:
        start = (datetime.now(UTC) + timedelta(days=14)).replace(hour=16, minute=0, second=0, microsecond=0)
        body = WEBINAR_TEMPLATE.format(title=title, slug=slug, starts_at=start.strftime("%Y-%m-%dT%H:%M:%S"))
    path = content_dir / f"{slug}.md"
    path.write_text(body, encoding="utf-8")
    written.insert(0, path)
    return written
