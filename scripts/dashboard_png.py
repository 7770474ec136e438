"""Renders template.yaml's CloudWatch dashboard as one PNG, from the EMF metrics that the
demo's function runs logged, so a reader of the README sees what the dashboard holds.

The dashboard body is read from template.yaml (the `!Sub` placeholders filled in for a stack
named `sagekeeper` in us-east-1, DryRun false) and every widget is drawn at its place on the
24-column grid: its title, each metric with its label, `id` expressions computed (`hourly*730`),
the `SEARCH` over `NonCompliant.<rule>` expanded to the rule metrics the logs hold, horizontal
annotations (the functions' timeouts), text widgets as plain text. A metric no run emitted shows
"no data": nothing is made up. Graphs show one point per EMF document (per run; per target for
an organisation run), where CloudWatch would aggregate them by the widget's stat over its period;
the legend gives that stat over all of them.

Run: scripts/demo.sh, then
  .venv/bin/python scripts/dashboard_png.py [--logs .demo] [--out docs/dashboard.png]
"""

from __future__ import annotations

import argparse
import ast
import json
import operator
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CAPTION = (
    "sagekeeper dashboard, rendered from the demo run's EMF metrics (scripts/dashboard_png.py)"
)
# What CloudFormation would put in the body's `${...}` for a stack `sagekeeper` in us-east-1.
PLACEHOLDERS = {"AWS::StackName": "sagekeeper", "AWS::Region": "us-east-1", "DryRun": "false"}

GRID_COLUMNS = 24
FIGURE_WIDTH_IN = 16.0
ROW_HEIGHT_IN = 0.45
# Where a graph's legend starts below its widget's top edge (under the title).
LEGEND_TOP_IN = 0.42
CAPTION_HEIGHT_IN = 0.55
DPI = 100


# --- The dashboard body -----------------------------------------------------------------------


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads CloudFormation short tags (`!Sub`, `!Ref`, ...) as their plain YAML value."""


def _untagged(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


_CloudFormationLoader.add_multi_constructor("!", _untagged)


def dashboard_body(template: Path, placeholders: dict[str, str] = PLACEHOLDERS) -> dict:
    """The DashboardBody of `template` as CloudFormation would deploy it: `${Name}` filled from
    `placeholders`, a resource's logical id by a name like the one CloudFormation gives it."""
    document = yaml.load(template.read_text(), Loader=_CloudFormationLoader)
    resources = document["Resources"]
    body = resources["Dashboard"]["Properties"]["DashboardBody"]
    stack = placeholders["AWS::StackName"]

    def fill(match: re.Match) -> str:
        name = match.group(1)
        if name in placeholders:
            return placeholders[name]
        if name in resources:
            return f"{stack}-{name}"
        raise KeyError(f"DashboardBody uses ${{{name}}}, which is neither given nor a resource")

    return json.loads(re.sub(r"\$\{([^}]+)\}", fill, body))


# --- The metrics the runs logged --------------------------------------------------------------

# A metric as CloudWatch keys it: namespace, name, and its dimensions as sorted (name, value) pairs.
MetricKey = tuple[str, str, tuple[tuple[str, str], ...]]


@dataclass(frozen=True)
class Point:
    timestamp_ms: int
    value: float
    dry_run: bool


def read_emf(logs: Path) -> dict[MetricKey, list[Point]]:
    """Every metric of every EMF document in `logs`/*.log (the lines holding `_aws`; the
    other log lines are skipped), each metric's points in time order."""
    found: dict[MetricKey, list[Point]] = {}
    for log in sorted(logs.glob("*.log")):
        for line in log.read_text(errors="replace").splitlines():
            if '"_aws"' not in line:
                continue
            try:
                document = json.loads(line)
                directives = document["_aws"]["CloudWatchMetrics"]
                timestamp = int(document["_aws"]["Timestamp"])
            except (ValueError, KeyError, TypeError):
                continue
            dry_run = document.get("DryRun") is True
            for directive in directives:
                for dimension_set in directive.get("Dimensions", [[]]):
                    dimensions = tuple(sorted((d, str(document[d])) for d in dimension_set))
                    for metric in directive.get("Metrics", []):
                        value = document.get(metric["Name"])
                        if isinstance(value, (int, float)) and not isinstance(value, bool):
                            key = (directive["Namespace"], metric["Name"], dimensions)
                            point = Point(timestamp, float(value), dry_run)
                            found.setdefault(key, []).append(point)
    for points in found.values():
        points.sort(key=lambda p: p.timestamp_ms)
    return found


# --- What each widget shows -------------------------------------------------------------------


@dataclass
class Series:
    """One line of a widget: `name` is the metric name (or, for an expression, its id)."""

    name: str
    label: str
    points: list[Point]
    visible: bool = True
    # The expression that found it (a SEARCH's label): the legend heads its metrics with it.
    group: str = ""


@dataclass
class DrawnWidget:
    kind: str
    title: str
    x: int
    y: int
    width: int
    height: int
    view: str = ""
    stat: str = ""
    series: list[Series] = field(default_factory=list)
    annotations: list[tuple[str, float]] = field(default_factory=list)
    text: list[tuple[str, bool]] = field(default_factory=list)
    # Namespaces the widget graphs of which the logs hold no metric at all (AWS/Lambda).
    absent_namespaces: list[str] = field(default_factory=list)
    # The texts drawn in the widget besides its title (legend entries, "no data"), once rendered.
    drawn: list[str] = field(default_factory=list)

    @property
    def with_data(self) -> list[str]:
        return [s.name for s in self.series if s.visible and s.points]

    @property
    def without_data(self) -> list[str]:
        return [s.name for s in self.series if s.visible and not s.points]


_OPERATORS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def _arithmetic(expression: str, by_id: dict[str, Series]) -> list[Point]:
    """A metric-math expression of ids, numbers and + - * /, computed at each timestamp where
    every id it uses has a point."""
    tree = ast.parse(expression, mode="eval").body
    used = sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name)})
    missing = [name for name in used if name not in by_id]
    if missing:
        raise ValueError(f"expression {expression!r} uses unknown ids {missing}")
    at = [{p.timestamp_ms: p for p in by_id[name].points} for name in used]
    timestamps = sorted(set.intersection(*(set(a) for a in at))) if at else []

    def value(node: ast.AST, ts: int) -> float:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return float(node.value)
        if isinstance(node, ast.Name):
            return at[used.index(node.id)][ts].value
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return _OPERATORS[type(node.op)](value(node.left, ts), value(node.right, ts))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -value(node.operand, ts)
        raise ValueError(f"unsupported metric math in {expression!r}")

    return [
        Point(ts, value(tree, ts), any(a[ts].dry_run for a in at)) for ts in timestamps
    ]


_SEARCH = re.compile(r"SEARCH\(\s*'\s*\{([^}]*)\}(.*)'\s*,\s*'(\w+)'(?:\s*,\s*\d+)?\s*\)")


def _search(expression: str, label: str, metrics: dict[MetricKey, list[Point]]) -> list[Series]:
    """The metrics a `SEARCH('{Namespace,Dim,...} Key="value" Key=token NOT Key="value"', ...)`
    finds in the logs, as CloudWatch matches them: the namespace and dimension names as given, a
    quoted value the whole value, a bare token one of the value's tokens (split at punctuation,
    so `MetricName=NonCompliant` finds `NonCompliant.<rule>`), `NOT` excluding what follows."""
    match = _SEARCH.search(expression)
    if not match:
        raise ValueError(f"unsupported SEARCH expression {expression!r}")
    namespace, *dimension_names = [part.strip() for part in match.group(1).split(",")]
    terms = re.findall(r'(NOT\s+)?(\w+)\s*=\s*(?:"([^"]*)"|([\w.-]+))', match.group(2))
    found = []
    for (ns, name, dimensions), points in sorted(metrics.items()):
        values = dict(dimensions, MetricName=name)
        if ns != namespace or sorted(dict(dimensions)) != sorted(dimension_names):
            continue
        if all(_matches(values.get(key, ""), exact, token) != bool(negated) for negated, key, exact, token in terms):
            # The rule alone: the token all the found names share would only lengthen the legend.
            tokens = [token for _, key, _, token in terms if key == "MetricName" and token]
            rule = name.removeprefix(f"{tokens[0]}.") if tokens else name
            found.append(Series(name, rule, points, group=label or expression))
    return found


def _matches(value: str, exact: str, token: str) -> bool:
    if token:
        return token in re.split(r"[^A-Za-z0-9]+", value)
    return value == exact


def _metric_series(widget_metrics: list, metrics: dict[MetricKey, list[Point]]) -> list[Series]:
    """The widget's `metrics` array as series, in order; expressions after the metrics they use."""
    names = [m[1] for m in widget_metrics if isinstance(m[0], str)]
    series: list[Series] = []
    by_id: dict[str, Series] = {}
    for entry in widget_metrics:
        options = entry[-1] if isinstance(entry[-1], dict) else {}
        visible = options.get("visible", True)
        if "expression" in options:
            expression, label = options["expression"], options.get("label", "")
            if expression.lstrip().startswith("SEARCH("):
                found = _search(expression, label, metrics)
                series.extend(found or [Series(expression, f"{label} (SEARCH)", [], visible)])
                continue
            points = _arithmetic(expression, by_id)
            made = Series(options.get("id", expression), label or expression, points, visible)
        else:
            namespace, name, *rest = entry if not options else entry[:-1]
            dimensions = tuple(sorted(zip(rest[0::2], rest[1::2])))
            # The metric's name, and its dimension values where the widget has one name twice.
            default = name
            if names.count(name) > 1:
                default = f"{name} · {' '.join(v for _, v in dimensions)}"
            points = metrics.get((namespace, name, dimensions), [])
            made = Series(name, options.get("label", default), points, visible)
        if "id" in options:
            by_id[options["id"]] = made
        series.append(made)
    return series


def _plain(markdown: str) -> list[tuple[str, bool]]:
    """A text widget's markdown as plain lines, each with whether it was a heading."""
    return [
        (re.sub(r"\*\*|__|`", "", re.sub(r"^#+\s*", "", line)), line.startswith("#"))
        for line in markdown.splitlines()
    ]


def layout(body: dict, metrics: dict[MetricKey, list[Point]]) -> list[DrawnWidget]:
    """Each widget of the body with what it shows from `metrics`."""
    logged_namespaces = {key[0] for key in metrics}
    drawn = []
    for widget in body["widgets"]:
        properties = widget.get("properties", {})
        place = {k: int(widget.get(k, 0)) for k in ("x", "y", "width", "height")}
        if widget["type"] == "text":
            text = _plain(properties.get("markdown", ""))
            drawn.append(DrawnWidget("text", "", text=text, **place))
            continue
        if widget["type"] != "metric":
            drawn.append(DrawnWidget(widget["type"], f"({widget['type']} widget)", **place))
            continue
        entries = properties.get("metrics", [])
        namespaces = sorted({m[0] for m in entries if isinstance(m[0], str)})
        drawn.append(
            DrawnWidget(
                "metric",
                properties.get("title", ""),
                view=properties.get("view", "timeSeries"),
                stat=properties.get("stat", "Average"),
                series=_metric_series(entries, metrics),
                annotations=[
                    (a.get("label", ""), float(a["value"]))
                    for a in properties.get("annotations", {}).get("horizontal", [])
                ],
                absent_namespaces=[ns for ns in namespaces if ns not in logged_namespaces],
                **place,
            )
        )
    return drawn


def summary(stat: str, points: list[Point]) -> float:
    """The widget's stat over all the runs' points (what one period holding them all shows)."""
    values = [p.value for p in points]
    return {
        "Sum": sum,
        "Maximum": max,
        "Minimum": min,
        "SampleCount": len,
        "Average": lambda v: sum(v) / len(v),
    }.get(stat, lambda v: v[-1])(values)  # another stat (a percentile): the last value


# --- Drawing ----------------------------------------------------------------------------------

BACKGROUND, PANEL, BORDER = "#f2f3f3", "white", "#d5dbdb"
INK, FAINT, ANNOTATION = "#16191f", "#879596", "#d13212"
GUTTER_IN = 0.06


def _number(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


def _time_ticks(time_range: tuple[float, float], plot_in: float):
    """Ticks on round seconds, minutes or hours, as many as fit: a label is about 0.6 in wide."""
    import matplotlib.dates as mdates

    most = max(2, int(plot_in / 0.8))
    span_s = (time_range[1] - time_range[0]) * 86_400
    for step in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600):
        if span_s / step <= most:
            break
    if step < 60:
        return mdates.SecondLocator(interval=step)
    if step < 3600:
        return mdates.MinuteLocator(interval=step // 60)
    return mdates.HourLocator(interval=step // 3600)


class _Canvas:
    """The figure, with the dashboard's grid: widgets placed in inches from the top left."""

    def __init__(self, widgets: list[DrawnWidget], metrics: dict[MetricKey, list[Point]]):
        import matplotlib.dates as mdates
        import matplotlib.pyplot as plt

        self.height_in = max(w.y + w.height for w in widgets) * ROW_HEIGHT_IN + CAPTION_HEIGHT_IN
        self.figure = plt.figure(
            figsize=(FIGURE_WIDTH_IN, self.height_in), dpi=DPI, facecolor=BACKGROUND
        )
        self.column_in = FIGURE_WIDTH_IN / GRID_COLUMNS
        # One time range for every graph, as a dashboard has.
        self.time_range = None
        stamps = [p.timestamp_ms / 1000 for points in metrics.values() for p in points]
        if stamps:
            pad = max((max(stamps) - min(stamps)) * 0.04, 0.5)
            self.time_range = tuple(
                mdates.date2num(datetime.fromtimestamp(t, timezone.utc))
                for t in (min(stamps) - pad, max(stamps) + pad)
            )
        tab20 = plt.get_cmap("tab20").colors
        self.colours = tab20[::2] + tab20[1::2]

    def width_in(self, w: DrawnWidget) -> float:
        return w.width * self.column_in - 2 * GUTTER_IN

    def height_of(self, w: DrawnWidget) -> float:
        return w.height * ROW_HEIGHT_IN - 2 * GUTTER_IN

    def axes(self, w: DrawnWidget, left=0.0, right=0.0, top=0.0, bottom=0.0):
        """Axes over the widget's place, less margins in inches."""
        x0 = w.x * self.column_in + GUTTER_IN + left
        x1 = (w.x + w.width) * self.column_in - GUTTER_IN - right
        y1 = self.height_in - w.y * ROW_HEIGHT_IN - GUTTER_IN - top
        y0 = self.height_in - (w.y + w.height) * ROW_HEIGHT_IN + GUTTER_IN + bottom
        return self.figure.add_axes(
            [
                x0 / FIGURE_WIDTH_IN,
                y0 / self.height_in,
                (x1 - x0) / FIGURE_WIDTH_IN,
                (y1 - y0) / self.height_in,
            ]
        )

    def panel(self, w: DrawnWidget):
        """The widget's white box, its title at the top."""
        panel = self.axes(w)
        panel.set_facecolor(PANEL)
        panel.set_xticks([])
        panel.set_yticks([])
        for spine in panel.spines.values():
            spine.set_color(BORDER)
        if w.title:
            panel.text(0.01, 0.97, w.title, va="top", ha="left", fontsize=10,
                       fontweight="bold", transform=panel.transAxes)
        return panel


def _draw_text(canvas: _Canvas, w: DrawnWidget) -> None:
    panel = canvas.panel(w)
    height = canvas.height_of(w)
    y = 1 - 0.1 / height
    for line, heading in w.text:
        panel.text(0.01, y, line, va="top", ha="left", fontsize=12 if heading else 10,
                   fontweight="bold" if heading else "normal", transform=panel.transAxes)
        y -= (0.3 if heading else 0.24) / height


def _draw_single_value(canvas: _Canvas, w: DrawnWidget) -> None:
    panel = canvas.panel(w)
    shown = [s for s in w.series if s.visible]
    for i, s in enumerate(shown):
        x = (i + 0.5) / len(shown)
        value = _number(s.points[-1].value) if s.points else "no data"
        panel.text(x, 0.5, value, ha="center", va="center", fontsize=22 if s.points else 12,
                   color=INK if s.points else FAINT, transform=panel.transAxes)
        w.drawn.append(f"{s.label}: {value}")
        panel.text(x, 0.2, s.label, ha="center", va="center", fontsize=8,
                   transform=panel.transAxes)


def _draw_time_series(canvas: _Canvas, w: DrawnWidget) -> None:
    import matplotlib.dates as mdates
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    panel = canvas.panel(w)
    shown = [s for s in w.series if s.visible]
    colour_of = {id(s): canvas.colours[i % len(canvas.colours)] for i, s in enumerate(shown)}
    # Legend rows: each series, a SEARCH's label heading the metrics it found.
    rows: list[Series | str] = []
    for s in shown:
        if s.group and (not rows or getattr(rows[-1], "group", None) != s.group):
            rows.append(s.group)
        rows.append(s)

    # Plot left, legend right, in two columns when one does not fit: the legends are long (the
    # rule SEARCH finds a score of metrics).
    width_in, height_in = canvas.width_in(w), canvas.height_of(w)
    font = 7.5 if len(rows) < 10 else 7
    line_in = font * 1.3 / 72
    columns = 1 if len(rows) <= (height_in - LEGEND_TOP_IN) // line_in else 2
    legend_share = 0.44 if columns == 1 else 0.66
    per_column = -(-len(rows) // columns)
    # The characters a legend column holds (a glyph is a little over half the font size wide).
    fitting = int((width_in * legend_share / columns - 0.3) * 72 / (font * 0.56))
    plot_in = width_in * (1 - legend_share) - 0.55
    plot = canvas.axes(w, left=0.55, right=width_in * legend_share, top=0.32, bottom=0.3)
    plot.tick_params(labelsize=7)
    plot.grid(True, color="#eaeded", linewidth=0.6)
    for spine in ("top", "right"):
        plot.spines[spine].set_visible(False)

    for i, row in enumerate(rows):
        column, line = divmod(i, per_column)
        x = 1 - legend_share + column * legend_share / columns
        y = 1 - (LEGEND_TOP_IN + line * line_in) / height_in
        if isinstance(row, str):
            panel.text(x, y, f"{row}:", va="center", ha="left", fontsize=font,
                       fontstyle="italic", transform=panel.transAxes)
            continue
        s, colour = row, colour_of[id(row)]
        if s.group:
            x += 0.12 / width_in
        if s.points:
            times = [
                mdates.date2num(datetime.fromtimestamp(p.timestamp_ms / 1000, timezone.utc))
                for p in s.points
            ]
            plot.plot(times, [p.value for p in s.points], color=colour, linewidth=1.2)
            for dry_run in (False, True):
                marked = [(t, p.value) for t, p in zip(times, s.points) if p.dry_run == dry_run]
                if marked:
                    plot.scatter(*zip(*marked), s=16, zorder=3, edgecolors=colour, linewidths=1.2,
                                 color=PANEL if dry_run else colour)
            stat = w.stat.lower().replace("maximum", "max")
            value, ink = f"{stat} {_number(summary(w.stat, s.points))}", INK
        else:
            value, ink = "no data", FAINT
        room = fitting - len(value) - 2 - (2 if s.group else 0)
        label = s.label if len(s.label) <= room else s.label[: room - 1] + "…"
        panel.plot([x, x + 0.18 / width_in], [y, y], color=colour if s.points else "#c4c9c9",
                   linewidth=2.5, transform=panel.transAxes)
        panel.text(x + 0.24 / width_in, y, f"{label}: {value}", va="center", ha="left",
                   fontsize=font, color=ink, transform=panel.transAxes)
        w.drawn.append(f"{label}: {value}")

    for label, value in w.annotations:
        plot.axhline(value, color=ANNOTATION, linestyle="--", linewidth=1)
        plot.text(0.01, value, f" {label} {_number(value)}", color=ANNOTATION, fontsize=7,
                  va="bottom", transform=plot.get_yaxis_transform())
    values = [p.value for s in shown for p in s.points]
    if not values:
        # A namespace the runs never log (AWS/Lambda: Lambda reports it, not our EMF) says so.
        why = "".join(f"\n{ns} is not in the runs' EMF" for ns in w.absent_namespaces)
        plot.text(0.5, 0.45, "no data" + why, ha="center", va="center", fontsize=9,
                  color=FAINT, transform=plot.transAxes, linespacing=1.5)
        w.drawn.append("no data" + why)
        if w.annotations:
            plot.set_ylim(0, max(v for _, v in w.annotations) * 1.15)
        else:
            plot.set_yticks([])
    else:
        values += [v for _, v in w.annotations]
        low, high = plot.get_ylim()
        plot.set_ylim(0 if min(values) >= 0 else low, high if max(values) > 0 else 1)
        if all(v == int(v) for v in values):
            plot.yaxis.set_major_locator(MaxNLocator(integer=True))
    plot.yaxis.set_major_formatter(FuncFormatter(lambda v, _: _number(v)))
    if canvas.time_range:
        plot.set_xlim(*canvas.time_range)
        plot.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S", tz=timezone.utc))
        plot.xaxis.set_major_locator(_time_ticks(canvas.time_range, plot_in))
    else:
        plot.set_xticks([])


def render(body: dict, metrics: dict[MetricKey, list[Point]], out: Path) -> list[DrawnWidget]:
    """Draws the dashboard into `out` (PNG) and returns what each widget shows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    widgets = layout(body, metrics)
    canvas = _Canvas(widgets, metrics)
    for w in widgets:
        if w.kind == "text":
            _draw_text(canvas, w)
        elif w.view == "singleValue":
            _draw_single_value(canvas, w)
        elif w.kind == "metric":
            _draw_time_series(canvas, w)
        else:
            canvas.panel(w)

    documents = len({(p.timestamp_ms, key[2]) for key, points in metrics.items() for p in points})
    caption_at = CAPTION_HEIGHT_IN / canvas.height_in
    canvas.figure.text(0.5, caption_at * 0.62, CAPTION, ha="center", va="center", fontsize=11)
    canvas.figure.text(
        0.5,
        caption_at * 0.25,
        f"{documents} EMF documents, one point each (a run logs one; an organisation run one per "
        "target and one for itself); hollow: a dry run; times UTC. CloudWatch would aggregate "
        "them by each widget's stat over its period: the legend gives that stat over all of them.",
        ha="center", va="center", fontsize=8, color="#545b64",
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    # No metadata (matplotlib's version): the same logs give the same file on any machine.
    canvas.figure.savefig(out, dpi=DPI, facecolor=BACKGROUND, metadata={"Software": None},
                          pil_kwargs={"optimize": True})
    plt.close(canvas.figure)
    return widgets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--logs", type=Path, default=ROOT / ".demo", help="the demo's logs (default .demo)"
    )
    parser.add_argument("--template", type=Path, default=ROOT / "template.yaml")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "dashboard.png")
    args = parser.parse_args(argv)
    metrics = read_emf(args.logs)
    if not metrics:
        print(f"no EMF document in {args.logs}/*.log: run scripts/demo.sh first", file=sys.stderr)
        return 1
    widgets = render(dashboard_body(args.template), metrics, args.out)
    for w in widgets:
        if w.kind == "metric":
            shown = [s for s in w.series if s.visible]
            print(w.title)
            print("  data:", ", ".join(s.label for s in shown if s.points) or "-")
            print("  no data:", ", ".join(s.label for s in shown if not s.points) or "-")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
