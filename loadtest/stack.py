"""The stack a load or fault run drives, all on loopback and all its own: PostgreSQL, Redis, gunicorn, a Celery
worker and beat, and (for the fault run's sync) the channel simulator — each a child process in its own
process group, killed and its temporary directory removed on exit, also on failure.

PostgreSQL and Redis are private instances (initdb into the run's temporary directory, a free port), never
the machine's shared servers: restarting those would break CI and everyone else's work. PostgreSQL refuses to
run as root, so where the run is root (CI, containers) its server runs as the `postgres` system user.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STOP_SECONDS = 15  # a child asked to stop gets this long before it is killed


class StackError(RuntimeError):
    """A part of the stack did not start (its log's tail is in the message)."""


def binaries() -> dict[str, str | None]:
    """Where initdb, postgres and redis-server are (None when missing): PATH first, then Debian's
    /usr/lib/postgresql/<version>/bin."""
    found: dict[str, str | None] = {name: shutil.which(name) for name in ("initdb", "postgres", "redis-server")}
    for version_dir in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        for name in ("initdb", "postgres"):
            if found[name] is None and (version_dir / name).exists():
                found[name] = str(version_dir / name)
    if found["postgres"] and found["initdb"]:
        # postgres must come from the same version as initdb: take both from initdb's directory when there.
        sibling = Path(found["initdb"]).resolve().parent / "postgres"
        if sibling.exists():
            found["postgres"] = str(sibling)
    return found


def missing_binaries() -> list[str]:
    """What the run needs and this machine lacks: the binaries, and (as root) the `postgres` system user."""
    missing = [name for name, path in binaries().items() if path is None]
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            missing.append("a 'postgres' system user (PostgreSQL refuses to run as root)")
    return missing


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_port(port: int, timeout: float, process: subprocess.Popen[Any] | None = None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.settimeout(0.5)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.1)
    return False


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@dataclass
class Child:
    name: str
    process: subprocess.Popen[Any]
    log: Path

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Signal the child's process group and wait; killed after STOP_SECONDS."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=STOP_SECONDS)
        # Whatever the leader left behind in its group (gunicorn and Celery workers) goes too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)


@dataclass
class Stack:
    """A private stack under one temporary directory. Use as a context manager."""

    web_workers: int = 3
    celery_concurrency: int = 2
    extra_env: dict[str, str] = field(default_factory=dict)
    root: Path = field(init=False)
    pg_port: int = field(init=False, default=0)
    redis_port: int = field(init=False, default=0)
    web_port: int = field(init=False, default=0)
    children: dict[str, Child] = field(init=False, default_factory=dict)
    restarts: dict[str, int] = field(init=False, default_factory=dict)
    _pg_user: str | None = field(init=False, default=None)
    _supervised: dict[str, Any] = field(init=False, default_factory=dict)
    _supervisor: threading.Thread | None = field(init=False, default=None)
    _stopping: threading.Event = field(init=False, default_factory=threading.Event)

    # --- lifecycle -------------------------------------------------------------------------------------

    def __enter__(self) -> Stack:
        missing = missing_binaries()
        if missing:
            raise StackError(f"Not installed here: {', '.join(missing)} (Debian: postgresql, redis-server).")
        self.root = Path(tempfile.mkdtemp(prefix="acorn-loadtest-"))
        try:
            self.pg_port, self.redis_port, self.web_port = free_port(), free_port(), free_port()
            self._pg_init()
            self.pg_start()
            self.redis_start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopping.set()
        if self._supervisor is not None:
            self._supervisor.join(timeout=5)
        for name in reversed(list(self.children)):
            self.children[name].stop()
        self.children.clear()
        shutil.rmtree(self.root, ignore_errors=True)

    def _child(self, name: str, argv: list[str], *, env: dict[str, str] | None = None, **popen: Any) -> Child:
        log = self.root / "logs" / f"{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as out:
            process = subprocess.Popen(  # noqa: S603 - our own binaries and modules, fixed arguments
                argv,
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: stopped whole
                **popen,
            )
        child = Child(name, process, log)
        self.children[name] = child
        return child

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        child = self.children.pop(name, None)
        if child is not None:
            child.stop(sig)

    # --- PostgreSQL --------------------------------------------------------------------------------------

    def _pg_init(self) -> None:
        data = self.root / "pg"
        data.mkdir()
        if os.geteuid() == 0:
            self._pg_user = "postgres"
            entry = pwd.getpwnam(self._pg_user)
            os.chmod(self.root, 0o755)  # noqa: S103 - the postgres user must reach its data directory
            os.chown(data, entry.pw_uid, entry.pw_gid)
        initdb = binaries()["initdb"]
        assert initdb is not None
        subprocess.run(  # noqa: S603
            [initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
            check=True,
            capture_output=True,
            timeout=120,
            user=self._pg_user,
        )

    def pg_start(self) -> None:
        postgres = binaries()["postgres"]
        assert postgres is not None
        argv = [
            postgres,
            "-D",
            str(self.root / "pg"),
            "-p",
            str(self.pg_port),
            "-k",
            str(self.root / "pg"),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "max_connections=200",
            "-c",
            "shared_buffers=64MB",
            # A restart here is a process restart on an intact disk: fsync adds nothing to what it proves.
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
        ]
        child = self._child("postgres", argv, user=self._pg_user)
        if not _wait_port(self.pg_port, 60, child.process):
            raise StackError(f"PostgreSQL did not start:\n{_tail(child.log)}")
        self._wait_pg_ready()

    def _wait_pg_ready(self, timeout: float = 60) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.database_url(database="postgres"), connect_timeout=2) as connection:
                    connection.execute("SELECT 1")
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def pg_restart(self, down_seconds: float = 2.0) -> dict[str, float]:
        """Fast shutdown (SIGINT: open transactions roll back, clients are disconnected), a pause, start."""
        began = time.monotonic()
        self.stop("postgres", signal.SIGINT)
        stopped = time.monotonic()
        time.sleep(down_seconds)
        self.pg_start()
        return {"stop_seconds": round(stopped - began, 2), "down_seconds": round(time.monotonic() - stopped, 2)}

    def database_url(self, database: str = "acorn") -> str:
        return f"postgres://postgres@127.0.0.1:{self.pg_port}/{database}"

    def pg_connect(self) -> Any:
        import psycopg

        return psycopg.connect(self.database_url(), connect_timeout=5, autocommit=True)

    def create_database(self) -> None:
        import psycopg

        with psycopg.connect(self.database_url(database="postgres"), autocommit=True, connect_timeout=5) as conn:
            conn.execute("CREATE DATABASE acorn")

    # --- Redis ----------------------------------------------------------------------------------------------

    def redis_start(self) -> None:
        data = self.root / "redis"
        data.mkdir(exist_ok=True)
        redis_server = binaries()["redis-server"]
        assert redis_server is not None
        # As docker-compose runs it: an append-only file, and no eviction of Celery's messages.
        argv = [
            redis_server,
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.redis_port),
            "--dir",
            str(data),
            "--appendonly",
            "yes",
            "--save",
            "",
            "--maxmemory-policy",
            "noeviction",
        ]
        child = self._child("redis", argv)
        if not _wait_port(self.redis_port, 30, child.process):
            raise StackError(f"Redis did not start:\n{_tail(child.log)}")

    def redis_restart(self, down_seconds: float = 2.0) -> dict[str, float]:
        """SIGTERM (Redis writes its append-only file and exits), a pause, start again."""
        began = time.monotonic()
        self.stop("redis", signal.SIGTERM)
        stopped = time.monotonic()
        time.sleep(down_seconds)
        self.redis_start()
        return {"stop_seconds": round(stopped - began, 2), "down_seconds": round(time.monotonic() - stopped, 2)}

    # --- ACORN ---------------------------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        """The environment every ACORN process of the run gets: local settings against the private servers."""
        environment = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_", "REDIS_"))}
        environment.update(
            {
                "DJANGO_SETTINGS_MODULE": "acorn.settings.local",
                "DJANGO_DEBUG": "false",
                "DATABASE_URL": self.database_url(),
                "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
                "ACORN_VAR_DIR": str(self.root / "var"),
                "LOG_FORMAT": "json",
                "LOG_LEVEL": "WARNING",
                "PYTHONUNBUFFERED": "1",
            }
        )
        environment.update(self.extra_env)
        return environment

    def manage(self, *arguments: str, timeout: float = 300) -> str:
        return self.python("manage.py", *arguments, timeout=timeout)

    def python(self, *arguments: str, timeout: float = 300) -> str:
        completed = subprocess.run(  # noqa: S603 - this interpreter, our own modules
            [sys.executable, *arguments],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if completed.returncode != 0:
            raise StackError(f"{' '.join(arguments)} exited {completed.returncode}:\n{completed.stderr[-3000:]}")
        return completed.stdout

    def migrate(self) -> None:
        self.create_database()
        self.manage("migrate", "--noinput", timeout=600)

    def seed(self, *, orders: int, amazon: dict[str, Any] | None = None) -> dict[str, Any]:
        arguments = ["-m", "loadtest.seed", "--orders", str(orders), "--json"]
        if amazon:
            arguments += ["--amazon", json.dumps(amazon)]
        out = self.python(*arguments, timeout=300)
        seeded: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        return seeded

    def web_start(self) -> None:
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        argv = [
            gunicorn,
            "acorn.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.web_port}",
            "--workers",
            str(self.web_workers),
            "--timeout",
            "60",
            "--graceful-timeout",
            "5",
        ]
        child = self._child("web", argv, env=self.env())
        if not _wait_port(self.web_port, 60, child.process):
            raise StackError(f"gunicorn did not start:\n{_tail(child.log)}")

    def worker_start(self) -> None:
        celery = str(Path(sys.executable).with_name("celery"))
        argv = [
            celery,
            "-A",
            "acorn",
            "worker",
            "--loglevel=WARNING",
            "--queues=default,sync,exports",
            f"--concurrency={self.celery_concurrency}",
            "--without-gossip",
            "--without-mingle",
        ]
        self._child("worker", argv, env=self.env())

    def beat_start(self) -> None:
        celery = str(Path(sys.executable).with_name("celery"))
        argv = [celery, "-A", "acorn", "beat", "--loglevel=WARNING", "-s", str(self.root / "beat-schedule")]
        self._child("beat", argv, env=self.env())

    def supervise(self, name: str, start: Any) -> None:
        """Start `name` and start it again whenever it exits, as docker-compose's `restart: unless-stopped`
        does in production (counted in `restarts`): the web and Celery processes of a deployment have a
        supervisor, and so do the run's."""
        start()
        self._supervised[name] = start
        if self._supervisor is None:
            self._supervisor = threading.Thread(target=self._watch, daemon=True)
            self._supervisor.start()

    def _watch(self) -> None:
        while not self._stopping.wait(0.5):
            for name, start in list(self._supervised.items()):
                child = self.children.get(name)
                if child is not None and child.process.poll() is not None and not self._stopping.is_set():
                    self.children.pop(name, None)
                    child.stop()
                    self.restarts[name] = self.restarts.get(name, 0) + 1
                    with contextlib.suppress(Exception):
                        start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def alive(self) -> dict[str, bool]:
        return {name: child.process.poll() is None for name, child in self.children.items()}


@contextlib.contextmanager
def simulator_child(*, orders: int, days: int = 30, seed: int = 17) -> Iterator[dict[str, Any]]:
    """The Amazon seller of `benchmarks.backfill_simulator` (`orders` orders over the last `days` days) in a child
    process; yields the JSON line it prints; stopped on exit."""
    process = subprocess.Popen(  # noqa: S603 - this interpreter, our own module, numbers only
        [
            sys.executable,
            "-m",
            "benchmarks.backfill_simulator",
            *("--orders", str(orders), "--days", str(days)),
            *("--seed", str(seed)),
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise StackError(f"The simulator child ended (exit status {process.wait(timeout=30)}) before serving.")
        yield json.loads(line)
    finally:
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_SECONDS)
