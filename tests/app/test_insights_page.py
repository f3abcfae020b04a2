"""The Insights page under AppTest, on a scripted history with known waits (tests/insights/history.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import run, shown_text
from tests.insights.history import record
from tests.insights.test_insights import DEADLINE, KNOWN
from ui.console import open_console


@pytest.fixture
def insights(app: AppTest, app_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The Insights page over the scripted history, with a 10-minute deadline on triangles; period: all time."""
    policy = tmp_path / "policy.toml"
    policy.write_text(DEADLINE)
    monkeypatch.setenv("REVIEW_POLICY", str(policy))
    record(open_console(str(app_db.resolve())), KNOWN)
    run(app)
    app.switch_page("pages/insights.py")
    run(app)
    app.selectbox(key="insights_period").set_value("All time")
    return run(app)


TABLES = ["insights_by_tool", "insights_by_reviewer", "insights_rates", "insights_deadlines"]  # in page order


def frame(at: AppTest, key: str) -> list[dict[str, object]]:
    """The rows of the page's table `key` (the tables are drawn in `TABLES` order)."""
    assert len(at.dataframe) == len(TABLES)
    return list(at.dataframe[TABLES.index(key)].value.to_dict("records"))


def test_the_page_shows_the_known_waits_rates_and_breaches(insights: AppTest) -> None:
    at = insights
    assert [t.value for t in at.title] == ["Insights"]
    assert [m.label for m in at.metric] == ["Decisions", "By rules", "p50 / p90 to decide", "Deadline breaches"]
    assert [m.value for m in at.metric] == ["8", "1", "40 s / 2.0 h", "1"]
    assert frame(at, "insights_by_tool") == [
        {"tool": "create_circle", "decisions": 4, "p50": "20 s", "p90": "40 s"},
        {"tool": "create_square", "decisions": 2, "p50": "60 s", "p90": "10 min"},
        {"tool": "create_triangle", "decisions": 1, "p50": "2.0 h", "p90": "2.0 h"},
    ]
    assert frame(at, "insights_by_reviewer") == [
        {"reviewer": "bob", "decisions": 4, "p50": "40 s", "p90": "2.0 h"},
        {"reviewer": "ana", "decisions": 3, "p50": "30 s", "p90": "10 min"},
    ]
    rates = frame(at, "insights_rates")
    assert rates[1] == {"tool": "create_square", "decisions": 2, "approved": "50%", "edited": "50%", "rejected": "0%"}
    assert rates[-1] == {"tool": "all", "decisions": 7, "approved": "71%", "edited": "14%", "rejected": "14%"}
    assert frame(at, "insights_deadlines") == [
        {
            "tool": "create_triangle",
            "deadline": "10 min",
            "in time": 0,
            "late": 1,
            "by the deadline rule": 0,
            "overdue now": 0,
        }
    ]
    assert len(at.get("vega_lite_chart")) == 2  # time to decide, rates


def test_a_period_without_decisions_says_so(insights: AppTest) -> None:
    at = insights
    at.selectbox(key="insights_period").set_value("Last hour")
    run(at)
    assert next(m.value for m in at.metric) == "0"
    assert any("No decision was made in this period." in i.value for i in at.info)


def test_the_charts_keep_their_labels_at_1024_px() -> None:
    """Half of a 1024 px page is ~360 px: bars are horizontal, tool names get 120 px, the legend goes below, and
    the chart grows with its rows instead of squeezing them."""
    from review.insights import Rates, Waits
    from ui.insight_view import BAR_PX, rates_chart, waits_chart

    waits = [Waits(f"a_rather_long_tool_name_{n}", 3, 10.0 * n, 60.0 * n) for n in range(1, 7)]
    spec = waits_chart(waits, "tool").to_dict()
    assert spec["encoding"]["y"]["axis"]["labelLimit"] == 120 and spec["encoding"]["x"]["field"] == "minutes"
    assert spec["encoding"]["color"]["legend"]["orient"] == "bottom"
    assert spec["height"] == BAR_PX * 2 * len(waits)
    rates = [Rates(w.key, 4, 2, 1, 1, 0) for w in waits]
    spec = rates_chart(rates).to_dict()
    assert spec["encoding"]["x"]["stack"] == "normalize" and spec["height"] == BAR_PX * len(rates)


def test_a_suggested_rule_is_shadowed_then_promoted_from_the_page(
    app: AppTest, app_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime, timedelta

    from review.policy import load_policy
    from tests.insights.history import Past
    from tests.insights.test_rules import POLICY, earned_history
    from ui.console import REVIEWER_KEY

    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    monkeypatch.setenv("REVIEW_POLICY", str(policy))
    console = open_console(str(app_db.resolve()))
    record(console, earned_history())
    app.session_state[REVIEWER_KEY] = "ana"
    run(app)
    app.switch_page("pages/insights.py")
    at = run(app)
    assert "create_circle: 48 of 50 approved unedited, 0 contradicted outcomes" in [t.value for t in at.text]

    at.button(key="shadow_create_circle").click()
    run(at)
    assert [shown_text(s.value) for s in at.success] == ["earned create_circle is in shadow mode."]
    assert not [b for b in at.button if b.key == "shadow_create_circle"]  # suggested once
    record(
        console,
        [
            Past("create_circle", "approve", "bob", at=0, waited=3, args={"color": "red"}),
            Past("create_circle", "reject", "bob", at=1, waited=3, args={"color": "blue"}),
        ],
        base=datetime.now(UTC) + timedelta(seconds=5),
        first=500,
    )
    run(at)
    [report] = [t.value for t in at.text if t.value.startswith("earned create_circle:")]
    assert "would have approved 2 of 2 create_circle decisions" in report and report.endswith(
        "1 against what the reviewer did"
    )
    [disagreement] = at.dataframe[-2].value.to_dict("records")  # the disagreements, then every decision
    assert (disagreement["rule would"], disagreement["reviewer did"], disagreement["agree"]) == (
        "approve",
        "reject",
        False,
    )

    at.button(key="promote_earned create_circle").click()
    run(at)
    assert [shown_text(s.value) for s in at.success] == [f"earned create_circle was written to {policy}."]
    assert [r.name for r in load_policy(str(policy)).auto_approve] == ["earned create_circle"]
    assert [r.name for r in console.policy.auto_approve] == ["earned create_circle"]  # the app's console uses it
    assert not [b for b in at.button if (b.key or "").startswith(("promote_", "drop_"))]
