"""Running a scenario: ``run_scenario``, its agents as tasks of this process or one
process each, with a transport-factory seam in place of the scenario's broker."""

from ._result import Progress, RunResult, SpawnMode, TransportFactory, write_summary
from ._scenario import run_scenario

__all__ = [
    "Progress",
    "RunResult",
    "SpawnMode",
    "TransportFactory",
    "run_scenario",
    "write_summary",
]
