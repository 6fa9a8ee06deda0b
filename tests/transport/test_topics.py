"""The topic layout of a run, and MQTT 3.1.1 filter matching."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from paho.mqtt.client import topic_matches_sub

from transport import EnvelopeError, Topics, topic_matches


def test_layout() -> None:
    topics = Topics("run-1")
    assert topics.prefix == "hemesh/run-1"
    assert topics.everything == "hemesh/run-1/#"
    assert topics.inbox("b", "a") == "hemesh/run-1/inbox/b/a"
    assert topics.inbox_filter("b") == "hemesh/run-1/inbox/b/+"
    assert topics.key("a") == "hemesh/run-1/keys/a"
    assert topics.status("a") == "hemesh/run-1/status/a"


@pytest.mark.parametrize("bad", ["a/b", "+", "#", "a+", "", "x" * 65])
def test_bad_ids_never_become_topic_levels(bad: str) -> None:
    with pytest.raises(EnvelopeError):
        Topics(bad)
    topics = Topics("r")
    makers: tuple[Callable[[], object], ...] = (
        lambda: topics.inbox(bad, "a"),
        lambda: topics.inbox("a", bad),
        lambda: topics.inbox_filter(bad),
        lambda: topics.key(bad),
        lambda: topics.status(bad),
    )
    for make in makers:
        with pytest.raises(EnvelopeError):
            make()


@pytest.mark.parametrize(
    ("topic", "parsed"),
    [
        ("hemesh/r/inbox/b/a", ("inbox", "b", "a")),
        ("hemesh/r/keys/a", ("keys", "a", None)),
        ("hemesh/r/status/a", ("status", "a", None)),
        ("hemesh/other/inbox/b/a", None),
        ("hemesh/r/inbox/b", None),
        ("hemesh/r/inbox/b/a/c", None),
        ("hemesh/r/keys/a/b", None),
        ("hemesh/r/secrets/a", None),
        ("other/r/keys/a", None),
        ("hemesh/r", None),
        ("", None),
    ],
)
def test_parse(topic: str, parsed: tuple[str, str, str | None] | None) -> None:
    assert Topics("r").parse(topic) == parsed


def test_parse_inverts_the_layout() -> None:
    topics = Topics("r")
    assert topics.parse(topics.inbox("b", "a")) == ("inbox", "b", "a")
    assert topics.parse(topics.key("a")) == ("keys", "a", None)
    assert topics.parse(topics.status("a")) == ("status", "a", None)


@pytest.mark.parametrize(
    ("topic_filter", "topic", "matches"),
    [
        # examples from the MQTT 3.1.1 standard, section 4.7
        ("sport/tennis/player1/#", "sport/tennis/player1", True),
        ("sport/tennis/player1/#", "sport/tennis/player1/ranking", True),
        ("sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", True),
        ("sport/#", "sport", True),
        ("#", "sport/tennis", True),
        ("sport/tennis/+", "sport/tennis/player1", True),
        ("sport/tennis/+", "sport/tennis/player1/ranking", False),
        ("sport/+", "sport", False),
        ("sport/+", "sport/", True),
        ("+/+", "/finance", True),
        ("/+", "/finance", True),
        ("+", "/finance", False),
        ("+", "finance", True),
        ("#", "$SYS/broker/load", False),
        ("+/broker/load", "$SYS/broker/load", False),
        ("$SYS/#", "$SYS/broker/load", True),
        ("$SYS/+/load", "$SYS/broker/load", True),
        # exact names, case and empty levels
        ("a/b", "a/b", True),
        ("a/b", "a/B", False),
        ("a/b", "a/b/c", False),
        ("a/b/c", "a/b", False),
        ("a//b", "a//b", True),
        ("a/+/b", "a//b", True),
        # the run's own filters
        ("hemesh/r/inbox/b/+", "hemesh/r/inbox/b/a", True),
        ("hemesh/r/inbox/b/+", "hemesh/r/inbox/c/a", False),
        ("hemesh/r/#", "hemesh/r/keys/a", True),
        ("hemesh/r/#", "hemesh/r2/keys/a", False),
    ],
)
def test_topic_matches(topic_filter: str, topic: str, matches: bool) -> None:
    assert topic_matches(topic_filter, topic) is matches


levels = st.sampled_from(["a", "b", "", "$s"])
topics_ = st.lists(levels, min_size=1, max_size=4).map("/".join)
filters = st.builds(
    lambda body, tail: "/".join(body + tail),
    st.lists(st.one_of(levels, st.just("+")), min_size=0, max_size=4),
    st.sampled_from([[], ["#"]]),
).filter(bool)


@given(filters, topics_)
def test_topic_matches_agrees_with_paho(topic_filter: str, topic: str) -> None:
    assert topic_matches(topic_filter, topic) == topic_matches_sub(topic_filter, topic)
