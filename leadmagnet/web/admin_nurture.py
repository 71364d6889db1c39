"""The admin's nurturing actions, on the admin blueprint: marking a contact sales-qualified (SQL).

Scores move a contact from subscriber to lead to marketing-qualified lead by themselves
(:mod:`leadmagnet.leads.scoring`); the last step, sales-qualified, is a person's judgement, so it
is a button on the contact's page: a POST with the admin forms' CSRF token, audited without
personal data. The contact page itself (score, stage, sequences) is :func:`leadmagnet.web.admin.contact`.
"""

from __future__ import annotations

from flask import Response, abort, g, redirect, url_for

from leadmagnet.store import utcnow
from leadmagnet.web import current_services
from leadmagnet.web.admin import ActionForm, bp, login_required


@bp.post("/contacts/<int:contact_id>/sales-qualified")
@login_required
def sales_qualified(contact_id: int) -> Response:
    """Mark the contact sales-qualified (SQL): their exports say so from now on."""
    if not ActionForm().validate_on_submit():
        abort(400)
    store = current_services().store
    if not store.mark_sales_qualified(contact_id, utcnow()):
        abort(404)
    store.audit(g.admin["email"], "sales_qualified", {"contact_id": contact_id})
    return redirect(url_for("admin.contact", contact_id=contact_id, qualified=1), code=303)
