"""The review card under AppTest: one row's context, only its decisions, fields typed from its schema, answers that
fit their type, links that open it, and the same draft as the table (issue 20 item 1)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from streamlit.testing.v1 import AppTest

from review import ReviewConsole, Settings
from tests.agents import support_agent
from tests.app.conftest import APP, alerts, editor_frame, run, set_edits, settle, submit
from tests.cli.test_cli import ROOT
from tests.conftest import THREE_SHAPES
from ui import card, inbox
from ui.console import close_consoles
from ui.format import request_words
from ui.inbox import CELL_WORDS

SUPPORT = str(ROOT / "tests/agents/support_agent.py")
QUESTIONS = str(ROOT / "tests/agents/docs_questions.py")


def field(key: str, group: str, name: str) -> str:
    """The widget key of a card's form field (`arg` or `answer`): ui/schema_form.py under the card's prefix."""
    return f"{card.widget_key(key, group)}.{name}"


def seed(console: ReviewConsole, prompt: str = THREE_SHAPES) -> str:
    return console.start_run(prompt).result(timeout=30).thread_id


def thread_cell(prompt: str) -> str:
    return request_words(prompt, CELL_WORDS)


def shown(at: AppTest) -> str:
    """The row key whose card is shown."""
    return str(at.session_state[inbox.STATE_CARD])


def heading(at: AppTest) -> str:
    [title] = [m.value for m in at.markdown if m.value.startswith("#### ")]
    return title.removeprefix("#### ").replace("\\", "")


def decision_labels(at: AppTest) -> list[str]:
    return [b.label for b in at.button if b.key and "_decide:" in b.key and not b.key.endswith(":clear")]


def widget(at: AppTest, kind: str, key: str, name: str) -> Any:
    return getattr(at, kind)(key=card.widget_key(key, name))


def texts(at: AppTest) -> list[str]:
    return [t.value for t in at.text]


def test_the_card_shows_the_row_its_thread_and_only_its_own_decisions(app: AppTest, console: ReviewConsole) -> None:
    thread_id = seed(console)
    run(app)
    key = shown(app)
    assert key == app.session_state[inbox.STATE_RENDERED][0]  # the first row until another is picked
    assert heading(app) == f"create_circle · {thread_cell(THREE_SHAPES)}"  # the tool and the thread
    assert "Draw a red circle 'c1' on the canvas." in [m.value.replace("\\", "") for m in app.markdown]
    assert decision_labels(app) == ["Approve", "Edit", "Reject"]
    assert [w.label for w in app.text_input if w.key.startswith(card.widget_key(key, "arg") + ".")] == [
        "shape_id",
        "color",
    ]  # a field per argument, labelled with its name
    assert [w.value for w in app.text_input if w.key.startswith(card.widget_key(key, "arg") + ".")] == ["c1", "red"]
    assert THREE_SHAPES in texts(app)  # the thread's request
    assert any(f"Thread {thread_id}" in c.value for c in app.caption)


def test_a_row_link_opens_its_card_and_a_stale_one_says_so(app: AppTest, console: ReviewConsole) -> None:
    thread_id = seed(console)
    square = next(r for r in console.pending(thread_id) if r.tool == "create_square")
    app.query_params["row"] = square.row_id
    run(app)
    assert shown(app) == f"{thread_id}:{square.row_id}"
    assert heading(app).startswith("create_square · ")

    other = AppTest.from_file(APP, default_timeout=30)
    other.query_params["row"] = "no-such-row"
    run(other)
    [note] = [i.value for i in other.info if "not pending" in i.value]
    assert "no\\-such\\-row is not pending" in note


def test_picking_a_row_names_it_in_the_url(app: AppTest, console: ReviewConsole) -> None:
    thread_id = seed(console)
    run(app)
    third = app.session_state[inbox.STATE_RENDERED][2]
    click_row(app, third)
    run(app)
    assert shown(app) == third
    assert app.query_params["row"] == third.split(":", 1)[1]
    app.button(key="card_previous").click()
    run(app)
    assert shown(app) == app.session_state[inbox.STATE_RENDERED][1] and thread_id in shown(app)


def test_a_field_changed_in_the_card_is_an_edit_shown_argument_by_argument_and_sent(
    app: AppTest, console: ReviewConsole
) -> None:
    thread_id = seed(console)
    run(app)
    key = shown(app)
    app.text_input(key=field(key, "arg", "color")).set_value("yellow")
    run(app)
    entry = app.session_state[inbox.STATE_DRAFT][key]
    assert json.loads(entry["edited"]) == {"color": "yellow"}  # only what changed, laid over the rest when sent
    assert editor_frame(app)["edited arguments"][0] == '{"color": "yellow"}'  # the table shows the card's edit
    assert "color:\n    red\n  → yellow" in texts(app)  # before → after, only the changed argument
    assert decision_labels(app) == ["Approve", "Edit", "Reject"]
    [edit] = [b for b in app.button if b.key == card.widget_key(key, "decide:edit")]
    assert edit.proto.type == "primary"  # the decision the typed edit makes

    app.session_state["reviewer"] = "pam"
    submit(app)
    [entry_sent] = [e for e in console.audit(thread_id=thread_id) if e.tool == "create_circle"]
    assert entry_sent.decision == "edit" and entry_sent.args_after == {"shape_id": "c1", "color": "yellow"}


def test_buttons_decide_clear_takes_back_and_a_contradiction_shows_at_once(
    app: AppTest, console: ReviewConsole
) -> None:
    seed(console)
    run(app)
    key = shown(app)
    widget(app, "text_area", key, "message").input("not red")
    run(app)
    assert app.session_state[inbox.STATE_DRAFT][key]["decision"] == "reject"  # a message typed is a rejection's
    widget(app, "button", key, "decide:reject").click()
    run(app)
    assert app.session_state[inbox.STATE_DRAFT][key]["decision"] == "reject"  # a click sets, never toggles
    widget(app, "button", key, "decide:clear").click()
    run(app)
    assert app.session_state[inbox.STATE_DRAFT][key]["decision"] is None  # taken back
    assert app.session_state[inbox.STATE_DRAFT][key]["message"] == "not red"  # nothing typed is lost
    widget(app, "button", key, "decide:approve").click()
    run(app)
    assert app.session_state[inbox.STATE_DRAFT][key]["decision"] == "approve"
    warnings = alerts(app, "warning")
    assert any(w.startswith("Cannot be sent: a message is only sent with reject or respond") for w in warnings)


@pytest.fixture
def support(app_db: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("REVIEW_GRAPH", f"{SUPPORT}:graph")
    close_consoles()
    return app_db


def test_a_multi_line_body_edited_in_the_card_reaches_the_checkpoint_with_its_newlines(support: Path) -> None:
    console = ReviewConsole.open(settings=Settings.from_env(db=str(support)))
    try:
        thread_id = console.start_run("refund order 1042").result(timeout=30).thread_id
    finally:
        console.close()
    at = run(AppTest.from_file(APP, default_timeout=30))
    keys = at.session_state[inbox.STATE_RENDERED]
    email = next(k for k in keys if at.session_state[inbox.STATE_DRAFT][k]["tool"] == "email_customer")
    refund = next(k for k in keys if at.session_state[inbox.STATE_DRAFT][k]["tool"] == "refund_order")
    click_row(at, email)
    run(at)
    body = at.text_area(key=field(email, "arg", "body"))
    assert body.value == support_agent.BODY  # a text area, newlines and all
    new_body = support_agent.BODY.replace("3-5 days", "2 days") + "\nP.S. Sorry for the wait."
    body.input(new_body)
    run(at)
    click_row(at, refund)
    run(at)
    assert decision_labels(at) == ["Approve", "Reject"]  # refund_order allows no edit
    assert not [w for w in at.text_area if w.key and w.key.startswith(card.widget_key(refund, "arg") + ".")]
    widget(at, "button", refund, "decide:approve").click()
    run(at)
    at.session_state["reviewer"] = "kim"
    submit(at)
    assert alerts(at, "success") == ["Applied 2 · conflicts 0 · refused 0 · new interrupts 0 (1 thread)"], alerts(
        at, "warning"
    ) + alerts(at, "error")

    after = ReviewConsole.open(settings=Settings.from_env(db=str(support)))
    try:
        messages = after.thread(thread_id).values["messages"]
        [sent] = [m["content"] for m in messages if m["type"] == "tool" and m.get("name") == "email_customer"]
        # The tool ran with the edited body, newlines and all (langchain notes the edit before the tool's response).
        assert sent.endswith(f"Tool response:\nemailed ana@example.org: Your refund\n{new_body}")
    finally:
        after.close()


def started_question(app_db: Path, monkeypatch: pytest.MonkeyPatch, target: str, run_input: Any) -> tuple[str, AppTest]:
    """A question graph loaded as the app's graph, one run started from `run_input`: its thread and the Inbox."""
    monkeypatch.setenv("REVIEW_GRAPH", target)
    close_consoles()
    console = ReviewConsole.open(settings=Settings.from_env(db=str(app_db)))
    try:
        thread_id = console.start_run("", run_input=run_input).result(timeout=30).thread_id
    finally:
        console.close()
    return thread_id, run(AppTest.from_file(APP, default_timeout=30))


def values_after(at: AppTest, app_db: Path, thread_id: str) -> dict[str, Any]:
    """Submit as kim; the thread's state values once the batch was applied."""
    at.session_state["reviewer"] = "kim"
    submit(at)
    after = ReviewConsole.open(settings=Settings.from_env(db=str(app_db)))
    try:
        return dict(after.thread(thread_id).values)
    finally:
        after.close()


def test_a_boolean_question_is_answered_no_from_the_card_and_the_graph_holds(
    app_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    thread_id, at = started_question(app_db, monkeypatch, f"{SUPPORT}:confirm_shipping", {"order": "1042"})
    key = shown(at)
    assert heading(at).startswith("Question · ")
    assert decision_labels(at) == ["Answer"]
    answer = widget(at, "radio", key, "answer")
    assert answer.label == "Answer" and answer.options == ["yes", "no"]
    answer.set_value("no")
    run(at)
    entry = at.session_state[inbox.STATE_DRAFT][key]
    assert (entry["decision"], entry["message"], entry["json"]) == ("respond", "false", True)
    assert values_after(at, app_db, thread_id)["status"] == "held"  # the reject branch: False, not the text "no"


def test_a_question_without_a_schema_is_answered_as_the_type_the_reviewer_says(
    app_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    thread_id, at = started_question(app_db, monkeypatch, f"{QUESTIONS}:approval", {"action_details": "wire $10"})
    key = shown(at)
    widget(at, "segmented_control", key, "answer_as").set_value("yes/no")
    run(at)
    widget(at, "radio", key, "answer").set_value("no")
    run(at)
    assert values_after(at, app_db, thread_id)["status"] == "rejected"


def test_an_object_answer_is_a_form_of_its_fields(app_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    thread_id, at = started_question(app_db, monkeypatch, f"{QUESTIONS}:refund", {"order": "7"})
    key = shown(at)
    at.checkbox(key=field(key, "answer", "approved")).check()
    run(at)
    at.text_input(key=field(key, "answer", "note")).input("goodwill")
    run(at)
    entry = at.session_state[inbox.STATE_DRAFT][key]
    assert json.loads(entry["message"]) == {"approved": True, "note": "goodwill"} and entry["json"]
    values = values_after(at, app_db, thread_id)
    assert (values["approved"], values["note"]) == (True, "goodwill")


def test_the_description_is_markdown_without_images_or_script_links() -> None:
    from ui.detail import safe_markdown

    text = "**Refund** ![pixel](https://t.example/p.png) [docs](https://x.example/a) [x](javascript:alert(1)) <b>"
    assert safe_markdown(text) == "**Refund** pixel [docs](https://x.example/a) x &lt;b>"
    assert not re.search(r"!\[", safe_markdown("![a](b) ![c](d(e))"))


def test_a_thread_link_filters_the_inbox_until_the_filter_is_cleared(app: AppTest, console: ReviewConsole) -> None:
    first = seed(console)
    second = seed(console, "Draw a red circle c7, then a blue square s7")
    app.query_params["thread"] = second
    run(app)
    assert {k.split(":", 1)[0] for k in app.session_state[inbox.STATE_RENDERED]} == {second}
    assert app.multiselect(key=inbox.THREAD_FILTER).value == [second]
    app.multiselect(key=inbox.THREAD_FILTER).set_value([])
    run(app)
    assert {k.split(":", 1)[0] for k in app.session_state[inbox.STATE_RENDERED]} == {first, second}
    assert "thread" not in app.query_params  # the URL no longer says one thread


def test_the_banner_stays_until_dismissed_and_rows_the_batch_raised_are_marked(
    app: AppTest, console: ReviewConsole
) -> None:
    thread_id = seed(console, "Draw a red circle c7, then a blue square s7")
    run(app)
    app.session_state["reviewer"] = "pam"
    set_edits(app, {0: {"decision": "approve"}})
    submit(app)
    assert alerts(app, "success") == ["Applied 1 · conflicts 0 · refused 0 · new interrupts 1 (1 thread)"]
    [raised] = console.pending(thread_id)
    assert editor_frame(app)["status"].tolist() == [inbox.RAISED]  # the square the batch raised
    run(app)
    assert alerts(app, "success")  # still there on the next run
    app.button(key="inbox_dismiss").click()
    run(app)
    assert alerts(app, "success") == []
    assert raised.tool == "create_square"


def test_an_empty_inbox_of_a_graph_without_examples_offers_only_new_run(
    app_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REVIEW_GRAPH", f"{SUPPORT}:graph")
    close_consoles()
    at = run(AppTest.from_file(APP, default_timeout=30))
    assert "No interrupts are waiting for review." in alerts(at, "info")
    assert not [b for b in at.button if b.key == "inbox_demo"]  # the demo's scenarios are the demo's
    assert [link.label for link in at.main.get("page_link")] == ["Start a run"]


def test_fields_drawn_for_the_first_time_start_from_the_draft_never_empty(app: AppTest, console: ReviewConsole) -> None:
    """A card drawn read-only first (the reviewer not known yet: no fields) was synced without its fields; when the
    fields appear they hold the row's arguments, and a decision button keeps them (the edit stays empty)."""
    thread_id = seed(console)
    row = console.pending(thread_id)[0]
    key = f"{thread_id}:{row.row_id}"
    app.session_state[card.CARD_ROW] = key
    app.session_state[card.CARD_SYNCED] = {key: card.entry_version(inbox.new_entry(row))}
    app.session_state[card.widget_key(key, "message")] = ""  # what the read-only card's sync left behind
    app.session_state[card.CARD_DRAWN] = key  # ... and that card was the last drawn
    run(app)
    assert app.text_input(key=field(key, "arg", "color")).value == "red"
    widget(app, "button", key, "decide:approve").click()
    run(app)
    entry = app.session_state[inbox.STATE_DRAFT][key]
    assert (entry["decision"], entry["edited"]) == ("approve", "")
    assert not [w for w in alerts(app, "warning") if w.startswith("Cannot be sent")]


def test_a_field_reporting_itself_empty_in_the_same_request_loses_no_message_typed_beside_it(
    app: AppTest, console: ReviewConsole
) -> None:
    """The browser may report an argument field empty that the reviewer never touched (a widget drawn anew), in the
    very request that commits a message typed beside it and a click on Reject (Chromium, issue 20 item 3: 1 of 40
    messages was lost so). The empty field is drawn again from the draft; the message and the decision are kept."""
    seed(console)
    run(app)
    key = shown(app)
    app.text_input(key=field(key, "arg", "color")).set_value("")  # first in the request: drawn above the message
    widget(app, "text_area", key, "message").input("not now")
    widget(app, "button", key, "decide:reject").click()
    run(app)
    entry = app.session_state[inbox.STATE_DRAFT][key]
    assert (entry["decision"], entry["message"], entry["edited"]) == ("reject", "not now", "")
    round_ = app.session_state[card.CARD_ROUND][key]  # drawn again from the draft: new widgets
    assert app.text_input(key=f"{card.widget_key(key, 'arg', round_)}.color").value == "red"
    assert app.text_area(key=card.widget_key(key, "message", round_)).value == "not now"


def _action_link(console: ReviewConsole, row: object, decision: str, to: str, seconds: float = 600) -> str:
    """A notification's action link for `row` (review/notify/links.py), as the worker mints it; its token."""
    url = console.action_links().mint(row, decision, (to,), time.time() + seconds, nonce="test")  # type: ignore[arg-type]
    return parse_qs(urlsplit(url).query)["action"][0]


def open_link(row_id: str, token: str, reviewer: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["row"] = row_id
    at.query_params["action"] = token
    at.session_state["reviewer"] = reviewer
    return run(at)


def test_an_action_link_opens_the_card_and_acts_only_when_its_recipient_confirms(
    app: AppTest, console: ReviewConsole
) -> None:
    thread_id = seed(console)
    row = console.pending(thread_id)[0]
    token = _action_link(console, row, "approve", "pam")

    at = open_link(row.row_id, token, "pam")
    assert "From a notification: approve this row? Nothing is sent until you confirm." in alerts(at, "info")
    assert "action" not in at.query_params  # a reload opens the card, not the action again
    assert console.audit(thread_id=thread_id) == []  # opening a link never acts
    [confirm] = [b for b in at.button if b.label == "Confirm: Approve"]
    confirm.click()
    settle(run(at))
    assert alerts(at, "success") == ["Applied 1 · conflicts 0 · refused 0 · new interrupts 0 (1 thread)"]
    [entry] = console.audit(thread_id=thread_id)
    assert (entry.row_id, entry.decision, entry.reviewer, entry.status) == (row.row_id, "approve", "pam", "applied")

    replay = open_link(row.row_id, token, "pam")  # the row was applied: the link opens nothing, claims nothing
    assert any("is not pending" in line for line in alerts(replay, "info"))
    assert not [b for b in replay.button if b.label.startswith("Confirm:")]
    assert len(console.audit(thread_id=thread_id)) == 1


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ("tampered", "this link is damaged or was altered"),
        ("expired", "this link expired at"),
        ("recipient", "this link was sent to pam, not to eve"),
        ("decided", "was already decided (reject by bob)"),
    ],
)
def test_a_bad_action_link_is_refused_in_one_line_and_claims_nothing(
    app: AppTest, console: ReviewConsole, change: str, words: str
) -> None:
    thread_id = seed(console)
    row = console.pending(thread_id)[1]
    token = _action_link(console, row, "approve", "pam", seconds=-5 if change == "expired" else 600)
    who = "eve" if change == "recipient" else "pam"
    if change == "tampered":
        token = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    if change == "decided":  # another reviewer holds a decision on the row: the claim is theirs
        console.submit([{"thread_id": thread_id, "row_id": row.row_id, "decision": {"type": "reject"}}], "bob")
        token = _action_link(console, row, "approve", "pam")
    before = len(console.audit(thread_id=thread_id))
    at = open_link(row.row_id, token, who)
    if change == "decided":  # the row was resumed: no longer pending, the link names no row of the Inbox
        assert any("is not pending" in line for line in alerts(at, "info"))
    else:
        [line] = [w for w in alerts(at, "warning") if w.startswith("The link cannot be used: ")]
        assert words in line
    assert not [b for b in at.button if b.label.startswith("Confirm:")]
    assert len(console.audit(thread_id=thread_id)) == before


def test_an_action_link_is_the_second_of_four_eyes_and_the_tool_runs_once(
    app_db: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    policy = tmp_path / "review-policy.toml"
    policy.write_text("[tools.create_circle]\napprovals = 2\n", encoding="utf-8")
    monkeypatch.setenv("REVIEW_POLICY", str(policy))
    close_consoles()
    console = ReviewConsole.open(settings=Settings.from_env(db=str(app_db)))
    try:
        thread_id = seed(console, "Draw a red circle c8")
        [row] = console.pending(thread_id)
        token = _action_link(console, row, "approve", "pam")
        # ann approves in the console: one of two; the row stays pending.
        first = console.submit([{"thread_id": thread_id, "row_id": row.row_id, "decision": {"type": "approve"}}], "ann")
        assert first.exit_code == 0 and [r.row_id for r in console.pending(thread_id)] == [row.row_id]

        at = open_link(row.row_id, token, "pam")  # pam, from the notification: the second pair of eyes
        [confirm] = [b for b in at.button if b.label == "Confirm: Approve"]
        confirm.click()
        settle(run(at))
        assert console.pending(thread_id) == []
        applied = [e for e in console.audit(thread_id=thread_id) if e.status == "applied"]
        assert len(applied) == 1 and applied[0].co_signers and "ann" in applied[0].co_signers
        shapes = console.thread(thread_id).values["canvas"]
        assert [s["shape_id"] for s in shapes] == ["c8"]  # the tool ran once

        again = open_link(row.row_id, token, "pam")  # used up
        assert not [b for b in again.button if b.label.startswith("Confirm:")]
    finally:
        console.close()


def test_the_card_links_a_traced_run_to_its_trace(app: AppTest, app_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.insights.test_traces import LANGSMITH, traced_run
    from ui.console import open_console

    monkeypatch.setenv("REVIEW_TRACE_URL", LANGSMITH)
    console = open_console(str(app_db.resolve()))
    run_id = "5b1c2f0e-0000-4000-8000-000000000001"
    traced_run(console, "t-traced", run_id)
    run(app)
    assert shown(app).startswith("t-traced:")
    url = f"https://smith.langchain.com/o/org-1/projects/p/proj-1/r/{run_id}?trace_id={run_id}"
    assert [(b.proto.label, b.proto.url) for b in app.get("link_button")] == [("LangSmith trace", url)]


def click_row(at: AppTest, key: str) -> None:
    """What a click on a row of a table does (ui/row_focus.py): that row's card, and the URL names it."""
    at.session_state[inbox.STATE_CARD] = key
    at.session_state[inbox.STATE_CARD_MOVED] = True
