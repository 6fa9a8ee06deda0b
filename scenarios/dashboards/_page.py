"""The dashboard page: self-contained HTML (plotly.js inline) and the files
``hemesh dashboard`` writes."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import BadInput
from ._plotly import figures
from ._views import RunView, load_views


def payload(views: Sequence[RunView]) -> dict[str, Any]:
    """The JSON the page draws from (embedded in the static page, served by the live one)."""
    return {
        "figures": figures(views),
        "runs": [
            {"label": v.label, "path": str(v.path), "iterations": v.k[-1] if v.k else None}
            for v in views
        ],
        "problems": [p for v in views for p in v.problems],
    }


def _plotly_js() -> str:
    try:
        from plotly.offline import get_plotlyjs  # type: ignore[import-untyped]
    except ImportError as exc:  # pragma: no cover - plotly is a dependency
        raise BadInput("the dashboard needs plotly: pip install plotly") from exc
    return str(get_plotlyjs())


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1em 2em; color: #222; }}
h1 {{ font-size: 1.3em; margin: 0.2em 0; }}
#status {{ color: #555; font-size: 0.9em; }}
#problems {{ color: #a40; font-size: 0.9em; }}
#panels {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 1em; }}
</style>
<script>
window.hemeshErrors = [];
window.addEventListener("error", function (e) {{
  window.hemeshErrors.push(String(e.message));
  document.documentElement.setAttribute("data-errors", window.hemeshErrors.join(" | "));
}});
</script>
<script>{plotly}</script>
</head><body>
<h1>{title}</h1>
<div id="status"></div>
<ul id="problems"></ul>
<div id="panels"></div>
<script type="application/json" id="hemesh-data">{data}</script>
<script>
(function () {{
  var live = {live};
  var config = {{responsive: true, displaylogo: false}};
  function draw(data) {{
    var panels = document.getElementById("panels");
    var ids = Object.keys(data.figures);
    ids.forEach(function (id) {{  // lay out every panel first, so each plots at its width
      if (!document.getElementById("fig-" + id)) {{
        var div = document.createElement("div");
        div.id = "fig-" + id;
        div.className = "hemesh-figure";
        div.setAttribute("data-figure", id);
        panels.appendChild(div);
      }}
    }});
    ids.forEach(function (id) {{
      var fig = data.figures[id];
      var div = document.getElementById("fig-" + id);
      var named = fig.data.filter(function (t) {{ return t.showlegend !== false; }});
      div.setAttribute("data-traces", String(named.length));
      Plotly.react(div, fig.data, fig.layout, config);
    }});
    var status = data.runs.map(function (r) {{
      return r.label + ": " + (r.iterations === null ? "no iterations yet" : "k = " + r.iterations);
    }}).join(" · ");
    document.getElementById("status").textContent = (live ? "live · " : "") + status;
    var list = document.getElementById("problems");
    list.innerHTML = "";
    data.problems.forEach(function (p) {{
      var li = document.createElement("li");
      li.textContent = p;
      list.appendChild(li);
    }});
    var root = document.documentElement;
    root.setAttribute("data-rendered", String(Object.keys(data.figures).length));
    root.setAttribute("data-iterations", data.runs.map(function (r) {{
      return r.iterations === null ? -1 : r.iterations;
    }}).join(","));
  }}
  draw(JSON.parse(document.getElementById("hemesh-data").textContent));
  if (live) {{
    var busy = false;
    setInterval(function () {{
      if (busy) return;
      busy = true;
      fetch("data.json", {{cache: "no-store"}})
        .then(function (r) {{ return r.ok ? r.json() : null; }})
        .then(function (d) {{ if (d) draw(d); }})
        .catch(function () {{
          document.getElementById("status").textContent = "server gone: the run has ended";
        }})
        .finally(function () {{ busy = false; }});
    }}, {interval});
  }}
}})();
</script>
</body></html>
"""


def page(data: dict[str, Any], *, title: str, live: bool = False, interval_ms: int = 1000) -> str:
    """A self-contained HTML page (plotly.js inline, no network) drawing ``data``."""
    embedded = json.dumps(data, allow_nan=False).replace("</", "<\\/")
    return _PAGE.format(
        title=html.escape(title),
        plotly=_plotly_js(),
        data=embedded,
        live="true" if live else "false",
        interval=int(interval_ms),
    )


def title_for(views: Sequence[RunView]) -> str:
    names = sorted({v.label.split(" · ")[0] for v in views})
    return "hemesh dashboard: " + ", ".join(names)


@dataclass(frozen=True, slots=True)
class Written:
    html: Path
    figures: list[Path]
    problems: list[str]


def write_dashboard(paths: Sequence[Path], out: Path, *, partial: bool = False) -> Written:
    """Write ``index.html`` and the PNG/PDF figures for the run directories under ``paths``
    (``partial``: draw a run some agents of which left no log, see :func:`load_views`)."""
    from ._figures import write_figures  # matplotlib: imported only when drawing

    views = load_views(paths, partial=partial)
    out.mkdir(parents=True, exist_ok=True)
    index = out / "index.html"
    index.write_text(page(payload(views), title=title_for(views)), encoding="utf-8")
    files = write_figures(views, out)
    return Written(index, files, [p for v in views for p in v.problems])
