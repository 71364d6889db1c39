"""CRM presets: each importer's documented header and a sample row, value formats, site presets."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from leadmagnet.cli import cli
from leadmagnet.export import presets as crm
from leadmagnet.export import writer as export
from leadmagnet.store.reports import Filters
from leadmagnet.web import services_of


def add(store, email, offer="growth-playbook", kind="ebook", **kw):
    fields = {k: kw.pop(k) for k in list(kw) if k in ("first_name", "last_name", "company", "job_title", "phone", "country")}
    return store.record_submission(offer_slug=offer, offer_type=kind, email=email, fields=fields, **kw)


def export_rows(store, preset, **kw):
    buf = io.StringIO()
    export.export(store, export.ExportRequest(preset=preset, split=0, **kw), buf)
    return list(csv.reader(io.StringIO(buf.getvalue())))


@pytest.fixture
def sample(store):
    add(
        store,
        "ada@example.com",
        first_name="Ada",
        last_name="Lovelace",
        company="Analytical Engines",
        job_title="CTO",
        phone="020 7946 0000",
        country="United Kingdom",
        tags=["ebook", "growth"],
        stage="mofu",
        consent_text="I agree",
        now="2026-03-04T09:10:11.000000+00:00",
    )
    add(
        store,
        "ada@example.com",
        offer="q1-product-demo",
        kind="webinar",
        tags=["webinar"],
        stage="bofu",
        now="2026-03-05T10:00:00.000000+00:00",
    )
    return store


def test_hubspot_header_and_row(sample) -> None:
    header, row, *rest = export_rows(sample, "hubspot")
    assert rest == []
    # HubSpot matches Email (its dedupe key), First name, Last name, Lifecycle stage by these names.
    assert header[:8] == [
        "Email",
        "First name",
        "Last name",
        "Company name",
        "Job title",
        "Phone number",
        "Country/Region",
        "Lifecycle stage",
    ]
    values = dict(zip(header, row, strict=True))
    assert values["Email"] == "ada@example.com"
    assert values["First name"] == "Ada" and values["Last name"] == "Lovelace"
    assert values["Lifecycle stage"] == "Sales Qualified Lead"  # furthest stage reached: bofu
    assert values["Lead magnet offers"] == "growth-playbook, q1-product-demo"
    assert values["Lead magnet first conversion date"] == "2026-03-04"


@pytest.mark.parametrize(
    ("stage", "opt_in", "label"),
    [
        ("tofu", "single", "Lead"),
        ("mofu", "single", "Marketing Qualified Lead"),
        ("bofu", "confirmed", "Sales Qualified Lead"),
        (None, "single", "Lead"),
        ("mofu", "pending", "Subscriber"),
    ],
)
def test_hubspot_lifecycle_mapping(stage, opt_in, label) -> None:
    assert crm.HUBSPOT.cells({"stage": stage, "opt_in_status": opt_in, "email": "a@b.c"})[7] == label


def test_mailchimp_header_and_row(sample) -> None:
    header, row = export_rows(sample, "mailchimp")
    assert header[0] == "Email Address"  # the one column Mailchimp requires
    values = dict(zip(header, row, strict=True))
    assert values["Country"] == "GB"  # ISO 3166 alpha-2
    assert values["Tags"] == "ebook, growth, webinar"  # one cell
    assert values["Signup Date"] == "2026-03-04"  # YYYY-MM-DD


def test_mailchimp_tags_cell_is_quoted_and_text_clipped_at_255_bytes(store) -> None:
    add(store, "long@example.com", first_name="é" * 200, tags=["a", "b"])
    buf = io.StringIO()
    export.export(store, export.ExportRequest(preset="mailchimp"), buf)
    line = buf.getvalue().splitlines()[1]
    assert ',"a, b",' in line
    first = next(csv.DictReader(io.StringIO(buf.getvalue())))["First Name"]
    assert len(first.encode("utf-8")) <= 255 and first == "é" * 127  # cut between characters, never inside one


def test_salesforce_header_placeholder_and_opt_out(sample) -> None:
    add(sample, "nobody@example.com")
    sample.unsubscribe(sample.get_contact_by_email("nobody@example.com")["id"], "2026-03-06T00:00:00+00:00")
    header, ada, nobody = export_rows(sample, "salesforce", filters=Filters(include_unsubscribed=True))
    assert header == [
        "First Name",
        "Last Name",
        "Company",
        "Title",
        "Email",
        "Phone",
        "Country",
        "Lead Source",
        "Email Opt Out",
        "Description",
    ]
    a, n = dict(zip(header, ada, strict=True)), dict(zip(header, nobody, strict=True))
    assert a["Last Name"] == "Lovelace" and a["Company"] == "Analytical Engines" and a["Email Opt Out"] == "0"
    assert n["Last Name"] == crm.NOT_PROVIDED and n["Company"] == crm.NOT_PROVIDED  # required by Salesforce
    assert n["Email Opt Out"] == "1" and n["Lead Source"] == "Web"
    assert crm.SALESFORCE.split == 50_000


def test_generic_header_is_our_field_names_with_iso_utc_times(sample) -> None:
    header, row = export_rows(sample, "generic")
    assert header == list(crm.CONTACT_FIELDS)
    values = dict(zip(header, row, strict=True))
    assert values["first_seen"] == "2026-03-04T09:10:11Z"
    assert values["stage"] == "bofu" and values["submissions"] == "2"


@pytest.mark.parametrize(
    ("text", "code"), [("Germany", "DE"), ("de", "DE"), ("USA", "US"), ("United States", "US"), ("FRA", "FR"), ("Atlantis", ""), ("", "")]
)
def test_country_codes(text, code) -> None:
    assert crm.country_code(text) == code


def test_neutralise_every_trigger() -> None:
    for trigger in crm.FORMULA_TRIGGERS:
        assert crm.neutralise(trigger + "A1") == "'" + trigger + "A1"
        assert crm.neutralise(trigger + "cmd|' /C calc'!A0") == "'" + trigger + "cmd|' /C calc'!A0"
    assert crm.neutralise("=1+1") == "'=1+1"
    assert crm.neutralise("-2+3+cmd|' /C calc'!A0") == "'-2+3+cmd|' /C calc'!A0"
    assert crm.neutralise("+1 (555) 0100 ext") == "'+1 (555) 0100 ext"
    assert crm.neutralise("plain") == "plain"
    assert crm.neutralise("") == ""


@pytest.mark.parametrize("number", ["+44 20 7946 0958", "+1 (555) 010-0199", "+49 30/1234.56", "-5", "-2+3"])
def test_plain_numbers_and_phone_numbers_stay_as_typed(number: str) -> None:
    # No letter: no function, reference or DDE call. An apostrophe would only spoil the CRM's copy.
    assert crm.neutralise(number) == number
    # In a file for Excel it stays: Excel hides it and shows the number as typed, not computed.
    assert crm.neutralise(number, spreadsheet=True) == "'" + number


def test_site_preset_from_instance_config_toml(make_app, instance_dir, cli_runner, tmp_path) -> None:
    instance_dir.mkdir(parents=True, exist_ok=True)
    (instance_dir / "config.toml").write_text(
        '[crm.pipedrive]\ncolumns = [["E-mail", "email"], ["Name", "first_name"], ["Since", "first_seen", "date"]]\nsplit = 1\n'
    )
    app = make_app()
    add(services_of(app).store, "x@example.com", first_name="=X", now="2026-01-02T03:04:05.000000+00:00")
    add(services_of(app).store, "y@example.com")
    result = cli_runner.invoke(cli, ["--instance", str(instance_dir), "export", "-f", "pipedrive", "-o", str(tmp_path / "p.csv")])
    assert result.exit_code == 0, result.output
    first = (tmp_path / "p-001.csv").read_bytes().decode()
    assert first == "E-mail,Name,Since\r\nx@example.com,'=X,2026-01-02\r\n"
    assert (tmp_path / "p-002.csv").read_bytes().decode().startswith("E-mail,Name,Since\r\ny@example.com")


def test_bad_site_preset_names_the_field() -> None:
    with pytest.raises(crm.PresetError, match="unknown field 'mail'"):
        crm.site_presets({"x": {"columns": [["E-mail", "mail"]]}})
    with pytest.raises(crm.PresetError, match=r"\[crm.y\]"):
        crm.site_presets({"y": {"columns": []}})


@pytest.mark.parametrize(
    ("name", "missing"), [("hubspot", "offers, first_seen"), ("mailchimp", "first_seen, opt_in_at"), ("salesforce", "offers")]
)
def test_a_contacts_format_is_refused_for_submissions_naming_what_is_missing(name: str, missing: str) -> None:
    # Those columns would be empty in every row: a file that imports "fine" and says nothing.
    with pytest.raises(
        crm.PresetError, match=f"the {name} format needs {missing}, which submissions rows do not have; export contacts with it"
    ):
        crm.get_preset(name, "submissions")


def test_a_site_format_works_for_the_kind_whose_fields_it_reads() -> None:
    site = {"campaigns": {"columns": [["Email", "email"], ["Source", "utm_source"]]}}
    assert crm.get_preset("campaigns", "submissions", site).headers == ["Email", "Source"]
    with pytest.raises(
        crm.PresetError, match="the campaigns format needs utm_source, which contacts rows do not have; export submissions with it"
    ):
        crm.get_preset("campaigns", "contacts", site)


def test_the_cli_refuses_a_contacts_format_for_submissions(cli_runner, app, instance_dir: Path, tmp_path: Path) -> None:
    result = cli_runner.invoke(
        cli, ["--instance", str(instance_dir), "export", "--submissions", "-f", "hubspot", "-o", str(tmp_path / "h.csv")]
    )
    assert result.exit_code != 0
    assert "the hubspot format needs offers, first_seen, which submissions rows do not have" in result.output
    assert not (tmp_path / "h.csv").exists()
