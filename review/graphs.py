"""The graphs a console reviews, loaded the way `langgraph.json` declares them.

A target is `path/to/file.py:ATTR` or `package.module:ATTR`; ATTR may be a compiled graph (the console
attaches its own checkpointer to a copy), an uncompiled `StateGraph` (compiled here with it), a factory
returning either (called with no argument, or with a RunnableConfig when it takes one), or a console spec
(`graph.agent.AgentSpec`: `build_graph(checkpointer)`, `tools`, `start_input`, optionally `thread_picture`, the
picture hook of review/pictures.py, which a factory may also offer beside it in its module). A `langgraph.json` names
several: its `graphs` map `{graph_id: target}`, paths relative to the file, its `dependencies` put on
`sys.path` first. Each loaded graph knows its tools (found in its ToolNodes, subgraphs included), so edited
arguments are checked against the tool's own schema without any spec, and its input schema (LangGraph's
`get_input_jsonschema()`), from which the New run page builds a form. A graph may also offer example prompts
for New run: `run_examples`, a `{label: prompt}` mapping on its spec or beside its factory (found like the
picture hook); the demo offers its shapes, most graphs none.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from langchain_core.messages import HumanMessage
from langchain_core.tools import BaseTool
from langgraph.graph import StateGraph
from langgraph.pregel import Pregel

from review.pictures import PictureHook, ThreadPicture, draw, find_hook
from review.serde import graph_module_name


class GraphLoadError(ValueError):
    """A graph target that cannot be loaded; the message is one line naming the target and why."""


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first[:200]}" + (" ..." if len(text) > 1 or len(first) > 200 else "")


def default_start_input(prompt: str) -> dict[str, Any]:
    """What `start PROMPT` sends a graph that declares nothing else: LangGraph's chat convention."""
    return {"messages": [HumanMessage(prompt)]}


@dataclass
class LoadedGraph:
    """One graph of the console: its id, the compiled graph over the console's checkpointer, its tools, and the
    picture hook through which it may draw its threads (review/pictures.py)."""

    graph_id: str
    graph: Any  # a compiled graph (Pregel) writing through the console's fenced saver
    tools: dict[str, BaseTool] = field(default_factory=dict)
    start_input: Callable[[str], dict[str, Any]] = default_start_input
    source: str = ""  # where it came from, for messages
    picture: PictureHook | None = None
    examples: dict[str, str] = field(default_factory=dict)  # {label: prompt} for New run (`run_examples`)

    @cached_property
    def input_schema(self) -> dict[str, Any] | None:
        """The JSON schema of the graph's input (LangGraph's `get_input_jsonschema()`); None when it has none."""
        try:
            schema = self.graph.get_input_jsonschema()
        except Exception:  # a state type pydantic cannot describe: the page asks for JSON instead
            return None
        return schema if isinstance(schema, dict) and schema else None

    @property
    def starts_from_prompt(self) -> bool:
        """True when a run starts from a prompt: the spec builds its input from one, or the input is a chat
        (a `messages` key, sent the prompt as its first human message)."""
        if self.start_input is not default_start_input:
            return True
        properties = (self.input_schema or {}).get("properties")
        return isinstance(properties, dict) and "messages" in properties

    @cached_property
    def tool_nodes(self) -> set[str]:
        """Names of the graph's own nodes that are ToolNodes (a pull task of one runs ALL the turn's calls)."""
        from langgraph.prebuilt import ToolNode

        return {name for name, node in self.graph.nodes.items() if isinstance(getattr(node, "bound", None), ToolNode)}

    @cached_property
    def is_async_only(self) -> bool:
        """True when a node has no sync implementation (the runner then drives it with an event loop)."""
        return _async_only(self.graph)


# --- targets -------------------------------------------------------------------------------------------


def _import_file(path: Path, attr: str, target: str) -> Any:
    if not path.is_file():
        raise GraphLoadError(f"cannot load the graph {target!r}: no file {path}")
    name = graph_module_name(path)  # the same in every process: the serializer saves its types by this name
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise GraphLoadError(f"cannot load the graph {target!r}: {path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    folder = str(path.resolve().parent)
    if folder not in sys.path:  # the file's own imports of its siblings, as langgraph dev allows
        sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise GraphLoadError(f"cannot load the graph {target!r}: importing {path} raised {_one_line(exc)}") from exc
    return _attribute(module, attr, target)


def _attribute(module: Any, attr: str, target: str) -> Any:
    try:
        return getattr(module, attr)
    except AttributeError:
        raise GraphLoadError(f"cannot load the graph {target!r}: {module.__name__} has no attribute {attr!r}") from None


def resolve_target(target: str, base: Path | None = None) -> Any:
    """The object a target names (not yet attached to a checkpointer), checked to be loadable."""
    spec, sep, attr = target.rpartition(":")
    if not sep or not spec or not attr:
        raise GraphLoadError(f"cannot load the graph {target!r}: write it as path/to/file.py:ATTR or module:ATTR")
    if spec.endswith(".py") or "/" in spec or spec.startswith("."):
        path = Path(spec).expanduser()
        if base is not None and not path.is_absolute():
            path = base / path
        return check_loadable(_import_file(path, attr, target), target)
    try:
        module = importlib.import_module(spec)
    except ImportError as exc:
        raise GraphLoadError(f"cannot load the graph {target!r}: {exc}") from exc
    return check_loadable(_attribute(module, attr, target), target)


def check_loadable(obj: Any, target: str) -> Any:
    """`obj` if a graph can come of it (checked before the store is touched); else GraphLoadError."""
    if (hasattr(obj, "build_graph") and hasattr(obj, "start_input")) or isinstance(obj, (Pregel, StateGraph)):
        return obj
    if callable(obj) and not isinstance(obj, type):
        return obj
    raise GraphLoadError(
        f"cannot load the graph {target!r}: it is a {type(obj).__name__}, not a compiled graph, a StateGraph "
        "or a factory returning one"
    )


def attach(obj: Any, checkpointer: Any, target: str, graph_id: str) -> LoadedGraph:
    """A LoadedGraph from whatever a target names, writing through `checkpointer`."""
    if hasattr(obj, "build_graph") and hasattr(obj, "start_input"):  # a console spec
        graph = obj.build_graph(checkpointer)
        tools = {tool.name: tool for tool in getattr(obj, "tools", ())} or find_tools(graph)
        return LoadedGraph(graph_id, graph, tools, obj.start_input, target, find_hook(obj), find_examples(obj))
    value = obj
    if callable(value) and not isinstance(value, (Pregel, StateGraph)):
        value = _call_factory(value, target)
    if isinstance(value, StateGraph):
        graph = value.compile(checkpointer=checkpointer)
    elif isinstance(value, Pregel):
        graph = value.copy(update={"checkpointer": checkpointer})
    else:
        raise GraphLoadError(
            f"cannot load the graph {target!r}: it is a {type(obj).__name__}, not a compiled graph, a StateGraph "
            "or a factory returning one"
        )
    return LoadedGraph(
        graph_id, graph, find_tools(graph), default_start_input, target, find_hook(obj), find_examples(obj)
    )


EXAMPLES_NAME = "run_examples"


def find_examples(obj: Any) -> dict[str, str]:
    """The example prompts a graph target offers (`run_examples`: its spec's, else its factory module's); {}
    when it offers none or they are not a mapping of text to text."""
    examples = getattr(obj, EXAMPLES_NAME, None)
    if examples is None and callable(obj):
        examples = getattr(sys.modules.get(getattr(obj, "__module__", None) or ""), EXAMPLES_NAME, None)
    if not isinstance(examples, Mapping):
        return {}
    return {str(label): prompt for label, prompt in examples.items() if isinstance(prompt, str)}


def _call_factory(factory: Callable[..., Any], target: str) -> Any:
    try:
        takes_config = bool(inspect.signature(factory).parameters)
    except (TypeError, ValueError):
        takes_config = False
    try:
        made = factory({"configurable": {}}) if takes_config else factory()
    except Exception as exc:
        raise GraphLoadError(f"cannot load the graph {target!r}: its factory raised {_one_line(exc)}") from exc
    if inspect.isawaitable(made) or hasattr(made, "__aenter__"):
        raise GraphLoadError(f"cannot load the graph {target!r}: async factories are not supported; export the graph")
    return made


# --- langgraph.json ---------------------------------------------------------------------------------------


def load_config(path: Path) -> dict[str, Any]:
    """A langgraph.json-style file as a dict; GraphLoadError says why it cannot be read."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise GraphLoadError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise GraphLoadError(f"{path} is not valid JSON: {exc.msg} (line {exc.lineno})") from exc
    if not isinstance(data, dict):
        raise GraphLoadError(f"{path} is not a JSON object")
    return data


def read_config(path: Path) -> dict[str, str]:
    """The `graphs` map of a langgraph.json, `{graph_id: target}`, its dependencies put on sys.path.

    A config that only lists Agent Servers (`"servers": [...]`) has no graphs: {}.
    """
    data = load_config(path)
    graphs = data.get("graphs")
    if not graphs and data.get("servers"):  # absent or {}
        return {}
    if not isinstance(graphs, dict) or not graphs or not all(isinstance(v, str) for v in graphs.values()):
        raise GraphLoadError(f'{path} has no "graphs" map of graph ids to "file.py:attr" targets')
    for dependency in data.get("dependencies") or []:
        if isinstance(dependency, str) and not dependency.startswith(("http", "git+")):
            folder = str((path.parent / dependency).resolve())
            if folder not in sys.path:
                sys.path.insert(0, folder)
    return dict(graphs)


# --- tools in a graph ---------------------------------------------------------------------------------------


def find_tools(graph: Any) -> dict[str, BaseTool]:
    """Tools of every ToolNode in the graph and its subgraphs (create_agent's `tools` node is one)."""
    tools: dict[str, BaseTool] = {}
    for node in _nodes(graph):
        by_name = getattr(node, "tools_by_name", None) or getattr(node, "_tools_by_name", None)
        if isinstance(by_name, dict):
            tools.update({name: tool for name, tool in by_name.items() if isinstance(tool, BaseTool)})
    return tools


def _nodes(graph: Any, depth: int = 0) -> Iterator[Any]:
    if depth > 8 or not isinstance(graph, Pregel):
        return
    for node in graph.nodes.values():
        bound = getattr(node, "bound", None)
        yield bound
        yield from getattr(bound, "steps", None) or ()  # a RunnableSeq around the node's function
    try:
        subgraphs = list(graph.get_subgraphs())
    except Exception:  # a graph whose subgraphs cannot be listed: its own nodes still count
        subgraphs = []
    for _, sub in subgraphs:
        yield from _nodes(sub, depth + 1)


def _async_only(graph: Any) -> bool:
    for node in _nodes(graph):
        func = getattr(node, "func", None)
        afunc = getattr(node, "afunc", None)
        if func is None and afunc is not None:
            return True
    return False


# --- the console's graphs -------------------------------------------------------------------------------------

GRAPH_ID_KEY = "graph_id"  # checkpoint metadata naming the graph a thread belongs to (the Agent Server's key too)


class GraphSet:
    """The loaded graphs, and which of them a thread belongs to.

    A thread belongs to the graph its checkpoint metadata names (`graph_id`: the console writes it at
    start, the Agent Server does too). A thread without one (started by a script, or before this
    version) belongs to the only graph when one is loaded; with several loaded, no graph claims it,
    and its rows are listed read-only, never resumed by a graph that merely has tools of the same name.
    """

    def __init__(self, graphs: list[LoadedGraph], thread_graph: Callable[[str], str | None]) -> None:
        if not graphs:
            raise GraphLoadError("no graph to review")
        ids = [g.graph_id for g in graphs]
        if len(set(ids)) != len(ids):
            raise GraphLoadError(f"two graphs share an id: {', '.join(ids)}")
        self._graphs = {g.graph_id: g for g in graphs}
        self._thread_graph = thread_graph
        self.default = graphs[0]

    def __iter__(self) -> Iterator[LoadedGraph]:
        return iter(self._graphs.values())

    def __len__(self) -> int:
        return len(self._graphs)

    @property
    def ids(self) -> list[str]:
        """The loaded graphs' ids, the default first."""
        return list(self._graphs)

    def get(self, graph_id: str | None) -> LoadedGraph:
        """The graph of this id (the default for None); GraphLoadError names the ids there are."""
        if graph_id is None:
            return self.default
        try:
            return self._graphs[graph_id]
        except KeyError:
            raise GraphLoadError(f"no graph {graph_id!r} in this console (graphs: {', '.join(self.ids)})") from None

    def named(self, thread_id: str) -> str | None:
        """The graph id the thread's checkpoints name (None when they name none)."""
        return self._thread_graph(thread_id)

    def picture(
        self, graph_id: str | None, values: Any, proposed: Sequence[Mapping[str, Any]] | None = None
    ) -> ThreadPicture | None:
        """What the graph of this id draws of a thread with these state values (and, for a preview, these proposed
        calls); None when the graph offers no picture, draws nothing for them, or is not loaded here."""
        loaded = self._graphs.get(graph_id) if graph_id is not None else self.default
        return draw(loaded.picture if loaded is not None else None, values, proposed)

    def for_thread(self, thread_id: str) -> tuple[LoadedGraph, str | None]:
        """The graph to read the thread with, and why it may not be decided here (None: it may)."""
        return self.resolve(self._thread_graph(thread_id))

    def resolve(self, graph_id: str | None) -> tuple[LoadedGraph, str | None]:
        """The graph to read a thread whose checkpoints name `graph_id` with, and why it may not be decided here."""
        if graph_id is not None:
            if graph_id in self._graphs:
                return self._graphs[graph_id], None
            return self.default, f"started by graph {graph_id!r}, which this console has not loaded"
        if len(self._graphs) == 1:
            return self.default, None
        return self.default, "no graph_id in its checkpoints: started outside the console; no loaded graph claims it"
