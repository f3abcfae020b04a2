"""One settings model: every setting has an environment variable and a flag, the CLI and the app parse them with
the same parser, an unknown flag is refused in one line, and the README's table lists exactly these."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from review import Settings
from review.settings import flag_of, parse_arguments

ROOT = Path(__file__).resolve().parents[2]
APP = "streamlit run app.py --"


def _readme_table() -> dict[str, str]:
    """`{variable: flag}` from the README's settings table."""
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("### Settings", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"^\| `([A-Z_]+)` \| `(--[a-z-]+)` \|", section, flags=re.M))


def test_the_readme_lists_every_setting_with_its_variable_and_flag() -> None:
    code = {spec.metadata["env"]: flag_of(spec.name) for spec in fields(Settings)}
    assert _readme_table() == code


def test_the_app_takes_the_same_flags_as_the_cli() -> None:
    chosen = parse_arguments(
        ["--policy", "team.toml", "--server", "http://a:1", "--server", "http://b:2", "--lease-seconds", "3"],
        prog=APP,
        env={},
    )
    assert (chosen.policy, chosen.servers, chosen.lease_seconds) == ("team.toml", ("http://a:1", "http://b:2"), 3.0)
    assert parse_arguments([], prog=APP, env={"REVIEW_POLICY": "env.toml"}).policy == "env.toml"
    assert parse_arguments(["--policy", "flag.toml"], prog=APP, env={"REVIEW_POLICY": "env.toml"}).policy == (
        "flag.toml"
    )  # the flag wins over the environment


@pytest.mark.parametrize(
    ("argv", "why"),
    [
        (["--polcy", "team.toml"], "unknown argument '--polcy'"),
        (["team.toml"], "unknown argument 'team.toml'"),
        (["--lease-seconds", "0"], "--lease-seconds='0' must be a number of seconds more than 0"),
        (["--sweep-seconds", "soon"], "is not a number of seconds"),
        (["--server", "localhost:2024"], "is not an Agent Server URL"),
        (["--poli", "team.toml"], "unknown argument '--poli'"),  # no abbreviations: a typo is never a guess
    ],
)
def test_a_wrong_app_argument_is_refused_in_one_line_naming_it(argv: list[str], why: str) -> None:
    with pytest.raises(ValueError, match=re.escape(why)) as refused:
        parse_arguments(argv, prog=APP, env={})
    assert "\n" not in str(refused.value)


def test_the_cli_refuses_an_unknown_flag_in_one_json_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "review", "--db", str(tmp_path / "r.sqlite"), "--polcy=team.toml", "pending"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stderr == ""
    assert json.loads(done.stdout) == {"error": "python -m review: unrecognized arguments: --polcy=team.toml"}


def test_the_app_reads_its_policy_from_its_arguments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`streamlit run app.py -- --policy team.toml` runs under that policy (it used to run under the open one)."""
    from review.identity import Reviewer
    from ui import console as ui_console

    policy = tmp_path / "team.toml"
    policy.write_text('require_verification = "signed-in"\n', encoding="utf-8")
    monkeypatch.setenv("REVIEW_DB", str(tmp_path / "r.sqlite"))
    monkeypatch.setattr(sys, "argv", ["app.py", "--policy", str(policy)])
    ui_console.close_consoles()
    try:
        opened = ui_console.open_console(ui_console.db_setting())
        assert opened.settings.policy == str(policy)
        assert "signed-in" in (opened.policy.may_start(Reviewer.typed("ana")) or "")
    finally:
        ui_console.close_consoles()
