"""A local LangGraph Agent Server (`langgraph dev`, in-memory) serving the repo's langgraph.json.

For the tests and the benchmarks: it binds 127.0.0.1 on a free port, keeps its in-memory data in a
folder of its own, writes the demo tools' effect log there (CANVAS_EFFECT_LOG), and is ready when
`/ok` answers.

    python -m scripts.agent_server [PORT]   # serve until Ctrl-C
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from scripts.pg_cluster import free_port

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "langgraph.json"


class AgentServer:
    """One `langgraph dev` process; `start()` waits until it serves, `stop()` ends it."""

    def __init__(self, folder: Path | None = None, port: int | None = None, *, jobs: int = 10) -> None:
        self.folder = folder or Path(tempfile.mkdtemp(prefix="review-agent-server-"))
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.jobs = jobs
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's base URL on loopback."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def effect_log(self) -> Path:
        """The demo tools' effect log (one JSON line per external effect) the server's tools append to."""
        return self.folder / "effects.jsonl"

    @property
    def log_path(self) -> Path:
        """The server's own output, kept for a failure message."""
        return self.folder / "server.log"

    def effects(self) -> list[str]:
        """Lines of the demo tools' effect log: one per external effect."""
        return self.effect_log.read_text().splitlines() if self.effect_log.exists() else []

    def start(self, timeout: float = 90.0) -> AgentServer:
        """Run `langgraph dev` on the demo graph and wait until it answers (an error with its log's tail if not)."""
        langgraph = Path(sys.executable).parent / "langgraph"
        env = {
            **os.environ,
            "CANVAS_EFFECT_LOG": str(self.effect_log),
            "LANGSMITH_TRACING": "false",
            "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        }
        env.pop("REVIEW_MODEL", None)  # the scripted demo model: no network, no key
        argv = [
            str(langgraph),
            "dev",
            "--config",
            str(self._config()),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--no-browser",
            "--no-reload",
            "--allow-blocking",
            "--n-jobs-per-worker",
            str(self.jobs),
        ]
        log = self.log_path.open("ab")
        # The in-memory runtime keeps its data in .langgraph_api/ of its working directory (and reloads it at
        # the next start): run in this server's own folder, on a copy of the config whose paths point at the repo.
        self.process = subprocess.Popen(argv, cwd=self.folder, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"langgraph dev exited ({self.process.returncode}): {self.tail()}")
            if self.ready():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"langgraph dev did not serve within {timeout:.0f} s: {self.tail()}")

    def _config(self) -> Path:
        """langgraph.json with its dependency and graph paths made absolute (they resolve from the cwd)."""
        config = json.loads(CONFIG.read_text())
        config["dependencies"] = [str((ROOT / dep).resolve()) for dep in config.get("dependencies", ["."])]
        config["graphs"] = {
            name: (str((ROOT / spec).resolve()) if isinstance(spec, str) and ":" in spec else spec)
            for name, spec in config["graphs"].items()
        }
        path = self.folder / "langgraph.json"
        path.write_text(json.dumps(config, indent=2))
        return path

    def ready(self) -> bool:
        """True when the server answers its health check."""
        try:
            with urllib.request.urlopen(f"{self.url}/ok", timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def tail(self, lines: int = 15) -> str:
        """The last lines of the server's log, for an error message."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the server (SIGINT, then kill) if it is still running."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)

    def kill(self) -> None:
        """Stop it at once (a server lost mid-listing)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


if __name__ == "__main__":
    server = AgentServer(port=int(sys.argv[1]) if len(sys.argv) > 1 else None).start()
    print(f"Agent Server on {server.url} (data and effect log in {server.folder}); Ctrl-C stops it", flush=True)
    try:
        server.process.wait()  # type: ignore[union-attr]
    except KeyboardInterrupt:
        server.stop()
