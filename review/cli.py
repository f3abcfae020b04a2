"""`python -m review`: a thin command-line shell over the review core. JSON on stdout.

Exit codes: 0 done; 1 a run failed, or rows were not applied by this call (see "not_applied");
2 invalid input or an unusable store (nothing recorded); 3 some rows were conflicts (the rest
were applied).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from review.contract import DecisionRequest
from review.identity import Reviewer
from review.settings import DEFAULT_POLICY_FILE, Settings, add_arguments, from_arguments, graphs_key
from review.storage import StoreError

if TYPE_CHECKING:
    from review.console import ReviewConsole
    from review.progress import RunJob
    from review.storage import Storage


class _Parser(argparse.ArgumentParser):
    """argparse, but a mistake in the command line is one JSON line on stdout and exit 2, like every other error."""

    def error(self, message: str) -> NoReturn:
        _emit({"error": f"{self.prog}: {message}"})
        raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m review", description=(__doc__ or "").splitlines()[0])
    add_arguments(parser)  # every setting's flag, the same the app takes (review/settings.py)
    parser.add_argument(
        "--verbose", action="store_true", help="log progress and tracebacks on stderr (default: one-line warnings only)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser(
        "start", help="start a run of a graph from a prompt in a new thread (as cli:<os user>, if the policy lets it)"
    )
    start.add_argument("prompt", nargs="?", default="")
    start.add_argument(
        "--graph-id",
        help="which graph (default: the first; with an Agent Server named, the one it serves, where the run starts)",
    )
    start.add_argument(
        "--server",
        dest="start_servers",
        action="append",
        metavar="URL",
        help="start the run on this LangGraph Agent Server (like the global --server, which names it too)",
    )
    start.add_argument(
        "--input", help="the run's input as any JSON value (an object, a string, a list...), instead of the prompt's"
    )
    pending = sub.add_parser("pending", help="list pending interrupts")
    pending.add_argument("--thread", help="only this thread")
    decide = sub.add_parser("decide", help="submit a batch of decisions from a JSON file ('-' for stdin)")
    decide.add_argument(
        "--reviewer", help="the name shown beside your identity, cli:<os user> (which the policy checks)"
    )
    decide.add_argument("file")
    show = sub.add_parser("show", help="a thread's state values (JSON), messages, what runs next, pending rows")
    show.add_argument("thread")
    audit = sub.add_parser("audit", help="the decision log")
    audit.add_argument("--csv", action="store_true", help="CSV instead of JSON")
    audit.add_argument("--reviewer")
    sub.add_parser("runs", help="runs in progress or cut short (recovery continues them)")
    return parser


def _emit(value: Any) -> None:
    """JSON on stdout, indented by 2; orjson (a LangGraph dependency) writes 3,000 rows ~10x faster."""
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson comes with langgraph
        json.dump(value, sys.stdout, indent=2, ensure_ascii=False, default=str)
        sys.stdout.write("\n")
        return
    _write(
        orjson.dumps(
            value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE, default=str
        )
    )


def _write(data: bytes) -> None:
    """JSON bytes on stdout."""
    binary = getattr(sys.stdout, "buffer", None)  # megabytes of rows: no decode to text and back to bytes
    if binary is None:  # a stdout that is text only (a test's StringIO)
        sys.stdout.write(data.decode())
        return
    sys.stdout.flush()  # what was written as text first stays first
    binary.write(data)
    binary.flush()


def _fail(message: str, code: int = 2) -> int:
    """The error as ONE line of JSON on stdout (tracebacks, if any, only with --verbose, on stderr)."""
    sys.stdout.write(json.dumps({"error": message}, ensure_ascii=False) + "\n")
    return code


class _OneLine(logging.Formatter):
    """A log record as one line: no traceback (what failed is in the command's JSON; --verbose shows it)."""

    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}".replace("\n", " ")


def _quiet_failures(record: logging.LogRecord) -> bool:
    """Drop records carrying a traceback (a graph that raised): the command's JSON already reports the failure."""
    return record.exc_info is None


class _Stderr(logging.StreamHandler[TextIO]):
    """Writes to the `sys.stderr` of the moment (a test that captures it, then lets it go, leaves no stale stream)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


@contextmanager
def cli_logging(verbose: bool) -> Iterator[None]:
    """stderr while a command runs: with --verbose, every record from INFO up with its traceback; else one line per
    warning, and nothing for a failure the JSON on stdout reports, so `start` or `decide` on a graph that raises
    prints exactly its JSON. The root logger is put back afterwards (main() may run in-process, e.g. in tests)."""
    handler = _Stderr()
    if verbose:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    else:
        handler.setFormatter(_OneLine())
        handler.addFilter(_quiet_failures)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _read_batch(path: str) -> list[DecisionRequest]:
    if path == "-":
        text = sys.stdin.read()
    else:
        with open(path, encoding="utf-8") as source:
            text = source.read()
    try:
        data = json.loads(text)
    except RecursionError:
        raise ValueError("the batch is nested too deeply to be a batch of decisions") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"the batch is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(data, list):
        raise ValueError("the batch must be a JSON list of {thread_id, row_id, decision}")
    return [DecisionRequest.from_dict(item, position) for position, item in enumerate(data, start=1)]


def main(argv: list[str] | None = None) -> int:
    """`python -m review ...`: run one command; its exit code (0 done, 1 something not applied, 2 refused)."""
    args = _parser().parse_args(argv)
    with cli_logging(args.verbose):
        return _main(args)


def _main(args: argparse.Namespace) -> int:
    if args.command == "decide":  # check the input before touching the store
        try:
            batch = _read_batch(args.file)
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            return _fail(f"cannot read the batch: {exc}")
        if not batch:
            return _fail("the batch is empty: nothing was sent")
    if getattr(args, "start_servers", None):  # `start --server URL`: the same setting as the global flag
        args.servers = [*(args.servers or []), *args.start_servers]
    try:
        settings = from_arguments(args)
    except ValueError as exc:
        return _fail(str(exc))
    if args.command == "pending" and not _names_servers(settings):
        # The saved listing covers local threads only; Agent Servers (a config may name some) are read live.
        saved = _saved_pending(settings, args.thread)
        if saved is not None:
            _write(saved)
            return 0
    from review.console import ReviewConsole  # LangGraph and the agent: only past this point

    # Only `start` may create a database (a typo in --db must not look like an empty inbox), and any command that
    # names an Agent Server: its rows live on the server, the console's store only keeps claims and the audit.
    creates = args.command == "start" or _names_servers(settings)
    try:
        console = ReviewConsole.open(settings=settings, create=creates)
    except (StoreError, ValueError) as exc:
        return _fail(str(exc))
    if console.created and args.command != "start":
        print(f"created the console's store (claims, audit) at {console.db_label}", file=sys.stderr)
    try:
        return _run(console, args, batch if args.command == "decide" else [])
    except StoreError as exc:
        return _fail(str(exc))
    finally:
        console.close()


def _starts_on_server(console: ReviewConsole, graph_id: str | None) -> bool:
    """`start` runs where the graph is: on a named Agent Server, unless `--graph-id` names a graph this console
    loaded itself (`--graph`, a config's graphs) that no named server serves."""
    if not console.servers:
        return False
    if graph_id is None or graph_id not in console.graphs.ids or not _loads_graphs(console.settings):
        return True
    from review.sources import ServerError

    try:
        console.servers.serving(graph_id)
    except ServerError:
        return False
    return True


def _start_on_server(console: ReviewConsole, graph_id: str | None, prompt: str, run_input: Any) -> RunJob:
    """A new thread on the Agent Server serving `graph_id`, if the policy lets the CLI's user start runs."""
    refused = console.policy.may_start(Reviewer.cli())
    if refused:
        raise ValueError(refused)
    source, graph_id = console.servers.serving(graph_id)
    return console.servers.start_run(source, graph_id, prompt, run_input)


def _loads_graphs(settings: Settings) -> bool:
    """The console was asked for graphs of its own (`--graph`, a config's `graphs`), not only the default demo."""
    if settings.graph:
        return True
    if not settings.config:
        return False
    try:
        data = json.loads(Path(settings.config).expanduser().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and bool(data.get("graphs"))


def _names_servers(settings: Settings) -> bool:
    """Agent Servers to read (flags, environment, or the config's `servers`): then no saved listing is enough."""
    if settings.servers:
        return True
    if not settings.config:
        return False
    try:
        data = json.loads(Path(settings.config).expanduser().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True  # the full way says what is wrong with the file
    return not isinstance(data, dict) or bool(data.get("servers"))


def _saved_pending(settings: Settings, thread_id: str | None) -> bytes | None:
    """The listing as a console last saved it, when every paused thread is unchanged since: no graph,
    no LangGraph import. None sends the caller the full way (which reads and saves what changed)."""
    from review.inbox import listing_reader, saved_listing_json
    from review.storage import open_storage

    if _policy_may_act(settings):
        return None  # rules act when the console opens: the full way applies them first

    try:
        storage = open_storage(settings, create=False, light=True)
    except (StoreError, ValueError):
        return None  # the full way reports why
    try:
        if _leftovers(storage, settings):
            return None  # a stopped process left claims or a run: the full way recovers them first
        return saved_listing_json(storage, listing_reader(graphs_key(settings)), thread_id)
    except StoreError:
        return None
    finally:
        storage.close()


def _policy_may_act(settings: Settings) -> bool:
    """Whether the policy file has rules a console applies when it opens (auto-approvals, deadlines), or cannot be
    read here. Only its TOML is read: the whole check (review/policy.py, pydantic) is the full way's, which every
    console open runs; a read-only `pending` must not pay for it."""
    target = Path(settings.policy).expanduser() if settings.policy else DEFAULT_POLICY_FILE
    if not target.exists():
        return bool(settings.policy)  # a policy named but missing: the full way says so
    try:
        data = tomllib.loads(target.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return True  # the full way says what is wrong
    return bool(data.get("auto_approve") or data.get("deadline"))


def _leftovers(storage: Storage, settings: Settings) -> bool:
    """Does recovery have work: a claim or a run (lease row) whose owner is gone or late, or a run left cut short?

    The same tests `Recovery` applies, on two small tables (claims sit in a partial index): the fast path stays.
    """
    from review.leases import Leases

    leases = Leases(storage, settings.lease_seconds, heartbeat=False)  # only its liveness test: holds nothing
    if storage.abandoned_claims(leases.abandoned):
        return True
    return any(
        row.state != "failed" and (row.state == "cut_short" or leases.abandoned(row.owner, row.lease_until))
        for row in storage.leases()
    )


def _run(console: ReviewConsole, args: argparse.Namespace, batch: list[DecisionRequest]) -> int:
    from review.sources import ServerError  # imports LangGraph: the console is open by now anyway

    if args.command == "start":
        try:
            run_input = json.loads(args.input) if args.input is not None else None
            if args.input is not None and run_input is None:
                return _fail("--input null: give the graph's input as a JSON value other than null")
            if _starts_on_server(console, args.graph_id):
                job = _start_on_server(console, args.graph_id, args.prompt, run_input)
            else:
                job = console.start_run(
                    args.prompt, graph_id=args.graph_id, run_input=run_input, reviewer=Reviewer.cli()
                )
        except json.JSONDecodeError as exc:
            return _fail(f"--input is not valid JSON: {exc.msg}")
        except (ValueError, ServerError) as exc:
            return _fail(str(exc))
        try:
            outcome = job.result()
        except StoreError as exc:
            return _fail(f"the run stopped: {exc}; recovery continues it", 1)
        except Exception as exc:
            return _fail(f"the run failed: {type(exc).__name__}: {exc}", 1)
        _emit({"thread_id": job.thread_id, "pending": [row.to_dict() for row in outcome.new_pending]})
    elif args.command == "pending":
        _emit([row.to_dict() for row in console.pending(args.thread)])
    elif args.command == "decide":
        try:
            result = console.submit(batch, Reviewer.cli(args.reviewer))
        except ValueError as exc:
            return _fail(str(exc))
        _emit(result.to_dict())
        return result.exit_code
    elif args.command == "show":
        view = console.thread(args.thread)
        if not view.exists:
            return _fail(f"no thread {args.thread!r} in {console.db_label}")
        shown = view.to_dict()
        if isinstance(shown["values"], dict) and isinstance(shown["values"].get("canvas"), list):
            shown["canvas"] = shown["values"]["canvas"]  # the demo's shapes, where `show` printed them before
        _emit(shown)
    elif args.command == "audit":
        if args.csv:
            sys.stdout.write(console.audit_csv(reviewer=args.reviewer))
        else:
            _emit([entry.to_dict() for entry in console.audit(reviewer=args.reviewer)])
    elif args.command == "runs":
        _emit([{**run.__dict__, "text": run.text} for run in console.runs()])
    return 0
