"""The Insights page's tables and charts, as data (pandas frames, Altair specs): nothing here draws.

The charts follow the Audit page's (ui/charts.py: its decision colours, legend and height), as horizontal bars
with the tool or reviewer on the axis, so a long tool name stays readable in half of a 1024 px page.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
import pandas as pd

from review.insights import Breaches, Rates, Waits, duration_text
from ui.charts import _LEGEND, DECISION_COLOURS

BAR_PX = 22  # one bar's band: a chart grows with its rows instead of squeezing them
_STATS = alt.Scale(domain=["p50", "p90"], range=["#1565c0", "#90caf9"])


def waits_frame(waits: Sequence[Waits], name: str) -> pd.DataFrame:
    """One row per tool (or reviewer): decisions, p50 and p90 as people read them."""
    return pd.DataFrame(
        [
            {name: w.key, "decisions": w.decisions, "p50": duration_text(w.p50), "p90": duration_text(w.p90)}
            for w in waits
        ],
        columns=[name, "decisions", "p50", "p90"],
    )


def rates_frame(rates: Sequence[Rates]) -> pd.DataFrame:
    """One row per tool, then "all": decisions and the share approved, edited, rejected (whole percents)."""
    return pd.DataFrame(
        [
            {
                "tool": r.key,
                "decisions": r.decisions,
                "approved": f"{r.rate('approve'):.0%}",
                "edited": f"{r.rate('edit'):.0%}",
                "rejected": f"{r.rate('reject'):.0%}",
            }
            for r in rates
        ],
        columns=["tool", "decisions", "approved", "edited", "rejected"],
    )


def breaches_frame(breaches: Sequence[Breaches]) -> pd.DataFrame:
    """One row per deadline of the policy: its limit, decisions in time, late, acted on by the rule, overdue now."""
    return pd.DataFrame(
        [
            {
                "tool": b.tool,
                "deadline": duration_text(b.after_seconds),
                "in time": b.in_time,
                "late": b.late,
                "by the deadline rule": b.acted,
                "overdue now": b.overdue_now,
            }
            for b in breaches
        ],
        columns=["tool", "deadline", "in time", "late", "by the deadline rule", "overdue now"],
    )


def waits_chart(waits: Sequence[Waits], name: str) -> Any:
    """p50 and p90 time to decide per tool (or reviewer), side by side, in minutes."""
    rows = [
        {name: w.key, "percentile": stat, "minutes": value / 60, "shown": duration_text(value)}
        for w in waits
        for stat, value in (("p50", w.p50), ("p90", w.p90))
        if value is not None
    ]
    frame = pd.DataFrame(rows, columns=[name, "percentile", "minutes", "shown"])
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y(f"{name}:N", title=None, sort=[w.key for w in waits], axis=alt.Axis(labelLimit=120)),
            yOffset=alt.YOffset("percentile:N", sort=["p50", "p90"]),
            x=alt.X("minutes:Q", title="minutes to decide", axis=alt.Axis(tickCount=4)),
            color=alt.Color("percentile:N", title=None, scale=_STATS, legend=_LEGEND),
            tooltip=[f"{name}:N", "percentile:N", alt.Tooltip("shown:N", title="time")],
        )
        .properties(height=max(60, BAR_PX * 2 * len(waits)), title=f"Time to decide by {name}")
    )


def rates_chart(rates: Sequence[Rates]) -> Any:
    """The share of approve / edit / reject per tool, each tool's bar 100%."""
    rows = [
        {"tool": r.key, "decision": kind, "count": getattr(r, kind)}
        for r in rates
        if r.key != "all"
        for kind in ("approve", "edit", "reject")
    ]
    frame = pd.DataFrame(rows, columns=["tool", "decision", "count"])
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("tool:N", title=None, sort=[r.key for r in rates], axis=alt.Axis(labelLimit=120)),
            x=alt.X("sum(count):Q", stack="normalize", title="share of decisions", axis=alt.Axis(format="%")),
            color=alt.Color("decision:N", title=None, scale=DECISION_COLOURS, legend=_LEGEND),
            tooltip=["tool:N", "decision:N", alt.Tooltip("sum(count):Q", title="decisions")],
        )
        .properties(height=max(60, BAR_PX * len(rows) // 3), title="Approve, edit, reject by tool")
    )
