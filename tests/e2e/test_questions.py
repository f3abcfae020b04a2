"""Questions answered from the Details pane in the browser: text, and a JSON value (`false` for the docs'
`is_approved = interrupt(...)`, which text would have approved)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, Server, serve
from tests.e2e.helpers import ROOT, TIMEOUT_MS, App, review_cli
from tests.e2e.test_flows import reviewer, summary
from tests.helpers import store_query

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
TARGET = str(ROOT / "tests/agents/docs_questions.py") + ":approval"


@pytest.fixture(scope="module")
def questions_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    work = tmp_path_factory.mktemp("questions")
    with serve(work, ARTIFACTS / "server-questions.log", args=["--", "--graph", TARGET]) as server:
        yield server


def answer_in_pane(app: App, text: str, *, as_json: bool) -> None:
    pane = app.page.get_by_test_id("stForm")
    pane.get_by_text("respond", exact=True).click()  # inside a form: no rerun until its button
    pane.get_by_label("Answer (with respond)").fill(text)
    if as_json:
        pane.get_by_text("Send the answer as a JSON value").click()
    app.click("Use this decision")


@pytest.mark.parametrize(
    ("typed", "as_json", "status", "sent"), [("false", True, "rejected", "false"), ("no", False, "approved", '"no"')]
)
def test_a_question_is_answered_from_the_details_pane_with_text_or_a_json_value(
    questions_server: Server, new_app: Callable[..., App], typed: str, as_json: bool, status: str, sent: str
) -> None:
    started = review_cli(
        questions_server.db, "--graph", TARGET, "start", "--input", json.dumps({"action_details": "drop tables"})
    )
    thread_id = started["thread_id"]
    app = new_app(on=questions_server)
    app.set_reviewer(reviewer("quinn"))
    row = app.page.get_by_test_id("stSelectbox").filter(has=app.page.get_by_text("Row", exact=True))
    box = row.get_by_role("combobox")
    if thread_id[:8] not in (box.input_value() or ""):  # another thread's question is shown first
        with app.clock.rerun():
            box.click()
            app.page.get_by_role("option").filter(has_text=thread_id[:8]).click()
    expect(app.page.get_by_test_id("stForm").get_by_text("respond", exact=True)).to_be_visible(timeout=TIMEOUT_MS)
    assert thread_id[:8] in box.input_value()  # the pane is about this thread's question
    answer_in_pane(app, typed, as_json=as_json)
    app.click("Submit decisions")
    expect(app.page.get_by_text(summary(1, 0, 0))).to_be_visible(timeout=TIMEOUT_MS)
    saved = store_query(
        questions_server.db, "SELECT resume_json FROM review_decisions WHERE thread_id = ?", (thread_id,)
    )
    assert [r[0] for r in saved] == [sent]
    shown = review_cli(questions_server.db, "--graph", TARGET, "show", thread_id)
    assert shown["values"]["status"] == status  # text "no" is truthy: the docs' graph proceeds on it
