"""Insights: how long decisions take (p50 / p90 by tool and by reviewer), how often each tool is approved, edited
or rejected, which deadlines were missed, over a chosen period; then the auto-approve rules the log argues for,
their shadow mode, promotion and drop. The figures are review/insights.py's and review/rules.py's; this page only
draws them (ui/insight_view.py) and hands the buttons to the console."""

from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

import pandas as pd
import streamlit as st

from review.identity import Reviewer
from review.insights import PERIODS, duration_text
from review.policy import NotAllowed
from review.rules import MIN_DECISIONS, MIN_SHARE, RuleError, describe
from ui.auth import current_reviewer
from ui.charts import CHART_HEIGHT
from ui.console import get_console
from ui.format import md_escape
from ui.insight_view import breaches_frame, rates_chart, rates_frame, waits_chart, waits_frame
from ui.sidebar import page_frame

DONE_KEY = "insights_rule_done"  # what the last rule button did, shown once after its rerun

page_frame("Insights")
console = get_console()

st.title("Insights")
period = st.selectbox("Period", list(PERIODS), index=list(PERIODS).index("Last 7 days"), key="insights_period")
now = datetime.now(UTC)
span = PERIODS[period]
found = console.insights(now - span if span is not None else None, now)

decided, ruled, typical, late = st.columns(4)
decided.metric("Decisions", found.decisions, help="Decisions that settled their rows in the period")
ruled.metric("By rules", found.by_rules, help="Made by the policy's auto-approve rules and deadlines")
overall = found.overall
typical.metric(
    "p50 / p90 to decide",
    f"{duration_text(overall.p50)} / {duration_text(overall.p90)}" if overall and overall.p50 is not None else "none",
    help="From the interrupt raised to the decision, people's decisions only",
)
late.metric("Deadline breaches", sum(b.breached for b in found.breaches), help="Decided late, by the rule, or overdue")

if not found.decisions:
    st.info("No decision was made in this period.")
else:
    by_tool, by_rate = st.columns(2)
    if found.by_tool:
        by_tool.altair_chart(waits_chart(found.by_tool, "tool"), width="stretch", height=CHART_HEIGHT)
    if found.rates:
        by_rate.altair_chart(rates_chart(found.rates), width="stretch", height=CHART_HEIGHT)
    st.subheader("Time to decide by tool")
    st.dataframe(waits_frame(found.by_tool, "tool"), hide_index=True, key="insights_by_tool")
    st.subheader("Time to decide by reviewer")
    st.dataframe(waits_frame(found.by_reviewer, "reviewer"), hide_index=True, key="insights_by_reviewer")
    st.subheader("Approve, edit, reject")
    st.dataframe(rates_frame(found.rates), hide_index=True, key="insights_rates")
    if found.notified is not None:
        st.caption(
            f"Notified rows: decided {duration_text(found.notified.p50)} (p50) / "
            f"{duration_text(found.notified.p90)} (p90) after their notification ({found.notified.decisions} rows)."
        )
st.subheader("Deadlines")
if found.breaches:
    st.dataframe(breaches_frame(found.breaches), hide_index=True, key="insights_deadlines")
else:
    st.caption("The policy sets no deadline ([[deadline]] in the policy file).")

st.subheader("Rules earned from history")
reviewer = current_reviewer() or Reviewer.anonymous()
done = st.session_state.pop(DONE_KEY, None)
if done:
    st.success(md_escape(done))


def act(what: str, action: Callable[[], object]) -> None:
    """Run a rule button's action: what it did shows after the rerun, a refusal (one line) at once."""
    try:
        result = action()
    except (NotAllowed, RuleError, ValueError) as exc:
        st.error(md_escape(str(exc)))
        return
    st.session_state[DONE_KEY] = what.format(result=result)
    st.rerun()


suggestions = console.rule_suggestions()
if not suggestions:
    st.caption(
        f"No tool has earned an auto-approve rule yet: it takes at least {MIN_DECISIONS} decisions, "
        f"{MIN_SHARE:.0%} of them approved as asked, none contradicted by the graph."
    )
for suggestion in suggestions:
    text, button = st.columns([5, 1], vertical_alignment="center")
    text.text(suggestion.text)
    if button.button(
        "Shadow",
        key=f"shadow_{suggestion.tool}",
        help="Hold this rule against every new decision, without deciding anything, until you promote or drop it",
    ):
        act(
            f"{suggestion.name} is in shadow mode.",
            partial(console.start_shadow, suggestion.tool, reviewer, evidence=suggestion.text),
        )
for report in console.shadow_rules():
    rule = report.rule
    with st.container(border=True):
        ended = f" by {rule.ended_by} at {(rule.ended_at or '')[:16].replace('T', ' ')}" if rule.ended_at else ""
        st.markdown(f"**{md_escape(rule.name)}** · {md_escape(rule.state + ended)}")
        st.text(report.text)
        if rule.evidence:
            st.caption(f"Evidence when shadowed: {md_escape(rule.evidence)}")
        disagreements = [v for v in report.verdicts if v.disagrees]
        if disagreements:
            st.dataframe(pd.DataFrame(describe(disagreements)), hide_index=True, key=f"disagree_{rule.name}")
        else:
            st.caption("No disagreement so far.")
        with st.expander(f"Every decision held against it ({len(report.verdicts)})"):
            st.dataframe(pd.DataFrame(describe(report.verdicts)), hide_index=True, key=f"verdicts_{rule.name}")
        if rule.state == "shadow":
            promote, drop = st.columns(2)
            if promote.button(
                "Promote into the policy",
                key=f"promote_{rule.name}",
                help="Write it into the policy file as an [[auto_approve]] rule; it decides from now on",
            ):
                act(f"{rule.name} was written to {{result}}.", partial(console.promote_rule, rule.name, reviewer))
            if drop.button("Drop", key=f"drop_{rule.name}", help="Stop shadowing it; it stays in the history"):
                act(f"{rule.name} was dropped.", partial(console.drop_rule, rule.name, reviewer))
