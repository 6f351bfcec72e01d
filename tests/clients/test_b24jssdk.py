"""The official JS SDK ``@bitrix24/b24jssdk`` 2.2.0 (B24Hook, run with node) against roster
over HTTPS with its self-signed certificate (``NODE_EXTRA_CA_CERTS``): a call,
``callList``/``fetchList`` (``start=-1`` with the ``>ID`` cursor) over more than 100 users,
``batchByChunk`` of 120 ``user.update`` calls, an error reply, and recovery from
HTTP 503 ``QUERY_LIMIT_EXCEEDED`` under a small ``--rate-limit``.

The SDK lives in ``tests/clients/jssdk`` (``run.sh`` runs ``npm ci`` there); each test
runs ``node jssdk/run.mjs SCENARIO WEBHOOK ARGS`` and asserts on the JSON it prints.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import ADMIN_PASSWORD, WEBHOOK_CODE, Server, _pump, email_for, roster_bin

JSSDK = Path(__file__).resolve().parent / "jssdk"
NODE_TIMEOUT = 120


def _jssdk_ready() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not (JSSDK / "node_modules" / "@bitrix24" / "b24jssdk" / "package.json").exists():
        return "run `npm ci` in tests/clients/jssdk (tests/clients/run.sh does)"
    return None


pytestmark = pytest.mark.skipif(_jssdk_ready() is not None, reason=_jssdk_ready() or "")


@dataclass
class TlsRoster:
    """A ``roster serve`` with an HTTPS listener and a self-signed certificate."""

    http: Server
    https_webhook: str
    certificate: Path
    proc: subprocess.Popen

    def node(self, scenario: str, args: dict | None = None) -> dict:
        """Runs one SDK scenario and returns its ``out`` (fails on a thrown error)."""
        env = dict(os.environ, NODE_EXTRA_CA_CERTS=str(self.certificate))
        done = subprocess.run(
            ["node", str(JSSDK / "run.mjs"), scenario, self.https_webhook, json.dumps(args or {})],
            cwd=JSSDK,
            env=env,
            capture_output=True,
            text=True,
            timeout=NODE_TIMEOUT,
        )
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        assert done.returncode == 0 and lines, (
            f"node {scenario} failed ({done.returncode}): stdout={done.stdout[-2000:]!r} "
            f"stderr={done.stderr[-2000:]!r}"
        )
        reply = json.loads(lines[-1])
        assert reply["ok"], f"the SDK threw in {scenario}: {reply}"
        return reply["out"]


def start_tls_roster(workdir: Path, *flags: str) -> TlsRoster:
    db = workdir / "roster.db"
    log_path = workdir / "roster.stderr.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                str(roster_bin()),
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--tls-listen",
                "127.0.0.1:0",
                "--tls-self-signed",
                "--database-url",
                f"sqlite://{db}",
                "--bootstrap-webhook",
                WEBHOOK_CODE,
                "--admin-password",
                ADMIN_PASSWORD,
                *flags,
            ],
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    lines: list[str] = []
    q: "queue.Queue[str | None]" = queue.Queue()
    threading.Thread(target=_pump, args=(proc.stdout, q, lines), daemon=True).start()
    http = https = cert = None
    deadline = time.monotonic() + 30
    while None in (http, https, cert) and time.monotonic() < deadline:
        try:
            line = q.get(timeout=max(0.05, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            break
        if m := re.match(r"listening on (http://127\.0\.0\.1:\d+)\s*$", line):
            http = m.group(1)
        if m := re.match(r"listening on (https://127\.0\.0\.1:(\d+))\s*$", line):
            assert m.group(2) != "0", line
            https = m.group(1)
        if m := re.match(r"certificate: (.+?)\s*$", line):
            cert = Path(m.group(1))
    if None in (http, https, cert):
        proc.kill()
        proc.wait()
        pytest.fail(f"roster did not announce http, https and certificate: {lines!r}; {log_path.read_text()[-3000:]}")
    assert cert.read_text().startswith("-----BEGIN CERTIFICATE-----")
    server = Server(base=http, webhook=f"{http}/rest/1/{WEBHOOK_CODE}/", proc=proc, log_path=log_path, stdout_lines=lines)
    return TlsRoster(http=server, https_webhook=f"{https}/rest/1/{WEBHOOK_CODE}/", certificate=cert, proc=proc)


def stop(r: TlsRoster) -> None:
    alive = r.proc.poll() is None
    if alive:
        r.proc.send_signal(signal.SIGTERM)
    try:
        rc = r.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        r.proc.kill()
        r.proc.wait()
        pytest.fail("roster did not stop on SIGTERM")
    assert alive, f"roster died during the test; stderr: {r.http.log_tail()}"
    assert rc == 0, f"roster exited with {rc}; stderr: {r.http.log_tail()}"


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    r = start_tls_roster(tmp_path_factory.mktemp("roster-tls"))
    yield r
    stop(r)


def seed_users(srv: Server, tag: str, n: int) -> list[int]:
    """``n`` users with LAST_NAME ``tag`` through plain ``batch`` calls; their ids in order."""
    ids: list[int] = []
    for start in range(0, n, 50):
        cmd = {}
        for i in range(start, min(n, start + 50)):
            q = (
                f"EMAIL={email_for(tag, i)}&NAME=J{i:03d}&LAST_NAME={tag}&UF_DEPARTMENT[]=1"
            ).replace("@", "%40")
            cmd[f"u{i:03d}"] = f"user.add?{q}"
        res = srv.result("batch", {"halt": 1, "cmd": cmd})
        assert res["result_error"] in ([], {}), res["result_error"]
        ids.extend(res["result"][k] for k in sorted(cmd))
    return ids


def test_call_over_https_with_the_self_signed_certificate(tls):
    out = tls.node("call")
    assert out["isSuccess"] is True
    assert out["result"]["ID"] == "1"
    assert isinstance(out["time"]["operating"], (int, float))
    assert isinstance(out["time"]["operating_reset_at"], int)
    assert out["legacyIds"] == ["1"]


def test_call_list_and_fetch_list_walk_more_than_100_users(tls, tag):
    ids = seed_users(tls.http, tag, 123)
    out = tls.node("list", {"filter": {"LAST_NAME": tag}})
    assert out["isSuccess"] is True, out["errors"]
    assert [int(i) for i in out["callList"]] == ids
    pages = out["fetchListPages"]
    assert [len(p) for p in pages] == [50, 50, 23]
    assert [int(i) for p in pages for i in p] == ids


def test_batch_by_chunk_of_120_user_updates(tls, tag):
    ids = seed_users(tls.http, tag, 120)
    prefix = f"pos-{tag}-"
    out = tls.node("batchByChunk", {"ids": ids, "prefix": prefix})
    assert out["isSuccess"] is True, out["errors"]
    assert out["data"] == [True] * 120
    got = {int(u["ID"]): u.get("WORK_POSITION") for u in tls.http.users_by_tag(tag)}
    assert got == {i: f"{prefix}{i}" for i in ids}


def test_error_reply_is_thrown_with_code_and_status(tls):
    out = tls.node("error", {"method": "user.nonexistent"})
    thrown = out["thrown"]
    assert thrown is not None, "the SDK did not throw on ERROR_METHOD_NOT_FOUND"
    assert thrown["code"] == "ERROR_METHOD_NOT_FOUND", thrown
    assert thrown["status"] == 404, thrown


def test_sdk_recovers_from_query_limit_exceeded(tmp_path):
    # Burst 3, one request per second: the SDK (its own bucket is 50 / 2 per second)
    # runs into 503 QUERY_LIMIT_EXCEEDED and must wait and retry.
    r = start_tls_roster(tmp_path, "--rate-limit", "1/3")
    try:
        out = r.node("rate", {"calls": 6})
    finally:
        stop(r)
    assert all(x["ok"] for x in out["results"]), out["results"]
    assert [x["id"] for x in out["results"]] == ["1"] * 6
    assert out["recognised"] >= 1, f"the SDK never saw QUERY_LIMIT_EXCEEDED: {out}"
