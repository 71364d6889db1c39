"""CRM presets: each importer's documented header and a sample row, value formats, site presets."""

from __future__ import annotations

import csv
import io
import json
import re
import tomllib
from pathlib import Path

import pytest

from leadmagnet.cli import cli
from leadmagnet.export import formats
from leadmagnet.export import presets as crm
from leadmagnet.export import writer as export
from leadmagnet.export.exports import ExportError, Exports
from leadmagnet.store.reports import Filters
from leadmagnet.web import services_of

pytestmark = pytest.mark.both_backends


@pytest.fixture(autouse=True)
def cli_database(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI opens the test's database, on either backend."""
    if "make_app" in request.fixturenames:
        monkeypatch.setenv("LEADMAGNET_DATABASE", request.getfixturevalue("database"))


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
    # HubSpot matches Email (its dedupe key), First name, Last name, Lifecycle Stage by these names.
    assert header[:8] == [
        "Email",
        "First name",
        "Last name",
        "Company name",
        "Job title",
        "Phone number",
        "Country/Region",
        "Lifecycle Stage",
    ]
    values = dict(zip(header, row, strict=True))
    assert values["Email"] == "ada@example.com"
    assert values["First name"] == "Ada" and values["Last name"] == "Lovelace"
    assert values["Lifecycle Stage"] == "subscriber"  # scored by the events delivery records, not by store writes alone
    assert values["Lead magnet offers"] == "growth-playbook, q1-product-demo"
    assert values["Lead magnet first conversion date"] == "2026-03-04"


@pytest.mark.parametrize(
    ("stage", "unsubscribed", "hubspot", "rating", "status", "tag"),
    [
        ("subscriber", None, "subscriber", "Cold", "Open - Not Contacted", "stage: subscriber"),
        ("lead", None, "lead", "Warm", "Open - Not Contacted", "stage: lead"),
        ("mql", None, "marketingqualifiedlead", "Hot", "Open - Not Contacted", "stage: MQL"),
        ("sql", None, "salesqualifiedlead", "Hot", "Working - Contacted", "stage: SQL"),
        ("mql", "2026-03-06T00:00:00+00:00", "marketingqualifiedlead", "Hot", "Closed - Not Converted", "stage: MQL"),
        (None, None, "subscriber", "Cold", "Open - Not Contacted", "stage: subscriber"),
    ],
)
def test_lifecycle_stage_in_each_preset(stage, unsubscribed, hubspot, rating, status, tag) -> None:
    row = {"lifecycle_stage": stage, "unsubscribed_at": unsubscribed, "email": "a@b.c", "tags": ("ebook",)}
    assert dict(zip(crm.HUBSPOT.headers, crm.HUBSPOT.cells(row), strict=True))["Lifecycle Stage"] == hubspot
    salesforce = dict(zip(crm.SALESFORCE.headers, crm.SALESFORCE.cells(row), strict=True))
    assert (salesforce["Rating"], salesforce["Lead Status"]) == (rating, status)
    assert dict(zip(crm.MAILCHIMP.headers, crm.MAILCHIMP.cells(row), strict=True))["Tags"] == f"ebook, {tag}"


def test_mailchimp_header_and_row(sample) -> None:
    header, row = export_rows(sample, "mailchimp")
    assert header[0] == "Email Address"  # the one column Mailchimp requires
    values = dict(zip(header, row, strict=True))
    assert values["Country"] == "GB"  # ISO 3166 alpha-2
    assert values["Tags"] == "ebook, growth, webinar, stage: subscriber"  # one cell, the stage's tag last
    assert values["Signup Date"] == "2026-03-04"  # YYYY-MM-DD


def test_mailchimp_tags_cell_is_quoted_and_text_clipped_at_255_bytes(store) -> None:
    add(store, "long@example.com", first_name="é" * 200, tags=["a", "b"])
    buf = io.StringIO()
    export.export(store, export.ExportRequest(preset="mailchimp"), buf)
    line = buf.getvalue().splitlines()[1]
    assert ',"a, b, stage: subscriber",' in line
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
        "Rating",
        "Lead Status",
    ]
    a, n = dict(zip(header, ada, strict=True)), dict(zip(header, nobody, strict=True))
    assert a["Last Name"] == "Lovelace" and a["Company"] == "Analytical Engines" and a["Email Opt Out"] == "0"
    assert n["Last Name"] == formats.NOT_PROVIDED and n["Company"] == formats.NOT_PROVIDED  # required by Salesforce
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
    assert formats.country_code(text) == code


def test_neutralise_every_trigger() -> None:
    for trigger in formats.FORMULA_TRIGGERS:
        assert formats.neutralise(trigger + "A1") == "'" + trigger + "A1"
        assert formats.neutralise(trigger + "cmd|' /C calc'!A0") == "'" + trigger + "cmd|' /C calc'!A0"
    assert formats.neutralise("=1+1") == "'=1+1"
    assert formats.neutralise("-2+3+cmd|' /C calc'!A0") == "'-2+3+cmd|' /C calc'!A0"
    assert formats.neutralise("+1 (555) 0100 ext") == "'+1 (555) 0100 ext"
    assert formats.neutralise("plain") == "plain"
    assert formats.neutralise("") == ""


@pytest.mark.parametrize("number", ["+44 20 7946 0958", "+1 (555) 010-0199", "+49 30/1234.56", "-5", "-2+3"])
def test_plain_numbers_and_phone_numbers_stay_as_typed(number: str) -> None:
    # No letter: no function, reference or DDE call. An apostrophe would only spoil the CRM's copy.
    assert formats.neutralise(number) == number
    # In a file for Excel it stays: Excel hides it and shows the number as typed, not computed.
    assert formats.neutralise(number, spreadsheet=True) == "'" + number


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


# -- custom answers: from the form to every CRM -----------------------------------------------

QUALIFY = """---
title: Qualify
type: ebook
description: An ebook that asks qualifying questions.
file: files/guide.pdf
fields:
  - first_name
  - last_name
  - company
  - name: monthly_volume
    label: Emails you send each month
    type: select
    choices:
      - small: Under 10,000
      - large: 10,000 or more
  - name: wants_demo
    label: I would like a demo
    type: checkbox
  - name: use_case
    label: What will you use it for?
---
The pitch.
"""


@pytest.fixture
def qualified(make_app, content_dir: Path, instance_dir: Path):
    """Two people answer the custom questions through the real form (POST /qualify)."""
    (content_dir / "files").mkdir(exist_ok=True)
    (content_dir / "files" / "guide.pdf").write_bytes(b"%PDF-1.4\n")
    (content_dir / "qualify.md").write_text(QUALIFY, encoding="utf-8")
    instance_dir.mkdir(parents=True, exist_ok=True)
    app = make_app(DUPLICATE_WINDOW=0)  # a second answer from the same person is a new submission
    client = app.test_client()
    ada = {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace", "company": "AE", "monthly_volume": "large"}
    ada |= {"wants_demo": "y", "use_case": '=HYPERLINK("http://evil.example","Click")'}
    bob = {"email": "bob@example.com", "last_name": "Babbage", "company": "DE", "monthly_volume": "small", "use_case": "Newsletters"}
    for data in (ada, bob):
        assert client.post("/qualify", data=data).status_code in (200, 303)
    return app


def site_exports(app, crm_config=None) -> Exports:
    """The exports of ``app``'s store with its catalog (what the CLI and the admin use)."""
    services = services_of(app)
    return Exports(services.store, crm_config, services.catalog_cache.get)


def exported(exports: Exports, preset: str, output: str = "csv", kind: str = "contacts") -> list[dict[str, str]]:
    buf = io.StringIO()
    exports.write(exports.prepare(Filters(), preset=preset, output=output, kind=kind, single_stream=True), buf)
    if output == "jsonl":
        return [json.loads(line) for line in buf.getvalue().splitlines()]
    return list(csv.DictReader(io.StringIO(buf.getvalue())))


# Each preset: (header of the select, of the checkbox, of the text), Ada's and Bob's cells.
CUSTOM_CASES = {
    # HubSpot: a single checkbox imports true/false, a dropdown its internal value.
    "hubspot": ("large", "true", "small", "false"),
    # Mailchimp has no yes/no field (text or dropdown, matched by the option text).
    "mailchimp": ("10,000 or more", "Yes", "Under 10,000", "No"),
    # Salesforce: a checkbox field reads 1/0 (as Email Opt Out); a picklist its value text.
    "salesforce": ("10,000 or more", "1", "Under 10,000", "0"),
    "generic": ("large", "true", "small", "false"),
}


@pytest.mark.parametrize("output", ["csv", "jsonl"])
@pytest.mark.parametrize("preset", sorted(CUSTOM_CASES))
def test_custom_answers_go_from_the_form_to_every_crm_export(qualified, preset: str, output: str) -> None:
    ada_volume, ada_demo, bob_volume, bob_demo = CUSTOM_CASES[preset]
    rows = exported(site_exports(qualified), preset, output)
    email = {"hubspot": "Email", "mailchimp": "Email Address", "salesforce": "Email", "generic": "email"}[preset]
    by_email = {row[email]: row for row in rows}
    ada, bob = by_email["ada@example.com"], by_email["bob@example.com"]
    assert ada["custom.monthly_volume"] == ada_volume and bob["custom.monthly_volume"] == bob_volume
    assert ada["custom.wants_demo"] == ada_demo and bob["custom.wants_demo"] == bob_demo  # unticked is an answer too
    assert ada["custom.use_case"] == '\'=HYPERLINK("http://evil.example","Click")'  # inert in every preset
    assert bob["custom.use_case"] == "Newsletters"
    # After the preset's own columns, one per custom field, by name; the sample offer's too (asked, unanswered here).
    custom = [h for h in rows[0] if h.startswith("custom.")]
    assert custom == sorted(custom) and {"custom.monthly_volume", "custom.team_size", "custom.use_case", "custom.wants_demo"} <= set(custom)
    assert list(rows[0])[: -len(custom)] == crm.PRESETS[preset].headers
    assert ada["custom.team_size"] == ""  # not asked of Ada: empty, never "false"


@pytest.mark.parametrize("output", ["csv", "jsonl"])
def test_generic_submissions_carry_each_submissions_own_answers(qualified, output: str) -> None:
    client = qualified.test_client()
    again = {"email": "ada@example.com", "monthly_volume": "small", "use_case": "Onboarding"}  # no tick this time
    client.post("/qualify", data=again)
    exports = site_exports(qualified)
    subs = [r for r in exported(exports, "generic", output, kind="submissions") if r["email"] == "ada@example.com"]
    assert [(r["custom.monthly_volume"], r["custom.wants_demo"], r["custom.use_case"][:6]) for r in subs] == [
        ("large", "true", "'=HYPE"),
        ("small", "false", "Onboar"),
    ]
    # --contacts: the latest answer to each field
    ada = next(r for r in exported(exports, "generic", output) if r["email"] == "ada@example.com")
    assert (ada["custom.monthly_volume"], ada["custom.wants_demo"], ada["custom.use_case"]) == ("small", "false", "Onboarding")


def test_the_cli_exports_custom_answers(qualified, cli_runner, instance_dir: Path, content_dir: Path) -> None:
    args = ["--instance", str(instance_dir), "--content", str(content_dir), "export"]
    result = cli_runner.invoke(cli, [*args, "--submissions"])
    assert result.exit_code == 0, result.output
    rows = {r["email"]: r for r in csv.DictReader(io.StringIO(result.stdout))}
    assert rows["ada@example.com"]["custom.monthly_volume"] == "large" and rows["ada@example.com"]["custom.wants_demo"] == "true"
    result = cli_runner.invoke(cli, [*args, "--jsonl", "-f", "hubspot"])
    rows = {r["Email"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert rows["bob@example.com"]["custom.use_case"] == "Newsletters" and rows["bob@example.com"]["custom.wants_demo"] == "false"


def test_a_site_preset_maps_custom_fields_to_crm_columns(qualified, cli_runner, instance_dir: Path, content_dir: Path) -> None:
    (instance_dir / "config.toml").write_text(
        "[crm.hubspot-qualified]\n"
        'base = "hubspot"\n'
        'columns = [["Monthly volume", "custom.monthly_volume", "label"], ["Wants a demo", "custom.wants_demo", "yesno"]]\n'
        "[crm.pipedrive]\n"
        'columns = [["E-mail", "email"], ["Volume", "custom.monthly_volume"], ["Use", "custom.use_case"]]\n'
    )
    args = ["--instance", str(instance_dir), "--content", str(content_dir), "export"]
    result = cli_runner.invoke(cli, [*args, "-f", "pipedrive"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:3] == [
        "E-mail,Volume,Use",
        'ada@example.com,large,"\'=HYPERLINK(""http://evil.example"",""Click"")"',
        "bob@example.com,small,Newsletters",
    ]  # only the columns it maps
    config = tomllib.loads((instance_dir / "config.toml").read_text())["crm"]
    rows = exported(site_exports(qualified, config), "hubspot-qualified")
    built_in = len(crm.HUBSPOT.headers)
    assert list(rows[0])[:built_in] == crm.HUBSPOT.headers  # the built-in columns first, then the mapped ones
    assert list(rows[0])[built_in : built_in + 2] == ["Monthly volume", "Wants a demo"]
    assert "custom.use_case" in rows[0] and "custom.monthly_volume" not in rows[0] and "custom.wants_demo" not in rows[0]  # not twice
    ada = rows[0]
    assert (ada["Email"], ada["Monthly volume"], ada["Wants a demo"]) == ("ada@example.com", "10,000 or more", "Yes")


def test_a_bare_custom_field_name_says_how_to_map_it(cli_runner, app, instance_dir: Path) -> None:
    (instance_dir / "config.toml").write_text('[crm.pipedrive]\ncolumns = [["Email", "email"], ["Monthly volume", "monthly_volume"]]\n')
    result = cli_runner.invoke(cli, ["--instance", str(instance_dir), "export", "-f", "pipedrive"])
    assert result.exit_code != 0
    assert "instance/config.toml [crm.pipedrive]: unknown field 'monthly_volume'" in result.output
    assert 'write ["Monthly volume", "custom.monthly_volume"]' in result.output


def test_a_custom_column_no_offer_asks_is_refused_naming_the_preset_column_and_fields(qualified) -> None:
    config = {"pipedrive": {"columns": [["Email", "email"], ["Volume", "custom.monthly_volum"]]}}
    with pytest.raises(ExportError) as caught:
        site_exports(qualified, config).prepare(Filters(), preset="pipedrive")
    message = str(caught.value)
    assert message.startswith("instance/config.toml [crm.pipedrive]: column 'Volume' reads custom.monthly_volum,")
    assert re.search(r"custom fields: monthly_volume, .*use_case, wants_demo\), or remove the column$", message)


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ([["E", "email"], ["V", "custom.Volume"]], "'custom.Volume' is not a custom field"),
        ([["E", "email"], ["V", "custom.volume", "date"]], "format 'date' does not apply to the answer custom.volume; use one of: answer"),
        ([["E", "emial"]], "unknown field 'emial'; did you mean 'email'?"),
    ],
)
def test_bad_custom_mappings_say_what_to_write(columns, message: str) -> None:
    with pytest.raises(crm.PresetError, match=re.escape(f"instance/config.toml [crm.x]: {message}")):
        crm.site_presets({"x": {"columns": columns}})


def test_bad_site_preset_keys_and_base() -> None:
    with pytest.raises(crm.PresetError, match=r"\[crm.x\]: unknown key 'colums'; a preset takes columns, base"):
        crm.site_presets({"x": {"colums": [["E", "email"]]}})
    with pytest.raises(crm.PresetError, match=r"\[crm.x\]: base 'hubspt' is not a built-in preset; use one of: generic, hubspot"):
        crm.site_presets({"x": {"base": "hubspt"}})
    assert crm.site_presets({"x": {"base": "salesforce"}})["x"].split == 50_000  # inherits rows per file and formats
