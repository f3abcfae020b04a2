"""[[notify]] routes in the policy file: checked whole in one line, matched with auto_approve's matcher,
recipients defaulting to the row's eligible deciders; secrets read from the environment or secrets.toml."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from review.policy import AutoApprove, NotifyRule, PolicyError, parse_policy
from review.settings import Settings, secret
from tests.notify.conftest import make_row

WEBHOOK = {"name": "ops", "channel": "webhook", "url_secret": "OPS_URL"}


@pytest.mark.parametrize(
    ("route", "why"),
    [
        ({"name": "a#b", "channel": "email"}, "name: 'a#b' has a '#': name the route without one"),
        ({"name": "ops", "channel": "fax"}, "[notify.ops] channel: 'fax' is not a channel (use webhook, slack, email)"),
        ({"name": "ops", "channel": "slack"}, '[notify.ops] needs url_secret = "NAME"'),
        ({**WEBHOOK, "url_secret": "https://hooks.slack.com/x"}, "url_secret must name a secret"),
        ({**WEBHOOK, "digest": "soon"}, 'digest must be a duration like "10m"'),
        ({**WEBHOOK, "quiet_hours": "22:00"}, 'quiet_hours must be a range of clock times like "22:00-07:00"'),
        ({**WEBHOOK, "quiet_hours": "22:00-24:30"}, "quiet_hours has a clock time past 23:59"),
        ({**WEBHOOK, "timezone": "Mars/Olympus"}, "timezone: 'Mars/Olympus' is not a time zone"),
        ({**WEBHOOK, "to": ["o*ps"]}, "'o*ps' is not a pattern"),
        ({**WEBHOOK, "args": {}}, "args is an empty table"),
        ({**WEBHOOK, "args": {"n": {"min": 3, "max": 1}}}, "has min 3 above max 1"),
        ({**WEBHOOK, "colour": "red"}, "unknown key(s) colour"),
        ({"name": "m", "channel": "email", "signing_secret": "K"}, "has signing_secret, which only a webhook route"),
    ],
)
def test_a_wrong_route_is_refused_in_one_line_naming_it(route: dict[str, Any], why: str) -> None:
    with pytest.raises(PolicyError, match=re.escape(why)) as refused:
        parse_policy({"notify": [route]}, "team.toml")
    assert "\n" not in str(refused.value) and str(refused.value).startswith("team.toml: ")


def test_two_routes_may_not_share_a_name() -> None:
    with pytest.raises(PolicyError, match="names route 'ops' twice"):
        parse_policy({"notify": [WEBHOOK, WEBHOOK]}, "team.toml")


CASES: list[tuple[dict[str, Any], dict[str, Any], bool]] = [
    ({"color": "*"}, {"color": "red"}, True),
    ({"color": "*"}, {}, False),
    ({"color": ["red", "blue"]}, {"color": "blue"}, True),
    ({"n": {"min": 0, "max": 5}}, {"n": 5}, True),
    ({"n": {"min": 0, "max": 5}}, {"n": True}, False),  # a boolean is not a number
    ({"n": 1}, {"n": True}, False),
    ({"n": {"max": 5}}, {"n": float("nan")}, False),
]


@pytest.mark.parametrize(("wanted", "args", "matched"), CASES)
def test_routes_match_arguments_exactly_as_auto_approve_does(
    wanted: dict[str, Any], args: dict[str, Any], matched: bool
) -> None:
    table = {"name": "r", "tool": "create_circle", "args": wanted}
    policy = parse_policy({"auto_approve": [table], "notify": [{**WEBHOOK, **table, "name": "ops"}]}, "p.toml")
    row = make_row("t", "a", **args) if args else make_row("t", "a", other=1)
    assert policy.auto_approve[0].applies(row) is matched
    assert policy.notify[0].applies(row) is matched


def test_a_route_matches_tool_and_graph_when_it_names_them() -> None:
    route = NotifyRule("r", "webhook", tool="create_square", graph="agent")
    assert route.applies(make_row("t", "a", tool="create_square"))
    assert not route.applies(make_row("t", "a", tool="create_circle"))
    other = make_row("t", "a", tool="create_square")
    assert not route.applies(type(other)(**{**other.__dict__, "graph_id": "billing"}))
    assert isinstance(AutoApprove("x", "create_square"), AutoApprove)


def test_recipients_default_to_the_rows_eligible_deciders_and_follow_an_escalation() -> None:
    policy = parse_policy(
        {
            "deciders": ["@ops"],
            "tools": {"create_square": {"deciders": ["lead@example.org"]}},
            "deadline": [{"tool": "create_circle", "after": "10m", "escalate_to": "@leads"}],
            "notify": [WEBHOOK],
        },
        "p.toml",
    )
    raised = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
    assert policy.deciders_of(make_row("t", "a", tool="create_square"), raised) == ("lead@example.org",)
    assert policy.deciders_of(make_row("t", "a", tool="create_triangle"), raised) == ("@ops",)
    assert policy.deciders_of(make_row("t", "a"), raised + timedelta(minutes=11)) == ("@leads",)


def test_quiet_hours_in_a_time_zone() -> None:
    route = parse_policy(
        {"notify": [{**WEBHOOK, "quiet_hours": "22:00-07:00", "timezone": "Europe/Paris"}]}, "p.toml"
    ).notify[0]
    assert route.quiet_until(datetime(2026, 12, 5, 12, 0, tzinfo=UTC)) is None
    assert route.quiet_until(datetime(2026, 12, 5, 21, 30, tzinfo=UTC)) == datetime(2026, 12, 6, 6, 0, tzinfo=UTC)


def test_secrets_come_from_the_environment_then_secrets_toml_and_never_show(tmp_path: Path) -> None:
    path = tmp_path / "secrets.toml"
    path.write_text('TOP = "from-top"\n[notify]\nOPS_URL = "https://hooks.example/T0/B0/xyz"\n', encoding="utf-8")
    settings = Settings(secrets_file=str(path))
    found = secret("OPS_URL", settings, env={})
    assert found is not None and found.reveal() == "https://hooks.example/T0/B0/xyz"
    assert "xyz" not in f"{found} {found!r} {[found]} {settings!r}"
    assert secret("TOP", settings, env={}) == secret("TOP", settings, env={"TOP": "from-top"})
    assert secret("OPS_URL", settings, env={"OPS_URL": "https://env.example"}).reveal() == "https://env.example"  # type: ignore[union-attr]
    assert secret("MISSING", settings, env={}) is None


def test_the_readmes_routes_load_as_shown() -> None:
    import tomllib

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Notifications and action links", 1)[1].split("\n## ", 1)[0]
    (example,) = re.findall(r"```toml\n(.*?)```", section, flags=re.S)
    policy = parse_policy(tomllib.loads(example), "README.md")
    assert [(r.name, r.channel) for r in policy.notify] == [
        ("ops on slack", "slack"),
        ("audit hook", "webhook"),
        ("leads by mail", "email"),
    ]


@pytest.mark.parametrize(
    ("env", "why"),
    [
        ({"REVIEW_NOTIFY_ATTEMPTS": "many"}, "REVIEW_NOTIFY_ATTEMPTS='many' is not a whole number"),
        ({"REVIEW_NOTIFY_ATTEMPTS": "0"}, "must be a whole number from 1 to 100"),
        ({"REVIEW_SMTP": "mail.example.org:25"}, "is not an SMTP server (smtp://host:port"),
        ({"REVIEW_LINK_SECONDS": "-1"}, "REVIEW_LINK_SECONDS='-1' must be a number of seconds more than 0"),
    ],
)
def test_a_wrong_notification_setting_is_refused_in_one_line(env: dict[str, str], why: str) -> None:
    with pytest.raises(ValueError, match=re.escape(why)):
        Settings.from_env(env)


def test_notification_settings_from_flags() -> None:
    from review.settings import parse_arguments

    chosen = parse_arguments(
        ["--notify-attempts", "3", "--smtp", "smtps://bot@mail.example.org:465", "--public-url", "https://r.example"],
        prog="app",
        env={},
    )
    assert (chosen.notify_attempts, chosen.smtp, chosen.public_url) == (
        3,
        "smtps://bot@mail.example.org:465",
        "https://r.example",
    )
