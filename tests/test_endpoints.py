"""``[[webhooks]]`` in config.toml: checked with messages that say where and what to write; ``webhooks add``."""

from __future__ import annotations

import base64
import tomllib

import pytest

from leadmagnet.cli import cli
from leadmagnet.delivery.endpoints import EVENTS, EndpointError, load_endpoints, new_secret
from tests.support.receiver import Receiver

SECRET = new_secret()


def settings(*tables, instance="/srv/site/instance"):
    return {"INSTANCE_DIR": instance, "WEBHOOKS": list(tables)}


def test_a_valid_table_with_defaults() -> None:
    [endpoint] = load_endpoints(settings({"url": "https://crm.example.com/hooks", "secret": SECRET}))
    assert endpoint.events == EVENTS and endpoint.offers == () and endpoint.key == base64.b64decode(SECRET[6:])
    assert endpoint.wants("lead.created", "any-offer", ("x",))


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"url": "https://a.example/h", "secret": SECRET, "event": ["lead.created"]}, "unknown key 'event' (did you mean 'events'?)"),
        ({"url": "ftp://a.example/h", "secret": SECRET}, "is not an http:// or https:// address"),
        ({"url": "https://user:pw@a.example/h", "secret": SECRET}, "carries a user name or password"),
        ({"url": "https://a.example/h", "secret": "hunter2"}, 'needs secret = "whsec_…"'),
        ({"url": "https://a.example/h", "secret": "whsec_!!!"}, "secret is not base64 after whsec_"),
        ({"url": "https://a.example/h", "secret": "whsec_" + base64.b64encode(b"short").decode()}, "decodes to 5 bytes"),
        (
            {"url": "https://a.example/h", "secret": SECRET, "events": ["lead.create"]},
            "'lead.create' is not an event (did you mean 'lead.created'?)",
        ),
        ({"url": "https://a.example/h", "secret": SECRET, "events": []}, "events is empty"),
        ({"url": "https://a.example/h", "secret": SECRET, "offers": "handbook"}, "offers must be a list of names"),
        ({"secret": SECRET}, 'needs url = "https://…"'),
    ],
)
def test_problems_name_the_file_the_table_and_the_key(table, message) -> None:
    good = {"url": "https://ok.example/h", "secret": SECRET}
    with pytest.raises(EndpointError) as caught:
        load_endpoints(settings(good, table))
    assert str(caught.value).startswith("/srv/site/instance/config.toml: [[webhooks]] #2: ")
    assert message in str(caught.value)


def test_the_same_url_twice_and_a_plain_table_are_refused() -> None:
    table = {"url": "https://a.example/h", "secret": SECRET}
    with pytest.raises(EndpointError, match=r"#2: url 'https://a.example/h' is already the url of an earlier table"):
        load_endpoints(settings(table, table))
    with pytest.raises(EndpointError, match=r"must be written as \[\[webhooks\]\] tables"):
        load_endpoints({"INSTANCE_DIR": "/x", "WEBHOOKS": {"url": "https://a.example/h"}})


def test_filters_apply_to_offer_events_not_to_contact_events() -> None:
    table = {"url": "https://a.example/h", "secret": SECRET, "offers": ["handbook"], "tags": ["b2b"]}
    [endpoint] = load_endpoints(settings(table))
    assert endpoint.wants("lead.created", "handbook", ("b2b", "x"))
    assert not endpoint.wants("lead.created", "handbook", ("b2c",))
    assert not endpoint.wants("lead.created", "other", ("b2b",))
    assert endpoint.wants("contact.erased") and endpoint.wants("contact.unsubscribed")


def test_a_bad_table_stops_the_app_and_the_cli_with_its_message(make_app, cli_runner, instance_dir, content_dir) -> None:
    instance_dir.mkdir(parents=True, exist_ok=True)
    (instance_dir / "config.toml").write_text('site_name = "Acme"\n\n[[webhooks]]\nurl = "https://a.example/h"\nsecret = "nope"\n')
    with pytest.raises(ValueError, match=r"config.toml: \[\[webhooks\]\] #1: needs secret"):
        make_app()
    result = cli_runner.invoke(cli, ["--instance", str(instance_dir), "--content", str(content_dir), "webhooks", "list"])
    assert result.exit_code == 1 and "[[webhooks]] #1: needs secret" in result.output


def test_add_appends_a_table_with_a_new_secret_and_keeps_the_file(cli_runner, instance_dir, content_dir) -> None:
    instance_dir.mkdir(parents=True, exist_ok=True)
    config = instance_dir / "config.toml"
    config.write_text('# my settings\nsite_name = "Acme"\n\n[crm.mine]\nbase = "generic"\ncolumns = [["E-mail", "email"]]\n')
    folders = ["--instance", str(instance_dir), "--content", str(content_dir)]
    first = cli_runner.invoke(
        cli, [*folders, "webhooks", "add", "https://crm.example.com/hooks", "--event", "lead.created", "--tag", "b2b"]
    )
    assert first.exit_code == 0, first.output
    second = cli_runner.invoke(cli, [*folders, "webhooks", "add", "https://zap.example.com/x"])
    assert second.exit_code == 0, second.output
    text = config.read_text()
    assert text.startswith('# my settings\nsite_name = "Acme"\n')
    parsed = tomllib.loads(text)
    assert parsed["crm"]["mine"]["base"] == "generic"
    first_hook, second_hook = parsed["webhooks"]
    assert first_hook["events"] == ["lead.created"] and first_hook["tags"] == ["b2b"]
    assert second_hook["events"] == list(EVENTS)
    assert first_hook["secret"] in first.output and first_hook["secret"] != second_hook["secret"]
    again = cli_runner.invoke(cli, [*folders, "webhooks", "add", "https://zap.example.com/x"])
    assert again.exit_code == 1 and "already a [[webhooks]] url" in again.output
    listed = cli_runner.invoke(cli, [*folders, "webhooks", "list"])
    assert (
        listed.exit_code == 0
        and "1. https://crm.example.com/hooks  [enabled]" in listed.output
        and "2. https://zap.example.com/x" in listed.output
    )


def test_cli_test_and_retry_reach_a_real_receiver(cli_runner, instance_dir, content_dir, monkeypatch) -> None:
    receiver = Receiver(secret="", answers=[200]).start()
    try:
        folders = ["--instance", str(instance_dir), "--content", str(content_dir)]
        added = cli_runner.invoke(cli, [*folders, "webhooks", "add", receiver.url])
        receiver.secret = added.output.split("secret (the receiver verifies signatures with it): ")[1].split()[0]
        monkeypatch.setenv("LEADMAGNET_WEBHOOK_ALLOW_PRIVATE", "true")
        tested = cli_runner.invoke(cli, [*folders, "webhooks", "test"])
        assert tested.exit_code == 0 and f"{receiver.url}: answered 200" in tested.output
        [request] = receiver.received
        assert request.verified and request.type == "webhook.test"
        retried = cli_runner.invoke(cli, [*folders, "webhooks", "retry", receiver.url])
        assert retried.exit_code == 0 and "0 events due now" in retried.output
        unknown = cli_runner.invoke(cli, [*folders, "webhooks", "test", "https://nowhere.example/"])
        assert unknown.exit_code == 1 and "is not a [[webhooks]] url" in unknown.output
    finally:
        receiver.stop()
