"""Functional-API graphs (`@entrypoint` + `@task`), after the first examples of LangGraph's functional-API docs.

`review_essay`: takes a topic (a string), composes an essay in a task, asks for a review with `interrupt()` (the
docs' `{"question", "essay"}` value), and returns a string: the thread's values are that string, not a dict.
`parallel_reviews`: takes a topic, runs one `ask_reviewer` task per reviewer in parallel, each task asks its own
`interrupt()` question (distinct ids), and returns the answers as a list. (LangGraph lists one task's question at a
time here: `get_state` shows the entrypoint's interrupt, the first its futures raised; the next comes on resume.)
`fragile`: raises on the input "boom", and after its question on the answer "boom": a graph failing in `start` and in
a resume.

Load one with `--graph tests/agents/functional.py:review_essay` (the console attaches its own checkpointer).
"""

from __future__ import annotations

from langgraph.func import entrypoint, task
from langgraph.types import interrupt

REVIEWERS = ("ana", "ben")


@task
def compose_essay(topic: str) -> str:
    """The docs' slow task, without the sleep: its result is saved, so a resume does not run it again."""
    return f"An essay about {topic}"


@entrypoint()
def review_essay(topic: str) -> str:
    """Compose an essay, ask for a review, return the essay with the review as one string."""
    essay = compose_essay(topic).result()
    review = interrupt({"question": "Please provide a review", "essay": essay})
    return f"{essay} | review: {review}"


@task
def ask_reviewer(name: str, topic: str) -> str:
    """One reviewer's question, raised inside its own task (parallel tasks raise parallel interrupts)."""
    answer = interrupt(f"{name}: what do you think of {topic}?")
    return f"{name}: {answer}"


@entrypoint()
def parallel_reviews(topic: str) -> list[str]:
    """Ask every reviewer at once; the answers in reviewer order."""
    futures = [ask_reviewer(name, topic) for name in REVIEWERS]
    return [future.result() for future in futures]


@entrypoint()
def fragile(text: str) -> str:
    """Raise on "boom", at the start or as the answer to its question (a graph that fails)."""
    if text == "boom":
        raise ValueError("the graph was told to fail at the start")
    answer = interrupt(f"Echo {text}?")
    if answer == "boom":
        raise ValueError("the graph was told to fail on resume")
    return f"{text}: {answer}"
