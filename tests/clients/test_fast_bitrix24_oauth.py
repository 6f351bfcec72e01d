"""fast_bitrix24 1.8.14 against roster as an OAuth application and under a rate limit:
``Bitrix(portal_url, token_func=...)`` whose first token (issued with ``--ttl 1``) has
expired, so the server's 401 ``expired_token`` makes the client ask ``token_func`` again,
which refreshes through ``/oauth/token/?grant_type=refresh_token``; and the client's own
5xx retry surviving HTTP 503 ``QUERY_LIMIT_EXCEEDED`` from ``--rate-limit 3/5``.

Each test starts its own ``roster serve`` (the CLI makes the app and tokens on its
database while it runs); HTTP statuses are recorded through aiohttp's
``raise_for_status`` hook.
"""

from __future__ import annotations

import asyncio
import json
import queue
import re
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from fast_bitrix24 import BitrixAsync

from conftest import ADMIN_PASSWORD, WEBHOOK_CODE, Server, _pump, email_for, roster_bin


@dataclass
class Roster:
    http: Server
    db_url: str

    def cli_json(self, *args: str) -> dict:
        done = subprocess.run(
            [str(roster_bin()), *args, "--database-url", self.db_url],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 0, f"roster {args}: {done.stdout}{done.stderr}"
        return json.loads(done.stdout)

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [str(roster_bin()), *args, "--database-url", self.db_url], capture_output=True, text=True, timeout=30
        )
        assert done.returncode == 0, f"roster {args}: {done.stdout}{done.stderr}"
        return done.stdout

    def get_json(self, path: str, query: dict) -> tuple[int, dict]:
        url = f"{self.http.base}{path}?{urllib.parse.urlencode(query)}"
        try:
            with urllib.request.urlopen(url, timeout=30) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())


@pytest.fixture
def roster(tmp_path):
    """A fresh ``roster serve`` with default flags."""
    yield from _serve(tmp_path)


def _serve(workdir: Path, *flags: str):
    db_url = f"sqlite://{workdir / 'roster.db'}"
    log_path = workdir / "roster.stderr.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                str(roster_bin()),
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database-url",
                db_url,
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
    base = None
    deadline = time.monotonic() + 30
    while base is None and time.monotonic() < deadline:
        try:
            line = q.get(timeout=max(0.05, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            break
        if m := re.match(r"listening on (http://127\.0\.0\.1:\d+)\s*$", line):
            base = m.group(1)
    if base is None:
        proc.kill()
        proc.wait()
        pytest.fail(f"roster did not start: {lines!r}; {log_path.read_text()[-3000:]}")
    srv = Server(base=base, webhook=f"{base}/rest/1/{WEBHOOK_CODE}/", proc=proc, log_path=log_path, stdout_lines=lines)
    try:
        yield Roster(http=srv, db_url=db_url)
    finally:
        alive = proc.poll() is None
        if alive:
            proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=10)
        assert alive and rc == 0, f"roster died or failed to stop ({rc}): {srv.log_tail()}"


@pytest.fixture
def limited(tmp_path):
    # Burst 5, 3 per second: a burst of 10 requests overflows it. (At 2 per second the
    # client's retries saw up to 8 consecutive 503s, close to its limit of 10.)
    yield from _serve(tmp_path, "--rate-limit", "3/5")


def status_recorder() -> tuple:
    """A ``raise_for_status`` hook for aiohttp that records (path, status) of every
    answer, then raises on 4xx/5xx as ``raise_for_status=True`` does (which
    fast_bitrix24 needs for its retries)."""
    seen: list[tuple[str, int]] = []

    async def check(response: aiohttp.ClientResponse) -> None:
        seen.append((response.url.path, response.status))
        response.raise_for_status()

    return check, seen


def seed(srv: Server, tag: str, n: int) -> list[int]:
    """``n`` users with LAST_NAME ``tag`` in one ``batch`` call per 50; their ids."""
    ids: list[int] = []
    for start in range(0, n, 50):
        cmd = {
            f"u{i:03d}": f"user.add?EMAIL={email_for(tag, i).replace('@', '%40')}&NAME=F{i:03d}"
            f"&LAST_NAME={tag}&UF_DEPARTMENT[]=1"
            for i in range(start, min(n, start + 50))
        }
        res = srv.result("batch", {"halt": 1, "cmd": cmd})
        assert res["result_error"] in ([], {}), res["result_error"]
        ids.extend(res["result"][k] for k in sorted(cmd))
    return ids


def test_token_func_refreshes_an_expired_token(roster, tag):
    ids = seed(roster.http, tag, 7)
    app = roster.cli_json("app", "add", "--name", "fast_bitrix24", "--scope", "user")
    first = roster.cli_json("token", "issue", "--app", app["client_id"], "--user", "1", "--ttl", "1")
    assert first["expires_in"] == 1
    time.sleep(2.2)
    status, body = roster.get_json("/rest/user.current", {"auth": first["access_token"]})
    assert (status, body.get("error")) == (401, "expired_token"), body

    handed: list[str] = []

    async def token_func() -> str:
        if not handed:
            handed.append(first["access_token"])
            return first["access_token"]
        status, fresh = roster.get_json(
            "/oauth/token/",
            {
                "grant_type": "refresh_token",
                "client_id": app["client_id"],
                "client_secret": app["client_secret"],
                "refresh_token": first["refresh_token"],
            },
        )
        assert status == 200, fresh
        handed.append(fresh["access_token"])
        return fresh["access_token"]

    check, seen = status_recorder()

    async def main():
        async with aiohttp.ClientSession(raise_for_status=check) as session:
            b = BitrixAsync(f"{roster.http.base}/rest/", token_func=token_func, verbose=False, client=session)
            users = await b.get_all("user.get", {"filter": {"LAST_NAME": tag}})
            current = await b.call("user.current", raw=True)
            return users, current

    users, current = asyncio.run(main())
    assert sorted(int(u["ID"]) for u in users) == ids
    assert current["result"]["ID"] == "1"
    assert len(handed) == 2, f"token_func was called {len(handed)} times"
    assert seen[0] == ("/rest/user.get", 401), seen
    assert all(st == 200 for _, st in seen[1:]), seen
    # The refresh token rotated: the first one is spent now.
    status, body = roster.get_json(
        "/oauth/token/",
        {
            "grant_type": "refresh_token",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "refresh_token": first["refresh_token"],
        },
    )
    assert (status, body.get("error")) == (400, "invalid_grant"), body


def test_client_survives_query_limit_exceeded(limited, tag):
    ids = seed(limited.http, tag, 60)
    # A webhook of its own, so that seeding did not use up the client's bucket.
    path = limited.cli("webhook", "add", "--user", "1", "--scope", "user").strip()
    check, seen = status_recorder()

    async def main():
        async with aiohttp.ClientSession(raise_for_status=check) as session:
            # Small batches: 10 requests at once against a bucket of 5.
            b = BitrixAsync(f"{limited.http.base}{path}", verbose=False, client=session, batch_size=6)
            return await b.get_by_ID("user.get", ids)

    got = asyncio.run(main())
    assert sorted(int(k) for k in got) == ids
    for key, found in got.items():
        assert [u["ID"] for u in found] == [str(key)], (key, found)
    statuses = [st for _, st in seen]
    assert 503 in statuses, f"the bucket was never exceeded: {statuses}"
    assert set(statuses) <= {200, 503}, statuses
