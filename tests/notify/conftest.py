"""Fixtures of the notification tests: a store on both backends, a local HTTP receiver, a local SMTP server.

The receiver (http.server in a thread, 127.0.0.1, a free port) keeps every request as it came (headers and
body) and can answer with a chosen status, or hold a request until the test lets it go (to kill its sender at
that moment). The SMTP server is aiosmtpd's controller on a free port.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from review import PendingInterrupt, Settings
from review.storage import Storage, open_storage
from scripts.pg_cluster import free_port


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """What the local server got, and how it answers next."""

    url: str
    got: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answers to the next requests (then 200)
    hold: threading.Event | None = None  # when set: each request waits for this event before answering
    delay: float = 0.0  # seconds each answer waits
    arrived: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.got) >= count:
                    return list(self.got)
            time.sleep(0.01)
        raise AssertionError(f"the receiver got {len(self.got)} request(s), expected {count}")

    def delivery_ids(self) -> list[str]:
        with self.lock:
            return [r.headers.get("X-Review-Delivery", "") for r in self.got]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            data = self.rfile.read(length)
            if len(data) < length:
                # The sender died between its headers and the end of its body (a kill test): no request arrived,
                # as any HTTP server would see it, so none is recorded.
                self.close_connection = True
                return
            with receiver.lock:
                receiver.got.append(Received(self.path, dict(self.headers.items()), data))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                hold = receiver.hold
            receiver.arrived.set()
            if hold is not None:
                hold.wait(30)
            time.sleep(receiver.delay)
            try:
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:
                pass  # the sender is gone (killed while we held its request)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    port = free_port()
    found = Receiver(f"http://127.0.0.1:{port}/hook")
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(found))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found
    if found.hold is not None:
        found.hold.set()
    server.shutdown()
    server.server_close()


@dataclass
class Mailbox:
    url: str
    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)  # (from, to, raw message)
    refuse: set[str] = field(default_factory=set)  # recipients answered 550


@pytest.fixture
def smtp() -> Iterator[Mailbox]:
    from aiosmtpd.controller import Controller

    port = free_port()
    box = Mailbox(f"smtp://127.0.0.1:{port}")

    class Handler:
        async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
            if address in box.refuse:
                return "550 no such mailbox"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            box.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    yield box
    controller.stop()


@pytest.fixture
def store(store_url: str) -> Iterator[Storage]:
    opened = open_storage(Settings(db=store_url), create=True)
    yield opened
    opened.close()


def make_row(thread_id: str, row_id: str, tool: str = "create_circle", **args: Any) -> PendingInterrupt:
    """A pending row as the console lists it (for tests of the outbox alone)."""
    return PendingInterrupt(
        thread_id=thread_id,
        row_id=row_id,
        interrupt_id=row_id.split("#", 1)[0],
        tool_call_id=f"call-{row_id}",
        tool=tool,
        args=args or {"name": row_id, "color": "red"},
        description=f"Draw {row_id}",
        allowed_decisions=("approve", "edit", "reject"),
        raised_at="2026-12-05T10:00:00.000+00:00",
        graph_id="agent",
    )


def write_policy(tmp_path: Path, text: str) -> str:
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def wait_until(check: Callable[[], bool], timeout: float = 20.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")
