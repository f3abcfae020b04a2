"""Shared pieces of the Streamlit console: the cached console, formatting, the inbox table's logic, the canvas.

Only `ui.console` imports streamlit; the rest is plain Python so it can be tested without a script run.
"""
