"""New run: start a graph in a new thread and follow its progress until it pauses for review or ends.

The graph is one of the console's own, or one an Agent Server it reviews serves: the run then starts in a new
thread on that server, and its interrupts are listed like a local run's.

What the run starts from follows the graph's input (`LoadedGraph.input_schema`): a prompt for a chat graph (a
`messages` key) or a spec that builds its input from one; a form generated from the schema otherwise
(ui/schema_form.py); JSON when the schema makes no form. A value the schema refuses starts nothing and says why
in one line. Example prompts appear only for a graph that offers them (`run_examples`: the demo's shapes).
"""

from __future__ import annotations

import time
from typing import Any

import streamlit as st

from review.graphs import LoadedGraph
from review.identity import Reviewer
from review.sources import ServerError, ServerSource
from ui import schema_form
from ui.auth import current_reviewer
from ui.console import get_console
from ui.format import md_escape, plural
from ui.runs import final_label
from ui.sidebar import INBOX, THREAD, page_frame

PROMPT_KEY = "new_run_prompt"
GRAPH_KEY = "new_run_graph"
JOB_KEY = "new_run_job_id"
ERROR_KEY = "new_run_error"
FORM_PREFIX = "new_run_input"  # a form's widgets: new_run_input.<graph id>.<property>
JSON_KEY = "new_run_json"  # the JSON text area: new_run_json.<graph id>
SCALAR_FIELD = "input"  # the one field of a graph whose input is a single value (an @entrypoint's string)
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


def _form_of(schema: dict[str, Any] | None) -> tuple[list[schema_form.FieldSpec], bool]:
    """The form fields of a graph's input, and whether they wrap a single value (an `@entrypoint` taking a string
    or a number: one field named `input`); no fields when the schema makes no form (then JSON is asked for)."""
    specs = schema_form.fields(schema)
    if specs or not schema or "properties" in schema or schema.get("type") == "object":
        return specs, False
    wrapped = {"type": "object", "properties": {SCALAR_FIELD: schema}, "required": [SCALAR_FIELD]}
    specs = schema_form.fields({**wrapped, "$defs": schema.get("$defs", {})})
    return (specs, True) if len(specs) == 1 and specs[0].kind != "json" else ([], False)


def _is_chat(loaded: LoadedGraph) -> bool:
    properties = (loaded.input_schema or {}).get("properties")
    return isinstance(properties, dict) and "messages" in properties


def _start(source: ServerSource | None, graph_id: str, prompt: str, run_input: Any) -> None:
    """Start the run (the policy's `starters` decide first); a refusal or a failure to start goes to the page."""
    try:
        refused = console.policy.may_start(_starter())
        if refused:
            raise ValueError(refused)
        if source is None:
            job = console.start_run(prompt, graph_id=graph_id, run_input=run_input, reviewer=_starter())
        else:  # a new thread on the server
            job = console.servers.start_run(source, graph_id, prompt, run_input)
    except (ValueError, ServerError) as exc:
        state[ERROR_KEY] = str(exc)
        return
    state.pop(ERROR_KEY, None)
    state[JOB_KEY] = job.job_id
    state["thread_id"] = job.thread_id


def _input_of(loaded: LoadedGraph) -> Any:
    """The graph's input from the form or the JSON box, checked against its schema; ValueError says why not."""
    schema = loaded.input_schema
    specs, wrapped = _form_of(schema)
    if specs:
        prefix = f"{FORM_PREFIX}.{loaded.graph_id}"
        raw = {spec.name: state.get(schema_form.widget_key(prefix, spec.name)) for spec in specs}
        value: Any = schema_form.parse(specs, raw)
        if wrapped:
            value = value.get(SCALAR_FIELD)
    else:
        text = (state.get(f"{JSON_KEY}.{loaded.graph_id}") or "").strip()
        if not text:
            raise ValueError("the input is empty: write it as JSON")
        value = schema_form.parse_json(text)
    if value is None:
        raise ValueError("the input is JSON null, which cannot start a run here")
    problem = schema_form.check(schema, value)
    if problem:
        raise ValueError(f"the graph's input schema refuses it: {problem}")
    return value


def _start_clicked(source: ServerSource | None, graph_id: str, loaded: LoadedGraph | None) -> None:
    if loaded is None or loaded.starts_from_prompt:
        _start(source, graph_id, state.get(PROMPT_KEY) or "", None)
        return
    try:
        run_input = _input_of(loaded)
    except ValueError as exc:  # FormError is one; who may not start runs is told that first
        state[ERROR_KEY] = console.policy.may_start(_starter()) or str(exc)
        return
    _start(source, graph_id, "", run_input)


def _prompt_box(examples: dict[str, str], chat: bool) -> None:
    if examples:
        columns = st.columns(len(examples))
        for column, (label, prompt) in zip(columns, examples.items(), strict=True):
            column.button(label, on_click=_fill, args=(prompt,), width="stretch")
    first = next(iter(examples.values()), None)
    st.text_area(
        "Prompt",
        key=PROMPT_KEY,
        height=100,
        placeholder=f"e.g. {first}" if first else None,
        help="Sent as the run's first human message" if chat else "The graph builds its input from it",
    )


def _input_box(loaded: LoadedGraph) -> None:
    specs, wrapped = _form_of(loaded.input_schema)
    if specs:
        st.caption(
            "The graph's input, from its schema"
            + ("." if wrapped else ": fields left empty are left out; lists and objects are written as JSON.")
        )
        schema_form.render(specs, {}, f"{FORM_PREFIX}.{loaded.graph_id}")
        return
    st.caption("The graph describes no input the console can make a form of: write its input as JSON.")
    st.text_area("Input (JSON)", key=f"{JSON_KEY}.{loaded.graph_id}", height=120, placeholder='{"key": "value"}')


st.title("New run")
choices = _choices()
if len(choices) > 1:  # several graphs (a langgraph.json, an Agent Server): which one to run
    st.selectbox("Graph", list(choices), key=GRAPH_KEY, help="The console's graphs and those its Agent Servers serve")
source, graph_id = choices.get(state.get(GRAPH_KEY) or "") or next(iter(choices.values()))
loaded = console.graphs.get(graph_id) if source is None else None
where = f" on {source.target.label}" if source is not None else ""
st.caption(
    md_escape(f"Start {graph_id}{where} in a new thread. Its tool calls and questions wait for review in the Inbox.")
)
if loaded is None:  # an Agent Server's graph: its input is not known here; the prompt is sent as a chat message
    _prompt_box({}, chat=True)
elif loaded.starts_from_prompt:
    _prompt_box(loaded.examples, chat=_is_chat(loaded))
else:
    _input_box(loaded)
st.button("Start run", type="primary", on_click=_start_clicked, args=(source, graph_id, loaded))
if state.get(ERROR_KEY):
    st.warning(md_escape(f"Nothing started: {state[ERROR_KEY]}"))

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
    st.page_link(INBOX, label="Review in Inbox", icon=":material/inbox:", query_params={"thread": job.thread_id})
    st.page_link(THREAD, label="Open the thread", icon=":material/timeline:", query_params={"thread": job.thread_id})
