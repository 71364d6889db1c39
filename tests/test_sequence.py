"""The ``sequence:`` and ``stop_when:`` front-matter keys: delays, every problem with its item number,
and ``leadmagnet check`` naming the file, the key and what to write."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from leadmagnet.cli import cli
from leadmagnet.content.contract import parse_offer
from leadmagnet.content.problems import ContentError
from leadmagnet.content.sequence import describe, parse_duration
from tests.support.cases import build_content

EBOOK = {"title": "Guide", "type": "ebook", "description": "A guide.", "file": "files/guide.pdf"}


@pytest.fixture
def content(tmp_path: Path) -> Path:
    return build_content(tmp_path)


def problems_of(content: Path, sequence) -> list[str]:
    offer, problems = parse_offer(content / "offer.md", content, {**EBOOK, "sequence": sequence}, "Body.")
    assert offer is None
    return [str(p) for p in problems if p.level == "error"]


@pytest.mark.parametrize(
    ("text", "delay"),
    [
        ("30 minutes", timedelta(minutes=30)),
        ("2 days", timedelta(days=2)),
        ("1 week", timedelta(weeks=1)),
        ("1 day 12 hours", timedelta(days=1, hours=12)),
        ("P2D", timedelta(days=2)),
        ("PT30M", timedelta(minutes=30)),
        ("P1DT12H", timedelta(days=1, hours=12)),
        ("P1W", timedelta(weeks=1)),
        ("0 minutes", timedelta(0)),
    ],
)
def test_delays_in_words_and_iso_8601(text, delay) -> None:
    assert parse_duration(text) == delay


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("P1M", "months and years have no fixed length: write days or weeks"),
        ("2 fortnights", "'fortnights' is not a unit; use minutes, hours, days or weeks"),
        ("2 dayz", "'dayz' is not a unit (did you mean 'days'?)"),
        ("soon", 'is not a delay (such as "30 minutes", "2 days", "1 week" or an ISO 8601 duration like P2D or PT30M)'),
        ("PT", "is not an ISO 8601 duration such as P2D"),
    ],
)
def test_a_bad_delay_says_what_to_write(text, message) -> None:
    with pytest.raises(ContentError, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        parse_duration(text)


def test_describe_reads_like_people_write() -> None:
    assert [describe(parse_duration(t)) for t in ("P2D", "PT90M", "0 minutes", "P1W1D")] == [
        "2 days",
        "1 hour 30 minutes",
        "at once",
        "1 week 1 day",
    ]


def test_emails_are_sorted_by_delay_and_a_file_body_is_read(content: Path) -> None:
    (content / "_emails").mkdir()
    (content / "_emails" / "later.md").write_text("From a **file**.\n", encoding="utf-8")
    sequence = [
        {"after": "5 days", "subject": "Later", "file": "_emails/later.md"},
        {"after": "PT30M", "subject": "First", "body": "Inline."},
    ]
    offer, problems = parse_offer(content / "offer.md", content, {**EBOOK, "sequence": sequence, "stop_when": "demo"}, "Body.")
    assert problems == [] and offer is not None
    assert [(e.subject, e.seconds, e.file) for e in offer.sequence] == [("First", 1800, None), ("Later", 432000, "_emails/later.md")]
    assert offer.sequence[1].body == "From a **file**.\n" and offer.stop_when == ("demo",)


def test_every_problem_names_the_item_and_what_to_write(content: Path) -> None:
    (content / "emails").mkdir()
    (content / "emails" / "day-2.md").write_text("Text.\n", encoding="utf-8")
    problems = problems_of(
        content,
        [
            {"after": "2 days", "subject": "Fine", "body": "Fine."},
            {"subject": "No delay", "body": "x"},
            {"after": "2 dayz", "subjet": "Typo", "body": "x"},
            {"after": "3 days", "subject": "Both", "body": "x", "file": "emails/day-2.md"},
            {"after": "4 days", "subject": "Missing file", "file": "emails/nope.md"},
            {"after": "5 days", "subject": "An offer file", "file": "emails/day-2.md"},
            "just text",
        ],
    )
    expected = [
        "content/offer.md: sequence: item 2: after is required: the delay from the submission",
        "content/offer.md: sequence: item 3: unknown key 'subjet' (did you mean 'subject'?); an email takes after, subject, body, file",
        "content/offer.md: sequence: item 3: after: '2 dayz': 'dayz' is not a unit (did you mean 'days'?)",
        "content/offer.md: sequence: item 3: subject is required: the email's subject line, as text",
        "content/offer.md: sequence: item 4: give the email's text as body: (Markdown) or file: (a .md file under the content folder), one of the two",
        "content/offer.md: sequence: item 5: file: 'emails/nope.md' does not exist under",
        "content/offer.md: sequence: item 6: file: 'emails/day-2.md' would be read as an offer page (every .md file is one); put it in a folder whose name starts with _ (such as _emails/day-2.md)",
        "content/offer.md: sequence: item 7: 'just text' is not a mapping with after, subject and body (or file)",
    ]
    for start in expected:
        assert any(p.startswith(start) for p in problems), (start, problems)
    assert len(problems) == len(expected)


def test_two_emails_at_the_same_delay_and_an_empty_list(content: Path) -> None:
    same = [{"after": "2 days", "subject": "A", "body": "a"}, {"after": "P2D", "subject": "B", "body": "b"}]
    assert problems_of(content, same) == [
        "content/offer.md: sequence: two emails are sent after 2 days ('A' and 'B'); give each its own delay"
    ]
    assert problems_of(content, [])[0].startswith("content/offer.md: sequence: [] is not a list of emails; write each as - after: 2 days")


def test_check_reports_a_bad_sequence_and_warns_of_a_stop_when_naming_no_offer(tmp_path: Path) -> None:
    content = build_content(tmp_path, "sequence-without-body", "sequence-with-stop-when", "valid-ebook")
    result = CliRunner().invoke(cli, ["--content", str(content), "--instance", str(tmp_path / "i"), "check"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert (
        "content/sequence-without-body.md: sequence: item 2: give the email's text as body: (Markdown) or file: (a .md file under the content folder), one of the two"
        in lines
    )
    assert (
        "content/sequence-with-stop-when.md: stop_when: warning: 'valid-ebok' is not an offer's slug (did you mean 'valid-ebook'?),"
        " so its submission can stop nothing"
    ) in lines
