"""``hub run`` as real processes: the configuration file, start, readiness, SIGKILL.

:class:`Killer` times a kill to the hub's own work: armed for a phase (pull, push,
webhook), it kills the chosen worker a random few milliseconds after the stores see a
request of that phase, or after the balancer handed the worker a webhook, so the process
dies between sending and committing, or half-way through working a delivery.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests


def write_config(path: Path, database_url: str, channels: dict[str, dict[str, Any]]) -> Path:
    """Write the ``hub.toml`` every worker of the run reads."""
    lines = [
        "[hub]",
        'name = "crash run"',
        "[database]",
        f"url = {json.dumps(database_url)}",
        "[locations.main]",
        'name = "Main warehouse"',
    ]
    for name, section in channels.items():
        lines.append(f"[channels.{name}]")
        lines += [f"{key} = {_toml(value)}" for key, value in section.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):  # an inline table (Square's location_map)
        return "{" + ", ".join(f"{json.dumps(str(k))} = {_toml(v)}" for k, v in value.items()) + "}"
    return json.dumps(str(value))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Worker:
    """One ``hub run`` process on a fixed port (the balancer knows it across restarts)."""

    def __init__(self, index: int, config: Path, log: Path) -> None:
        self.index = index
        self.config = config
        self.log = log
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.starts = 0
        self.startup: list[float] = []  # seconds from exec to answering, per start

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        hub = Path(sys.executable).with_name("hub")
        command = [str(hub), "run", "--config", str(self.config), "--port", str(self.port)]
        with self.log.open("ab") as log:
            log.write(f"\n=== start {self.starts + 1} of worker {self.index}\n".encode())
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.starts += 1

    def wait_ready(self, seconds: float = 60.0) -> bool:
        """True once the worker answers its status API."""
        started = time.monotonic()
        while time.monotonic() - started < seconds and self.alive:
            try:
                if requests.get(f"http://127.0.0.1:{self.port}/api/status", timeout=2).ok:
                    self.startup.append(time.monotonic() - started)
                    return True
            except requests.RequestException:
                pass
            time.sleep(0.05)
        return False

    def kill(self) -> None:
        """SIGKILL: no safe point, no clean-up, whatever the process was doing."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(30)

    def stop(self) -> None:
        """SIGTERM, as an operator stops the service; SIGKILL if it hangs."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Kill:
    """One kill point: when, which worker, in what phase, and what was on the wire."""

    at: float
    worker: int
    phase: str
    body: bytes = b""


class Killer:
    """Kill a worker at the next request of a phase, after a random delay of milliseconds."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.kills: list[Kill] = []
        self._lock = threading.Lock()
        self._armed: tuple[str, Worker, threading.Event] | None = None

    def arm(self, phase: str, worker: Worker) -> threading.Event:
        fired = threading.Event()
        with self._lock:
            self._armed = (phase, worker, fired)
        return fired

    def disarm(self) -> None:
        with self._lock:
            self._armed = None

    def notice(self, phase: str, body: bytes) -> None:
        """A request of ``phase`` is under way (called from the stores and the balancer)."""
        with self._lock:
            if self._armed is None or self._armed[0] != phase:
                return
            _, worker, fired = self._armed
            self._armed = None
        delay = self.random.uniform(0.0, 0.25 if phase == "webhook" else 0.05)
        threading.Timer(delay, self._kill, args=(worker, phase, body, fired)).start()

    def now(self, worker: Worker, phase: str) -> None:
        self._kill(worker, phase, b"", threading.Event())

    def _kill(self, worker: Worker, phase: str, body: bytes, fired: threading.Event) -> None:
        worker.kill()
        self.kills.append(Kill(time.time(), worker.index, phase, body))
        fired.set()
