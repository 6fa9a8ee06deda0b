"""Dashboards drawn from run directories alone: the views, the plotly figures, the HTML
page, the matplotlib figures, the live server, and the report of ``hemesh topology show``.

Reads results only (:mod:`scenarios.results`): no scenario, assembly or privacy code.
"""

from ._graph_report import GraphReport, build, draw, parse_spec, report
from ._live import LiveDashboard, beside_run, latest_run_folder, serve
from ._page import Written, page, payload, title_for, write_dashboard
from ._plotly import figures, topology_figure
from ._views import PALETTE, TIME_PARTS, Curve, RunView, Topology, layout, load_views, view

__all__ = [
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
]
