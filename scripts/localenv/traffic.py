#!/usr/bin/env python3
"""traffic -- Luminate's request traffic, simulated, for Prometheus to scrape.

A small HTTP server that models the metrics of Luminate's pods and follows
the image the Kubernetes API emulator (kubeemu.py) currently serves, so a
rollout of a bad image really changes what Prometheus sees, and a rollback
really repairs it:

    python3 scripts/localenv/traffic.py --port 0 [--host 127.0.0.1]
        [--kube-url http://127.0.0.1:PORT] [--namespace luminate]
        [--deployment luminate] [--container luminate] [--rate 50]

It prints `listening 127.0.0.1:PORT` once bound and serves until SIGTERM or
SIGINT.

* `GET /metrics`: Prometheus text format. `luminate_http_requests_total{code}`
  (200, 404, 500, 503), the `luminate_http_request_duration_seconds`
  histogram, `luminate_storage_writes_total` and the
  `luminate_storage_write_duration_seconds` and
  `luminate_storage_query_duration_seconds` histograms (the bucket
  boundaries of promfixtures.py), and `luminate_traffic_serving_replicas
  {image,behaviour}`.
* `GET /state`: JSON: the behaviour, the serving images with their weights,
  the values a 1m rate() converges to, the counters, the last poll.

What serves: the container `--container` (else the first container) of each
ReplicaSet of the Deployment, weighted by the ReplicaSet's
status.readyReplicas, so a stalled rollout keeps serving the old image. With
no ReplicaSet that has ready pods (the controller is off, or the first
rollout is not ready yet): the Deployment's template image. No Deployment
(or no --kube-url): healthy. The emulator is polled every 0.5 s; while it is
unreachable the last known state stays.

How an image behaves, by its tag: `errors` in the tag serves 10 % 5xx,
`slow` a p95 latency of 0.8 s (both can hold), anything else is healthy
(0.2 % 5xx, p95 0.12 s). Several images serving mix their distributions by
weight.

Deterministic: the counters advance by --rate requests a second times the
elapsed time, spread over codes and buckets by fixed proportions (no
randomness), so a rate() over a window inside one regime is exact, and every
p95 lies strictly inside a bucket. Standard library only (Python 3.11).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from fractions import Fraction
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import promfixtures  # noqa: E402  (the bucket boundaries, shared with the fixtures)

POLL_SECONDS = 0.5
POLL_TIMEOUT = 2.0

HTTP_BUCKETS = promfixtures.HTTP_BUCKETS        # (le label, bound or None for +Inf)
STORAGE_BUCKETS = promfixtures.STORAGE_BUCKETS

CODES = ("200", "404", "500", "503")
# Per 1000 requests, by code. 5xx: 2 (0.2 %) healthy, 100 (10 %) with errors.
CODE_MIX = {
    False: (993, 5, 1, 1),
    True: (895, 5, 60, 40),
}
# Cumulative per 1000 requests at each HTTP bucket (0.005 .. 5, +Inf). The
# p95 is rank 950:
#   healthy: 940 below 0.1, 990 below 0.2:  0.1 + 0.1 * 10/50 = 0.12 s
#   slow:    940 below 0.75, 990 below 1:   0.75 + 0.25 * 10/50 = 0.8 s
# The slow profile has 900 below 0.5 (healthy 999), so a window mixing the
# two crosses 0.5 s when about half of it is slow, the same as the 5xx ratio
# crosses 5 %: a change shows in a 1m window after about 30 s either way.
LATENCY_MIX = {
    False: (40, 150, 400, 700, 940, 990, 995, 997, 999, 1000, 1000, 1000, 1000, 1000),
    True: (10, 25, 75, 150, 300, 500, 600, 700, 900, 940, 990, 1000, 1000, 1000),
}
# Storage, independent of the image. Per 1000 operations, cumulative at
# 0.005 .. 1, +Inf. Writes p95: 0.025 + 0.025 * 80/100 = 0.045 s; queries:
# 0.1 + 0.1 * 30/50 = 0.16 s.
WRITE_MIX = (200, 450, 870, 970, 990, 1000, 1000, 1000, 1000)
QUERY_MIX = (80, 200, 420, 670, 920, 970, 1000, 1000, 1000)
WRITES_PER_REQUEST = Fraction(1, 2)
QUERIES_PER_REQUEST = Fraction(3, 10)

for _mix, _buckets in ((LATENCY_MIX[False], HTTP_BUCKETS), (LATENCY_MIX[True], HTTP_BUCKETS),
                       (WRITE_MIX, STORAGE_BUCKETS), (QUERY_MIX, STORAGE_BUCKETS)):
    assert len(_mix) == len(_buckets) and _mix[-1] == 1000 and list(_mix) == sorted(_mix)
assert all(sum(c) == 1000 for c in CODE_MIX.values())


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --------------------------------------------------------------------------
# Images and their behaviour


def image_tag(image: str) -> str:
    """The tag of an image reference ('' without one; a digest is dropped)."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else ""


def traits(image: str) -> tuple[bool, bool]:
    """(serves errors, is slow) for an image, from its tag."""
    tag = image_tag(image)
    return "errors" in tag, "slow" in tag


def behaviour_name(errors: bool, slow: bool) -> str:
    return "+".join(n for n, on in (("errors", errors), ("slow", slow)) if on) or "healthy"


def non_cumulative(cumulative: tuple[int, ...]) -> list[int]:
    return [c - (cumulative[i - 1] if i else 0) for i, c in enumerate(cumulative)]


def bucket_midpoints(buckets) -> list[Fraction]:
    """Where the observations of each bucket are taken to lie (for _sum):
    the middle of the bucket; the +Inf bucket, twice the last bound."""
    out, lo = [], Fraction(0)
    for _, hi in buckets:
        out.append((lo + hi) / 2 if hi is not None else lo * 2)
        lo = hi if hi is not None else lo
    return out


def quantile(q: Fraction, buckets, cumulative: list[Fraction]) -> Fraction | None:
    """histogram_quantile as Prometheus computes it (linear inside the bucket
    where the rank falls; the +Inf bucket answers the last finite bound)."""
    total = cumulative[-1]
    if total == 0:
        return None
    rank = q * total
    below, lo = Fraction(0), Fraction(0)
    for (_, hi), count in zip(buckets, cumulative):
        if count >= rank:
            if hi is None:
                return lo
            return lo + (hi - lo) * (rank - below) / (count - below)
        below, lo = count, (hi if hi is not None else lo)
    return lo


class Mix:
    """Per-request proportions for a set of serving images."""

    def __init__(self, serving: list[tuple[str, int]]):
        weights = [(traits(img), Fraction(w)) for img, w in serving if w > 0]
        if not weights:
            weights = [((False, False), Fraction(1))]
        total = sum(w for _, w in weights)
        self.codes = [sum(w * CODE_MIX[t[0]][i] for t, w in weights) / (1000 * total)
                      for i in range(len(CODES))]
        self.latency = [sum(w * non_cumulative(LATENCY_MIX[t[1]])[i] for t, w in weights) / (1000 * total)
                        for i in range(len(HTTP_BUCKETS))]

    @property
    def error_ratio(self) -> Fraction:
        return sum(f for code, f in zip(CODES, self.codes) if code.startswith("5"))

    @property
    def p95(self) -> Fraction | None:
        cum, acc = [], Fraction(0)
        for f in self.latency:
            acc += f
            cum.append(acc)
        return quantile(Fraction(95, 100), HTTP_BUCKETS, cum)


STORAGE_WRITE_SHARES = [Fraction(n, 1000) for n in non_cumulative(WRITE_MIX)]
STORAGE_QUERY_SHARES = [Fraction(n, 1000) for n in non_cumulative(QUERY_MIX)]


# --------------------------------------------------------------------------
# The model: counters that advance with time


class Traffic:
    """Counters of Luminate's pods. Thread-safe; `clock` is injectable (seconds)."""

    def __init__(self, rate: float = 50, clock=time.monotonic):
        self.lock = threading.Lock()
        self.clock = clock
        self.rate = Fraction(rate).limit_denominator(10**6)
        self.last = clock()
        self.requests = [Fraction(0)] * len(CODES)
        self.http_buckets = [Fraction(0)] * len(HTTP_BUCKETS)   # non-cumulative
        self.http_sum = Fraction(0)
        self.write_buckets = [Fraction(0)] * len(STORAGE_BUCKETS)
        self.write_sum = Fraction(0)
        self.query_buckets = [Fraction(0)] * len(STORAGE_BUCKETS)
        self.query_sum = Fraction(0)
        self.serving: list[tuple[str, int]] = []
        self.source = "none"
        self.mix = Mix([])
        self.changes = 0

    def _advance(self) -> None:
        now = self.clock()
        dt = Fraction(max(0.0, now - self.last)).limit_denominator(10**6)
        self.last = now
        if not dt:
            return
        n = self.rate * dt
        for i, f in enumerate(self.mix.codes):
            self.requests[i] += n * f
        for i, (f, mid) in enumerate(zip(self.mix.latency, bucket_midpoints(HTTP_BUCKETS))):
            self.http_buckets[i] += n * f
            self.http_sum += n * f * mid
        for buckets, shares, per, attr in (
                (self.write_buckets, STORAGE_WRITE_SHARES, WRITES_PER_REQUEST, "write_sum"),
                (self.query_buckets, STORAGE_QUERY_SHARES, QUERIES_PER_REQUEST, "query_sum")):
            for i, (f, mid) in enumerate(zip(shares, bucket_midpoints(STORAGE_BUCKETS))):
                buckets[i] += n * per * f
                setattr(self, attr, getattr(self, attr) + n * per * f * mid)

    def set_serving(self, serving: list[tuple[str, int]], source: str) -> None:
        """What serves from now on. The time until now is counted with the old mix."""
        with self.lock:
            self._advance()
            if (serving, source) != (self.serving, self.source):
                self.changes += 1
            self.serving, self.source = list(serving), source
            self.mix = Mix(serving)

    def behaviour(self) -> str:
        names = {behaviour_name(*traits(img)) for img, w in self.serving if w > 0}
        return names.pop() if len(names) == 1 else ("mixed" if names else "healthy")

    def render(self) -> str:
        with self.lock:
            self._advance()
            lines = [
                "# HELP luminate_http_requests_total HTTP requests served, by status code.",
                "# TYPE luminate_http_requests_total counter",
            ]
            lines += [f'luminate_http_requests_total{{code="{c}"}} {fmt(v)}' for c, v in zip(CODES, self.requests)]
            lines += histogram("luminate_http_request_duration_seconds", "HTTP request latency.",
                               HTTP_BUCKETS, self.http_buckets, self.http_sum)
            lines += ["# HELP luminate_storage_writes_total Writes to ClickHouse.",
                      "# TYPE luminate_storage_writes_total counter",
                      f"luminate_storage_writes_total {fmt(sum(self.write_buckets))}"]
            lines += histogram("luminate_storage_write_duration_seconds", "ClickHouse write latency.",
                               STORAGE_BUCKETS, self.write_buckets, self.write_sum)
            lines += histogram("luminate_storage_query_duration_seconds", "ClickHouse query latency.",
                               STORAGE_BUCKETS, self.query_buckets, self.query_sum)
            lines += ["# HELP luminate_traffic_serving_replicas Ready replicas serving, by image "
                      "(the simulator's view of the emulator).",
                      "# TYPE luminate_traffic_serving_replicas gauge"]
            lines += [f'luminate_traffic_serving_replicas{{image="{esc(img)}",'
                      f'behaviour="{behaviour_name(*traits(img))}"}} {w}' for img, w in self.serving]
            return "\n".join(lines) + "\n"

    def state(self) -> dict:
        with self.lock:
            self._advance()
            p95 = self.mix.p95
            return {
                "behaviour": self.behaviour(),
                "source": self.source,
                "serving": [{"image": img, "weight": w, "behaviour": behaviour_name(*traits(img))}
                            for img, w in self.serving],
                "expected": {"error_ratio": float(self.mix.error_ratio),
                             "p95_seconds": float(p95) if p95 is not None else None},
                "rate": float(self.rate),
                "changes": self.changes,
                "counters": {
                    "requests_total": float(sum(self.requests)),
                    "requests_by_code": {c: float(v) for c, v in zip(CODES, self.requests)},
                    "storage_writes_total": float(sum(self.write_buckets)),
                    "storage_queries_total": float(sum(self.query_buckets)),
                },
            }


def fmt(value: Fraction) -> str:
    f = float(value)
    return str(int(f)) if f.is_integer() else repr(f)


def esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def histogram(name: str, help_: str, buckets, counts: list[Fraction], total: Fraction) -> list[str]:
    lines = [f"# HELP {name} {help_}", f"# TYPE {name} histogram"]
    acc = Fraction(0)
    for (le, _), c in zip(buckets, counts):
        acc += c
        lines.append(f'{name}_bucket{{le="{le}"}} {fmt(acc)}')
    lines += [f"{name}_sum {fmt(total)}", f"{name}_count {fmt(acc)}"]
    return lines


# --------------------------------------------------------------------------
# Following the emulator


def container_image(template: dict, container: str) -> str | None:
    containers = ((template or {}).get("spec") or {}).get("containers") or []
    chosen = next((c for c in containers if c.get("name") == container), containers[0] if containers else None)
    return chosen.get("image") if chosen else None


def serving_from(deployment: dict | None, replica_sets: list[dict], container: str) -> tuple[list, str]:
    """(serving [(image, weight)], source) for a Deployment and the namespace's ReplicaSets."""
    if deployment is None:
        return [], "none"
    uid = deployment["metadata"].get("uid")
    weights: dict[str, int] = {}
    for rs in replica_sets:
        refs = rs.get("metadata", {}).get("ownerReferences") or []
        if not any(r.get("uid") == uid and r.get("controller") for r in refs):
            continue
        ready = int((rs.get("status") or {}).get("readyReplicas") or 0)
        image = container_image(rs.get("spec", {}).get("template"), container)
        if image and ready > 0:
            weights[image] = weights.get(image, 0) + ready
    if weights:
        return sorted(weights.items()), "replicasets"
    image = container_image(deployment.get("spec", {}).get("template"), container)
    return ([(image, 1)] if image else []), "template"


class KubeFollower:
    """Polls the emulator's REST API and hands what serves to the model."""

    def __init__(self, traffic: Traffic, url: str, namespace: str, deployment: str, container: str):
        self.traffic, self.url = traffic, url.rstrip("/")
        self.namespace, self.deployment, self.container = namespace, deployment, container
        self.info = {"url": self.url, "namespace": namespace, "deployment": deployment, "container": container,
                     "reachable": None, "last_poll": None, "last_error": None, "polls": 0}

    def _get(self, path: str) -> dict | None:
        try:
            with urllib.request.urlopen(self.url + path, timeout=POLL_TIMEOUT) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return None
            raise

    def poll_once(self) -> None:
        base = f"/apis/apps/v1/namespaces/{self.namespace}"
        try:
            dep = self._get(f"{base}/deployments/{self.deployment}")
            rs = (self._get(f"{base}/replicasets") or {}).get("items", []) if dep else []
        except (OSError, ValueError) as e:   # unreachable, or not JSON: keep what we know
            self.info.update(reachable=False, last_error=str(e), last_poll=now_iso())
            return
        serving, source = serving_from(dep, rs, self.container)
        self.traffic.set_serving(serving, source)
        self.info.update(reachable=True, last_error=None, last_poll=now_iso(), polls=self.info["polls"] + 1)

    def run(self, stopping: threading.Event) -> None:
        while not stopping.is_set():
            self.poll_once()
            stopping.wait(POLL_SECONDS)


# --------------------------------------------------------------------------
# HTTP


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "luminate-traffic/1"
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):  # quiet
        pass

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        server = self.server
        if path == "/metrics":
            return self.send(200, server.traffic.render(), "text/plain; version=0.0.4; charset=utf-8")
        if path == "/state":
            state = server.traffic.state()
            state["kube"] = dict(server.follower.info) if server.follower else None
            return self.send(200, json.dumps(state, indent=1) + "\n", "application/json")
        if path in ("/-/ready", "/-/healthy"):
            return self.send(200, "ok\n", "text/plain")
        return self.send(404, "not found: try /metrics or /state\n", "text/plain")

    do_HEAD = do_GET

    def send(self, code: int, text: str, ctype: str) -> None:
        body = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, traffic: Traffic, follower: KubeFollower | None):
        super().__init__(address, Handler)
        self.traffic, self.follower = traffic, follower


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--kube-url", help="the API emulator to follow (without it: healthy for ever)")
    ap.add_argument("--namespace", default="luminate")
    ap.add_argument("--deployment", default="luminate")
    ap.add_argument("--container", default="luminate")
    ap.add_argument("--rate", type=float, default=50.0, help="requests per second (default 50)")
    args = ap.parse_args(argv)
    if args.rate <= 0:
        ap.error("--rate must be positive")

    traffic = Traffic(args.rate)
    follower = (KubeFollower(traffic, args.kube_url, args.namespace, args.deployment, args.container)
                if args.kube_url else None)
    server = Server((args.host, args.port), traffic, follower)
    stopping = threading.Event()
    if follower:
        threading.Thread(target=follower.run, args=(stopping,), name="follow", daemon=True).start()

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    host, port = server.server_address[:2]
    print("listening %s:%d" % (host, port), flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        stopping.set()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
