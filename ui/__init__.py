"""Shared pieces of the Streamlit console: the cached console, the page frame, formatting, the inbox logic, the canvas.

Only `ui.console` and `ui.sidebar` import streamlit; the rest is plain Python so it can be tested without a script run.
"""
