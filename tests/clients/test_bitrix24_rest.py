"""roster against the real, unmodified bitrix24-rest 2.0.3 client (import ``bitrix24``).

What this client does on the wire (see shared/spec/clients.md section 3): every call
is ``GET {scheme}://{host}/rest/{uid}/{code}/{method}.json?{query}`` with PHP-style
brackets, values NOT URL-encoded, and ``start=0`` always appended (also to writes).
A reply with ``next`` makes it fire every remaining page at once (``start=50,100,...``,
computed from ``total``). Any status other than 200/201 raises ``BitrixError``.

Values here are plain ASCII on purpose: the client does not encode them.
"""

from __future__ import annotations

import pytest
from bitrix24 import Bitrix24
from bitrix24.exceptions import BitrixError

from conftest import email_for

VOLATILE = {"TIMESTAMP_X", "LAST_ACTIVITY_DATE", "IS_ONLINE", "LAST_LOGIN"}


@pytest.fixture
def b24(server):
    return Bitrix24(server.webhook)


def stable(user: dict) -> dict:
    return {k: v for k, v in user.items() if k not in VOLATILE}


def test_user_current(b24):
    me = b24.callMethod("user.current")
    assert isinstance(me, dict)
    assert me["ID"] == "1"
    assert me["NAME"] == "Zabbix"  # user 1 carries the names a fresh Zabbix gives Admin
    assert me["ACTIVE"] is True
    assert me["UF_DEPARTMENT"] == [1]


def test_user_get_fetches_all_pages(b24, seed, tag):
    seeded = seed(120, WORK_POSITION="Clerk")
    ids = [u["ID"] for u in seeded]

    # Dict form: FILTER[LAST_NAME]=tag&start=0&, then start=50 and start=100 at once.
    users = b24.callMethod("user.get", {"FILTER": {"LAST_NAME": tag}})
    assert isinstance(users, list)
    got = [int(u["ID"]) for u in users]
    assert len(got) == 120
    assert len(set(got)) == 120, "duplicate users across pages"
    assert got == sorted(ids), "pages must come back in ID order"
    by_id = {int(u["ID"]): u for u in users}
    for u in seeded:
        assert by_id[u["ID"]]["EMAIL"] == u["EMAIL"]
        assert by_id[u["ID"]]["WORK_POSITION"] == "Clerk"

    # An operator key (FILTER[>ID]=...) across three pages of 50, 50 and 10.
    tail = b24.callMethod("user.get", {"FILTER": {">ID": ids[9], "LAST_NAME": tag}})
    assert [int(u["ID"]) for u in tail] == sorted(ids)[10:]

    # A filter matching nothing: an empty list, no pagination.
    assert b24.callMethod("user.get", {"FILTER": {"LAST_NAME": tag + "x"}}) == []


def test_whole_directory_in_one_burst(b24, server, seed):
    """Without a filter every page of the directory is requested concurrently."""
    seed(60)
    total = server.call("user.get", {})["total"]
    assert isinstance(total, int) and total > 60
    users = b24.callMethod("user.get")
    got = [int(u["ID"]) for u in users]
    assert len(got) == total
    assert got == sorted(set(got)), "pages must be disjoint and in ID order"
    assert got[0] == 1


def test_user_get_keyword_params_with_sort_and_order(b24, seed, tag):
    seeded = seed(55)
    ids = [u["ID"] for u in seeded]
    # Keyword form; sort/order as the documented strings: SORT=ID&ORDER=DESC.
    users = b24.callMethod("user.get", FILTER={"LAST_NAME": tag}, SORT="ID", ORDER="DESC")
    assert [int(u["ID"]) for u in users] == sorted(ids, reverse=True)


def test_user_update_plain_values(b24, seed, tag):
    seeded = seed(2, WORK_POSITION="Engineer", PERSONAL_CITY="Paris")
    target, other = seeded[0]["ID"], seeded[1]["ID"]

    before = {int(u["ID"]): u for u in b24.callMethod("user.get", {"FILTER": {"LAST_NAME": tag}})}
    assert sorted(before) == [target, other]

    assert b24.callMethod("user.update", ID=target, NAME="Plain", WORK_POSITION="Manager") is True

    after = {int(u["ID"]): u for u in b24.callMethod("user.get", {"FILTER": {"LAST_NAME": tag}})}
    expected = stable(before[target])
    expected.update({"NAME": "Plain", "WORK_POSITION": "Manager"})
    assert stable(after[target]) == expected
    assert stable(after[other]) == stable(before[other])

    # Reading one user back by ID (ID=...&start=0&), and several by an ID list.
    [one] = b24.callMethod("user.get", ID=target)
    assert one["NAME"] == "Plain" and one["PERSONAL_CITY"] == "Paris"
    both = b24.callMethod("user.get", {"FILTER": {"ID": [target, other]}})
    assert sorted(int(u["ID"]) for u in both) == sorted([target, other])


def test_user_add_and_read_back(b24, tag):
    email = email_for(tag, 1)
    new_id = b24.callMethod(
        "user.add",
        EMAIL=email,
        NAME="Added",
        LAST_NAME=tag,
        WORK_POSITION="Tester",
        UF_DEPARTMENT=[1],
    )
    assert isinstance(new_id, int) and not isinstance(new_id, bool)

    [user] = b24.callMethod("user.get", {"ID": new_id})
    assert user["ID"] == str(new_id)
    assert user["EMAIL"] == email
    assert user["NAME"] == "Added"
    assert user["LAST_NAME"] == tag
    assert user["WORK_POSITION"] == "Tester"
    assert user["UF_DEPARTMENT"] == [1]
    assert user["ACTIVE"] is True

    # A scalar UF_DEPARTMENT (UF_DEPARTMENT=1) is accepted as well.
    second = b24.callMethod("user.add", EMAIL=email_for(tag, 2), LAST_NAME=tag, UF_DEPARTMENT=1)
    assert isinstance(second, int) and second != new_id
    found = b24.callMethod("user.get", {"FILTER": {"LAST_NAME": tag}})
    assert sorted(int(u["ID"]) for u in found) == sorted([new_id, second])


def test_user_add_duplicate_email_is_an_error(b24, tag):
    email = email_for(tag, 3)
    b24.callMethod("user.add", EMAIL=email, LAST_NAME=tag, UF_DEPARTMENT=[1])
    with pytest.raises(BitrixError) as info:
        b24.callMethod("user.add", EMAIL=email, LAST_NAME=tag, UF_DEPARTMENT=[1])
    assert info.value.message == "HTTP error: 400"


def test_department_get(b24):
    deps = b24.callMethod("department.get")
    assert isinstance(deps, list)
    root = next(d for d in deps if d["ID"] == "1")
    assert "PARENT" not in root or root["PARENT"] in ("", "0", None)
    assert b24.callMethod("department.get", ID=1) == [root]


def test_other_global_methods(b24):
    assert b24.callMethod("user.admin") is True
    assert b24.callMethod("user.access", ACCESS=["U1"]) is True
    profile = b24.callMethod("profile")
    assert profile["ID"] == "1" and profile["ADMIN"] is True
    assert "user" in b24.callMethod("scope")
    assert isinstance(b24.callMethod("server.time"), str)
    fields = b24.callMethod("user.fields")
    assert fields["EMAIL"] and "UF_DEPARTMENT" in fields
    assert b24.callMethod("method.get", name="user.get") == {"isExisting": True, "isAvailable": True}


def test_user_search(b24, seed, tag):
    seeded = seed(3, NAME=lambda i: f"Searchable{i}")
    found = b24.callMethod("user.search", FILTER={"LAST_NAME": tag})
    assert sorted(int(u["ID"]) for u in found) == sorted(u["ID"] for u in seeded)


def test_wrong_webhook_code_raises(server):
    bad = Bitrix24(f"{server.base}/rest/1/not-the-right-code/")
    with pytest.raises(BitrixError) as info:
        bad.callMethod("user.current")
    assert info.value.message == "HTTP error: 401"


def test_unknown_method_raises(b24):
    with pytest.raises(BitrixError) as info:
        b24.callMethod("no.such.method")
    assert info.value.message == "HTTP error: 404"
