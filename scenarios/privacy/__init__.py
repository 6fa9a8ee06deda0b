"""Privacy: the recording adversaries of a run (eavesdroppers, colluders' observers, the
gradient tap), the attacks on what they recorded, and the audit that scores them."""

from ._adversaries import Adversaries, GradientTap, envelope_line, start_adversaries
from ._attacks import (
    Estimates,
    colluders_attack,
    eavesdropper_attack,
    read_record,
    traffic_metadata,
)
from ._audit import attack, audit_rows, audit_run, load_truth, score, summarize
from ._params import PublicParams
from ._scores import cosine, finite, magnitude_error, relative_error

__all__ = [
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
]
