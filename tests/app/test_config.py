"""The tracked Streamlit settings: the server binds 127.0.0.1 unless exposed on purpose; the sidebar is ours."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / ".streamlit" / "config.toml"


def test_the_server_binds_localhost_by_default() -> None:
    settings = tomllib.loads(CONFIG.read_text())
    assert settings["server"]["address"] == "127.0.0.1"


def test_streamlit_reads_the_same_address(monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit import config

    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("STREAMLIT_SERVER_ADDRESS", raising=False)
    config.get_config_options(force_reparse=True)
    try:
        assert config.get_option("server.address") == "127.0.0.1"
        assert config.get_option("client.showSidebarNavigation") is False  # ui/sidebar.py draws the pages
    finally:
        config.get_config_options(force_reparse=True)


def test_the_config_file_is_not_ignored_by_git() -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    ignored = subprocess.run(["git", "check-ignore", "-q", str(CONFIG)], cwd=ROOT, check=False)
    assert ignored.returncode == 1, ".streamlit/config.toml must stay tracked"
