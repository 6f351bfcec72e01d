"""roster against the real, unmodified fast_bitrix24 1.8.14 client.

What this client does on the wire (see shared/spec/clients.md section 1): every
request is ``POST {webhook}{method}`` with a JSON body and no ``.json`` suffix;
``call()`` always goes through ``batch`` with PHP-style query strings carrying an
extra ``__order`` parameter; ``get_all()`` injects ``order: {"ID": "ASC"}``, reads
``total`` and fetches the remaining pages as ``start=50,100,...`` commands packed
into batches; 4xx replies are fatal, 5xx are retried.
"""

from __future__ import annotations

import asyncio
import urllib.parse
import warnings

import aiohttp
import pytest
from fast_bitrix24 import Bitrix
from fast_bitrix24.server_response import ErrorInServerResponseException

from conftest import email_for

# Fields that may legitimately change on their own between two reads of a user.
VOLATILE = {"TIMESTAMP_X", "LAST_ACTIVITY_DATE", "IS_ONLINE", "LAST_LOGIN"}


@pytest.fixture(autouse=True)
def fresh_event_loop():
    """The sync ``Bitrix`` wrapper runs on ``asyncio.get_event_loop()``.

    Give each test its own open loop so that state left behind by other code in the
    same process (bitrix24-rest sets and then closes a loop) cannot leak in.
    """
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    yield loop
    loop.close()
    asyncio.set_event_loop(None)


@pytest.fixture
def bx(server):
    # Defaults kept on purpose: respect_velocity_policy=True, batch_size=50, etc.
    return Bitrix(server.webhook)


def stable(user: dict) -> dict:
    return {k: v for k, v in user.items() if k not in VOLATILE}


def get_all_by_tag(bx: Bitrix, tag: str) -> list[dict]:
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        return bx.get_all("user.get", {"filter": {"LAST_NAME": tag}})


def test_user_update_single_and_list_change_exactly_the_sent_fields(bx, seed, tag):
    seeded = seed(
        4,
        WORK_POSITION="Engineer",
        PERSONAL_CITY="Paris",
        WORK_PHONE=lambda i: f"10{i}",
        PERSONAL_GENDER="F",
    )
    ids = [u["ID"] for u in seeded]

    before = {int(u["ID"]): u for u in get_all_by_tag(bx, tag)}
    assert sorted(before) == ids
    for u in seeded:
        got = before[u["ID"]]
        assert got["EMAIL"] == u["EMAIL"]
        assert got["WORK_POSITION"] == "Engineer"
        assert got["PERSONAL_CITY"] == "Paris"

    # A single item (fast_bitrix24 still wraps it into a one-command batch).
    single = {"ID": ids[0], "WORK_POSITION": "Team Lead", "PERSONAL_CITY": "Zürich"}
    assert bx.call("user.update", single) is True

    # A list of items: one batch with two commands, results in command order.
    many = [
        {"ID": ids[1], "NAME": "Renamed"},
        {"ID": ids[2], "PERSONAL_PHONE": "+49 30 1234/5 & more", "PERSONAL_GENDER": "M"},
    ]
    assert bx.call("user.update", many) == (True, True)

    after = {int(u["ID"]): u for u in get_all_by_tag(bx, tag)}
    assert sorted(after) == ids

    sent = {ids[0]: single, ids[1]: many[0], ids[2]: many[1], ids[3]: {"ID": ids[3]}}
    for uid in ids:
        expected = stable(before[uid])
        expected.update({k: v for k, v in sent[uid].items() if k != "ID"})
        assert stable(after[uid]) == expected, f"user {uid}"


def test_user_add_140_then_get_all_pages_through_batches(bx, server, tag):
    n = 140
    items = [
        {
            "EMAIL": email_for(tag, i),
            "NAME": f"Bulk{i:03d}",
            "LAST_NAME": tag,
            "UF_DEPARTMENT": 1,
        }
        for i in range(n)
    ]
    ids = bx.call("user.add", items)
    assert isinstance(ids, tuple) and len(ids) == n
    assert all(isinstance(i, int) and not isinstance(i, bool) for i in ids), ids
    assert len(set(ids)) == n

    # The first page is a plain POST; total (140) > 50, so start=50 and start=100
    # go out packed into a batch. No "total mismatch" RuntimeWarning allowed.
    users = get_all_by_tag(bx, tag)
    got_ids = [int(u["ID"]) for u in users]
    assert len(got_ids) == n
    assert len(set(got_ids)) == n, "duplicate users across pages"
    assert set(got_ids) == set(ids)
    assert {u["EMAIL"] for u in users} == {it["EMAIL"] for it in items}
    for u in users:
        assert u["LAST_NAME"] == tag
        assert u["UF_DEPARTMENT"] == [1]
        assert u["ACTIVE"] is True

    # Each item got the id user.add returned for it. call() sent three batches
    # (50 + 50 + 40 commands); the server must answer each in command order, and
    # fast_bitrix24 then concatenates the batches in the order they completed.
    by_email = {u["EMAIL"]: int(u["ID"]) for u in users}
    chunks = [
        tuple(by_email[it["EMAIL"]] for it in items[a : a + 50]) for a in range(0, n, 50)
    ]
    rest, pos = list(chunks), 0
    while rest:
        match = next((c for c in rest if ids[pos : pos + len(c)] == c), None)
        assert match is not None, f"ids at {pos} do not match any batch in command order"
        rest.remove(match)
        pos += len(match)

    reply = server.call("user.get", {"FILTER": {"LAST_NAME": tag}})
    assert reply["total"] == n and isinstance(reply["total"], int)
    assert reply["next"] == 50
    assert len(reply["result"]) == 50


def test_get_all_whole_directory_matches_total(bx, server, seed):
    seed(60)  # make sure the directory spans several pages even when run alone
    reply = server.call("user.get", {})
    total = reply["total"]
    assert isinstance(total, int) and total >= 61
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        users = bx.get_all("user.get")
    got = [int(u["ID"]) for u in users]
    assert len(got) == total
    assert len(set(got)) == total
    assert 1 in got


def test_call_batch_with_result_reference(bx, server, tag):
    email = email_for(tag, 1)
    cmd = {
        "new": "user.add?"
        + urllib.parse.urlencode(
            {"EMAIL": email, "NAME": "Batched", "LAST_NAME": tag, "UF_DEPARTMENT[0]": 1, "WORK_POSITION": "Chef"}
        ),
        "got": "user.get?ID=$result[new]",
        "dep": "department.get?ID=$result[got][0][UF_DEPARTMENT][0]",
        "same": "user.get?FILTER[WORK_POSITION]=$result[got][0][WORK_POSITION]&FILTER[LAST_NAME]=" + tag,
        "time": "server.time",
    }
    res = bx.call_batch({"halt": 0, "cmd": cmd})

    assert list(res) == list(cmd), "batch results must come back in command order"
    new_id = res["new"]
    assert isinstance(new_id, int) and not isinstance(new_id, bool)
    assert [u["ID"] for u in res["got"]] == [str(new_id)]
    assert res["got"][0]["EMAIL"] == email
    assert [d["ID"] for d in res["dep"]] == ["1"]
    assert [u["ID"] for u in res["same"]] == [str(new_id)]
    assert isinstance(res["time"], str) and res["time"][:2] == "20"

    # The user really exists outside the batch too.
    assert [u["EMAIL"] for u in server.users_by_tag(tag)] == [email]


def test_call_batch_with_failing_command_raises(bx, tag):
    cmd = {
        "ok": "server.time",
        "bad": "no.such.method?ID=1",
        "after": "user.current",
    }
    with pytest.raises(ErrorInServerResponseException) as info:
        bx.call_batch({"halt": 0, "cmd": cmd})
    errors = info.value.args[0]
    assert set(errors) == {"bad"}, errors
    assert errors["bad"]["error"] == "ERROR_METHOD_NOT_FOUND"


def test_get_by_id(bx, seed):
    seeded = seed(60)  # 60 ids -> two batches (50 + 10)
    ids = [u["ID"] for u in seeded]
    res = bx.get_by_ID("user.get", ids)
    assert isinstance(res, dict)
    assert set(res) == {str(i) for i in ids}
    for u in seeded:
        rows = res[str(u["ID"])]
        assert isinstance(rows, list) and len(rows) == 1, rows
        assert rows[0]["ID"] == str(u["ID"])
        assert rows[0]["EMAIL"] == u["EMAIL"]
        assert rows[0]["NAME"] == u["NAME"]


def test_call_single_user_add_and_raw_call(bx, server, tag):
    email = email_for(tag, 7)
    new_id = bx.call(
        "user.add",
        {"EMAIL": email, "NAME": "Solo", "LAST_NAME": tag, "UF_DEPARTMENT": [1], "ACTIVE": True},
    )
    assert isinstance(new_id, int) and not isinstance(new_id, bool)

    raw = bx.call("user.get", {"ID": new_id}, raw=True)
    assert isinstance(raw["time"]["operating"], (int, float))
    assert raw["total"] == 1
    assert [u["EMAIL"] for u in raw["result"]] == [email]
    assert raw["result"][0]["ACTIVE"] is True

    current = bx.call("user.current", {"start": 0}, raw=True)
    assert current["result"]["ID"] == "1"


def test_unknown_method_is_a_fatal_404(bx):
    with pytest.raises(aiohttp.ClientResponseError) as info:
        bx.call("no.such.method", {"ID": 1}, raw=True)
    assert info.value.status == 404


def test_get_all_on_unknown_method_is_a_fatal_404(bx):
    with pytest.raises(aiohttp.ClientResponseError) as info:
        bx.get_all("user.nosuchthing.get")
    assert info.value.status == 404


def test_wrong_webhook_code_is_rejected(server):
    bad = Bitrix(f"{server.base}/rest/1/not-the-right-code/")
    with pytest.raises(aiohttp.ClientResponseError) as info:
        bad.call("user.current", {}, raw=True)
    assert info.value.status == 401


def test_get_all_with_operator_filter_and_select(bx, seed, tag):
    """Filter keys with an operator prefix travel percent-encoded in batch commands
    (``filter[%3EID]=...``); ``select`` travels as ``select[0]=ID&select[1]=EMAIL``."""
    seeded = seed(120)
    ids = [u["ID"] for u in seeded]
    cut = ids[9]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        users = bx.get_all(
            "user.get",
            {"filter": {">ID": cut, "LAST_NAME": tag}, "select": ["ID", "EMAIL"]},
        )
    assert sorted(int(u["ID"]) for u in users) == ids[10:]
    emails = {u["ID"]: u["EMAIL"] for u in seeded}
    for u in users:
        assert set(u) == {"ID", "EMAIL"}, u
        assert u["EMAIL"] == emails[int(u["ID"])]


def test_boolean_and_list_values_through_batch(bx, server, seed, tag):
    """Python booleans reach the server as the strings ``True``/``False`` and lists
    as ``UF_DEPARTMENT[0]=1&UF_DEPARTMENT[1]=N`` (fast_bitrix24's http_build_query)."""
    dept = bx.call("department.add", {"NAME": f"Dept {tag}", "PARENT": 1})
    assert isinstance(dept, int) and not isinstance(dept, bool) and dept > 1

    a, b = (u["ID"] for u in seed(2))
    assert bx.call(
        "user.update",
        [
            {"ID": a, "ACTIVE": False},
            {"ID": b, "UF_DEPARTMENT": [1, dept]},
        ],
    ) == (True, True)

    users = {int(u["ID"]): u for u in get_all_by_tag(bx, tag)}
    assert users[a]["ACTIVE"] is False
    assert users[b]["ACTIVE"] is True
    assert users[b]["UF_DEPARTMENT"] == [1, dept]

    in_dept = bx.get_all("user.get", {"filter": {"UF_DEPARTMENT": dept}})
    assert [int(u["ID"]) for u in in_dept] == [b]

    assert bx.call("user.update", {"ID": a, "ACTIVE": True}) is True
    [back] = server.result("user.get", {"ID": a})
    assert back["ACTIVE"] is True


def test_batch_over_50_commands_is_refused_per_command(server, seed):
    """A user who raises batch_size above Bitrix's 50 gets a clear per-command error
    for the excess (ERROR_BATCH_LENGTH_EXCEEDED), surfaced by the client."""
    ids = [u["ID"] for u in seed(55)]
    big = Bitrix(server.webhook, batch_size=55)
    with pytest.raises(ErrorInServerResponseException) as info:
        big.get_by_ID("user.get", ids)
    errors = info.value.args[0]
    assert sorted(errors) == sorted(str(i) for i in ids[50:]), errors
    for e in errors.values():
        assert e["error"] == "ERROR_BATCH_LENGTH_EXCEEDED"


def test_batch_halt_stops_after_first_error(bx):
    reply = bx.call(
        "batch",
        {"halt": 1, "cmd": {"a": "server.time", "b": "no.such.method", "c": "user.current"}},
        raw=True,
    )
    inner = reply["result"]
    assert list(inner["result"]) == ["a"]
    assert list(inner["result_error"]) == ["b"]
    assert inner["result_error"]["b"]["error"] == "ERROR_METHOD_NOT_FOUND"
    assert "time" in reply


def test_get_all_with_wildcard_negation_and_non_ascii(bx, seed, tag):
    """``%`` wildcards, a ``!`` prefix and non-ASCII text, percent-encoded by the
    client in the batch page commands, select the same rows as on the first page."""
    last = f"Jürgen-Ørsted-{tag}"
    seeded = seed(75, LAST_NAME=last)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        users = bx.get_all(
            "user.get",
            {"FILTER": {"EMAIL": f"{tag.lower()}-seed%", "!NAME": "U003", "LAST_NAME": last}},
        )
    want = sorted(u["ID"] for u in seeded if u["NAME"] != "U003")
    assert sorted(int(u["ID"]) for u in users) == want
    assert {u["LAST_NAME"] for u in users} == {last}


def test_user_search_through_get_all(bx, seed, tag):
    seeded = seed(65)
    with pytest.warns(UserWarning, match="get_all"):  # fast_bitrix24 warns on non-.get/.list methods
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            users = bx.get_all("user.search", {"FIND": tag})
    assert sorted(int(u["ID"]) for u in users) == [u["ID"] for u in seeded]


def test_get_all_with_no_match_is_empty(bx, tag):
    assert bx.get_all("user.get", {"filter": {"LAST_NAME": tag}}) == []
