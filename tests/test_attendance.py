"""Webinar attendance: Zoom's and Google Meet's attendee reports read, registrants marked through
``leadmagnet attendance``, no-shows sent the replay by a real SMTP server, bad files named by line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from leadmagnet.cli import cli
from leadmagnet.leads.attendance import ReportError, read_report
from leadmagnet.web import services_of
from tests.support.content import REPLAY_URL, write_webinar
from tests.support.smtp import body_text

pytestmark = pytest.mark.both_backends

# Zoom's webinar attendee report (Reports > Webinar > Attendee report): a preamble, then one table
# per role, each with its own header row; "Attended" says Yes or No per registrant.
ZOOM = """\ufeffAttendee Report,
Report Generated:,"Dec 3, 2026 10:41 AM"
Topic,Webinar ID,Actual Start Time,Actual Duration (minutes),# Registered,# Cancelled registrations,Unique Viewers,Total Users,Max Concurrent Views
Product demo,812 3456 7890,"Dec 3, 2026 09:00 AM",62,4,0,2,3,2
Host Details,
Attended,User Name (Original Name),Email,Join Time,Leave Time,Time in Session (minutes),Is Guest,Country/Region Name
Yes,Host,host@example.com,"Dec 3, 2026 08:55 AM","Dec 3, 2026 10:02 AM",67,No,Germany
Panelist Details,
Attended,User Name (Original Name),Email,Join Time,Leave Time,Time in Session (minutes),Is Guest,Country/Region Name
Attendee Details,
Attended,User Name (Original Name),First Name,Last Name,Email,Registration Time,Approval Status,Join Time,Leave Time,Time in Session (minutes),Is Guest,Country/Region Name
Yes,Ann A,Ann,A,Ann@Example.com,"Dec 1, 2026 10:00 AM",approved,"Dec 3, 2026 09:01 AM","Dec 3, 2026 10:00 AM",59,Yes,France
No,Bob B,Bob,B,bob@example.com,"Dec 1, 2026 11:00 AM",approved,--,--,--,--,--
Yes,Guest,,,,--,--,"Dec 3, 2026 09:05 AM","Dec 3, 2026 09:30 AM",25,Yes,Spain
"""
# Google Meet's attendance report (attendance tracking): one table.
MEET = """First name,Last name,Email,Duration,Time joined,Time exited
Cy,C,cy@example.com,58 min,9:02 AM,10:00 AM
Outsider,O,outsider@example.com,10 min,9:10 AM,9:20 AM
"""


@pytest.fixture
def site(make_app, content_dir, smtp_server):
    write_webinar(content_dir, "demo", (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0), replay=True)
    app = make_app(RATE_LIMIT="off", **smtp_server.settings())
    client = app.test_client()
    for name in ("ann", "bob", "cy", "dee"):
        assert client.post("/demo", data={"email": f"{name}@example.com"}).status_code == 303
    return app


def write(tmp_path: Path, text: str, name: str = "report.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_zoom_report_marks_attended_and_no_shows_and_the_no_shows_get_the_replay(site, smtp_server, tmp_path) -> None:
    services = services_of(site)
    offer = services.catalog.get("demo").offer
    report = read_report(write(tmp_path, ZOOM))
    assert report.attended == {"host@example.com", "ann@example.com"} and report.absent == {"bob@example.com"}
    assert report.blank == 1  # the guest who joined without an address
    services.store.unsubscribe(services.store.get_contact_by_email("dee@example.com")["id"], services.store.now())
    after = datetime.now(UTC) + timedelta(hours=3)
    done = services.deliveries.record_attendance(offer, report, now=after)
    assert (done.attended, done.no_shows, done.replays) == (1, 3, 2)  # Dee unsubscribed: no replay email
    assert done.not_registered == ["host@example.com"]
    marks = {row["email"]: row["attendance"] for row in services.store.registrants("demo")}
    assert marks == {"ann@example.com": "attended", "bob@example.com": "no-show", "cy@example.com": "no-show", "dee@example.com": "no-show"}
    assert services.deliveries.record_attendance(offer, report, now=after).replays == 0  # imported again: nothing twice
    services.deliveries.send_once(after)
    replays = [m for m in smtp_server.inbox.messages if m["Subject"].startswith("Sorry we missed you")]
    assert sorted(m["To"] for m in replays) == ["bob@example.com", "cy@example.com"]
    assert REPLAY_URL in body_text(replays[0]) and replays[0]["List-Unsubscribe"]


def test_the_command_reads_a_google_meet_report(site, cli_runner, tmp_path) -> None:
    services = services_of(site)
    offer = services.catalog.get("demo").offer
    # The webinar is over: the command runs on the real clock, so the offer is moved into the past.
    write_webinar(Path(site.config["CONTENT_DIR"]), "demo", (datetime.now(UTC) - timedelta(hours=3)).replace(microsecond=0), replay=True)
    assert services.catalog.get("demo").offer.starts_at < offer.starts_at
    args = [
        "--instance",
        site.config["INSTANCE_DIR"],
        "--content",
        site.config["CONTENT_DIR"],
        "attendance",
        "demo",
        str(write(tmp_path, MEET)),
    ]
    result = cli_runner.invoke(cli, args, env={"LEADMAGNET_DATABASE": site.config["DATABASE"]})
    assert result.exit_code == 0, result.output
    assert "demo: 1 attended, 3 no-shows, 3 replay emails queued" in result.output and "(email column: Email)" in result.output
    assert "not registered: outsider@example.com" in result.output
    cy = services.store.get_contact_by_email("cy@example.com")
    assert cy["score"] > 0 and [e["event"] for e in services.store.score_events_of(cy["id"])][-1] == "attended"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Name,Join time\nAnn,9:00\n", "report.csv: no email column (line 1 has: Name, Join time); name the column of addresses Email"),
        ("Email,Name\nann@example.com,Ann\nbob@,Bob\n", "report.csv line 3, column 'Email': 'bob@' is not an email address"),
        (
            "User Email,Name\nann@example.com,Ann\nnot-an-address,X\n",
            "line 3, column 'User Email': 'not-an-address' is not an email address",
        ),
        ("Name,Email,Minutes\nAnn,ann@example.com,3\nBob\u00a0B,bob,4\n", "line 3, column 'Email': 'bob' is not an email address"),
    ],
)
def test_a_bad_report_names_its_line_and_column_and_nothing_is_imported(tmp_path, text, message) -> None:
    with pytest.raises(ReportError) as caught:
        read_report(write(tmp_path, text))
    assert message in str(caught.value)
    assert "no email column" in message or str(caught.value).endswith("Nothing was imported; fix the file and run the command again.")


def test_a_report_without_a_named_email_column_still_works(tmp_path) -> None:
    report = read_report(write(tmp_path, "Participant,Address\nAnn,ann@example.com\nBob,bob@example.com\n"))
    assert report.attended == {"ann@example.com", "bob@example.com"} and report.columns == ["column 2"]


def test_a_file_that_is_not_utf8_says_which_line(tmp_path) -> None:
    path = tmp_path / "report.csv"
    path.write_bytes(b"Email\nann@example.com\nb\xe9b@example.com\n")
    with pytest.raises(ReportError, match=r"report\.csv line 3: not UTF-8 text"):
        read_report(path)


def test_an_offer_that_has_not_ended_or_is_not_a_webinar_is_refused(site, cli_runner, tmp_path) -> None:
    args = ["--instance", site.config["INSTANCE_DIR"], "--content", site.config["CONTENT_DIR"], "attendance"]
    result = cli_runner.invoke(cli, [*args, "demo", str(write(tmp_path, MEET))], env={"LEADMAGNET_DATABASE": site.config["DATABASE"]})
    assert result.exit_code == 1 and "demo has not ended yet" in result.output
    assert services_of(site).store.registrants("demo")[0]["attendance"] is None
    result = cli_runner.invoke(cli, [*args, "nope", str(write(tmp_path, MEET))])
    assert result.exit_code == 1 and "no offer 'nope'" in result.output
