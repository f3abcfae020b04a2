"""The canvas-shapes demo agent: one agent the review console can review.

Nothing here imports streamlit or review/; the console reaches this package only
through the `AGENT` spec below (see review/agent.py).
"""

from graph.agent import AGENT, build_graph
from graph.model import ScriptedShapesModel
from graph.tools import TOOLS

__all__ = ["AGENT", "TOOLS", "ScriptedShapesModel", "build_graph"]
