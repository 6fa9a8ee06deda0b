"""The embedded broker's rules and wire pieces on their own: Access, the ACL it reads
from a MosquittoSetup, packet framing, and the child's stdin contract."""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys

import pytest

from tests.transport._acl import PATH5
from transport import BrokerError, BrokerRights, MosquittoSetup, Topics, TransportError
from transport.embedded._access import Access, fresh_passwords, parse_acl
from transport.embedded._framing import PacketError, read_packet

USERS = {"harness": BrokerRights.ALL, "watch": BrokerRights.STATUS, "observer": BrokerRights.NONE}


def setup(runs: tuple[str, ...] = ("r1",)) -> MosquittoSetup:
    return MosquittoSetup(runs=runs, neighbours=PATH5, users=USERS)


def access(runs: tuple[str, ...] = ("r1",)) -> Access:
    s = setup(runs)
    return Access.from_setup(s, fresh_passwords(s.accounts))


def universe(runs: tuple[str, ...]) -> set[str]:
    """Every topic a run's agents use, in each run, plus one outside hemesh."""
    topics = {"other/topic"}
    for run in runs:
        t = Topics(run)
        topics |= {t.inbox(r, s) for r, s in itertools.permutations([*PATH5, "harness"], 2)}
        topics |= {t.key(a) for a in PATH5} | {t.status(a) for a in PATH5}
    return topics


@pytest.mark.parametrize("runs", [("r1",), ("r1", "r2")])
def test_the_rules_are_the_mosquitto_acl_topic_by_topic(runs: tuple[str, ...]) -> None:
    rules = access(runs)
    for topic in sorted(universe(runs)):
        for agent, near in PATH5.items():
            writes = reads = False
            for run in runs:
                t = Topics(run)
                writes |= topic in {t.inbox(n, agent) for n in near} | {
                    t.key(agent),
                    t.status(agent),
                }
                reads |= topic.startswith(f"{t.inbox_filter(agent)[:-1]}")
                reads |= topic in {t.key(n) for n in near} | {t.status(n) for n in near}
            assert rules.may_write(agent, topic) == writes, (agent, topic)
            assert rules.may_read(agent, topic) == reads, (agent, topic)
        in_run = any(topic.startswith(f"hemesh/{run}/") for run in runs)
        assert rules.may_write("harness", topic) == rules.may_read("harness", topic) == in_run
        assert rules.may_read("watch", topic) == ("/status/" in topic)
        assert not rules.may_write("watch", topic)
        assert not rules.may_read("observer", topic)
        assert not rules.may_write("observer", topic)
        assert not rules.may_read("eve", topic)
        assert not rules.may_read(None, topic)


@pytest.mark.parametrize(
    "text",
    [
        "topic read #",  # before any user: Mosquitto would give it to anonymous clients
        "user a0\npattern read hemesh/%u/#",
        "user a0\ntopic deny hemesh/#",
        "user a0\ntopic hemesh/#",
        "user a0 a1",
    ],
)
def test_acl_lines_it_does_not_understand_are_refused(text: str) -> None:
    with pytest.raises(TransportError, match="not understood"):
        parse_acl(text)


def test_logins_are_checked_by_password_and_never_shown() -> None:
    rules = access()
    password = rules.passwords["a0"]
    near_miss = password[:-1] + ("B" if password.endswith("A") else "A")
    # booleans first, so that a failing assertion prints no password
    verdicts = [
        rules.admits("a0", password),
        rules.admits("a0", password[:-1]),
        rules.admits("a0", near_miss),
        rules.admits("a0", rules.passwords["a1"]),
        rules.admits("eve", password),
        rules.admits(None, None),
        rules.admits("a0", None),
    ]
    assert verdicts == [True, False, False, False, False, False, False]
    assert password not in repr(rules)
    assert rules.logins == (*PATH5, *USERS)


def test_fresh_passwords_are_256_bit_and_distinct() -> None:
    passwords = fresh_passwords(tuple(f"a{i}" for i in range(50)))
    assert len(set(passwords.values())) == 50
    assert all(len(p) >= 43 for p in passwords.values())  # 32 bytes, base64url
    assert fresh_passwords(("a0",)) != fresh_passwords(("a0",))


def test_the_json_line_round_trips_and_bad_lines_are_broker_errors() -> None:
    rules = access()
    line = rules.to_json()
    assert line.endswith(b"\n")
    assert line.count(b"\n") == 1
    assert Access.from_json(line) == rules
    secret = rules.passwords["a0"]
    for bad in (
        b"not json",
        b"[]",
        b'{"passwords": {}}',
        b'{"passwords": {"a0": 1}, "reads": {}, "writes": {}}',
        b'{"passwords": {"a0": "p"}, "reads": {"eve": ["#"]}, "writes": {}}',
        b'{"passwords": {"a0": "p"}, "reads": {"a0": "#"}, "writes": {}}',
        line.replace(b'"reads"', b'"read"'),
    ):
        with pytest.raises(BrokerError) as info:
            Access.from_json(bad)
        assert secret not in str(info.value)


def test_a_setup_without_a_password_for_every_account_is_refused() -> None:
    with pytest.raises(TransportError, match="no password given for observer"):
        Access.from_setup(setup(), {a: "p" for a in PATH5} | {"harness": "p", "watch": "p"})


def stream(data: bytes, *, eof: bool = True) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    if eof:
        reader.feed_eof()
    return reader


@pytest.mark.asyncio
async def test_packets_are_read_whole_and_bounded_before_their_body() -> None:
    pingreq, publish = b"\xc0\x00", b"\x30\x05\x00\x01tab"
    reader = stream(pingreq + publish)
    assert await read_packet(reader, 16) == pingreq
    assert await read_packet(reader, 16) == publish
    assert await read_packet(reader, 16) is None
    # 200 bytes announced (two length bytes): refused at the header, no body needed
    async with asyncio.timeout(1.0):
        with pytest.raises(PacketError, match="over the 100-byte bound"):
            await read_packet(stream(b"\x30\xc8\x01", eof=False), 100)
    assert await read_packet(stream(b"\x30\xc8\x01" + b"x" * 200), None) is not None
    with pytest.raises(PacketError, match="malformed"):
        await read_packet(stream(b"\x30\xff\xff\xff\xff\x01"), None)
    with pytest.raises(asyncio.IncompleteReadError):
        await read_packet(stream(b"\x30\x05\x00"), 100)


def server(*args: str, stdin: int | None = subprocess.PIPE) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "transport.embedded._server", "--port", "0", *args],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONDEVMODE": "1", "PYTHONWARNINGS": "error"},
    )


@pytest.mark.parametrize(
    ("given", "said"),
    [("", "stdin closed"), ("{not json}\n", "not JSON"), ('{"passwords": {}}\n', "must hold")],
)
def test_the_server_refuses_to_serve_without_a_good_access_line(given: str, said: str) -> None:
    process = server("--access-on-stdin", "--exit-on-stdin-eof")
    stdout, stderr = process.communicate(given, timeout=10)
    assert process.returncode == 2, stderr
    assert "READY" not in stdout
    assert said in stderr
    assert "Traceback" not in stderr


def test_the_server_needs_a_pipe_for_its_access_line() -> None:
    process = server("--access-on-stdin", stdin=subprocess.DEVNULL)
    _, stderr = process.communicate(timeout=10)
    assert process.returncode == 2
    assert "needs stdin to be a pipe" in stderr


def test_the_server_serves_once_its_access_line_is_in() -> None:
    process = server("--access-on-stdin", "--exit-on-stdin-eof")
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(access().to_json().decode())
    process.stdin.flush()
    word, _ = process.stdout.readline().split()
    assert word == "READY"
    _, stderr = process.communicate(timeout=10)  # closes stdin: it exits
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr


def test_a_locked_broker_config_has_our_login_check_alone() -> None:
    from transport.embedded._amqtt import PLUGIN
    from transport.embedded._server import _broker_config

    config = _broker_config("127.0.0.1", 0, access())  # no DeprecationWarning either
    assert list(config.listeners) == ["default"]
    assert list(config.plugins) == [PLUGIN] == ["transport.embedded._amqtt.AccessPlugin"]
