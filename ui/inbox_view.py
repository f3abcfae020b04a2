"""The Inbox page's Streamlit parts: the table, the detail pane, the submit and its progress, the banner.

app.py composes them; the logic they call is plain Python (ui/inbox.py, ui/detail.py); the preview is
the picture the thread's graph draws (review/pictures.py, ui/picture.py).
One draft (`inbox.STATE_DRAFT`, keyed by row) is shared by the table and the pane: every change, from
either, goes through `set_draft`, which also keeps the reviewer's stored copy (`console.save_draft`)
in step, so a reload or a server restart loses no unsent decision.

A submit never waits for a resume in the click handler: `submit` validates and claims (one call to
the console; `send` takes out the rows the core refuses and sends the rest, unless "All or nothing"
is ticked), keeps the batch's handle in session state (`inbox.STATE_BATCH`) and returns; `live`,
a small fragment that runs every 0.2 s, shows the resumes' progress in `st.status` and reruns the
page when they are done, or, with no batch running, when the store's change token moved (a row
raised by another process, a run that ended): the table is drawn again only then.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import streamlit as st

from review import BatchResult, PendingInterrupt, ReviewConsole, StoreError
from review.identity import Reviewer
from review.pictures import proposed_call
from review.submit import BatchHandle
from review.threads import ThreadView
from ui import inbox, inbox_gate, keys
from ui.auth import current_reviewer
from ui.console import reviewer_name
from ui.detail import PANE_DECISIONS, arguments_json, edit_preview, history, pane_choice, row_option
from ui.format import (
    format_time,
    frozen_labels,
    md_escape,
    plural,
    short_id,
    show_controls,
    thread_label,
    unique_labels,
)
from ui.picture import show_picture
from ui.runs import EXAMPLES
from ui.sidebar import NEW_RUN

GATE_WARNING = "Enter your name in the sidebar before sending decisions"
LIVE_SECONDS = 0.2  # without serve.py's route: how often an open Inbox checks the store (one cheap query)
BUSY_SECONDS = 0.1  # while this session's batch resumes: how often its progress is looked at
BUSY_REDRAW_SECONDS = 1.0  # while a batch resumes, the table is redrawn at most this often
STATE_TOKEN = "inbox_token"  # the store's change token the page was last drawn at
STATE_DEMO = "inbox_demo_started"
PANE_PICK = "inbox_pane_pick"  # the pane's row picker (a widget key)
ALL_OR_NOTHING = "inbox_all_or_nothing"  # ticked: a batch with a refused row sends nothing (a widget key)
CONTRADICTED_SHOWN = 10  # decisions the graph contradicted, newest, listed under Runs (all on the Audit page)

COLUMN_CONFIG = {
    "tool": st.column_config.TextColumn("tool", width=110, pinned=True),
    "arguments": st.column_config.TextColumn("arguments", width=180, help="What the call does; in full in Details"),
    "thread": st.column_config.TextColumn(
        "thread", width=150, help="The thread's request (its short id first where two requests read the same)"
    ),
    "decision": st.column_config.SelectboxColumn(
        "decision", options=list(inbox.DECISIONS), required=False, width=82, help="Empty: stays pending"
    ),
    "message": st.column_config.TextColumn("message", width=120, help="Sent with reject"),
    "edited arguments": st.column_config.TextColumn(
        "edited arguments",
        width=132,
        help="key=value, key=value or a JSON object; given keys replace the originals (implies edit)",
    ),
    "status": st.column_config.TextColumn(
        "status",
        width=200,
        help="Why the decision cannot be sent, the last submit, a failed last attempt, or a running thread; "
        "full text in Details",
    ),
    "waiting": st.column_config.TextColumn("waiting", width=62, help="Time since the interrupt was raised"),
}


def group_columns(group: inbox.RowGroup) -> dict[str, Any]:
    """The column config of one group's editor: its decision column offers the group's decisions and no other;
    a group of questions calls its message column `answer`."""
    config = dict(COLUMN_CONFIG)
    config["decision"] = st.column_config.SelectboxColumn(
        "decision", options=list(group.decisions), required=False, width=82, help="Empty: stays pending"
    )
    if group.answers:
        config["message"] = st.column_config.TextColumn(
            "answer", width=160, help="The answer, sent with respond (a JSON value: in Details)"
        )
    return config


@dataclass
class InFlight:
    """A submitted batch whose resumes run in the console's worker (kept in session state)."""

    handle: BatchHandle
    plan: inbox.BatchPlan
    draft: inbox.Draft  # the entries sent, to name the rows in the banner
    labels: dict[str, str]
    retried: set[str] = field(default_factory=set)
    extra: list[str] = field(default_factory=list)  # lines for the banner (decisions not sent)
    refused: dict[str, str] = field(default_factory=dict)  # row key -> why it was not sent (it stays drafted)
    started: float = field(default_factory=time.monotonic)
    redrawn: float = field(default_factory=time.monotonic)


def init_state() -> None:
    """Give the Inbox's session keys their starting values (a rerun keeps what is there)."""
    state = st.session_state
    state.setdefault(inbox.STATE_DRAFT, {})
    state.setdefault(inbox.STATE_EDITORS, {})
    state.setdefault(inbox.STATE_RENDERED, [])
    state.setdefault(inbox.STATE_GENERATION, 0)
    state.setdefault(inbox.STATE_STATUS, {})
    state.setdefault(inbox.STATE_REPORT, None)
    state.setdefault(STATE_TOKEN, None)


# --- the draft --------------------------------------------------------------------------------


def set_draft(console: ReviewConsole, draft: inbox.Draft) -> list[str]:
    """Make `draft` the session's draft and write what changed to the reviewer's stored copy; the changed keys."""
    state = st.session_state
    before = state[inbox.STATE_DRAFT]
    changed = inbox.changed_keys(before, draft)
    state[inbox.STATE_DRAFT] = draft
    if changed:  # the last submit's word on a row was about the decision it sent: a changed one is checked afresh
        stale = set(changed)
        state[inbox.STATE_STATUS] = {k: v for k, v in state[inbox.STATE_STATUS].items() if k not in stale}
    reviewer = reviewer_name()
    if changed and reviewer and state.get(inbox.STATE_DRAFT_OWNER) == reviewer:
        # The stored copy is a convenience (a full disk must not stop a reviewer): the session keeps the draft.
        with contextlib.suppress(StoreError, ValueError):
            console.save_draft(reviewer, inbox.stored_changes(before, draft))
    return changed


def adopt_stored_draft(console: ReviewConsole) -> None:
    """Once per reviewer name and session: merge the decisions this reviewer left unsent, then keep them in step."""
    state = st.session_state
    reviewer = reviewer_name()
    if not reviewer or state.get(inbox.STATE_DRAFT_OWNER) == reviewer:
        return
    try:
        stored = console.draft(reviewer)
    except StoreError:
        return
    state[inbox.STATE_DRAFT_OWNER] = reviewer
    before = state[inbox.STATE_DRAFT]
    merged = inbox.merge_stored(before, stored)
    state[inbox.STATE_DRAFT] = merged
    mine = {key: entry for key, entry in merged.items() if inbox.has_intent(entry) and key not in stored}
    if mine:  # decided before the name was typed: stored from now on too
        with contextlib.suppress(StoreError, ValueError):
            console.save_draft(reviewer, dict(mine))
    if inbox.changed_keys(before, merged):
        retire_editor()


def fold(console: ReviewConsole) -> list[str]:
    """Take the rendered editors' positional edits into the draft; the keys it changed. The pane follows the row
    last edited."""
    state = st.session_state
    sheet = state.get(inbox.STATE_SHEET)
    rows = {inbox.row_key(row): row for row in sheet.rows} if isinstance(sheet, inbox.Sheet) else {}
    draft = state[inbox.STATE_DRAFT]
    for key, rendered in state[inbox.STATE_EDITORS].items():
        if key in state:
            draft = inbox.fold_edits(draft, rendered, state[key], rows)
    changed = set_draft(console, draft)
    shown = [k for k in changed if k in state[inbox.STATE_RENDERED]]
    if shown:
        state[PANE_PICK] = shown[-1]
    return changed


def retire_editor() -> None:
    """The draft changed outside the editors (the reviewer clicked something else): draw fresh editors from it,
    never re-fold the old edits, and take the live rows now (nobody is typing into the table)."""
    state = st.session_state
    state[inbox.STATE_GENERATION] += 1
    state[inbox.STATE_EDITORS] = {}
    state[inbox.STATE_RENDERED] = []
    state[inbox.STATE_ADOPT] = True


def take_rows(live: Sequence[PendingInterrupt], filters: tuple[Any, ...], *, edited: bool) -> inbox.Sheet:
    """The rows the table shows this run (`inbox.next_sheet`), kept in session state.

    Held when this run folded an edit (the reviewer is typing: the next cell may already be open), or when the
    browser's idle gate is alive and has not said that the reviewer paused; taken at once otherwise (a click
    elsewhere retired the editors, the filters changed, or no gate runs: AppTest, a browser still loading).
    """
    state = st.session_state
    adopt = bool(state.pop(inbox.STATE_ADOPT, False))
    hold = edited or (inbox_gate.alive() and not adopt)
    sheet = inbox.next_sheet(state.get(inbox.STATE_SHEET), live, filters, hold=hold)
    state[inbox.STATE_SHEET] = sheet
    if sheet.held:
        inbox_gate.held_again()
    return sheet


# --- what the rows need from the store ---------------------------------------------------------


def row_context(
    console: ReviewConsole,
    rows: Sequence[PendingInterrupt],
    now: datetime,
    also: Sequence[str] = (),
    *,
    check_drafts: bool = True,
) -> inbox.RowContext:
    """Thread names, failed last attempts and running threads for these rows (names also for threads `also`),
    and (`check_drafts`) why each drafted decision would be refused, asked of the core as the reviewer types.

    Threads chosen in the Thread filter are named too, rows or not: Streamlit keeps the filter's value as the
    option's text, so a chosen thread with no rows for a moment (its last row answered, its next one not raised
    yet) that lost its name would silently drop out of the filter, and its next rows out of the table.
    """
    chosen = st.session_state.get(inbox.THREAD_FILTER) or []
    thread_ids = list(dict.fromkeys([*(row.thread_id for row in rows), *also, *chosen]))
    infos = console.thread_infos(thread_ids)
    labels = unique_labels(
        {
            thread_id: thread_label(
                thread_id,
                infos[thread_id].request if thread_id in infos else None,
                infos[thread_id].started_at if thread_id in infos else None,
                now,
            )
            for thread_id in thread_ids
        }
    )
    failures = {f"{thread_id}:{row_id}": entry for (thread_id, row_id), entry in console.failures().items()}
    running = {run.thread_id for run in console.runs() if run.state in ("running", "continuing")}
    batch = st.session_state.get(inbox.STATE_BATCH)
    sending = set(batch.plan.keys) if isinstance(batch, InFlight) else set()
    names = frozen_labels(st.session_state.setdefault("inbox_thread_names", {}), labels)
    notes = {f"{t}:{r}": "; ".join(found) for (t, r), found in console.row_notes(rows).items()}
    reviewer = current_reviewer()
    refusals = {}
    offered = {}
    if reviewer is not None:
        for row in rows:
            reason = console.may_decide(reviewer, row)
            if reason and not row.blocked:
                refusals[inbox.row_key(row)] = reason
            elif not reason:  # the policy may take some decisions away (a tool's `decisions`): not offered then
                allowed = tuple(d for d in row.allowed_decisions if not console.policy.may_decide(reviewer, row, d))
                if allowed != tuple(row.allowed_decisions):
                    offered[inbox.row_key(row)] = allowed
    problems = draft_problems(console, rows, sending) if check_drafts else {}
    return inbox.RowContext(
        labels=labels,
        names=names,
        failures=failures,
        running=running,
        sending=sending,
        notes=notes,
        refusals=refusals,
        problems=problems,
        several_graphs=len(console.graphs) > 1,
        cells=inbox.thread_cells({t: infos[t].request if t in infos else None for t in thread_ids}),
        offered=offered,
    )


def decision_check(console: ReviewConsole) -> inbox.Check:
    """The core's validator for this session's reviewer (`ReviewConsole.check_decision`). Before anyone is named
    the policy is not asked: Submit asks for a name first."""
    reviewer = current_reviewer()

    def check(thread_id: str, row_id: str, raw: dict[str, Any]) -> str | None:
        return console.check_decision(thread_id, row_id, raw, reviewer)

    return check


def draft_problems(console: ReviewConsole, rows: Sequence[PendingInterrupt], sending: set[str]) -> dict[str, str]:
    """Row key -> why its drafted decision would be refused: what a submit now would say, before Submit."""
    draft = st.session_state.get(inbox.STATE_DRAFT) or {}
    keys_pending = [inbox.row_key(row) for row in rows]
    return inbox.plan_batch(draft, keys_pending, sending=sending, check=decision_check(console)).errors


# --- callbacks -----------------------------------------------------------------------------------


def bulk(console: ReviewConsole, decision: str) -> None:
    """Approve / reject every row shown that allows it, but those whose last attempt failed (retrying one is a
    choice); the note says how many were skipped and why."""
    fold(console)
    state = st.session_state
    failed = {f"{thread_id}:{row_id}" for thread_id, row_id in console.failures()}
    choice = inbox.bulk_choice(state.get(inbox.STATE_GROUPS) or [], decision, failed)
    set_draft(console, inbox.apply_bulk(state[inbox.STATE_DRAFT], choice.keys, decision))
    state["inbox_bulk_note"] = choice.note()
    retire_editor()


def submit(console: ReviewConsole) -> None:
    """Validate and claim the batch, start its resumes, and return: `live` follows them."""
    fold(console)
    state = st.session_state
    reviewer = reviewer_name()
    if not reviewer:
        state[inbox.STATE_REPORT] = inbox.SubmitReport("warning", [GATE_WARNING])
        return
    if isinstance(state.get(inbox.STATE_BATCH), InFlight):
        state[inbox.STATE_REPORT] = inbox.SubmitReport(
            "info", ["Nothing sent yet: the last batch is still being applied (see its progress)"]
        )
        return
    rows = console.pending()
    now = datetime.now(UTC)
    draft = inbox.sync_draft(state[inbox.STATE_DRAFT], rows)
    threads = [entry["thread_id"] for entry in draft.values()]
    context = row_context(console, rows, now, also=threads, check_drafts=False)  # the plan below checks the drafts

    def recorded(thread_id: str) -> set[str]:
        return {entry.row_id for entry in console.audit(thread_id=thread_id)}

    # The core's validator, as the table asked it, in the words a submit would give.
    plan = inbox.plan_batch(
        draft, [inbox.row_key(row) for row in rows], recorded=recorded, check=decision_check(console)
    )
    dropped = inbox.report_dropped(plan.dropped, draft, context.labels)
    for key in plan.dropped:
        draft.pop(key, None)
    all_or_nothing = bool(state.get(ALL_OR_NOTHING))
    report: inbox.SubmitReport | None
    if plan.errors and (all_or_nothing or not plan.items):
        report = inbox.report_invalid(plan.errors, draft, shown=state[inbox.STATE_RENDERED], labels=context.labels)
    elif not plan.items:
        report = inbox.SubmitReport("info", ["Nothing to send: choose a decision on at least one row"])
    else:
        try:
            # validate + claim; resumes start in the worker. The signed-in identity, else the typed (unverified) name.
            handle, sent, refused = send(console, plan, current_reviewer() or reviewer, all_or_nothing=all_or_nothing)
        except (ValueError, StoreError) as exc:  # a bad reviewer name, a full or read-only database
            report = inbox.SubmitReport("error", [f"Nothing was sent: {exc}"])
        else:
            state[inbox.STATE_BATCH] = InFlight(
                handle,
                sent,
                {key: draft[key] for key in [*sent.keys, *refused] if key in draft},
                context.labels,
                retried={key for key in sent.keys if key in context.failures},
                extra=dropped,
                refused=refused,
            )
            report = None
            dropped = []
    if report is not None:
        report.lines.extend(dropped)
        state[inbox.STATE_STATUS] = report.status
    state[inbox.STATE_REPORT] = report
    set_draft(console, draft)
    retire_editor()


def send(
    console: ReviewConsole, plan: inbox.BatchPlan, who: Reviewer | str, *, all_or_nothing: bool
) -> tuple[BatchHandle, inbox.BatchPlan, dict[str, str]]:
    """Hand the plan's valid rows to the console; the handle, the plan it sent, and the rows not sent (key -> why).

    The rows the table already refused are not in `plan.items`. The core checks every row again, and the batch
    as a whole (a batched request decided in part, a breakpoint's calls split): it refuses a batch whole, naming
    each bad row. Unless the reviewer asked for all or nothing, those rows are taken out and the rest is sent
    again, until the core takes it or nothing is left (each round takes one row out at least).
    """
    refused = {} if all_or_nothing else dict(plan.errors)
    while True:
        handle = console.submit_batch(plan.items, who)
        invalid = handle.result_so_far.invalid
        if not invalid or all_or_nothing:
            return handle, plan, refused
        bad = {f"{error.thread_id}:{error.row_id}": error.error for error in invalid}
        keys = {key for item, key in zip(plan.items, plan.keys, strict=True) if key in bad}
        refused.update({key: bad[key] for key in keys})
        rest = inbox.without(plan, keys)
        if not keys or not rest.items:  # the core named no row of ours, or refused every one: nothing sent
            return handle, plan, refused
        plan = rest


def finish_batch(console: ReviewConsole) -> bool:
    """If this session's batch has finished resuming, turn it into the banner and row statuses; True if it did."""
    state = st.session_state
    batch = state.get(inbox.STATE_BATCH)
    if not isinstance(batch, InFlight) or not batch.handle.done():
        return False
    result = batch.handle.result()
    report = inbox.report_result(
        result,
        batch.plan,
        batch.draft,
        batch.labels,
        retried=batch.retried,
        refused=batch.refused,
        decided=conflict_decisions(console, result),
    )
    report.lines.extend(batch.extra)
    draft = dict(state[inbox.STATE_DRAFT])
    for key in report.done:
        draft.pop(key, None)
    del state[inbox.STATE_BATCH]
    # No fresh editors here: the reviewer may be typing into the table while the batch resumed. The rows it
    # answered leave the table when the reviewer pauses; their edits were folded before they were sent.
    set_draft(console, draft)
    # The table may still show the rows it applied (held): they say so instead of "answered elsewhere".
    state[inbox.STATE_STATUS] = {**dict.fromkeys(report.done, "applied"), **report.status}
    state[inbox.STATE_REPORT] = report
    return True


def conflict_decisions(console: ReviewConsole, result: BatchResult) -> dict[tuple[str, str], str]:
    """What the reviewer who decided first decided, for each conflict of the batch ((thread, row) -> words)."""
    decided: dict[tuple[str, str], str] = {}
    for thread_id in {conflict.thread_id for conflict in result.conflicts}:
        holders = {(c.row_id, c.reviewer) for c in result.conflicts if c.thread_id == thread_id}
        for entry in console.audit(thread_id=thread_id):
            if (entry.row_id, entry.reviewer) in holders and entry.status in ("claimed", "applied"):
                decided.setdefault((thread_id, entry.row_id), inbox.decided_text(entry))
    return decided


def start_demo(console: ReviewConsole) -> None:
    """Start the demo's example runs as whoever is here: the policy's `starters` decide (never a viewer)."""
    starter = current_reviewer() or Reviewer.anonymous()
    started = []
    for prompt in EXAMPLES.values():
        try:
            started.append(console.start_run(prompt, reviewer=starter).thread_id)
        except ValueError as exc:
            st.session_state[STATE_DEMO] = f"Nothing started: {exc}"
            return
    st.session_state[STATE_DEMO] = (
        f"Started {plural(len(started), 'demo run')}: their tool calls appear here in a moment."
    )


# --- drawing -------------------------------------------------------------------------------------


def filters(rows: Sequence[PendingInterrupt], context: inbox.RowContext) -> list[PendingInterrupt]:
    """The Tool, Thread and State filters; the rows they leave."""
    state = st.session_state
    # Options keep the current choice, so a filter survives its rows leaving the table.
    tools = sorted({inbox.tool_label(row, context) for row in rows} | set(state.get(inbox.TOOL_FILTER) or []))
    threads = list(dict.fromkeys([row.thread_id for row in rows] + list(state.get(inbox.THREAD_FILTER) or [])))
    tool_column, thread_column, state_column = st.columns([2, 3, 2])
    chosen_tools = tool_column.multiselect("Tool", tools, key=inbox.TOOL_FILTER, placeholder="All tools")
    chosen_threads = thread_column.multiselect(
        "Thread",
        threads,
        key=inbox.THREAD_FILTER,
        format_func=context.name,
        placeholder="All threads",
        help="Threads by their request and age",
    )
    chosen_states = state_column.multiselect(
        "State", list(inbox.ROW_STATES), key=inbox.STATE_FILTER, placeholder="Any state"
    )
    return inbox.filter_rows(rows, chosen_tools, chosen_threads, chosen_states, context)


def filter_values() -> tuple[Any, ...]:
    """What the filters chose (a change of them is the reviewer's click: the table takes the live rows)."""
    state = st.session_state
    return tuple(tuple(state.get(key) or ()) for key in (inbox.TOOL_FILTER, inbox.THREAD_FILTER, inbox.STATE_FILTER))


def bulk_buttons(console: ReviewConsole, *, enabled: bool) -> None:
    """Approve / Reject all shown, side by side, full labels, with their shortcuts."""
    with st.container(horizontal=True):
        for label, decision, icon, shortcut in (
            ("Approve all shown", "approve", ":material/done_all:", keys.APPROVE_ALL),
            ("Reject all shown", "reject", ":material/block:", keys.REJECT_ALL),
        ):
            st.button(
                label,
                key=f"inbox_{decision}_all",
                icon=icon,
                on_click=bulk,
                args=(console, decision),
                disabled=not enabled,
                shortcut=shortcut,
                help=keys.with_key(
                    f"{decision.capitalize()} every row the filters show that allows it (rows whose last attempt "
                    "failed excepted); says how many were skipped",
                    shortcut,
                ),
            )


def table(sheet: inbox.Sheet, draft: inbox.Draft, context: inbox.RowContext, now: datetime) -> None:
    """The rows as editable tables, one per set of decisions the rows offer (`inbox.group_rows`): a row's decision
    cell offers only what the row allows. Each row's decision, edit and message come from the draft."""
    state = st.session_state
    status = {**{key: inbox.GONE for key in sheet.gone}, **state[inbox.STATE_STATUS]}
    groups = inbox.group_rows(sheet.rows, context)
    editors: dict[str, list[str]] = {}
    for group in groups:
        keys_shown = group.keys
        st.caption(md_escape(group.title))
        frame = inbox.build_frame(group.rows, draft, status, now, context)
        height = min(36 + 35 * max(len(group.rows), 1), 36 + 35 * 10)
        if not group.decisions:  # nothing to decide here: a plain table, no editor
            st.dataframe(frame, hide_index=True, column_order=group.columns, column_config=COLUMN_CONFIG, height=height)
            continue
        editor = inbox.editor_key(keys_shown, state[inbox.STATE_GENERATION])
        st.data_editor(
            frame,
            key=editor,
            hide_index=True,
            num_rows="fixed",
            column_order=group.columns,
            column_config=group_columns(group),
            disabled=list(inbox.READ_ONLY),
            placeholder="",
            alt=group.title,
            height=height,
        )
        editors[editor] = keys_shown
    state[inbox.STATE_EDITORS] = editors
    state[inbox.STATE_RENDERED] = [key for group in groups for key in group.keys]
    state[inbox.STATE_GROUPS] = groups


REFUSED_SHOWN = 5  # refused rows named under the tables (the others: their status cell, and Submit)


def refused_rows(rows: Sequence[PendingInterrupt], draft: inbox.Draft, context: inbox.RowContext) -> None:
    """The shown rows whose drafted decision would be refused, named with the core's reason, right under the
    tables: visible at once, whatever the width (the status cell may be scrolled out of view)."""
    lines = []
    for row in rows:
        key = inbox.row_key(row)
        entry = draft.get(key)
        problem = inbox.row_problem(key, entry, context) if entry is not None else None
        if problem is not None and entry is not None:
            lines.append(f"{inbox.row_text(entry, context.labels)}: {problem}")
    if not lines:
        return
    more = len(lines) - REFUSED_SHOWN
    shown = [f"{plural(len(lines), 'row')} cannot be sent as decided:", *lines[:REFUSED_SHOWN]]
    if more > 0:
        shown.append(f"… and {more} more: see their status")
    st.warning("  \n".join(md_escape(line) for line in shown), icon=":material/block:")


def sendable(draft: inbox.Draft, decided: set[str], context: inbox.RowContext) -> int:
    """Decided rows a submit now would send: those the checks do not refuse (with all or nothing ticked, none
    when one is refused)."""
    refused = {key for key in decided if key in draft and inbox.row_problem(key, draft[key], context)}
    if refused and st.session_state.get(ALL_OR_NOTHING):
        return 0
    return len(decided - refused)


def submit_controls(console: ReviewConsole, *, sendable: int) -> None:
    """Submit decisions (the primary button only when there is something to send) and the all-or-nothing choice."""
    with st.container(horizontal=True, vertical_alignment="center"):
        st.button(
            "Submit decisions",
            key="inbox_submit",
            type="primary" if sendable else "secondary",
            icon=":material/send:",
            on_click=submit,
            args=(console,),
            help=keys.with_key(
                "Send every decided row, of every thread, as one batch; a refused row stays in your draft with "
                "its reason, the others are sent",
                keys.SUBMIT,
            ),
        )
        st.checkbox(
            "All or nothing",
            key=ALL_OR_NOTHING,
            help="Send nothing if any decided row is refused (unticked: the valid rows are sent, the refused ones "
            "stay in your draft with their reason)",
        )
    keys.press_to_click("Submit decisions")  # its key, so that its accessible name is exactly its label


def progress() -> None:
    """While this session's batch resumes: how far it got, in `st.status`."""
    batch = st.session_state.get(inbox.STATE_BATCH)
    if not isinstance(batch, InFlight):
        return
    jobs = batch.handle.jobs
    done = sum(1 for job in jobs if job.done())
    seconds = time.monotonic() - batch.started
    label = f"Applying {plural(len(batch.plan.items), 'decision')}: {done} of {plural(len(jobs), 'thread')} resumed"
    with st.status(f"{label} ({seconds:.0f} s)", state="running", expanded=True):
        recent = sorted((event for job in jobs for event in job.events()[-2:]), key=lambda e: e.at)[-4:]
        for event in recent:
            st.text(f"{event.node}: {event.text}")


def look(console: ReviewConsole) -> None:
    """One look (from a timed fragment): follow this session's batch, else compare the store's change token;
    the page is drawn again only when the batch ended or the token moved."""
    state = st.session_state
    batch = state.get(inbox.STATE_BATCH)
    if isinstance(batch, InFlight):
        if batch.handle.done():
            st.rerun()  # the page turns it into the banner
        progress()
        now = time.monotonic()
        if now - batch.redrawn >= BUSY_REDRAW_SECONDS and console.inbox_token() != state[STATE_TOKEN]:
            batch.redrawn = now
            st.rerun()  # the table shows rows leaving while the batch resumes
        return
    if console.inbox_token() != state[STATE_TOKEN]:
        st.rerun()


def report_banner(report: inbox.SubmitReport | None) -> None:
    """The last submit's banner: the total line first, the lines worth reading, per-thread details folded."""
    if report is None or (report.lines == [GATE_WARNING] and reviewer_name()):
        return
    body = "  \n".join(md_escape(line) for line in report.lines)
    {"success": st.success, "warning": st.warning, "error": st.error}.get(report.level, st.info)(body)
    if report.details:
        with st.expander(f"Per thread ({len(report.details)})"):
            st.text("\n".join(report.details))


def empty_inbox(console: ReviewConsole, has_rows: bool) -> None:
    """What an Inbox with nothing to show says: the filters hide every row, or nothing waits (and how to start)."""
    if has_rows:
        st.info("No rows match the filters.")
        return
    st.info("No interrupts are waiting for review.")
    demo, own = st.columns([2, 3])
    demo.button(
        "Start the demo scenarios",
        key="inbox_demo",
        icon=":material/rocket_launch:",
        on_click=start_demo,
        args=(console,),
        help="Three runs of the demo agent: three parallel shapes, a 'then' sequence, and clear_canvas's two questions",
    )
    with own:
        st.page_link(NEW_RUN, label="Or start a run of your own", icon=":material/play_circle:")
    note = st.session_state.get(STATE_DEMO)
    if note:
        st.caption(md_escape(note))


def runs(console: ReviewConsole, labels: dict[str, str]) -> None:
    """Runs on or cut short (recovery continues them), so a thread with nothing pending never looks stalled;
    and, like failed runs, the newest applied decisions the graph contradicted (its checkpoint shows it did
    otherwise: review/verify.py), whose rows are no longer pending."""
    shown = [run for run in console.runs() if run.state != "running"]
    contradicted = [entry for entry in console.failures().values() if entry.contradicted]
    if shown or contradicted:
        st.caption("Runs")
        for run in shown:
            line = md_escape(f"{labels.get(run.thread_id) or 'Thread ' + short_id(run.thread_id)}: {run.text}")
            (st.error if run.state == "failed" else st.info)(line, icon=":material/sync_problem:")
        for entry in contradicted[-CONTRADICTED_SHOWN:]:
            label = labels.get(entry.thread_id) or "Thread " + short_id(entry.thread_id)
            st.error(md_escape(inbox.contradiction_text(entry, label)), icon=":material/gpp_bad:")
        if len(contradicted) > CONTRADICTED_SHOWN:
            st.caption(f"{len(contradicted) - CONTRADICTED_SHOWN} older contradicted decisions: see the Audit page")


# --- the detail pane -----------------------------------------------------------------------------


def _version(key: str, entry: dict[str, Any]) -> str:
    """The pane's widgets are keyed by the row AND its draft entry: a change made in the table gives new
    widgets, drawn from the draft, instead of widgets whose browser-side value would overwrite it."""
    text = json.dumps(
        [key, entry.get("decision"), entry.get("edited") or "", entry.get("message") or "", bool(entry.get("json"))]
    )
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def _pane_changed(console: ReviewConsole, key: str, allowed: Sequence[str], version: str) -> None:
    """A decision made in the pane: into the same draft entry the table shows."""
    fold(console)
    state = st.session_state
    draft = {k: dict(v) for k, v in state[inbox.STATE_DRAFT].items()}
    if key not in draft:
        return
    choice = state.get(f"pane_decision_{version}")
    entry = draft[key]
    entry["decision"] = choice if choice in allowed and choice != "undecided" else None
    edited_key, message_key = f"pane_edited_{version}", f"pane_message_{version}"
    edited = str(state[edited_key] or "") if edited_key in state else str(entry.get("edited") or "")
    message = str(state[message_key] or "") if message_key in state else str(entry.get("message") or "")
    entry["edited"] = edited if entry["decision"] in (None, "edit") else ""
    entry["message"] = message if entry["decision"] in (None, "reject", "respond") else ""
    entry["json"] = bool(state.get(f"pane_json_{version}")) and entry["decision"] == "respond"
    set_draft(console, draft)
    retire_editor()


def _retry(console: ReviewConsole, key: str, failure: Any) -> None:
    fold(console)
    draft = {k: dict(v) for k, v in st.session_state[inbox.STATE_DRAFT].items()}
    if key in draft:
        draft[key] = inbox.retry_entry(draft[key], failure)
        set_draft(console, draft)
        retire_editor()


def _step(keys_shown: Sequence[str], by: int) -> None:
    state = st.session_state
    current = state.get(PANE_PICK)
    index = keys_shown.index(current) if current in keys_shown else 0
    state[PANE_PICK] = keys_shown[max(0, min(len(keys_shown) - 1, index + by))]


def detail_pane(
    console: ReviewConsole,
    rows: Sequence[PendingInterrupt],
    shown: Sequence[PendingInterrupt],
    draft: inbox.Draft,
    context: inbox.RowContext,
) -> None:
    """Context before a decision: request, history, description, JSON arguments, the edit's diff, the preview."""
    state = st.session_state
    by_key = {inbox.row_key(row): row for row in shown}
    keys_shown = list(by_key)
    if state.get(PANE_PICK) not in by_key:
        state[PANE_PICK] = keys_shown[0]
    st.subheader("Details", anchor=False)
    st.selectbox(
        "Row",
        keys_shown,
        key=PANE_PICK,
        format_func=lambda k: row_option(by_key[k], context.name(by_key[k].thread_id)),
        help="The row the details are about; editing a row in the table shows it here",
    )
    with st.container(horizontal=True):
        st.button(
            "Previous row",
            key="pane_previous",
            icon=":material/arrow_upward:",
            on_click=_step,
            args=(keys_shown, -1),
            shortcut=keys.PREVIOUS_ROW,
            help=keys.with_key("Details of the row above", keys.PREVIOUS_ROW),
        )
        st.button(
            "Next row",
            key="pane_next",
            icon=":material/arrow_downward:",
            on_click=_step,
            args=(keys_shown, 1),
            shortcut=keys.NEXT_ROW,
            help=keys.with_key("Details of the row below", keys.NEXT_ROW),
        )
    key = state[PANE_PICK]
    row = by_key[key]
    entry = draft.get(key) or inbox.new_entry(row)
    view = console.thread(row.thread_id, timeline=False)
    with st.container(border=True):
        st.markdown(
            f"**{md_escape(inbox.row_name(row))}** in «{md_escape(context.label(row.thread_id))}»",
            help=md_escape(f"Thread {row.thread_id}, interrupt {row.interrupt_id}"),
        )
        failure = context.failures.get(key)
        if failure is not None:
            st.error(
                md_escape(
                    f"Last attempt failed: {failure.error or 'unknown error'} — {failure.decision} by "
                    f"{failure.reviewer} at {format_time(failure.decided_at)}. Deciding again retries it."
                ),
                icon=":material/error:",
            )
            st.button(
                "Retry the same decision",
                key=f"pane_retry_{_version(key, entry)}",
                icon=":material/replay:",
                on_click=_retry,
                args=(console, key, failure),
            )
        left, right = st.columns([3, 2])
        with left:
            request = view.messages[0].content if view.messages and view.messages[0].type == "human" else ""
            st.caption("Request")
            st.text(show_controls(request) or "(no request message)")
            lines = history(view.messages)
            if lines:
                st.caption("History")
                st.text(show_controls("\n".join(lines)))
            st.caption("What it does")
            st.text(show_controls(row.description) or "(no description)")
            edit = edit_preview(row, entry.get("edited") or "")
            if edit is not None:
                st.caption("Edit: arguments now → sent")
                if edit.error:
                    st.warning(md_escape(edit.error))
                else:
                    st.code(edit.diff, language="diff")
            st.caption("Arguments")
            st.code(show_controls(arguments_json(row.args)), language="json")
        with right:
            _pane_preview(console, view, rows, draft, context, row.thread_id)
            problem = inbox.row_problem(key, entry, context)  # the status cell's, in full, beside the decision
            if problem is not None and (edit is None or problem != edit.error):  # a bad edit's is said once
                st.warning(md_escape(f"Cannot be sent: {problem}"), icon=":material/block:")
            _pane_decision(console, key, row, entry)


def _pane_preview(
    console: ReviewConsole,
    view: ThreadView,
    rows: Sequence[PendingInterrupt],
    draft: inbox.Draft,
    context: inbox.RowContext,
    thread_id: str,
) -> None:
    """The thread as its graph draws it if the draft's decisions were applied (nothing when it draws none)."""
    proposed: list[dict[str, Any]] = []
    for row in rows:
        if row.thread_id != thread_id:
            continue
        key = inbox.row_key(row)
        try:
            decision = inbox.decision_of(draft.get(key) or inbox.new_entry(row))
        except ValueError:  # a draft that does not parse yet proposes nothing
            decision = None
        if key in context.problems:  # nor one the core refuses (an approve with a message is no approve)
            decision = None
        proposed.append(proposed_call(row, decision))
    picture = console.graphs.picture(view.graph_id, view.values, proposed)
    if picture is not None:
        show_picture(picture, headings=False)


def _pane_decision(console: ReviewConsole, key: str, row: PendingInterrupt, entry: dict[str, Any]) -> None:
    """The decision, in a form: its values reach the draft only when the reviewer saves them (a widget that
    changed the draft on every edit would fight the table, whose edits the pane must show)."""
    allowed = ["undecided", *[d for d in PANE_DECISIONS[1:] if d in row.allowed_decisions]]
    if len(allowed) == 1:
        st.caption("This interrupt cannot be decided from the console.")
        return
    choice = pane_choice(entry)
    version = _version(key, entry)  # a new form whenever the entry changed, drawn from the draft
    with st.form(f"pane_form_{version}", border=False, enter_to_submit=True):
        st.radio(
            "Decision",
            allowed,
            index=allowed.index(choice) if choice in allowed else 0,
            key=f"pane_decision_{version}",
            horizontal=True,
        )
        if "edit" in allowed:
            st.text_input(
                "Edited arguments",
                value=entry.get("edited") or "",
                key=f"pane_edited_{version}",
                placeholder="color=yellow",
                help="key=value pairs or a JSON object; given keys replace the originals (implies edit)",
            )
        if "reject" in allowed:
            st.text_input("Message (with reject)", value=entry.get("message") or "", key=f"pane_message_{version}")
        elif "respond" in allowed:
            st.text_area(
                "Answer (with respond)",
                value=entry.get("message") or "",
                key=f"pane_message_{version}",
                height=100,
                placeholder='text, or a JSON value such as false, 42 or {"approved": true}',
            )
        if row.payload_kind == "question" and row.answer_schema is None:
            st.checkbox(
                "Send the answer as a JSON value",
                value=bool(entry.get("json")),
                key=f"pane_json_{version}",
                help="false, 42, [1, 2] or an object, sent as that value; unticked, the answer is sent as text",
            )
        elif row.payload_kind == "question":  # the schema says the type: typed text is read as JSON unless text
            with st.expander("The answer must match this schema"):
                st.code(json.dumps(row.answer_schema, indent=2, ensure_ascii=False), language="json")
        st.form_submit_button(
            "Use this decision",
            icon=":material/check:",
            on_click=_pane_changed,
            args=(console, key, allowed, version),
            help="Puts the decision in the draft (and the table); Submit decisions sends it",
        )
