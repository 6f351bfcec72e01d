"""zabbix_utils 2.0.4 (the official Zabbix client), sync and async, against Roster's
Zabbix face in the 6.0 and 7.0 profiles: login (``auth`` in the body for 6.0, the Bearer
header for 7.0), user.create/get/update/delete, logout, and API-token login."""

from __future__ import annotations

import asyncio

import pytest
from zabbix_utils import AsyncZabbixAPI, ZabbixAPI
from zabbix_utils.exceptions import APIRequestError

from conftest import ADMIN_PASSWORD


def user_spec(tag: str, name: str) -> dict:
    return {
        "username": f"{tag}-{name}",
        "passwd": "Strong-Pass-2024!",
        "name": name.title(),
        "surname": tag,
        "roleid": "1",
        "usrgrps": [{"usrgrpid": "13"}],
        "medias": [{"mediatypeid": "1", "sendto": [f"{tag}-{name}@example.com"]}],
    }


def test_sync_login_crud_logout(zabbix, tag):
    api = ZabbixAPI(url=zabbix.base, user="Admin", password=ADMIN_PASSWORD)
    assert str(api.api_version()) == zabbix.version
    assert api.check_auth()
    created = api.user.create(**user_spec(tag, "sam"))
    uid = created["userids"][0]
    got = api.user.get(userids=uid, output=["userid", "username", "name", "surname"], selectMedias=["sendto"])
    assert got == [{"userid": uid, "username": f"{tag}-sam", "name": "Sam", "surname": tag,
                    "medias": [{"sendto": [f"{tag}-sam@example.com"]}]}]
    assert api.user.update(userid=uid, name="Samuel", theme="dark-theme") == {"userids": [uid]}
    got = api.user.get(filter={"username": f"{tag}-sam"}, output=["name", "theme"])
    assert got == [{"name": "Samuel", "theme": "dark-theme"}]
    with pytest.raises(APIRequestError) as err:
        api.user.update(userid=uid, autologout="1m")
    assert "value must be one of 0, 90-86400" in str(err.value)
    assert api.user.delete(uid) == {"userids": [uid]}
    assert api.user.get(userids=uid) == []
    api.logout()
    assert not api.check_auth()


def test_the_created_user_logs_in_and_updates_itself(zabbix, tag):
    admin = ZabbixAPI(url=zabbix.base, user="Admin", password=ADMIN_PASSWORD)
    spec = user_spec(tag, "kim")
    uid = admin.user.create(**spec)["userids"][0]
    with ZabbixAPI(url=zabbix.base, user=spec["username"], password=spec["passwd"]) as me:
        changes = {"userid": uid, "surname": "Self"}
        if zabbix.version.startswith("7"):
            # 7.0 needs the current password to change one's own.
            changes.update(passwd="Newer-Pass-2025!", current_passwd=spec["passwd"])
        else:
            changes.update(passwd="Newer-Pass-2025!")
        assert me.user.update(**changes) == {"userids": [uid]}
    again = ZabbixAPI(url=zabbix.base, user=spec["username"], password="Newer-Pass-2025!")
    assert again.user.get(userids=uid, output=["surname"]) == [{"surname": "Self"}]
    again.logout()
    admin.user.delete(uid)
    admin.logout()


def test_async_login_crud_logout(zabbix, tag):
    async def run():
        api = AsyncZabbixAPI(url=zabbix.base)
        await api.login(user="Admin", password=ADMIN_PASSWORD)
        created = await api.user.create(**user_spec(tag, "ada"))
        uid = created["userids"][0]
        got = await api.user.get(userids=uid, output=["username"])
        assert got == [{"username": f"{tag}-ada"}]
        assert await api.user.update(userid=uid, surname="Lovelace") == {"userids": [uid]}
        got = await api.user.get(userids=[uid], output=["surname"], selectUsrgrps=["name"])
        assert got == [{"surname": "Lovelace", "usrgrps": [{"name": "Internal"}]}]
        assert await api.user.delete([uid]) == {"userids": [uid]}
        assert await api.check_auth()
        await api.logout()

    asyncio.run(run())


def test_api_token_login_sync_and_async(zabbix, tag):
    admin = ZabbixAPI(url=zabbix.base, user="Admin", password=ADMIN_PASSWORD)
    tokenid = admin.token.create(name=f"{tag}-token")["tokenids"][0]
    token = admin.token.generate(tokenid)[0]["token"]
    assert len(token) == 64
    admin.logout()

    api = ZabbixAPI(url=zabbix.base, token=token)
    assert api.user.get(userids="1", output=["username"]) == [{"username": "Admin"}]
    if zabbix.version.startswith("7"):
        assert api.check_auth()
    api.logout()

    async def run():
        aapi = AsyncZabbixAPI(url=zabbix.base)
        await aapi.login(token=token)
        assert await aapi.user.get(userids="1", output=["userid"]) == [{"userid": "1"}]
        await aapi.logout()

    asyncio.run(run())
    cleanup = ZabbixAPI(url=zabbix.base, user="Admin", password=ADMIN_PASSWORD)
    cleanup.token.delete(tokenid)
    cleanup.logout()
