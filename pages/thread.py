"""Thread: one thread of any graph as its checkpoints hold it: pending rows, what runs next, the conversation (with
each reviewer decision where it happened) when there are messages, the state values as JSON, the checkpoint
timeline; above them, the picture the thread's graph draws of it, when its graph offers one (the demo: its canvas).

The thread is the one `?thread=` names (a link from New run or the Inbox), else the last one opened. Its pending rows
link to the Inbox, each row (`/?row=`) and the whole thread (`/?thread=`); their ages tick every second, like the
Inbox's, and the page is drawn again when the thread's pending rows change (decided elsewhere, or new ones raised).
"""

from datetime import UTC, datetime

import streamlit as st

from review import PendingInterrupt
from ui.console import get_console
from ui.format import frozen_labels, md_escape, show_controls, thread_label, unique_labels
from ui.picture import show_picture
from ui.sidebar import INBOX, NEW_RUN, page_frame
from ui.threads import conversation, next_text, pending_frame, row_link_label, state_text, timeline_frame

TICK_SECONDS = 1.0  # how often the pending rows' ages are redrawn (and the rows' change looked for)
TOKEN_KEY = "thread_page_token"  # the store's change token when the page was last drawn

page_frame("Thread")
console = get_console()
state = st.session_state


@st.fragment(run_every=TICK_SECONDS)
def pending_rows(thread_id: str, rows: list[PendingInterrupt]) -> None:
    """The thread's pending rows with their ages, each linked to the Inbox; every TICK_SECONDS the ages move on, and
    when the store changed and this thread's rows with it, the whole page is drawn again."""
    token = console.inbox_token()
    if token != state.get(TOKEN_KEY):
        state[TOKEN_KEY] = token
        if {row.key for row in console.pending(thread_id)} != {row.key for row in rows}:
            st.rerun()
    if not rows:
        st.caption("Nothing pending in this thread.")
        return
    st.dataframe(pending_frame(rows, datetime.now(UTC)), hide_index=True)
    st.page_link(
        INBOX,
        label=f"Review this thread in the Inbox ({len(rows)} pending)",
        icon=":material/inbox:",
        query_params={"thread": thread_id},
    )
    for row in rows:
        st.page_link(
            INBOX,
            label=f"Open {row_link_label(row, rows)} in the Inbox",
            icon=":material/rate_review:",
            query_params={"row": row.row_id},
        )


st.title("Thread")
st.caption("One thread as its checkpoints hold it. Threads are listed most recently active first.")
threads = console.threads()
if not threads:
    st.info("No threads yet: start one on the New run page.")
    st.page_link(NEW_RUN, label="Start a run", icon=":material/play_circle:")
    st.stop()

wanted = st.query_params.get("thread") or state.get("thread_id")
if wanted and wanted not in threads and console.thread(wanted, timeline=False).exists:
    threads = [wanted, *threads]  # an older thread named in the URL
now = datetime.now(UTC)
infos = console.thread_infos(threads)
live = {
    t: thread_label(t, infos[t].request if t in infos else None, infos[t].started_at if t in infos else None, now)
    for t in threads
}
labels = frozen_labels(state.setdefault("thread_picker_names", {}), unique_labels(live))
selected = st.selectbox(
    "Thread",
    threads,
    index=threads.index(wanted) if wanted in threads else 0,
    format_func=lambda t: labels.get(t, t),
    help="Threads by their request and age; the id is below",
)
state["thread_id"] = selected
st.query_params["thread"] = selected
st.caption(f"Thread id: {md_escape(selected)}")

state[TOKEN_KEY] = console.inbox_token()  # before reading the thread: a later change is seen
view = console.thread(selected)
source = next((row.source for row in view.pending if row.source), None)
for link in console.trace_links(selected, source):  # its run's LangSmith trace, an Agent Server's thread in Studio
    st.link_button(link.label, link.url, icon=":material/open_in_new:")
picture = console.graphs.picture(view.graph_id, view.values)
if picture is not None:  # drawn by the thread's graph (the demo's canvas); most graphs draw none
    show_picture(picture)

st.subheader("Pending")
pending_rows(selected, view.pending)

st.subheader("Next")
st.text(next_text(view.next, len(view.pending)))

lines = conversation(view.messages, console.audit(thread_id=selected))
if lines:
    st.subheader("Conversation")
    for line in lines:
        with st.chat_message(line.role, avatar=line.avatar):
            st.caption(md_escape(line.caption))
            if line.text:
                st.text(show_controls(line.text))  # text, never markup: contents come from the agent and the reviewers

st.subheader("State")
if view.values is None or view.values == {}:
    st.caption("No values yet: the graph has not written its state (or returned).")
elif isinstance(view.values, dict | list):
    st.json(view.values, expanded=1)
else:
    st.code(show_controls(state_text(view.values)), language="json")

st.subheader("Checkpoint timeline")
st.dataframe(timeline_frame(view.timeline), hide_index=True)
