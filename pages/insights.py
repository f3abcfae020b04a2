"""Insights: how long decisions take (p50 / p90 by tool and by reviewer), how often each tool is approved, edited
or rejected, which deadlines were missed, over a chosen period. The figures are review/insights.py's; this page
only draws them (ui/insight_view.py)."""

from datetime import UTC, datetime

import streamlit as st

from review.insights import PERIODS, duration_text
from ui.charts import CHART_HEIGHT
from ui.console import get_console
from ui.insight_view import breaches_frame, rates_chart, rates_frame, waits_chart, waits_frame
from ui.sidebar import page_frame

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
