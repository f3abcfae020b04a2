"""The review console: `streamlit run app.py [-- --db PATH]`.

Declares the four pages and the sidebar shared by all of them (reviewer name, database in use).
Pages talk to the agent only through `review.ReviewConsole` (see ui/console.py).
"""

import streamlit as st

from ui.console import REVIEWER_KEY, db_path_setting, get_console, mark_app_ran
from ui.format import md_escape

st.set_page_config(page_title="Review console", page_icon=":material/fact_check:", layout="wide")

navigation = st.navigation(
    [
        st.Page("pages/inbox.py", title="Inbox", icon=":material/inbox:", default=True),
        st.Page("pages/new_run.py", title="New run", icon=":material/play_circle:"),
        st.Page("pages/thread.py", title="Thread", icon=":material/timeline:"),
        st.Page("pages/audit.py", title="Audit", icon=":material/history:"),
    ]
)

with st.sidebar:
    st.text_input("Reviewer name", key=REVIEWER_KEY, placeholder="Your name")
    st.caption("Required before decisions are sent; stored with every decision.")
    st.caption(f"Database: {md_escape(db_path_setting())}")

mark_app_ran()
console = get_console()  # a database that cannot be opened stops every page here, with the reason
if console.store.created and not console.threads(limit=1):
    st.sidebar.info("No database was at this path: a new, empty one was created.")
navigation.run()
