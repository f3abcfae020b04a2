"""What a row's review card shows and takes, as plain data (no Streamlit): ui/card.py draws it.

The card gives a reviewer what a table cell cannot: the thread's request and recent history, the interrupt's
description (markdown), the arguments as fields typed from the tool's JSON schema (`arg_fields`), only the
decisions the row allows (`decision_buttons`, with the words a reviewer expects: a breakpoint is continued or
stopped, a question answered), an answer input that fits the answer's type (`answer_mode`), and what an edit
changes, argument by argument (`arg_changes`).

The card writes the same draft entry as the table (ui/inbox.py): edited arguments as a JSON object of the
arguments that changed, an answer as text (with `json` when it is a value: `false`, `42`, an object). Whether
that can be sent is the core's to say, as for the table.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from review import PendingInterrupt
from review.breakpoints import is_breakpoint
from review.editing import parse_edited_args
from review.threads import ChatLine
from ui import schema_form
from ui.format import clip_text
from ui.schema_form import FieldSpec, Kind
from ui.threads import conversation

HISTORY_LINES = 6
# What a decision is called on the card's buttons (the accessibility contract names them).
LABELS = {"approve": "Approve", "edit": "Edit", "reject": "Reject", "respond": "Respond", "ignore": "Ignore"}
BREAKPOINT_LABELS = {"approve": "Continue", "reject": "Stop"}
# A question without a schema: the reviewer says what the answer is.
# A question without a schema: the kinds of answer the reviewer may give, and the input each is typed into.
FREE_MODES = {"text": "text", "yes/no": "boolean", "number": "number", "JSON": "json"}


def history(messages: Sequence[ChatLine], limit: int = HISTORY_LINES) -> list[str]:
    """The last `limit` lines of the conversation after the request, one short line each."""
    items = conversation(messages)
    lines = [f"{item.caption}: {clip_text(item.text, 160)}" if item.text else item.caption for item in items[1:]]
    return lines[-limit:]


def heading(row: PendingInterrupt, thread: str) -> str:
    """The card's heading: the tool (or "Question") and the thread."""
    if row.payload_kind == "question":
        what = "Question"
    elif row.tool:
        what = row.tool
    elif is_breakpoint(row):
        what = "Breakpoint"
    else:
        what = "Interrupt"
    return f"{what} · {thread}"


_TARGET = r"\(((?:[^()]|\([^()]*\))*)\)"  # a link's target, one level of parentheses in it


def safe_markdown(text: str) -> str:
    """An agent's description as markdown the page may render. An image is shown as its words (the console fetches
    nothing from the network, and an agent's text must not make the browser fetch a tracker); a link keeps its
    words and only an http(s) or mailto target; HTML is shown as text (`<` escaped), never as markup."""
    text = re.sub(r"!\[([^\]]*)\]" + _TARGET, r"\1", text or "")
    text = re.sub(r"\[([^\]]*)\]" + _TARGET, _safe_link, text)
    return text.replace("<", "&lt;")


def _safe_link(match: re.Match[str]) -> str:
    words, target = match.group(1), match.group(2).strip()
    return match.group(0) if re.match(r"(https?://|mailto:)", target, re.IGNORECASE) else words


def decision_buttons(row: PendingInterrupt, allowed: Sequence[str]) -> list[tuple[str, str]]:
    """(decision, label) for each decision the row allows, in the contract's order."""
    labels = dict(LABELS)
    if is_breakpoint(row):
        labels.update(BREAKPOINT_LABELS)
    if row.payload_kind == "question":
        labels["respond"] = "Answer"
    return [(decision, labels[decision]) for decision in LABELS if decision in allowed]


# --- the arguments as fields -----------------------------------------------------------------------------------


def arg_fields(args: dict[str, Any], schema: dict[str, Any] | None) -> list[FieldSpec]:
    """A field per argument: the properties of the tool's schema (ui/schema_form.py: its types, enums as selects,
    nested objects as JSON), then any argument it does not name, typed by its value."""
    specs = schema_form.fields(schema)
    named = {spec.name for spec in specs}
    return [*specs, *(FieldSpec(name, _value_kind(value)) for name, value in args.items() if name not in named)]


def _value_kind(value: Any) -> Kind:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str) or value is None:
        return "text"
    return "json"


def field_text(value: Any) -> str:
    """Arguments shown read-only: indented JSON."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def edited_text(original: dict[str, Any], values: dict[str, Any]) -> str:
    """The draft's edited arguments for the card's field values: a JSON object of the arguments that differ from
    the row's (laid over them when sent), or "" when none does."""
    changed = {name: value for name, value in values.items() if name not in original or original[name] != value}
    return json.dumps(changed, ensure_ascii=False) if changed else ""


@dataclass(frozen=True)
class EditView:
    """The arguments an entry's edit would send, or why its typed text cannot be read."""

    args: dict[str, Any]
    error: str | None = None
    typed: str = ""


def edit_view(row: PendingInterrupt, edited: str) -> EditView:
    """The arguments the card's fields show for an entry's edited text (the row's own when none is typed)."""
    if not (edited or "").strip():
        return EditView(dict(row.args))
    try:
        return EditView(parse_edited_args(edited, row.args), typed=edited)
    except ValueError as exc:
        return EditView(dict(row.args), str(exc), edited)


@dataclass(frozen=True)
class ArgChange:
    """One argument an edit changes: its text before and after (None: not there)."""

    name: str
    before: str | None
    after: str | None


def value_text(value: Any) -> str:
    """An argument as a reviewer reads it: a string as it is (its newlines kept), anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def arg_changes(before: dict[str, Any], after: dict[str, Any]) -> list[ArgChange]:
    """Argument by argument, what an edit changes (not a text diff: an unchanged value is never marked)."""
    changes = []
    for name in dict.fromkeys([*before, *after]):
        if name in before and name in after and before[name] == after[name]:
            continue
        changes.append(
            ArgChange(
                name,
                value_text(before[name]) if name in before else None,
                value_text(after[name]) if name in after else None,
            )
        )
    return changes


# --- answers ----------------------------------------------------------------------------------------------------


def answer_mode(schema: dict[str, Any] | None) -> str:
    """How the card takes a question's answer: by its schema's type ("boolean", "number", "integer", "enum",
    "object", "text", "json"), or "free" when it has none (the reviewer says what the answer is)."""
    if schema is None:
        return "free"
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return "enum"
    kind = schema.get("type")
    if isinstance(kind, list):  # ["boolean", "null"]: an answer is never null (LangGraph asks again on null)
        kinds = [k for k in kind if k != "null"]
        kind = kinds[0] if len(kinds) == 1 else None
    if kind == "object" and isinstance(schema.get("properties"), dict) and schema["properties"]:
        return "object"
    if kind == "string":
        return "text"
    if kind in ("boolean", "number", "integer"):
        return kind
    return "json"


def free_mode(entry: dict[str, Any]) -> str:
    """The answer type a schema-less question's drafted answer was given (`FREE_MODES`)."""
    if not entry.get("json"):
        return "text"
    message = (entry.get("message") or "").strip()
    if message in ("true", "false"):
        return "yes/no"
    try:
        value = json.loads(message)
    except ValueError:
        return "JSON"
    return "number" if isinstance(value, int | float) and not isinstance(value, bool) else "JSON"


def answer_value(entry: dict[str, Any]) -> Any:
    """The drafted answer as a value (None when it is empty or not JSON)."""
    message = (entry.get("message") or "").strip()
    if not message:
        return None
    try:
        return json.loads(message)
    except ValueError:
        return None


def answer_text(value: Any) -> str:
    """A typed answer value as the draft keeps it: JSON text ("" for none; a whole float as an integer)."""
    if value is None:
        return ""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    return json.dumps(value, ensure_ascii=False)
