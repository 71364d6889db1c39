"""One WTForms class per offer, built from its front-matter ``fields``, plus input cleaning.

Public lead forms subclass plain :class:`wtforms.Form`: no session CSRF token, so landing pages
stay the same bytes for every visitor and can be cached (their defences are in :mod:`spam` and
:mod:`throttle`). Classes are built once per offer (cached on the frozen :class:`Offer`), so a
request only instantiates one.

Every value is cleaned before validation (:func:`clean_text`): Unicode NFC, control characters
removed, surrounding space trimmed. Every field has a length cap (the offer's ``max_length`` or
the default). Each message says which field is wrong and what to do.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from email_validator import EmailNotValidError, validate_email
from wtforms import BooleanField, EmailField, Form, SelectField, StringField, TelField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import StopValidation, ValidationError

from leadmagnet.content.fields import DEFAULT_MAX_LENGTH, FieldSpec
from leadmagnet.content.offer import Offer

UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
# Hidden fields that travel with a submission: (name, cap). Values longer are cut, not refused,
# since the visitor never typed them.
HIDDEN_FIELDS = {**dict.fromkeys(UTM_FIELDS, 200), "referrer": 500, "form_ts": 40, "website": 200, "variant": 16}

# Cc (controls) except tab and newline, which a textarea may hold; plus the bidi and zero-width
# format characters that can disguise text (Cf), except ZWJ/ZWNJ needed by some scripts and emoji.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def clean_text(value: str, multiline: bool = False) -> str:
    """NFC-normalise, drop control characters (keeping newlines when ``multiline``), trim."""
    value = unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n"))
    value = _CONTROL_RE.sub("", value)
    if not multiline:
        value = " ".join(value.split())
    return value.strip()


def _required(spec: FieldSpec) -> Any:
    label = spec.label.rstrip(":").strip()

    def check(form: Form, field: Any) -> None:
        if spec.type == "checkbox":
            if not field.data:
                raise StopValidation("Tick this box to continue.")
        elif not (field.data or "").strip():
            if spec.type == "select":
                raise StopValidation(f"Choose an option for “{label}”.")
            raise StopValidation(f"Enter your {label[0].lower() + label[1:]}." if spec.builtin else f"Fill in “{label}”.")

    return check


def _max_length(spec: FieldSpec) -> Any:
    cap = spec.max_length or DEFAULT_MAX_LENGTH

    def check(form: Form, field: Any) -> None:
        if isinstance(field.data, str) and len(field.data) > cap:
            raise StopValidation(f"“{spec.label}” is {len(field.data)} characters long; shorten it to {cap} characters or fewer.")

    return check


def _email(check_deliverability: bool) -> Any:
    def check(form: Form, field: Any) -> None:
        value = (field.data or "").strip()
        if not value:
            return
        try:
            result = validate_email(value, check_deliverability=check_deliverability)
        except EmailNotValidError as exc:
            raise ValidationError(f"{exc} Enter an address like name@example.com.") from None
        # International addresses (jörg@example.com, ann@exämple.com) are accepted and kept in
        # Unicode: the sender writes each in the form mail servers accept (mail.smtp_address).
        # One contact per address: the domain is lower-cased by email-validator, and we lower-case
        # the local part too, as every mail provider in practice treats it case-insensitively.
        field.data = result.normalized.lower()

    return check


def _choices(spec: FieldSpec) -> Any:
    allowed = {key for key, _ in spec.choices}

    def check(form: Form, field: Any) -> None:
        if field.data and field.data not in allowed:
            raise StopValidation(f"Choose one of the options for “{spec.label}”.")

    return check


PHONE_MAX = 40  # the longest international number with spaces and an extension fits


def _phone(form: Form, field: Any) -> None:
    # The characters first, then the length: each message names what to change (a number of 2 or
    # 60 digits is made of the right characters; it is its length that is wrong).
    if not field.data:
        return
    if not re.fullmatch(r"[0-9+()./\- ]+", field.data):
        raise ValidationError("Enter a phone number using digits, spaces and + ( ) - . / only, like +44 20 7946 0000.")
    if not 3 <= len(field.data) <= PHONE_MAX:
        raise ValidationError(
            f"A phone number has 3 to {PHONE_MAX} characters; this one has {len(field.data)}. Enter it like +44 20 7946 0000."
        )


def build_field(spec: FieldSpec, check_deliverability: bool = False) -> Any:
    """The unbound WTForms field for one :class:`FieldSpec`, with its validators."""
    validators: list[Any] = []
    if spec.required:
        validators.append(_required(spec))
    if spec.type == "checkbox":
        return BooleanField(spec.label, validators=validators, false_values=("", "0", "false", "off", "no"))
    validators.append(_max_length(spec))
    kwargs = {"validators": validators}
    if spec.type == "email":
        validators.append(_email(check_deliverability))
        return EmailField(spec.label, **kwargs)
    if spec.type == "select":
        validators.append(_choices(spec))
        # validate_choice=False: our own validator gives the friendlier message above.
        return SelectField(
            spec.label,
            choices=[SelectChoice("", "Choose…"), *(SelectChoice(k, v) for k, v in spec.choices)],
            validate_choice=False,
            **kwargs,
        )
    if spec.type == "tel":
        validators.append(_phone)
        return TelField(spec.label, **kwargs)
    if spec.type == "textarea":
        return TextAreaField(spec.label, **kwargs)
    return StringField(spec.label, **kwargs)


class LeadForm(Form):
    """Base of every offer's form: plain WTForms, no CSRF (the page stays cacheable)."""

    spec_names: tuple[str, ...] = ()

    def cleaned(self) -> dict[str, Any]:
        """The validated values of the offer's fields (email normalised), keyed by field name."""
        out: dict[str, Any] = {}
        for name in self.spec_names:
            value = self[name].data
            out[name] = value.strip() if isinstance(value, str) else value
        return out

    def messages(self) -> dict[str, str]:
        """One message per invalid field, in form order."""
        return {name: field.errors[0] for name, field in self._fields.items() if field.errors}


@functools.lru_cache(maxsize=512)
def form_class(offer: Offer, check_deliverability: bool = False) -> type[LeadForm]:
    """The form class of ``offer``: its fields, plus the consent box when ``consent`` is set."""
    attrs: dict[str, Any] = {}
    specs = list(offer.fields)
    if offer.consent:
        specs.append(consent_spec(offer))
    for spec in specs:
        attrs[spec.name] = build_field(spec, check_deliverability)
    attrs["spec_names"] = tuple(s.name for s in specs)
    return type(f"{offer.slug.replace('-', '_')}_form", (LeadForm,), attrs)


def consent_spec(offer: Offer) -> FieldSpec:
    """The consent checkbox as a field spec (required; its label is the offer's consent text)."""
    return FieldSpec("consent", offer.consent or "", "checkbox", True, max_length=1)


class FormData(dict[str, str]):
    """Cleaned posted values, one per field, as WTForms reads form data (``getlist``)."""

    def getlist(self, name: str) -> list[str]:
        return [self[name]] if name in self else []


def clean_input(offer: Offer, raw: Mapping[str, str]) -> tuple[FormData, dict[str, str]]:
    """Clean the posted values: the offer's fields (for the form) and the hidden attribution fields.

    Unknown fields are ignored. Returns ``(form_data, hidden)``.
    """
    multiline = {s.name for s in offer.fields if s.type == "textarea"}
    names = [s.name for s in offer.fields] + (["consent"] if offer.consent else [])
    data = FormData()
    for name in names:
        value = raw.get(name)
        if value is not None:
            data[name] = clean_text(value, multiline=name in multiline)
    hidden = {}
    for name, cap in HIDDEN_FIELDS.items():
        value = raw.get(name)
        hidden[name] = clean_text(value)[:cap] if value else ""
    return data, hidden


def validate(offer: Offer, raw: Mapping[str, str], check_deliverability: bool = False) -> tuple[LeadForm, dict[str, str]]:
    """Build and validate ``offer``'s form from posted values; return ``(form, hidden_fields)``."""
    data, hidden = clean_input(offer, raw)
    form = form_class(offer, check_deliverability)(formdata=data)
    form.validate()
    return form, hidden
