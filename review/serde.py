"""Which types the checkpoint serializer may revive for the loaded graphs, and what a refused one is called.

Every store opens with a RESTRICTED serializer (review/storage): only LangGraph's safe types and the
types someone allowed are rebuilt from a checkpoint; anything else comes back as plain data, so a
crafted row cannot run code. A loaded graph's own types must still come back as objects, or its
nodes break on resume (`'dict' object has no attribute 'steps'`). This module decides which:
- the types the graph's state, input, output and context schemas (and its nodes', branches' and
  subgraphs') name, walked the way LangGraph builds its own strict-mode allow-list;
- the pydantic models, dataclasses and enums defined in the graph's own module.
A graph FILE is imported under `graph_module_name(path)`, the same name in every process, because the
serializer saves a type as (module, class): a name that changed between processes would never match.
A type that is still refused is reported under the name the user knows (a class in a file, or
`module.Class`) with the way to allow it, never under the internal module name.

LangGraph and pydantic are imported when first used: the saved listing's reader (`rows_from_interrupt`
calls `plain_value`) must not load them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langgraph.checkpoint.serde.event_hooks import SerdeEvent

    from review.graphs import LoadedGraph

log = logging.getLogger(__name__)

GRAPH_MODULE_PREFIX = "review_graph_"  # every graph file the console imports is a module of this prefix
ALLOW_SETTING = "REVIEW_ALLOWED_TYPES"  # the setting users name extra types in (`module:Class`, `file.py:Class`)
TypeKey = tuple[str, str]  # (module, class name): how the serializer names a type


# --- graph files -------------------------------------------------------------------------------------------


def graph_module_name(path: Path) -> str:
    """The module name a graph file is imported under: the same in every process and on every run.

    Built from the resolved path, as `langgraph dev` builds one from the path it is given (Python's
    `hash()` is salted per process, so a name made from it changed every time). The file's stem keeps it
    readable; a digest of the full path keeps two `graph.py` files in different folders apart.
    """
    resolved = str(path.expanduser().resolve())
    stem = re.sub(r"\W", "_", path.stem, flags=re.ASCII) or "graph"
    digest = hashlib.sha256(resolved.encode("utf-8")).hexdigest()[:12]
    return f"{GRAPH_MODULE_PREFIX}{stem}_{digest}"


def _graph_modules(graphs: Iterable[LoadedGraph]) -> list[ModuleType]:
    """The graphs' own modules: every graph file imported so far, and the module a `module:ATTR` target names."""
    modules = [module for name, module in list(sys.modules.items()) if name.startswith(GRAPH_MODULE_PREFIX)]
    for loaded in graphs:
        spec = loaded.source.rpartition(":")[0]
        if spec and not spec.endswith(".py") and "/" not in spec and spec in sys.modules:
            modules.append(sys.modules[spec])
    return modules


def _own_classes(module: ModuleType) -> list[type]:
    """Classes defined in the module itself (not imported into it)."""
    return [obj for obj in vars(module).values() if isinstance(obj, type) and obj.__module__ == module.__name__]


# --- the allow-list ----------------------------------------------------------------------------------------


def graph_types(graphs: Iterable[LoadedGraph]) -> set[TypeKey]:
    """The (module, class) pairs the graphs' checkpoints may hold as objects.

    Their schemas and channels (subgraphs included), and the pydantic models, dataclasses and enums their
    own modules define (and whatever those name in their fields). Plain classes are never added: rebuilding
    one from a checkpoint calls its constructor with whatever the row says.
    """
    # LangGraph's own walker (what `compile()` runs under LANGGRAPH_STRICT_MSGPACK): it adds pydantic
    # models, dataclasses and enums, and follows Optional, list, dict, Annotated, TypedDict fields...
    from langgraph._internal._serde import collect_allowlist_from_schemas

    graphs = list(graphs)
    schemas: list[Any] = []
    channels: dict[str, Any] = {}
    for loaded in graphs:
        for graph in _with_subgraphs(loaded.graph):
            found, graph_channels = _schemas(graph)
            schemas += found
            # keyed by position: two graphs' channels of one name may carry different types
            channels.update({str(len(channels) + n): channel for n, channel in enumerate(graph_channels.values())})
    for module in _graph_modules(graphs):
        schemas += _own_classes(module)
    found_types = collect_allowlist_from_schemas(schemas=schemas, channels=channels)
    return {(str(key[0]), str(key[1])) for key in found_types if len(key) == 2}


def allow_graph_types(serde: Any, graphs: Iterable[LoadedGraph], extra: Iterable[TypeKey] = ()) -> Any:
    """`serde` (a restricted JsonPlusSerializer) that also revives the graphs' types and `extra`.

    Any other serializer is returned as is: only the restricted one needs telling (a permissive one
    revives everything already). Refused types are reported from now on (`refused_types`).
    """
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    _report_refusals()
    allowed = graph_types(graphs) | set(extra)
    if not allowed or not isinstance(serde, JsonPlusSerializer):
        return serde
    return serde.with_msgpack_allowlist(allowed)


def parse_allowed_types(entries: Iterable[str]) -> set[TypeKey]:
    """(module, class) pairs from a setting's entries: `package.module:Class`, `package.module.Class` or
    `path/to/graph.py:Class` (a class of a graph file); ValueError names an entry that is none of these."""
    found: set[TypeKey] = set()
    for raw in entries:
        entry = raw.strip()
        if not entry:
            continue
        module, _, name = entry.rpartition(":") if ":" in entry else entry.rpartition(".")
        if not module or not name.isidentifier():
            raise ValueError(f"{entry!r} is not a type: write package.module:Class or path/to/graph.py:Class")
        if module.endswith(".py") or "/" in module:
            module = graph_module_name(Path(module))
        found.add((module, name))
    return found


def _with_subgraphs(graph: Any) -> list[Any]:
    """The graph and its subgraphs (their state is checkpointed by the same saver, under a namespace)."""
    graphs = [graph]
    try:
        graphs += [sub for _, sub in graph.get_subgraphs(recurse=True)]
    except Exception:  # a graph whose subgraphs cannot be listed: its own schemas still count
        log.debug("cannot list the subgraphs of %r", graph, exc_info=True)
    return graphs


def _schemas(graph: Any) -> tuple[list[Any], dict[str, Any]]:
    """The schemas and channels LangGraph's `StateGraph.compile` walks for its allow-list.

    A compiled StateGraph keeps them on its builder; a functional-API graph (`@entrypoint`) has only
    channels, whose value types are its input, output and saved types.
    """
    schemas: list[Any] = []
    builder = getattr(graph, "builder", None)
    if builder is not None and hasattr(builder, "state_schema"):
        schemas += [builder.state_schema, builder.input_schema, builder.output_schema]
        schemas.append(getattr(builder, "context_schema", None))
        schemas += [getattr(node, "input_schema", None) for node in getattr(builder, "nodes", {}).values()]
        for branches in getattr(builder, "branches", {}).values():
            schemas += [getattr(branch, "input_schema", None) for branch in branches.values()]
    channels = dict(getattr(graph, "channels", None) or {})
    return [schema for schema in schemas if schema is not None], channels


# --- values for people ----------------------------------------------------------------------------------------


def plain_value(value: Any) -> Any:
    """A revived value as plain data, so it is listed by its fields: a pydantic model as its JSON dump,
    a dataclass as a dict of its fields, inside lists, tuples and dicts too; anything else as it is."""
    if isinstance(value, type):
        return value
    dump = getattr(value, "model_dump", None)  # pydantic v2, without importing pydantic
    if callable(dump):
        return dump(mode="json")
    if dataclasses.is_dataclass(value):
        return {f.name: plain_value(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        items = {key: plain_value(item) for key, item in value.items()}
        return value if all(items[key] is item for key, item in value.items()) else items
    if isinstance(value, (list, tuple)):
        parts = [plain_value(item) for item in value]
        if all(new is old for new, old in zip(parts, value, strict=True)):
            return value
        return parts if isinstance(value, list) else tuple(parts)
    return value


# --- refused types --------------------------------------------------------------------------------------------

_MAX_REFUSED = 200  # distinct refused types remembered (and reported) per process
_refused: dict[TypeKey, str] = {}
_refused_lock = threading.Lock()
_reporting = False


def refused_message(module: str, name: str) -> str:
    """What to tell a user about a type the serializer would not revive: its real name, and how to allow it."""
    refused = "is read as plain data: the console does not revive it"
    if module.startswith(GRAPH_MODULE_PREFIX):
        source = _graph_file(module)
        if source is None:  # saved by a graph file this process has not loaded (another console, a moved file)
            rest = module[len(GRAPH_MODULE_PREFIX) :]
            stem = rest.rpartition("_")[0] or rest
            return (
                f"checkpoint data of type {name}, from a graph file {stem}.py this console has not loaded, {refused}. "
                f"To read it as an object, open the console with --graph path/to/{stem}.py:ATTR (the file it was "
                "saved from, at the same place)."
            )
        return (
            f"checkpoint data of type {name} (a class of the graph file {source}) {refused}. "
            f"If the graph needs it as an object, allow it with {ALLOW_SETTING}={source}:{name}."
        )
    return (
        f"checkpoint data of type {module}.{name} {refused}. If the graph needs it as an object, allow it with "
        f"{ALLOW_SETTING}={module}:{name}, or ({module!r}, {name!r}) in the agent spec's allowed_types."
    )


def refused_types() -> list[str]:
    """The messages about every type refused in this process so far (oldest first)."""
    with _refused_lock:
        return list(_refused.values())


def _graph_file(module: str) -> str | None:
    """The file a graph module was imported from, when this process imported it."""
    if not module.startswith(GRAPH_MODULE_PREFIX):
        return None
    loaded = sys.modules.get(module)
    file = getattr(loaded, "__file__", None)
    return str(file) if file else None


def _on_serde_event(event: SerdeEvent) -> None:
    if event.get("kind") != "msgpack_blocked":
        return
    key = (str(event.get("module")), str(event.get("name")))
    with _refused_lock:
        if key in _refused or len(_refused) >= _MAX_REFUSED:  # every read of the row refuses it again
            return
        _refused[key] = message = refused_message(*key)
    log.warning("%s", message)


class _WithoutLangGraphsBlockedWarning(logging.Filter):
    """Drops LangGraph's own "Blocked deserialization of module.Class" line: ours says the same under the
    name the user knows (LangGraph's names a graph file's internal module) and says how to allow it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Blocked deserialization of %s.%s")


def _report_refusals() -> None:
    """Listen to the serializer's refusals (once per process)."""
    global _reporting
    with _refused_lock:
        if _reporting:
            return
        _reporting = True
    from langgraph.checkpoint.serde import jsonplus
    from langgraph.checkpoint.serde.event_hooks import register_serde_event_listener

    register_serde_event_listener(_on_serde_event)
    logging.getLogger(jsonplus.__name__).addFilter(_WithoutLangGraphsBlockedWarning())
