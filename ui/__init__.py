"""Shared pieces of the Streamlit console: the cached console, the page frame, sign-in, formatting, the inbox logic.

The modules that draw (`auth`, `console`, `inbox_view`, `live`, `picture`, `sidebar`) import streamlit; the rest is
plain Python so it can be tested without a script run. What a graph draws of its threads is its own
(review/pictures.py); `picture` only shows it.
"""
