"""Fixtures for the real-third-party-client suite.

One roster server is started per test session (``roster serve`` on port 0 with a
fresh SQLite database in a temporary directory). Tests talk to it through real,
unmodified client libraries; the helpers here use only the standard library
(``urllib.request``) so that seeding does not depend on the code under test in the
clients, nor on ``batch``.

Every test gets its own ``tag`` (a unique LAST_NAME) and seeds its own users, so
tests never depend on each other's data.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
WEBHOOK_CODE = "clientsuite0123456789abcdef"
ADMIN_PASSWORD = "Client-Suite-Passw0rd!"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


def roster_bin() -> Path:
    env = os.environ.get("ROSTER_BIN")
    path = Path(env) if env else REPO / "target" / "release" / "roster"
    if not path.is_absolute():
        path = (REPO / path).resolve()
    if not path.exists():
        pytest.exit(
            f"roster binary not found at {path}; build it with "
            "`cargo build --release -p roster` or set ROSTER_BIN",
            returncode=2,
        )
    return path


class RestError(Exception):
    """A non-2xx reply from the server, with its status and decoded body."""

    def __init__(self, status: int, body: Any, raw: bytes):
        super().__init__(f"HTTP {status}: {raw[:500]!r}")
        self.status = status
        self.body = body
        self.raw = raw


@dataclass
class Server:
    base: str
    webhook: str
    proc: subprocess.Popen
    log_path: Path
    stdout_lines: list = field(default_factory=list)

    def call(self, method: str, params: dict | None = None) -> dict:
        """POST JSON to ``{webhook}{method}`` and return the whole decoded reply."""
        data = json.dumps(params or {}).encode()
        req = urllib.request.Request(
            self.webhook + method,
            data=data,
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                raw = resp.read()
                return json.loads(raw)
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            raise RestError(e.code, body, raw) from None

    def result(self, method: str, params: dict | None = None) -> Any:
        return self.call(method, params)["result"]

    def users_by_tag(self, tag: str) -> list[dict]:
        """All users whose LAST_NAME is ``tag``, fetched page by page, by ID."""
        out: list[dict] = []
        start = 0
        while True:
            reply = self.call(
                "user.get", {"FILTER": {"LAST_NAME": tag}, "SORT": "ID", "ORDER": "ASC", "start": start}
            )
            out.extend(reply["result"])
            if "next" not in reply:
                return out
            start = reply["next"]

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""


def _pump(stream, q: "queue.Queue[str | None]", sink: list) -> None:
    for line in iter(stream.readline, ""):
        sink.append(line)
        q.put(line)
    q.put(None)


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Server:
    binary = roster_bin()
    workdir = tmp_path_factory.mktemp("roster")
    db = workdir / "roster.db"
    log_path = workdir / "roster.stderr.log"
    env = dict(os.environ)
    env.setdefault("ROSTER_LOG", "info")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                str(binary),
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database-url",
                f"sqlite://{db}",
                "--bootstrap-webhook",
                WEBHOOK_CODE,
                "--admin-password",
                ADMIN_PASSWORD,
            ],
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=env,
        )
    lines: list[str] = []
    q: "queue.Queue[str | None]" = queue.Queue()
    threading.Thread(target=_pump, args=(proc.stdout, q, lines), daemon=True).start()

    base = webhook = None
    deadline = time.monotonic() + START_TIMEOUT
    while (base is None or webhook is None) and time.monotonic() < deadline:
        try:
            line = q.get(timeout=max(0.05, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            break
        m = re.match(r"listening on (http://127\.0\.0\.1:\d+)\s*$", line)
        if m:
            base = m.group(1)
        m = re.match(r"webhook: (http://\S+/)\s*$", line)
        if m:
            webhook = m.group(1)
    if base is None or webhook is None:
        proc.kill()
        proc.wait()
        pytest.fail(
            f"roster did not announce its address and webhook within {START_TIMEOUT}s; "
            f"stdout={lines!r}; stderr tail:\n{log_path.read_text(errors='replace')[-4000:]}"
        )
    assert webhook == f"{base}/rest/1/{WEBHOOK_CODE}/", (base, webhook)

    srv = Server(base=base, webhook=webhook, proc=proc, log_path=log_path, stdout_lines=lines)
    yield srv

    # Teardown: the server must still be alive, and must stop cleanly on SIGTERM.
    still_running = proc.poll() is None
    if still_running:
        proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail(f"roster did not exit within {STOP_TIMEOUT}s of SIGTERM; stderr tail:\n{srv.log_tail()}")
    assert still_running, f"roster died during the tests (status {rc}); stderr tail:\n{srv.log_tail()}"
    assert rc == 0, f"roster exited with status {rc} after SIGTERM; stderr tail:\n{srv.log_tail()}"


@pytest.fixture
def tag() -> str:
    """A unique, plain-ASCII LAST_NAME marking this test's users."""
    return "T" + uuid.uuid4().hex[:12]


def email_for(tag: str, i: int, kind: str = "u") -> str:
    """A unique, plain-ASCII e-mail (no ``+``: bitrix24-rest does not URL-encode)."""
    return f"{tag.lower()}-{kind}{i:03d}@example.com"


@pytest.fixture
def seed(server: Server, tag: str):
    """``seed(n, **fields)`` creates ``n`` users (one plain ``user.add`` POST each).

    Each user gets LAST_NAME=tag, a unique e-mail, NAME ``U{i:03d}`` and department 1,
    overridable by ``fields`` (a value may be a callable of the index). Returns the
    list of the sent field dicts with ``ID`` (int) added, in creation order.
    """

    counter = {"next": 0}

    def make(n: int, **fields: Any) -> list[dict]:
        made = []
        for _ in range(n):
            i = counter["next"]
            counter["next"] += 1
            item = {"EMAIL": email_for(tag, i, "seed"), "NAME": f"U{i:03d}", "LAST_NAME": tag, "UF_DEPARTMENT": [1]}
            for k, v in fields.items():
                item[k] = v(i) if callable(v) else v
            new_id = server.result("user.add", item)
            assert isinstance(new_id, int) and not isinstance(new_id, bool), new_id
            made.append({**item, "ID": new_id})
        return made

    return make


# --- Zabbix face -------------------------------------------------------------------------
# One extra server per Zabbix version profile, started on first use and stopped at the end
# of the session. Each prints "listening on ..." like the main server.

ZABBIX_VERSIONS = ("7.0.0", "6.0.0")


@dataclass
class ZabbixServer:
    base: str
    version: str
    proc: subprocess.Popen
    log_path: Path

    @property
    def url(self) -> str:
        return self.base + "/api_jsonrpc.php"

    def rpc(self, method: str, params: Any, auth: str | None = None) -> Any:
        """One JSON-RPC call with ``auth`` in the body; returns ``result`` or raises."""
        body: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params, "id": 1}
        if auth:
            body["auth"] = auth
        req = urllib.request.Request(
            self.url, data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json-rpc"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            answer = json.loads(resp.read())
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]


def _start_zabbix(workdir: Path, version: str) -> ZabbixServer:
    log_path = workdir / f"roster-{version}.stderr.log"
    env = dict(os.environ)
    env.setdefault("ROSTER_LOG", "info")
    env.pop("ROSTER_ZABBIX_VERSION", None)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [str(roster_bin()), "serve", "--listen", "127.0.0.1:0",
             "--database-url", f"sqlite://{workdir / f'zabbix-{version}.db'}",
             "--admin-password", ADMIN_PASSWORD, "--zabbix-version", version],
            cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log, text=True, env=env,
        )
    q: "queue.Queue[str | None]" = queue.Queue()
    threading.Thread(target=_pump, args=(proc.stdout, q, []), daemon=True).start()
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            line = q.get(timeout=max(0.05, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            break
        m = re.match(r"listening on (http://127\.0\.0\.1:\d+)\s*$", line)
        if m:
            return ZabbixServer(base=m.group(1), version=version, proc=proc, log_path=log_path)
    proc.kill()
    proc.wait()
    pytest.fail(f"roster --zabbix-version {version} did not start; stderr:\n{log_path.read_text(errors='replace')[-4000:]}")


@pytest.fixture(scope="session")
def zabbix_servers(tmp_path_factory):
    """``get(version)`` starts (once) and returns the server for that version profile."""
    started: dict[str, ZabbixServer] = {}
    workdir = tmp_path_factory.mktemp("zabbix")

    def get(version: str) -> ZabbixServer:
        if version not in started:
            started[version] = _start_zabbix(workdir, version)
        return started[version]

    yield get
    for srv in started.values():
        alive = srv.proc.poll() is None
        if alive:
            srv.proc.send_signal(signal.SIGTERM)
        try:
            rc = srv.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            srv.proc.kill()
            srv.proc.wait()
            pytest.fail(f"roster {srv.version} did not stop on SIGTERM")
        assert alive and rc == 0, f"roster {srv.version} ended badly ({rc}): {srv.log_path.read_text(errors='replace')[-4000:]}"


@pytest.fixture(params=ZABBIX_VERSIONS)
def zabbix(request, zabbix_servers) -> ZabbixServer:
    """The Zabbix face of a server, once per version profile."""
    return zabbix_servers(request.param)
