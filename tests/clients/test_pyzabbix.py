"""pyzabbix 1.3.1 against Roster's Zabbix face in the 6.0 and 7.0 profiles: version
detection, login (``auth`` in the body before 6.4, the Bearer header after), user.get,
user.update and logout, and its error type carrying Zabbix's ``data`` text."""

from __future__ import annotations

import pytest
from pyzabbix import ZabbixAPI, ZabbixAPIException

from conftest import ADMIN_PASSWORD


def test_login_get_update_logout(zabbix, tag):
    zapi = ZabbixAPI(zabbix.base)
    zapi.login("Admin", ADMIN_PASSWORD)
    assert str(zapi.version) == zabbix.version
    admin = zapi.user.get(filter={"username": "Admin"}, output=["userid", "name", "surname", "roleid"])
    assert admin == [{"userid": "1", "name": "Zabbix", "surname": "Administrator", "roleid": "3"}]
    uid = zapi.user.create(
        username=f"{tag}-py", passwd="Snake-Pass-2024!", roleid="1", usrgrps=[{"usrgrpid": "13"}]
    )["userids"][0]
    assert zapi.user.update(userid=uid, name="Py", url="https://example.com/x") == {"userids": [uid]}
    got = zapi.user.get(userids=uid, output=["username", "name", "url"])
    assert got == [{"username": f"{tag}-py", "name": "Py", "url": "https://example.com/x"}]
    with pytest.raises(ZabbixAPIException) as err:
        zapi.user.update(userid="999999999", name="x")
    assert "No permissions to referred object or it does not exist!" in str(err.value)
    assert zapi.check_authentication()["userid"] == "1"
    zapi.user.delete(uid)
    assert zapi.user.logout() is True
    with pytest.raises(ZabbixAPIException) as err:
        zapi.user.get(userids="1")
    assert "Session terminated, re-login, please." in str(err.value)


def test_context_manager_logs_out(zabbix):
    with ZabbixAPI(zabbix.base) as zapi:
        zapi.login("Admin", ADMIN_PASSWORD)
        assert zapi.is_authenticated
        assert zapi.usergroup.get(output=["name"], filter={"usrgrpid": "7"}) == [{"name": "Zabbix administrators"}]
