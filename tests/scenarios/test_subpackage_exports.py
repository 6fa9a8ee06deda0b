"""Each sub-package of scenarios has a public face: exactly these names."""

from __future__ import annotations

import importlib

import pytest

EXPECTED = {
    "spec": [
        "AdversarySpec",
        "AlgorithmSpec",
        "ColludersSpec",
        "CryptoSpec",
        "EavesdropperSpec",
        "FaultsSpec",
        "OutputSpec",
        "PartitionSpec",
        "ProblemSpec",
        "Scenario",
        "TopologySpec",
        "TransportSpec",
        "agent_id",
        "agent_index",
        "check_adversaries",
        "check_against_graph",
        "check_attenuation_exponent",
        "load",
        "load_scenario",
        "parse",
        "resolve_colluders",
        "resolve_paths",
    ],
    "assembly": [
        "LAMBDA_GAIN",
        "FloatArray",
        "HeldOut",
        "Problem",
        "agent_configs",
        "build_graph",
        "build_problem",
        "least_squares",
        "logistic",
        "logistic_csv",
    ],
    "results": [
        "AdversaryDir",
        "AgentLog",
        "JsonLines",
        "JsonlWriter",
        "Run",
        "RunDir",
        "RunGraph",
        "Series",
        "decode_bytes",
        "find_runs",
        "jsonable",
        "parse_record",
        "prepare_run",
        "read_audit",
        "read_graph",
        "read_json",
        "read_jsonl",
        "read_log",
        "run_folder",
        "run_id",
        "run_stamp",
        "write_json",
        "write_jsonl",
    ],
    "privacy": [
        "Adversaries",
        "Estimates",
        "GradientTap",
        "PublicParams",
        "attack",
        "audit_rows",
        "audit_run",
        "colluders_attack",
        "cosine",
        "eavesdropper_attack",
        "envelope_line",
        "finite",
        "load_truth",
        "magnitude_error",
        "read_record",
        "relative_error",
        "score",
        "start_adversaries",
        "summarize",
        "traffic_metadata",
    ],
    "deploy": [
        "BROKER_ENV",
        "MOSQUITTO",
        "OBSERVER",
        "AgentPlan",
        "ComposeFiles",
        "Supervisor",
        "agent_command",
        "broker_lines",
        "broker_url",
        "check_run_id",
        "compose_document",
        "default_run_id",
        "describe",
        "mosquitto_config",
        "mosquitto_setup",
        "mosquitto_transport",
        "open_broker",
        "plan_agent",
        "refuse_in_process_only",
        "resolve_broker",
        "run_agent",
        "serve_broker",
        "write_compose",
    ],
    "run": [
        "Progress",
        "RunResult",
        "SpawnMode",
        "TransportFactory",
        "run_scenario",
        "write_summary",
    ],
    "dashboards": [
        "PALETTE",
        "TIME_PARTS",
        "Curve",
        "GraphReport",
        "LiveDashboard",
        "RunView",
        "Topology",
        "Written",
        "beside_run",
        "build",
        "draw",
        "figures",
        "latest_run_folder",
        "layout",
        "load_views",
        "page",
        "parse_spec",
        "payload",
        "report",
        "serve",
        "title_for",
        "topology_figure",
        "view",
        "write_dashboard",
    ],
    "cli": [
        "EXIT_BAD_INPUT",
        "EXIT_FAILED",
        "app",
        "exit_code",
        "main",
    ],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_sub_package_exports_exactly_its_public_names(name: str) -> None:
    module = importlib.import_module(f"scenarios.{name}")
    assert list(module.__all__) == EXPECTED[name]
    for public in EXPECTED[name]:
        assert getattr(module, public) is not None, public


def test_every_sub_package_is_listed() -> None:
    import pkgutil

    import scenarios

    found = {m.name for m in pkgutil.iter_modules(scenarios.__path__) if m.ispkg}
    # scenarios.data's face is checked by tests/scenarios/data/test_data_exports.py
    assert found - {"examples", "data"} == set(EXPECTED)
