"""Thread: one thread of any graph as its checkpoints hold it: pending rows, what runs next, the conversation (with
each reviewer decision where it happened) when there are messages, the state values as JSON, the checkpoint
timeline; above them, the picture the thread's graph draws of it, when its graph offers one (the demo: its canvas)."""

from datetime import UTC, datetime

import streamlit as st

from ui.console import get_console
from ui.format import frozen_labels, md_escape, show_controls, thread_label, unique_labels
from ui.picture import show_picture
from ui.sidebar import INBOX, NEW_RUN, page_frame
from ui.threads import conversation, next_text, pending_frame, state_text, timeline_frame

page_frame("Thread")
console = get_console()
state = st.session_state

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

view = console.thread(selected)
picture = console.graphs.picture(view.graph_id, view.values)
if picture is not None:  # drawn by the thread's graph (the demo's canvas); most graphs draw none
    show_picture(picture)

st.subheader("Pending")
if view.pending:
    st.dataframe(pending_frame(view.pending), hide_index=True)
    st.page_link(INBOX, label="Review in Inbox", icon=":material/inbox:")
else:
    st.caption("Nothing pending in this thread.")

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
