"""The storage contract: each `Storage` method (review/storage/base.py) on its own, on SQLite and PostgreSQL.

The review core's tests exercise storage through the console; these hold every method to what the protocol
promises, directly, so a backend (or the SQL they share, review/storage/sql.py) cannot drift unnoticed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.types import Interrupt

from review import Settings
from review.storage import LEASE_TOKEN_KEY, LeaseLost, LeaseRow, NewDecision, Storage, StoreError, open_storage
from tests.helpers import new_decision

NOW = "2026-12-05T10:00:00+00:00"
LATER = "2026-12-05T10:05:00+00:00"


@pytest.fixture
def storage(store_url: str) -> Iterator[Storage]:
    opened = open_storage(Settings(db=store_url), create=True)
    yield opened
    opened.close()


def _claim(storage: Storage, *decisions: NewDecision, owner: str = "host:1:a", batch: str = "b1") -> Any:
    return storage.claim(list(decisions), batch, owner, time.time() + 60, NOW)


def _checkpoint(storage: Storage, thread_id: str, *, interrupt: bool = True, token: str | None = None) -> str:
    """Save a root checkpoint of `thread_id` naming graph "demo", with an interrupt write; its id."""
    config: Any = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    if token is not None:
        config["configurable"][LEASE_TOKEN_KEY] = token
    checkpoint = empty_checkpoint()
    metadata: Any = {"graph_id": "demo", "source": "input", "step": -1}
    saved = storage.saver.put(config, checkpoint, metadata, {})
    if token is not None:
        saved["configurable"][LEASE_TOKEN_KEY] = token
    if interrupt:
        storage.saver.put_writes(saved, [("__interrupt__", [Interrupt(value="ok?", id="i1")])], "task-1", "")
    return str(checkpoint["id"])


# --- what a store is ------------------------------------------------------------------------------------


def test_a_new_store_says_what_it_is(storage: Storage, store_url: str) -> None:
    assert storage.created and not storage.read_only
    assert "password" not in storage.label.lower()
    assert storage.writes_table in ("writes", "checkpoint_writes")
    assert storage.pushes_changes == store_url.startswith("postgresql://")
    assert storage.health() == []
    assert storage.query("SELECT COUNT(*) AS n FROM review_decisions")[0]["n"] == 0


def test_reopening_does_not_create_and_a_missing_store_is_refused(store_url: str, tmp_path: Any) -> None:
    open_storage(Settings(db=store_url), create=True).close()
    again = open_storage(Settings(db=store_url), create=False)
    try:
        assert not again.created
    finally:
        again.close()
    with pytest.raises(StoreError, match="no review database"):
        open_storage(Settings(db=str(tmp_path / "missing.sqlite")), create=False)


# --- decisions ----------------------------------------------------------------------------------------


def test_claim_records_and_holders_name_the_holder(storage: Storage) -> None:
    claimed, held, waiting = _claim(storage, new_decision("i1"))
    assert (claimed, held, waiting) == (["i1"], {}, {})
    holders = storage.holders("t1", ["i1", "i2"])
    assert list(holders) == ["i1"]
    assert (holders["i1"].reviewer, holders["i1"].decision_type, holders["i1"].status) == ("ana", "approve", "claimed")
    assert storage.holders("t1", []) == {} and storage.holders("other", ["i1"]) == {}
    assert _claim(storage, new_decision("i1", reviewer="bo")) == ([], {"i1": holders["i1"]}, {})


def test_a_batched_requests_part_held_holds_all_its_parts(storage: Storage) -> None:
    assert _claim(storage, new_decision("i1#0"))[0] == ["i1#0"]
    claimed, held, _ = _claim(storage, new_decision("i1#1", reviewer="bo"), new_decision("i2", reviewer="bo"))
    assert claimed == ["i2"]
    assert held["i1#1"].row_id == "i1#0" and held["i1#1"].reviewer == "ana"


def test_claim_of_nothing_is_nothing(storage: Storage) -> None:
    assert storage.claim([], "b", "o", 0.0, NOW) == ([], {}, {})


def test_co_signs_wait_until_enough_distinct_people_agree(storage: Storage) -> None:
    first = _claim(storage, new_decision("i1", approvals=2, identity="ana@x.org"))
    assert first[0] == [] and first[2]["i1"].names == ("ana",) and first[2]["i1"].needed == 2
    signs = storage.cosigns()
    assert list(signs) == [("t1", "i1")] and signs[("t1", "i1")][0].identity == "ana@x.org"
    assert storage.cosigns("other") == {}
    again = _claim(storage, new_decision("i1", approvals=2, identity="ANA@x.org"))  # the same person
    assert again[2]["i1"].repeated and len(storage.cosigns()[("t1", "i1")]) == 1
    done = _claim(storage, new_decision("i1", reviewer="bo", approvals=2, identity="bo@x.org"))
    assert done[0] == ["i1"] and storage.cosigns() == {}
    statuses = {d["status"]: d for d in storage.decisions()}
    assert statuses["claimed"]["co_signers"] == "ana, bo" and "cosigned" in statuses


def _statements(storage: Storage, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The statements storage runs from now on (each `_run`; each `_many` and `_insert_rows` as one)."""
    ran: list[str] = []
    run, many, insert = storage._run, storage._many, storage._insert_rows

    def counted_run(conn: Any, sql: str, params: tuple[Any, ...] = ()) -> Any:
        ran.append(sql)
        return run(conn, sql, params)

    def counted_many(conn: Any, sql: str, rows: Any) -> None:
        ran.append(sql)
        many(conn, sql, rows)

    def counted_insert(conn: Any, table: str, columns: Any, rows: Any) -> None:
        before = len(ran)
        insert(conn, table, columns, rows)
        del ran[before:]  # one statement, however the backend runs it (an executemany, a COPY)
        ran.append(f"INSERT INTO {table}")

    monkeypatch.setattr(storage, "_run", counted_run)
    monkeypatch.setattr(storage, "_many", counted_many)
    monkeypatch.setattr(storage, "_insert_rows", counted_insert)
    return ran


def test_a_claim_runs_the_same_statements_for_one_row_or_fifty(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each statement is a round trip on PostgreSQL: a batch of 50 must not cost 100 of them.
    _claim(storage, new_decision("w1", approvals=2, identity="ana@x.org"))  # a co-sign waiting on one of the rows
    ran = _statements(storage, monkeypatch)
    claimed, _, waiting = _claim(storage, *[new_decision(f"i{n}") for n in range(50)])
    assert len(claimed) == 50 and not waiting
    fifty = len(ran)
    ran.clear()
    done = _claim(storage, new_decision("w1", reviewer="bo", approvals=2, identity="bo@x.org"), batch="b2")
    assert done[0] == ["w1"]
    assert fifty <= 3 and len(ran) == fifty + 1  # holders, co-signs, the inserts (+ the co-sign it settles)
    claims = storage.claims("t1", "host:1:a", "b1")
    assert [c.row_id for c in claims] == [f"i{n}" for n in range(50)]  # attempt ids follow the decisions
    assert [d["status"] for d in storage.decisions(thread_id="t1") if d["row_id"] == "w1"] == ["claimed", "cosigned"]


def test_a_claim_records_every_field_as_given(storage: Storage) -> None:
    awkward = 'tab\there, line\nbreak, back\\slash, \\N, "quotes", NULL, é, 🙂, \x01'
    decision = replace(new_decision("i1", raised_at=LATER, issuer="https://id"), message=awkward, args_after=awkward)
    _claim(storage, decision)
    (row,) = storage.decisions()
    assert (row["message"], row["args_after"], row["warning"], row["raised_at"]) == (awkward, awkward, None, LATER)
    assert (row["issuer"], row["batch_id"], row["status"], row["owner"], row["decided_at"]) == (
        "https://id",
        "b1",
        "claimed",
        "host:1:a",
        NOW,
    )
    assert row["lease_until"] > time.time() and row["tries"] == 0 and row["resume_started_at"] is None


def test_a_row_named_twice_in_one_claim_sees_what_the_first_decision_recorded(storage: Storage) -> None:
    claimed, _, waiting = _claim(
        storage,
        new_decision("i1", approvals=2, identity="ana@x.org"),
        new_decision("i1", reviewer="bo", approvals=2, identity="bo@x.org"),
    )
    assert claimed == ["i1"] and waiting["i1"].names == ("ana",)  # the first waited, the second completed it
    statuses = [(d["reviewer"], d["status"], d["co_signers"]) for d in storage.decisions(thread_id="t1")]
    assert sorted(statuses) == [("ana", "cosigned", None), ("bo", "claimed", "ana, bo")]


def test_a_failing_claim_records_none_of_its_rows(storage: Storage) -> None:
    _claim(storage, new_decision("i2", approvals=2, identity="ana@x.org"))
    with pytest.raises(StoreError):  # the same row claimed twice in one call: the holding index refuses it
        _claim(
            storage,
            new_decision("i1"),
            new_decision("i2", reviewer="bo", approvals=2, identity="bo@x.org"),
            new_decision("i1"),
        )
    assert [(d["row_id"], d["status"]) for d in storage.decisions()] == [("i2", "cosign")]


def test_claims_lists_an_owners_claims_by_batch(storage: Storage) -> None:
    _claim(storage, new_decision("i1"), batch="b1")
    _claim(storage, new_decision("i2"), batch="b2")
    _claim(storage, new_decision("i3"), owner="someone-else")
    mine = storage.claims("t1", "host:1:a")
    assert [c.row_id for c in mine] == ["i1", "i2"]
    assert [c.row_id for c in storage.claims("t1", "host:1:a", "b2")] == ["i2"]
    first = mine[0]
    assert (first.interrupt_id, first.tool_call_id, first.resume_json) == ("i1", "call-i1", '{"type": "approve"}')
    assert not first.resume_started and first.tries == 0


def test_start_resume_marks_the_attempts_and_gives_the_threads_decision_keys_in_one_transaction(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    _claim(storage, new_decision("i1"), new_decision("i2", reviewer="bo"))
    _claim(storage, new_decision("i9", thread_id="t2"))
    _, second = storage.claims("t1", "host:1:a")
    began: list[int] = []
    transaction = storage.transaction

    def counted() -> Any:
        began.append(1)
        return transaction()

    monkeypatch.setattr(storage, "transaction", counted)
    keys = storage.start_resume("t1", [second.attempt_id], NOW)
    assert began == [1] and keys == storage.decision_keys("t1") == [("call-i1", "i1", "i1"), ("call-i2", "i2", "i2")]
    marked = {c.row_id: (c.resume_started, c.tries) for c in storage.claims("t1", "host:1:a")}
    assert marked == {"i1": (False, 0), "i2": (True, 1)}
    storage.start_resume("t1", [second.attempt_id], LATER)  # counts the try again, keeps the first time
    assert storage.claims("t1", "host:1:a")[1].tries == 2
    assert {d["row_id"]: d["resume_started_at"] for d in storage.decisions(thread_id="t1")}["i2"] == NOW


def test_finish_records_only_what_the_owner_still_holds(storage: Storage) -> None:
    _claim(storage, new_decision("i1"), new_decision("i2"))
    ids = [c.attempt_id for c in storage.claims("t1", "host:1:a")]
    assert storage.finish([], "host:1:a", status="applied", error=None, at=NOW) == 0
    assert storage.finish(ids, "not-the-owner", status="applied", error=None, at=NOW) == 0
    assert storage.finish(ids, "host:1:a", status="applied", error=None, at=NOW, rerun=True) == 2
    assert storage.finish(ids, "host:1:a", status="failed", error="late", at=NOW) == 0
    rows = storage.decisions()
    assert {(r["status"], r["applied_by"], r["rerun"], r["applied_at"]) for r in rows} == {
        ("applied", "host:1:a", 1, NOW)
    }


def test_finish_records_the_outcome_checks_with_the_outcome(storage: Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    _claim(storage, new_decision("i1"), new_decision("i2"), new_decision("i3"))
    first, second, third = (c.attempt_id for c in storage.claims("t1", "host:1:a"))
    checks = {first: "verified", second: "contradicted: ran twice", 999_999: "verified"}
    assert storage.finish([first, second], "not-the-owner", status="applied", error=None, at=NOW, verdicts=checks) == 0
    assert {r["outcome_check"] for r in storage.decisions()} == {None}  # not held: neither outcome nor check
    done = storage.finish([first, second, third], "host:1:a", status="applied", error=None, at=NOW, verdicts=checks)
    assert done == 3  # with or without a check of its own
    rows = {r["attempt_id"]: (r["status"], r["applied_by"], r["outcome_check"]) for r in storage.decisions()}
    assert rows == {
        first: ("applied", "host:1:a", "verified"),
        second: ("applied", "host:1:a", "contradicted: ran twice"),
        third: ("applied", "host:1:a", None),
    }
    assert [f["row_id"] for f in storage.last_failures()] == ["i2"]
    # One transaction: when the checks cannot be written, the outcome is not recorded either.
    _claim(storage, new_decision("i4"), new_decision("i5"), batch="b2")
    fourth, fifth = storage.claims("t1", "host:1:a", "b2")

    def refused(*args: Any) -> int:
        raise storage.errors[0]("the disk is full")

    monkeypatch.setattr(storage, "_set_verdicts", refused)
    with pytest.raises(StoreError, match="the disk is full"):
        storage.finish(
            [fourth.attempt_id, fifth.attempt_id],
            "host:1:a",
            status="applied",
            error=None,
            at=NOW,
            verdicts={fifth.attempt_id: "verified"},
        )
    assert storage.claims("t1", "host:1:a", "b2") == [fourth, fifth]


def test_released_claims_are_abandoned_and_taken_over_once(storage: Storage) -> None:
    _claim(storage, new_decision("i1"))
    (claim,) = storage.claims("t1", "host:1:a")
    storage.release_claims([claim.attempt_id], "host:1:a")
    assert storage.claims("t1", "host:1:a") == []
    (found,) = storage.abandoned_claims(lambda owner, until: owner == "" and until == 0)
    assert found.attempt_id == claim.attempt_id and found.owner == ""
    assert storage.abandoned_claims(lambda owner, until: False) == []
    assert storage.take_over_claims([found], "host:2:b", time.time() + 60) == [found]
    assert storage.take_over_claims([found], "host:3:c", time.time() + 60) == []  # the owner moved on
    (row,) = storage.decisions()
    assert (row["owner"], row["recovered_from"]) == ("host:2:b", "host:1:a")


def test_decision_keys_and_decisions_filter(storage: Storage) -> None:
    _claim(storage, new_decision("i1"), new_decision("i2", reviewer="bo"))
    _claim(storage, new_decision("i9", thread_id="t2"))
    assert storage.decision_keys("t1") == [("call-i1", "i1", "i1"), ("call-i2", "i2", "i2")]
    assert [d["row_id"] for d in storage.decisions(reviewer="bo")] == ["i2"]
    assert [d["row_id"] for d in storage.decisions(thread_id="t2")] == ["i9"]
    assert [d["attempt_id"] for d in storage.decisions()] == sorted(
        (d["attempt_id"] for d in storage.decisions()), reverse=True
    )


# --- leases -------------------------------------------------------------------------------------------


def test_acquire_lease_asks_before_taking_another_owners_lease(storage: Storage) -> None:
    assert storage.acquire_lease("t1", "a", "tok-a", time.time() + 60, "start", lambda row: False, NOW) is None
    (lease,) = storage.leases()
    assert (lease.owner, lease.token, lease.kind, lease.state, lease.since, lease.tries) == (
        "a",
        "tok-a",
        "start",
        "running",
        NOW,
        0,
    )
    current = storage.acquire_lease("t1", "b", "tok-b", time.time() + 60, "resume", lambda row: False, NOW)
    assert isinstance(current, LeaseRow) and current.token == "tok-a"
    seen: list[LeaseRow] = []

    def may_take(row: LeaseRow) -> bool:
        seen.append(row)
        return True

    assert storage.acquire_lease("t1", "b", "tok-b", 1.0, "resume", may_take, LATER) is None
    assert seen[0].owner == "a" and storage.leases()[0].token == "tok-b"


def test_take_over_lease_is_a_compare_and_set(storage: Storage) -> None:
    storage.acquire_lease("t1", "a", "tok-a", 1.0, "start", lambda row: True, NOW)
    (found,) = storage.leases()
    assert storage.take_over_lease(found, "r", "tok-r", time.time() + 60, "recover", LATER)
    assert not storage.take_over_lease(found, "s", "tok-s", time.time() + 60, "recover", LATER)
    (lease,) = storage.leases()
    assert (lease.owner, lease.token, lease.kind, lease.tries, lease.since) == ("r", "tok-r", "recover", 1, LATER)


def test_end_lease_drops_or_leaves_it_to_recovery(storage: Storage) -> None:
    storage.acquire_lease("t1", "a", "tok-a", time.time() + 60, "start", lambda row: True, NOW)
    storage.acquire_lease("t2", "a", "tok-2", time.time() + 60, "start", lambda row: True, NOW)
    storage.end_lease("t1", "wrong-token", state=None)
    storage.end_lease("t1", "tok-a", state=None)
    storage.end_lease("t2", "tok-2", state="cut_short", checkpoint_id="cp-1", error="killed")
    (left,) = storage.leases()
    assert (left.thread_id, left.owner, left.lease_until, left.state, left.checkpoint_id, left.error) == (
        "t2",
        "",
        0,
        "cut_short",
        "cp-1",
        "killed",
    )
    storage.mark_continued("t2", "tok-2", "cp-2")
    assert (storage.leases()[0].kind, storage.leases()[0].checkpoint_id) == ("continue", "cp-2")


def test_heartbeat_extends_and_names_the_tokens_lost(storage: Storage) -> None:
    storage.acquire_lease("t1", "a", "tok-a", 1.0, "start", lambda row: True, NOW)
    _claim(storage, new_decision("i1"), owner="a")
    until = time.time() + 120
    assert storage.heartbeat("a", ["tok-a", "tok-gone"], until) == {"tok-gone"}
    assert storage.leases()[0].lease_until == pytest.approx(until)
    assert storage.claims("t1", "a")[0].lease_until == pytest.approx(until)


# --- the fenced saver ---------------------------------------------------------------------------------


def test_the_saver_writes_only_under_the_lease_token_it_names(storage: Storage) -> None:
    storage.acquire_lease("t1", "a", "tok-a", time.time() + 60, "start", lambda row: True, NOW)
    _checkpoint(storage, "t1", token="tok-a")
    with pytest.raises(LeaseLost, match="taken over"):
        _checkpoint(storage, "t1", token="tok-old")
    with pytest.raises(LeaseLost, match="being run"):
        _checkpoint(storage, "t1")  # no token while a live lease is held
    _checkpoint(storage, "t2")  # no lease: a tool script may write


# --- the change feed and checkpoints read without the graph ---------------------------------------------


def test_the_change_feed_follows_checkpoints(storage: Storage) -> None:
    token = storage.change_token()
    empty = storage.changes_since(0)
    assert empty.changed == [] and empty.paused == set() and empty.top == 0
    checkpoint_id = _checkpoint(storage, "t1")
    _checkpoint(storage, "t2", interrupt=False)
    assert storage.wait_for_change(token, 5.0) != token
    changes = storage.changes_since(0)
    assert {t for t, _ in changes.changed} == {"t1", "t2"} and changes.paused == {"t1"}
    assert changes.top == max(seq for _, seq in changes.changed) and changes.generation >= 1
    assert storage.changes_since(changes.top).changed == []
    assert storage.head_seq("t1") == dict(changes.changed)["t1"] and storage.head_seq("none") is None
    assert storage.thread_graph("t1") == "demo" and storage.thread_graph("none") is None
    assert storage.thread_ids(10) == [t for t, _ in sorted(changes.changed, key=lambda c: -c[1])]
    assert storage.thread_ids(1) == storage.thread_ids(10)[:1]
    heads = storage.head_writes(["t1", "t2", "none"])
    assert set(heads) == {"t1", "t2"} and heads["t1"].checkpoint_id == checkpoint_id
    assert heads["t1"].created_at is not None
    (write,) = heads["t1"].writes
    assert (write.task_id, write.channel) == ("task-1", "__interrupt__") and write.value is not None
    assert heads["t2"].writes == [] and storage.head_writes([]) == {}
    starts = storage.thread_starts(["t1"])
    assert starts["t1"].checkpoint_id == checkpoint_id and [c for c, _ in starts["t1"].inputs] == ["__interrupt__"]
    assert storage.thread_head("t1") == (storage.head_seq("t1"), checkpoint_id) and storage.thread_head("no") is None
    newer = _checkpoint(storage, "t1", interrupt=False)  # the head and its position move together
    assert storage.thread_head("t1") == (storage.head_seq("t1"), newer) and newer > checkpoint_id
    assert storage.head_writes(["t1"])["t1"].checkpoint_id == newer


def test_resume_writes_are_the_interrupt_and_resume_writes_from_a_checkpoint_to_the_head(storage: Storage) -> None:
    made = []
    for step in range(3):
        made.append(_checkpoint(storage, "t1", interrupt=False))
        config: Any = {"configurable": {"thread_id": "t1", "checkpoint_ns": "", "checkpoint_id": made[-1]}}
        storage.saver.put_writes(config, [("__interrupt__", [Interrupt(value=step, id=f"i{step}")])], "task-b", "")
        storage.saver.put_writes(config, [("__resume__", [f"yes {step}"]), ("messages", ["ran"])], "task-a", "")
    _checkpoint(storage, "t2")  # another thread's writes are not read
    loads = storage.saver.serde.loads_typed

    def read(since: str, checkpoints: int = 100) -> list[tuple[str, str, str, Any]]:
        found = storage.resume_writes("t1", since, checkpoints=checkpoints)
        return [(w.checkpoint_id, w.task_id, w.channel, loads(w.value)) for w in found]

    every = read(made[0])
    assert [(c, t, ch) for c, t, ch, _ in every] == [
        (checkpoint_id, task, channel)
        for checkpoint_id in reversed(made)  # newest first, then by task path, task and order of writing
        for task, channel in (("task-a", "__resume__"), ("task-b", "__interrupt__"))
    ]
    assert every[0][3] == ["yes 2"] and every[1][3][0].id == "i2"
    assert read(made[1]) == every[:4] and read(made[0], checkpoints=2) == every[:4]
    assert read(made[2]) == read(made[0], checkpoints=1) == every[:2]
    assert storage.resume_writes("none", made[0], checkpoints=100) == []


def test_the_feed_knows_which_heads_are_paused_and_a_cold_start_lists_only_those(storage: Storage) -> None:
    _checkpoint(storage, "t1")
    _checkpoint(storage, "t2", interrupt=False)
    _checkpoint(storage, "t3")
    cold = storage.changes_since(0, paused_only=True)
    assert {t for t, _ in cold.changed} == {"t1", "t3"} == cold.paused
    assert cold.top == storage.changes_since(0).top  # the whole feed's top: a later refresh goes on from there
    _checkpoint(storage, "t3", interrupt=False)  # a new head without an interrupt write: no longer paused
    after = storage.changes_since(cold.top)
    assert [t for t, _ in after.changed] == ["t3"] and after.paused == set()
    assert {t for t, _ in storage.changes_since(0, paused_only=True).changed} == {"t1"}
    config: Any = {"configurable": {"thread_id": "t2", "checkpoint_ns": "", "checkpoint_id": _head(storage, "t2")}}
    storage.saver.put_writes(config, [("__interrupt__", [Interrupt(value="now?", id="i2")])], "task-2", "")
    assert storage.changes_since(after.top).paused == {"t2"}  # an interrupt written later pauses the head
    storage.saver.delete_thread("t1")
    assert {t for t, _ in storage.changes_since(0, paused_only=True).changed} == {"t2"}


def test_a_refresh_from_a_position_may_bring_the_paused_heads_and_they_equal_head_writes(storage: Storage) -> None:
    """PostgreSQL reads the changed paused threads' head writes in the feed's own statement (one round trip per
    refresh); whatever a backend brings must be exactly what `head_writes` reads, and only for paused threads."""
    _checkpoint(storage, "t0")
    start = storage.changes_since(0).top
    _checkpoint(storage, "t1")
    _checkpoint(storage, "t2", interrupt=False)
    changes = storage.changes_since(start)
    assert {t for t, _ in changes.changed} == {"t1", "t2"} and changes.paused == {"t1"}
    if storage.pushes_changes:  # PostgreSQL
        assert changes.heads is not None and set(changes.heads) == {"t1"}
    if changes.heads is not None:
        assert changes.heads == storage.head_writes(sorted(changes.heads))
        assert changes.heads["t1"].writes and changes.heads["t1"].writes[0].value is not None


def _head(storage: Storage, thread_id: str) -> str:
    return storage.head_writes([thread_id])[thread_id].checkpoint_id


def test_a_store_made_before_the_paused_column_gets_it_filled_in(store_url: str) -> None:
    """A v3 store of an earlier release (heads without `paused`): the next open adds the column, makes the
    feed again and fills it in from the interrupt writes, so no paused thread is missed by a cold start."""
    opened = open_storage(Settings(db=store_url), create=True)
    _checkpoint(opened, "t1")
    _checkpoint(opened, "t2", interrupt=False)
    postgres = store_url.startswith("postgresql://")
    script = [
        "DROP INDEX review_thread_heads_paused",
        *(
            ["ALTER TABLE review_thread_heads DROP COLUMN paused"]
            if postgres
            else [
                *(f"DROP TRIGGER {name}" for name in _sqlite_triggers(opened)),
                "ALTER TABLE review_thread_heads DROP COLUMN paused",
            ]
        ),
    ]
    _execute(opened, script)
    opened.close()
    reopened = open_storage(Settings(db=store_url), create=False)
    try:
        cold = reopened.changes_since(0, paused_only=True)
        assert {t for t, _ in cold.changed} == {"t1"} == cold.paused
        _checkpoint(reopened, "t3")  # and the feed keeps it from then on
        assert {t for t, _ in reopened.changes_since(0, paused_only=True).changed} == {"t1", "t3"}
    finally:
        reopened.close()


def _sqlite_triggers(storage: Storage) -> list[str]:
    return [row[0] for row in storage.query("SELECT name FROM sqlite_master WHERE type = 'trigger'")]


def _execute(storage: Storage, statements: list[str]) -> None:
    with storage.transaction() as conn:
        for statement in statements:
            conn.execute(statement)


def test_inbox_token_moves_with_decisions_and_leases(storage: Storage) -> None:
    _checkpoint(storage, "t1")  # paused: its rows are in the Inbox
    first = storage.inbox_token()
    _claim(storage, new_decision("i1"))
    second = storage.inbox_token()
    storage.acquire_lease("t1", "a", "tok-a", time.time() + 60, "start", lambda row: True, NOW)
    third = storage.inbox_token()
    assert len({first, second, third}) == 3
    storage.heartbeat("a", ["tok-a"], time.time() + 600)
    assert storage.inbox_token() == third  # heartbeats change nothing the Inbox shows
    storage.acquire_lease("t2", "a", "tok-2", time.time() + 60, "start", lambda row: True, NOW)
    assert storage.inbox_token() == third  # a run of a thread with nothing pending: nothing to show yet
    storage.end_lease("t2", "tok-2", state="cut_short", checkpoint_id="cp-1", error="killed")
    assert storage.inbox_token() != third  # a run cut short is shown (recovery continues it)


def test_inbox_token_moves_when_paused_heads_do_not_at_every_step_of_a_run(storage: Storage) -> None:
    """The token follows the set of paused heads (and each one's position), not every checkpoint: an open Inbox
    is not drawn again for the steps of a run that pause nothing, and is for every change of its rows."""
    tokens = [storage.inbox_token()]
    _checkpoint(storage, "t1", interrupt=False)
    _checkpoint(storage, "t1", interrupt=False)  # a run's steps: nothing pending anywhere
    assert storage.inbox_token() == tokens[-1]
    _checkpoint(storage, "t1")  # it paused
    tokens.append(storage.inbox_token())
    _checkpoint(storage, "t2")  # another thread paused
    tokens.append(storage.inbox_token())
    _checkpoint(storage, "t3", interrupt=False)
    assert storage.inbox_token() == tokens[-1]
    _checkpoint(storage, "t1")  # a paused thread moved on to another pause (its rows may differ)
    tokens.append(storage.inbox_token())
    _checkpoint(storage, "t2", interrupt=False)  # resumed elsewhere: its rows are gone
    tokens.append(storage.inbox_token())
    _checkpoint(storage, "t4")  # one paused, ...
    _checkpoint(storage, "t1", interrupt=False)  # ... one resumed between two looks: as many paused as before
    tokens.append(storage.inbox_token())
    assert len(set(tokens)) == len(tokens), tokens


# --- the saved listing, failures, drafts, verdicts ------------------------------------------------------


def test_the_saved_listing_keeps_the_newest_entry_of_one_reader(storage: Storage) -> None:
    assert storage.listing("v1") == {}
    storage.save_listing("v1", [("t1", 5, "[1]"), ("t2", 5, "[2]")])
    storage.save_listing("v1", [("t1", 4, "[old]"), ("t2", 6, None)])
    assert storage.listing("v1") == {"t1": (5, "[1]")}
    storage.save_listing("v2", [("t3", 1, "[3]")])
    assert storage.listing("v1") == {} and storage.listing("v2") == {"t3": (1, "[3]")}
    storage.save_listing("v2", [])
    assert storage.listing("v2") == {"t3": (1, "[3]")}


def test_last_failures_lists_a_rows_latest_failed_attempt_and_contradicted_ones(storage: Storage) -> None:
    _claim(storage, new_decision("i1"), new_decision("i2"))
    first, second = storage.claims("t1", "host:1:a")
    storage.finish([first.attempt_id], "host:1:a", status="failed", error="boom", at=NOW)
    storage.finish([second.attempt_id], "host:1:a", status="applied", error=None, at=NOW)
    assert [(f["row_id"], f["error"]) for f in storage.last_failures()] == [("i1", "boom")]
    storage.record_verdicts({second.attempt_id: "contradicted: the circle is missing", first.attempt_id: "verified"})
    assert [f["row_id"] for f in storage.last_failures()] == ["i1", "i2"]
    assert {d["row_id"]: d["outcome_check"] for d in storage.decisions()}["i2"].startswith("contradicted")
    _claim(storage, new_decision("i1", reviewer="bo"), batch="b2")  # a new attempt: the failure is not the latest
    assert [f["row_id"] for f in storage.last_failures()] == ["i2"]
    storage.record_verdicts({})


def test_verdicts_are_recorded_each_on_its_attempt_in_one_statement(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    _claim(storage, *[new_decision(f"i{n}") for n in range(30)])
    ids = [c.attempt_id for c in storage.claims("t1", "host:1:a")]
    verdicts = {attempt_id: f"contradicted: {n}" if n % 3 else "verified" for n, attempt_id in enumerate(ids)}
    verdicts[max(ids) + 100] = "verified"  # an attempt that does not exist changes nothing
    ran = _statements(storage, monkeypatch)
    storage.record_verdicts(verdicts)
    assert len(ran) == 1  # SQLite: one executemany; PostgreSQL: one UPDATE ... FROM unnest
    checks = {d["attempt_id"]: d["outcome_check"] for d in storage.decisions()}
    assert checks == {attempt_id: verdicts[attempt_id] for attempt_id in ids}


def test_drafts_are_upserted_and_deleted_per_reviewer(storage: Storage) -> None:
    assert storage.draft("ana") == {}
    storage.save_draft("ana", {"t1/i1": '{"decision": "approve"}', "t1/i2": "{}"}, NOW)
    storage.save_draft("ana", {"t1/i1": '{"decision": "reject"}', "t1/i2": None}, LATER)
    storage.save_draft("bo", {"t1/i1": "{}"}, NOW)
    storage.save_draft("bo", {}, NOW)
    assert storage.draft("ana") == {"t1/i1": '{"decision": "reject"}'}
    assert storage.draft("bo") == {"t1/i1": "{}"}
