"""The review console: `streamlit run app.py [-- --db PATH]`. This script is its landing page, the Inbox.

Inbox: every pending interrupt of every thread, one row per tool call, decided together in one batch.
The other pages are Streamlit's `pages/` folder (New run, Thread, Audit); every page starts with
`ui.sidebar.page_frame`, which draws the shared sidebar. Pages talk to the agent only through
`review.ReviewConsole` (see ui/console.py).

The table refreshes itself (a fragment) so rows raised by other processes appear within 2 s, and a
tiny watcher (`watch_changes`, PostgreSQL only: its changes are pushed by LISTEN/NOTIFY) redraws the page
as soon as the store reports a change, so a row decided on another replica leaves this Inbox within
~0.2 s; the
reviewer's unsent choices live in a draft keyed by row identity (see ui/inbox.py), so a refresh that
adds, removes or reorders rows never moves a decision onto another row.
"""

from datetime import UTC, datetime

import streamlit as st

from review import StoreError
from ui import inbox
from ui.console import get_console, reviewer_name
from ui.format import md_escape, plural, short_id
from ui.sidebar import page_frame

REFRESH_SECONDS = 1.0
WATCH_SECONDS = 0.2  # how often the change watcher looks at the store's change token (no query on PostgreSQL)
STATE_CHANGE_TOKEN = "inbox_change_token"  # the store's change token when the table was last drawn
GATE_WARNING = "Enter your name in the sidebar before sending decisions"

page_frame("Inbox")
console = get_console()
state = st.session_state
state.setdefault(inbox.STATE_DRAFT, {})
state.setdefault(inbox.STATE_EDITOR_KEY, None)
state.setdefault(inbox.STATE_RENDERED, [])
state.setdefault(inbox.STATE_GENERATION, 0)
state.setdefault(inbox.STATE_STATUS, {})
state.setdefault(inbox.STATE_REPORT, None)


def _fold() -> None:
    """Take the rendered editor's positional edits into the draft, through the keys it showed."""
    key = state[inbox.STATE_EDITOR_KEY]
    if key and key in state:
        state[inbox.STATE_DRAFT] = inbox.fold_edits(state[inbox.STATE_DRAFT], state[inbox.STATE_RENDERED], state[key])


def _retire_editor() -> None:
    """The draft changed outside the editor: draw a fresh editor from it, never re-fold the old edits."""
    state[inbox.STATE_GENERATION] += 1
    state[inbox.STATE_EDITOR_KEY] = None
    state[inbox.STATE_RENDERED] = []


def _bulk(decision: str) -> None:
    _fold()
    state[inbox.STATE_DRAFT] = inbox.apply_bulk(state[inbox.STATE_DRAFT], state[inbox.STATE_RENDERED], decision)
    _retire_editor()


def _recorded(thread_id: str) -> set[str]:
    return {entry.row_id for entry in console.audit(thread_id=thread_id)}


def _submit() -> None:
    _fold()
    reviewer = reviewer_name()
    if not reviewer:
        state[inbox.STATE_REPORT] = inbox.SubmitReport("warning", [GATE_WARNING])
        return
    rows = console.pending()
    draft = inbox.sync_draft(state[inbox.STATE_DRAFT], rows)
    plan = inbox.plan_batch(draft, [inbox.row_key(row) for row in rows], recorded=_recorded)
    dropped = inbox.report_dropped(plan.dropped, draft)
    for key in plan.dropped:
        draft.pop(key, None)
    if plan.errors:
        report = inbox.report_invalid(plan.errors, draft, shown=state[inbox.STATE_RENDERED])
    elif not plan.items:
        report = inbox.SubmitReport("info", ["Nothing to send: choose a decision on at least one row"])
    else:
        try:
            result = console.submit_batch(plan.items, reviewer).result()  # the whole batch, one call
        except (ValueError, StoreError) as exc:  # a bad reviewer name, a full or read-only database
            report = inbox.SubmitReport("error", [f"Nothing was sent: {exc}"])
        else:
            report = inbox.report_result(result, plan, draft)
            for key in report.done:
                draft.pop(key, None)
    report.lines.extend(dropped)
    state[inbox.STATE_DRAFT] = draft
    state[inbox.STATE_STATUS] = report.status
    state[inbox.STATE_REPORT] = report
    _retire_editor()


def _show_report(report: inbox.SubmitReport | None) -> None:
    if report is None or (report.lines == [GATE_WARNING] and reviewer_name()):
        return
    body = "  \n".join(md_escape(line) for line in report.lines)
    {"success": st.success, "warning": st.warning, "error": st.error}.get(report.level, st.info)(body)


COLUMN_CONFIG = {
    "thread": st.column_config.TextColumn("thread", width=75, help="Thread id (first 8 characters)"),
    "tool": st.column_config.TextColumn("tool", width=115),
    "arguments": st.column_config.TextColumn("arguments", width=170),
    "waiting": st.column_config.TextColumn("waiting", width=60, help="Time since the interrupt was raised"),
    "decision": st.column_config.SelectboxColumn(
        "decision", options=list(inbox.DECISIONS), required=False, width=85, help="Empty: stays pending"
    ),
    "edited arguments": st.column_config.TextColumn(
        "edited arguments",
        width=140,
        help="key=value, key=value or a JSON object; given keys replace the originals (implies edit)",
    ),
    "message": st.column_config.TextColumn("message", width=130, help="Sent with reject"),
    "status": st.column_config.TextColumn("status", width=140, help="Result of the last submit"),
}


@st.fragment(run_every=REFRESH_SECONDS)
def inbox_table() -> None:
    _fold()
    state[STATE_CHANGE_TOKEN] = console.change_token()  # taken before reading: a later change redraws again
    rows = console.pending()
    draft = inbox.sync_draft(state[inbox.STATE_DRAFT], rows)
    state[inbox.STATE_DRAFT] = draft

    # Options keep the current choice, so a filter survives its rows leaving the table.
    tools = sorted({inbox.tool_label(row) for row in rows} | set(state.get(inbox.TOOL_FILTER) or []))
    threads = list(dict.fromkeys([row.thread_id for row in rows] + list(state.get(inbox.THREAD_FILTER) or [])))
    left, right = st.columns(2)
    chosen_tools = left.multiselect("Tool", tools, key=inbox.TOOL_FILTER, placeholder="All tools")
    chosen_threads = right.multiselect(
        "Thread", threads, key=inbox.THREAD_FILTER, format_func=lambda t: t[:8], placeholder="All threads"
    )
    shown = inbox.filter_rows(rows, chosen_tools, chosen_threads)
    keys = [inbox.row_key(row) for row in shown]

    approve, reject, _ = st.columns([1, 1, 4])
    approve.button("Approve all shown", key="inbox_approve_all", on_click=_bulk, args=("approve",), disabled=not shown)
    reject.button("Reject all shown", key="inbox_reject_all", on_click=_bulk, args=("reject",), disabled=not shown)

    if shown:
        editor = inbox.editor_key(keys, state[inbox.STATE_GENERATION])
        st.data_editor(
            inbox.build_frame(shown, draft, state[inbox.STATE_STATUS], datetime.now(UTC)),
            key=editor,
            hide_index=True,
            num_rows="fixed",
            column_order=list(inbox.COLUMNS),
            column_config=COLUMN_CONFIG,
            disabled=list(inbox.READ_ONLY),
            placeholder="",
            alt="Pending interrupts",
        )
        state[inbox.STATE_EDITOR_KEY] = editor
        state[inbox.STATE_RENDERED] = keys
    else:
        st.info("No interrupts are waiting for review." if not rows else "No rows match the filters.")
        state[inbox.STATE_EDITOR_KEY] = None
        state[inbox.STATE_RENDERED] = []

    pending_keys = {inbox.row_key(row) for row in rows}
    decided = {key for key, entry in draft.items() if inbox.ready_count({key: entry})}
    notes = [
        plural(len(rows), "row") + " pending",
        f"{len(shown)} shown",
        f"{len(decided)} decided",
    ]
    hidden = len(decided & (pending_keys - set(keys)))
    if hidden:
        notes.append(f"{hidden} decided row(s) hidden by the filters are sent too")
    gone = len(decided - pending_keys)
    if gone:
        notes.append(f"{gone} decided row(s) are no longer pending: Submit reports who answered them")
    st.caption(" · ".join(notes))
    st.button("Submit decisions", key="inbox_submit", type="primary", on_click=_submit)
    _show_report(state[inbox.STATE_REPORT])
    _show_runs()


def _show_runs() -> None:
    """Runs on or cut short (recovery continues them), so a thread with nothing pending never looks stalled."""
    runs = [run for run in console.runs() if run.state != "running"]
    if runs:
        st.caption("Runs")
        for run in runs:
            line = md_escape(f"Thread {short_id(run.thread_id)}: {run.text}")
            (st.error if run.state == "failed" else st.info)(line, icon=":material/sync_problem:")


@st.fragment(run_every=WATCH_SECONDS)
def watch_changes() -> None:
    """Redraw the page when the store changed since the table was drawn; draws nothing itself.

    The token is cheap (a counter the LISTEN thread bumps on PostgreSQL, one index read on SQLite),
    so this runs every 0.2 s; the table itself is only re-read when something did change.
    """
    if console.change_token() != state.get(STATE_CHANGE_TOKEN):
        st.rerun(scope="app")


st.title("Inbox")
st.caption(
    "Every pending tool call of every thread. Choose approve, edit (type the new arguments) or reject (with a "
    "message) per row, then submit them together; rows left empty stay pending."
)
inbox_table()
if console.pushes_changes:  # SQLite keeps the table's own 1 s refresh: polling it 5x a second buys little
    watch_changes()
