"""Start Greenlane's own processes (API, streams worker) as children, wait until they serve, stop them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from infra.settings import ROOT, Settings


def free_port() -> int:
    """A TCP port free on this machine now, for a child process to serve on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment of a child process configured with these settings."""
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        if value is None:
            env.pop(f"GREENLANE_{name.upper()}", None)
        else:
            env[f"GREENLANE_{name.upper()}"] = json.dumps(value) if isinstance(value, dict) else str(value)
    return env


class ManagedProcess:
    """One child process running a `greenlane` command, its output kept in a log file."""

    def __init__(self, args: list[str], settings: Settings, log_path: Path) -> None:
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = log_path.open("w")
        self.process = subprocess.Popen([sys.executable, "-m", "infra.cli", *args], cwd=ROOT,
                                        env=settings_env(settings), stdout=self._log, stderr=subprocess.STDOUT)

    def wait_for_log(self, marker: str, timeout_s: float = 90.0) -> None:
        """Wait until `marker` appears in the output; fail with the log tail if the process dies or stalls."""
        self._wait(lambda: marker in self.log_path.read_text(errors="replace"), timeout_s)

    def wait_for_http(self, url: str, timeout_s: float = 60.0) -> None:
        def answers() -> bool:
            try:
                return httpx.get(url, timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        self._wait(answers, timeout_s)

    def _wait(self, ready: object, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if ready():  # type: ignore[operator]
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.3)
        raise RuntimeError(f"{self.log_path.name}: not ready (exit code {self.process.poll()}); log tail:\n"
                           f"{self.log_path.read_text(errors='replace')[-4000:]}")

    def stop(self, timeout_s: float = 30.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        self.process.kill()
        self.process.wait()
        self._log.close()


def streams_worker(settings: Settings, log_path: Path) -> ManagedProcess:
    """A faust worker, returned once it reports Ready."""
    worker = ManagedProcess(["streams", "worker", "-l", "info"], settings, log_path)
    worker.wait_for_log("Ready")
    return worker


def api_server(settings: Settings, log_path: Path) -> ManagedProcess:
    """The HTTP API, returned once /health answers."""
    server = ManagedProcess(["api"], settings, log_path)
    server.wait_for_http(f"http://{settings.api_host}:{settings.api_port}/health")
    return server


def optimizer_worker(settings: Settings, log_path: Path) -> ManagedProcess:
    """An optimizer worker, returned once it consumes plan requests."""
    worker = ManagedProcess(["optimizer"], settings, log_path)
    worker.wait_for_log("optimizer worker consuming")
    return worker
