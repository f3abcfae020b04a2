"""The focused review card: one row and everything needed to decide it, with only the decisions it allows.

The card shows the row the reviewer is on: a click on a row of a table (the row under the pointer,
reported by ui/row_focus.py), Previous / Next, or a link `/?row=<row_id>` (a notification's,
the Thread page's); the URL then names the row shown, so a reload or a shared link opens the same card.

It shows the thread's request and history, the description as markdown, the arguments as fields typed from the
tool's JSON schema (ui/detail.py), a button per decision the row allows, a message with reject, an answer input
that fits the answer's type, what an edit changes argument by argument, the core's refusal as the reviewer
types, and the picture the thread's graph draws of the decisions (the demo's canvas).

Its widgets write the same draft as the table on every committed change (`_changed`): a decision is never half
in the card and half in the table. They are keyed by the row, not by the draft, so what the reviewer is typing
survives the page's reruns (a row raised elsewhere, a tick of the ages); when the row's draft entry changed
elsewhere (a cell of the table, a bulk button, a reload of the stored draft), its values are written into the
widgets before they are drawn (`_sync`). What may be sent is the core's to say (`RowContext.problems`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import streamlit as st

from review import PendingInterrupt, ReviewConsole
from review.notify import LinkRefused
from review.pictures import proposed_call
from review.threads import ThreadView
from ui import detail, drafts, inbox, keys, schema_form
from ui.auth import current_reviewer
from ui.format import format_time, md_escape, show_controls
from ui.picture import show_picture
from ui.schema_form import FieldSpec
from ui.sidebar import THREAD

CARD_ROW = inbox.STATE_CARD
CARD_SYNCED = "inbox_card_synced"  # row key -> the draft entry's version its widgets were last given
CARD_DRAWN = "inbox_card_drawn"  # the row key of the card drawn last
CARD_ROUND = "inbox_card_round"  # row key -> bumped when the entry changed outside the card: new widgets from it
CARD_REDRAW = "inbox_card_redraw"  # row keys whose widgets are drawn anew once this run's callbacks are done
CARD_BAD = "inbox_card_bad"  # row key -> {field: why its typed text is not in the draft yet}
CARD_LINK = "inbox_card_link"  # set once the Inbox's `?row=` was followed on this visit (ui/sidebar.py resets it)
ROW_PARAM = "row"
ACTION_PARAM = "action"  # a notification's signed action link: `/?row=<row_id>&action=<token>` (review/notify)
CARD_ACTION = "inbox_card_action"  # {"row_id", "token"} of the link the card was opened with, until used
CARD_ACTION_NOTE = "inbox_card_action_note"  # why the link was refused, or what confirming it did
CLEAR = "clear"  # the Clear button's "decision": none, the row stays pending
# The card is drawn in a fragment of its own (app.py), so its widgets rerun only the card. One that changed the
# draft or sent a batch sets this: the next run of the card reruns the whole page instead (`rerun_page_if_asked`).
TABLES_STALE = "inbox_card_tables_stale"


def widget_key(key: str, name: str, round_: int | None = None) -> str:
    """A card widget's key: the row's, its round's (`CARD_ROUND`: stable while only the card changes the entry;
    the current one unless given) and the field's."""
    base = f"card_{hashlib.sha1(key.encode()).hexdigest()[:12]}"
    round_ = _round(key) if round_ is None else round_
    return f"{base}_{name}" if not round_ else f"{base}_r{round_}_{name}"


def _round(key: str) -> int:
    return int((st.session_state.get(CARD_ROUND) or {}).get(key, 0))


def entry_version(entry: dict[str, Any]) -> str:
    """What the card's widgets show of a draft entry, as one value: a change means new values to show."""
    return json.dumps(
        [entry.get("decision"), entry.get("edited") or "", entry.get("message") or "", bool(entry.get("json"))]
    )


# --- which row ----------------------------------------------------------------------------------------------


def follow_link(rows: Sequence[PendingInterrupt]) -> str | None:
    """Open the card of the row a `?row=` link names, once per link (`&thread=` picks among rows of several
    threads with that id); one line when it names no pending row. A notification's `&action=<token>` is kept for
    the card, which asks the reviewer to confirm (a link never acts by itself)."""
    state = st.session_state
    if CARD_LINK in state:
        # Followed already on this visit of the Inbox (or a row was picked since): the URL now names the card shown.
        # A rerun the browser sent before it saw the URL change brings the old URL back; that is no new link.
        return None
    wanted = st.query_params.get(ROW_PARAM)
    state[CARD_LINK] = wanted or ""
    if not wanted:
        return None
    token = st.query_params.get(ACTION_PARAM)
    if token:
        state[CARD_ACTION] = {"row_id": wanted, "token": token}
        del st.query_params[ACTION_PARAM]  # a reload, a shared URL: the card, not the action again
    thread = st.query_params.get("thread")
    found = [row for row in rows if row.row_id == wanted and (not thread or row.thread_id == thread)]
    if not found:
        return f"The linked row {wanted[:40]} is not pending: it was decided, or its run moved on (see the Audit page)."
    state[CARD_ROW] = inbox.row_key(found[0])
    return None


def pick(key: str, row: PendingInterrupt | None = None) -> None:
    """Show `key`'s card (and name its row in the URL, so a reload opens it again)."""
    st.session_state[CARD_ROW] = key
    if row is not None:
        st.query_params[ROW_PARAM] = row.row_id
        st.session_state[CARD_LINK] = row.row_id


def _step(by_key: dict[str, PendingInterrupt], by: int) -> None:
    keys_shown = list(by_key)
    current = st.session_state.get(CARD_ROW)
    index = keys_shown.index(current) if current in keys_shown else 0
    key = keys_shown[max(0, min(len(keys_shown) - 1, index + by))]
    pick(key, by_key[key])


# --- the draft ----------------------------------------------------------------------------------------------


def _sync(key: str, row: PendingInterrupt, entry: dict[str, Any], fields: Sequence[FieldSpec]) -> None:
    """Give the card's widgets the draft entry's values when it changed since they were given them (or they are
    new: a card shown again)."""
    state = st.session_state
    synced = state.setdefault(CARD_SYNCED, {})
    version = entry_version(entry)
    probe = widget_key(key, "message")
    # Every widget this card draws must hold a value: a field drawn for the first time since the last sync (the
    # row was read-only a moment ago, the reviewer not named yet) starts from the draft, never empty.
    needed = [probe, *(schema_form.widget_key(widget_key(key, "arg"), spec.name) for spec in fields)]
    # A card shown again after another row's: its widgets were not drawn meanwhile, and Streamlit may keep their
    # keys in the session state yet draw them empty; new widgets (a new round) from the draft, always.
    again = state.get(CARD_DRAWN) != key
    state[CARD_DRAWN] = key
    if synced.get(key) == version and not again and all(name in state for name in needed):
        return
    if key in synced and (synced[key] != version or again) and probe in state:
        # The entry changed outside the card (a cell of the table, a bulk button) while its widgets are on the
        # page: new widgets (a new round) start from it. Values written into the drawn ones would race the browser,
        # which may report the old ones from a rerun it sent before it drew the new (Streamlit then fires their
        # on_change by itself, and the old value would overwrite the table's); the old round's callbacks are ignored.
        _new_round(key)
        probe = widget_key(key, "message")
    synced[key] = version
    state.setdefault(CARD_BAD, {}).pop(key, None)
    view = detail.edit_view(row, entry.get("edited") or "")
    for spec in fields:
        state[schema_form.widget_key(widget_key(key, "arg"), spec.name)] = schema_form.initial(
            spec, view.args.get(spec.name)
        )
    state[probe] = entry.get("message") or ""
    if row.payload_kind == "question":
        _sync_answer(key, row, entry)


def _sync_answer(key: str, row: PendingInterrupt, entry: dict[str, Any]) -> None:
    state = st.session_state
    mode = detail.answer_mode(row.answer_schema)
    value = detail.answer_value(entry) if entry.get("json") or mode not in ("text", "free") else None
    if mode == "free":
        mode = detail.FREE_MODES[detail.free_mode(entry)]
        state[widget_key(key, "answer_as")] = detail.free_mode(entry)
    if mode == "boolean":
        state[widget_key(key, "answer")] = None if value is None else ("yes" if value else "no")
    elif mode in ("number", "integer"):
        state[widget_key(key, "answer")] = value if isinstance(value, int | float) else None
    elif mode == "enum":
        options = (row.answer_schema or {}).get("enum") or []
        raw = entry.get("message") or ""
        state[widget_key(key, "answer")] = next((o for o in options if o in (value, raw)), None)
    elif mode == "object":
        for spec in schema_form.fields(row.answer_schema):
            got = value.get(spec.name) if isinstance(value, dict) else None
            state[schema_form.widget_key(widget_key(key, "answer"), spec.name)] = schema_form.initial(spec, got)
    state[widget_key(key, "answer_text")] = entry.get("message") or ""


def _field_values(
    fields: Sequence[FieldSpec], prefix: str, fallback: dict[str, Any] | None = None
) -> tuple[dict[str, Any], str | None]:
    """The fields' values as an object (ui/schema_form.py's parse), or why they cannot make one. A field with no
    widget value (not drawn in the last run) counts with its `fallback` value, never as empty."""
    state = st.session_state
    raw = {
        spec.name: state[name] if name in state else schema_form.initial(spec, (fallback or {}).get(spec.name))
        for spec in fields
        for name in [schema_form.widget_key(prefix, spec.name)]
    }
    try:
        return schema_form.parse(fields, raw), None
    except schema_form.FormError as exc:
        return {}, str(exc)


def _answer(key: str, row: PendingInterrupt) -> tuple[str, bool]:
    """The answer the card's inputs give: (text for the draft, whether it is a JSON value)."""
    state = st.session_state
    mode = detail.answer_mode(row.answer_schema)
    if mode == "free":
        mode = detail.FREE_MODES[state.get(widget_key(key, "answer_as")) or "text"]
        if mode == "text":
            return str(state.get(widget_key(key, "answer_text")) or ""), False
    got = state.get(widget_key(key, "answer"))
    if mode == "boolean":
        return ("" if got is None else ("true" if got == "yes" else "false")), True
    if mode in ("number", "integer"):
        return detail.answer_text(got), True
    if mode == "enum":
        if got is None:
            return "", False
        return (got, False) if isinstance(got, str) else (json.dumps(got), True)
    if mode == "object":
        values, _bad = _field_values(schema_form.fields(row.answer_schema), widget_key(key, "answer"))
        return (json.dumps(values, ensure_ascii=False) if values else ""), True
    text = str(state.get(widget_key(key, "answer_text")) or "")
    return text, mode == "json"


ARGS, MESSAGE, ANSWER = "args", "message", "answer"  # the parts of a card whose widgets change a draft entry


def _changed(
    console: ReviewConsole,
    key: str,
    row: PendingInterrupt,
    decision: str | None = None,
    part: str | None = None,
    round_: int | None = None,
    name: str | None = None,
) -> None:
    """A decision button (`decision`), or one widget of the card (`part`: the argument `name`, the message, the
    answer): that one change into the row's draft entry (the table shows it).

    Only the widget that changed is read. A redraw can make the browser report a widget's value as it was before
    the draft gave it a new one (Streamlit fires its on_change by itself); a stale value of another field must never
    land in the draft, so a button never reads the fields (each field's own change came first), and a widget of an
    older round is ignored. A field's change counts even when the card moved on in the same rerun: the text typed
    before a click on Next is committed by that very click, and the two may come in one request, Next's first."""
    state = st.session_state
    if part is not None and round_ != _round(key):
        return  # a widget of an older round: never the reviewer's change now
    drafts.fold(console)
    draft = {k: dict(v) for k, v in state[inbox.STATE_DRAFT].items()}
    entry = draft.get(key) or inbox.new_entry(row)
    if part == ANSWER and name == "answer_as":
        return  # the kind of answer only changes which input is shown; that input's change writes the answer
    if part == ARGS and name is not None:
        if not _argument_changed(console, key, row, entry, name):
            return
    elif part in (MESSAGE, ANSWER):
        message, as_json = (
            (str(state.get(widget_key(key, "message")) or ""), False) if part == MESSAGE else _answer(key, row)
        )
        if not message.strip() and str(entry.get("message") or "").strip():
            _redraw(key)  # a widget drawn anew that reports itself empty: the draft's text stays, shown again
            return
        entry["message"] = message
        if part == ANSWER:
            entry["json"] = as_json
    if decision is not None:  # a button: that decision (Clear: none, the row stays pending)
        entry["decision"] = None if decision == CLEAR else decision
    elif part in (MESSAGE, ANSWER) and entry.get("decision") is None and str(entry.get("message") or "").strip():
        # An answer, or a rejection's message, typed with no decision chosen: the decision it is typed for.
        wants = [d for d in ("respond", "reject") if d in row.allowed_decisions]
        if len(wants) == 1 and (wants[0] == "respond") == (row.payload_kind == "question"):
            entry["decision"] = wants[0]
    draft[key] = entry
    state.setdefault(CARD_SYNCED, {})[key] = entry_version(entry)  # the widgets hold these values already
    if drafts.set_draft(console, draft):  # the table shows it: new editors, drawn from the draft
        drafts.retire_editor()
        state[TABLES_STALE] = True


def _redraw(key: str) -> None:
    """Draw the card's widgets anew from the draft in this run (a new round: the old ones' later reports ignored).

    The new round starts after the run's callbacks (`start_asked_rounds`), not here: the browser's request that
    reports a field empty may also carry a message typed beside it and a click on Reject, whose callbacks come
    after this one and report the same drawing; a round started here made them old, and the message was lost."""
    st.session_state.setdefault(CARD_REDRAW, set()).add(key)
    st.session_state.setdefault(CARD_SYNCED, {}).pop(key, None)


def start_asked_rounds() -> None:
    """The redraws this run's callbacks asked for (`_redraw`): a new round of widgets for each of those rows."""
    for key in st.session_state.pop(CARD_REDRAW, None) or ():
        _new_round(key)


def _new_round(key: str) -> None:
    """New widgets for `key`'s card from its next draw (`widget_key`): reports of the old ones are ignored."""
    rounds = st.session_state.setdefault(CARD_ROUND, {})
    rounds[key] = rounds.get(key, 0) + 1


def _argument_changed(
    console: ReviewConsole, key: str, row: PendingInterrupt, entry: dict[str, Any], name: str
) -> bool:
    """One argument's field changed: the entry's edit with that argument as typed (the others as the draft has
    them); False when nothing is to be written. Changed arguments are an edit, as typed edited arguments are in the
    table; back as they were, none. A field that reports itself empty while the draft holds a value for it is a
    widget drawn anew, not the reviewer: the card is drawn again from the draft."""
    state = st.session_state
    specs = [spec for spec in detail.arg_fields(row.args, console.args_schema(row)) if spec.name == name]
    now = detail.edit_view(row, entry.get("edited") or "").args
    raw = state.get(schema_form.widget_key(widget_key(key, "arg"), name))
    if raw in ("", None) and now.get(name) not in ("", None):
        _redraw(key)
        return False
    values, bad = _field_values(specs, widget_key(key, "arg"), now)
    state.setdefault(CARD_BAD, {})[key] = bad
    if bad is not None:
        return False
    after = {**now, **values}
    if name not in values:  # an optional field emptied: the argument as the row has it (or left out)
        after.pop(name, None)
        if name in row.args:
            after[name] = row.args[name]
    entry["edited"] = detail.edited_text(row.args, after)
    if entry["edited"] and entry.get("decision") is None:
        entry["decision"] = "edit"
    elif not entry["edited"] and entry.get("decision") == "edit":
        entry["decision"] = None
    return True


# --- drawing -------------------------------------------------------------------------------------------------


def rerun_page_if_asked(*, in_card: bool) -> None:
    """First in a run of the page or the card, after its callbacks: the new rounds they asked for; then, if a card
    widget changed what the tables show (`TABLES_STALE`), from the card's own run, rerun the whole page (the tables,
    the counts, Submit); a run of the whole page draws them anyway and only forgets the request."""
    start_asked_rounds()
    if st.session_state.pop(TABLES_STALE, False) and in_card:
        st.rerun()


def show(
    console: ReviewConsole,
    rows: Sequence[PendingInterrupt],
    shown: Sequence[PendingInterrupt],
    draft: inbox.Draft,
    context: inbox.RowContext,
    *,
    note: str | None = None,
) -> None:
    """The card of the row the reviewer is on (the first shown row until they pick one)."""
    state = st.session_state
    pending = {inbox.row_key(row): row for row in rows}
    by_key = {inbox.row_key(row): row for row in shown}
    if note:
        st.info(md_escape(note), icon=":material/link_off:")
    key = state.get(CARD_ROW)
    if key not in pending and key not in by_key:
        key = next(iter(by_key), None)
        state[CARD_ROW] = key
    if key is None:
        return
    row = pending.get(key) or by_key[key]
    if state.pop(inbox.STATE_CARD_MOVED, False):  # the grid's focus moved it: the URL names the row shown
        pick(key, row)
    if key not in by_key:  # a linked row the filters hide: first for Previous / Next, so it can be left
        by_key = {key: row, **by_key}
    _navigation(by_key)
    entry = draft.get(key) or inbox.new_entry(row)
    with st.container(border=True, key="inbox_card"):
        _action(console, key, row)
        _card(console, rows, draft, context, key, row, entry)


def _action(console: ReviewConsole, key: str, row: PendingInterrupt) -> None:
    """A notification's action link for this row: checked (review/notify/links.py: signed, unexpired, unused, the
    row unchanged and undecided, sent to this identity, allowed by the policy), then offered as ONE button that
    sends it through the same validate -> claim -> record -> resume path as Submit. Refused: one line, nothing
    claimed."""
    state = st.session_state
    note = state.pop(CARD_ACTION_NOTE, None)
    if note:
        st.warning(md_escape(note), icon=":material/link_off:")
    action = state.get(CARD_ACTION)
    if not action or action.get("row_id") != row.row_id:
        return
    reviewer = current_reviewer()
    if reviewer is None:
        st.info("This row was opened from a notification's link: sign in or enter your name to use it.")
        return
    try:
        grant = console.action_links().verify(str(action["token"]), row, reviewer)
    except LinkRefused as refused:
        state.pop(CARD_ACTION, None)
        st.warning(md_escape(f"The link cannot be used: {refused}"), icon=":material/link_off:")
        return
    label = dict(detail.decision_buttons(row, row.allowed_decisions)).get(grant.decision, grant.decision)
    with st.container(horizontal=True, vertical_alignment="center"):
        st.info(md_escape(f"From a notification: {label.lower()} this row? Nothing is sent until you confirm."))
        st.button(
            f"Confirm: {label}",
            key=widget_key(key, "confirm_link"),
            type="primary",
            on_click=_confirm_link,
            args=(console, key, row),
            help="Sends this one decision now, as Submit would (the link is then used up)",
        )


def _confirm_link(console: ReviewConsole, key: str, row: PendingInterrupt) -> None:
    """Redeem the link (its one use, recorded atomically) and send its decision as a batch of one row."""
    from ui.inbox_view import InFlight  # the page's batch in flight (inbox_view does not import this module)

    state = st.session_state
    action = state.get(CARD_ACTION) or {}
    reviewer = current_reviewer()
    if reviewer is None or isinstance(state.get(inbox.STATE_BATCH), InFlight):
        state[CARD_ACTION_NOTE] = "Not sent yet: name yourself, and wait for the last batch to be applied"
        return
    now = next((r for r in console.pending(row.thread_id) if r.row_id == row.row_id), None)
    try:
        grant = console.action_links().redeem(str(action.get("token")), now, reviewer)
    except LinkRefused as refused:
        state.pop(CARD_ACTION, None)
        state[CARD_ACTION_NOTE] = f"The link cannot be used: {refused}"
        return
    state.pop(CARD_ACTION, None)
    message = str(state.get(widget_key(key, "message")) or "").strip() or None
    plan = inbox.BatchPlan(items=[grant.request(message)], keys=[key])
    entry = {**inbox.new_entry(row), "decision": grant.decision, "message": message or ""}
    state[inbox.STATE_BATCH] = InFlight(
        console.submit_batch(plan.items, reviewer, channel="link"), plan, {key: entry}, {}
    )
    state[TABLES_STALE] = True  # the page follows the batch


def _navigation(by_key: dict[str, PendingInterrupt]) -> None:
    """Previous / Next, above the card. (No row picker: a select box whose value the server sets as the card moves
    reported the row the card had just left in the browser's next request, as if picked, and moved the card back,
    so that text typed next landed on that row; the tables are the picker.)"""
    with st.container(horizontal=True):
        for label, by, icon, shortcut in (
            ("Previous", -1, ":material/arrow_upward:", keys.PREVIOUS_ROW),
            ("Next", 1, ":material/arrow_downward:", keys.NEXT_ROW),
        ):
            st.button(
                label,
                key=f"card_{label.lower()}",
                icon=icon,
                on_click=_step,
                args=(by_key, by),
                shortcut=shortcut,
                help=keys.with_key(f"The card of the {'next' if by > 0 else 'previous'} row", shortcut),
            )


def _card(
    console: ReviewConsole,
    rows: Sequence[PendingInterrupt],
    draft: inbox.Draft,
    context: inbox.RowContext,
    key: str,
    row: PendingInterrupt,
    entry: dict[str, Any],
) -> None:
    view = console.thread(row.thread_id, timeline=False)
    # The heading is written LAST into its place on top: the browser draws a run's elements as they come, so a
    # heading drawn first named the new row while the buttons and fields below were still the last row's for a
    # moment, and text typed into them then landed on the last row. A heading naming the row says its card is whole.
    heading = st.empty()
    if row.description:
        st.markdown(detail.safe_markdown(row.description))
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
            key=widget_key(key, "retry"),
            icon=":material/replay:",
            on_click=_retry,
            args=(console, key, failure),
        )
    allowed = context.offered.get(key, tuple(row.allowed_decisions))
    decidable = bool(allowed) and key not in context.refusals and not row.blocked and not row.unverified
    fields = detail.arg_fields(row.args, console.args_schema(row)) if "edit" in allowed and decidable else []
    _sync(key, row, entry, fields)
    if decidable:  # first, so that a quick decision needs no scrolling
        _buttons(console, key, row, entry, allowed)
    else:
        reason = context.refusals.get(key) or row.blocked or inbox.status_text(row, {}, context)
        st.info(md_escape(f"Read-only: {reason}"), icon=":material/visibility:")
    if fields:
        _argument_fields(console, key, row, entry, fields)
    elif row.args:
        st.caption("Arguments")
        st.code(show_controls(detail.field_text(row.args)), language="json")
    if decidable:
        _inputs(console, key, row, allowed)
    # Below the inputs, so that a line coming or going never moves a field the reviewer is typing into.
    _edit_diff(row, entry)
    bad = st.session_state.get(CARD_BAD, {}).get(key)
    if bad:
        st.warning(md_escape(f"{bad} — not in your decision until it reads"), icon=":material/edit_off:")
    problem = inbox.row_problem(key, entry, context)
    if problem is not None:
        st.warning(md_escape(f"Cannot be sent: {problem}"), icon=":material/block:")
    _thread_context(console, view, row)
    _preview(console, view, rows, draft, context, row.thread_id)
    heading.markdown("#### " + md_escape(detail.heading(row, context.cell(row.thread_id))))


def _thread_context(console: ReviewConsole, view: ThreadView, row: PendingInterrupt) -> None:
    """The thread's request and recent history, its ids, a link to its page and to its run's trace."""
    request = view.messages[0].content if view.messages and view.messages[0].type == "human" else ""
    if request:
        st.caption("Request")
        st.text(show_controls(request))
    lines = detail.history(view.messages)
    if lines:
        with st.expander(f"History ({len(lines)})"):
            st.text(show_controls("\n".join(lines)))
    st.caption(md_escape(f"Thread {row.thread_id} · interrupt {row.interrupt_id}"))
    with st.container(horizontal=True):
        thread = {"thread": row.thread_id}
        st.page_link(THREAD, label="Open its thread", icon=":material/timeline:", query_params=thread)
        for link in console.row_links(row):  # its run's LangSmith trace (REVIEW_TRACE_URL), a server's Studio view
            st.link_button(link.label, link.url, icon=":material/open_in_new:", type="tertiary")


def _argument_fields(
    console: ReviewConsole, key: str, row: PendingInterrupt, entry: dict[str, Any], fields: Sequence[FieldSpec]
) -> None:
    st.caption("Arguments (a change makes this an edit)")
    shown = detail.edit_view(row, entry.get("edited") or "").args  # what a field not synced yet starts from
    # Each field's change names its argument (render adds the name to the callback's arguments).
    args = (console, key, row, None, ARGS, _round(key))
    schema_form.render(fields, shown, widget_key(key, "arg"), on_change=_changed, args=args)


def _inputs(console: ReviewConsole, key: str, row: PendingInterrupt, allowed: Sequence[str]) -> None:
    """The message sent with reject (a tool request's respond), or the answer to a question."""
    change: dict[str, Any] = {"on_change": _changed, "args": (console, key, row, None, MESSAGE, _round(key))}
    if row.payload_kind == "question":
        _answer_input(console, key, row)
    elif "reject" in allowed or "respond" in allowed:
        st.text_area(
            "Message",
            key=widget_key(key, "message"),
            height=80,
            help="Sent with reject (or respond): what the agent is told",
            **change,
        )


def _answer_input(console: ReviewConsole, key: str, row: PendingInterrupt) -> None:
    change: dict[str, Any] = {"on_change": _changed, "args": (console, key, row, None, ANSWER, _round(key))}
    schema = row.answer_schema
    mode = detail.answer_mode(schema)
    if mode == "free":
        st.segmented_control(
            "Answer as",
            list(detail.FREE_MODES),
            key=widget_key(key, "answer_as"),
            help="The question names no type: say what the answer is (LangGraph resumes with that value)",
            on_change=_changed,
            args=(console, key, row, None, ANSWER, _round(key), "answer_as"),
        )
        mode = detail.FREE_MODES[st.session_state.get(widget_key(key, "answer_as")) or "text"]
    name = widget_key(key, "answer")
    if mode == "boolean":
        st.radio("Answer", ["yes", "no"], index=None, key=name, horizontal=True, **change)
    elif mode in ("number", "integer"):
        st.number_input("Answer", value=None, step=1 if mode == "integer" else None, key=name, **change)
    elif mode == "enum":
        st.selectbox("Answer", list((schema or {}).get("enum") or []), index=None, key=name, **change)
    elif mode == "object":
        st.caption("Answer")
        schema_form.render(schema_form.fields(schema), None, widget_key(key, "answer"), **change)
    else:
        st.text_area(
            "Answer",
            key=widget_key(key, "answer_text"),
            height=100,
            placeholder='a JSON value: false, 42 or {"approved": true}' if mode == "json" else None,
            **change,
        )
    if schema is not None:
        with st.expander("The answer must match this schema"):
            st.code(json.dumps(schema, indent=2, ensure_ascii=False), language="json")


def _buttons(
    console: ReviewConsole, key: str, row: PendingInterrupt, entry: dict[str, Any], allowed: Sequence[str]
) -> None:
    """A button per decision the row allows, its accessible name exactly its label; the chosen one is primary, and
    Clear takes it back (what was typed stays)."""
    chosen = entry.get("decision") or ("edit" if (entry.get("edited") or "").strip() else None)
    with st.container(horizontal=True, key="inbox_card_decisions"):
        for decision, label in detail.decision_buttons(row, allowed):
            st.button(
                label,
                key=widget_key(key, "decide:" + decision),
                type="primary" if decision == chosen else "secondary",
                on_click=_changed,
                args=(console, key, row, decision),
            )
        st.button(
            "Clear",
            key=widget_key(key, "decide:" + CLEAR),
            type="tertiary",
            disabled=entry.get("decision") is None,
            on_click=_changed,
            args=(console, key, row, CLEAR),
            help="No decision: the row stays pending (the fields keep what you typed)",
        )
    st.caption(md_escape(f"Decision: {chosen or 'none yet (stays pending)'} · Submit decisions sends it"))


def _edit_diff(row: PendingInterrupt, entry: dict[str, Any]) -> None:
    """What the edit changes, argument by argument: before → after."""
    view = detail.edit_view(row, entry.get("edited") or "")
    if view.error:
        st.warning(md_escape(f"Edited arguments {view.typed!r}: {view.error}"), icon=":material/edit_off:")
        return
    changes = detail.arg_changes(row.args, view.args)
    if not changes:
        return
    st.caption("The edit: before → after")
    for change in changes:
        before = "(not given)" if change.before is None else change.before
        after = "(removed)" if change.after is None else change.after
        st.text(show_controls(f"{change.name}:\n  {before}\n→ {after}".replace("\n", "\n  ")))


def _retry(console: ReviewConsole, key: str, failure: Any) -> None:
    drafts.fold(console)
    draft = {k: dict(v) for k, v in st.session_state[inbox.STATE_DRAFT].items()}
    if key in draft:
        draft[key] = inbox.retry_entry(draft[key], failure)
        drafts.set_draft(console, draft)
        drafts.retire_editor()
        st.session_state[TABLES_STALE] = True


def _preview(
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
