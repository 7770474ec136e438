"""scripts/dashboard_png.py draws template.yaml's dashboard from EMF logs: every widget at its
place, a logged metric with its value, an absent one as "no data", `hourly*730` computed, the
`NonCompliant.` SEARCH expanded. The EMF logs are a small fixture written here.

Run (scripts/lint-template.sh does): .venv/bin/python -m unittest scripts/test_dashboard_png.py
"""

import contextlib
import io
import json
import struct
import sys
import tempfile
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))

import dashboard_png as dp  # noqa: E402

T0 = 1_767_000_000_000


def emf_line(function: str, timestamp_ms: int, values: dict, dry_run: bool = False) -> str:
    """One EMF document as shared/src/run/emf.rs writes it."""
    document = {
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [
                {
                    "Namespace": "Sagekeeper",
                    "Dimensions": [["Function"]],
                    "Metrics": [{"Name": name, "Unit": "Count"} for name in values],
                }
            ],
        },
        "Function": function,
        "DryRun": dry_run,
        **values,
    }
    return json.dumps(document)


def write_fixture(directory: Path) -> None:
    log_line = json.dumps({"level": "INFO", "fields": {"message": "run finished"}})
    logs = {
        "00-endpoint-scheduler--scheduled.log": [
            log_line,
            emf_line(
                "endpoint-scheduler", T0, {"EndpointsParked": 1, "EstimatedHourlySavingsUSD": 2.5}
            ),
        ],
        "01-endpoint-scheduler--scheduled.log": [
            emf_line(
                "endpoint-scheduler",
                T0 + 5_000,
                {"EndpointsParked": 3, "EstimatedHourlySavingsUSD": 0.0},
            ),
            '{"_aws": not json',
            emf_line("endpoint-scheduler", T0 + 7_000, {"EndpointsParked": 0}),
        ],
        "02-encryption-enforcer--scheduled.log": [
            emf_line(
                "encryption-enforcer",
                T0 + 9_000,
                {
                    "NonCompliantResources": 3,
                    "NonCompliant.s3-kms": 2,
                    "NonCompliant.volume-kms": 1,
                },
            ),
            log_line,
        ],
        # A rule metric of another function: not the enforcer's, so not in its SEARCH.
        "03-lifecycle-tagger--scheduled.log": [
            emf_line("lifecycle-tagger", T0 + 12_000, {"NonCompliant.elsewhere": 1}, dry_run=True)
        ],
        "notes.txt": [emf_line("drift-retrainer", T0, {"RetrainsStarted": 9})],
    }
    for name, lines in logs.items():
        (directory / name).write_text("\n".join(lines) + "\n")


class DashboardPng(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        directory = Path(cls.tmp.name)
        write_fixture(directory)
        cls.body = dp.dashboard_body(dp.ROOT / "template.yaml")
        cls.metrics = dp.read_emf(directory)
        cls.png = directory / "dashboard.png"
        cls.widgets = dp.render(cls.body, cls.metrics, cls.png)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def widget(self, title_start: str) -> dp.DrawnWidget:
        (found,) = [w for w in self.widgets if w.title.startswith(title_start)]
        return found

    def series(self, widget: dp.DrawnWidget, name: str) -> dp.Series:
        (found,) = [s for s in widget.series if s.name == name]
        return found

    def test_every_widget_of_the_template_is_drawn_at_its_place_into_one_png(self):
        expected = [
            (w["type"], w.get("properties", {}).get("title", ""))
            + (w["x"], w["y"], w["width"], w["height"])
            for w in self.body["widgets"]
        ]
        drawn = [(w.kind, w.title, w.x, w.y, w.width, w.height) for w in self.widgets]
        self.assertEqual(drawn, expected)
        self.assertGreater(len(expected), 10)
        header = self.png.read_bytes()[:24]
        self.assertEqual(header[:8], b"\x89PNG\r\n\x1a\n")
        width, _height = struct.unpack(">II", header[16:24])
        self.assertEqual(width, dp.FIGURE_WIDTH_IN * dp.DPI)

    def test_the_placeholders_are_filled(self):
        (text,) = [w for w in self.widgets if w.kind == "text"]
        self.assertIn(("sagekeeper (sagekeeper)", True), text.text)
        self.assertNotIn("${", json.dumps(self.body))

    def test_a_logged_metric_is_plotted_with_its_values_in_time_order(self):
        parked = self.series(self.widget("Parked now"), "EndpointsParked")
        self.assertEqual(
            [(p.timestamp_ms, p.value) for p in parked.points],
            [(T0, 1.0), (T0 + 5_000, 3.0), (T0 + 7_000, 0.0)],
        )
        self.assertIn("EndpointsParked", self.widget("Parked now").with_data)
        # The legend gives the widget's stat (Maximum) over the runs.
        self.assertIn("EndpointsParked: max 3", self.widget("Parked now").drawn)

    def test_a_metric_no_run_emitted_shows_no_data(self):
        parked = self.widget("Parked now")
        self.assertEqual(
            parked.without_data, ["NotebooksStopped", "StudioAppsParked", "CanvasSessionsClosed"]
        )
        self.assertIn("NotebooksStopped: no data", parked.drawn)
        # Only EMF lines of *.log files count: the retrainer's line in notes.txt is not read.
        self.assertEqual(self.widget("Retrains").with_data, [])
        duration = self.widget("endpoint-scheduler: duration")
        self.assertEqual(duration.without_data, ["Duration"])
        self.assertEqual(duration.absent_namespaces, ["AWS/Lambda"])
        self.assertIn("no data\nAWS/Lambda is not in the runs' EMF", duration.drawn)
        self.assertEqual(duration.annotations, [("timeout", 300_000.0)])

    def test_the_monthly_expression_is_hourly_times_730(self):
        savings = self.widget("Estimated savings")
        monthly = self.series(savings, "monthly")
        self.assertEqual(monthly.label, "per month (730 h)")
        # Only where `hourly` has a point: the last run logged no savings.
        self.assertEqual([p.value for p in monthly.points], [2.5 * 730, 0.0])
        self.assertIn("per month (730 h): max 1,825", savings.drawn)

    def test_the_search_expands_to_the_enforcers_rule_metrics_found(self):
        rules = self.widget("Non-compliant resources by rule")
        self.assertEqual(
            rules.with_data,
            ["NonCompliantResources", "NonCompliant.s3-kms", "NonCompliant.volume-kms"],
        )
        found = self.series(rules, "NonCompliant.s3-kms")
        self.assertEqual((found.group, found.label), ("by rule", "s3-kms"))
        self.assertIn("s3-kms: max 2", rules.drawn)

    def test_a_single_value_widget_shows_the_latest_value(self):
        body = {
            "widgets": [
                {
                    "type": "metric", "x": 0, "y": 0, "width": 6, "height": 3,
                    "properties": {
                        "title": "Parked", "view": "singleValue", "stat": "Maximum",
                        "metrics": [
                            ["Sagekeeper", "EndpointsParked", "Function", "endpoint-scheduler"]
                        ],
                    },
                }
            ]
        }
        with tempfile.TemporaryDirectory() as directory:
            (widget,) = dp.render(body, self.metrics, Path(directory) / "single.png")
        self.assertEqual(widget.drawn, ["EndpointsParked: 0"])

    def test_no_emf_in_the_logs_is_an_error_not_an_empty_picture(self):
        with tempfile.TemporaryDirectory() as directory:
            out = Path(directory) / "dashboard.png"
            with contextlib.redirect_stderr(io.StringIO()) as said:
                self.assertEqual(dp.main(["--logs", directory, "--out", str(out)]), 1)
            self.assertIn("no EMF document", said.getvalue())
            self.assertFalse(out.exists())


if __name__ == "__main__":
    unittest.main()
