"""A private PostgreSQL cluster in a folder, for the tests, the benchmarks and `make run-postgres`.

`initdb` and `postgres` refuse to run as root, so as root they run as the `postgres` OS user
(`runuser -u postgres --`) on a folder chowned to it. The cluster listens on 127.0.0.1 only; local
connections are trusted except for the role `reviewer`, which must give its password (the tests
check that wrong credentials get a clear message). Binaries: $REVIEW_PG_BIN, else the newest
/usr/lib/postgresql/*/bin, else `pg_config --bindir`.

    python -m scripts.pg_cluster start DIR PORT [--fast]   # initdb if needed, start, wait until ready
    python -m scripts.pg_cluster stop DIR
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

PASSWORD_ROLE = "reviewer"
PASSWORD = "reviewer-secret"  # a test-only role on a private, loopback-only cluster


def bin_dir() -> Path | None:
    """Where PostgreSQL's server binaries are, or None when they are not installed."""
    given = os.environ.get("REVIEW_PG_BIN")
    if given:
        return Path(given)
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        if out and (Path(out) / "initdb").exists():
            return Path(out)
    return None


def free_port() -> int:
    """A loopback TCP port free right now, for a throwaway cluster."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_owner(argv: list[str]) -> list[str]:
    """Run as `postgres` when we are root (the server refuses root)."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _chown(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


class Cluster:
    """One data directory and the server running on it."""

    def __init__(self, data: Path, port: int) -> None:
        found = bin_dir()
        if found is None:
            raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql, or set REVIEW_PG_BIN)")
        self.bin = found
        self.data = data.resolve()
        self.port = port
        self.sockets = self.data / "sockets"

    def url(self, database: str = "postgres", user: str = "postgres", password: str | None = None) -> str:
        """A connection URL to a database of this cluster."""
        auth = f"{user}:{password}" if password else user
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{database}"

    def init(self) -> None:
        """Create the cluster's data folder with initdb, unless it already holds one."""
        if (self.data / "PG_VERSION").exists():
            return
        self.data.mkdir(parents=True, exist_ok=True)
        _chown(self.data)
        subprocess.run(
            _as_owner(
                [
                    str(self.bin / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
        )
        hba = self.data / "pg_hba.conf"
        # The password role is checked first; everyone else on the loopback is trusted (a private cluster).
        hba.write_text(
            f"host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n"
            "local all all trust\nhost all all 127.0.0.1/32 trust\n",
            encoding="utf-8",
        )
        _chown(hba)

    def start(self, *, fast: bool = False, timeout: float = 60.0) -> None:
        """Start the server and wait until it accepts connections. `fast`: no fsync (test data only)."""
        self.init()
        self.sockets.mkdir(exist_ok=True)
        _chown(self.sockets)
        # track_commit_timestamp: the notify-latency figures measure from the commit of the write.
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.sockets} -c max_connections=200 "
            "-c track_commit_timestamp=on"
        )
        if fast:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        log = self.data / "server.log"
        subprocess.run(
            _as_owner(
                [
                    str(self.bin / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-l",
                    str(log),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    str(int(timeout)),
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
        )
        self._wait_ready(timeout)
        self._ensure_password_role()

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready = subprocess.run(
                [str(self.bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)], capture_output=True
            )
            if ready.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"PostgreSQL on port {self.port} did not become ready: see {self.data / 'server.log'}")

    def _ensure_password_role(self) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (PASSWORD_ROLE,)).fetchone() is None:
                conn.execute(f"CREATE ROLE {PASSWORD_ROLE} LOGIN CREATEDB PASSWORD '{PASSWORD}'")

    def create_database(self, name: str) -> str:
        """A fresh, empty database; returns its URL."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url(name)

    def stop(self, mode: str = "fast") -> None:
        """Stop the cluster with pg_ctl (`mode`: smart, fast or immediate) if it is running."""
        if not (self.data / "postmaster.pid").exists():
            return
        subprocess.run(
            _as_owner([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"]),
            check=False,
            capture_output=True,
        )

    def remove(self) -> None:
        """Stop the cluster at once and delete its data folder."""
        self.stop("immediate")
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(self.data)


def main(argv: list[str] | None = None) -> int:
    """The command line: start, stop or remove a cluster; the exit status."""
    parser = argparse.ArgumentParser(prog="python -m scripts.pg_cluster", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="initdb when needed, start, wait until ready")
    start.add_argument("data", type=Path)
    start.add_argument("port", type=int)
    start.add_argument("--database", default="review", help="create this database when missing")
    start.add_argument("--fast", action="store_true", help="no fsync: for throwaway data")
    stop = sub.add_parser("stop", help="stop the server of DIR")
    stop.add_argument("data", type=Path)
    args = parser.parse_args(argv)
    if args.command == "stop":
        Cluster(args.data, 0).stop()
        return 0
    cluster = Cluster(args.data, args.port)
    if (cluster.data / "postmaster.pid").exists():
        cluster.stop()  # a server left running from an earlier demo (or a stale pid file)
    cluster.start(fast=args.fast)
    import psycopg

    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (args.database,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{args.database}"')
    print(cluster.url(args.database))
    return 0


if __name__ == "__main__":
    sys.exit(main())
