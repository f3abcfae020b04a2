"""New run: start the agent on a prompt and follow its progress until it pauses for review or ends."""

import time

import streamlit as st

from review.identity import Reviewer
from ui.auth import current_reviewer
from ui.console import get_console
from ui.format import md_escape, plural
from ui.runs import EXAMPLES, final_label
from ui.sidebar import INBOX, THREAD, page_frame

PROMPT_KEY = "new_run_prompt"
GRAPH_KEY = "new_run_graph"
JOB_KEY = "new_run_job_id"
POLL_SECONDS = 0.1

page_frame("New run")
console = get_console()
state = st.session_state


def _fill(prompt: str) -> None:
    state[PROMPT_KEY] = prompt


def _starter() -> Reviewer:
    """Who starts the run, for the policy's `starters`: the signed-in or typed reviewer, else nobody in particular."""
    return current_reviewer() or Reviewer.anonymous()


def _start() -> None:
    try:
        job = console.start_run(state.get(PROMPT_KEY) or "", graph_id=state.get(GRAPH_KEY), reviewer=_starter())
    except ValueError as exc:
        state["new_run_error"] = str(exc)
        return
    state.pop("new_run_error", None)
    state[JOB_KEY] = job.job_id
    state["thread_id"] = job.thread_id


st.title("New run")
st.caption("Start the demo agent on a prompt in a new thread. Its tool calls wait for review in the Inbox.")
columns = st.columns(len(EXAMPLES))
for column, (label, prompt) in zip(columns, EXAMPLES.items(), strict=True):
    column.button(label, on_click=_fill, args=(prompt,), width="stretch")
if len(console.graphs) > 1:  # several graphs loaded (--config langgraph.json): which one to run
    st.selectbox("Graph", console.graphs.ids, key=GRAPH_KEY, help="The graphs of this console's langgraph.json")
st.text_area("Prompt", key=PROMPT_KEY, height=100, placeholder="e.g. Create a red circle c1 and a blue square s1")
st.button("Start run", type="primary", on_click=_start)
if state.get("new_run_error"):
    st.warning(f"Nothing started: {state['new_run_error']}")

job = console.job(state[JOB_KEY]) if state.get(JOB_KEY) else None
if job is not None:
    with st.status(f"Running thread {job.thread_id[:8]}…", expanded=True) as status:
        shown = 0
        while True:
            finished = job.done()  # read before the events, so none is missed after the last poll
            events = job.events(shown)
            for event in events:
                st.text(f"{event.node}: {event.text}")
            shown += len(events)
            if finished:
                break
            time.sleep(POLL_SECONDS)
        try:
            outcome = job.result()
        except Exception as exc:  # the run failed in the worker: say so, keep the page usable
            status.update(label=md_escape(f"Failed: {type(exc).__name__}: {exc}"), state="error", expanded=True)
        else:
            status.update(label=final_label(len(outcome.new_pending)), state="complete", expanded=True)
            if outcome.new_pending:
                st.caption(plural(len(outcome.new_pending), "row") + " added to the Inbox.")
    st.page_link(INBOX, label="Review in Inbox", icon=":material/inbox:")
    st.page_link(THREAD, label="Open the thread", icon=":material/timeline:", query_params={"thread": job.thread_id})
