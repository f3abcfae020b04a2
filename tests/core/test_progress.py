"""Progress events: what a run did, readable, for the New run page (display only, never the truth)."""

from review import ReviewConsole
from tests.conftest import THREE_SHAPES


def test_a_run_reports_its_plan_and_each_interrupt_it_waits_on(console: ReviewConsole) -> None:
    job = console.start_run(THREE_SHAPES)
    job.result(timeout=30)
    events = job.events()
    assert events[0].text == "run started"
    assert any(e.node == "agent" and e.text.startswith("planned 3 tool calls: create_circle(c1, red)") for e in events)
    asks = sorted(e.text for e in events if e.node == "review")
    assert asks == [
        "waits for review: create_circle - Draw a red circle 'c1' on the canvas.",
        "waits for review: create_square - Draw a blue square 's1' on the canvas.",
        "waits for review: create_triangle - Draw a green triangle 't1' on the canvas.",
    ]
    assert events[-1].text == "paused: 3 interrupts waiting for review"
    assert job.events(since=len(events)) == []


def test_finished_jobs_are_forgotten_past_the_limit(console: ReviewConsole, monkeypatch) -> None:
    import review.runner

    monkeypatch.setattr(review.runner, "KEEP_JOBS", 2)
    first = [console.start_run("hello") for _ in range(3)]
    for job in first:
        job.result(timeout=30)
    latest = console.start_run("hello again")
    assert console.job(latest.job_id) is latest
    assert console.job(first[0].job_id) is None and console.job(first[1].job_id) is None
    latest.result(timeout=30)
