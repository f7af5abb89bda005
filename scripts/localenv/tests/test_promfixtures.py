"""End-to-end tests of the Prometheus fixtures against a real Prometheus.

    python3 -m unittest discover -s scripts/localenv/tests -p 'test_promfixtures*.py'

Generates the fixtures, backfills them with promtool into a temporary dir,
starts Prometheus on a free 127.0.0.1 port and checks every expected value of
scenarios.json with instant queries at explicit times, plus the "for X
minutes" condition runs with range queries.  Skipped if prometheus/promtool
are not installed.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
LOCALENV = os.path.dirname(HERE)
sys.path.insert(0, LOCALENV)

import prometheus  # noqa: E402
import promfixtures  # noqa: E402

REL_TOL = 1e-6
ABS_TOL = 1e-12


def _close(actual: float, expected: float) -> bool:
    return math.isclose(actual, expected, rel_tol=REL_TOL, abs_tol=ABS_TOL)


@unittest.skipUnless(shutil.which("prometheus") and shutil.which("promtool"), "prometheus/promtool not installed")
class PromFixturesTest(unittest.TestCase):
    proc = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="promfixtures-test-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        t0 = time.monotonic()
        cls.info = prometheus.prepare(cls.tmp)
        cls.prepare_seconds = time.monotonic() - t0
        with open(cls.info["scenarios"]) as f:
            cls.spec = json.load(f)
        cls.fx = promfixtures.build_fixture()  # the model, for point-by-point range checks
        # Registered before start so Prometheus is stopped even if a later
        # step of setUpClass fails.
        cls.addClassCleanup(lambda: prometheus.stop(cls.proc))
        cls.proc = prometheus.start(cls.tmp, prometheus.free_port())
        cls.url = cls.proc.url

    @classmethod
    def tearDownClass(cls):
        prometheus.stop(cls.proc)
        rc = cls.proc.returncode
        assert rc is not None, "prometheus still running"

    # -- helpers ------------------------------------------------------------

    def _api(self, path: str, **params) -> dict:
        url = f"{self.url}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.load(r)
        self.assertEqual(body["status"], "success", body)
        return body["data"]

    def query(self, q: str, t=None) -> list:
        params = {"query": q}
        if t is not None:
            params["time"] = t
        data = self._api("query", **params)
        self.assertEqual(data["resultType"], "vector")
        return data["result"]

    def scalar(self, q: str, t) -> float | None:
        res = self.query(q, t)
        if not res:
            return None
        self.assertEqual(len(res), 1, f"{q} at {t}: {res}")
        self.assertEqual(float(res[0]["value"][0]), float(t))
        return float(res[0]["value"][1])

    def query_range(self, q: str, start: int, end: int, step: int = promfixtures.STEP) -> list:
        data = self._api("query_range", query=q, start=start, end=end, step=step)
        self.assertEqual(data["resultType"], "matrix")
        return data["result"]

    def scenario(self, name: str) -> dict:
        return next(s for s in self.spec["scenarios"] if s["name"] == name)

    # -- artefacts ----------------------------------------------------------

    def test_openmetrics_file(self):
        with open(self.info["openmetrics"], "rb") as f:
            data = f.read()
        self.assertTrue(data.endswith(b"\n# EOF\n"))
        self.assertEqual(data.count(b"# EOF"), 1)
        n = sum(1 for ln in data.splitlines() if ln and not ln.startswith(b"#"))
        self.assertEqual(n, self.spec["samples"])

    def test_deterministic(self):
        om1, spec1 = promfixtures.generate()
        om2, spec2 = promfixtures.generate()
        self.assertEqual(om1, om2)
        self.assertEqual(promfixtures.spec_json(spec1), promfixtures.spec_json(spec2))
        with open(self.info["openmetrics"], "rb") as f:
            self.assertEqual(f.read(), om1)
        with open(self.info["scenarios"]) as f:
            self.assertEqual(f.read(), promfixtures.spec_json(spec1))

    def test_promtool_clean_and_fast(self):
        self.assertTrue(self.info["backfilled"])
        self.assertEqual(self.info["promtool_stderr"], "")
        out = self.info["promtool_stdout"]
        for word in ("error", "warn", "level="):
            self.assertNotIn(word, out.lower())
        self.assertEqual(prometheus._block_samples(out), self.spec["samples"])
        self.assertLess(self.prepare_seconds, 10, "generation + backfill should take a few seconds")

    def test_scenarios_markdown_matches(self):
        with open(os.path.join(LOCALENV, "SCENARIOS.md")) as f:
            self.assertEqual(f.read(), promfixtures.render_markdown(self.spec),
                             "SCENARIOS.md is stale: python3 scripts/localenv/promfixtures.py "
                             "--markdown scripts/localenv/SCENARIOS.md")

    def test_spec_shape(self):
        names = [s["name"] for s in self.spec["scenarios"]]
        for required in ("healthy", "error-rate-breach", "latency-breach", "short-spike", "cpu-high",
                         "memory-high", "storage-high", "gap"):
            self.assertIn(required, names)
        self.assertEqual(set(self.spec["queries"]), set(promfixtures.QUERIES))
        ranges = sorted((s["start"], s["end"]) for s in self.spec["scenarios"])
        for (_, end), (start, _) in zip(ranges, ranges[1:]):
            self.assertGreaterEqual(start - end, 600, "scenarios must be >= 10 min apart")
        for s in self.spec["scenarios"]:
            self.assertTrue(s["start"] <= s["eval_time"] <= s["end"], s["name"])
            for ev in s["evaluations"]:
                self.assertEqual((ev["time"] - promfixtures.BASE) % promfixtures.STEP, 0)

    # -- values -------------------------------------------------------------

    def test_expected_values(self):
        """Every expected value of every evaluation of every scenario."""
        checked = 0
        for sc in self.spec["scenarios"]:
            self.assertEqual(sc["expected"], sc["evaluations"][0]["expected"])
            for ev in sc["evaluations"]:
                for name, want in ev["expected"].items():
                    with self.subTest(scenario=sc["name"], evaluation=ev["name"], query=name):
                        got = self.scalar(self.spec["queries"][name], ev["time"])
                        if want is None:
                            self.assertIsNone(got)
                        else:
                            self.assertIsNotNone(got, "empty result")
                            self.assertTrue(_close(got, want), f"got {got!r}, want {want!r}")
                    checked += 1
        self.assertGreater(checked, 300)

    def test_headline_values(self):
        """The scenario intents, independently of the generated JSON."""
        def at(name, q):
            return self.scalar(promfixtures.QUERIES[q], self.scenario(name)["eval_time"])

        self.assertTrue(_close(at("healthy", "error_ratio_5m"), 0.005))
        self.assertTrue(_close(at("healthy", "p95_latency_5m"), 0.12))
        self.assertLess(at("healthy", "write_p95_5m"), 0.1)
        self.assertLess(at("healthy", "query_p95_5m"), 0.2)
        self.assertTrue(_close(at("error-rate-breach", "error_ratio_5m"), 0.085))
        self.assertTrue(_close(at("latency-breach", "p95_latency_5m"), 0.8))
        self.assertTrue(_close(at("cpu-high", "cpu_ratio"), 0.75))
        self.assertTrue(_close(at("memory-high", "memory_ratio"), 0.85))
        self.assertTrue(_close(at("storage-high", "storage_ratio"), 0.72))
        self.assertEqual(at("instance-down", "up"), 2)
        self.assertEqual(at("healthy", "up"), 3)
        # the held (for-X-minutes) checks
        self.assertGreater(at("error-rate-breach", "error_rate_held_5m"), 0.05)
        self.assertGreater(at("latency-breach", "latency_held_10m"), 0.5)
        spike = self.scenario("short-spike")
        for t in range(spike["start"], spike["end"] + 601, 15):
            self.assertLess(self.scalar(promfixtures.QUERIES["error_rate_held_5m"], t), 0.05)
            self.assertLess(self.scalar(promfixtures.QUERIES["latency_held_10m"], t), 0.5)

    def test_gap_is_empty(self):
        gap = self.scenario("gap")
        for name, q in self.spec["queries"].items():
            with self.subTest(query=name):
                self.assertEqual(self.query(q, gap["eval_time"]), [])
        # not a single series has a sample within the lookback
        self.assertEqual(self.query('{__name__=~".+"}', gap["eval_time"]), [])
        last = gap["anomaly"]["from"]  # last sample before the gap
        self.assertEqual(self.query_range('{__name__=~".+"}', last + 315, gap["anomaly"]["to"]), [])
        # Quirk: the 2.42 lookback window [t-5m, t] is closed on the left: the
        # last sample is still visible exactly 5 minutes later.
        self.assertEqual(len(self.query('{__name__=~".+"}', last + 300)), self.spec["series"])

    def test_now_is_empty(self):
        """Documented quirk: at wall-clock time the data is outside the lookback."""
        self.assertEqual(self.query('count({__name__=~"luminate_.+"})'), [])

    def test_off_grid_steady_state(self):
        """rate() extrapolation: inside one regime an off-grid time gives the same slope."""
        for name in ("healthy", "error-rate-breach", "latency-breach", "cpu-high"):
            sc = self.scenario(name)
            for q in ("error_ratio_5m", "p95_latency_5m", "cpu_ratio", "request_rate_5m"):
                with self.subTest(scenario=name, query=q):
                    got = self.scalar(self.spec["queries"][q], sc["eval_time"] - 7)
                    self.assertTrue(_close(got, sc["expected"][q]), (got, sc["expected"][q]))

    def test_condition_runs(self):
        """Range queries of each condition expression: every point matches the
        model and the runs of `expr > threshold` match scenarios.json."""
        model = self.fx.model
        for sc in self.spec["scenarios"]:
            for cname, exp in sc["conditions"].items():
                cond = self.spec["conditions"][cname]
                with self.subTest(scenario=sc["name"], condition=cname):
                    res = self.query_range(self.spec["queries"][cond["expr"]], exp["from"], exp["to"])
                    self.assertEqual(len(res), 1)
                    points = [(int(t), float(v)) for t, v in res[0]["values"]]
                    self.assertEqual([t for t, _ in points], list(range(exp["from"], exp["to"] + 1, 15)))
                    for t, v in points:
                        want = float(model.value(cond["expr"], t))
                        self.assertTrue(_close(v, want), f"{cond['expr']} at {t}: got {v}, model {want}")
                    runs = []
                    prev = False
                    for t, v in points:
                        now = v > cond["threshold"]
                        if now and not prev:
                            runs.append([t, t])
                        elif now:
                            runs[-1][1] = t
                        prev = now
                    self.assertEqual(runs, exp["runs"])
                    longest = max((b - a for a, b in runs), default=0)
                    self.assertEqual(longest, exp["held_seconds"])
                    self.assertEqual(longest >= cond["for_seconds"], exp["holds"])

    def test_breach_verdicts(self):
        for name, cname, holds in (
            ("error-rate-breach", "error_rate", True), ("error-rate-breach", "error_rate_1m", True),
            ("error-rate-breach", "latency", False),
            ("latency-breach", "latency", True), ("latency-breach", "latency_1m", True),
            ("latency-breach", "error_rate", False),
            ("short-spike", "error_rate", False), ("short-spike", "error_rate_1m", False),
            ("short-spike", "latency", False), ("short-spike", "latency_1m", False),
        ):
            with self.subTest(scenario=name, condition=cname):
                c = self.scenario(name)["conditions"][cname]
                self.assertEqual(c["holds"], holds)
                if name == "short-spike":
                    self.assertIsNotNone(c["first_true"], "the spike must cross the threshold briefly")
                if holds:
                    # the held query flips exactly at for_satisfied_at
                    q = self.spec["queries"][self.spec["conditions"][cname]["held_query"]]
                    thr = self.spec["conditions"][cname]["threshold"]
                    self.assertGreater(self.scalar(q, c["for_satisfied_at"]), thr)
                    self.assertLess(self.scalar(q, c["for_satisfied_at"] - 15), thr)


if __name__ == "__main__":
    unittest.main()
