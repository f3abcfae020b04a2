"""The pure helpers behind the pages: draft folding, editor keys, frames, batches, reports, canvas, formats."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from graph.picture import canvas_html, preview_canvas, safe_colour
from review import BatchResult, Conflict, PendingInterrupt, RowError, ThreadOutcome
from review.audit import AuditEntry
from review.pictures import proposed_call
from review.policy import Policy
from review.validation import InvalidDecision, check_request
from ui import inbox
from ui.format import format_time, format_waiting, frozen_labels, md_escape, thread_label, unique_labels

NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)


def row(thread: str, interrupt: str, tool: str = "create_circle", **args: str) -> PendingInterrupt:
    return PendingInterrupt(
        thread_id=thread,
        row_id=interrupt,
        interrupt_id=interrupt,
        tool_call_id=None,
        tool=tool,
        args=args or {"shape_id": interrupt, "color": "red"},
        description="",
        allowed_decisions=("approve", "edit", "reject"),
        raised_at=(NOW - timedelta(seconds=184)).isoformat(),
    )


A, B, C = row("t1", "a"), row("t1", "b", "create_square"), row("t2", "c", "create_triangle")


def edits(rows: dict[int, dict[str, object]]) -> dict[str, object]:
    return {"edited_rows": rows, "added_rows": [], "deleted_rows": []}


# --- draft folding and editor keys ----------------------------------------------------------


def test_positional_edits_are_folded_through_the_rendered_keys() -> None:
    draft = inbox.sync_draft({}, [A, B, C])
    rendered = [inbox.row_key(r) for r in (A, B, C)]
    folded = inbox.fold_edits(
        draft,
        rendered,
        edits({1: {"decision": "reject", "message": "no", "tool": "ignored"}, "2": {"edited arguments": "color=blue"}}),
    )
    assert folded[inbox.row_key(B)] == {**draft[inbox.row_key(B)], "decision": "reject", "message": "no"}
    assert folded[inbox.row_key(C)]["edited"] == "color=blue"
    assert folded[inbox.row_key(A)] == draft[inbox.row_key(A)]
    assert draft[inbox.row_key(B)]["decision"] is None  # the input draft is not changed in place


def test_folding_ignores_positions_outside_the_rendered_frame_and_clears_with_none() -> None:
    draft = inbox.sync_draft({}, [A, B])
    rendered = [inbox.row_key(A), inbox.row_key(B)]
    folded = inbox.fold_edits(draft, rendered, edits({0: {"decision": "approve"}, 7: {"decision": "reject"}}))
    assert [e["decision"] for e in folded.values()] == ["approve", None]
    cleared = inbox.fold_edits(folded, rendered, edits({0: {"decision": None, "message": None}}))
    assert cleared[inbox.row_key(A)]["decision"] is None and cleared[inbox.row_key(A)]["message"] == ""
    assert inbox.fold_edits(draft, rendered, None) == draft
    assert inbox.fold_edits(draft, rendered, edits({0: {"decision": "maybe"}}))[inbox.row_key(A)]["decision"] is None


def test_an_edit_typed_into_a_row_that_left_the_pending_rows_is_kept() -> None:
    """The table may still show a row answered elsewhere (held while the reviewer types): its edit is not dropped."""
    draft = inbox.sync_draft({}, [B])  # A left the pending rows: its undecided entry is gone
    rendered = [inbox.row_key(A), inbox.row_key(B)]
    folded = inbox.fold_edits(draft, rendered, edits({0: {"message": "too late?"}}), {inbox.row_key(A): A})
    assert folded[inbox.row_key(A)] == {**inbox.new_entry(A), "message": "too late?"}
    assert inbox.row_key(A) not in inbox.fold_edits(draft, rendered, edits({0: {"message": "x"}}))  # unknown row


def test_a_held_sheet_keeps_its_rows_and_order_marks_the_gone_and_counts_the_waiting() -> None:
    first = inbox.next_sheet(None, [A, B], (), hold=True)  # nothing shown yet: the live rows
    assert first.rows == (A, B) and not first.held
    held = inbox.next_sheet(first, [C, B], (), hold=True)  # A answered elsewhere, C raised, another order
    assert held.rows == (A, B) and held.gone == {inbox.row_key(A)} and held.waiting == 1 and held.held
    assert inbox.editor_key(held.keys) == inbox.editor_key(first.keys)  # same rows, same order: the same grid
    assert inbox.next_sheet(held, [C, B], (), hold=False).rows == (C, B)  # the reviewer paused: the live rows
    assert inbox.next_sheet(held, [C, B], (("create_square",), (), ()), hold=True).rows == (C, B)  # filters changed
    moved = PendingInterrupt(**{**B.__dict__, "unverified": True})
    assert inbox.next_sheet(first, [A, moved], (), hold=True).rows[1] is moved  # a shown row as it is now


def test_the_editor_key_changes_with_the_rows_their_order_and_the_generation() -> None:
    keys = ["t1:a", "t1:b"]
    assert inbox.editor_key(keys) == inbox.editor_key(list(keys))
    assert inbox.editor_key(keys).startswith(inbox.EDITOR_KEY_PREFIX)
    others = {inbox.editor_key(["t1:b", "t1:a"]), inbox.editor_key(["t1:a"]), inbox.editor_key(["t1:a", "t1:c"])}
    others.add(inbox.editor_key(keys, generation=1))
    assert inbox.editor_key(keys) not in others and len(others) == 4


def test_sync_keeps_decisions_of_rows_that_left_and_drops_the_rest() -> None:
    draft = inbox.sync_draft({}, [A, B])
    draft = inbox.apply_bulk(draft, [inbox.row_key(A)], "approve")
    synced = inbox.sync_draft(draft, [C])
    assert set(synced) == {inbox.row_key(A), inbox.row_key(C)}
    assert synced[inbox.row_key(A)]["decision"] == "approve"


def test_bulk_touches_only_the_given_rows() -> None:
    draft = inbox.sync_draft({}, [A, B, C])
    bulk = inbox.apply_bulk(draft, [inbox.row_key(B), inbox.row_key(C)], "reject")
    assert [e["decision"] for e in bulk.values()] == [None, "reject", "reject"]
    with pytest.raises(ValueError):
        inbox.apply_bulk(draft, [], "maybe")


# --- frames -----------------------------------------------------------------------------------


def test_the_frame_has_the_contract_columns_and_the_draft_merged_in() -> None:
    draft = inbox.apply_bulk(inbox.sync_draft({}, [A, B]), [inbox.row_key(B)], "approve")
    frame = inbox.build_frame([A, B], draft, {inbox.row_key(A): "already decided by bob"}, NOW)
    assert list(frame.columns) == list(inbox.COLUMNS)
    assert frame.to_dict("records")[1] == {
        "thread": "#t1",  # no request known: its short id
        "tool": "create_square",
        "arguments": "shape_id=b, color=red",
        "waiting": "3m",  # minutes: the Inbox ticks every AGE_TICK_SECONDS
        "decision": "approve",
        "edited arguments": "",
        "message": "",
        "status": "",
    }
    assert frame["status"][0] == "already decided by bob" and pd.isna(frame["decision"][0])
    empty = inbox.build_frame([], {}, {}, NOW)
    assert list(empty.columns) == list(inbox.COLUMNS)
    assert {str(t) for t in empty.dtypes} == {str(t) for t in frame.dtypes} == {"string"}  # a stable schema


def test_rows_are_grouped_by_the_decisions_they_offer_and_read_only_rows_come_last() -> None:
    question = PendingInterrupt("t3", "q", "q", None, None, {}, "Budget?", ("respond",), None, payload_kind="question")
    pair = PendingInterrupt("t3", "p", "p", None, "delete_file", {"path": "x"}, "", ("reject", "approve"), None)
    blocked = PendingInterrupt("t4", "b", "b", None, "create_circle", {}, "", ("approve",), None, blocked="no graph")
    refused = row("t5", "r")
    context = inbox.RowContext(refusals={inbox.row_key(refused): "ops decide it"})
    groups = inbox.group_rows([question, A, blocked, pair, B, refused], context)
    assert [(g.decisions, [r.row_id for r in g.rows]) for g in groups] == [
        (("respond",), ["q"]),
        (("approve", "edit", "reject"), ["a", "b"]),
        (("approve", "reject"), ["p"]),  # in the console's order, whatever order the payload gave
        ((), ["b", "r"]),
    ]
    assert [g.title for g in groups] == [
        "Questions · respond (1)",
        "Tool calls · approve, edit or reject (2)",
        "Tool calls · approve or reject (1)",
        "Read-only (2): cannot be decided here; the status says why",
    ]
    assert groups[0].columns == ["tool", "arguments", "thread", "decision", "message", "status", "waiting"]
    assert groups[0].answers and not groups[1].answers
    assert groups[2].columns == ["tool", "arguments", "thread", "decision", "message", "status", "waiting"]
    assert groups[1].columns == list(inbox.COLUMNS)
    assert groups[3].columns == ["tool", "arguments", "thread", "status", "waiting"]

    choice = inbox.bulk_choice(groups, "approve", failed=[inbox.row_key(B)])
    assert choice.keys == [inbox.row_key(A), inbox.row_key(pair)]
    assert choice.note() == (
        "Approve: 2 rows marked; 4 skipped: 1 question, 1 whose last attempt failed (retry on its card), 2 read-only"
    )
    assert inbox.bulk_choice(groups[1:2], "reject").note() == "Reject: 2 rows marked"
    assert (
        inbox.bulk_choice(groups, "edit").note()
        == "Edit: 2 rows marked; 4 skipped: 1 question, 1 without edit, 2 read-only"
    )


def test_the_policy_takes_decisions_away_and_several_graphs_get_a_table_each() -> None:
    limited = inbox.RowContext(offered={inbox.row_key(A): ("approve", "reject")})
    assert [(g.decisions, g.keys) for g in inbox.group_rows([A, B], limited)] == [
        (("approve", "reject"), [inbox.row_key(A)]),  # edit taken away by the policy: not offered
        (("approve", "edit", "reject"), [inbox.row_key(B)]),
    ]
    ours, theirs = replace(A, graph_id="shapes"), replace(C, graph_id="tidy")
    groups = inbox.group_rows([ours, theirs], inbox.RowContext(several_graphs=True))
    assert [(g.graph, g.title) for g in groups] == [
        ("shapes", "shapes · Tool calls · approve, edit or reject (1)"),
        ("tidy", "tidy · Tool calls · approve, edit or reject (1)"),
    ]
    frame = inbox.build_frame([ours], {}, {}, NOW, inbox.RowContext(several_graphs=True))
    assert frame["tool"][0] == "create_circle"  # the title names the graph; the filter's label still does too
    assert inbox.tool_label(ours, inbox.RowContext(several_graphs=True)) == "shapes: create_circle"


def test_the_thread_column_tells_apart_threads_whose_requests_read_the_same() -> None:
    cells = inbox.thread_cells(
        {"aaaaaaa1": "Create a red circle c1", "bbbbbbb2": "Create a red circle c1", "c3": "Draw", "d4": None}
    )
    assert cells == {
        "aaaaaaa1": "#aaaaaa · Create a red circle c1",  # the id first: a cut cell still shows it
        "bbbbbbb2": "#bbbbbb · Create a red circle c1",
        "c3": "Draw",
        "d4": "#d4",
    }


def test_rows_without_arguments_show_their_description_and_restricted_rows_say_so() -> None:
    confirm = PendingInterrupt(
        "t9", "z", "z", None, "clear_canvas", {}, "Confirm: remove 2 shapes?", ("approve", "reject"), None
    )
    frame = inbox.build_frame([confirm], {}, {}, NOW)
    assert frame["arguments"][0] == "(no arguments) Confirm: remove 2 shapes?"
    assert frame["status"][0] == "allowed: approve, reject" and frame["waiting"][0] == "?"


def test_filters_keep_rows_of_the_chosen_tools_and_threads() -> None:
    assert inbox.filter_rows([A, B, C]) == [A, B, C]
    assert inbox.filter_rows([A, B, C], tools=["create_square", "create_triangle"]) == [B, C]
    assert inbox.filter_rows([A, B, C], threads=["t1"]) == [A, B]
    assert inbox.filter_rows([A, B, C], tools=["create_triangle"], threads=["t1"]) == []


# --- batches ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "decision"),
    [
        ({}, None),
        ({"decision": "approve"}, {"type": "approve"}),
        ({"decision": "reject"}, {"type": "reject"}),
        ({"decision": "reject", "message": " not now "}, {"type": "reject", "message": "not now"}),
        (
            {"edited": "color=blue"},
            {"type": "edit", "edited_action": {"name": "create_circle", "args": {"shape_id": "a", "color": "blue"}}},
        ),
        (
            {"decision": "edit", "edited": '{"shape_id": "z"}'},
            {"type": "edit", "edited_action": {"name": "create_circle", "args": {"shape_id": "z", "color": "red"}}},
        ),
        # The edge translates, it does not judge: what the reviewer filled reaches the core as typed.
        ({"decision": "approve", "message": " why "}, {"type": "approve", "message": "why"}),
        ({"message": "x"}, {"message": "x"}),
        (
            {"decision": "reject", "edited": "color=blue"},
            {"type": "reject", "edited_action": {"name": "create_circle", "args": {"shape_id": "a", "color": "blue"}}},
        ),
        (
            {"decision": "approve", "edited": "not key value"},
            {"type": "approve", "edited_action": {"name": "create_circle", "args": "not key value"}},
        ),  # refused whatever it says: carried as typed
        ({"decision": "edit"}, {"type": "edit"}),
        ({"decision": "respond"}, {"type": "respond"}),
        ({"decision": "respond", "message": "42", "json": True}, {"type": "respond", "value": 42}),
    ],
)
def test_an_entry_becomes_a_langchain_decision(entry: dict[str, str], decision: dict[str, object] | None) -> None:
    assert inbox.decision_of({**inbox.new_entry(A), **entry}) == decision


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        ({"decision": "edit"}, "an edit needs edited arguments"),
        ({"decision": "edit", "edited": "color"}, "is not key=value"),
        ({"decision": "approve", "edited": "color=blue"}, "edited arguments are only sent with edit"),
        ({"decision": "reject", "edited": "color=blue"}, "edited arguments are only sent with edit"),
        ({"decision": "approve", "message": "x"}, "a message is only sent with reject"),
        ({"message": "x"}, "choose a decision"),
        ({"decision": "respond", "message": "{", "json": True}, "the answer is not JSON"),
    ],
)
def test_an_entry_that_cannot_be_sent_says_why(entry: dict[str, str], error: str) -> None:
    """Typed text that does not parse is the edge's to say; every other refusal is the core validator's."""
    assert error in refusal(A, {**inbox.new_entry(A), **entry})


def refusal(target: PendingInterrupt, entry: dict[str, object]) -> str:
    """Why the draft entry cannot be sent: the edge's parse error, else the core validator's (the one a submit uses)."""
    try:
        raw = inbox.decision_of(entry)
    except ValueError as exc:
        return str(exc)
    with pytest.raises(InvalidDecision) as caught:
        check_request(target, raw, {}, None, Policy())
    return str(caught.value)


def check_rows(*rows: PendingInterrupt) -> inbox.Check:
    """The core's validator over these rows, as `ReviewConsole.check_decision` asks it (open policy, no tools)."""
    by_key = {(r.thread_id, r.row_id): r for r in rows}

    def check(thread_id: str, row_id: str, raw: dict[str, object]) -> str | None:
        try:
            check_request(by_key[thread_id, row_id], raw, {}, None, Policy())
        except InvalidDecision as exc:
            return str(exc)
        return None

    return check


def test_the_plan_sends_decided_rows_keeps_errors_and_drops_rows_answered_elsewhere() -> None:
    draft = inbox.sync_draft({}, [A, B, C])
    draft = inbox.fold_edits(
        draft,
        [inbox.row_key(r) for r in (A, B, C)],
        edits({0: {"decision": "approve"}, 1: {"decision": "edit"}}),
    )
    plan = inbox.plan_batch(draft, [inbox.row_key(r) for r in (A, B, C)], check=check_rows(A, B, C))
    assert plan.items == [{"thread_id": "t1", "row_id": "a", "decision": {"type": "approve"}}]
    assert plan.errors == {
        inbox.row_key(B): 'an edit needs edited arguments: key=value pairs or a JSON object ("edited_action": '
        '{"name": ..., "args": {...}})'
    }

    # A and B left the table: A was decided in the console (a conflict to report), B elsewhere.
    asked: list[str] = []

    def recorded(thread_id: str) -> set[str]:
        asked.append(thread_id)
        return {"a"}

    draft = inbox.apply_bulk(draft, [inbox.row_key(B)], "reject")
    plan = inbox.plan_batch(draft, [inbox.row_key(C)], recorded)
    assert plan.keys == [inbox.row_key(A)] and plan.dropped == [inbox.row_key(B)] and asked == ["t1"]


def test_reports_summarise_per_thread_and_mark_rows() -> None:
    draft = inbox.apply_bulk(inbox.sync_draft({}, [A, B, C]), [inbox.row_key(r) for r in (A, B, C)], "approve")
    plan = inbox.plan_batch(draft, [inbox.row_key(r) for r in (A, B, C)])
    result = BatchResult(
        "batch",
        threads={
            "t1": ThreadOutcome(
                "t1",
                applied=["a"],
                conflicts=[Conflict("t1", "b", "bob", "2025-01-01T11:59:58.123+00:00", "approve")],
                new_pending=[row("t1", "d")],
            ),
            "t2": ThreadOutcome("t2", error="run failed: boom"),
        },
    )
    report = inbox.report_result(
        result, plan, draft, labels={"t1": "Draw shapes · 3m"}, decided={("t1", "b"): "edit → color=blue"}
    )
    assert report.level == "error"
    assert report.lines == [  # the total first, then what needs reading (a conflict says what bob decided)
        "Applied 1 · conflicts 1 · refused 0 · new interrupts 1 (2 threads)",
        "create_square(shape_id=b, color=red) in «Draw shapes · 3m»: already decided by bob at "
        "2025-01-01 11:59:58 UTC: edit → color=blue",
        "«t2» (t2): 0 applied, 0 conflicts, 0 new interrupts; error: run failed: boom",
    ]
    assert report.details == [  # folded: one line per thread
        "«Draw shapes · 3m» (t1): 1 applied, 1 conflict, 1 new interrupt",
        "«t2» (t2): 0 applied, 0 conflicts, 0 new interrupts; error: run failed: boom",
    ]
    assert report.status == {
        inbox.row_key(B): "already decided by bob at 2025-01-01 11:59:58 UTC: edit → color=blue",
        inbox.row_key(C): "run failed: boom",
        "t1:d": inbox.RAISED,  # the row the batch raised, marked until decided
    }
    assert report.done == [inbox.row_key(A), inbox.row_key(B)]
    # Without the words, the conflict's decision type.
    assert inbox.report_result(result, plan, draft).lines[1].endswith("11:59:58 UTC: approve")

    # Rows not sent (refused) stay out of `done`, and the banner says both what was applied and what waits.
    sent = inbox.without(plan, [inbox.row_key(C)])
    assert sent.keys == [inbox.row_key(A), inbox.row_key(B)]
    partial = inbox.report_result(
        BatchResult("p", threads={"t1": ThreadOutcome("t1", applied=["a", "b"])}),
        sent,
        draft,
        refused={inbox.row_key(C): "bad colour"},
    )
    assert (partial.level, partial.lines) == (
        "warning",
        [
            "Applied 2 · conflicts 0 · refused 1 · new interrupts 0 (1 thread)",
            "1 row not sent, still in your draft: fix and submit again",
            "create_triangle(shape_id=c, color=red) in «t2»: bad colour",
        ],
    )
    assert partial.done == [inbox.row_key(A), inbox.row_key(B)] and partial.status == {inbox.row_key(C): "bad colour"}

    refused = inbox.report_result(BatchResult("x", invalid=[RowError("t2", "c", "bad colour")]), plan, draft)
    assert (refused.level, refused.lines) == (
        "error",
        [
            "Applied 0 · conflicts 0 · refused 1 · new interrupts 0 — nothing was sent: fix the refused row(s) and "
            "submit again",
            "create_triangle(shape_id=c, color=red) in «t2»: bad colour",  # the reason, in the banner
        ],
    )
    assert refused.status == {inbox.row_key(C): "bad colour"}


def test_what_a_recorded_decision_said_in_a_few_words() -> None:
    entry = AuditEntry(
        1, NOW.isoformat(), "ann", "ann", None, "unverified", None, "t1", "a", "a", "create_circle", "edit",
        {"shape_id": "a", "color": "red"}, {"shape_id": "a", "color": "blue"}, None, "applied", None, None,
        False, None, None, "b1",
    )  # fmt: skip
    assert inbox.decided_text(entry) == "edit → shape_id=a, color=blue"
    assert inbox.decided_text(replace(entry, decision="reject", args_after=None, message="not now")) == (
        "reject: «not now»"
    )
    assert inbox.decided_text(replace(entry, decision="approve", args_after=None)) == "approve"


# --- canvas and formats ---------------------------------------------------------------------------


def test_the_canvas_draws_each_kind_in_its_colour_with_its_label() -> None:
    html = canvas_html(
        [
            {"shape_id": "c1", "kind": "circle", "color": "red"},
            {"shape_id": "s1", "kind": "square", "color": "#00AA00"},
            {"shape_id": "t1", "kind": "triangle", "color": "grey"},
        ]
    )
    assert html.startswith('<div data-testid="canvas" role="img" aria-label="Canvas with 3 shape(s)"')
    circle = re.search(r'<div data-shape-id="c1" data-kind="circle" data-fill="red" style="([^"]*)"', html)
    square = re.search(r'<div data-shape-id="s1" data-kind="square" data-fill="#00aa00" style="([^"]*)"', html)
    triangle = re.search(r'<div data-shape-id="t1" data-kind="triangle" data-fill="grey" style="([^"]*)"', html)
    assert circle and "background:red" in circle[1] and "border-radius:50%" in circle[1]
    assert square and "background:#00aa00" in square[1] and "border-radius" not in square[1]
    assert triangle and "clip-path:polygon(50% 0,100% 100%,0 100%)" in triangle[1]
    assert re.findall(r"<figcaption[^>]*>([^<]*)</figcaption>", html) == ["c1", "s1", "t1"]
    assert "The canvas is empty" in canvas_html([]) and 'aria-label="Empty canvas"' in canvas_html([])


def test_the_canvas_escapes_every_value_and_only_uses_known_colours() -> None:
    html = canvas_html([{"shape_id": '"><script>alert(1)</script>', "kind": "<b>", "color": "red;background:url(x)"}])
    assert "<script" not in html and "<b>" not in html and "url(" not in html
    assert 'data-shape-id="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in html
    assert 'data-kind="&lt;b&gt;" data-fill="gray"' in html and "border:2px dashed" in html
    assert [safe_colour(c) for c in ("Blue", " #ABCDEF ", "#abc", "rgb(1,2,3)", None)] == [
        "blue",
        "#abcdef",
        "gray",
        "gray",
        "gray",
    ]


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0s"), (12.9, "12s"), (184, "3m 4s"), (7500, "2h 5m"), (97200, "1d 3h"), (-5, "0s")]
)
def test_waiting_times_are_short(seconds: float, text: str) -> None:
    assert format_waiting(seconds) == text


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "<1m"), (59.9, "<1m"), (184, "3m"), (7500, "2h 5m"), (97200, "1d 3h")]
)
def test_waiting_in_minutes_never_shows_seconds_that_stand_still(seconds: float, text: str) -> None:
    assert format_waiting(seconds, minutes_only=True) == text


def test_times_and_markdown_escaping() -> None:
    assert format_time("2025-01-01T13:00:00.5+01:00") == "2025-01-01 12:00:00 UTC"
    assert format_time("not a time") == "not a time"
    assert md_escape("<img src=x> *a* [l](u) :red[x] $x$") == (r"&lt;img src=x&gt; \*a\* \[l\]\(u\) \:red\[x\] \$x\$")


def test_a_row_state_is_failed_then_running_then_waiting() -> None:
    failure = AuditEntry(
        attempt_id=1, decided_at="2025-01-01T11:00:00+00:00", reviewer="ann", identity="ann", issuer=None,
        verification="unverified", co_signers=None, thread_id="t1", row_id="a", interrupt_id="a",
        tool="create_circle", decision="approve", args_before=None, args_after=None, message=None,
        status="failed", applied_at=None, error="boom", rerun=False, recovered_from=None, warning=None, batch_id="b",
    )  # fmt: skip
    context = inbox.RowContext(failures={inbox.row_key(A): failure}, running={"t1", "t2"})
    assert [inbox.row_state(r, context) for r in (A, B, C)] == [inbox.FAILED, inbox.RUNNING, inbox.RUNNING]
    assert inbox.filter_rows([A, B, C], states=[inbox.RUNNING], context=context) == [B, C]
    assert inbox.status_text(A, {}, context) == "failed: boom (ann, 2025-01-01 11:00:00 UTC)"
    assert inbox.status_text(B, {}, context) == "run in progress"
    assert inbox.row_state(C, inbox.RowContext()) == inbox.WAITING
    retried = inbox.retry_entry(inbox.new_entry(A), failure)
    assert inbox.decision_of(retried) == {"type": "approve"}
    assert (
        inbox.apply_bulk(
            inbox.sync_draft({}, [A, B]), [inbox.row_key(A), inbox.row_key(B)], "reject", skip=[inbox.row_key(A)]
        )[inbox.row_key(A)]["decision"]
        is None
    )


def test_thread_labels_name_a_thread_by_its_request_and_age() -> None:
    started = (NOW - timedelta(minutes=3, seconds=20)).isoformat()
    assert thread_label("1a2b3c4d5e", "Create a red circle c1, a blue square s1 and more", started, NOW) == (
        "Create a red circle c1, a blue… · 3m"
    )
    assert thread_label("1a2b3c4d5e", "", None, NOW) == "thread 1a2b3c4d"
    assert unique_labels({"aaaaaaaa1": "Same · 1m", "bbbbbbbb2": "Same · 1m", "c": "Other"}) == {
        "aaaaaaaa1": "Same · 1m · #aaaaaaaa",
        "bbbbbbbb2": "Same · 1m · #bbbbbbbb",
        "c": "Other",
    }
    frozen: dict[str, str] = {}
    assert frozen_labels(frozen, {"t": "Draw · 1m"}) == {"t": "Draw · 1m"}
    assert frozen_labels(frozen, {"t": "Draw · 2m"}) == {"t": "Draw · 1m"}  # a widget option keeps its text


def test_the_preview_adds_approved_and_edited_shapes_and_leaves_rejected_ones_out() -> None:
    circle, square, triangle = row("t", "a"), row("t", "b", "create_square"), row("t", "c", "create_triangle")
    decisions = {
        inbox.row_key(circle): {"type": "approve"},
        inbox.row_key(square): {
            "type": "edit",
            "edited_action": {"name": "create_square", "args": {"shape_id": "b", "color": "yellow"}},
        },
        inbox.row_key(triangle): {"type": "reject"},
    }
    preview = preview_canvas(
        [{"shape_id": "old", "kind": "circle", "color": "red"}],
        [proposed_call(r, decisions[inbox.row_key(r)]) for r in (circle, square, triangle)],
    )
    assert preview.shapes == [
        {"shape_id": "old", "kind": "circle", "color": "red"},
        {"shape_id": "a", "kind": "circle", "color": "red", "preview": "new"},
        {"shape_id": "b", "kind": "square", "color": "yellow", "preview": "new"},
    ]
    html = canvas_html(preview.shapes)
    assert 'data-shape-id="b" data-kind="square" data-fill="yellow" data-preview="new"' in html
    assert 'data-shape-id="old" data-kind="circle" data-fill="red" style=' in html  # as drawn today
