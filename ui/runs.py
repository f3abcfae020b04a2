"""What the New run page offers and says: the example prompts and the final status label."""

from __future__ import annotations

EXAMPLES = {
    "Three parallel shapes": "Create a red circle c1, a blue square s1 and a green triangle t1",
    "A 'then' sequence": "Draw a red circle c1, then a blue square s1",
    "Clear the canvas": "Clear the canvas",
}


def final_label(pending: int) -> str:
    """The status label once the run has stopped."""
    return f"Paused: {pending} interrupt(s) waiting for review" if pending else "Finished"
