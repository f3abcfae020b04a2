"""The console fetches nothing from the network: every request a page makes goes to the console's own server
(the favicon too: a ":material/...:" page icon made the browser fetch it from fonts.gstatic.com)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import ARTIFACTS, VIEWPORT, Server
from tests.e2e.helpers import App

pytestmark = [pytest.mark.e2e]


def test_no_page_fetches_anything_from_the_network(browser: object, server: Server) -> None:
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[attr-defined]
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    app = App(page, server.url)
    try:
        app.open("?reviewer=ana", "Inbox")
        for title in ("New run", "Audit", "Inbox"):
            app.go(title)
        icon = page.evaluate("() => [...document.querySelectorAll('link[rel~=icon]')].map(l => l.href)")
        app.screenshot(ARTIFACTS / "no-network-inbox.png")
    finally:
        context.close()
    elsewhere = sorted(
        {url for url in requested if urlsplit(url).scheme in ("http", "https", "ws", "wss")}
        - {url for url in requested if urlsplit(url).hostname == "127.0.0.1"}
    )
    assert elsewhere == [], f"fetched from the network: {elsewhere}"
    assert icon and all("gstatic" not in href for href in icon), icon
    assert requested, "the page made no request at all: nothing was measured"
