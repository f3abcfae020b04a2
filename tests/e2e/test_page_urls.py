"""A page's URL as the very first request a server gets: the page, framed by the shared sidebar, nothing else.

Each test starts its own server, so the browser's first request is also the server's first session (the
moment Streamlit's `pages/` folder handling used to differ), in a new browser context.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, Server
from tests.e2e.helpers import App

pytestmark = [pytest.mark.e2e]

NAV = ["Inbox", "New run", "Thread", "Audit", "Insights"]


def nav_labels(app: App) -> list[str]:
    """The sidebar buttons' visible labels (icons and shortcut hints are elements of their own)."""
    buttons = app.nav_buttons()
    return [button.get_by_test_id("stMarkdownContainer").inner_text().strip() for button in buttons.all()]


@pytest.mark.parametrize(("path", "title"), [("audit", "Audit"), ("thread", "Thread")])
def test_a_first_request_to_a_page_url_shows_that_page_with_the_shared_sidebar(
    fresh_server: Server, new_app: Callable[..., App], path: str, title: str
) -> None:
    app = new_app(path, title, on=fresh_server)  # a new browser context: its first request is this URL
    page = app.page
    sidebar = page.get_by_test_id("stSidebar")

    expect(page).to_have_url(f"{fresh_server.url}/{path}")
    expect(page).to_have_title(f"{title} · Review console")
    expect(page.get_by_role("heading", level=1)).to_have_text([title])  # this page only, once
    expect(sidebar.get_by_role("textbox", name="Reviewer name")).to_be_visible()
    expect(sidebar.get_by_text("Database: ")).to_be_visible()
    expect(app.nav_buttons()).to_have_count(len(NAV))
    assert nav_labels(app) == NAV
    expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)  # Streamlit's own page list stays hidden
    app.screenshot(ARTIFACTS / f"first-request-{path}.png")

    # The buttons lead to the pages at their URLs, in the same session.
    app.set_reviewer("ada")
    app.go("Inbox")
    expect(page).to_have_url(f"{fresh_server.url}/?reviewer=ada")  # the name rides along for a reload
    app.go("New run")
    expect(page).to_have_url(f"{fresh_server.url}/new_run?reviewer=ada")
    expect(sidebar.get_by_role("textbox", name="Reviewer name")).to_have_value("ada")
    expect(app.nav_buttons()).to_have_count(len(NAV))
