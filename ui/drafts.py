"""The Inbox's draft in session state: the reviewer's unsent decisions, one entry per row, kept in step with
the reviewer's stored copy.

The table (its editors' positional edits, folded through the keys they showed), the review card and the bulk
buttons all change the draft through `set_draft`, which also writes what changed to the store
(`console.save_draft`), so a reload or a server restart loses no unsent decision.
"""

from __future__ import annotations

import contextlib

import streamlit as st

from review import ReviewConsole, StoreError
from ui import inbox
from ui.console import reviewer_name


def set_draft(console: ReviewConsole, draft: inbox.Draft) -> list[str]:
    """Make `draft` the session's draft and write what changed to the reviewer's stored copy; the changed keys."""
    state = st.session_state
    before = state[inbox.STATE_DRAFT]
    changed = inbox.changed_keys(before, draft)
    state[inbox.STATE_DRAFT] = draft
    if changed:  # the last submit's word on a row was about the decision it sent: a changed one is checked afresh
        # (a row that only joined the draft keeps it: "raised by your last submit" is about the row itself)
        stale = {key for key in changed if key in before}
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
    """Take the rendered editors' positional edits into the draft; the keys it changed. The card follows the row
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
        state[inbox.STATE_CARD] = shown[-1]
    return changed


def retire_editor() -> None:
    """The draft changed outside the editors (the reviewer clicked something else): draw fresh editors from it,
    never re-fold the old edits, and take the live rows now (nobody is typing into the table)."""
    state = st.session_state
    state[inbox.STATE_GENERATION] += 1
    state[inbox.STATE_EDITORS] = {}
    state[inbox.STATE_RENDERED] = []
    state[inbox.STATE_ADOPT] = True
