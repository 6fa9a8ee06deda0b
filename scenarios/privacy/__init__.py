"""Privacy: the recording adversaries of a run (eavesdroppers, colluders' observers, the
gradient tap), the attacks on what they recorded, and the audit that scores them."""

from ._adversaries import (
    Adversaries,
    GradientTap,
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
from ._inversion import invert, invert_all
from ._linear_system import linear_system_attack
from ._membership import auc, bootstrap_auc, loss_scores
from ._params import PublicParams
from ._scores import cosine, finite, magnitude_error, relative_error

__all__ = [
    "Adversaries",
    "Estimates",
    "GradientTap",
    "PublicParams",
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
    "read_record",
    "relative_error",
    "score",
    "start_adversaries",
    "summarize",
    "traffic_metadata",
]
