"""A run's results: the run directory and every file in it, how JSON and JSONL files are
read and written, the run stamp and ids, preparing a run directory, and the metrics
(the only place MSE, consensus error, objective gap, losses and accuracies are computed),
and the audit's leakage as arrays."""

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
from ._leakage import Inversion, Leakage, inversions_file, read_inversions
from ._logs import AgentLog, read_log
from ._metrics import Run, open_run, read_audit, summaries
from ._outputs import check_output_dir, check_output_file
from ._prepare import prepare_run, run_folder, run_id, run_stamp
from ._rundir import AdversaryDir, RunDir, find_runs
from ._series import Series

__all__ = [
    "AdversaryDir",
    "AgentLog",
    "Inversion",
    "JsonLines",
    "JsonlWriter",
    "Leakage",
    "Run",
    "RunDir",
    "RunGraph",
    "Series",
    "check_output_dir",
    "check_output_file",
    "decode_bytes",
    "find_runs",
    "inversions_file",
    "jsonable",
    "open_run",
    "parse_record",
    "prepare_run",
    "read_audit",
    "read_graph",
    "read_inversions",
    "read_json",
    "read_jsonl",
    "read_log",
    "run_folder",
    "run_id",
    "run_stamp",
    "summaries",
    "write_json",
    "write_jsonl",
]
