"""The content contract (``leadmagnet.content.contract``, ``fields``, ``offer``): each key's parsing and each error message.

Messages are checked word for word where the README quotes them, otherwise by the part that
tells the marketer what is expected. Every error names the file and the key.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from leadmagnet.content.contract import DEFAULT_CTA, KEYS, parse_offer
from leadmagnet.content.fields import BUILTIN_FIELDS, NAME_RE, RESERVED_FIELD_NAMES
from leadmagnet.content.offer import Offer
from leadmagnet.content.problems import display_path
from tests.support.cases import build_content

EBOOK = {"title": "Guide", "type": "ebook", "description": "A guide.", "file": "files/guide.pdf"}
WEBINAR = {
    "title": "Demo",
    "type": "webinar",
    "description": "A demo.",
    "starts_at": "2029-06-01T15:00:00+02:00",
    "duration_minutes": 30,
    "join_url": "https://meet.example.com/j/room",
}


@pytest.fixture
def content(tmp_path: Path) -> Path:
    return build_content(tmp_path)


def parse(content: Path, meta: dict, name: str = "offer") -> tuple[Offer | None, list[str]]:
    offer, problems = parse_offer(content / f"{name}.md", content, meta, "Body.")
    return offer, [str(p) for p in problems]


def errors_of(content: Path, meta: dict) -> list[str]:
    offer, problems = parse(content, meta)
    assert offer is None, "an error must keep the offer unpublished"
    return [p for p in problems if ": warning: " not in p]


# -- valid offers and defaults ------------------------------------------------------------------


def test_minimal_ebook_gets_defaults(content: Path) -> None:
    offer, problems = parse(content, EBOOK)
    assert problems == []
    assert offer is not None
    assert offer.slug == "offer"  # the file name
    assert offer.cta == DEFAULT_CTA["ebook"] == "Get the free ebook"
    assert offer.fields == (BUILTIN_FIELDS["email"],)
    assert offer.fields[0].required
    assert offer.file == "files/guide.pdf"
    assert offer.draft is False and offer.consent is None and offer.stage is None


def test_minimal_webinar_gets_defaults(content: Path) -> None:
    offer, problems = parse(content, WEBINAR)
    assert problems == []
    assert offer is not None
    assert offer.cta == "Save my seat"
    assert offer.starts_at == datetime(2029, 6, 1, 13, 0, tzinfo=UTC)
    assert offer.ends_at == offer.starts_at + timedelta(minutes=30)


def test_every_common_key_parses(content: Path) -> None:
    meta = {
        **EBOOK,
        "slug": "my-guide",
        "subtitle": "  Read it  ",
        "cta": "Send it",
        "image": "assets/cover.png",
        "fields": ["first_name", "company"],
        "consent": "I agree.",
        "thank_you": "**Thanks**",
        "tags": ["seo", "seo", "growth", 2026],
        "stage": "mofu",
        "theme": "default",
        "draft": True,
        "publish_at": "2027-01-01",
        "expires_at": "2027-06-01T12:00:00+02:00",
        "double_opt_in": True,
        "pages": 24,
    }
    offer, problems = parse(content, meta)
    assert problems == []
    assert offer is not None
    assert offer.slug == "my-guide"
    assert offer.subtitle == "Read it"
    assert offer.image == "assets/cover.png"
    assert [f.name for f in offer.fields] == ["email", "first_name", "company"]  # email always first
    assert offer.tags == ("seo", "growth", "2026")  # de-duplicated, in order
    assert offer.stage == "mofu" and offer.theme == "default" and offer.draft is True
    assert offer.publish_at == datetime(2027, 1, 1, tzinfo=UTC)  # naive date: UTC midnight
    assert offer.expires_at == datetime(2027, 6, 1, 10, 0, tzinfo=UTC)
    assert offer.double_opt_in is True and offer.pages == 24


def test_every_webinar_key_parses(content: Path) -> None:
    meta = {
        **WEBINAR,
        "starts_at": "2029-01-15T16:00:00",
        "timezone": "Europe/Paris",
        "capacity": 100,
        "replay_url": "https://video.example.com/r",
        "presenters": [{"name": "Ada", "title": "CTO", "photo": "assets/photo.png"}, "Grace"],
    }
    offer, problems = parse(content, meta)
    assert problems == []
    assert offer is not None
    assert offer.starts_at is not None
    assert offer.starts_at.utcoffset() == timedelta(hours=1)  # Paris in January
    assert offer.starts_at.astimezone(UTC).hour == 15
    assert offer.capacity == 100 and offer.replay_url == "https://video.example.com/r"
    assert [(p.name, p.title, p.photo) for p in offer.presenters] == [("Ada", "CTO", "assets/photo.png"), ("Grace", "", None)]
    assert offer.public_files() == {"assets/photo.png"}


def test_starts_at_with_z_suffix_is_utc(content: Path) -> None:
    offer, _ = parse(content, {**WEBINAR, "starts_at": "2029-06-01T15:00:00Z"})
    assert offer is not None and offer.starts_at == datetime(2029, 6, 1, 15, tzinfo=UTC)


def test_offset_starts_at_keeps_offset_when_no_timezone(content: Path) -> None:
    offer, _ = parse(content, {**WEBINAR, "starts_at": "2029-06-01T15:00:00-04:00"})
    assert offer is not None
    assert offer.tz == timezone(timedelta(hours=-4))


# -- each key's error message -------------------------------------------------------------------

BAD_VALUES = [
    ({"title": ""}, "content/offer.md: title: is empty; write some text or remove the key"),
    ({"title": ["a"]}, "content/offer.md: title: ['a'] is not text"),
    ({"type": "podcast"}, "content/offer.md: type: 'podcast' is not an offer type; use one of: ebook, webinar"),
    (
        {"slug": "Not_A_Slug"},
        "content/offer.md: slug: 'Not_A_Slug' is not a slug; use lower-case letters, digits and single hyphens ([a-z0-9-]+)",
    ),
    ({"slug": "double--hyphen"}, "content/offer.md: slug: 'double--hyphen' is not a slug"),
    ({"image": "assets/missing.png"}, "content/offer.md: image: 'assets/missing.png' does not exist under"),
    ({"image": "files/guide.pdf"}, "content/offer.md: image: 'files/guide.pdf' is not an image; use one of:"),
    (
        {"image": "../outside.png"},
        "content/offer.md: image: '../outside.png' must be a path inside the content folder (no leading / and no ..)",
    ),
    ({"image": "/etc/passwd"}, "content/offer.md: image: '/etc/passwd' must be a path inside the content folder"),
    ({"file": "files/nope.pdf"}, "content/offer.md: file: 'files/nope.pdf' does not exist under"),
    ({"file": 12}, "content/offer.md: file: 12 is not a file path under the content folder"),
    ({"pages": 0}, "content/offer.md: pages: 0 is not a whole number above zero"),
    ({"pages": "ten"}, "content/offer.md: pages: 'ten' is not a whole number above zero"),
    ({"tags": {"a": 1}}, "content/offer.md: tags: {'a': 1} is not a list of tags (write tags: [seo, growth])"),
    ({"stage": "middle"}, "content/offer.md: stage: 'middle' is not a funnel stage; use one of: tofu, mofu, bofu"),
    ({"draft": "yes please"}, "content/offer.md: draft: 'yes please' is not true or false"),
    ({"double_opt_in": 1}, "content/offer.md: double_opt_in: 1 is not true or false"),
    ({"publish_at": "next tuesday"}, "content/offer.md: publish_at: 'next tuesday' is not an ISO 8601 date or date-time"),
    ({"expires_at": "2027-02-30"}, "content/offer.md: expires_at: '2027-02-30' is not a valid date: day 30 (February 2027 has 28 days)"),
    ({"consent": True}, "content/offer.md: consent: True is not text"),
    ({"subtitle": None}, "content/offer.md: subtitle: has no value; give one or remove the key"),
]


@pytest.mark.parametrize(("change", "message"), BAD_VALUES, ids=[next(iter(c)) + "-" + str(i) for i, (c, _) in enumerate(BAD_VALUES)])
def test_bad_common_or_ebook_value_names_file_key_and_expectation(content: Path, change: dict, message: str) -> None:
    errors = errors_of(content, {**EBOOK, **change})
    assert len(errors) == 1, errors
    assert errors[0].startswith(message)


BAD_WEBINAR_VALUES = [
    ({"starts_at": "2027-13-01"}, "content/offer.md: starts_at: '2027-13-01' is not a valid date: month 13 (a month is 01 to 12)"),
    (
        {"starts_at": "2027-03-01"},
        "content/offer.md: starts_at: '2027-03-01' is not an ISO 8601 date with a UTC offset or timezone (a time is needed",
    ),
    (
        {"starts_at": "2027-03-01T16:00:00"},
        "content/offer.md: starts_at: '2027-03-01T16:00:00' is not an ISO 8601 date with a UTC offset or timezone (add an offset such as +01:00, or set timezone:)",
    ),
    (
        {"timezone": "Mars/Olympus"},
        "content/offer.md: timezone: 'Mars/Olympus' is not an IANA timezone name (such as Europe/Paris or America/New_York)",
    ),
    ({"duration_minutes": -5}, "content/offer.md: duration_minutes: -5 is not a whole number above zero"),
    ({"duration_minutes": True}, "content/offer.md: duration_minutes: True is not a whole number above zero"),
    ({"join_url": "meet.example.com/x"}, "content/offer.md: join_url: 'meet.example.com/x' is not an http:// or https:// URL"),
    ({"replay_url": "ftp://x.org/r"}, "content/offer.md: replay_url: 'ftp://x.org/r' is not an http:// or https:// URL"),
    ({"capacity": 0}, "content/offer.md: capacity: 0 is not a whole number above zero"),
    ({"presenters": "Ada"}, "content/offer.md: presenters: 'Ada' is not a list of presenters (each with name, title, photo)"),
    ({"presenters": [{"title": "CTO"}]}, "content/offer.md: presenters: item 1: name is required"),
    (
        {"presenters": [{"name": "Ada", "tittle": "CTO"}]},
        "content/offer.md: presenters: item 1: unknown key 'tittle' (did you mean 'title'?); a presenter takes name, title, photo",
    ),
    (
        {"presenters": [{"name": "Ada", "photo": "assets/none.png"}]},
        "content/offer.md: presenters: item 1 (Ada): photo 'assets/none.png' does not exist",
    ),
    ({"presenters": [7]}, "content/offer.md: presenters: item 1: 7 is not a mapping with name, title and photo"),
]


@pytest.mark.parametrize(
    ("change", "message"), BAD_WEBINAR_VALUES, ids=[next(iter(c)) + "-" + str(i) for i, (c, _) in enumerate(BAD_WEBINAR_VALUES)]
)
def test_bad_webinar_value_names_file_key_and_expectation(content: Path, change: dict, message: str) -> None:
    errors = errors_of(content, {**WEBINAR, **change})
    assert len(errors) == 1, errors
    assert errors[0].startswith(message)


def test_publish_window_must_be_in_order(content: Path) -> None:
    errors = errors_of(content, {**EBOOK, "publish_at": "2027-06-01", "expires_at": "2027-01-01"})
    assert errors == ["content/offer.md: expires_at: is not after publish_at"]


# -- required keys per type, keys of the other type ---------------------------------------------


def test_required_keys_of_an_ebook(content: Path) -> None:
    errors = errors_of(content, {"type": "ebook"})
    assert {e.split(": ")[1] for e in errors} == {"title", "file"}
    assert "content/offer.md: title: is required: Page title and `<h1>`." in errors


def test_required_keys_of_a_webinar(content: Path) -> None:
    errors = errors_of(content, {"title": "x", "type": "webinar"})
    assert {e.split(": ")[1] for e in errors} == {"starts_at", "duration_minutes", "join_url"}


def test_missing_type_is_reported_with_the_other_common_keys(content: Path) -> None:
    errors = errors_of(content, {"title": "x"})
    assert [e.split(": ")[1] for e in errors] == ["type"]


def test_key_of_the_other_type_is_an_error(content: Path) -> None:
    assert errors_of(content, {**WEBINAR, "pages": 3}) == ["content/offer.md: pages: only applies to ebook offers, not webinar"]
    assert errors_of(content, {**EBOOK, "join_url": "https://x.org"}) == [
        "content/offer.md: join_url: only applies to webinar offers, not ebook"
    ]


def test_every_problem_is_reported_not_just_the_first(content: Path) -> None:
    errors = errors_of(content, {"title": "", "type": "ebook", "stage": "x", "pages": -1, "slugg": "a"})
    assert {e.split(": ")[1] for e in errors} == {"title", "stage", "pages", "slugg", "file"}


# -- unknown keys -------------------------------------------------------------------------------


def test_unknown_key_suggests_the_close_known_key(content: Path) -> None:
    assert errors_of(content, {**EBOOK, "subtitel": "x"}) == [
        "content/offer.md: subtitel: unknown key (did you mean 'subtitle'?); see the list of front-matter keys in the README"
    ]


def test_unknown_key_far_from_any_key_has_no_suggestion(content: Path) -> None:
    assert errors_of(content, {**EBOOK, "colour": "red"}) == [
        "content/offer.md: colour: unknown key; see the list of front-matter keys in the README"
    ]


# -- slug and description -----------------------------------------------------------------------


def test_file_name_that_is_not_a_slug_is_an_error_unless_slug_is_set(content: Path) -> None:
    _, problems = parse(content, EBOOK, name="My Guide")
    assert "content/My Guide.md: slug: the file name 'My Guide' is not a valid slug; rename the file or set slug: [a-z0-9-]+" in problems
    offer, problems = parse(content, {**EBOOK, "slug": "my-guide"}, name="My Guide")
    assert offer is not None and offer.slug == "my-guide"


@pytest.mark.parametrize("slug", ["healthz", "media", "static", "admin", "sitemap", "index", "404"])
def test_slug_that_is_a_site_address_is_an_error(content: Path, slug: str) -> None:
    errors = errors_of(content, {**EBOOK, "slug": slug})
    assert len(errors) == 1 and errors[0].startswith(f"content/offer.md: slug: {slug!r} is used by leadmagnet itself")


def test_description_over_160_characters_is_a_warning_not_an_error(content: Path) -> None:
    offer, problems = parse(content, {**EBOOK, "description": "x" * 161})
    assert offer is not None
    assert problems == ["content/offer.md: description: warning: is 161 characters; search engines cut it at about 160"]
    offer, problems = parse(content, {**EBOOK, "description": "x" * 160})
    assert problems == []


def test_missing_description_is_a_warning(content: Path) -> None:
    offer, problems = parse(content, {k: v for k, v in EBOOK.items() if k != "description"})
    assert offer is not None
    assert problems == ["content/offer.md: description: warning: is missing; search results and social cards will have no summary"]


# -- fields -------------------------------------------------------------------------------------


def test_builtin_fields_keep_order_and_email_is_always_required(content: Path) -> None:
    offer, _ = parse(content, {**EBOOK, "fields": ["company", "email", "phone"]})
    assert offer is not None
    assert [f.name for f in offer.fields] == ["company", "email", "phone"]
    assert next(f for f in offer.fields if f.name == "email").required
    assert next(f for f in offer.fields if f.name == "phone").type == "tel"


def test_custom_field_of_each_type(content: Path) -> None:
    fields = [
        {"name": "team_size", "label": "Team size", "type": "select", "required": True, "choices": [{"1": "Just me"}, "2-10", 11]},
        {"name": "newsletter", "type": "checkbox"},
        {"name": "goals", "label": "Goals", "type": "textarea"},
        {"name": "backup", "label": "Backup", "type": "email", "max_length": 80},
        {"name": "mobile", "type": "tel"},
        {"name": "website_url"},
    ]
    offer, problems = parse(content, {**EBOOK, "fields": fields})
    assert problems == []
    assert offer is not None
    by_name = {f.name: f for f in offer.fields}
    assert by_name["team_size"].choices == (("1", "Just me"), ("2-10", "2-10"), ("11", "11"))
    assert by_name["team_size"].required and not by_name["team_size"].builtin
    assert by_name["newsletter"].label == "Newsletter"  # default label from the name
    assert by_name["goals"].max_length == 2000  # textarea default
    assert by_name["backup"].max_length == 80
    assert by_name["website_url"].type == "text" and by_name["website_url"].label == "Website url"


BAD_FIELDS = [
    ("not a list", "content/offer.md: fields: 'not a list' is not a list of fields (write fields: [first_name, company])"),
    (
        ["frist_name"],
        "content/offer.md: fields: item 1: 'frist_name' is not a built-in field (email, first_name, last_name, company, job_title, phone, country) (did you mean 'first_name'?); a custom field is a mapping with name, label and type",
    ),
    ([3], "content/offer.md: fields: item 1: 3 is neither a built-in field name nor a mapping"),
    (["company", "company"], "content/offer.md: fields: field company is listed twice"),
    (
        [{"name": "Team Size"}],
        "content/offer.md: fields: item 1: name 'Team Size' must be lower-case letters, digits and underscores, starting with a letter",
    ),
    ([{"name": "company"}], "content/offer.md: fields: item 1 (company): company is a built-in field; list it by name only (- company)"),
    (
        [{"name": "consent"}],
        "content/offer.md: fields: item 1 (consent): consent is reserved for leadmagnet's own form fields; choose another name",
    ),
    ([{"name": "utm_source"}], "content/offer.md: fields: item 1 (utm_source): utm_source is reserved"),
    (
        [{"name": "size", "type": "radio"}],
        "content/offer.md: fields: item 1 (size): type 'radio' is not a field type; use one of: text, email, tel, select, checkbox, textarea",
    ),
    (
        [{"name": "size", "lable": "Size"}],
        "content/offer.md: fields: item 1 (size): unknown key 'lable' (did you mean 'label'?); a field takes choices, label, max_length, name, required, type",
    ),
    ([{"name": "size", "label": ""}], "content/offer.md: fields: item 1 (size): label must be text"),
    ([{"name": "size", "required": "yes"}], "content/offer.md: fields: item 1 (size): required 'yes' is not true or false"),
    ([{"name": "size", "max_length": 0}], "content/offer.md: fields: item 1 (size): max_length 0 is not a whole number from 1 to 10000"),
    (
        [{"name": "size", "max_length": 10001}],
        "content/offer.md: fields: item 1 (size): max_length 10001 is not a whole number from 1 to 10000",
    ),
    ([{"name": "size", "type": "select"}], "content/offer.md: fields: item 1 (size): a select field needs choices: a list of options"),
    ([{"name": "size", "type": "select", "choices": [[1, 2]]}], "content/offer.md: fields: item 1 (size): choice [1, 2] is not text"),
    ([{"name": "size", "choices": ["a"]}], "content/offer.md: fields: item 1 (size): choices only apply to type: select"),
]


@pytest.mark.parametrize(("fields", "message"), BAD_FIELDS, ids=[str(i) for i in range(len(BAD_FIELDS))])
def test_bad_field_names_the_item_and_rule(content: Path, fields: object, message: str) -> None:
    errors = errors_of(content, {**EBOOK, "fields": fields})
    assert len(errors) == 1, errors
    assert errors[0].startswith(message)


def test_every_bad_field_and_every_bad_key_of_one_field_is_a_problem(content: Path) -> None:
    fields = [{"name": "plan", "type": "checkbx", "requird": True}, "frist_name", {"name": "size", "type": "select"}, "company", "company"]
    errors = errors_of(content, {**EBOOK, "fields": fields})
    assert [e.split(": ", 2)[2].split(";")[0].split(" (", 1)[0] for e in errors] == [
        "item 1",
        "item 1",
        "item 2: 'frist_name' is not a built-in field",
        "item 3",
        "field company is listed twice",
    ], errors
    assert errors[0].startswith("content/offer.md: fields: item 1 (plan): unknown key 'requird' (did you mean 'required'?)")
    assert errors[1].startswith("content/offer.md: fields: item 1 (plan): type 'checkbx' is not a field type (did you mean 'checkbox'?)")
    assert errors[3].startswith("content/offer.md: fields: item 3 (size): a select field needs choices")


def test_every_bad_presenter_is_a_problem(content: Path) -> None:
    presenters = [{"name": "Ann", "titel": "CEO"}, {"title": "No name"}, 7]
    errors = errors_of(content, {**WEBINAR, "presenters": presenters})
    assert errors == [
        "content/offer.md: presenters: item 1: unknown key 'titel' (did you mean 'title'?); a presenter takes name, title, photo",
        "content/offer.md: presenters: item 2: name is required",
        "content/offer.md: presenters: item 3: 7 is not a mapping with name, title and photo",
    ]


@pytest.mark.parametrize("name", ["validate", "meta", "errors", "process", "cleaned", "spec_names"])
def test_a_field_named_like_the_forms_own_attributes_is_refused(content: Path, name: str) -> None:
    # Such a field would replace the form's method or attribute: every submission would fail.
    errors = errors_of(content, {**EBOOK, "fields": [{"name": name}]})
    assert errors == [
        f"content/offer.md: fields: item 1 ({name}): {name} is reserved for leadmagnet's own form fields; choose another name"
    ]


def test_reserved_field_names_cover_every_public_name_of_the_form() -> None:
    import flask

    from leadmagnet.leads import forms

    with flask.Flask(__name__).test_request_context():
        form = forms.LeadForm()
    used = {name for name in dir(form) if not name.startswith("_")}
    assert {name for name in used if NAME_RE.match(name)} <= RESERVED_FIELD_NAMES


# -- windows and state --------------------------------------------------------------------------


def test_state_and_publication_follow_the_window(content: Path) -> None:
    offer, _ = parse(content, {**EBOOK, "publish_at": "2027-01-01T00:00:00Z", "expires_at": "2027-02-01T00:00:00Z"})
    assert offer is not None
    before, inside, after = datetime(2026, 12, 31, tzinfo=UTC), datetime(2027, 1, 15, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC)
    assert (offer.state(before), offer.is_published(before)) == ("scheduled", False)
    assert (offer.state(inside), offer.is_published(inside)) == ("live", True)
    assert (offer.state(after), offer.is_published(after)) == ("ended", True)


def test_webinar_is_live_then_started_then_ended(content: Path) -> None:
    offer, _ = parse(content, WEBINAR)
    assert offer is not None and offer.starts_at is not None and offer.ends_at is not None
    assert offer.state(offer.starts_at - timedelta(seconds=1)) == "live"
    assert offer.state(offer.starts_at) == "started"
    assert offer.state(offer.ends_at - timedelta(seconds=1)) == "started"
    assert offer.state(offer.ends_at) == "ended"


def test_draft_is_never_published(content: Path) -> None:
    offer, _ = parse(content, {**EBOOK, "draft": True})
    assert offer is not None and not offer.is_published(datetime.now(UTC))


def test_every_key_has_help_and_a_parser() -> None:
    for key in KEYS.values():
        assert key.help.strip() and callable(key.parse)
        assert set(key.types) <= {"ebook", "webinar"}


@pytest.mark.parametrize(
    ("path", "root", "shown"),
    [
        ("/site/content/ebook.md", "/site/content", "content/ebook.md"),
        ("/site/content/deep/er/ebook.md", "/site/content", "content/deep/er/ebook.md"),
        ("/site/content-old/ebook.md", "/site/content", "/site/content-old/ebook.md"),  # a sibling, not inside
        ("/elsewhere/ebook.md", "/site/content", "/elsewhere/ebook.md"),
        ("/ebook.md", "/", "ebook.md"),  # the root has no name: pathlib's answer
    ],
)
def test_display_path_names_files_from_the_content_folder(path, root, shown):
    assert display_path(Path(path), Path(root)) == shown


@pytest.mark.parametrize(
    "written",
    [
        "files/guide.pdf",
        "files//guide.pdf",
        "./files/guide.pdf",
        "files/./guide.pdf",
        " files/guide.pdf ",
        "files/guide.pdf/",
        "files/../files/guide.pdf",
        "/files/guide.pdf",
        "//files/guide.pdf",
        ".",
        "./",
        "files",
        "files/missing.pdf",
    ],
)
def test_file_paths_are_checked_and_written_as_pathlib_would(content: Path, written: str) -> None:
    """The content-file check works on strings: a valid path comes out in PurePosixPath's normal
    form, and the same paths are refused (leading /, .., missing, a folder)."""
    from pathlib import PurePosixPath

    offer, problems = parse(content, {**EBOOK, "file": written})
    normal = PurePosixPath(written.strip())
    valid = not normal.is_absolute() and ".." not in normal.parts and (content / normal).is_file()
    assert (offer is not None) == valid, problems
    if valid:
        assert offer.file == str(normal)


@pytest.mark.parametrize(("name", "ok"), [("..png", True), ("...png", True), ("cover.PNG", True), (".png", False), ("cover.pdf", False)])
def test_image_suffixes_are_read_as_pathlib_reads_them(content: Path, name: str, ok: bool) -> None:
    (content / "img").mkdir(exist_ok=True)
    (content / "img" / name).write_bytes(b"\\x89PNG")
    offer, problems = parse(content, {**EBOOK, "image": f"img/{name}"})
    assert (offer is not None) == ok, problems
