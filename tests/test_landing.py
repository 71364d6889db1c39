"""What a landing page shows besides the offer's text (``leadmagnet.render.landing``): the brand
set once (colours allowed by their hash in the CSP, logo, font, privacy and imprint links), the
proof line (the real lead count, rounded down, hidden below ``proof_min``, at most a minute old on
the server, of build time in the export), the FAQ's structured data, and the weight of each layout."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from leadmagnet.build import build
from leadmagnet.cli import cli
from leadmagnet.foundation import config
from leadmagnet.foundation.brand import Brand, contrast
from leadmagnet.leads import assignment
from leadmagnet.web import services_of

LAYOUT_SAMPLES = {"split": "growth-playbook", "centered": "q1-product-demo", "longform": "seo-checklist"}
LOGO = b'<svg xmlns="http://www.w3.org/2000/svg" width="120" height="30"><rect width="120" height="30"/></svg>'
BRAND_TOML = """
[brand]
name = "Acme Growth"
logo = "assets/acme.svg"
primary = "#5a189a"
accent = "#9d0208"
font = "Acme Sans, system-ui, sans-serif"
font_file = "assets/acme.woff2"
privacy_url = "https://acme.example/privacy"
imprint_url = "/imprint"
"""


def seed(app, slug: str, count: int, start: int = 0, **kwargs) -> None:
    """``count`` real sign-ups of ``slug`` in the app's database, by people number ``start`` on."""
    store = services_of(app).store
    with store.transaction() as tx:
        for n in range(start, start + count):
            tx.record_submission(offer_slug=slug, offer_type="ebook", email=f"{slug}-{n}@example.com", fields={}, **kwargs)


def proof_line(html: str) -> str | None:
    found = re.search(r'<p class="proof">(.*?)</p>', html)
    return found.group(1) if found else None


def styles_allowed(response) -> list[bool]:
    """Whether each inline <style> of the page has its hash in the response's CSP."""
    policy = response.headers["Content-Security-Policy"]
    styles = re.findall(r"<style>(.*?)</style>", response.get_data(as_text=True), flags=re.DOTALL)
    return [f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" in policy for s in styles]


@pytest.fixture
def branded(make_app, content_dir: Path, instance_dir: Path):
    instance_dir.mkdir(parents=True, exist_ok=True)
    (instance_dir / "config.toml").write_text(BRAND_TOML, encoding="utf-8")
    (content_dir / "assets" / "acme.svg").write_bytes(LOGO)
    (content_dir / "assets" / "acme.woff2").write_bytes(b"wOF2 not really a font")
    return make_app()


# -- proof ----------------------------------------------------------------------------------------


def test_proof_shows_the_real_count_rounded_down_and_hides_below_the_minimum(app, client) -> None:
    seed(app, "growth-playbook", 99)
    assert proof_line(client.get("/growth-playbook").get_data(as_text=True)) is None  # 99 < proof_min 100
    services_of(app).renderer.lead_count_cache.forget("growth-playbook")
    seed(app, "growth-playbook", 1240 - 99, start=99)
    html = client.get("/growth-playbook").get_data(as_text=True)
    assert proof_line(html) == "Join <strong>1,200+</strong> marketers who read it"


def test_the_form_shown_again_with_its_errors_keeps_the_proof_line(make_app) -> None:
    app = make_app(RATE_LIMIT="off")
    seed(app, "growth-playbook", 150)
    again = app.test_client().post("/growth-playbook", data={"email": "not an address"})
    assert again.status_code == 422 and proof_line(again.get_data(as_text=True)) == "Join <strong>150+</strong> marketers who read it"


def test_spam_and_unconfirmed_sign_ups_and_repeats_are_not_counted(app, client) -> None:
    seed(app, "growth-playbook", 99)
    seed(app, "growth-playbook", 5, start=500, spam_reason="honeypot")
    with services_of(app).store.transaction() as tx:
        tx.record_submission(offer_slug="growth-playbook", offer_type="ebook", email="late@example.com", fields={}, status="pending")
        tx.record_submission(offer_slug="growth-playbook", offer_type="ebook", email="growth-playbook-1@example.com", fields={})
    assert services_of(app).store.lead_counts("growth-playbook") == {"growth-playbook": 99}
    assert proof_line(client.get("/growth-playbook").get_data(as_text=True)) is None


def test_the_count_is_at_most_a_minute_old_and_keys_the_page_cache(app, client) -> None:
    clock = [1000.0]
    services_of(app).renderer.lead_count_cache.clock = lambda: clock[0]
    seed(app, "growth-playbook", 150)
    first = client.get("/growth-playbook")
    assert proof_line(first.get_data(as_text=True)) == "Join <strong>150+</strong> marketers who read it"
    seed(app, "growth-playbook", 60, start=150)
    clock[0] += 59
    assert client.get("/growth-playbook").headers["ETag"] == first.headers["ETag"]  # the same bytes for a minute
    clock[0] += 1
    again = client.get("/growth-playbook")
    assert proof_line(again.get_data(as_text=True)) == "Join <strong>210+</strong> marketers who read it"
    assert again.headers["ETag"] != first.headers["ETag"]


def test_the_export_shows_the_figure_of_build_time_and_none_without_a_database(app, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(app.config, out)
    assert proof_line((out / "growth-playbook.html").read_text()) is None  # no leads yet
    seed(app, "growth-playbook", 320)
    report = build(app.config, out)
    assert proof_line((out / "growth-playbook.html").read_text()) == "Join <strong>320+</strong> marketers who read it"
    assert report.rendered >= 1
    settings = {**app.config, "DATABASE": str(tmp_path / "no-such.db")}
    build(settings, tmp_path / "out2")
    assert proof_line((tmp_path / "out2" / "growth-playbook.html").read_text()) is None


# -- brand ----------------------------------------------------------------------------------------


def test_brand_table_in_config_toml_sets_every_brand_setting(branded) -> None:
    brand = Brand.from_settings(branded.config)
    assert (brand.name, brand.logo, brand.primary, brand.font_file, brand.imprint_url) == (
        "Acme Growth",
        "assets/acme.svg",
        "#5a189a",
        "assets/acme.woff2",
        "/imprint",
    )


def test_an_unknown_brand_key_names_the_file_and_the_keys(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[brand]\ncolour = "#000000"\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"config.toml: \[brand\] has no key 'colour'; use one of: name, logo, primary"):
        config.read_instance_file(tmp_path)


def test_the_brand_is_applied_and_its_styles_are_allowed_by_hash(branded) -> None:
    client = branded.test_client()
    response = client.get("/growth-playbook")
    html = response.get_data(as_text=True)
    assert '<img src="/media/assets/acme.svg" alt="Acme Growth" width="128" height="32">' in html
    assert "--brand:#5a189a;--brand-dark:" in html and "--accent:#9d0208" in html
    assert '@font-face{font-family:"Acme Sans";src:url(/media/assets/acme.woff2) format("woff2");font-display:swap}' in html
    assert '<link rel="preload" href="/media/assets/acme.woff2" as="font" type="font/woff2" crossorigin>' in html
    assert '<a href="https://acme.example/privacy">How we use your data: privacy policy</a>' in html  # by the consent box
    assert '<a href="/imprint">Imprint</a>' in html and "&copy; Acme Growth" in html
    assert styles_allowed(response) == [True, True]
    for path in ("/media/assets/acme.svg", "/media/assets/acme.woff2"):
        assert client.get(path).status_code == 200


def test_an_offer_overrides_the_primary_colour(client) -> None:
    response = client.get("/seo-checklist")
    assert ":root{--brand:#1f6f43;" in response.get_data(as_text=True)
    assert styles_allowed(response) == [True, True]
    assert ":root{--brand:#0b57d0;" in client.get("/growth-playbook").get_data(as_text=True)


def test_the_export_carries_the_brand_files(branded, tmp_path: Path) -> None:
    build(branded.config, tmp_path / "out")
    assert (tmp_path / "out" / "media" / "assets" / "acme.svg").read_bytes() == LOGO
    assert (tmp_path / "out" / "media" / "assets" / "acme.woff2").is_file()


def test_check_refuses_brand_colours_that_fail_contrast_naming_pair_and_ratio(
    cli_runner: CliRunner, content_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADMAGNET_BRAND_PRIMARY", "#ffb000")
    monkeypatch.setenv("LEADMAGNET_BRAND_LOGO", "assets/none.svg")
    result = cli_runner.invoke(cli, ["--content", str(content_dir), "--instance", str(tmp_path / "i"), "check"])
    assert result.exit_code == 1
    ratio = f"{contrast('#ffb000', '#ffffff'):.2f}"
    assert (
        f"brand: LEADMAGNET_BRAND_PRIMARY: #ffb000 on #ffffff (buttons under white text, links): contrast {ratio}:1, "
        "below the 4.5:1 WCAG AA needs for text; use a darker colour"
    ) in result.output
    assert "brand: LEADMAGNET_BRAND_LOGO: 'assets/none.svg' does not exist under" in result.output
    assert "2 errors" in result.output


# -- FAQ and weight -------------------------------------------------------------------------------


def test_faq_is_details_and_summary_with_faqpage_json_ld(client) -> None:
    html = client.get("/growth-playbook").get_data(as_text=True)
    assert "<details><summary>Who is it for?</summary><div><p>B2B marketing teams of <strong>one to five people</strong>" in html
    scripts = [json.loads(s) for s in re.findall(r'<script type="application/ld\+json">(.*?)</script>', html)]
    (faq,) = [s for s in scripts if s["@type"] == "FAQPage"]
    assert [q["name"] for q in faq["mainEntity"]] == ["Is the playbook really free?", "Who is it for?", "Will you send me other emails?"]
    assert faq["mainEntity"][1]["acceptedAnswer"]["text"].startswith("<p>B2B marketing teams of <strong>")


@pytest.mark.parametrize("layout", sorted(LAYOUT_SAMPLES))
def test_each_layout_with_every_section_weighs_under_14_kb_gzip(app, client, layout: str) -> None:
    seed(app, LAYOUT_SAMPLES[layout], 150)
    html = client.get(f"/{LAYOUT_SAMPLES[layout]}").get_data()
    assert html.count(b"<section") >= 5 and b'class="proof"' in html and f"layout-{layout}".encode() in html
    scripts = [client.get(src.decode()).get_data() for src in re.findall(rb'<script src="([^"]+)"', html)]
    weight = len(gzip.compress(html)) + sum(len(gzip.compress(s)) for s in scripts)
    assert weight <= 14 * 1024, weight


# -- A/B variants with a layout -------------------------------------------------------------------


def layout_of(html: str) -> tuple[str, bool]:
    """The page's layout and whether its form comes after the pitch (longform: the form at the end)."""
    found = re.search(r'<div class="wrap offer [^"]*layout-([a-z0-9-]+)">', html)
    assert found, "no offer wrapper"
    return found.group(1), html.index('id="get"') > html.index('class="pitch"')


def test_a_variant_with_layout_longform_renders_the_longform_layout(make_app, content_dir: Path, tmp_path: Path) -> None:
    (content_dir / "split-guide.md").write_text(
        "---\ntitle: The Split Guide\ntype: ebook\ndescription: A guide.\nfile: files/growth-playbook.pdf\n"
        "variants:\n  b:\n    layout: longform\n---\nThe pitch.\n",
        encoding="utf-8",
    )
    app = make_app(RATE_LIMIT="off")
    client = app.test_client()
    for variant, expected in (("a", ("split", False)), ("b", ("longform", True))):
        client.set_cookie(assignment.cookie_name("split-guide"), variant, domain="localhost", path="/split-guide")
        assert layout_of(client.get("/split-guide").get_data(as_text=True)) == expected
        # The form shown again with its errors is the same variant in the same layout.
        again = client.post("/split-guide", data={"email": "not an address", "variant": variant})
        assert again.status_code == 422 and layout_of(again.get_data(as_text=True)) == expected
    build(app.config, tmp_path / "out")
    assert layout_of((tmp_path / "out" / "split-guide.html").read_text()) == ("split", False)
    assert layout_of((tmp_path / "out" / "ab" / "split-guide" / "b.html").read_text()) == ("longform", True)
