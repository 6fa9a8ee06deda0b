"""Running a scenario: ``run_scenario``, its agents as tasks of this process or one
process each, with a transport-factory seam in place of the scenario's broker;
``run_sync`` for notebooks and scripts."""

from ._result import Progress, RunResult, SpawnMode, TransportFactory, write_summary
from ._scenario import run_scenario
from ._sync import override, run_sync

__all__ = [
    "Progress",
    "RunResult",
    "SpawnMode",
    "TransportFactory",
    "override",
    "run_scenario",
    "run_sync",
    "write_summary",
]
