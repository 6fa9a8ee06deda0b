"""Privacy: the recording adversaries of a run (eavesdroppers, colluders' observers, the
gradient tap; in this process or an agent's part in its own), the files written before
the agents start and completed after, the attacks on what was recorded, and the audit
that scores them."""

from ._adversaries import (
    Adversaries,
    eavesdrop,
    eavesdropper_login,
    envelope_line,
    start_adversaries,
)
from ._attacks import (
    Estimates,
    colluders_attack,
    eavesdropper_attack,
    read_record,
    traffic_metadata,
)
from ._audit import (
    attack,
    audit_rows,
    audit_run,
    linear_attack,
    load_inputs,
    load_truth,
    membership_audit,
    score,
    summarize,
)
from ._finish import AuditResult, finish_adversaries, merge_member_records
from ._inversion import invert, invert_all
from ._linear_system import linear_system_attack
from ._membership import auc, bootstrap_auc, loss_scores
from ._params import PublicParams
from ._prepare import AdversaryPlan, prepare_adversaries
from ._scores import cosine, finite, magnitude_error, relative_error
from ._taps import AgentPart, GradientTap, agent_part

__all__ = [
    "Adversaries",
    "AdversaryPlan",
    "AgentPart",
    "AuditResult",
    "Estimates",
    "GradientTap",
    "PublicParams",
    "agent_part",
    "attack",
    "auc",
    "audit_rows",
    "audit_run",
    "bootstrap_auc",
    "colluders_attack",
    "cosine",
    "eavesdrop",
    "eavesdropper_attack",
    "eavesdropper_login",
    "envelope_line",
    "finish_adversaries",
    "finite",
    "invert",
    "invert_all",
    "linear_attack",
    "linear_system_attack",
    "load_inputs",
    "load_truth",
    "loss_scores",
    "magnitude_error",
    "membership_audit",
    "merge_member_records",
    "prepare_adversaries",
    "read_record",
    "relative_error",
    "score",
    "start_adversaries",
    "summarize",
    "traffic_metadata",
]
