#!/usr/bin/env python3
"""Deterministic Prometheus fixture data for luminatectl tests.

Generates OpenMetrics text for

    promtool tsdb create-blocks-from openmetrics OUT.om DATA_DIR

plus a JSON description of every scenario, with the values that the product's
PromQL queries must return at fixed evaluation times.  The expected values are
computed here from the scenario definitions (exact rational arithmetic on the
per-step increments), never by asking Prometheus.

CLI:
    python3 scripts/localenv/promfixtures.py --openmetrics OUT.om \\
        --scenarios OUT.json [--markdown SCENARIOS.md]

Importable API (used by prometheus.py and the tests):
    build_fixture()            -> Fixture (timeline, model, scenarios)
    render_openmetrics(fx)     -> bytes  (same bytes every run)
    build_spec(fx, sha256=...) -> dict   (the scenarios JSON)
    render_markdown(spec)      -> str    (SCENARIOS.md)
    write_all(om_path, json_path, md_path=None) -> dict (spec)

Data model
----------
* One sample every STEP = 15 s at T_i = BASE + 15*i, BASE = 2026-11-20T00:00Z.
  Every evaluation time in the JSON lies on this grid.
* The timeline is a sequence of regimes.  A regime applies to the samples with
  a < T <= b ("the sample at T carries the increment of the interval
  (T-15s, T]").  Counters therefore change slope exactly at a regime boundary
  and gauges take the new value from the first sample after it.
* Counters grow by an integer number of units per step (requests, micro-
  seconds, milli-CPU-seconds), so every sample is an exact decimal.

Prometheus 2.42 facts the expected values rely on (see SCENARIOS.md too)
--------------------------------------------------------------------------
* Range selectors in 2.42 are closed on both ends: `x[5m]` evaluated at t on
  the grid holds the 21 samples t-300 .. t.  rate() extrapolates the first and
  last sample towards the window edges (extrapolatedRate): with samples sitting
  exactly on both edges nothing is extrapolated, so
      rate(x[W]) at t = (x(t) - x(t-W)) / W            (exact)
  which is the sum of the per-step increments in (t-W, t] divided by W.  When
  t is off-grid but the window is still inside one linear regime the
  extrapolation happens to give the same slope, as long as the counter is far
  from zero (rate() never extrapolates below zero: "durationToZero").  All
  counters therefore start at a large offset (a week of healthy traffic).
  Prometheus 3.x makes ranges left-open (20 samples); steady-state values are
  unchanged, values in windows straddling a regime boundary differ.
* rate() needs at least two samples in its window, otherwise the series is
  dropped; a window that is only partly covered by samples is extrapolated.
  The model below refuses (NotClean) to predict such partly-covered windows
  instead of re-implementing the extrapolation.
* Instant selectors look back 5 minutes (lookback delta, closed on the left
  in 2.42): a gauge is visible up to and including 5 min after its last
  sample, so "now" (days after the fixture range) sees nothing: always query
  with an explicit time=.
* histogram_quantile(q, buckets): rank = q * count(+Inf); the first bucket
  whose cumulative count >= rank is chosen and the result is interpolated
  linearly inside it: lo + (hi - lo) * (rank - count(lo)) / (count(hi) -
  count(lo)).  The lowest bucket starts at 0; if the rank falls into the +Inf
  bucket the upper bound of the last finite bucket is returned.  The model
  asserts that rank never equals a bucket count exactly (float noise in
  Prometheus could then pick the neighbouring bucket).
* A subquery `f(expr[5m:15s])` evaluates expr at the 15 s-aligned times in
  [t-5m, t] (both ends included in 2.42: 21 points), so
  min_over_time(cond[5m:15s]) > thr  <=>  cond held at every grid point of the
  last 5 minutes (the same verdict as an alerting rule with `for: 5m`).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import functools
import hashlib
import json
import os
import sys
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Callable, Iterable, Optional

# --------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------

FORMAT = "luminate-promfixtures/1"
BASE = 1795132800  # 2026-11-20T00:00:00Z (multiple of 15 s: subqueries align)
STEP = 15  # seconds between samples
DATA_MINUTES = 220  # data covers [BASE, BASE + 220 min]

NAMESPACE = "luminate"
JOB = "luminate"
PODS = ("luminate-0", "luminate-1", "luminate-2")
CONTAINER = "luminate"
CLICKHOUSE_PODS = ("clickhouse-0", "clickhouse-1", "clickhouse-2", "clickhouse-3")
PVCS = tuple(f"data-{p}" for p in CLICKHOUSE_PODS)

CPU_LIMIT_MILLI = 2000  # limits.cpu = 2
CPU_REQUEST_MILLI = 1000
MEMORY_LIMIT = 2000 * 2**20  # limits.memory = 2000Mi; 1 % = 20 MiB exactly
MEMORY_REQUEST = 1000 * 2**20
PVC_CAPACITY = 100 * 2**30  # 100Gi; 1 % = 1 GiB exactly

# Pod-level cgroup series (container="") that cAdvisor exports next to the
# container: a query that forgets container="luminate" double counts.
POD_CGROUP_EXTRA_CPU_MILLI = 10
POD_CGROUP_EXTRA_MEMORY = 8 * 2**20

# Counters start as if the pods had been up for a week of healthy traffic
# (+ a small bias), far away from zero so rate() extrapolation is never
# clamped at zero.
WARM_STEPS = 7 * 24 * 3600 // STEP
COUNTER_BIAS = 1000

# (method, code) series of luminate_http_requests_total, per pod.
HTTP_SERIES = (("GET", "200"), ("POST", "200"), ("POST", "400"), ("GET", "500"), ("GET", "503"))

# Buckets: (le label exactly as exported, upper bound as an exact fraction).
def _buckets(labels: Iterable[str]) -> tuple[tuple[str, Optional[Fraction]], ...]:
    return tuple((le, None if le == "+Inf" else Fraction(le)) for le in labels)


HTTP_BUCKETS = _buckets(
    ["0.005", "0.01", "0.025", "0.05", "0.1", "0.2", "0.25", "0.3", "0.5", "0.75", "1", "2.5", "5", "+Inf"]
)
STORAGE_BUCKETS = _buckets(["0.005", "0.01", "0.025", "0.05", "0.1", "0.2", "0.5", "1", "+Inf"])

# Thresholds of the operations guide.
ERROR_RATE_THRESHOLD = Fraction(5, 100)  # rollback: error rate > 5 % for 5 min
LATENCY_THRESHOLD = Fraction(1, 2)  # rollback: p95 > 500 ms for 10 min
WRITE_SLA = Fraction(1, 10)  # write p95 < 100 ms
QUERY_SLA = Fraction(2, 10)  # query p95 < 200 ms


# --------------------------------------------------------------------------
# Regimes: what one pod does during one 15 s step
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Regime:
    """Per-step behaviour.  Counter fields are increments per pod per step."""

    http: tuple[int, ...]  # requests per HTTP_SERIES entry
    http_hist: tuple[int, ...]  # cumulative bucket counts (last = +Inf = sum(http))
    write_hist: tuple[int, ...]  # cumulative; last = writes per step
    query_hist: tuple[int, ...]
    rate_limited: int
    goroutines: tuple[int, ...]  # per pod
    cpu_milli: tuple[int, ...]  # per pod, millicores (CPU-ms per second)
    memory_pct: tuple[int, ...]  # per pod, working set in % of the memory limit
    storage_pct: tuple[int, ...]  # per PVC, used in % of capacity
    scraped: tuple[bool, ...] = (True, True, True)  # False: target down (up=0)
    recorded: bool = True  # False: no samples at all (monitoring gap)

    def validate(self) -> None:
        assert len(self.http) == len(HTTP_SERIES)
        for hist, buckets in (
            (self.http_hist, HTTP_BUCKETS),
            (self.write_hist, STORAGE_BUCKETS),
            (self.query_hist, STORAGE_BUCKETS),
        ):
            assert len(hist) == len(buckets), (hist, buckets)
            assert all(a <= b for a, b in zip(hist, hist[1:])), hist
        assert self.http_hist[-1] == sum(self.http), "histogram count != requests"
        for t in (self.goroutines, self.cpu_milli, self.memory_pct, self.scraped):
            assert len(t) == len(PODS)
        assert len(self.storage_pct) == len(PVCS)


HEALTHY = Regime(
    # 200 requests / pod / step; one 5xx = 0.5 %.
    http=(150, 45, 4, 1, 0),
    # p95: rank 190 of 200 falls into (0.1, 0.2] with 188 below and 10 inside:
    # 0.1 + 0.1 * (190 - 188) / 10 = 0.12 s.
    http_hist=(10, 30, 80, 140, 188, 198, 199, 199, 200, 200, 200, 200, 200, 200),
    # 100 writes / pod / step; p95: rank 95 in (0.025, 0.05], 87 below, 10 in:
    # 0.025 + 0.025 * 8 / 10 = 0.045 s.
    write_hist=(20, 45, 87, 97, 99, 100, 100, 100, 100),
    # 60 queries / pod / step; p95: rank 57 in (0.1, 0.2], 55 below, 4 in:
    # 0.1 + 0.1 * 2 / 4 = 0.15 s.
    query_hist=(5, 12, 25, 40, 55, 59, 60, 60, 60),
    rate_limited=3,
    goroutines=(150, 152, 154),
    cpu_milli=(800, 700, 600),  # 40 %, 35 %, 30 % of 2 cores
    memory_pct=(50, 48, 46),
    storage_pct=(45, 43, 41, 40),
)

# 17 of 200 requests fail: 8.5 %.  (16 would put the 5m ratio exactly on
# 0.05 for one mixed window, a tie that float noise could flip.)
ERROR_BREACH = replace(HEALTHY, http=(135, 44, 4, 11, 6))

# p95: rank 190 in (0.75, 1], 188 below, 10 inside: 0.75 + 0.25 * 2/10 = 0.8 s
LATENCY_BREACH = replace(
    HEALTHY,
    http_hist=(2, 5, 15, 30, 60, 100, 115, 130, 170, 188, 198, 200, 200, 200),
    goroutines=(600, 602, 604),
)

# 40 of 200 fail (20 %); p95: rank 190 in (0.75, 1], 184 below, 10 inside:
# 0.75 + 0.25 * 6/10 = 0.9 s
SHORT_SPIKE = replace(
    HEALTHY,
    http=(120, 36, 4, 25, 15),
    http_hist=(2, 5, 12, 25, 50, 90, 105, 120, 164, 184, 194, 199, 200, 200),
    goroutines=(600, 602, 604),
)

CPU_HIGH = replace(HEALTHY, cpu_milli=(800, 1500, 600))  # luminate-1: 75 %
MEMORY_HIGH = replace(HEALTHY, memory_pct=(50, 48, 85))  # luminate-2: 85 %
STORAGE_HIGH = replace(HEALTHY, storage_pct=(70, 72, 68, 66))  # max 72 %
INSTANCE_DOWN = replace(HEALTHY, scraped=(True, True, False))  # luminate-2
GAP = replace(HEALTHY, recorded=False)


# --------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Scenario:
    name: str
    shows: str  # one line for the table
    description: str
    start: int  # documented range [start, end], minutes after BASE
    end: int
    anomaly: Optional[tuple[int, int]]  # (a, b] in minutes; None = healthy
    regime: Regime
    eval_at: int  # minutes after BASE (on the grid)
    extra_evals: tuple[tuple[str, int], ...] = ()  # (name, seconds after BASE)
    analyse_conditions: bool = True


def build_scenarios() -> list[Scenario]:
    """The scenarios, in time order; every range is separated from the next
    one by >= 10 minutes of plain healthy data so 5m windows never mix two
    scenarios."""
    m = 60
    return [
        Scenario(
            "healthy", "all indicators healthy",
            "0.5 % errors, p95 120 ms, write p95 45 ms, query p95 150 ms, CPU 40 %, "
            "memory 50 %, storage 45 % of limits/capacity; 3 of 3 pods up.",
            0, 15, None, HEALTHY, 15,
        ),
        Scenario(
            "error-rate-breach", "5xx ratio 8.5 % for 12 min: 'error rate > 5 % for 5 min' holds",
            "From the start of the range every pod answers 17 of 200 requests with 5xx "
            "(11x500, 6x503) for 12 minutes, latency stays healthy.",
            25, 37, (25, 37), ERROR_BREACH, 37,
        ),
        Scenario(
            "latency-breach", "p95 800 ms for 15 min: 'p95 > 500 ms for 10 min' holds",
            "Request latency shifts up for 15 minutes (p95 = 0.8 s), error ratio stays 0.5 %.",
            47, 62, (47, 62), LATENCY_BREACH, 62,
        ),
        Scenario(
            "short-spike", "20 % errors + p95 900 ms for 2 min only: neither criterion holds",
            "A 2-minute spike (01:12-01:14) of 20 % 5xx and p95 0.9 s, then healthy.  The 5m "
            "error ratio exceeds 5 % for only 4.5 min and the 5m p95 exceeds 500 ms for only "
            "4 min, so neither 'for' criterion fires.  eval_time is spike start + 10 min; "
            "'peak' is the spike's last sample, 'window-5m' spike start + 5 min.",
            72, 82, (72, 74), SHORT_SPIKE, 82,
            extra_evals=(("peak", BASE + 74 * m), ("window-5m", BASE + 77 * m)),
        ),
        Scenario(
            "cpu-high", "luminate-1 container CPU at 75 % of its limit for 12 min",
            "luminate-1 uses 1.5 of its 2 cores for 12 minutes; the others stay at 40 % / 30 %.",
            92, 104, (92, 104), CPU_HIGH, 104,
        ),
        Scenario(
            "memory-high", "luminate-2 working set at 85 % of its limit for 12 min",
            "luminate-2's working set is 1700Mi of its 2000Mi limit for 12 minutes.",
            114, 126, (114, 126), MEMORY_HIGH, 126,
        ),
        Scenario(
            "storage-high", "ClickHouse volumes up to 72 % used for 12 min",
            "The four ClickHouse PVCs are 70/72/68/66 % full (data-clickhouse-1 highest).",
            136, 148, (136, 148), STORAGE_HIGH, 148,
        ),
        Scenario(
            "instance-down", "luminate-2 cannot be scraped for 12 min: 2 of 3 up",
            "luminate-2's scrape fails: up=0 and none of its luminate_* series are sampled "
            "(its container metrics continue, its counters keep counting).  At eval_time "
            "(>= 5 min after its last sample) only two pods contribute.",
            158, 170, (158, 170), INSTANCE_DOWN, 170, analyse_conditions=False,
        ),
        Scenario(
            "gap", "no samples at all for 25 min: every query returns an empty vector",
            "Monitoring outage: no series has a sample in (03:00, 03:25].  eval_time is 20 min "
            "into the gap, so even 15-minute look-backs (10m subquery over 5m rates) and the "
            "5-minute lookback of instant selectors see nothing.",
            180, 205, (180, 205), GAP, 200, analyse_conditions=False,
        ),
    ]


# --------------------------------------------------------------------------
# Timeline
# --------------------------------------------------------------------------

class Timeline:
    """Regime of every sample index i (T_i = BASE + 15 i)."""

    def __init__(self, scenarios: list[Scenario]):
        self.n = DATA_MINUTES * 60 // STEP + 1  # samples 0 .. n-1
        self.regimes: list[Regime] = [HEALTHY] * self.n
        self.segments: list[tuple[int, int, str]] = []  # (from_s, to_s, label) offsets
        last = 0
        for sc in scenarios:
            sc.regime.validate()
            if sc.anomaly is None:
                continue
            a, b = sc.anomaly[0] * 60, sc.anomaly[1] * 60
            if a > last:
                self.segments.append((last, a, "healthy"))
            self.segments.append((a, b, sc.name))
            last = b
            # the regime applies to samples with a < T <= b
            for i in range(a // STEP + 1, b // STEP + 1):
                self.regimes[i] = sc.regime
        if last < DATA_MINUTES * 60:
            self.segments.append((last, DATA_MINUTES * 60, "healthy"))

    def time(self, i: int) -> int:
        return BASE + STEP * i

    def index(self, t: int) -> int:
        off = t - BASE
        if off % STEP:
            raise ValueError(f"{t} is not on the {STEP}s grid")
        return off // STEP

    def recorded(self, i: int) -> bool:
        return 0 <= i < self.n and self.regimes[i].recorded

    def scraped(self, pod: int, i: int) -> bool:
        return self.recorded(i) and self.regimes[i].scraped[pod]


def _cumulate(tl: Timeline, inc: Callable[[Regime], int]) -> list[int]:
    """Cumulative increments: c[i] = sum_{1 <= j <= i} inc(regime_j).  The
    counter keeps counting while it is not sampled (target down, gap)."""
    out = [0] * tl.n
    acc = 0
    for i in range(1, tl.n):
        acc += inc(tl.regimes[i])
        out[i] = acc
    return out


# --------------------------------------------------------------------------
# Series definitions (shared by the OpenMetrics writer and the model)
# --------------------------------------------------------------------------

@dataclass
class Series:
    labels: dict[str, str]
    values: list[int]  # in units; printed as value / scale
    present: Callable[[int], bool]
    scale: int = 1


@dataclass
class Family:
    name: str
    type: str  # counter | gauge | histogram
    help: str
    series: list[Series] = field(default_factory=list)
    # histograms: groups of (base labels, bucket series, count series, sum series)
    hist_groups: list[tuple[list[Series], Series, Series]] = field(default_factory=list)


def _counter_values(cum: list[int], warm_inc: int) -> list[int]:
    start = WARM_STEPS * warm_inc + COUNTER_BIAS
    return [start + c for c in cum]


def _gauge_values(tl: Timeline, f: Callable[[Regime], int]) -> list[int]:
    return [f(r) for r in tl.regimes]


@functools.lru_cache(maxsize=None)
def _hist_sum_increment(hist: tuple[int, ...], buckets) -> int:
    """Sum of observations per step in microseconds: every observation is
    placed at the midpoint of its bucket (+Inf: twice the last bound).  Only
    used for the plausible _sum series; no expected value depends on it."""
    total = 0
    prev_count, prev_le = 0, Fraction(0)
    for count, (_, le) in zip(hist, buckets):
        rep = prev_le * 2 if le is None else (prev_le + le) / 2
        total += (count - prev_count) * int(rep * 1_000_000)
        prev_count = count
        if le is not None:
            prev_le = le
    return total


def build_families(tl: Timeline) -> list[Family]:
    fams: list[Family] = []

    def app(pod_idx: int) -> Callable[[int], bool]:
        return lambda i: tl.scraped(pod_idx, i)

    def rec(i: int) -> bool:
        return tl.recorded(i)

    base = {pod: {"instance": pod, "job": JOB, "namespace": NAMESPACE} for pod in PODS}

    f = Family("luminate_http_requests", "counter", "HTTP requests served by luminate.")
    for p, pod in enumerate(PODS):
        for s, (method, code) in enumerate(HTTP_SERIES):
            cum = _cumulate(tl, lambda r, s=s: r.http[s])
            f.series.append(Series({**base[pod], "method": method, "code": code},
                                   _counter_values(cum, HEALTHY.http[s]), app(p)))
    fams.append(f)

    def histogram(name, help_, attr, buckets):
        fam = Family(name, "histogram", help_)
        healthy = getattr(HEALTHY, attr)
        sum_warm = _hist_sum_increment(healthy, buckets)
        for p, pod in enumerate(PODS):
            bucket_series = []
            for b, (le, _) in enumerate(buckets):
                cum = _cumulate(tl, lambda r, b=b: getattr(r, attr)[b])
                bucket_series.append(Series({**base[pod], "le": le}, _counter_values(cum, healthy[b]), app(p)))
            cum = _cumulate(tl, lambda r: getattr(r, attr)[-1])
            count = Series(dict(base[pod]), _counter_values(cum, healthy[-1]), app(p))
            cum = _cumulate(tl, lambda r: _hist_sum_increment(getattr(r, attr), buckets))
            # COUNTER_BIAS extra observations of 1 ms each in the first bucket
            total = Series(dict(base[pod]),
                           [WARM_STEPS * sum_warm + COUNTER_BIAS * 1000 + c for c in cum], app(p), 1_000_000)
            fam.hist_groups.append((bucket_series, count, total))
        fams.append(fam)

    histogram("luminate_http_request_duration_seconds", "HTTP request latency.", "http_hist", HTTP_BUCKETS)

    f = Family("luminate_storage_writes", "counter", "Rows batches written to ClickHouse.")
    for p, pod in enumerate(PODS):
        cum = _cumulate(tl, lambda r: r.write_hist[-1])
        f.series.append(Series(dict(base[pod]), _counter_values(cum, HEALTHY.write_hist[-1]), app(p)))
    fams.append(f)
    histogram("luminate_storage_write_duration_seconds", "ClickHouse write latency.", "write_hist", STORAGE_BUCKETS)
    histogram("luminate_storage_query_duration_seconds", "ClickHouse query latency.", "query_hist", STORAGE_BUCKETS)

    f = Family("luminate_rate_limit_rejected", "counter", "Requests rejected by the rate limiter.")
    for p, pod in enumerate(PODS):
        cum = _cumulate(tl, lambda r: r.rate_limited)
        f.series.append(Series(dict(base[pod]), _counter_values(cum, HEALTHY.rate_limited), app(p)))
    fams.append(f)

    f = Family("luminate_goroutines", "gauge", "Number of goroutines.")
    for p, pod in enumerate(PODS):
        f.series.append(Series(dict(base[pod]), _gauge_values(tl, lambda r, p=p: r.goroutines[p]), app(p)))
    fams.append(f)

    def working_set(r: Regime, p: int) -> int:
        return r.memory_pct[p] * MEMORY_LIMIT // 100

    f = Family("luminate_memory_usage_bytes", "gauge", "Go runtime memory in use.")
    for p, pod in enumerate(PODS):
        f.series.append(Series(dict(base[pod]),
                               _gauge_values(tl, lambda r, p=p: working_set(r, p) - 64 * 2**20), app(p)))
    fams.append(f)

    f = Family("process_cpu_seconds", "counter", "Total user and system CPU time spent in seconds.")
    for p, pod in enumerate(PODS):
        # milli-CPU-seconds per step = millicores * 15 s / 1000 * 1000
        cum = _cumulate(tl, lambda r, p=p: r.cpu_milli[p] * STEP)
        f.series.append(Series(dict(base[pod]), _counter_values(cum, HEALTHY.cpu_milli[p] * STEP), app(p), 1000))
    fams.append(f)

    f = Family("up", "gauge", "1 if the last scrape of the target succeeded.")
    for p, pod in enumerate(PODS):
        f.series.append(Series(dict(base[pod]), [int(r.scraped[p]) for r in tl.regimes], rec))
    for pod in CLICKHOUSE_PODS:
        f.series.append(Series({"instance": pod, "job": "clickhouse", "namespace": NAMESPACE},
                               [1] * tl.n, rec))
    fams.append(f)

    # cAdvisor (via the kubelet): the luminate container plus the pod cgroup.
    f = Family("container_cpu_usage_seconds", "counter", "Cumulative cpu time consumed in seconds.")
    for p, pod in enumerate(PODS):
        for container, extra in ((CONTAINER, 0), ("", POD_CGROUP_EXTRA_CPU_MILLI)):
            cum = _cumulate(tl, lambda r, p=p, extra=extra: (r.cpu_milli[p] + extra) * STEP)
            f.series.append(Series({"container": container, "job": "kubelet", "namespace": NAMESPACE, "pod": pod},
                                   _counter_values(cum, (HEALTHY.cpu_milli[p] + extra) * STEP), rec, 1000))
    fams.append(f)

    f = Family("container_memory_working_set_bytes", "gauge", "Current working set in bytes.")
    for p, pod in enumerate(PODS):
        for container, extra in ((CONTAINER, 0), ("", POD_CGROUP_EXTRA_MEMORY)):
            f.series.append(Series({"container": container, "job": "kubelet", "namespace": NAMESPACE, "pod": pod},
                                   _gauge_values(tl, lambda r, p=p, extra=extra: working_set(r, p) + extra), rec))
    fams.append(f)

    for name, cpu, mem, help_ in (
        ("kube_pod_container_resource_limits", CPU_LIMIT_MILLI, MEMORY_LIMIT, "Container resource limits."),
        ("kube_pod_container_resource_requests", CPU_REQUEST_MILLI, MEMORY_REQUEST, "Container resource requests."),
    ):
        f = Family(name, "gauge", help_)
        for pod in PODS:
            lbl = {"container": CONTAINER, "job": "kube-state-metrics", "namespace": NAMESPACE, "pod": pod}
            f.series.append(Series({**lbl, "resource": "cpu", "unit": "core"}, [cpu] * tl.n, rec, 1000))
            f.series.append(Series({**lbl, "resource": "memory", "unit": "byte"}, [mem] * tl.n, rec))
        fams.append(f)

    def used(r: Regime, v: int) -> int:
        return r.storage_pct[v] * PVC_CAPACITY // 100

    for name, fn, help_ in (
        ("kubelet_volume_stats_capacity_bytes", lambda r, v: PVC_CAPACITY, "Capacity in bytes of the volume."),
        ("kubelet_volume_stats_used_bytes", used, "Number of used bytes in the volume."),
        ("kubelet_volume_stats_available_bytes", lambda r, v: PVC_CAPACITY - used(r, v),
         "Number of available bytes in the volume."),
    ):
        f = Family(name, "gauge", help_)
        for v, pvc in enumerate(PVCS):
            f.series.append(Series({"job": "kubelet", "namespace": NAMESPACE, "persistentvolumeclaim": pvc},
                                   _gauge_values(tl, lambda r, v=v, fn=fn: fn(r, v)), rec))
        fams.append(f)
    return fams


# --------------------------------------------------------------------------
# OpenMetrics rendering
# --------------------------------------------------------------------------

def _fmt(v: int, scale: int) -> str:
    """Exact decimal rendering of v / scale (scale is a power of ten)."""
    if scale == 1:
        return str(v)
    digits = len(str(scale)) - 1
    sign = "-" if v < 0 else ""
    q, r = divmod(abs(v), scale)
    frac = f"{r:0{digits}d}".rstrip("0")
    return f"{sign}{q}.{frac}" if frac else f"{sign}{q}"


def _labels(d: dict[str, str]) -> str:
    if not d:
        return ""
    return "{" + ",".join(f'{k}="{d[k]}"' for k in sorted(d)) + "}"


def render_openmetrics(fx: "Fixture") -> bytes:
    """OpenMetrics text for promtool.  Families are contiguous; every series
    is written in increasing time order (timestamps in integer seconds);
    histogram samples are grouped per timestamp (one MetricPoint: buckets,
    _count, _sum).  Samples are omitted where the target was not scraped."""
    tl = fx.timeline
    out: list[str] = []
    n_samples = 0
    for fam in fx.families:
        out.append(f"# HELP {fam.name} {fam.help}\n# TYPE {fam.name} {fam.type}\n")
        if fam.type == "histogram":
            for buckets, count, total in fam.hist_groups:
                blabels = [_labels(s.labels) for s in buckets]
                clabels = _labels(count.labels)
                for i in range(tl.n):
                    if not count.present(i):
                        continue
                    ts = tl.time(i)
                    for s, lbl in zip(buckets, blabels):
                        out.append(f"{fam.name}_bucket{lbl} {s.values[i]} {ts}\n")
                    out.append(f"{fam.name}_count{clabels} {count.values[i]} {ts}\n")
                    out.append(f"{fam.name}_sum{clabels} {_fmt(total.values[i], total.scale)} {ts}\n")
                    n_samples += len(buckets) + 2
            continue
        sample_name = fam.name + "_total" if fam.type == "counter" else fam.name
        for s in fam.series:
            lbl = _labels(s.labels)
            for i in range(tl.n):
                if s.present(i):
                    out.append(f"{sample_name}{lbl} {_fmt(s.values[i], s.scale)} {tl.time(i)}\n")
                    n_samples += 1
    out.append("# EOF\n")
    fx.sample_count = n_samples
    return "".join(out).encode("utf-8")


def series_count(fx: "Fixture") -> int:
    n = 0
    for fam in fx.families:
        n += len(fam.series)
        n += sum(len(b) + 2 for b, _, _ in fam.hist_groups)
    return n


# --------------------------------------------------------------------------
# Expected values: an exact model of the product's queries
# --------------------------------------------------------------------------

class NotClean(Exception):
    """A window is only partly covered by samples (Prometheus would
    extrapolate); the model does not predict such values."""


def _q(metric: str, window: str) -> str:
    return ("histogram_quantile(0.95, sum by (le) "
            f'(rate({metric}_bucket{{job="luminate"}}[{window}])))')


def _err(window: str) -> str:
    return (f'sum(rate(luminate_http_requests_total{{job="luminate",code=~"5.."}}[{window}]))'
            f' / sum(rate(luminate_http_requests_total{{job="luminate"}}[{window}]))')


def _held(inner: str, rng: str) -> str:
    return f"min_over_time(({inner})[{rng}:15s])"


# The product's queries (the Swift tests use the same strings).
QUERIES: dict[str, str] = {
    "request_rate_5m": 'sum(rate(luminate_http_requests_total{job="luminate"}[5m]))',
    "error_ratio_5m": _err("5m"),
    "error_ratio_1m": _err("1m"),
    "p95_latency_5m": _q("luminate_http_request_duration_seconds", "5m"),
    "p95_latency_1m": _q("luminate_http_request_duration_seconds", "1m"),
    "write_p95_5m": _q("luminate_storage_write_duration_seconds", "5m"),
    "query_p95_5m": _q("luminate_storage_query_duration_seconds", "5m"),
    "write_rate_5m": 'sum(rate(luminate_storage_writes_total{job="luminate"}[5m]))',
    "rate_limited_5m": 'sum(rate(luminate_rate_limit_rejected_total{job="luminate"}[5m]))',
    "cpu_ratio": ('max(sum by (pod) (rate(container_cpu_usage_seconds_total'
                  '{namespace="luminate",container="luminate"}[5m]))'
                  ' / sum by (pod) (kube_pod_container_resource_limits'
                  '{namespace="luminate",container="luminate",resource="cpu"}))'),
    "memory_ratio": ('max(sum by (pod) (container_memory_working_set_bytes'
                     '{namespace="luminate",container="luminate"})'
                     ' / sum by (pod) (kube_pod_container_resource_limits'
                     '{namespace="luminate",container="luminate",resource="memory"}))'),
    "storage_ratio": ('max(kubelet_volume_stats_used_bytes{namespace="luminate"}'
                      ' / kubelet_volume_stats_capacity_bytes{namespace="luminate"})'),
    "up": 'count(up{job="luminate"} == 1)',
    "clickhouse_up": 'count(up{job="clickhouse"} == 1)',
}
QUERIES["error_rate_held_5m"] = _held(QUERIES["error_ratio_5m"], "5m")
QUERIES["error_rate_1m_held_5m"] = _held(QUERIES["error_ratio_1m"], "5m")
QUERIES["latency_held_10m"] = _held(QUERIES["p95_latency_5m"], "10m")
QUERIES["latency_1m_held_10m"] = _held(QUERIES["p95_latency_1m"], "10m")

# "expr > threshold for D": held at t <=> min_over_time(expr[D:15s]) > threshold
CONDITIONS: dict[str, dict] = {
    "error_rate": {
        "description": "rollback criterion 'error rate > 5 % for 5 min' on the 5m error ratio",
        "expr": "error_ratio_5m", "threshold": ERROR_RATE_THRESHOLD, "for_seconds": 300,
        "held_query": "error_rate_held_5m"},
    "error_rate_1m": {
        "description": "same criterion on the 1m error ratio (reacts faster)",
        "expr": "error_ratio_1m", "threshold": ERROR_RATE_THRESHOLD, "for_seconds": 300,
        "held_query": "error_rate_1m_held_5m"},
    "latency": {
        "description": "rollback criterion 'p95 > 500 ms for 10 min' on the 5m p95",
        "expr": "p95_latency_5m", "threshold": LATENCY_THRESHOLD, "for_seconds": 600,
        "held_query": "latency_held_10m"},
    "latency_1m": {
        "description": "same criterion on the 1m p95",
        "expr": "p95_latency_1m", "threshold": LATENCY_THRESHOLD, "for_seconds": 600,
        "held_query": "latency_1m_held_10m"},
}

TIE_EPS = Fraction(1, 10**9)  # relative margin demanded from every comparison


class Model:
    """Exact values of QUERIES at on-grid times (rationals).  None = the query
    returns an empty vector.  Raises NotClean where a window is only partly
    covered by samples."""

    def __init__(self, tl: Timeline):
        self.tl = tl
        self.cum: dict[tuple, list[int]] = {}
        self.memo: dict[tuple[str, int], object] = {}
        self.fns: dict[str, Callable[[int], Optional[Fraction]]] = {
            "request_rate_5m": lambda i: self._sum_rate(i, 20, "all", lambda r: sum(r.http)),
            "error_ratio_5m": lambda i: self._error_ratio(i, 20),
            "error_ratio_1m": lambda i: self._error_ratio(i, 4),
            "p95_latency_5m": lambda i: self._quantile(i, 20, "http_hist", HTTP_BUCKETS),
            "p95_latency_1m": lambda i: self._quantile(i, 4, "http_hist", HTTP_BUCKETS),
            "write_p95_5m": lambda i: self._quantile(i, 20, "write_hist", STORAGE_BUCKETS),
            "query_p95_5m": lambda i: self._quantile(i, 20, "query_hist", STORAGE_BUCKETS),
            "write_rate_5m": lambda i: self._sum_rate(i, 20, "writes", lambda r: r.write_hist[-1]),
            "rate_limited_5m": lambda i: self._sum_rate(i, 20, "rate_limited", lambda r: r.rate_limited),
            "cpu_ratio": self._cpu_ratio,
            "memory_ratio": self._memory_ratio,
            "storage_ratio": self._storage_ratio,
            "up": self._up,
            "clickhouse_up": lambda i: self._gauge(i, None, lambda r: Fraction(len(CLICKHOUSE_PODS))),
        }
        for name, cond in CONDITIONS.items():
            self.fns[cond["held_query"]] = (
                lambda i, e=cond["expr"], n=cond["for_seconds"] // STEP: self._held(i, e, n))
        assert set(self.fns) == set(QUERIES)

    # -- primitives ---------------------------------------------------------

    def _c(self, key: tuple, inc: Callable[[Regime], int]) -> list[int]:
        if key not in self.cum:
            self.cum[key] = _cumulate(self.tl, inc)
        return self.cum[key]

    def _present_prefix(self, pod: Optional[int]) -> list[int]:
        """prefix[k] = number of samples among indices 0 .. k-1 (pod None:
        series that are always scraped while anything is recorded)."""
        key = ("present", pod)
        if key not in self.cum:
            pref = [0]
            for i in range(self.tl.n):
                ok = self.tl.recorded(i) if pod is None else self.tl.scraped(pod, i)
                pref.append(pref[-1] + int(ok))
            self.cum[key] = pref
        return self.cum[key]

    def _window(self, pod: Optional[int], i: int, n: int) -> Optional[bool]:
        """Samples of the series at i-n .. i (the window [t-W, t]): True if all
        are there; None if fewer than two (rate() drops the series); NotClean
        if some are missing (Prometheus would extrapolate)."""
        pref = self._present_prefix(pod)
        lo, hi = max(i - n, 0), min(i + 1, self.tl.n)
        k = pref[hi] - pref[lo] if hi > lo else 0
        if k == n + 1:
            return True
        if k <= 1:
            return None
        raise NotClean(f"window ending at sample {i} is partly covered")

    def _pod_increase(self, i: int, n: int, pod: int, key: str, inc: Callable[[Regime], int],
                      app: bool = True) -> Optional[int]:
        """increase over (t_{i-n}, t_i] of one pod's counter, None if absent.
        app=True: a luminate_* series (missing while the pod is not scraped);
        False: cAdvisor series (missing only in the monitoring gap)."""
        if self._window(pod if app else None, i, n) is None:
            return None
        c = self._c((key, pod), inc)
        return c[i] - c[i - n]

    def _sum_rate(self, i: int, n: int, key: str, inc: Callable[[Regime], int]) -> Optional[Fraction]:
        """sum(rate(counter[W])) over the pods; key names the counter (cache)."""
        total = self._sum_increase(i, n, key, inc)
        return None if total is None else Fraction(total, n * STEP)

    def _error_ratio(self, i: int, n: int) -> Optional[Fraction]:
        # rate(x[W]) = increase / W for every series; W cancels in the ratio.
        bad = self._sum_increase(i, n, "5xx", lambda r: sum(v for (_, c), v in zip(HTTP_SERIES, r.http)
                                                             if c.startswith("5")))
        total = self._sum_increase(i, n, "all", lambda r: sum(r.http))
        if total is None:
            return None
        return Fraction(bad, total)

    def _sum_increase(self, i: int, n: int, key: str, inc) -> Optional[int]:
        parts = [self._pod_increase(i, n, p, key, inc) for p in range(len(PODS))]
        parts = [x for x in parts if x is not None]
        return sum(parts) if parts else None

    def _quantile(self, i: int, n: int, attr: str, buckets) -> Optional[Fraction]:
        counts = []
        for b in range(len(buckets)):
            c = self._sum_increase(i, n, f"{attr}:{b}", lambda r, b=b: getattr(r, attr)[b])
            if c is None:
                return None
            counts.append(Fraction(c, n * STEP))
        return histogram_quantile(Fraction(95, 100), list(zip([le for _, le in buckets], counts)))

    def _gauge(self, i: int, pod: Optional[int], value: Callable[[Regime], Fraction]) -> Optional[Fraction]:
        """Instant selector with the 5 min lookback: the sample at t if there
        is one, absent if there is none in [t-5m, t]."""
        present = (lambda j: self.tl.recorded(j)) if pod is None else (lambda j: self.tl.scraped(pod, j))
        if present(i):
            return value(self.tl.regimes[i])
        if any(present(j) for j in range(i - 20, i)):
            raise NotClean("gauge visible only through the lookback")
        return None

    # -- queries ------------------------------------------------------------

    def _cpu_ratio(self, i: int) -> Optional[Fraction]:
        vals = []
        for p in range(len(PODS)):
            inc = self._pod_increase(i, 20, p, "cpu", lambda r, p=p: r.cpu_milli[p] * STEP,
                                     app=False)
            if inc is not None:  # milli-CPU-seconds / 300 s / 1000 / limit cores
                vals.append(Fraction(inc, 300 * 1000) / Fraction(CPU_LIMIT_MILLI, 1000))
        return max(vals) if vals else None

    def _memory_ratio(self, i: int) -> Optional[Fraction]:
        vals = [self._gauge(i, None, lambda r, p=p: Fraction(r.memory_pct[p] * MEMORY_LIMIT // 100, MEMORY_LIMIT))
                for p in range(len(PODS))]
        vals = [v for v in vals if v is not None]
        return max(vals) if vals else None

    def _storage_ratio(self, i: int) -> Optional[Fraction]:
        vals = [self._gauge(i, None, lambda r, v=v: Fraction(r.storage_pct[v] * PVC_CAPACITY // 100, PVC_CAPACITY))
                for v in range(len(PVCS))]
        vals = [v for v in vals if v is not None]
        return max(vals) if vals else None

    def _up(self, i: int) -> Optional[Fraction]:
        vals = [self._gauge(i, None, lambda r, p=p: Fraction(int(r.scraped[p]))) for p in range(len(PODS))]
        vals = [v for v in vals if v is not None]
        if not vals:
            return None
        ones = sum(1 for v in vals if v == 1)
        return Fraction(ones) if ones else None  # count() of an empty vector is empty

    def _held(self, i: int, expr: str, n: int) -> Optional[Fraction]:
        """min_over_time((expr)[D:15s]) with D = n steps: expr at i-n .. i."""
        vals = [self._value(expr, j) for j in range(i - n, i + 1)]
        vals = [v for v in vals if v is not None]
        return min(vals) if vals else None

    # -- public -------------------------------------------------------------

    def value(self, query: str, t: int) -> Optional[Fraction]:
        """Exact value of QUERIES[query] at t (None = empty vector)."""
        return self._value(query, self.tl.index(t))

    def _value(self, query: str, i: int) -> Optional[Fraction]:
        key = (query, i)
        if key not in self.memo:
            try:
                self.memo[key] = self.fns[query](i)
            except NotClean as e:
                self.memo[key] = e
        v = self.memo[key]
        if isinstance(v, NotClean):
            raise v
        return v

    def expected(self, t: int) -> dict[str, Optional[float]]:
        """All determinable query values at t (float; None = empty vector).
        Queries whose windows are only partly covered are left out."""
        out: dict[str, Optional[float]] = {}
        for name in QUERIES:
            try:
                v = self.value(name, t)
            except NotClean:
                continue
            out[name] = None if v is None else float(v)
        return out

    def condition_runs(self, cond: str, t_from: int, t_to: int) -> dict:
        """Evaluate `expr > threshold` at every grid point of [t_from, t_to]
        and describe the longest run of consecutive true points."""
        c = CONDITIONS[cond]
        thr = c["threshold"]
        runs: list[list[int]] = []
        prev = False
        for t in range(t_from, t_to + 1, STEP):
            v = self.value(c["expr"], t)
            if v is None:
                raise NotClean("condition expression absent")
            if abs(v - thr) <= thr * TIE_EPS:
                raise AssertionError(f"{cond} at {t}: value {v} too close to the threshold")
            now = v > thr
            if now and not prev:
                runs.append([t, t])
            elif now:
                runs[-1][1] = t
            prev = now
        res: dict = {"from": t_from, "to": t_to, "threshold": float(thr), "for_seconds": c["for_seconds"],
                     "runs": [[a, b] for a, b in runs]}
        if runs:
            a, b = max(runs, key=lambda r: (r[1] - r[0], -r[0]))
            held = b - a
            res.update(first_true=runs[0][0], last_true=runs[-1][1], longest_run=[a, b], held_seconds=held,
                       holds=held >= c["for_seconds"],
                       for_satisfied_at=(a + c["for_seconds"]) if held >= c["for_seconds"] else None)
        else:
            res.update(first_true=None, last_true=None, longest_run=None, held_seconds=0, holds=False,
                       for_satisfied_at=None)
        return res


def histogram_quantile(q: Fraction, buckets: list[tuple[Optional[Fraction], Fraction]]) -> Optional[Fraction]:
    """Prometheus 2.42 bucketQuantile on exact rationals.  buckets: (upper
    bound or None for +Inf, cumulative rate), sorted, +Inf last."""
    assert buckets[-1][0] is None
    observations = buckets[-1][1]
    if observations == 0:
        raise AssertionError("no observations: histogram_quantile would return NaN")
    rank = q * observations
    for _, count in buckets:
        if count and abs(count - rank) <= rank * TIE_EPS:
            raise AssertionError(f"rank {rank} equals a bucket count: float noise could pick either bucket")
    b = next(k for k, (_, count) in enumerate(buckets) if count >= rank)
    if b == len(buckets) - 1:  # rank in the +Inf bucket: last finite bound
        return buckets[-2][0]
    lo, below = (Fraction(0), Fraction(0)) if b == 0 else (buckets[b - 1][0], buckets[b - 1][1])
    hi, count = buckets[b]
    return lo + (hi - lo) * (rank - below) / (count - below)


# --------------------------------------------------------------------------
# Fixture + spec
# --------------------------------------------------------------------------

@dataclass
class Fixture:
    scenarios: list[Scenario]
    timeline: Timeline
    families: list[Family]
    model: Model
    sample_count: int = 0


def build_fixture() -> Fixture:
    scenarios = build_scenarios()
    tl = Timeline(scenarios)
    return Fixture(scenarios, tl, build_families(tl), Model(tl))


def rfc3339(t: int) -> str:
    return _dt.datetime.fromtimestamp(t, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hhmm(t: int) -> str:
    return _dt.datetime.fromtimestamp(t, _dt.timezone.utc).strftime("%H:%M:%S").removesuffix(":00")


def _evaluation(fx: Fixture, name: str, t: int) -> dict:
    return {"name": name, "time": t, "time_rfc3339": rfc3339(t), "expected": fx.model.expected(t)}


def scenario_spec(fx: Fixture, sc: Scenario) -> dict:
    m = 60
    start, end = BASE + sc.start * m, BASE + sc.end * m
    eval_t = BASE + sc.eval_at * m
    d: dict = {
        "name": sc.name,
        "summary": sc.shows,
        "description": sc.description,
        "start": start, "start_rfc3339": rfc3339(start),
        "end": end, "end_rfc3339": rfc3339(end),
        "anomaly": None if sc.anomaly is None else {
            "from": BASE + sc.anomaly[0] * m, "from_rfc3339": rfc3339(BASE + sc.anomaly[0] * m),
            "to": BASE + sc.anomaly[1] * m, "to_rfc3339": rfc3339(BASE + sc.anomaly[1] * m),
            "note": "samples with from < T <= to carry the anomaly"},
        "eval_time": eval_t, "eval_time_rfc3339": rfc3339(eval_t),
        "expected": fx.model.expected(eval_t),
    }
    evaluations = [_evaluation(fx, "eval", eval_t)]
    evaluations += [_evaluation(fx, name, t) for name, t in sc.extra_evals]
    conds: dict = {}
    if sc.analyse_conditions:
        # 5m windows inside the range look back into the >= 10 min healthy
        # buffer before it; the analysis ends 10 min after the range, when
        # every window is healthy again.
        t_from = max(start, BASE + 300)
        t_to = end + 600
        for cname in CONDITIONS:
            r = fx.model.condition_runs(cname, t_from, t_to)
            conds[cname] = r
            if r["holds"]:
                at = r["for_satisfied_at"]
                evaluations.append(_evaluation(fx, f"{cname}:for-satisfied", at))
                evaluations.append(_evaluation(fx, f"{cname}:before-for", at - STEP))
        for r in conds.values():
            for k in ("first_true", "last_true", "for_satisfied_at"):
                r[k + "_rfc3339"] = None if r[k] is None else rfc3339(r[k])
    d["evaluations"] = evaluations
    d["conditions"] = conds
    return d


def build_spec(fx: Fixture, sha256: str = "", sample_count: int = 0) -> dict:
    tl = fx.timeline
    end = tl.time(tl.n - 1)
    return {
        "format": FORMAT,
        "generator": "scripts/localenv/promfixtures.py",
        "prometheus_version_verified": "2.42.0",
        "base_time": BASE, "base_time_rfc3339": rfc3339(BASE),
        "data_start": BASE, "data_start_rfc3339": rfc3339(BASE),
        "data_end": end, "data_end_rfc3339": rfc3339(end),
        "step_seconds": STEP,
        "openmetrics_sha256": sha256,
        "series": series_count(fx),
        "samples": sample_count,
        "topology": {
            "namespace": NAMESPACE, "job": JOB, "pods": list(PODS), "container": CONTAINER,
            "clickhouse_pods": list(CLICKHOUSE_PODS), "pvcs": list(PVCS),
            "cpu_limit_cores": CPU_LIMIT_MILLI / 1000, "memory_limit_bytes": MEMORY_LIMIT,
            "pvc_capacity_bytes": PVC_CAPACITY,
        },
        "thresholds": {"error_rate": float(ERROR_RATE_THRESHOLD), "p95_latency_seconds": float(LATENCY_THRESHOLD),
                       "write_p95_seconds": float(WRITE_SLA), "query_p95_seconds": float(QUERY_SLA)},
        "queries": dict(QUERIES),
        "conditions": {k: {**v, "threshold": float(v["threshold"])} for k, v in CONDITIONS.items()},
        "conventions": [
            "Evaluate instant queries with an explicit time= equal to an evaluation time below "
            "(all on the 15 s grid); at 'now' everything is older than the 5 min lookback.",
            "expected: null means the query returns an empty vector; a query missing from "
            "expected is not determined (its window is only partly covered by samples).",
            "Expected values are exact rationals rounded to float; compare with relative tolerance 1e-6.",
            "A condition 'expr > threshold for D' holds at t iff expr > threshold at every 15 s grid "
            "point of [t-D, t] (min_over_time((expr)[D:15s]) > threshold, 2.42 subqueries include both "
            "ends).  conditions.*: runs of true grid points in [from, to]; held_seconds = "
            "last - first of the longest run; holds = held_seconds >= for_seconds.",
        ],
        "timeline": [
            {"from": BASE + a, "from_rfc3339": rfc3339(BASE + a), "to": BASE + b, "to_rfc3339": rfc3339(BASE + b),
             "segment": label}
            for a, b, label in tl.segments
        ],
        "scenarios": [scenario_spec(fx, sc) for sc in fx.scenarios],
    }


# --------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------

def _num(v: Optional[float], pct: bool = False) -> str:
    if v is None:
        return "empty"
    if pct:
        return f"{v * 100:.4g} %"
    return f"{v:.6g}"


_TABLE_QUERIES = (
    ("error_ratio_5m", "errors 5m", True), ("p95_latency_5m", "p95 5m (s)", False),
    ("write_p95_5m", "write p95 (s)", False), ("query_p95_5m", "query p95 (s)", False),
    ("cpu_ratio", "CPU", True), ("memory_ratio", "memory", True), ("storage_ratio", "storage", True),
    ("up", "up", False), ("request_rate_5m", "req/s", False),
)


def render_markdown(spec: dict) -> str:
    day = spec["base_time_rfc3339"][:10]
    spike = next(sc for sc in spec["scenarios"] if sc["name"] == "short-spike")
    peak = next(ev for ev in spike["evaluations"] if ev["name"] == "peak")["expected"]
    L = [
        "# Prometheus fixture scenarios",
        "",
        "<!-- Generated by `python3 scripts/localenv/promfixtures.py --markdown scripts/localenv/SCENARIOS.md`."
        " Do not edit: test_promfixtures.py checks that this file matches the generator. -->",
        "",
        f"Deterministic data for {spec['data_start_rfc3339']} .. {spec['data_end_rfc3339']}, one sample every "
        f"{spec['step_seconds']} s ({spec['series']} series, {spec['samples']} samples), backfilled with "
        "`promtool tsdb create-blocks-from openmetrics`.  Times below are UTC on "
        f"{day}.  Pods `{'`, `'.join(spec['topology']['pods'])}` (job `luminate`, namespace `luminate`), "
        f"ClickHouse PVCs `{'`, `'.join(spec['topology']['pvcs'])}`.  Query with an explicit `time=`; at "
        "\"now\" the data is far outside the 5 minute lookback.  The machine-readable version (with every "
        "expected value at every evaluation time) is the JSON written by `--scenarios`.",
        "",
        "## Scenarios",
        "",
        "| scenario | range | anomaly (samples in) | eval time | what it shows | "
        + " | ".join(h for _, h, _ in _TABLE_QUERIES) + " |",
        "|---|---|---|---|---|" + "---|" * len(_TABLE_QUERIES),
    ]
    for sc in spec["scenarios"]:
        an = sc["anomaly"]
        an_s = "-" if an is None else f"({_hhmm(an['from'])}, {_hhmm(an['to'])}]"
        exp = sc["expected"]
        vals = " | ".join(_num(exp.get(q), pct) if q in exp else "n/a" for q, _, pct in _TABLE_QUERIES)
        L.append(f"| `{sc['name']}` | {_hhmm(sc['start'])}-{_hhmm(sc['end'])} | {an_s} | {_hhmm(sc['eval_time'])} "
                 f"| {sc['summary']} | {vals} |")
    L += ["", "Timeline (every range not listed is plain healthy data):", ""]
    L.append("| from | to | segment |")
    L.append("|---|---|---|")
    for seg in spec["timeline"]:
        L.append(f"| {_hhmm(seg['from'])} | {_hhmm(seg['to'])} | {seg['segment']} |")

    L += ["", "## Other evaluation times", "",
          "| scenario | evaluation | time | error_ratio_5m | error_ratio_1m | p95_latency_5m | p95_latency_1m "
          "| error_rate_held_5m | latency_held_10m |", "|---|---|---|---|---|---|---|---|---|"]
    for sc in spec["scenarios"]:
        for ev in sc["evaluations"][1:]:
            e = ev["expected"]
            cells = " | ".join(_num(e.get(q)) if q in e else "n/a" for q in (
                "error_ratio_5m", "error_ratio_1m", "p95_latency_5m", "p95_latency_1m",
                "error_rate_held_5m", "latency_held_10m"))
            L.append(f"| `{sc['name']}` | {ev['name']} | {_hhmm(ev['time'])} | {cells} |")

    L += ["", "## \"For X minutes\" conditions", ""]
    for name, c in spec["conditions"].items():
        L.append(f"* `{name}`: {c['description']}: `{c['expr']}` > {c['threshold']:g} for {c['for_seconds']} s "
                 f"(held query `{c['held_query']}`).")
    L += ["",
          "Each condition is evaluated on every 15 s grid point from the range start (at least 00:05) to 10 "
          "minutes after the range end.  held = last - first true point of the longest run; holds = held >= for.",
          "",
          "| scenario | condition | first true | last true | held (s) | holds | for satisfied at |",
          "|---|---|---|---|---|---|---|"]
    for sc in spec["scenarios"]:
        for cname, r in sc["conditions"].items():
            if r["first_true"] is None:
                continue
            L.append(f"| `{sc['name']}` | {cname} | {_hhmm(r['first_true'])} | {_hhmm(r['last_true'])} | "
                     f"{r['held_seconds']} | {'yes' if r['holds'] else 'no'} | "
                     f"{_hhmm(r['for_satisfied_at']) if r['for_satisfied_at'] else '-'} |")
    L.append("")
    L.append("No condition is true anywhere in the other analysed scenarios (`instance-down` and `gap` are "
             "not analysed: their windows are only partly covered by samples).")

    L += ["", "## Queries", "", "```"]
    width = max(len(k) for k in spec["queries"])
    for k, q in spec["queries"].items():
        L.append(f"{k:<{width}}  {q}")
    L += ["```", "",
          "## Conventions and Prometheus quirks", "",
          "* A regime applies to the samples with `from < T <= to`: the sample at T carries the counter "
          "increment of (T-15s, T], so a `[W]` rate is purely anomalous for `from + W <= t <= to`.",
          "* Counters grow linearly inside a regime and start a week's worth of traffic above zero.  "
          "Evaluated on the grid, a 2.42 range `[W]` holds the samples t-W .. t (both ends), rate() then "
          "extrapolates nothing and equals (x(t) - x(t-W)) / W exactly.  Off the grid the extrapolation "
          "still yields the same slope while the window stays inside one regime.  Prometheus 3 makes "
          "ranges left-open: steady values are the same, values across a regime boundary differ.",
          "* histogram_quantile interpolates linearly inside the bucket holding rank = 0.95 x count; every "
          "p95 target sits strictly inside a bucket (never on a bucket count, where float noise could pick "
          "the neighbour).",
          "* `min_over_time((expr)[D:15s]) > threshold` is the \"held for D\" check (subquery points are "
          "aligned to multiples of 15 s since the epoch, both ends included).  The short spike is "
          "deliberately long enough that a single 5m-window value crosses the thresholds "
          f"({_num(peak.get('error_ratio_5m'), True)} errors, p95 {_num(peak.get('p95_latency_5m'))} s at "
          "its end) while the 'for' criteria do not hold.",
          "* Instant selectors look back 5 minutes: a gauge stays visible up to and including 5 minutes "
          "after its last sample (the lookback is closed on the left in 2.42); rate() needs two samples "
          "inside its window.  Hence the gap is evaluated 20 minutes into it.",
          "* cAdvisor also exports the pod cgroup (`container=\"\"`, slightly larger than the container): "
          "queries must filter `container=\"luminate\"`.",
          ""]
    return "\n".join(L)


# --------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------

def generate() -> tuple[bytes, dict]:
    """(OpenMetrics bytes, scenario spec)."""
    fx = build_fixture()
    om = render_openmetrics(fx)
    spec = build_spec(fx, hashlib.sha256(om).hexdigest(), fx.sample_count)
    return om, spec


def spec_json(spec: dict) -> str:
    return json.dumps(spec, indent=2, sort_keys=False) + "\n"


def _write(path: str, data: bytes) -> None:
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def write_all(om_path: Optional[str], json_path: Optional[str], md_path: Optional[str] = None) -> dict:
    om, spec = generate()
    if om_path:
        _write(om_path, om)
    if json_path:
        _write(json_path, spec_json(spec).encode())
    if md_path:
        _write(md_path, render_markdown(spec).encode())
    return spec


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--openmetrics", metavar="OUT.om", help="write OpenMetrics text for promtool")
    ap.add_argument("--scenarios", metavar="OUT.json", help="write the scenario description")
    ap.add_argument("--markdown", metavar="OUT.md", help="write the scenario table (SCENARIOS.md)")
    args = ap.parse_args(argv)
    if not (args.openmetrics or args.scenarios or args.markdown):
        ap.error("nothing to do: give --openmetrics, --scenarios and/or --markdown")
    spec = write_all(args.openmetrics, args.scenarios, args.markdown)
    print(f"{spec['series']} series, {spec['samples']} samples, {len(spec['scenarios'])} scenarios, "
          f"sha256 {spec['openmetrics_sha256'][:16]}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
