"""Audit: the decision log (who decided what, when, with the arguments before and after): charts, the key
columns in a table, every field of the row picked, and the CSV. A long value (arguments, a message) is shown
cut, with the entry's whole JSON to download: a megabyte of text would stall the browser. Then the
notifications' outbox: the delivery log and dead letters (ui/outbox_view.py)."""

import json
from datetime import UTC, datetime

import streamlit as st

from ui.auth import current_reviewer
from ui.charts import CHART_HEIGHT, decisions_chart, waits_chart
from ui.console import get_console
from ui.format import md_escape, thread_label, unique_labels
from ui.outbox_view import outbox_section
from ui.sidebar import page_frame
from ui.threads import audit_detail, audit_frame, decisions_over_time

SHOWN_CHARS = 2_000  # a field longer than this is shown cut; "Download this entry" has all of it

page_frame("Audit")
console = get_console()

st.title("Audit")
entries = console.audit()
reviewers = sorted({entry.reviewer for entry in entries})
who, how, issued = st.columns(3)
reviewer = who.selectbox(
    "Reviewer", [None, *reviewers], format_func=lambda name: "All reviewers" if name is None else name
)
verifications = sorted({entry.verification for entry in entries})
verification = how.selectbox(
    "Verified as",
    [None, *verifications],
    format_func=lambda v: "signed-in, unverified, cli or rule" if v is None else v,
    help="signed-in: OpenID Connect; unverified: a typed name; cli: the command line's OS user; rule: the policy",
)
issuers = sorted({entry.issuer for entry in entries if entry.issuer})
issuer = issued.selectbox("Issuer", [None, *issuers], format_func=lambda i: "Any issuer" if i is None else i)
shown = [
    entry
    for entry in entries
    if (reviewer is None or entry.reviewer == reviewer)
    and (verification is None or entry.verification == verification)
    and (issuer is None or entry.issuer == issuer)
]
if shown:
    frame = decisions_over_time(shown)
    by_type, by_reviewer, waits = st.columns(3)
    # The height given, not "content": each chart's plot keeps its 150 px whatever its title and legend take.
    by_type.altair_chart(decisions_chart(frame, "decision"), width="stretch", height=CHART_HEIGHT)
    by_reviewer.altair_chart(decisions_chart(frame, "reviewer"), width="stretch", height=CHART_HEIGHT)
    waits.altair_chart(waits_chart(frame), width="stretch", height=CHART_HEIGHT)
now = datetime.now(UTC)
infos = console.thread_infos({entry.thread_id for entry in shown})
labels = unique_labels({t: thread_label(t, info.request, info.started_at, now) for t, info in infos.items()})
st.caption(f"{len(shown)} decision(s), newest first. Pick a row to see all of it.")
picked = st.dataframe(
    audit_frame(shown, labels),
    hide_index=True,
    on_select="rerun",
    selection_mode="single-row",
    key="audit_table",
)
rows = picked.selection.rows if picked is not None else []
if rows and rows[0] < len(shown):
    entry = shown[rows[0]]
    with st.container(border=True):
        title = f"{md_escape(entry.tool or '(unknown payload)')}** · {md_escape(entry.decision)}"
        st.markdown(f"**{title} · {md_escape(entry.status)}")
        cut = False
        details = audit_detail(entry)
        details.insert(1, ("channel", entry.channel or "not recorded (decided before the log kept it)"))
        for name, value in details:
            if value:
                left, right = st.columns([1, 4])
                left.caption(name)
                if len(value) > SHOWN_CHARS:
                    cut = True
                    value = f"{value[:SHOWN_CHARS]}… (cut: {len(value):,} characters; download the entry for all)"
                right.text(value)
        if cut:
            st.download_button(
                "Download this entry (JSON)",
                data=json.dumps(entry.to_dict(), ensure_ascii=False, indent=2),
                file_name=f"review-audit-attempt-{entry.attempt_id}.json",
                mime="application/json",
                on_click="ignore",
                key="audit_entry_download",
            )
st.download_button(
    "Download CSV",
    data=console.audit_csv(reviewer=reviewer),
    file_name="review-audit.csv" if reviewer is None else "review-audit-filtered.csv",
    mime="text/csv",
    on_click="ignore",
)
outbox_section(console, current_reviewer())
