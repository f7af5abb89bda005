"""Tests for the traffic simulator (scripts/localenv/traffic.py).

Run: python3 -m unittest discover -s scripts/localenv/tests -p 'test_traffic.py'

The unit tests drive the model with a fake clock and check exact values. The
live tests start an emulator with --controller and a simulator following it,
and roll images out with the real kubectl.
"""

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest
import urllib.request
from fractions import Fraction

HERE = os.path.dirname(os.path.abspath(__file__))
LOCALENV = os.path.dirname(HERE)
sys.path.insert(0, LOCALENV)

import promfixtures  # noqa: E402
import traffic  # noqa: E402

KUBECTL = os.environ.get("KUBEEMU_KUBECTL") or shutil.which("kubectl")


def parse_metrics(text):
    """{(name, frozenset(labels)): value} from the Prometheus text format."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        series, value = line.rsplit(" ", 1)
        name, _, rest = series.partition("{")
        labels = frozenset(tuple(kv.split("=", 1)) for kv in rest.rstrip("}").replace('"', "").split(",")
                           if kv) if rest else frozenset()
        out[(name, labels)] = Fraction(value)
    return out


def buckets_of(metrics, name, bounds):
    return [metrics[(name + "_bucket", frozenset({("le", le)}))] for le, _ in bounds]


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


class ModelTest(unittest.TestCase):
    def setUp(self):
        self.clock = Clock()
        self.model = traffic.Traffic(50, clock=self.clock)

    def metrics(self):
        return parse_metrics(self.model.render())

    def test_tags_decide_the_behaviour(self):
        cases = {"luminate/luminate:2.4.0": "healthy", "luminate/luminate:2.5.0-errors": "errors",
                 "registry:5000/luminate:2.5.0-slow": "slow", "registry:5000/luminate": "healthy",
                 "luminate:slow-errors@sha256:abc": "errors+slow"}
        for image, want in cases.items():
            self.assertEqual(traffic.behaviour_name(*traffic.traits(image)), want, image)

    def test_healthy_counters_are_exact(self):
        self.clock.t += 10
        m = self.metrics()
        codes = {c: m[("luminate_http_requests_total", frozenset({("code", c)}))] for c in traffic.CODES}
        self.assertEqual(codes, {"200": Fraction("496.5"), "404": Fraction("2.5"),
                                 "500": Fraction("0.5"), "503": Fraction("0.5")})
        http = buckets_of(m, "luminate_http_request_duration_seconds", traffic.HTTP_BUCKETS)
        self.assertEqual(http[-1], 500)
        self.assertEqual(m[("luminate_http_request_duration_seconds_count", frozenset())], 500)
        self.assertEqual(http, sorted(http))
        self.assertEqual(http[4:6], [470, 495])   # le 0.1, 0.2: p95 rank 475 falls between
        self.assertEqual(m[("luminate_storage_writes_total", frozenset())], 250)
        writes = buckets_of(m, "luminate_storage_write_duration_seconds", traffic.STORAGE_BUCKETS)
        queries = buckets_of(m, "luminate_storage_query_duration_seconds", traffic.STORAGE_BUCKETS)
        self.assertEqual((writes[-1], queries[-1]), (250, 150))
        # The same p95 as Prometheus would compute from these buckets.
        for got, bounds, want in ((http, traffic.HTTP_BUCKETS, Fraction("0.12")),
                                  (writes, traffic.STORAGE_BUCKETS, Fraction("0.045")),
                                  (queries, traffic.STORAGE_BUCKETS, Fraction("0.16"))):
            q = promfixtures.histogram_quantile(Fraction(95, 100), [(b, c) for (_, b), c in zip(bounds, got)])
            self.assertEqual(q, want)

    def test_bucket_boundaries_are_the_fixtures(self):
        self.assertEqual([le for le, _ in traffic.HTTP_BUCKETS],
                         ["0.005", "0.01", "0.025", "0.05", "0.1", "0.2", "0.25", "0.3", "0.5", "0.75",
                          "1", "2.5", "5", "+Inf"])
        self.assertIs(traffic.STORAGE_BUCKETS, promfixtures.STORAGE_BUCKETS)

    def test_a_change_counts_from_when_it_happened(self):
        self.clock.t += 10
        self.model.set_serving([("luminate/luminate:2.5.0-errors", 3)], "replicasets")
        self.clock.t += 10
        m = self.metrics()
        five = [m[("luminate_http_requests_total", frozenset({("code", c)}))] for c in ("500", "503")]
        self.assertEqual(five, [Fraction("30.5"), Fraction("20.5")])
        state = self.model.state()
        self.assertEqual((state["behaviour"], state["source"], state["expected"]["error_ratio"]),
                         ("errors", "replicasets", 0.1))
        self.assertEqual(state["counters"]["requests_total"], 1000)

    def test_distributions_and_mixes(self):
        def expect(serving):
            mix = traffic.Mix(serving)
            return mix.error_ratio, mix.p95

        self.assertEqual(expect([]), (Fraction(2, 1000), Fraction("0.12")))
        self.assertEqual(expect([("l:1-errors", 2)]), (Fraction(1, 10), Fraction("0.12")))
        self.assertEqual(expect([("l:1-slow", 2)]), (Fraction(2, 1000), Fraction("0.8")))
        # Half and half sits just past both thresholds: a 1m window crosses them
        # about 30 s after a change, in either direction.
        ratio, _ = expect([("l:1", 1), ("l:2-errors", 1)])
        self.assertEqual(ratio, Fraction(51, 1000))
        _, p95 = expect([("l:1", 1), ("l:2-slow", 1)])
        self.assertTrue(Fraction(1, 2) < p95 < Fraction("0.51"), float(p95))
        # Weighted: 3 healthy replicas to 1 with errors.
        self.assertEqual(expect([("l:1", 3), ("l:2-errors", 1)])[0], Fraction(3 * 2 + 100, 4000))
        # A replica set with no ready pods does not serve.
        self.assertEqual(expect([("l:1", 2), ("l:2-errors", 0)])[0], Fraction(2, 1000))

    def test_serving_from_replica_sets(self):
        dep = {"metadata": {"uid": "d1"},
               "spec": {"template": {"spec": {"containers": [{"name": "sidecar", "image": "side:1"},
                                                             {"name": "luminate", "image": "l:3"}]}}}}

        def rs(image, ready, uid="d1"):
            return {"metadata": {"ownerReferences": [{"uid": uid, "controller": True}]},
                    "spec": {"template": {"spec": {"containers": [{"name": "luminate", "image": image}]}}},
                    "status": {"readyReplicas": ready} if ready is not None else {}}

        self.assertEqual(traffic.serving_from(None, [], "luminate"), ([], "none"))
        self.assertEqual(traffic.serving_from(dep, [], "luminate"), ([("l:3", 1)], "template"))
        self.assertEqual(traffic.serving_from(dep, [rs("l:1", 2), rs("l:2-errors", 1), rs("x:9", 5, uid="other")],
                                              "luminate"), ([("l:1", 2), ("l:2-errors", 1)], "replicasets"))
        self.assertEqual(traffic.serving_from(dep, [rs("l:1", 0), rs("l:2", None)], "luminate"),
                         ([("l:3", 1)], "template"), "no ready pods anywhere: the template")
        self.assertEqual(traffic.serving_from(dep, [], "other"), ([("side:1", 1)], "template"),
                         "no such container: the first one")

    def test_unreachable_emulator_keeps_the_last_state(self):
        follower = traffic.KubeFollower(self.model, "http://127.0.0.1:9", "luminate", "luminate", "luminate")
        self.model.set_serving([("l:2-errors", 2)], "replicasets")
        follower.poll_once()
        self.assertFalse(follower.info["reachable"])
        self.assertTrue(follower.info["last_error"])
        self.assertEqual(self.model.state()["behaviour"], "errors")


# --------------------------------------------------------------------------
# Live: emulator with --controller, simulator following it, real kubectl


def start(argv, what):
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    ready, _, _ = select.select([proc.stdout], [], [], 15)
    line = proc.stdout.readline() if ready else ""
    if not line.startswith("listening "):
        proc.kill()
        proc.wait()
        raise RuntimeError(f"{what} did not start: {line!r}")
    return proc, "http://" + line.split()[1]


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    proc.stdout.close()


DEPLOYMENT = textwrap.dedent("""\
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: luminate, namespace: luminate}
    spec:
      replicas: 3
      selector: {matchLabels: {app: luminate}}
      template:
        metadata: {labels: {app: luminate}}
        spec:
          containers:
          - {name: luminate, image: "IMAGE"}
    """)


@unittest.skipUnless(KUBECTL, "kubectl not installed")
class LiveTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="traffic-test-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.kubeconfig = os.path.join(self.dir, "kubeconfig")
        self.emu, self.kube_url = start([sys.executable, os.path.join(LOCALENV, "kubeemu.py"), "--port", "0",
                                         "--controller", "--rollout-delay", "0.5",
                                         "--write-kubeconfig", self.kubeconfig], "kubeemu")
        self.addCleanup(stop, self.emu)
        self.sim, self.url = start([sys.executable, os.path.join(LOCALENV, "traffic.py"), "--port", "0",
                                    "--kube-url", self.kube_url], "traffic")
        self.addCleanup(stop, self.sim)

    def kubectl(self, *args, stdin=None):
        proc = subprocess.run([KUBECTL, "--kubeconfig", self.kubeconfig, "--cache-dir",
                               os.path.join(self.dir, "cache"), *args], input=stdin, capture_output=True,
                              text=True, timeout=60, env=dict(os.environ, HOME=self.dir))
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        return proc.stdout

    def deploy(self, image):
        self.kubectl("apply", "-f", "-", stdin=DEPLOYMENT.replace("IMAGE", image))

    def state(self):
        with urllib.request.urlopen(self.url + "/state", timeout=5) as r:
            return json.loads(r.read())

    def wait_state(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        while True:
            state = self.state()
            if predicate(state):
                return state
            if time.monotonic() > deadline:
                self.fail(f"/state did not change within {timeout} s: {json.dumps(state)}")
            time.sleep(0.05)

    def test_follows_rollouts_and_undo(self):
        state = self.wait_state(lambda s: s["kube"]["reachable"], 5)
        self.assertEqual((state["behaviour"], state["source"]), ("healthy", "none"))
        self.deploy("luminate/luminate:2.4.0")
        state = self.wait_state(lambda s: s["source"] == "replicasets", 5)
        self.assertEqual(state["serving"], [{"image": "luminate/luminate:2.4.0", "weight": 3,
                                             "behaviour": "healthy"}])
        self.deploy("luminate/luminate:2.5.0-errors")
        state = self.wait_state(lambda s: s["behaviour"] == "errors", 2)
        self.assertEqual(state["expected"]["error_ratio"], 0.1)
        self.kubectl("rollout", "undo", "deploy/luminate")
        state = self.wait_state(lambda s: s["behaviour"] == "healthy", 2)
        self.assertEqual([s["image"] for s in state["serving"]], ["luminate/luminate:2.4.0"])
        with urllib.request.urlopen(self.url + "/metrics", timeout=5) as r:
            self.assertTrue(r.headers["Content-Type"].startswith("text/plain; version=0.0.4"))
            metrics = parse_metrics(r.read().decode())
        self.assertGreater(metrics[("luminate_http_requests_total", frozenset({("code", "500")}))], 0)

    def test_stalled_rollout_keeps_serving_the_old_image(self):
        self.deploy("luminate/luminate:2.4.0")
        self.wait_state(lambda s: s["source"] == "replicasets", 5)
        body = json.dumps({"namespace": "luminate", "kind": "Deployment", "name": "luminate",
                           "outcome": "stall"}).encode()
        req = urllib.request.Request(self.kube_url + "/_emulator/rollout-behaviour", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=5).close()
        self.deploy("luminate/luminate:2.5.0-errors")
        time.sleep(2)   # four times the rollout delay
        state = self.state()
        self.assertEqual((state["behaviour"], state["serving"][0]["image"]), ("healthy", "luminate/luminate:2.4.0"))
        self.assertEqual(len(state["serving"]), 1)


if __name__ == "__main__":
    unittest.main()
