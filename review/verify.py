"""Verified outcome: did the graph do what each decision said? Read from the checkpoint only.

After a resume the console knows which interrupts were answered; this module says, per applied
decision, whether the graph HONOURED it, where the graph follows langchain's conventions (an AI
message's `tool_calls`, each answered by a `ToolMessage` with the same `tool_call_id`):

- reject (and respond): the call got no successful result. An error `ToolMessage`, or one whose
  text carries the rejection (the reviewer's message, or the word "reject"), is the graph saying no;
  a normal result is the tool having run anyway (langchain #40491).
- edit: the call ran as edited. The evidence is, in order: langchain's edit notice in the result
  ("Executed instead: NAME with arguments {...}"), else the AI message's call with that id (langchain's
  batched mode rewrites it to the edited call). A call left exactly as the model made it is the per-call
  convention (the tool itself received the edit, as in the demo): verified as far as the checkpoint
  shows, i.e. one result, under the edited name. Any other name or arguments contradict it (#40166).
- approve: exactly one result (two: it ran twice), and no edit notice (nobody replaced it).
- every row: where the resume values each task received are known (their `__resume__` writes), a task
  that got a value other than the one sent for its interrupt, or a later task that got one of this
  resume's values although nobody answered it (LangGraph #8837), contradicts the row.

Nothing here reads an effect log or calls a tool: a graph that lies in its effects but not in its
state cannot be caught from the checkpoint, and a graph that keeps no messages is "not checkable".
`verify_outcome` is pure; `read_verdicts` reads a local thread's state and checkpoints for it (no
console storage, no streamlit). It runs after every resume, before the submit returns, so it reads
no more than it checks: of the checkpoints back to the answered one, only the `__interrupt__` and
`__resume__` writes, decoded only those (`Encoded`): in one query when the caller can make it (the
console's store: `WritesReader`), else through the saver, a few checkpoints at a time (`history`);
and the state's messages are those the caller read after the resume when it hands them over.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from review.contract import resume_map

VERIFIED = "verified"
NOT_CHECKABLE = "not checkable"
CONTRADICTED = "contradicted"
RESUME_CHANNEL = "__resume__"  # LangGraph's channel of the resume values a task consumed
INTERRUPT_CHANNEL = "__interrupt__"
_EDIT_NOTICE = "Executed instead: "  # langchain's HumanInTheLoopMiddleware, in an edited call's result
_SHORT = 60
DELIVERY_SCAN = 100  # checkpoints read back from the new head looking for the answered one (a long run writes many)
# Checkpoints of the first read back: the answered one and the one or two a resume usually writes (its tools' step,
# the model's next step). PostgreSQL's saver fetches a whole read (each checkpoint with its channel values) before
# yielding the first, so reading DELIVERY_SCAN at once would fetch a long thread's whole history to look at its last
# few checkpoints.
HISTORY_PAGE = 3
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AppliedDecision:
    """One decision a resume answered, as the log recorded it (the facts the check needs)."""

    row_id: str
    interrupt_id: str
    tool_call_id: str | None
    tool: str | None
    decision: str  # approve | edit | reject | respond | ...
    resume: Any  # the value sent for this row (a batched part: its own decision)
    args_before: dict[str, Any] | None = None  # the call's arguments as the reviewer saw them
    args_after: dict[str, Any] | None = None  # an edit's arguments
    edited_name: str | None = None  # an edit's tool name (defaults to `tool`)


@dataclass(frozen=True)
class Delivery:
    """The resume values one task of one checkpoint consumed, and what it had asked."""

    checkpoint_id: str
    task_id: str
    raised: Sequence[str]  # interrupt ids (and tool call ids) of its `__interrupt__` writes (`Raised`: read lazily)
    values: tuple[Any, ...]  # its `__resume__` values, in the order it consumed them


class Raised(Sequence[str]):
    """A task's interrupt ids (and tool call ids), decoded from its `__interrupt__` writes when first asked: a batch
    whose rows were all sent one value never asks for those of the answered checkpoint (`_Tasks`), and decoding
    them (an `Interrupt` with the tool's payload and schemas each) was the biggest part of the check."""

    def __init__(self, stored: Sequence[Any]) -> None:
        self._stored = stored
        self._keys: tuple[str, ...] | None = None

    def _read(self) -> tuple[str, ...]:
        if self._keys is None:
            keys: list[str] = []
            for stored in self._stored:
                value = stored.decode() if isinstance(stored, Encoded) else stored
                for item in value if isinstance(value, (list, tuple)) else (value,):
                    payload = getattr(item, "value", None)
                    call_id = payload.get("tool_call_id") if isinstance(payload, dict) else None
                    keys += [k for k in (getattr(item, "id", None), call_id) if isinstance(k, str) and k]
            self._keys = tuple(keys)
        return self._keys

    def __getitem__(self, index: Any) -> Any:
        return self._read()[index]

    def __len__(self) -> int:
        return len(self._read())

    def __contains__(self, key: object) -> bool:
        return key in self._read()

    def __iter__(self) -> Iterator[str]:
        return iter(self._read())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and self._read() == tuple(other)

    def __hash__(self) -> int:
        return hash(self._read())

    def __repr__(self) -> str:
        return repr(self._read())


def decision_facts(claims: Iterable[Any], rows_before: Iterable[Any]) -> list[AppliedDecision]:
    """Facts of claimed attempts (`row_id`, `interrupt_id`, `tool_call_id`, `resume_json`) with the pending
    rows they answered (`row_id`, `tool`, `args`): what the runner holds after a resume."""
    rows = {row.row_id: row for row in rows_before}
    facts = []
    for claim in claims:
        value = json.loads(claim.resume_json)
        row = rows.get(claim.row_id)
        kind = value.get("type") if isinstance(value, dict) else None
        action = value.get("edited_action") if isinstance(value, dict) else None
        action = action if isinstance(action, dict) else {}
        facts.append(
            AppliedDecision(
                row_id=claim.row_id,
                interrupt_id=claim.interrupt_id,
                tool_call_id=claim.tool_call_id or (row.tool_call_id if row is not None else None),
                tool=row.tool if row is not None else None,
                decision=str(kind or "respond"),
                resume=value,
                args_before=dict(row.args) if row is not None and isinstance(row.args, dict) else None,
                args_after=action.get("args") if isinstance(action.get("args"), dict) else None,
                edited_name=action.get("name") if isinstance(action.get("name"), str) else None,
            )
        )
    return facts


def deliveries(checkpoints: Iterable[Any], since: str | None) -> list[Delivery]:
    """The resume values tasks consumed in the checkpoints this resume wrote, newest first.

    `checkpoints`: the thread's root checkpoint tuples, newest first (`saver.list(config)`, or `history` of a
    `deferring` saver: their values still `Encoded`, and only the writes read here are decoded); reading
    stops after `since`, the head checkpoint the resume answered (whose tasks received its values).
    Without `since` only the newest checkpoint is read.
    """
    found: list[Delivery] = []
    for saved in checkpoints:
        checkpoint_id = str((saved.config.get("configurable") or {}).get("checkpoint_id") or "")
        raised: dict[str, list[Any]] = {}  # task -> its `__interrupt__` writes, decoded only if asked (`Raised`)
        received: dict[str, list[Any]] = {}
        for task_id, channel, stored in saved.pending_writes or ():
            if channel == INTERRUPT_CHANNEL:
                raised.setdefault(task_id, []).append(stored)
            elif channel == RESUME_CHANNEL:
                value = stored.decode() if isinstance(stored, Encoded) else stored
                received.setdefault(task_id, []).extend(value if isinstance(value, list) else [value])
        for task_id, values in received.items():
            found.append(Delivery(checkpoint_id, task_id, Raised(raised.get(task_id, ())), tuple(values)))
        if since is None or checkpoint_id == since:
            break
    return found


def verify_outcome(
    messages: Sequence[Any] | None,
    decisions: Sequence[AppliedDecision],
    delivered: Sequence[Delivery] | None = None,
    *,
    answered_checkpoint: str | None = None,
    pending_calls: Iterable[str] = (),
) -> dict[str, str]:
    """Per row id: "verified", "contradicted: <what>" (one line) or "not checkable".

    `messages`: the state's "messages" after the resume (langchain messages, or their dict form).
    `delivered`: what `deliveries` read (optional); `answered_checkpoint` is the checkpoint the resume
    answered: a task of a NEWER checkpoint that consumed one of these values was never asked.
    `pending_calls`: tool call ids that still wait on a person (a tool that asks twice): not judged yet.
    """
    sent = resume_map({d.row_id: d.resume for d in decisions})
    waiting = set(pending_calls)
    calls, results = _index(messages or ())
    values = list(sent.values())
    tasks = _Tasks(delivered or (), answered_checkpoint, one_value=all(value == values[0] for value in values))
    verdicts: dict[str, str] = {}
    for decision in decisions:
        wrong = _misdelivered(decision, sent, tasks.of(decision.interrupt_id), answered_checkpoint)
        if wrong is not None:
            verdicts[decision.row_id] = f"{CONTRADICTED}: {wrong}"
            continue
        call_id = decision.tool_call_id
        if not messages or not call_id or call_id not in calls or call_id in waiting:
            verdicts[decision.row_id] = NOT_CHECKABLE
            continue
        found = _check_call(decision, calls[call_id], results.get(call_id, []))
        verdicts[decision.row_id] = VERIFIED if found is None else f"{CONTRADICTED}: {found}"
    return verdicts


def read_verdicts(
    graph: Any,
    saver: Any,
    thread_id: str,
    claims: Sequence[Any],
    rows_before: Sequence[Any],
    rows_after: Sequence[Any],
    head_before: str | None,
    *,
    writes: WritesReader | None = None,
    values: Any = None,
) -> dict[str, str]:
    """Verdicts of the answered `claims` of a LOCAL thread, read from its checkpoint: row id -> verdict.

    `graph`: the compiled graph (its state's "messages"; asked only without `values`); `saver`: the
    checkpointer (the `__resume__` writes of the checkpoints from `head_before`, the head the resume answered,
    to the new head; read with `writes` when given, see `read_deliveries`); `rows_before` / `rows_after`: the
    pending rows before and after the resume; `values`: the thread's state values as `get_state` gives them now, when
    the caller holds them (else they are read). Never raises: a checkpoint it cannot read makes every row
    "not checkable" (and is logged).
    """
    if not claims:
        return {}
    config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    try:
        # The state's messages as get_state gives them: with the writes of tasks that finished in a step
        # still under way (a partial batch) applied by the graph's own reducers.
        if values is None:
            values = graph.get_state({"configurable": {"thread_id": thread_id}}).values
        messages = values.get("messages") if isinstance(values, dict) else getattr(values, "messages", None)
        delivered = read_deliveries(saver, config, head_before, writes=writes)
    except Exception as exc:  # a verdict is a report: it never fails the resume it reports on
        log.warning("cannot check the outcome of thread %s: %s", thread_id, exc)
        return {claim.row_id: NOT_CHECKABLE for claim in claims}
    waiting = {row.tool_call_id for row in rows_after if row.tool_call_id}
    return verify_outcome(
        messages if isinstance(messages, list) else None,
        decision_facts(claims, rows_before),
        delivered,
        answered_checkpoint=head_before,
        pending_calls=waiting,
    )


# --- reading the history back ------------------------------------------------------------------


class Encoded:
    """A value as the saver read it, decoded only when asked (`decode`): the check reads a few channels of the
    checkpoints it scans, and decoding the rest (every tool result and message of those steps) cost more than
    the whole check."""

    __slots__ = ("_data", "_serde")

    def __init__(self, serde: Any, data: Any) -> None:
        self._serde = serde
        self._data = data

    def decode(self) -> Any:
        """The value, decoded by the saver's own serializer (as its `list` would have)."""
        return self._serde.loads_typed(self._data)


class _Deferring:
    """A serializer whose reads return `Encoded` values (writes and everything else go to `serde`)."""

    def __init__(self, serde: Any) -> None:
        self._serde = serde

    def loads_typed(self, data: Any) -> Encoded:
        return Encoded(self._serde, data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._serde, name)


def deferring(saver: Any) -> Any:
    """A view of `saver` (same connection, lock and tables) whose reads leave values `Encoded`."""
    view = copy.copy(saver)
    view.serde = _Deferring(saver.serde)
    return view


def history(saver: Any, config: dict[str, Any], limit: int = DELIVERY_SCAN) -> Generator[Any, None, None]:
    """The thread's root checkpoint tuples, newest first, at most `limit`: `HISTORY_PAGE` of them, then the rest
    in one more read if the caller asks for more."""
    before: Any = None
    left = limit
    page = min(HISTORY_PAGE, limit)
    while left > 0 and page > 0:
        read = 0
        for saved in saver.list(config, before=before, limit=page):
            read += 1
            before = saved.config
            yield saved
        if read < page:
            return
        left -= read
        page = left


def read_deliveries(
    saver: Any, config: dict[str, Any], since: str | None, *, writes: WritesReader | None = None
) -> list[Delivery]:
    """`deliveries` from the new head back to `since`, decoding only the writes they consist of.

    `writes(thread_id, since, checkpoints=n)`, when given, reads just the `__interrupt__` and `__resume__`
    writes of those checkpoints (the console's store does it in one query: `Storage.resume_writes`); else the
    saver lists the checkpoints, a few at a time. A saver whose `list` cannot work on undecoded values (it
    looks into one itself) is read again the usual way, so the check never depends on either shortcut.
    """
    if writes is not None and since is not None:
        try:
            found = writes(str(config["configurable"]["thread_id"]), since, checkpoints=DELIVERY_SCAN)
            return deliveries(_by_checkpoint(found, saver.serde), since)
        except Exception as exc:
            log.debug("reading the resume's writes alone failed (%s): listing the checkpoints", exc)
    try:
        with contextlib.closing(history(deferring(saver), config)) as checkpoints:
            return deliveries(checkpoints, since)
    except Exception as exc:
        log.debug("reading the history with deferred decoding failed (%s): reading it whole", exc)
    with contextlib.closing(history(saver, config)) as checkpoints:
        return deliveries(checkpoints, since)


class WritesReader(Protocol):
    """Reads a thread's `__interrupt__` and `__resume__` writes from `since` to its head (at most `checkpoints`
    checkpoints), newest checkpoint first: objects with `checkpoint_id`, `task_id`, `channel` and `value`
    (serialized: the saver's `(type, bytes)`)."""

    def __call__(self, thread_id: str, since: str, *, checkpoints: int) -> Sequence[Any]:
        """The writes, newest checkpoint first, then in the saver's order (task path, task, index)."""
        ...


@dataclass(frozen=True)
class _Saved:
    """What `deliveries` reads of a checkpoint tuple: its id (in `config`) and its pending writes."""

    config: dict[str, Any]
    pending_writes: list[tuple[str, str, Encoded]]


def _by_checkpoint(writes: Sequence[Any], serde: Any) -> list[_Saved]:
    """The writes grouped by checkpoint (in their order) as `deliveries` reads checkpoint tuples."""
    found: dict[str, _Saved] = {}
    for write in writes:
        saved = found.get(write.checkpoint_id)
        if saved is None:
            saved = found[write.checkpoint_id] = _Saved({"configurable": {"checkpoint_id": write.checkpoint_id}}, [])
        saved.pending_writes.append((write.task_id, write.channel, Encoded(serde, write.value)))
    return list(found.values())


# --- the rules ----------------------------------------------------------------------------------


def _check_call(decision: AppliedDecision, call: dict[str, Any], results: list[Any]) -> str | None:
    """What contradicts the decision about one call, or None."""
    call_id = decision.tool_call_id
    kind = decision.decision
    executed = next((e for e in map(_executed, results) if e is not None), None)
    if kind in ("reject", "respond"):
        for result in results:
            if not _declined(result, decision):
                return f"{kind}ed call {call_id} ran: ToolMessage {_quote(_text(result))} without error status"
        return None
    if kind == "edit":
        name = decision.edited_name or decision.tool or call.get("name")
        want: tuple[Any, Any] = (name, decision.args_after)
        ran: tuple[Any, Any]
        if executed is not None:
            ran = executed
        elif (call.get("name"), call.get("args")) == want:
            ran = want
        elif decision.args_before is not None and call.get("args") == decision.args_before:
            # Per-call convention: the model's call stays on record, its task received the edit.
            ran = (_field(results[0], "name") or name, decision.args_after) if results else want
        else:
            ran = (call.get("name"), call.get("args"))
        if ran[0] != want[0] or (decision.args_after is not None and ran[1] != want[1]):
            return f"edited call {call_id} ran as {ran[0]} {_short(ran[1])}, not the edited {want[0]} {_short(want[1])}"
        if not results:
            return f"edited call {call_id} did not run: no ToolMessage"
        if len(results) > 1:
            return f"edited call {call_id} ran {len(results)} times: {len(results)} ToolMessages"
        return None
    if kind == "approve":
        if len(results) > 1:
            return f"approved call {call_id} ran {len(results)} times: {len(results)} ToolMessages"
        if not results:
            return f"approved call {call_id} did not run: no ToolMessage"
        if executed is not None:
            return f"approved call {call_id} ran as edited: {executed[0]} {_short(executed[1])}"
        return None
    return None


class _Tasks:
    """The deliveries `_misdelivered` must look at for one interrupt, in their order: the tasks that raised it, and
    every task of a checkpoint other than the answered one (with none given: only those that raised it). Every
    other task passes both of its tests for that interrupt, so a batch's check reads each task once, not once per
    row (50 rows answered by 50 tasks: 50 looks, not 2,500 value comparisons)."""

    def __init__(self, delivered: Sequence[Delivery], answered: str | None, *, one_value: bool = False) -> None:
        self._delivered = delivered
        self._asked: dict[str, list[int]] = {}  # interrupt (or tool call) id -> positions of the tasks raising it
        self._elsewhere: list[int] = []  # positions of the tasks of newer checkpoints
        for position, task in enumerate(delivered):
            elsewhere = answered is not None and task.checkpoint_id != answered
            if elsewhere:
                self._elsewhere.append(position)
            elif one_value and answered is not None:
                # Every row was sent the same value (`one_value`): a task of the answered checkpoint got either it,
                # nothing, or an earlier question's value, and `_misdelivered` passes all three; its interrupts
                # are not even read.
                continue
            for key in dict.fromkeys(task.raised):
                self._asked.setdefault(key, []).append(position)

    def of(self, interrupt_id: str) -> list[Delivery]:
        """The tasks that may concern `interrupt_id`, in the order `deliveries` gave them."""
        positions = sorted({*self._asked.get(interrupt_id, ()), *self._elsewhere})
        return [self._delivered[position] for position in positions]


def _misdelivered(
    decision: AppliedDecision, sent: Mapping[str, Any], delivered: Sequence[Delivery], answered: str | None
) -> str | None:
    """A task that received a value not meant for it, as far as this row is concerned, or None.

    `delivered`: every delivery, or just those `_Tasks.of` the row's interrupt (the others cannot concern it)."""
    mine = sent.get(decision.interrupt_id)
    for task in delivered:
        asked = decision.interrupt_id in task.raised
        if asked and (answered is None or task.checkpoint_id == answered):
            if not task.values or mine in task.values:
                continue
            # Looked up only here: once per row and task, the other rows' values would make the check quadratic.
            meant = next((i for i, v in sent.items() if i != decision.interrupt_id and v in task.values), None)
            if meant is not None:
                return f"interrupt {decision.interrupt_id} was answered with the value meant for {meant}"
            # Values of earlier questions of the same task (a node that asks again): its `__resume__` write
            # is saved when it asks, and not always again when it finishes, so it is no evidence either way.
            continue
        if answered is not None and task.checkpoint_id != answered and mine in task.values:
            # A task of a step this resume started consumed a value nobody sent it (LangGraph #8837).
            where = next((k for k in task.raised if k != decision.interrupt_id), f"task {task.task_id}")
            return f"the value for interrupt {decision.interrupt_id} was delivered again, to {where}"
    return None


def _declined(result: Any, decision: AppliedDecision) -> bool:
    """The ToolMessage says the call was not run: an error, or the rejection in its text."""
    if _field(result, "status") == "error":
        return True
    if _executed(result) is not None:
        return False
    text = _text(result)
    message = decision.resume.get("message") if isinstance(decision.resume, dict) else None
    if isinstance(message, str) and message.strip() and message.strip() in text:
        return True
    return decision.decision == "reject" and "reject" in text.lower()


# --- reading langchain messages (objects or their dict form) ------------------------------------


def _index(messages: Iterable[Any]) -> tuple[dict[str, dict[str, Any]], dict[str, list[Any]]]:
    """Tool calls by id (the latest AI message naming each) and the ToolMessages answering each."""
    calls: dict[str, dict[str, Any]] = {}
    results: dict[str, list[Any]] = {}
    for message in messages:
        kind = _field(message, "type")
        if kind in ("ai", "AIMessageChunk"):
            for call in _field(message, "tool_calls") or ():
                call_id = call.get("id") if isinstance(call, dict) else None
                if call_id:
                    calls[call_id] = call
        elif kind == "tool":
            call_id = _field(message, "tool_call_id")
            if call_id:
                results.setdefault(call_id, []).append(message)
    return calls, results


def _field(message: Any, name: str) -> Any:
    return message.get(name) if isinstance(message, dict) else getattr(message, name, None)


def _text(message: Any) -> str:
    content = _field(message, "content")
    if isinstance(content, str):
        return content
    parts = []
    for block in content or ():
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict) and isinstance(block.get("text"), str):
            parts.append(block["text"])
    return "\n".join(parts)


def _executed(result: Any) -> tuple[str, Any] | None:
    """The call langchain's edit notice says ran instead: (name, args), or None without a notice."""
    text = _text(result)
    start = text.find(_EDIT_NOTICE)
    if start < 0:
        return None
    name, sep, rest = text[start + len(_EDIT_NOTICE) :].partition(" with arguments ")
    if not sep:
        return None
    try:
        args, _ = json.JSONDecoder().raw_decode(rest)
    except json.JSONDecodeError:
        return None
    return name.strip(), args


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return text if len(text) <= _SHORT else text[: _SHORT - 1] + "…"


def _quote(text: str) -> str:
    line = " ".join(text.split())
    return repr(line if len(line) <= _SHORT else line[: _SHORT - 1] + "…")
