"""Audit: the decision log (who decided what, when, with the arguments before and after), as a table and CSV."""

import streamlit as st

from ui.console import get_console
from ui.sidebar import page_frame
from ui.threads import audit_frame

page_frame("Audit")
console = get_console()

st.title("Audit")
entries = console.audit()
reviewers = sorted({entry.reviewer for entry in entries})
reviewer = st.selectbox(
    "Reviewer", [None, *reviewers], format_func=lambda name: "All reviewers" if name is None else name
)
shown = [entry for entry in entries if reviewer is None or entry.reviewer == reviewer]
st.caption(f"{len(shown)} decision(s), newest first.")
st.dataframe(audit_frame(shown), hide_index=True)
st.download_button(
    "Download CSV",
    data=console.audit_csv(reviewer=reviewer),
    file_name="review-audit.csv" if reviewer is None else "review-audit-filtered.csv",
    mime="text/csv",
    on_click="ignore",
)
