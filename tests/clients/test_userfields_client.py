"""Custom user fields (issue 3) through the real, unmodified fast_bitrix24 client.

One scenario: define a ``UF_USR_*`` field, set it on 100 users with a batched
``call('user.update', [...100 items...])``, then filter by it with ``get_all``.

On the wire (fast_bitrix24 1.8.14): ``call()`` always goes through ``batch``, so
``user.userfield.add`` travels as a PHP-style query string
(``fields[FIELD_NAME]=...&fields[USER_TYPE_ID]=...``) inside a batch command, and the
100 updates go out as two batches of 50 commands. ``call(..., raw=True)`` posts JSON
directly; it is used here only to read the definition back with its ``total``.
``get_all`` sends the first page as a plain POST and the later pages (``start=50``)
as batch commands carrying the ``filter[UF_USR_...]`` key percent-encoded.
"""

from __future__ import annotations

import warnings

from fast_bitrix24 import Bitrix

from conftest import email_for
from test_fast_bitrix24 import bx, fresh_event_loop  # noqa: F401  (fixtures: client, event loop)

N_USERS = 100


def get_all_quiet(bx: Bitrix, params: dict) -> list[dict]:
    """``get_all('user.get', params)``; a "total mismatch" RuntimeWarning fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        return bx.get_all("user.get", params)


def ids_of(users: list[dict]) -> list[int]:
    return sorted(int(u["ID"]) for u in users)


def test_userfields_set_on_100_users_by_batch_and_filtered_with_get_all(bx, server, tag):
    name = f"UF_USR_TIER_{tag.upper()}"
    # Defined through call() (a one-command batch); the short name is normalised.
    field_id = bx.call(
        "user.userfield.add",
        {"fields": {"FIELD_NAME": f"tier_{tag}", "USER_TYPE_ID": "string", "LABEL": "Tier", "SORT": 150}},
    )
    try:
        assert isinstance(field_id, int) and not isinstance(field_id, bool) and field_id > 0, field_id
        listed = bx.call("user.userfield.list", {"filter": {"FIELD_NAME": name}}, raw=True)
        assert listed["total"] == 1, listed
        [definition] = listed["result"]
        assert definition["ID"] == str(field_id)
        assert (definition["FIELD_NAME"], definition["USER_TYPE_ID"], definition["SORT"]) == (name, "string", "150")
        assert definition["EDIT_FORM_LABEL"] == {"en": "Tier", "ru": "Tier", "de": "Tier"}

        created = bx.call(
            "user.add",
            [
                {"EMAIL": email_for(tag, i), "NAME": f"Tier{i:03d}", "LAST_NAME": tag, "UF_DEPARTMENT": 1}
                for i in range(N_USERS)
            ],
        )
        ids = sorted(created)
        assert len(set(ids)) == N_USERS
        # Batches may complete in any order, so tiers are assigned by id, not by position.
        tiers = {uid: ("gold" if n % 5 < 3 else "silver") for n, uid in enumerate(ids)}
        gold = sorted(uid for uid, t in tiers.items() if t == "gold")
        silver = sorted(uid for uid, t in tiers.items() if t == "silver")
        assert (len(gold), len(silver)) == (60, 40)

        results = bx.call("user.update", [{"ID": uid, name: tier} for uid, tier in tiers.items()])
        assert results == (True,) * N_USERS, results

        # Equality on the custom field alone: exactly the gold users, over two pages.
        got = get_all_quiet(bx, {"filter": {name: "gold"}})
        assert ids_of(got) == gold
        assert {u[name] for u in got} == {"gold"}
        assert {u["LAST_NAME"] for u in got} == {tag}

        got = get_all_quiet(bx, {"filter": {name: "silver"}})
        assert ids_of(got) == silver

        # Operator prefixes travel percent-encoded in the batched page commands too.
        got = get_all_quiet(bx, {"filter": {"!" + name: "silver", "LAST_NAME": tag}})
        assert ids_of(got) == gold
        got = get_all_quiet(bx, {"filter": {"%" + name: "ILV"}})
        assert ids_of(got) == silver
        assert get_all_quiet(bx, {"filter": {name: "bronze"}}) == []

        # Every user of the tag carries the value it was given.
        everyone = {int(u["ID"]): u.get(name) for u in get_all_quiet(bx, {"filter": {"LAST_NAME": tag}})}
        assert everyone == tiers
    finally:
        assert server.result("user.userfield.delete", {"id": field_id}) is True

    # Deleting the field took its values with it.
    [one] = server.result("user.get", {"ID": ids[0]})
    assert name not in one
