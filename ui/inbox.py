"""The Inbox table's logic, free of Streamlit: drafts, frames, editor keys, batches, summaries.

A decision belongs to a row's identity (`row_key`: thread id + interrupt id), never to a position.
The page keeps a draft `{row_key: entry}` in session state. `st.data_editor` reports edits by
POSITION (`edited_rows`), so every run translates them through the keys of the frame that was
rendered (`fold_edits`), and the editor is keyed by the ordered keys it shows (`editor_key`): when
rows are added, removed or reordered the editor starts afresh under a new key, rendered from the
draft, so no positional edit can land on another row.

A new key is a new grid in the browser: a cell editor open in the old one closes, and an edit committed
into it while the new one was being drawn is sent for a widget that no longer exists. Both lost typed
text (issue 20: 2 of 12 quick edits). So the rows a table shows (`Sheet`) change only when nobody can be
typing into it: never on the rerun an edit caused, and otherwise when the browser says the reviewer paused
(ui/inbox_gate.py) or the reviewer asked (filters, bulk, submit, the card). Meanwhile rows that left stay,
marked, and new ones wait (`next_sheet`).

The rows are shown in one table per set of decisions they offer (`group_rows`), whose decision column lists
exactly those: no row can be given a decision it does not allow; rows nobody here may decide have no decision
column at all. Bulk decisions mark only rows that allow them and count the others (`bulk_choice`).

Beside the decisions, a row has a state for the filters (waiting for review, last attempt failed, run
in progress) and a status cell that says, in this order, why its drafted decision cannot be sent (the
core validator's words, the same a submit or the CLI gives: `RowContext.problems`), what the last
submit did to it, that its last decision failed (the error, who decided, when), that its thread is
running, or which decisions it allows. Columns say what a row is and where first (tool, arguments, a
short thread name), then its decision and message, so a laptop shows them side by side; the long text
lives in the review card (ui/card.py).

A submit sends the decided rows the checks take; the others stay in the draft with their reason (`without`,
`report_result(refused=...)`), unless the reviewer asked for all or nothing.

The draft is translated here (`decision_of`: the edge's parse of typed text) and judged by the core:
no rule of what may be sent lives in this module.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from review import BatchResult, PendingInterrupt
from review.audit import AuditEntry
from review.contract import MAX_INPUT_CHARS, check_text, load_json
from review.editing import format_args, parse_edited_args
from review.inbox import UNREADABLE_KIND
from ui.format import clip_text, format_time, plural, request_words, short_id, show_controls, waiting_since

# What a row is first (so a laptop shows what is approved and where before the decision), then the decision.
COLUMNS = ("tool", "arguments", "thread", "decision", "message", "edited arguments", "status", "waiting")
READ_ONLY = ("tool", "arguments", "thread", "status", "waiting")
DECISIONS = ("approve", "edit", "reject", "respond", "ignore")  # what a row offers is its allowed_decisions
TOOL_DECISIONS = ("approve", "edit", "reject")
EDITOR_KEY_PREFIX = "inbox_editor_"
WAITING, FAILED, RUNNING = "waiting for review", "last attempt failed", "run in progress"
ROW_STATES = (WAITING, FAILED, RUNNING)
CELL_WORDS, CELL_ID_CHARS = 22, 6  # the thread column: a request's first characters; a short id where they clash
SENDING = "sending…"

# Session-state keys of the Inbox page (tests drive the editors through STATE_EDITORS).
STATE_DRAFT = "inbox_draft"  # {row_key: entry}
STATE_EDITORS = "inbox_editors"  # {widget key: row keys of its frame, in order}: the editors last rendered
STATE_RENDERED = "inbox_rendered_keys"  # row keys of every rendered editor, in page order
STATE_SHEET = "inbox_sheet"  # Sheet: the rows the table shows (held while the reviewer may be typing)
STATE_ADOPT = "inbox_adopt_rows"  # True: the next draw takes the live rows (the reviewer paused or asked)
STATE_GROUPS = "inbox_groups"  # the RowGroups last rendered (what each shown row offers, for the bulk buttons)
STATE_GENERATION = "inbox_generation"  # bumped when the draft changes outside the editor
STATE_STATUS = "inbox_status"  # {row_key: text} from the last submit
STATE_REPORT = "inbox_report"  # SubmitReport of the last submit (or gate warning)
STATE_BATCH = "inbox_batch"  # InFlight: a submitted batch whose resumes are still running
STATE_DRAFT_OWNER = "inbox_draft_owner"  # the reviewer whose stored draft was merged into this session's
TOOL_FILTER = "inbox_tool_filter"
THREAD_FILTER = "inbox_thread_filter"
STATE_FILTER = "inbox_state_filter"
STATE_CARD = "inbox_card_row"  # the row key the review card shows (ui/card.py)
STATE_CARD_MOVED = "inbox_card_moved"  # True: the card moved to another row by the grid's focus (URL follows)
STATE_TABLES = "inbox_tables"  # {table widget key: [(row key, its first cells' text)]}: which row a focus is on

GONE = "no longer pending (answered elsewhere): leaves the table when you pause"
RAISED = "new: raised by your last submit"
# Editable column -> field of a draft entry.
_FIELDS = {"decision": "decision", "edited arguments": "edited", "message": "message"}

Draft = dict[str, dict[str, Any]]


def row_key(row: PendingInterrupt) -> str:
    """A row's identity in the draft: `<thread_id>:<row_id>` (row ids are per thread)."""
    return f"{row.thread_id}:{row.row_id}"


def new_entry(row: PendingInterrupt) -> dict[str, Any]:
    """An undecided draft entry; it carries what is needed to send it even after the row left the table."""
    return {
        "thread_id": row.thread_id,
        "row_id": row.row_id,
        "tool": row.tool,
        "args": dict(row.args),
        "decision": None,
        "edited": "",
        "message": "",
    }


def has_intent(entry: dict[str, Any]) -> bool:
    """True when the reviewer decided, or typed something, for this row."""
    return bool(entry.get("decision") or (entry.get("edited") or "").strip() or (entry.get("message") or "").strip())


def editor_key(keys: Sequence[str], generation: int = 0) -> str:
    """The editor's widget key for this ordered list of rows (and draft generation).

    Any change of the shown rows or their order gives a new key, so Streamlit drops the old editor's
    positional edits instead of applying them to whatever row now sits at that position.
    """
    text = "\n".join([str(generation), *keys])
    digest = hashlib.sha1(text.encode()).hexdigest()[:16]
    return f"{EDITOR_KEY_PREFIX}{digest}"


def fold_edits(
    draft: Draft,
    rendered_keys: Sequence[str],
    editor_state: Any,
    rows: dict[str, PendingInterrupt] | None = None,
) -> Draft:
    """Fold the editor's positional `edited_rows` into the draft through the keys that were rendered.

    `edited_rows` is cumulative for one editor key, so folding it again is harmless. Positions outside
    the rendered frame and read-only columns are ignored; a rendered row the draft no longer holds (it left
    the pending rows while the table still showed it) gets its entry back from `rows`, so what was typed
    into it is kept (a submit then says it is no longer pending) instead of silently dropped.
    """
    edited = (editor_state or {}).get("edited_rows") if isinstance(editor_state, dict) else None
    if not edited:
        return draft
    rows = rows or {}
    folded = {key: dict(entry) for key, entry in draft.items()}
    for position, changes in edited.items():
        try:
            index = int(position)
        except (TypeError, ValueError):
            continue
        if not 0 <= index < len(rendered_keys):
            continue
        key = rendered_keys[index]
        if key not in folded:
            if key not in rows:
                continue
            folded[key] = new_entry(rows[key])
        entry = folded[key]
        for column, value in (changes or {}).items():
            name = _FIELDS.get(column)
            if name == "decision":
                entry[name] = value if value in DECISIONS else None
            elif name:
                entry[name] = bounded("" if value is None else str(value))
    return folded


def bounded(text: str) -> str:
    """A typed cell as the draft keeps it: one character past the input limit says it is too long (and a
    pasted 10 MB is not kept, stored and redrawn on every run)."""
    return text if len(text) <= MAX_INPUT_CHARS else text[: MAX_INPUT_CHARS + 1]


def draft_problem(entry: dict[str, Any]) -> str | None:
    """Why a draft entry's typed text cannot be sent as it is (too long, nested too deep), in one line; else None.

    Checked without parsing, so a draft saved before the limits (or pasted into the store) cannot crash a page.
    """
    message = str(entry.get("message") or "")
    try:
        check_text(str(entry.get("edited") or ""), "the edited arguments")
        if entry.get("json"):  # read as JSON: bounded like edited arguments
            check_text(message, "the answer")
    except ValueError as exc:
        return str(exc)
    if len(message) > MAX_INPUT_CHARS:  # text is never parsed; only its length matters here
        return f"the message: longer than {MAX_INPUT_CHARS:,} characters; shorten it"
    return None


def sync_draft(draft: Draft, rows: Iterable[PendingInterrupt]) -> Draft:
    """Add an entry for every pending row; drop entries of rows no longer pending that hold no decision."""
    rows = list(rows)
    pending = {row_key(row): row for row in rows}
    synced = {key: entry for key, entry in draft.items() if key in pending or has_intent(entry)}
    for key, row in pending.items():
        synced.setdefault(key, new_entry(row))
    return synced


@dataclass(frozen=True)
class Sheet:
    """The rows the table shows, in order, and the filters they were chosen with."""

    rows: tuple[PendingInterrupt, ...] = ()
    filters: tuple[Any, ...] = ()
    gone: frozenset[str] = frozenset()  # keys of shown rows that are no longer pending
    waiting: int = 0  # pending rows the filters show that the table does not show yet

    @property
    def keys(self) -> list[str]:
        """The shown rows' keys, in order."""
        return [row_key(row) for row in self.rows]

    @property
    def held(self) -> bool:
        """The table differs from the pending rows: it waits for the reviewer to pause."""
        return bool(self.gone or self.waiting)


def next_sheet(sheet: Sheet | None, live: Sequence[PendingInterrupt], filters: tuple[Any, ...], *, hold: bool) -> Sheet:
    """The rows to show now: the live ones (the filters' result), unless `hold` and the filters are unchanged.

    Held, the table keeps its rows and their order (so its editors keep their identity): a row still pending
    is shown as it is now, a row that left stays with `gone` naming it, and new rows wait (`waiting`).
    """
    if sheet is None or not hold or sheet.filters != filters or not sheet.rows:
        return Sheet(tuple(live), filters)
    now = {row_key(row): row for row in live}
    rows = tuple(now.get(row_key(row), row) for row in sheet.rows)
    shown = {row_key(row) for row in rows}
    return Sheet(rows, filters, frozenset(shown - set(now)), sum(1 for key in now if key not in shown))


@dataclass(frozen=True)
class RowContext:
    """What the store says about the rows beyond the checkpoint: thread names, failures, running threads."""

    labels: dict[str, str] = field(default_factory=dict)  # thread_id -> readable name, its age now
    names: dict[str, str] = field(default_factory=dict)  # thread_id -> the name widgets show (kept stable)
    failures: dict[str, AuditEntry] = field(default_factory=dict)  # row key -> its latest, failed, attempt
    running: set[str] = field(default_factory=set)  # thread ids with a run on (or being recovered)
    sending: set[str] = field(default_factory=set)  # row keys of this session's batch still resuming
    notes: dict[str, str] = field(default_factory=dict)  # row key -> what the policy says (rules, co-signs)
    refusals: dict[str, str] = field(default_factory=dict)  # row key -> why this reviewer may not decide it
    problems: dict[str, str] = field(default_factory=dict)  # row key -> why its drafted decision would be refused
    several_graphs: bool = False  # the console loaded several graphs: rows say whose they are
    cells: dict[str, str] = field(default_factory=dict)  # thread_id -> its short name in the table's thread column
    offered: dict[str, tuple[str, ...]] = field(default_factory=dict)  # row key -> fewer decisions (the policy's)

    def label(self, thread_id: str) -> str:
        """The thread's readable name with its age now (its short id when it has none)."""
        return self.labels.get(thread_id) or short_id(thread_id)

    def name(self, thread_id: str) -> str:
        """The thread as a widget option shows it: the label first shown in this session."""
        return self.names.get(thread_id) or self.label(thread_id)

    def cell(self, thread_id: str) -> str:
        """The thread as the table's narrow thread column shows it (`thread_cells`)."""
        return self.cells.get(thread_id) or f"#{short_id(thread_id)}"


def thread_cells(requests: dict[str, str | None]) -> dict[str, str]:
    """Each thread's name for the table's thread column: its request's first words, short enough for a narrow
    column; where two threads' words are the same, the short id comes FIRST (`#1a2b3c · Create a red…`), so
    two rows with the same tool and arguments in different threads differ where a cut cell still shows it."""
    words = {thread_id: request_words(request or "", CELL_WORDS) for thread_id, request in requests.items()}
    counts: dict[str, int] = {}
    for text in words.values():
        counts[text] = counts.get(text, 0) + 1
    cells = {}
    for thread_id, text in words.items():
        if not text:  # no request to show: its id
            cells[thread_id] = f"#{short_id(thread_id)}"
        else:
            cells[thread_id] = f"#{thread_id[:CELL_ID_CHARS]} · {text}" if counts[text] > 1 else text
    return cells


@dataclass(frozen=True)
class RowGroup:
    """Rows that offer the same decisions, shown in one editor whose decision column offers exactly those: a row
    cannot be given a decision it does not allow. `decisions` empty: read-only rows (no decision column). With
    several graphs loaded, a group holds one graph's rows (`graph`), named in its title, not in every tool cell."""

    decisions: tuple[str, ...]
    rows: tuple[PendingInterrupt, ...]
    graph: str | None = None

    @property
    def keys(self) -> list[str]:
        """The rows' keys, in order."""
        return [row_key(row) for row in self.rows]

    @property
    def columns(self) -> list[str]:
        """The frame's columns this group shows: no edited arguments without edit, no message without reject or
        respond, no decision at all when read-only."""
        hidden = set()
        if "edit" not in self.decisions:
            hidden.add("edited arguments")
        if not {"reject", "respond"} & set(self.decisions):
            hidden.add("message")
        if not self.decisions:
            hidden.add("decision")
        return [column for column in COLUMNS if column not in hidden]

    @property
    def answers(self) -> bool:
        """The message column holds answers (questions: respond without reject)."""
        return "respond" in self.decisions and "reject" not in self.decisions

    @property
    def title(self) -> str:
        """`Tool calls · approve, edit or reject (3)`: what the rows are and what they offer."""
        kinds = {_kind_words(row) for row in self.rows}
        kind = kinds.pop() if len(kinds) == 1 else "Requests"
        graph = f"{self.graph} · " if self.graph else ""
        if not self.decisions:
            return f"{graph}Read-only ({len(self.rows)}): cannot be decided here; the status says why"
        return f"{graph}{kind} · {or_list(self.decisions)} ({len(self.rows)})"


def _kind_words(row: PendingInterrupt) -> str:
    if row.payload_kind == "question":
        return "Questions"
    if row.payload_kind.startswith("breakpoint"):
        return "Breakpoints"
    return "Tool calls"


def or_list(words: Sequence[str]) -> str:
    """`approve, edit or reject`."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def read_only(row: PendingInterrupt, context: RowContext) -> bool:
    """No decision can be sent for this row from here: blocked, an unsafe layout (the CLI's force), an unknown
    payload, or the policy refuses this reviewer."""
    return bool(row.blocked or row.warning or not row.allowed_decisions or row_key(row) in context.refusals)


def group_rows(rows: Sequence[PendingInterrupt], context: RowContext) -> list[RowGroup]:
    """The rows by the decisions they offer (what the payload allows, less what the policy refuses this reviewer:
    `RowContext.offered`), and by graph when several are loaded; each group in the rows' order, groups in order
    of their first row, read-only rows last."""
    groups: dict[tuple[str | None, tuple[str, ...]], list[PendingInterrupt]] = {}
    for row in rows:
        allowed = context.offered.get(row_key(row), row.allowed_decisions)
        offered = () if read_only(row, context) else tuple(d for d in DECISIONS if d in allowed)
        graph = row.graph_id if context.several_graphs else None
        groups.setdefault((graph, offered), []).append(row)
    ordered = sorted(groups.items(), key=lambda item: not item[0][1])  # stable: read-only last
    return [RowGroup(decisions, tuple(members), graph) for (graph, decisions), members in ordered]


def row_state(row: PendingInterrupt, context: RowContext) -> str:
    """The row's state for the filters: its last attempt failed, its thread runs, or it waits for review."""
    if row_key(row) in context.failures:
        return FAILED
    if row.thread_id in context.running:
        return RUNNING
    return WAITING


def filter_rows(
    rows: Iterable[PendingInterrupt],
    tools: Sequence[str] = (),
    threads: Sequence[str] = (),
    states: Sequence[str] = (),
    context: RowContext | None = None,
) -> list[PendingInterrupt]:
    """Rows whose tool, thread and state are among the chosen ones (an empty choice keeps all)."""
    context = context or RowContext()
    return [
        row
        for row in rows
        if (not tools or tool_label(row, context) in tools)
        and (not threads or row.thread_id in threads)
        and (not states or row_state(row, context) in states)
    ]


def tool_label(row: PendingInterrupt, context: RowContext | None = None) -> str:
    """The tool cell; with several graphs loaded it says whose: `graph: tool`."""
    name = show_controls(row_name(row))
    if context is not None and context.several_graphs and row.graph_id:
        return f"{row.graph_id}: {name}"
    return name


def row_name(row: PendingInterrupt) -> str:
    """What a row is about, in a word: its tool, `(question)`, or the node a breakpoint holds."""
    if row.tool:
        return row.tool
    if row.payload_kind == "question":
        return "(question)"
    if row.payload_kind == "breakpoint_node":
        return f"(breakpoint: {', '.join(map(str, row.args.get('next') or ())) or 'node'})"
    if row.payload_kind == UNREADABLE_KIND:
        return "(unreadable thread)"
    return "(unknown payload)"


def arguments_text(row: PendingInterrupt) -> str:
    """The readable arguments cell; a tool without arguments shows its description instead."""
    cached = _ARGUMENT_TEXTS.get(id(row))
    if cached is not None and cached[0] is row:
        return cached[1]
    text = show_controls(format_args(row.args) if row.args else f"(no arguments) {row.description}".strip())
    if len(_ARGUMENT_TEXTS) >= _ARGUMENT_TEXTS_KEPT:
        _ARGUMENT_TEXTS.clear()
    _ARGUMENT_TEXTS[id(row)] = (row, text)
    return text


# Every run of the Inbox writes each row's arguments into its cell, and the listing keeps the same row objects while
# their thread is unchanged: the text is kept per row object (held here, so its id is not reused while kept). Not
# per interrupt id: a node's second interrupt() has its first one's id.
_ARGUMENT_TEXTS: dict[int, tuple[PendingInterrupt, str]] = {}
_ARGUMENT_TEXTS_KEPT = 20_000


def failure_text(entry: AuditEntry) -> str:
    """`failed: <error> (alice, 2025-01-01 12:00:00 UTC)`: what a failed last attempt says in the table."""
    if entry.contradicted:
        return f"{entry.outcome_check} ({entry.reviewer}, {format_time(entry.decided_at)})"
    error = (entry.error or "unknown error").removeprefix("run failed: ")
    return f"failed: {error} ({entry.reviewer}, {format_time(entry.decided_at)})"


def contradiction_text(entry: AuditEntry, label: str) -> str:
    """An applied decision the graph did not honour, as the Inbox lists it beside failed runs:
    `«label»: reject of send_email by ann (2025-01-01 12:00:00 UTC) — contradicted: <what>`."""
    what = f"{entry.decision} of {entry.tool}" if entry.tool else entry.decision
    return f"{label}: {what} by {entry.reviewer} ({format_time(entry.decided_at)}) — {entry.outcome_check}"


def status_text(row: PendingInterrupt, status: dict[str, str], context: RowContext) -> str:
    """The status cell: this session's last submit, else a failed last attempt, a running thread, the rules."""
    key = row_key(row)
    if key in context.sending:
        return SENDING
    if status.get(key):
        return status[key]
    if key in context.failures:
        return failure_text(context.failures[key])
    if row.thread_id in context.running:
        return RUNNING
    if key in context.refusals:
        return f"read-only: {context.refusals[key]}"
    parts = (UNVERIFIED if row.unverified else "", _default_status(row), context.notes.get(key, ""))
    return "; ".join(part for part in parts if part)


# An Agent Server's row listed from its thread search before its state was read (review/sources/server.py): shown
# at once, marked until the read confirms or corrects it; a submit reads the state first either way.
UNVERIFIED = "not verified yet: listed from the server's search, its state is being read"


def build_frame(
    rows: Sequence[PendingInterrupt],
    draft: Draft,
    status: dict[str, str],
    now: datetime,
    context: RowContext | None = None,
) -> pd.DataFrame:
    """The editor's frame: one row per pending interrupt, the draft's decisions merged in."""
    context = context or RowContext()
    records = []
    for row in rows:
        key = row_key(row)
        entry = draft.get(key) or new_entry(row)
        problem = row_problem(key, entry, context)
        records.append(
            {
                "tool": show_controls(row_name(row)),  # with several graphs, the table's title names the graph
                "decision": entry["decision"],
                "edited arguments": bounded(str(entry.get("edited") or "")),
                "message": bounded(str(entry.get("message") or "")),
                "status": f"cannot be sent: {problem}" if problem else status_text(row, status, context),
                "arguments": arguments_text(row),
                "thread": context.cell(row.thread_id),
                "waiting": waiting_since(row.raised_at, now, minutes_only=True),  # redrawn every AGE_TICK_SECONDS
            }
        )
    # Every column is text, whatever the cells hold: a stable schema keeps the editor's identity (and
    # the reviewer's open cell) across refreshes; an all-empty column would otherwise change type.
    return pd.DataFrame.from_records(records, columns=list(COLUMNS)).astype("string")


def row_problem(key: str, entry: dict[str, Any], context: RowContext) -> str | None:
    """Why the row's drafted decision cannot be sent as it is, before Submit: typed text too long or too deep
    (the edge's own bound, checked without parsing), else the core validator's refusal, word for word."""
    return draft_problem(entry) or context.problems.get(key)


def _default_status(row: PendingInterrupt) -> str:
    if row.blocked:
        return f"read-only: {row.blocked}"
    if row.warning:
        return f"unsafe layout (decide with the CLI's force): {row.warning}"
    if not row.allowed_decisions:
        return "cannot be decided here (unknown payload)"
    if row.payload_kind == "question":
        return "a question: choose respond and type the answer (a yes/no, a number or any JSON value: on its card)"
    if row.payload_kind == "breakpoint_node":
        return "a breakpoint: approve continues the run, reject stops it"
    if row.payload_kind.startswith("breakpoint"):
        return "a breakpoint: the step's calls run together when the run continues"
    if tuple(row.allowed_decisions) != TOOL_DECISIONS:
        return "allowed: " + ", ".join(row.allowed_decisions)
    return ""


@dataclass(frozen=True)
class BulkChoice:
    """Which shown rows "Approve all shown" (or reject) marks, and how many it skips, by why."""

    decision: str
    keys: list[str]
    skipped: dict[str, int]  # "question" | "read-only" | "failed" | "other" -> rows

    def note(self) -> str:
        """`Approve: 3 rows marked; 2 skipped: 1 question, 1 read-only`."""
        marked = f"{self.decision.capitalize()}: {plural(len(self.keys), 'row')} marked"
        if not self.skipped:
            return marked
        words = {
            "question": lambda n: plural(n, "question"),
            "read-only": lambda n: f"{n} read-only",
            "failed": lambda n: f"{n} whose last attempt failed (retry on its card)",
            "other": lambda n: f"{n} without {self.decision}",
        }
        parts = [words[why](count) for why, count in self.skipped.items()]
        return f"{marked}; {sum(self.skipped.values())} skipped: {', '.join(parts)}"


def bulk_choice(groups: Sequence[RowGroup], decision: str, failed: Iterable[str] = ()) -> BulkChoice:
    """The shown rows a bulk `decision` marks: only rows that allow it, and none whose last attempt failed
    (sending it again is the reviewer's explicit choice); the others, counted by why."""
    failures = set(failed)
    keys: list[str] = []
    skipped: dict[str, int] = {}
    for group in groups:
        for row in group.rows:
            if not group.decisions:
                why = "read-only"
            elif decision not in group.decisions:
                why = "question" if row.payload_kind == "question" else "other"
            elif row_key(row) in failures:
                why = "failed"
            else:
                keys.append(row_key(row))
                continue
            skipped[why] = skipped.get(why, 0) + 1
    return BulkChoice(decision, keys, skipped)


def apply_bulk(draft: Draft, keys: Iterable[str], decision: str, skip: Iterable[str] = ()) -> Draft:
    """Set `decision` on the given rows (the shown ones) but those in `skip` (rows whose last attempt
    failed: sending them again must be the reviewer's explicit choice); other rows are untouched."""
    if decision not in DECISIONS:
        raise ValueError(f"unknown decision {decision!r}")
    skipped = set(skip)
    updated = {key: dict(entry) for key, entry in draft.items()}
    for key in keys:
        if key in updated and key not in skipped:
            updated[key]["decision"] = decision
    return updated


def retry_entry(entry: dict[str, Any], failure: AuditEntry) -> dict[str, Any]:
    """The draft entry that sends a failed attempt's decision again (its type, edited arguments, message)."""
    retried = {**entry, "decision": failure.decision, "edited": "", "message": ""}
    if failure.decision == "edit" and failure.args_after is not None:
        retried["edited"] = json.dumps(failure.args_after, ensure_ascii=False)
    if failure.decision == "reject":
        retried["message"] = failure.message or ""
    return retried


def changed_keys(before: Draft, after: Draft) -> list[str]:
    """Rows whose decision, edited arguments or message differ between two drafts (or that came or went)."""
    fields = ("decision", "edited", "message")
    keys = list(dict.fromkeys([*before, *after]))
    return [
        key
        for key in keys
        if key not in before
        or key not in after
        or any(before[key].get(name) != after[key].get(name) for name in fields)
    ]


def stored_changes(before: Draft, after: Draft) -> dict[str, dict[str, Any] | None]:
    """What to write to the reviewer's stored draft: entries with intent, None for the ones that lost it."""
    out: dict[str, dict[str, Any] | None] = {}
    for key in changed_keys(before, after):
        entry = after.get(key)
        if entry is not None and has_intent(entry):
            out[key] = entry
        elif has_intent(before.get(key) or {}):
            out[key] = None
    return out


def merge_stored(draft: Draft, stored: dict[str, dict[str, Any]]) -> Draft:
    """The session's draft with the reviewer's stored entries added; what the session decided wins."""
    merged = {key: dict(entry) for key, entry in draft.items()}
    for key, entry in stored.items():
        if not _valid_stored(entry):
            continue
        if key not in merged or not has_intent(merged[key]):
            typed = {k: bounded(str(entry.get(k) or "")) for k in ("edited", "message")}
            merged[key] = {**new_entry_fields(entry), "decision": entry.get("decision"), **typed}
    return merged


def _valid_stored(entry: Any) -> bool:
    return isinstance(entry, dict) and isinstance(entry.get("thread_id"), str) and isinstance(entry.get("row_id"), str)


def new_entry_fields(entry: dict[str, Any]) -> dict[str, Any]:
    """A fresh, undecided draft entry for the row a stored entry names."""
    return {
        "thread_id": entry["thread_id"],
        "row_id": entry["row_id"],
        "tool": entry.get("tool"),
        "args": dict(entry.get("args") or {}),
        "decision": None,
        "edited": "",
        "message": "",
    }


def decision_of(entry: dict[str, Any]) -> dict[str, Any] | None:
    """The raw langchain decision a draft entry stands for, carrying every field the reviewer filled; None when
    undecided.

    The edge only translates: typed edited arguments become `edited_action` (they alone mean edit), a message
    becomes `message` (a JSON answer's `value`). Whether the fields fit the decision is the core's to say
    (review/validation.py, asked through `ReviewConsole.check_decision`), in the words the CLI gets too: an
    approve with a message reaches it as `{"type": "approve", "message": ...}`. ValueError only when typed text
    cannot be read (edited arguments that are not key=value or JSON, an answer ticked as JSON that is not).
    """
    edited = (entry.get("edited") or "").strip()
    message = (entry.get("message") or "").strip()
    kind = entry.get("decision") or ("edit" if edited else None)
    raw: dict[str, Any] = {} if kind is None else {"type": kind}
    if edited:
        raw["edited_action"] = {"name": entry.get("tool"), "args": _edited_args(entry, edited, kind)}
    if message and kind == "respond" and entry.get("json"):
        raw["value"] = _json_answer(message)
    elif message:
        raw["message"] = message
    return raw or None


def _edited_args(entry: dict[str, Any], edited: str, kind: Any) -> Any:
    """The typed arguments laid over the row's. With a decision other than edit they are refused whatever they
    say, so text that does not parse is carried as it is, for the core to name the real problem."""
    try:
        return parse_edited_args(edited, entry.get("args") or {})
    except ValueError:
        if kind == "edit":
            raise
        return edited


def _json_answer(message: str) -> Any:
    """An answer ticked "send as a JSON value", parsed (bounded first); ValueError says where it is not JSON."""
    try:
        return load_json(message, "the answer")
    except json.JSONDecodeError as exc:
        raise ValueError(f"the answer is not JSON: {exc.msg} at character {exc.pos + 1}") from None


# Why a submit would refuse a raw decision for a row (thread id, row id): `ReviewConsole.check_decision`.
Check = Callable[[str, str, dict[str, Any]], str | None]


@dataclass
class BatchPlan:
    """What a click on Submit would send, or why nothing can be sent."""

    items: list[dict[str, Any]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)  # row key of each item, same order
    errors: dict[str, str] = field(default_factory=dict)  # row key -> what to fix
    dropped: list[str] = field(default_factory=list)  # decided rows answered outside the console


def plan_batch(
    draft: Draft,
    pending_keys: Iterable[str],
    recorded: Callable[[str], set[str]] = lambda thread_id: set(),
    sending: Iterable[str] = (),
    check: Check | None = None,
) -> BatchPlan:
    """Every decided row, as one batch.

    A decided row that left the table is still sent when the console recorded a decision for it
    (someone else decided first: the batch reports who, as a conflict); one answered outside the
    console (nothing recorded) is dropped, since sending it would refuse the whole batch as stale,
    and so is one whose draft does not parse (the reviewer can no longer fix it).
    `recorded(thread_id)` gives the interrupt ids with a recorded decision in that thread.
    `check` is the core's validator (`ReviewConsole.check_decision`): a pending row it refuses is an
    error, in the words a submit would give; without it only the typed text is read here.
    """
    pending = set(pending_keys)
    in_flight = set(sending)  # sent by a batch still resuming: never twice
    plan = BatchPlan()
    recorded_by_thread: dict[str, set[str]] = {}
    for key, entry in draft.items():
        if key in in_flight:
            continue
        try:
            decision = decision_of(entry)
        except ValueError as exc:
            if key in pending:
                plan.errors[key] = str(exc)
            else:  # the reviewer can no longer see (or fix) it
                plan.dropped.append(key)
            continue
        if decision is None:
            continue
        if key in pending and check is not None:
            problem = check(entry["thread_id"], entry["row_id"], decision)
            if problem is not None:
                plan.errors[key] = problem
                continue
        if key not in pending:
            thread_id = entry["thread_id"]
            if thread_id not in recorded_by_thread:
                recorded_by_thread[thread_id] = recorded(thread_id)
            if entry["row_id"] not in recorded_by_thread[thread_id]:
                plan.dropped.append(key)
                continue
        plan.items.append({"thread_id": entry["thread_id"], "row_id": entry["row_id"], "decision": decision})
        plan.keys.append(key)
    return plan


def without(plan: BatchPlan, keys: Iterable[str]) -> BatchPlan:
    """The plan less some of its rows (the core refused them): what is sent when bad rows must not hold back the
    good ones."""
    gone = set(keys)
    kept = [(item, key) for item, key in zip(plan.items, plan.keys, strict=True) if key not in gone]
    return BatchPlan([item for item, _ in kept], [key for _, key in kept], dict(plan.errors), list(plan.dropped))


def ready_count(draft: Draft) -> int:
    """Rows with a decision that would be sent (errors included: they are shown on Submit)."""
    return sum(1 for entry in draft.values() if entry.get("decision") or (entry.get("edited") or "").strip())


@dataclass
class SubmitReport:
    """What the page shows after a submit: a total line first, then the lines worth reading, then
    per-thread details (folded); row statuses, and rows done with (dropped from the draft)."""

    level: str  # success | warning | error | info
    lines: list[str]  # lines[0] is the total
    status: dict[str, str] = field(default_factory=dict)
    done: list[str] = field(default_factory=list)  # row keys to drop from the draft
    details: list[str] = field(default_factory=list)  # one line per thread, shown folded

    @property
    def total(self) -> str:
        """The report's total line (empty when it has none)."""
        return self.lines[0] if self.lines else ""


def total_line(
    applied: int, conflicts: int, refused: int, new: int, failed: int = 0, threads: int | None = None
) -> str:
    """`Applied 3 · conflicts 0 · refused 0 · new interrupts 1` (`· not applied N` when some failed)."""
    parts = [f"Applied {applied}", f"conflicts {conflicts}", f"refused {refused}", f"new interrupts {new}"]
    if failed:
        parts.insert(3, f"not applied {failed}")
    text = " · ".join(parts)
    return f"{text} ({plural(threads, 'thread')})" if threads else text


def row_text(entry: dict[str, Any], labels: dict[str, str] | None = None) -> str:
    """`create_square(shape_id=q5, color=blue) in «Create an orange square…»`: a row named for the banner."""
    labels = labels or {}
    thread_id = entry.get("thread_id") or ""
    args = clip_text(format_args(entry.get("args") or {}), 60)
    return f"{entry.get('tool') or '(unknown payload)'}({args}) in «{labels.get(thread_id) or short_id(thread_id)}»"


def report_invalid(
    errors: dict[str, str], draft: Draft, shown: Iterable[str] = (), labels: dict[str, str] | None = None
) -> SubmitReport:
    """Nothing was sent: the total, then each refused row (its tool, arguments and thread) and the reason."""
    lines = [f"{total_line(0, 0, len(errors), 0)} — nothing was sent: fix the refused row(s) and submit again"]
    for key, error in errors.items():
        lines.append(f"{row_text(draft.get(key, {}), labels)}: {error}")
    return SubmitReport("error", lines, status=dict(errors))


def decided_text(entry: AuditEntry) -> str:
    """What a recorded decision said, in a few words: `approve`, `edit → color=yellow`, `reject: «not now»`."""
    if entry.decision == "edit" and entry.args_after is not None:
        return f"edit → {clip_text(format_args(entry.args_after), 80)}"
    if entry.message:
        return f"{entry.decision}: «{clip_text(entry.message, 80)}»"
    return entry.decision


def report_result(
    result: BatchResult,
    plan: BatchPlan,
    draft: Draft,
    labels: dict[str, str] | None = None,
    retried: Iterable[str] = (),
    refused: dict[str, str] | None = None,
    decided: dict[tuple[str, str], str] | None = None,
) -> SubmitReport:
    """A submitted batch: refused whole (invalid), or a total line, the lines worth reading, per-thread details.

    `refused`: rows of the reviewer's batch that were NOT sent (row key -> the core's reason): they stay in the
    draft, the total counts them and a line names each. `decided`: what the reviewer who won a conflict decided
    ((thread, row) -> `decided_text`), said beside who and when.
    """
    labels = labels or {}
    refused = refused or {}
    decided = decided or {}
    key_of = {(item["thread_id"], item["row_id"]): key for item, key in zip(plan.items, plan.keys, strict=True)}

    def key(thread_id: str, row_id: str) -> str:
        return key_of.get((thread_id, row_id), f"{thread_id}:{row_id}")

    def thread_name(thread_id: str) -> str:
        return f"«{labels.get(thread_id) or short_id(thread_id)}»"

    if result.invalid:
        errors = {**refused, **{key(e.thread_id, e.row_id): e.error for e in result.invalid}}
        return report_invalid(errors, draft, shown=key_of.values(), labels=labels)
    status: dict[str, str] = {}
    done: list[str] = []
    lines: list[str] = []
    details: list[str] = []
    level = "success"
    applied = conflicts = new = failed = 0
    for thread_id, outcome in result.threads.items():
        applied += len(outcome.applied)
        conflicts += len(outcome.conflicts)
        new += len(outcome.new_pending)
        failed += len(outcome.failed)
        parts = [
            f"{len(outcome.applied)} applied",
            plural(len(outcome.conflicts), "conflict"),
            plural(len(outcome.new_pending), "new interrupt"),
        ]
        if outcome.failed:
            parts.append(f"{len(outcome.failed)} not applied")
        line = f"{thread_name(thread_id)} ({short_id(thread_id)}): {', '.join(parts)}"
        if outcome.error:
            line += f"; error: {outcome.error}"
            lines.append(line)
            level = "error"
        details.append(line)
        done.extend(key(thread_id, row_id) for row_id in outcome.applied)
        for row in outcome.new_pending:  # the rows the batch raised, marked until they are decided
            status[key(thread_id, row.row_id)] = RAISED
        for conflict in outcome.conflicts:
            conflict_key = key(thread_id, conflict.row_id)
            what = decided.get((thread_id, conflict.row_id)) or conflict.decision_type
            text = f"already decided by {conflict.reviewer} at {format_time(conflict.decided_at)}: {what}"
            status[conflict_key] = text
            done.append(conflict_key)
            lines.append(f"{row_text(draft.get(conflict_key, {'thread_id': thread_id}), labels)}: {text}")
            if level == "success":
                level = "warning"
        for row_id, reason in outcome.failed.items():  # pending again: the draft keeps the decision
            status[key(thread_id, row_id)] = reason
            if not outcome.error:
                lines.append(
                    f"{row_text(draft.get(key(thread_id, row_id), {'thread_id': thread_id}), labels)}: {reason}"
                )
            level = "error"
        for row_id in outcome.taken_over + outcome.unknown:  # recorded: recovery finishes them
            status[key(thread_id, row_id)] = "recorded; recovery is applying it"
            done.append(key(thread_id, row_id))
        if outcome.error:
            applied_rows = set(outcome.applied)
            for item, item_key in zip(plan.items, plan.keys, strict=True):
                if item["thread_id"] == thread_id and item["row_id"] not in applied_rows and item_key not in status:
                    status[item_key] = outcome.error
    total = total_line(applied, conflicts, len(refused), new, failed, threads=len(result.threads))
    retries = len(set(retried) & set(plan.keys))
    if retries:
        total += f" · {plural(retries, 'retry', 'retries')}"
    if refused:  # a bad row never held back the good ones: it waits in the draft, with its reason
        lines.append(f"{plural(len(refused), 'row')} not sent, still in your draft: fix and submit again")
        lines.extend(f"{row_text(draft.get(k, {}), labels)}: {error}" for k, error in refused.items())
        status.update(refused)
        if level == "success":
            level = "warning"
    return SubmitReport(level, [total, *lines], status=status, done=done, details=details)


def report_dropped(dropped: Sequence[str], draft: Draft, labels: dict[str, str] | None = None) -> list[str]:
    """Lines for decided rows that were answered outside the console and so not sent."""
    return [
        f"{row_text(draft[key], labels)}: no longer pending (answered elsewhere); your decision was not sent"
        for key in dropped
        if key in draft
    ]
