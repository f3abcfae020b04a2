"""The console as a server: `streamlit run serve.py [-- --db PATH]` (what `make run` does).

It serves the same pages as `streamlit run app.py` (app.py is the Inbox, pages/ the rest) and adds one
route for open Inboxes, `/review/changes` (ui/live.py): a long poll answered when the store's change
token moves, so an idle tab costs the server a parked request instead of a script run every 0.2 s, and
a row raised by another process shows within a fraction of a second.
"""

import streamlit as st
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from ui import live
from ui.console import token_reader

feed = live.ChangeFeed(token_reader())


async def changes(request: Request) -> PlainTextResponse:
    """`GET /review/changes?since=TOKEN`: the change token, as soon as it is not TOKEN (or after a while)."""
    token = await feed.wait(request.query_params.get("since"), gone=request.is_disconnected)
    return PlainTextResponse(token, headers={"Cache-Control": "no-store"})


live.ROUTE_SERVED = True
app = st.App("app.py", routes=[Route(live.ROUTE, changes)])
