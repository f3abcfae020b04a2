"""The console as a server: `streamlit run serve.py [-- --db PATH]` (what `make run` does).

It serves the same pages as `streamlit run app.py` (app.py is the Inbox, pages/ the rest) and adds:
- one route for open Inboxes, `/review/changes` (ui/live.py): a long poll answered when the store's change
  token moves, so an idle tab costs the server a parked request instead of a script run every 0.2 s, and
  a row raised by another process shows within a fraction of a second. With sign-in configured it answers
  only a browser that is signed in (401 otherwise), like the pages themselves;
- one route for Agent Servers, `/review/server-runs` (review/sources/server.py): runs this console starts or
  resumes on a server carry a webhook to it, so the server says when such a run ends and the rows it left are
  read at once instead of at the next poll (runs other clients start are still seen by polling). The URL is this
  server's `server.address` (loopback when unset) and port, with a key only this process knows;
- `/metrics` for Prometheus (review/metrics.py): the store's figures read at scrape time (the same in every
  replica) and this process's own; no identities, arguments or thread ids;
- the review console opened as the server starts (in a thread, so the server answers meanwhile), so the
  recovery of what a stopped process left does not wait for somebody to open a page. It is closed when the
  server stops (ui/console.py: its life is the process's, never a cache entry's).
"""

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import streamlit as st
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from streamlit.logger import get_logger

from review import ReviewConsole, metrics
from review.sources.server import RUN_ENDED_ROUTE, run_ended, serve_webhook, stop_webhook
from ui import live
from ui.auth import session_may_watch
from ui.console import close_consoles, db_setting, inbox_watch, open_console

log = get_logger(__name__)
watch = inbox_watch()
feed = live.ChangeFeed(watch.read, watch.wait) if watch is not None else live.ChangeFeed(lambda: None)


async def changes(request: Request) -> PlainTextResponse:
    """`GET /review/changes?since=TOKEN`: the change token, as soon as it is not TOKEN (or after a while)."""
    if not session_may_watch(request.cookies):
        return PlainTextResponse("Sign in first.", status_code=401, headers={"Cache-Control": "no-store"})
    token = await feed.wait(request.query_params.get("since"), gone=request.is_disconnected)
    return PlainTextResponse(token, headers={"Cache-Control": "no-store"})


def _console_if_any() -> ReviewConsole | None:
    try:
        return open_console(db_setting())
    except Exception:  # not openable (yet): the scrape says review_up 0
        return None


scraped = metrics.registry(_console_if_any)


async def metrics_route(_request: Request) -> Response:
    """`GET /metrics`: Prometheus' text format, read from the store in a worker thread."""
    body = await asyncio.to_thread(metrics.render, scraped)
    return Response(body, media_type=metrics.CONTENT_TYPE, headers={"Cache-Control": "no-store"})


async def server_run_ended(request: Request) -> Response:
    """`POST /review/server-runs?key=KEY`: an Agent Server's webhook, a run this console started ended (the run as
    JSON); its thread's state is read now. 403 without this process's key: nobody else can make it read."""
    try:
        payload = await request.json()
    except ValueError:
        payload = None
    return Response(status_code=204 if run_ended(payload, request.query_params.get("key")) else 403)


def _own_url() -> str:
    """This server as an Agent Server on this machine reaches it (set `server.address` for one elsewhere)."""
    host = st.get_option("server.address") or "127.0.0.1"
    host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    return f"http://{host}:{st.get_option('server.port')}"


def _open_at_start() -> None:
    try:
        metrics.watch(open_console(db_setting()))  # this process's batches counted from the start
    except Exception as exc:  # the pages show the reason (and try again) when somebody opens one
        log.error("the review console could not be opened at start: %s", exc)


@asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[None]:
    """Open the console in the background as the server starts; close it (waiting for its resumes) as it stops.
    Runs started meanwhile carry the webhook to this server's run-ended route."""
    serve_webhook(_own_url())
    threading.Thread(target=_open_at_start, name="review-console-open", daemon=True).start()
    yield
    stop_webhook()
    await asyncio.to_thread(close_consoles)  # it waits for running resumes: never on the event loop


live.ROUTE_SERVED = True
app = st.App(
    "app.py",
    routes=[
        Route(live.ROUTE, changes),
        Route(RUN_ENDED_ROUTE, server_run_ended, methods=["POST"]),
        Route(metrics.ROUTE, metrics_route),
    ],
    lifespan=lifespan,
)
