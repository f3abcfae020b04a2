"""A graph's picture of a thread (review/pictures.py), drawn for the Thread page and the Inbox's preview.

The UI knows nothing of what a graph draws: the HTML goes to `st.html` (which sanitises it), the table to a
dataframe, the notes to captions as text.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from review.pictures import ThreadPicture
from ui.format import md_escape


def show_picture(picture: ThreadPicture, *, headings: bool = True) -> None:
    """The picture, with its table beside it when it has one; `headings` puts its titles as subheaders."""
    if picture.table or picture.table_columns:
        drawing, table = st.columns([3, 2])
        with drawing:
            _drawing(picture, headings)
        with table:
            if headings and picture.table_title:
                st.subheader(picture.table_title)
            columns = picture.table_columns or None
            st.dataframe(pd.DataFrame(picture.table, columns=columns), hide_index=True)
    else:
        _drawing(picture, headings)


def _drawing(picture: ThreadPicture, headings: bool) -> None:
    if headings:
        st.subheader(picture.title)
    if picture.caption:
        st.caption(md_escape(picture.caption))
    if picture.html:
        st.html(picture.html)
    for note in picture.notes:
        st.caption(md_escape(note))
