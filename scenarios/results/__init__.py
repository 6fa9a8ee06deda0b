"""A run's results: the run directory and every file in it, how JSON and JSONL files are
read and written, the run stamp and ids, preparing a run directory, and the metrics
(the only place MSE, consensus error and objective gap are computed)."""

from ._graph import RunGraph, read_graph
from ._json import (
    JsonLines,
    JsonlWriter,
    decode_bytes,
    jsonable,
    parse_record,
    read_json,
    read_jsonl,
    write_json,
    write_jsonl,
)
from ._metrics import AgentLog, Run, Series, read_audit, read_log
from ._prepare import prepare_run, run_folder, run_id, run_stamp
from ._rundir import AdversaryDir, RunDir, find_runs

__all__ = [
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
]
