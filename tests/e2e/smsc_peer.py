"""Drive the local SMSC (``tests/e2e/smsc/smsc.js``, the npm ``smpp`` package in server mode)
from Python: start it on a free port, send it commands, wait for what it reports."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SMSC_DIR = Path(__file__).parent / "smsc"
SYSTEM_ID = "textwire"
PASSWORD = "secret12"

Event = dict[str, Any]


def ensure_installed() -> None:
    """``npm ci`` the SMSC's locked dependencies once; a clear error if that cannot work."""
    if (SMSC_DIR / "node_modules" / "smpp" / "package.json").exists():
        return
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise RuntimeError("the SMPP peer needs node and npm on PATH")
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=SMSC_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"`npm ci` in {SMSC_DIR} failed (is the npm registry reachable?):\n"
            + done.stderr[-2000:]
        )


class Smsc:
    """One SMSC process; ``events`` is everything it reported, in order."""

    def __init__(self) -> None:
        ensure_installed()
        self.proc = subprocess.Popen(
            ["node", str(SMSC_DIR / "smsc.js"), "0"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.events: list[Event] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.port: int = self.wait(lambda e: e["event"] == "listening", 30)["port"]

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            event = json.loads(line)
            with self._cond:
                self.events.append(event)
                self._cond.notify_all()

    def wait(
        self, predicate: Callable[[Event], bool], timeout: float = 20, start: int = 0
    ) -> Event:
        """The first event from index ``start`` on that matches; fails after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for event in self.events[start:]:
                    if predicate(event):
                        return event
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"SMSC never reported it; events: {self.events[-20:]}")
                self._cond.wait(left)

    def count(self, kind: str) -> int:
        with self._cond:
            return sum(1 for e in self.events if e["event"] == kind)

    def of(self, kind: str) -> list[Event]:
        with self._cond:
            return [e for e in self.events if e["event"] == kind]

    def command(self, **cmd: Any) -> None:
        assert self.proc.stdin is not None
        start = len(self.events)
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        self.wait(lambda e: e["event"] == "ok" and e["cmd"] == cmd["cmd"], 10, start)

    def stop(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


@contextmanager
def smsc() -> Iterator[Smsc]:
    peer = Smsc()
    try:
        yield peer
    finally:
        peer.stop()
