"""The Audit page's charts (Altair specs, drawn with `st.altair_chart`): what was decided when, by whom, and
how long interrupts waited for a decision."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

DECISION_COLOURS = alt.Scale(domain=["approve", "edit", "reject"], range=["#2e7d32", "#f9a825", "#c62828"])


def _bin(frame: pd.DataFrame) -> str:
    """A time unit that gives a readable number of bars for the span the log covers."""
    span = (frame["time"].max() - frame["time"].min()).total_seconds() if len(frame) > 1 else 0
    if span <= 3 * 3600:
        return "yearmonthdatehoursminutes"
    if span <= 4 * 86400:
        return "yearmonthdatehours"
    return "yearmonthdate"


def decisions_chart(frame: pd.DataFrame, by: str) -> Any:
    """Decisions over time, stacked by `by` ("decision" or "reviewer")."""
    colour = alt.Color(f"{by}:N", title=by, scale=DECISION_COLOURS if by == "decision" else alt.Undefined)
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X(f"{_bin(frame)}(time):T", title="time (UTC)"),
            y=alt.Y("count():Q", title="decisions"),
            color=colour,
            tooltip=[
                alt.Tooltip(f"{_bin(frame)}(time):T", title="time"),
                f"{by}:N",
                alt.Tooltip("count():Q", title="decisions"),
            ],
        )
        .properties(height=190, title=f"Decisions over time, by {by}")
    )


def waits_chart(frame: pd.DataFrame) -> Any:
    """How long interrupts waited before their decision (seconds), per decision type."""
    waited = frame.dropna(subset=["waited_s"])
    return (
        alt.Chart(waited)
        .mark_bar()
        .encode(
            x=alt.X("waited_s:Q", bin=alt.Bin(maxbins=20), title="seconds waited before the decision"),
            y=alt.Y("count():Q", title="decisions"),
            color=alt.Color("decision:N", scale=DECISION_COLOURS),
            tooltip=[alt.Tooltip("count():Q", title="decisions"), "decision:N"],
        )
        .properties(height=190, title="How long interrupts waited")
    )
