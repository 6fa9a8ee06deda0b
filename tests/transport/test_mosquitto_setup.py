"""MosquittoSetup without a broker: the ACL, config, password hashes and files it writes."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
from pathlib import Path, PurePosixPath

import pytest

from transport import (
    BrokerAddress,
    BrokerRights,
    MosquittoSetup,
    MqttTransport,
    Topics,
    TransportError,
)
from transport.mosquitto._files import hash_password

PATH3 = {"a0": ["a1"], "a1": ["a0", "a2"], "a2": ["a1"]}


def setup(**changes: object) -> MosquittoSetup:
    fields: dict[str, object] = {"runs": ("r1",), "neighbours": PATH3, "port": 1884}
    fields.update(changes)
    return MosquittoSetup(**fields)  # type: ignore[arg-type]


def acl_rules(text: str) -> dict[str, set[tuple[str, str]]]:
    """user -> {(access, topic)} as Mosquitto reads the file (no rule outside a user)."""
    rules: dict[str, set[tuple[str, str]]] = {}
    user = None
    for line in text.splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0] == "user":
            user = words[1]
            rules[user] = set()
        else:
            assert words[0] == "topic", line
            assert user is not None, f"rule outside any user (would apply to anonymous): {line}"
            rules[user].add((words[1], words[2]))
    return rules


def test_acl_gives_each_agent_exactly_its_edges_and_its_own_topics() -> None:
    t = Topics("r1")
    rules = acl_rules(setup(users={"obs": BrokerRights.NONE}).acl())
    assert rules["a1"] == {
        ("write", t.inbox("a0", "a1")),
        ("write", t.inbox("a2", "a1")),
        ("write", t.key("a1")),
        ("write", t.status("a1")),
        ("read", t.inbox_filter("a1")),
        ("read", t.key("a0")),
        ("read", t.key("a2")),
        ("read", t.status("a0")),
        ("read", t.status("a2")),
    }
    assert rules["a0"] == {
        ("write", t.inbox("a1", "a0")),
        ("write", t.key("a0")),
        ("write", t.status("a0")),
        ("read", t.inbox_filter("a0")),
        ("read", t.key("a1")),
        ("read", t.status("a1")),
    }
    assert rules["obs"] == set()


def test_acl_covers_every_run_and_the_extra_users_rights() -> None:
    users = {"watch": BrokerRights.STATUS, "ops": BrokerRights.ALL}
    rules = acl_rules(setup(runs=("r1", "r2"), users=users).acl())
    assert rules["watch"] == {("read", "hemesh/r1/status/+"), ("read", "hemesh/r2/status/+")}
    assert rules["ops"] == {("readwrite", "hemesh/r1/#"), ("readwrite", "hemesh/r2/#")}
    assert ("write", "hemesh/r2/inbox/a1/a0") in rules["a0"]
    assert ("write", "hemesh/r1/inbox/a1/a0") in rules["a0"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"neighbours": {"a0": ["a1"], "a1": []}}, "not symmetric"),
        ({"neighbours": {"a0": ["a0"]}}, "itself"),
        ({"neighbours": {"a0": ["a9"]}}, "'a9', not an agent"),
        ({"neighbours": {"a+": []}}, "'a+'"),
        ({"neighbours": {"a0": ["a/1"], "a/1": ["a0"]}}, "'a/1'"),
        ({"neighbours": {"#": []}}, "'#'"),
        ({"runs": ("r/1",)}, "run id"),
        ({"runs": ()}, "at least one run"),
        ({"users": {"a1": BrokerRights.NONE}}, "also an agent id"),
        ({"users": {"obs": "god"}}, "rights of user 'obs'"),
        ({"users": {"o+": BrokerRights.NONE}}, "user name"),
        ({"port": 70000}, "port"),
        ({"host": "a b"}, "bind host"),
        ({"host": ""}, "bind host"),
        ({"max_queued_messages": 0}, "max_queued_messages"),
        ({"run_as": "two words"}, "run_as"),
    ],
)
def test_bad_setups_are_refused_naming_the_value(changes: dict[str, object], message: str) -> None:
    with pytest.raises(TransportError, match=message.replace("+", r"\+")):
        setup(**changes)


def test_config_locks_the_broker_down_and_binds_loopback_by_default(tmp_path: Path) -> None:
    lines = set(setup().config(tmp_path).splitlines())
    for expected in (
        "listener 1884 127.0.0.1",
        "allow_anonymous false",
        f"password_file {tmp_path / 'passwd'}",
        f"acl_file {tmp_path / 'acl'}",
        "use_username_as_clientid true",
        "set_tcp_nodelay true",
        "persistence false",
        f"log_dest file {tmp_path / 'mosquitto.log'}",
    ):
        assert expected in lines
    queued = [line for line in lines if line.startswith("max_queued_messages ")]
    assert len(queued) == 1
    assert int(queued[0].split()[1]) >= 10_000
    assert "listener 1884 0.0.0.0" in setup(host="0.0.0.0").config(tmp_path).splitlines()


def test_hash_matches_mosquitto_passwd() -> None:
    """A line ``mosquitto_passwd -U`` 2.0.11 wrote for password ``secret``."""
    written = (
        "$7$101$u4xC64w3K3XWXfp0$A+4SuhgEAF0FbMmuyiiOTub4Km1GIUsZGJIBAgkrX1zj/uzmHOAAVyZUQ"
        "ObDcxHHK+XMXNuXe4C3iMQOZ2S6pQ=="
    )
    salt = base64.b64decode(written.split("$")[3])
    assert hash_password("secret", salt=salt) == written
    assert hash_password("secret2", salt=salt) != written


def test_fresh_hashes_have_the_format_and_verify() -> None:
    first, second = hash_password("pw"), hash_password("pw")
    assert first != second  # a fresh salt each time
    _, kind, rounds, salt64, digest64 = first.split("$")
    salt, digest = base64.b64decode(salt64), base64.b64decode(digest64)
    assert (kind, len(salt), len(digest)) == ("7", 12, 64)
    assert hashlib.pbkdf2_hmac("sha512", b"pw", salt, int(rounds)) == digest


def test_write_makes_private_files_with_fresh_passwords(tmp_path: Path) -> None:
    s = setup(users={"obs": BrokerRights.NONE})
    files = s.write(tmp_path / "b")
    again = s.write(tmp_path / "c")
    assert set(files.passwords) == {"a0", "a1", "a2", "obs"}
    assert len(set(files.passwords.values())) == 4
    assert not set(files.passwords.values()) & set(again.passwords.values())
    assert all(len(p) >= 43 for p in files.passwords.values())  # 256 bits, base64
    for path in (files.password_file, files.acl_file, files.config, files.credentials_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(files.directory.stat().st_mode) == 0o700
    hashed = dict(line.split(":", 1) for line in files.password_file.read_text().splitlines())
    for user, password in files.passwords.items():
        assert password not in files.password_file.read_text()
        _, _, rounds, salt64, digest64 = hashed[user].split("$")
        expected = hashlib.pbkdf2_hmac(
            "sha512", password.encode(), base64.b64decode(salt64), int(rounds)
        )
        assert base64.b64decode(digest64) == expected
    creds = json.loads(files.credentials_file.read_text())
    assert creds["runs"] == ["r1"]
    assert creds["users"]["a1"]["password"] == files.passwords["a1"]
    assert creds["users"]["a1"]["url"].endswith("@127.0.0.1:1884")
    assert creds["users"]["obs"]["rights"] == "none"
    assert creds["users"]["a0"]["rights"] == "agent"


def test_write_refers_to_the_mount_point_when_asked(tmp_path: Path) -> None:
    files = setup().write(tmp_path, mounted_at=PurePosixPath("/mosquitto/config"))
    text = files.config.read_text()
    assert "password_file /mosquitto/config/passwd" in text
    assert str(tmp_path) not in text


def test_address_carries_the_accounts_own_password(tmp_path: Path) -> None:
    s = setup()
    files = s.write(tmp_path, passwords={"a0": "p0", "a1": "p1", "a2": "p2"})
    address = s.address("a1", files)
    assert (address.username, address.password, address.port) == ("a1", "p1", 1884)
    assert "p1" not in repr(address) and "p1" not in address.url
    with pytest.raises(TransportError, match="no account 'zz'"):
        s.address("zz", files)
    with pytest.raises(TransportError, match="no password given for a2"):
        s.write(tmp_path, passwords={"a0": "p0", "a1": "p1"})


def test_transport_gives_each_agent_its_own_login_and_others_the_default() -> None:
    default = BrokerAddress(host="127.0.0.1", port=1884, username="observer", password="o")
    own = BrokerAddress(host="127.0.0.1", port=1884, username="a0", password="p0")
    transport = MqttTransport("r1", default, logins={"a0": own})
    assert transport.address_of("a0") is own
    assert transport.endpoint("a0", neighbours=["a1"]).address is own
    assert transport.address_of("a1") is default
    assert transport.address is default
    with pytest.raises(TransportError, match="login of 'a1'"):
        MqttTransport("r1", default, logins={"a1": "mqtt://a1:x@h"})  # type: ignore[dict-item]


def test_ca_file_belongs_to_a_tls_address() -> None:
    address = BrokerAddress(host="h", port=8883, tls=True, ca_file="/tmp/ca.crt")
    assert address.ca_file == "/tmp/ca.crt"
    with pytest.raises(TransportError, match="ca_file"):
        BrokerAddress(host="h", port=1883, ca_file="/tmp/ca.crt")
