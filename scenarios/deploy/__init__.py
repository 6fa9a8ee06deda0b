"""Deploying a run: its brokers (a locked-down embedded broker or Mosquitto per run, a
URL), the lone agent process (``hemesh agent``), the supervisor of ``--spawn
processes``, compose files."""

from ._agent_process import (
    BROKER_ENV,
    RECONNECT_TIMEOUT,
    AgentPlan,
    agent_failure,
    broker_url,
    describe,
    plan_agent,
    refuse_in_process_only,
    resolve_broker,
    run_agent,
)
from ._brokers import (
    EMBEDDED,
    LOCKED,
    MOSQUITTO,
    OBSERVER,
    VANTAGE_LOGINS,
    WIRETAP,
    broker_lines,
    check_run_id,
    default_run_id,
    locked_transport,
    mosquitto_setup,
    open_broker,
    serve_broker,
    vantage_addresses,
)
from ._compose import (
    ComposeFiles,
    broker_setup,
    compose_document,
    mosquitto_config,
    write_compose,
)
from ._signals import STOP_SIGNALS, Interrupted, interruptible
from ._supervisor import Supervisor, agent_command, run_deadline
from ._watch import BrokerWatch, exit_reason

__all__ = [
    "BROKER_ENV",
    "EMBEDDED",
    "LOCKED",
    "MOSQUITTO",
    "OBSERVER",
    "RECONNECT_TIMEOUT",
    "STOP_SIGNALS",
    "VANTAGE_LOGINS",
    "WIRETAP",
    "AgentPlan",
    "BrokerWatch",
    "ComposeFiles",
    "Interrupted",
    "Supervisor",
    "agent_command",
    "agent_failure",
    "broker_lines",
    "broker_setup",
    "broker_url",
    "check_run_id",
    "compose_document",
    "default_run_id",
    "describe",
    "exit_reason",
    "interruptible",
    "locked_transport",
    "mosquitto_config",
    "mosquitto_setup",
    "open_broker",
    "plan_agent",
    "refuse_in_process_only",
    "resolve_broker",
    "run_agent",
    "run_deadline",
    "serve_broker",
    "vantage_addresses",
    "write_compose",
]
