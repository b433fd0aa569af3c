"""gunicorn started as `make run` starts it, on a free 127.0.0.1 port, for the scripts
that measure or attack a real server (the fault run, the slow-client probe, the HTTP
benchmark)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Self

from harness.client import Api

SCRIPTS = Path(__file__).resolve().parent.parent
ROOT = SCRIPTS.parent
MAKE_RUN_CONFIG = "service.web.gunicorn_conf"
APP = "service:create_app()"
READY = "/api/search?q=start+up+probe&k=1"  # ready once a worker answers a search


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(condition: Callable[[], object], timeout: float, what: str) -> None:
    """Poll `condition` until it is true; TimeoutError naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def child_env(settings: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a process a script starts: this checkout's `service` (whatever
    an editable install points at) and the scripts folder (so a server can load an app or
    settings module from there, e.g. `benchmarking.onnx_app`), plus `settings`."""
    path = [str(SCRIPTS), str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path), **(settings or {})}


def served_folder(root: Path, token: str) -> dict[str, str]:
    """`make run`'s settings (2 workers of 4 threads) over `root`/index and `root`/corpus,
    with this admin token."""
    return {"PLANSEARCH_INDEX_DIR": str(root / "index"),
            "PLANSEARCH_CORPUS_DIR": str(root / "corpus"),
            "PLANSEARCH_ADMIN_TOKEN": token, "PLANSEARCH_WORKERS": "2",
            "PLANSEARCH_THREADS": "4"}


def indexed_copy(corpus: Path, root: Path) -> None:
    """Copy `corpus` to `root`/corpus (uploads write there) and build `root`/index from it
    with scripts/build_index.py, as `make index` does."""
    shutil.copytree(corpus, root / "corpus")
    subprocess.run([sys.executable, str(SCRIPTS / "build_index.py"), "--json",
                    "--corpus", str(root / "corpus"), "--index", str(root / "index")],
                   check=True, stdout=subprocess.DEVNULL, cwd=ROOT, env=child_env())


class Server:
    """gunicorn with `make run`'s settings module (or `config`) serving `app`, with the
    PLANSEARCH_* `settings` over the environment, its output appended to `log`. As a
    context manager it is started, and stopped however the block ends."""

    def __init__(self, settings: Mapping[str, str], log: Path, *,
                 config: str = MAKE_RUN_CONFIG, app: str = APP,
                 options: Sequence[str] = ()) -> None:
        self.settings, self.log, self.config, self.app = dict(settings), log, config, app
        self.options = list(options)  # gunicorn command-line options, over its config
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def index_dir(self) -> Path:
        """The index folder it serves."""
        return ROOT / self.settings.get("PLANSEARCH_INDEX_DIR", "index")

    def start(self, timeout: float = 180) -> float:
        """Start, and wait until a search is answered: the seconds that took."""
        # no control socket: it would go to $HOME, shared by every server on the machine
        command = [sys.executable, "-m", "gunicorn", "--config", f"python:{self.config}",
                   "--no-control-socket", *self.options,
                   "--bind", f"127.0.0.1:{self.port}", self.app]
        started = time.perf_counter()
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=child_env(self.settings),
                                            stdout=log, stderr=subprocess.STDOUT)
        api = Api(self.port)
        while time.perf_counter() - started < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; "
                                   f"see {self.log}")
            try:
                if api.call("GET", READY, timeout=30)[0] == 200:
                    return time.perf_counter() - started
            except (OSError, ValueError):  # not listening yet, or not answering JSON yet
                pass
            time.sleep(0.05)
        raise RuntimeError(f"gunicorn did not answer within {timeout:.0f} s; see {self.log}")

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()  # a server that never answered may still be running
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def workers(self) -> set[int]:
        """The live worker processes (children of the master, zombies left out)."""
        assert self.process is not None
        found = set()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid and fields[0] not in {"Z", "X"}:
                found.add(int(stat.parent.name))
        return found

    def reload(self, timeout: float = 120) -> None:
        """SIGHUP: new workers load the index afresh; wait until the old ones are gone."""
        assert self.process is not None
        old = self.workers()
        self.process.send_signal(signal.SIGHUP)
        wait_until(lambda: not (old & self.workers()), timeout, "the old workers to exit")

    def stop(self) -> None:
        """SIGTERM, and SIGKILL if the graceful shutdown has not ended within 60 s."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
