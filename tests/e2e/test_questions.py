"""Questions answered from the review card in the browser, opened by a `?row=` link: text, and a yes/no (`false`
for the docs' `is_approved = interrupt(...)`, which the text "no" would have approved)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, Server, serve
from tests.e2e.helpers import ROOT, TIMEOUT_MS, App, review_cli
from tests.e2e.test_flows import reviewer, summary
from tests.helpers import store_query

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
TARGET = str(ROOT / "tests/agents/docs_questions.py") + ":approval"
LAPTOP = {"width": 1024, "height": 768}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def questions_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    work = tmp_path_factory.mktemp("questions")
    with serve(work, ARTIFACTS / "server-questions.log", args=["--", "--graph", TARGET]) as server:
        yield server


def answer_on_card(app: App, text: str, *, as_boolean: bool) -> None:
    card = app.page.locator(".st-key-inbox_card")
    if as_boolean:
        with app.clock.rerun():
            card.get_by_test_id("stButtonGroup").get_by_text("yes/no", exact=True).click()  # "Answer as"
        with app.clock.rerun():
            card.get_by_role("radiogroup", name="Answer").get_by_text(text, exact=True).click()
    else:
        box = card.get_by_role("textbox", name="Answer")
        box.fill(text)
        with app.clock.rerun():
            box.press("Control+Enter")  # a text area commits on Ctrl+Enter (or when it loses the focus)
    # An answer typed with no decision chosen is the decision it is typed for: respond.
    expect(card.get_by_text("Decision: respond", exact=False)).to_be_visible(timeout=TIMEOUT_MS)


@pytest.mark.parametrize(
    ("typed", "as_boolean", "status", "sent"), [("no", True, "rejected", "false"), ("no", False, "approved", '"no"')]
)
def test_a_question_linked_by_its_row_is_answered_on_its_card_as_text_or_yes_no(
    questions_server: Server, new_app: Callable[..., App], typed: str, as_boolean: bool, status: str, sent: str
) -> None:
    started = review_cli(
        questions_server.db, "--graph", TARGET, "start", "--input", json.dumps({"action_details": "drop tables"})
    )
    thread_id = started["thread_id"]
    [row] = started["pending"]
    app = new_app(path=f"?row={row['row_id']}", on=questions_server)
    card = app.page.locator(".st-key-inbox_card")
    # The linked row's card, without any other click: its heading names "Question" and the thread.
    expect(card.get_by_role("heading", name=re.compile("^Question · "))).to_be_visible(timeout=TIMEOUT_MS)
    expect(card.get_by_text(f"Thread {thread_id}", exact=False)).to_be_visible()
    expect(card.get_by_role("button", name="Answer", exact=True)).to_be_visible()
    assert card.get_by_role("button", name="Approve", exact=True).count() == 0  # only what the row allows
    app.set_reviewer(reviewer("quinn"))
    answer_on_card(app, typed, as_boolean=as_boolean)
    app.click("Submit decisions")
    expect(app.page.get_by_text(summary(1, 0, 0))).to_be_visible(timeout=TIMEOUT_MS)
    saved = store_query(
        questions_server.db, "SELECT resume_json FROM review_decisions WHERE thread_id = ?", (thread_id,)
    )
    assert [r[0] for r in saved] == [sent]
    shown = review_cli(questions_server.db, "--graph", TARGET, "show", thread_id)
    assert shown["values"]["status"] == status  # text "no" is truthy: the docs' graph proceeds on it


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["1024x768", "390x844"])
def test_a_row_link_opens_its_card_and_it_is_decided_on_a_laptop_and_a_phone(
    questions_server: Server, new_app: Callable[..., App], viewport: dict[str, int]
) -> None:
    started = review_cli(
        questions_server.db, "--graph", TARGET, "start", "--input", json.dumps({"action_details": "wire $10"})
    )
    thread_id = started["thread_id"]
    [row] = started["pending"]
    name = reviewer("pia")  # in the link: a phone's sidebar (the name box) is folded away
    app = new_app(path=f"?row={row['row_id']}&reviewer={name}", on=questions_server, viewport=viewport)
    card = app.page.locator(".st-key-inbox_card")
    heading = card.get_by_role("heading", name=re.compile("^Question · "))
    expect(heading).to_be_visible(timeout=TIMEOUT_MS)
    box = card.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"]  # one column, whole
    card.scroll_into_view_if_needed()
    answer_on_card(app, "no", as_boolean=True)
    app.screenshot(ARTIFACTS / f"card-link-{viewport['width']}x{viewport['height']}.png")
    app.click("Submit decisions")
    expect(app.page.get_by_text(summary(1, 0, 0))).to_be_visible(timeout=TIMEOUT_MS)
    shown = review_cli(questions_server.db, "--graph", TARGET, "show", thread_id)
    assert shown["values"]["status"] == "rejected"
