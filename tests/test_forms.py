"""Offer forms built from front-matter fields: every rule, its message, and input cleaning."""

from __future__ import annotations

from pathlib import Path

import pytest
from werkzeug.datastructures import MultiDict

from leadmagnet.content.catalog import load_catalog
from leadmagnet.leads import forms
from tests.support.cases import build_content


@pytest.fixture
def offer(tmp_path: Path):
    catalog = load_catalog(build_content(tmp_path, "custom-fields"))
    return catalog.get("custom-fields").offer


GOOD = {"email": "Ada@Example.com", "team_size": "1", "consent": "y"}


def run(offer, **values):
    form, hidden = forms.validate(offer, MultiDict({**GOOD, **values}))
    return form, hidden


def test_a_valid_form_gives_cleaned_values_with_the_email_normalised(offer) -> None:
    form, _ = run(offer, goals="Grow\r\nfaster", newsletter="y", mobile="+33 1 23 45 67 89", website_url="https://ada.example")
    assert form.errors == {}
    data = form.cleaned()
    assert data["email"] == "ada@example.com"
    assert data["goals"] == "Grow\nfaster"  # a textarea keeps its lines
    assert data["newsletter"] is True and data["consent"] is True
    assert data["website_url"] == "https://ada.example"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "", "Enter your work email."),
        ("email", "ada", "An email address must have an @-sign. Enter an address like name@example.com."),
        ("email", "ada@", "There must be something after the @-sign. Enter an address like name@example.com."),
        ("team_size", "", "Choose an option for “Team size”."),
        ("team_size", "500", "Choose one of the options for “Team size”."),
        ("consent", "", "Tick this box to continue."),
        ("goals", "x" * 301, "“Your goals” is 301 characters long; shorten it to 300 characters or fewer."),
        ("first_name", "x" * 101, "“First name” is 101 characters long; shorten it to 100 characters or fewer."),
        ("mobile", "call me", "Enter a phone number using digits, spaces and + ( ) - . / only, like +44 20 7946 0000."),
        ("mobile", "12", "A phone number has 3 to 40 characters; this one has 2. Enter it like +44 20 7946 0000."),
        ("mobile", "1" * 60, "A phone number has 3 to 40 characters; this one has 60. Enter it like +44 20 7946 0000."),
        ("backup_email", "nope", "An email address must have an @-sign. Enter an address like name@example.com."),
    ],
)
def test_each_rule_has_a_message_that_says_what_to_do(offer, field: str, value: str, message: str) -> None:
    form, _ = run(offer, **{field: value})
    assert form.messages() == {field: message}


@pytest.mark.parametrize("phone", ["+44 20 7946 0000", "(030) 123-456", "030/123.456"])
def test_a_phone_number_may_use_every_character_its_message_names(offer, phone: str) -> None:
    form, _ = run(offer, mobile=phone)
    assert form.errors == {} and form.cleaned()["mobile"] == phone


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("Jörg@Example.com", "jörg@example.com"),  # non-ASCII local part: sent with SMTPUTF8
        ("Ann@Exämple.com", "ann@exämple.com"),  # IDN domain: sent to its punycode form
    ],
)
def test_international_addresses_are_accepted_and_kept_in_unicode(offer, typed: str, kept: str) -> None:
    form, _ = run(offer, email=typed)
    assert form.errors == {} and form.cleaned()["email"] == kept


def test_a_required_custom_text_field_names_its_label(tmp_path: Path) -> None:
    content = build_content(tmp_path, "custom-fields")
    text = (content / "custom-fields.md").read_text().replace("  - name: website_url\n", "  - name: website_url\n    required: true\n")
    (content / "custom-fields.md").write_text(text)
    offer = load_catalog(content).get("custom-fields").offer
    form, _ = run(offer)
    assert form.messages() == {"website_url": "Fill in “Website url”."}


def test_the_consent_box_is_only_asked_when_the_offer_sets_consent(tmp_path: Path) -> None:
    content = build_content(tmp_path, "custom-fields")
    text = (content / "custom-fields.md").read_text().replace("consent: I agree to be emailed.\n", "")
    (content / "custom-fields.md").write_text(text)
    offer = load_catalog(content).get("custom-fields").offer
    form, _ = forms.validate(offer, MultiDict({"email": "a@example.com", "team_size": "1"}))
    assert form.errors == {} and "consent" not in form.cleaned()


def test_unknown_fields_are_ignored_and_hidden_fields_are_capped(offer) -> None:
    form, hidden = run(offer, is_admin="1", utm_source="s" * 500, referrer="r" * 900)
    assert "is_admin" not in form.cleaned()
    assert len(hidden["utm_source"]) == 200 and len(hidden["referrer"]) == 500


@pytest.mark.parametrize(
    ("raw", "multiline", "expected"),
    [
        ("Ame\u0301lie", False, "Amélie"),  # NFC
        ("a\x00b\x07c\u202ed", False, "abcd"),  # controls and bidi overrides
        ("  a \t b\n c  ", False, "a b c"),
        ("line 1\r\nline 2\rline 3", True, "line 1\nline 2\nline 3"),
        ("zero\u200bwidth", False, "zerowidth"),
        ("👩\u200d💻", False, "👩\u200d💻"),  # ZWJ in emoji kept
    ],
)
def test_clean_text(raw: str, multiline: bool, expected: str) -> None:
    assert forms.clean_text(raw, multiline) == expected


def test_form_classes_are_plain_wtforms_without_csrf(offer) -> None:
    cls = forms.form_class(offer)
    assert cls is forms.form_class(offer)  # built once per offer
    assert "csrf_token" not in cls()._fields
