"""New run: start a graph on a prompt and follow its progress until it pauses for review or ends.

The graph is one of the console's own, or one an Agent Server it reviews serves: the run then starts in a new
thread on that server, and its interrupts are listed like a local run's.
"""

import time

import streamlit as st

from review.identity import Reviewer
from review.sources import ServerError, ServerSource
from ui.auth import current_reviewer
from ui.console import get_console
from ui.format import md_escape, plural
from ui.runs import EXAMPLES, final_label
from ui.sidebar import INBOX, THREAD, page_frame

PROMPT_KEY = "new_run_prompt"
GRAPH_KEY = "new_run_graph"
JOB_KEY = "new_run_job_id"
POLL_SECONDS = 0.1
SERVED_SECONDS = 30  # how long the graphs an Agent Server serves are taken as known

page_frame("New run")
console = get_console()
state = st.session_state

Choice = tuple[ServerSource | None, str]  # where the run starts (None: this console's own graphs), the graph id


@st.cache_data(ttl=SERVED_SECONDS, show_spinner=False)
def _served(label: str) -> list[str]:
    """The graph ids the Agent Server `label` serves (asked once per SERVED_SECONDS, whoever opens the page)."""
    return next(s for s in console.servers.sources if s.target.label == label).served_graphs()


def _choices() -> dict[str, Choice]:
    """What may be started, by its label: each Agent Server's graphs first (a server console's runs belong
    there), then the console's own. A server that cannot be asked says why under the picker."""
    choices: dict[str, Choice] = {}
    for source in console.servers.sources:
        try:
            served = _served(source.target.label)
        except ServerError as exc:
            st.caption(md_escape(f"Not offered: {exc}"))
            continue
        choices.update({f"{graph_id} on {source.target.label}": (source, graph_id) for graph_id in served})
    choices.update({graph_id: (None, graph_id) for graph_id in console.graphs.ids})
    return choices


def _fill(prompt: str) -> None:
    state[PROMPT_KEY] = prompt


def _starter() -> Reviewer:
    """Who starts the run, for the policy's `starters`: the signed-in or typed reviewer, else nobody in particular."""
    return current_reviewer() or Reviewer.anonymous()


def _start(choices: dict[str, Choice]) -> None:
    source, graph_id = choices.get(state.get(GRAPH_KEY) or "") or next(iter(choices.values()))
    prompt = state.get(PROMPT_KEY) or ""
    try:
        if source is None:
            job = console.start_run(prompt, graph_id=graph_id, reviewer=_starter())
        else:  # the same check `start_run` makes, then a new thread on the server
            refused = console.policy.may_start(_starter())
            if refused:
                raise ValueError(refused)
            job = console.servers.start_run(source, graph_id, prompt)
    except (ValueError, ServerError) as exc:
        state["new_run_error"] = str(exc)
        return
    state.pop("new_run_error", None)
    state[JOB_KEY] = job.job_id
    state["thread_id"] = job.thread_id


st.title("New run")
choices = _choices()
if console.servers:
    st.caption(
        "Start a graph on a prompt in a new thread: one an Agent Server serves, or the console's own. "
        "Its tool calls wait for review in the Inbox."
    )
else:
    st.caption("Start the demo agent on a prompt in a new thread. Its tool calls wait for review in the Inbox.")
columns = st.columns(len(EXAMPLES))
for column, (label, prompt) in zip(columns, EXAMPLES.items(), strict=True):
    column.button(label, on_click=_fill, args=(prompt,), width="stretch")
if len(choices) > 1:  # several graphs (a langgraph.json, an Agent Server): which one to run
    st.selectbox("Graph", list(choices), key=GRAPH_KEY, help="The console's graphs and those its Agent Servers serve")
st.text_area("Prompt", key=PROMPT_KEY, height=100, placeholder="e.g. Create a red circle c1 and a blue square s1")
st.button("Start run", type="primary", on_click=_start, args=(choices,))
if state.get("new_run_error"):
    st.warning(f"Nothing started: {state['new_run_error']}")

job_id = state.get(JOB_KEY)
job = (console.job(job_id) or console.servers.job(job_id)) if job_id else None
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
