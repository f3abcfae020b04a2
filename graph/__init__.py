"""The canvas-shapes demo agent: one agent the review console can review.

Nothing here imports streamlit or review/; the console reaches this package only
through the `AGENT` spec below (see review/agent.py) or langgraph.json's `graph/agent.py:make_graph`,
and draws its threads only through their `thread_picture` hook (graph/picture.py, review/pictures.py).
"""

from graph.agent import AGENT, build_graph
from graph.model import ScriptedShapesModel
from graph.tools import TOOLS

__all__ = ["AGENT", "TOOLS", "ScriptedShapesModel", "build_graph"]
