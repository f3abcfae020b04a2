"""The Audit page's charts (Altair specs, drawn with `st.altair_chart`): what was decided when, by whom, and
how long interrupts waited for a decision."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

DECISION_COLOURS = alt.Scale(domain=["approve", "edit", "reject"], range=["#2e7d32", "#f9a825", "#c62828"])


def _bin(frame: pd.DataFrame) -> tuple[str, str]:
    """A time unit that gives a readable number of bars for the span the log covers, and a short label for it."""
    span = (frame["time"].max() - frame["time"].min()).total_seconds() if len(frame) > 1 else 0
    if span <= 3 * 3600:
        return "yearmonthdatehoursminutes", "%H:%M"
    if span <= 4 * 86400:
        return "yearmonthdatehours", "%d %b %H:00"
    return "yearmonthdate", "%d %b"


# Three charts share a row: at 1024 px each is ~280 px wide. Few, short, non-overlapping time labels, and the
# legend below the plot rather than beside it (which pushed the third chart out of its column).
CHART_HEIGHT = 260  # the whole chart's: title, plot, axis and the legend below it
_LEGEND = alt.Legend(
    orient="bottom", direction="horizontal", columns=3, labelLimit=70, columnPadding=4, symbolSize=50, labelFontSize=11
)


def decisions_chart(frame: pd.DataFrame, by: str) -> Any:
    """Decisions over time, stacked by `by` ("decision" or "reviewer")."""
    colour = alt.Color(
        f"{by}:N", title=None, scale=DECISION_COLOURS if by == "decision" else alt.Undefined, legend=_LEGEND
    )
    unit, label = _bin(frame)
    axis = alt.Axis(format=label, labelOverlap="greedy", labelAngle=0, tickCount=4, labelLimit=80)
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X(f"{unit}(time):T", title="time (UTC)", axis=axis),
            y=alt.Y("count():Q", title="decisions"),
            color=colour,
            tooltip=[
                alt.Tooltip(f"{unit}(time):T", title="time"),
                f"{by}:N",
                alt.Tooltip("count():Q", title="decisions"),
            ],
        )
        .properties(height=150, title="Decisions by type" if by == "decision" else "Decisions by reviewer")
    )


def waits_chart(frame: pd.DataFrame) -> Any:
    """How long interrupts waited before their decision (seconds), per decision type."""
    waited = frame.dropna(subset=["waited_s"])
    return (
        alt.Chart(waited)
        .mark_bar()
        .encode(
            x=alt.X(
                "waited_s:Q",
                bin=alt.Bin(maxbins=12),
                title="seconds waited",
                axis=alt.Axis(labelOverlap="greedy", tickCount=4),
            ),
            y=alt.Y("count():Q", title="decisions"),
            color=alt.Color("decision:N", title=None, scale=DECISION_COLOURS, legend=_LEGEND),
            tooltip=[alt.Tooltip("count():Q", title="decisions"), "decision:N"],
        )
        .properties(height=150, title="Time to decide")
    )
