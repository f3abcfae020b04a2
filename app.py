"""The review console: `streamlit run app.py [-- --db PATH]`. This script is its landing page, the Inbox.

Inbox: every pending interrupt of every thread, one row per tool call, decided together in one batch.
The other pages are Streamlit's `pages/` folder (New run, Thread, Audit); every page starts with
`ui.sidebar.page_frame`, which draws the shared sidebar. Pages talk to the agent only through
`review.ReviewConsole` (see ui/console.py).

The page is drawn again when something changed (served by serve.py, the browser long-polls the store's
change token, ui/live.py; else a fragment checks it every 0.2 s);
the reviewer's unsent choices live in a draft keyed by row identity (ui/inbox.py), shared by the
table and the review card and kept in the store per reviewer, so a refresh that adds, removes or
reorders rows never moves a decision onto another row, and a reload loses none. The table itself
changes its rows only when the reviewer paused (ui/inbox_gate.py), so nothing typed into it is lost.
"""

import time
from datetime import UTC, datetime
from typing import Any, NamedTuple

import streamlit as st

from review import PendingInterrupt
from ui import card, drafts, inbox, inbox_gate, inbox_view, live, page_style, row_focus
from ui.console import get_console
from ui.format import md_escape, plural
from ui.sidebar import page_frame

page_frame("Inbox")
console = get_console()
state = st.session_state
inbox_view.init_state()


@st.fragment(run_every=inbox_view.LIVE_SECONDS)
def check() -> None:
    """Every 0.2 s (nested in the body): a change check, for a server without serve.py's route."""
    inbox_view.look(console)


@st.fragment(run_every=inbox_view.BUSY_SECONDS)
def follow() -> None:
    """Every 0.1 s while this session's batch resumes: its progress; the page is redrawn when it is done."""
    inbox_view.look(console)


@st.fragment
def review_card(
    rows: list[PendingInterrupt], shown: list[PendingInterrupt], context: inbox.RowContext, note: str | None
) -> None:
    """The review card, in a fragment of its own: a click on a row (ui/row_focus.py) and Previous / Next rerun
    only the card, not the tables. A card widget that changed the draft reruns the page (the tables show it)."""
    card.rerun_page_if_asked(in_card=True)
    row_focus.mount()
    if shown or note or state.get(inbox.STATE_CARD):
        card.show(console, rows, shown, state[inbox.STATE_DRAFT], context, note=note)


@st.fragment
def inbox_body() -> None:
    """The Inbox below the title: finish this session's batch, fold the draft in, the tables beside the card."""
    card.rerun_page_if_asked(in_card=False)
    inbox_view.finish_batch(console)
    drafts.adopt_stored_draft(console)
    edited = drafts.fold(console)
    state[inbox_view.STATE_TOKEN] = console.inbox_token()  # before reading: a later change redraws
    state[inbox_view.STATE_DRAWN] = time.monotonic()
    rows = console.pending()
    for problem in console.source_health():  # the rows it listed last stay below, decidable when it is back
        st.warning(md_escape(problem), icon=":material/cloud_off:")
    # The page's places are made now and filled below, so the count of rows is on screen the moment they are read:
    # the browser draws what arrives before the tables' data at once, and what arrives with it only with it
    # (a row another process raised counted ~50 ms sooner on a 1,000-row Inbox).
    filter_place = st.container()
    # The card beside the tables; under them in a window narrower than page_style.WIDE_PX (its style sheet).
    with st.container(key=page_style.SPLIT_KEY):
        tables, side = st.columns([2, 1], gap="small")
    with tables:
        places = Places(st.container(), st.empty())
        places.counts.caption(md_escape(plural(len(rows), "row") + " pending"))
    now = datetime.now(UTC)
    inbox_view.follow_thread_link()  # before the rows are named: a linked thread is named in the filter too
    last = state.get(inbox.STATE_SHEET)  # the rows the table showed: named too, pending or not
    context = inbox_view.row_context(console, rows, now, also=[row.thread_id for row in last.rows] if last else [])
    draft = inbox.sync_draft(state[inbox.STATE_DRAFT], rows)
    drafts.set_draft(console, draft)
    link_note = card.follow_link(rows)

    listed = rows or (last.rows if last else [])
    with filter_place:
        matching = inbox_view.filters(rows, context) if listed else []
    # The table keeps its rows while the reviewer types into it (a new set of rows is a new grid: ui/inbox.py).
    sheet = inbox_view.take_rows(matching, inbox_view.filter_values(), edited=bool(edited))
    shown = list(sheet.rows)
    with tables:
        queue(rows, sheet, shown, draft, context, now, places)
    with side:
        review_card(rows, shown, context, link_note)
    inbox_view.runs(console, context.labels)
    inbox_gate.mount(sheet)  # says when the reviewer paused, so held rows are taken
    if live.ROUTE_SERVED and not isinstance(state.get(inbox.STATE_BATCH), inbox_view.InFlight):
        live.watch(state[inbox_view.STATE_TOKEN])  # the browser waits for a change; it reruns this body


class Places(NamedTuple):
    """Where the tables' column starts, made before the rows are named: the bulk buttons, the line of counts."""

    bulk: Any  # a container
    counts: Any  # an empty slot: the count of rows pending at once, the whole line once the table is known


def queue(
    rows: list[PendingInterrupt],
    sheet: inbox.Sheet,
    shown: list[PendingInterrupt],
    draft: inbox.Draft,
    context: inbox.RowContext,
    now: datetime,
    places: Places,
) -> None:
    """A line of counts, the tables, Submit and the banner of the last submit."""
    listed = bool(rows or sheet.rows)
    if listed:
        with places.bulk:
            inbox_view.bulk_buttons(console, enabled=bool(shown))
    # The counts first: a row another process raised lands at the end of a long table, where the reviewer sees
    # it only by scrolling; the count above the tables says so at once (its first part drawn before the rows
    # are even named, the whole line before the tables are built).
    rendered = {inbox.row_key(row) for row in shown}
    pending_keys = {inbox.row_key(row) for row in rows}
    decided = {key for key, entry in draft.items() if inbox.ready_count({key: entry})}
    notes = [plural(len(rows), "row") + " pending", f"{len(shown)} shown", f"{len(decided)} decided"]
    hidden = len(decided & (pending_keys - rendered))
    if hidden:
        notes.append(f"{hidden} decided row(s) hidden by the filters are sent too")
    if context.sending:
        notes.append(f"{len(context.sending)} being applied")
    gone = len(decided - pending_keys - context.sending)
    if gone:
        notes.append(f"{gone} decided row(s) are no longer pending: Submit reports who answered them")
    if sheet.waiting:
        verb = "joins" if sheet.waiting == 1 else "join"
        notes.append(f"{plural(sheet.waiting, 'new row')} {verb} the table when you pause")
    if state.get("inbox_bulk_note"):
        notes.append(state["inbox_bulk_note"])
    places.counts.caption(md_escape(" · ".join(notes)))
    if shown:
        inbox_view.table(sheet, draft, context, now)
        inbox_view.refused_rows(shown, draft, context)
    else:
        inbox_view.empty_inbox(console, has_rows=bool(rows))
        state[inbox.STATE_EDITORS] = {}
        state[inbox.STATE_RENDERED] = []
        state[inbox.STATE_GROUPS] = []
    inbox_view.submit_controls(console, sendable=inbox_view.sendable(draft, decided, context))
    busy = isinstance(state.get(inbox.STATE_BATCH), inbox_view.InFlight)
    if busy:
        follow()
    elif not live.ROUTE_SERVED:
        check()
    inbox_view.report_banner(state[inbox.STATE_REPORT])


st.title("Inbox")
st.caption(
    "Every pending tool call and question of every thread, in tables by the decisions they allow: a row offers "
    "only its own. Decide per row (an edit's new arguments, a rejection's message, a question's answer), in the "
    "table or on a row's card, then submit them together; rows left empty stay pending."
)
inbox_body()
