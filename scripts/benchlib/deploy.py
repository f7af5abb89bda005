#!/usr/bin/env python3
"""The deploy benchmarks behind `scripts/bench deploy-detection` and `deploy-tick` (issue 12).
Like backup.py (whose run preparation, luminatectl configuration file, timing and report this
imports), each target is measured against a reference in the same invocation and reported as
a ratio.

    deploy.py --bin LUMINATECTL --work DIR [detection] [tick] [--sandbox DIR]

A sandbox of its own (`scripts/sandbox up --state-dir DIR/sb`, brought down on the way out,
whatever happens; --sandbox DIR uses one that is already up and leaves it up). The runs are the
live end-to-end errors deploy of the integration tests (DeployHarness.swift): the production
overlay with `luminate=ghcr.io/luminate/luminate:2.5.0-errors`, `--emergency --skip-rpo-guard`,
a configuration file with short windows (error rate 5 % for 20 s, p95 500 ms for 30 s, bake
60 s every 2 s). Before each run the emulator runs the healthy 2.4.1 and Prometheus's 1m error
ratio is < 1 % (p95 < 0.3 s). Both targets read the same runs:

- detection: each run's `decision.detectionSeconds` (the deciding evaluation to `rollout undo`
  issued) against one interval + 1 s; the reference is the interval itself (a scheduler on a
  fixed grid can promise detection at the next evaluation at best).
- tick: every evaluation of the runs (the journal's `evaluate <time>` steps): median, p95 and max
  of the step's record time minus its grid time (the step's own durationSeconds times only the
  journaling: Bake.run evaluates before session.step; it is shown beside), the grid pinned by
  the decision's satisfiedAt. Against the bare queries a tick makes issued at once from Python
  (urllib, one thread each): the two Prometheus instant queries at an explicit time and one
  `SELECT 1` per replica through the configured HTTP URL (`remote('host:port', system.one)`, as
  the corruption probes reach each replica), median of 50; a second reference, interleaved,
  sends the product's own probe statement per replica instead. Absolute target 50 ms.
  luminatectl's own CPU per tick is read from /proc while it runs.

Knobs (environment): BENCH_DEPLOY_RUNS (default 3), BENCH_DEPLOY_INTERVAL (seconds, default 2),
BENCH_DEPLOY_REF_ROUNDS (default 50).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import backup as b  # noqa: E402  (puts scripts/localenv on sys.path too)
from backup import Luminatectl, Report, env_int, log, med  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SANDBOX = REPO / "scripts" / "sandbox"
ENV = "bench-deploy"
HEALTHY = "ghcr.io/luminate/luminate:2.4.1"
ERRORS = "ghcr.io/luminate/luminate:2.5.0-errors"
EMERGENCY = ["--emergency", "--approved-by", "bench", "--reason", "scripts/bench deploy", "--skip-rpo-guard"]
# The product's queries (Sources/OpsKit/Deploy/Analysis/MetricCriterion.swift), as the issue gives them.
ERROR_RATIO = 'sum(rate(luminate_http_requests_total{code=~"5.."}[1m])) / sum(rate(luminate_http_requests_total[1m]))'
P95 = "histogram_quantile(0.95, sum by (le) (rate(luminate_http_request_duration_seconds_bucket[1m])))"
TICK_TARGET_S = 0.050
# The corruption probes' statement for one replica of an 18.16 cluster, as the product sends it
# (ClickHouseCorruptionSource.sweepSQL at this commit, read off the wire with strace; 18.16 has no
# detached-parts probe): the second reference, what the probes themselves cost the server.
SWEEP_SQL = """SELECT 'rows' AS probe, database, table, partition_id AS partition, sum(rows) AS rows, \
toString(max(modification_time) < now() - INTERVAL 3600 SECOND) AS detail FROM remote('{a}', system.parts) \
WHERE active AND startsWith(engine, 'Replicated') GROUP BY database, table, partition_id
UNION ALL
SELECT 'read-only', database, table, '', toUInt64(0), replica_name FROM remote('{a}', system.replicas) WHERE is_readonly
UNION ALL
SELECT 'queue', database, table, '', toUInt64(num_tries), concat(type, ' ', new_part_name, ' since ', \
toString(create_time), ': ', last_exception) FROM remote('{a}', system.replication_queue) \
WHERE last_exception != '' AND create_time < now() - INTERVAL 600 SECOND
FORMAT JSON"""


# --------------------------------------------------------------------------
# the sandbox


class Sandbox:
    def __init__(self, state_dir: Path, own: bool):
        self.dir, self.own, self.env = state_dir, own, {}

    def up(self) -> None:
        if self.own:
            t0 = time.perf_counter()
            subprocess.run([str(SANDBOX), "up", "--state-dir", str(self.dir)], check=True, stdout=sys.stderr)
            log(f"sandbox up in {self.dir} ({time.perf_counter() - t0:.0f} s)")
        out = subprocess.run([str(SANDBOX), "env", "--state-dir", str(self.dir), "--json", "--tests"],
                             check=True, capture_output=True, text=True).stdout
        self.env = json.loads(out)

    def down(self) -> None:
        if self.own:
            subprocess.run([str(SANDBOX), "down", "--state-dir", str(self.dir)], stdout=sys.stderr)

    # ---- helpers on it, as DeployHarness has them

    def kubectl(self, *args: str, stdin: str | None = None, namespaced: bool = True) -> subprocess.CompletedProcess:
        argv = ["kubectl", "--context=luminate-local", *(["--namespace=luminate"] if namespaced else []), *args]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.dir),
               "KUBECONFIG": self.env["KUBECONFIG"], "KUBECACHEDIR": self.env["KUBECACHEDIR"]}
        return subprocess.run(argv, input=stdin, env=env, capture_output=True, text=True, timeout=60)

    def deployed_image(self) -> str:
        res = self.kubectl("get", "deployment", "luminate", "-o",
                           'jsonpath={.spec.template.spec.containers[?(@.name=="luminate")].image}')
        return res.stdout.strip()

    def emulator(self, method: str, path: str) -> None:
        req = urllib.request.Request(self.env["LUMINATECTL_KUBE_EMULATOR_URL"] + "/_emulator/" + path, data=b"{}",
                                     method=method, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            r.read()

    def prometheus(self, query: str, at: float | None = None, timeout: float = 10) -> float | None:
        params = {"query": query}
        if at is not None:
            params["time"] = f"{at:.3f}"
        url = self.env["LUMINATECTL_PROMETHEUS_URL"] + "/api/v1/query?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=timeout) as r:
            body = json.load(r)
        result = body["data"]["result"]
        if not result:
            return None
        value = float(result[0]["value"][1])
        return None if value != value else value        # NaN: no traffic in the window

    def start_healthy(self, timeout: float = 180) -> float:
        """The healthy image rolled out and the traffic healthy over a whole minute (a previous
        run's errors out of the rate window). Returns the seconds it took."""
        t0 = time.perf_counter()
        self.emulator("DELETE", "rollout-behaviour")
        self.emulator("DELETE", "fail")
        if self.deployed_image() != HEALTHY:
            rendered = self.kubectl("kustomize", str(REPO / "manifests" / "overlays" / "production"))
            b.require_ok("kubectl kustomize", rendered)
            b.require_ok("kubectl apply", self.kubectl("apply", "-f", "-", stdin=rendered.stdout, namespaced=False))
            b.require_ok("kubectl rollout status", self.kubectl("rollout", "status", "deployment/luminate", "--timeout=60s"))
        while time.perf_counter() - t0 < timeout:
            ratio, p95 = self.prometheus(ERROR_RATIO), self.prometheus(P95)
            if ratio is not None and ratio < 0.01 and p95 is not None and p95 < 0.3:
                return time.perf_counter() - t0
            time.sleep(1)
        raise RuntimeError(f"the sandbox's traffic did not become healthy within {timeout:.0f} s")


def configure(sb: Sandbox, ctl: Luminatectl, interval: float) -> None:
    """DeployHarness's configuration file: short windows, every `interval`."""
    q, e = json.dumps, sb.env
    ctl.add_environment(ENV, [
        f'kubernetes: {{context: "luminate-local", namespace: "luminate", kubeconfig: {q(e["KUBECONFIG"])}}}',
        "clickhouse:",
        f"  url: {q(e['LUMINATECTL_CLICKHOUSE_URL'])}",
        f"  native: {q(e['LUMINATECTL_CLICKHOUSE_NATIVE'])}",
        "  user: ops",
        f"  cluster: {q(e['LUMINATECTL_CLICKHOUSE_CLUSTER'])}",
        '  database: "luminate"',
        f"  password: {{file: {q(e['LUMINATECTL_CLICKHOUSE_PASSWORD_FILE'])}}}",
        f"prometheus: {{url: {q(e['LUMINATECTL_PROMETHEUS_URL'])}}}",
        "policy:",
        "  rollback:",
        "    errorRate: {above: 0.05, for: 20s}",
        "    p95Latency: {above: 500ms, for: 30s}",
        f"  deploy: {{bake: 60s, interval: {interval:g}s}}",
    ])


def environ(sb: Sandbox, ctl: Luminatectl) -> dict:
    return {**ctl.environ(), "KUBECACHEDIR": sb.env["KUBECACHEDIR"]}


def parse_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


# --------------------------------------------------------------------------
# the runs


def journal_events(ctl: Luminatectl) -> list[dict]:
    path = ctl.journal(ENV)
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def own_cpu(pid: int) -> float | None:
    """utime + stime of the process itself, all its threads, not its children (/proc/PID/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def timed_sampling_cpu(argv: list[str], env: dict, samples: list) -> tuple[float, None, subprocess.CompletedProcess]:
    """backup.py's timed(), with the process's own CPU time read every 20 ms while it runs."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out: dict[str, str] = {}
    readers = [threading.Thread(target=lambda k=k, f=f: out.__setitem__(k, f.read())) for k, f in
               (("stdout", proc.stdout), ("stderr", proc.stderr))]
    for r in readers:
        r.start()
    while proc.poll() is None:
        cpu = own_cpu(proc.pid)
        if cpu is not None:
            samples.append((time.time(), cpu))
        time.sleep(0.02)
    for r in readers:
        r.join()
    return time.perf_counter() - t0, None, subprocess.CompletedProcess(argv, proc.returncode, out["stdout"], out["stderr"])


def cpu_between(samples: list[tuple[float, float]], start: float, end: float) -> float | None:
    inside = [c for t, c in samples if start <= t <= end]
    return (inside[-1] - inside[0]) if len(inside) >= 2 else None


def one_run(sb: Sandbox, ctl: Luminatectl, index: int, interval: float) -> dict:
    waited = sb.start_healthy()
    before = len(journal_events(ctl))
    argv = ctl.argv(ENV, "deploy", "--overlay", "production", "--image", f"luminate={ERRORS}", *EMERGENCY, "-o", "json")
    samples: list[tuple[float, float]] = []      # (epoch seconds, the process's own CPU seconds)
    wall, _, res = timed_sampling_cpu(argv, environ(sb, ctl), samples)
    try:
        doc = json.loads(res.stdout)
    except json.JSONDecodeError:
        raise RuntimeError(f"deploy exited {res.returncode} without a JSON document:\n{res.stderr[-3000:]}\n{res.stdout[-1500:]}")
    decision = doc.get("decision") or {}
    if doc.get("result") != "rolled-back" or decision.get("detectionSeconds") is None:
        raise RuntimeError(f"run {index}: expected a rollback with a detection time, got result {doc.get('result')!r}:\n"
                           f"{res.stderr[-3000:]}\n{res.stdout[-2000:]}")
    image = sb.deployed_image()
    if image != HEALTHY:
        raise RuntimeError(f"run {index}: after the rollback the emulator runs {image!r}, not {HEALTHY}")

    events = [e for e in journal_events(ctl)[before:] if e.get("event") == "step"]
    # The grid: t0 is when the rollout finished (Bake.run's `start`), i.e. the record of the step
    # `wait for the rollout` (the deploy reads its clock right after journaling it, so this t0 is
    # early by that append at most, which makes the ticks below look longer, not shorter). The
    # evaluations' own `at` is in whole seconds, so it only says which grid time each one is.
    rolled = next((e for e in events if e.get("step") == "wait for the rollout"), None)
    origin = parse_time(rolled["time"]) if rolled else None
    # Better: the decision's satisfiedAt is the deciding evaluation's grid time to the
    # millisecond; when it is (its second is that evaluation's `at`), it pins the whole grid.
    deciding_step = next((e for e in events if str(e.get("step", "")).startswith("evaluate ")
                          and (e.get("evidence") or {}).get("decision") == "rollback"), None)
    deciding_at_s = ((deciding_step or {}).get("evidence") or {}).get("evaluation", {}).get("at")
    satisfied = decision.get("satisfiedAt")
    anchored = bool(satisfied and deciding_at_s and satisfied[:19] == deciding_at_s[:19])
    if anchored:
        origin = parse_time(satisfied)
    ticks = []
    for e in events:
        if not str(e.get("step", "")).startswith("evaluate "):
            continue
        evidence = e.get("evidence") or {}
        at = (evidence.get("evaluation") or {}).get("at")
        grid = None
        if at and origin is not None:
            k = round((parse_time(at) + 0.5 - origin) / interval)
            grid = origin + k * interval
        ticks.append({
            "step": e["step"],
            "journal_duration": float(e.get("durationSeconds") or 0.0),
            # The bake sleeps until the grid time, evaluates, then journals the step: the record's
            # time minus the grid time is the tick's wall time (plus the wake-up and the record).
            "grid_to_record": (parse_time(e["time"]) - grid) if grid is not None else None,
            "at": at,
            "decision": evidence.get("decision"),
        })
    grid_times = [parse_time(e["time"]) for e in events if str(e.get("step", "")).startswith("evaluate ")]
    cpu_per_tick = None
    if len(grid_times) >= 3:
        spent = cpu_between(samples, grid_times[1], grid_times[-1])   # from after the first tick to the last
        cpu_per_tick = spent / (len(grid_times) - 2) if spent is not None else None
    undo = next((e for e in events if "undo" in str(e.get("step", "")) or "roll back" in str(e.get("step", ""))), None)
    deciding = next((t for t in ticks if t["decision"] == "rollback"), None)
    return {
        "wall": wall, "cpu_per_tick": cpu_per_tick, "anchored": anchored, "waited": waited, "doc": doc, "decision": decision, "ticks": ticks,
        "detection": float(decision["detectionSeconds"]), "criterion": decision.get("criterion"),
        "satisfied_at": decision.get("satisfiedAt"), "issued_at": decision.get("rollbackIssuedAt"),
        "deciding_at": deciding["at"] if deciding else None,
        "undo_step": undo.get("step") if undo else None,
        "undo_step_s": float(undo.get("durationSeconds") or 0) if undo else None,
    }


# --------------------------------------------------------------------------
# the tick's reference: the bare queries, at once


def replicas(sb: Sandbox, headers: dict) -> list[str]:
    sql = (f"SELECT host_name, port FROM system.clusters WHERE cluster = '{sb.env['LUMINATECTL_CLICKHOUSE_CLUSTER']}' "
           "ORDER BY shard_num, replica_num FORMAT TSV")
    req = urllib.request.Request(sb.env["LUMINATECTL_CLICKHOUSE_URL"] + "/", data=sql.encode(), headers=headers)
    with urllib.request.urlopen(req, timeout=10) as r:
        rows = [line.split("\t") for line in r.read().decode().splitlines() if line]
    return [f"{host}:{port}" for host, port in rows]


def reference(sb: Sandbox, rounds: int) -> tuple[dict[str, list[float]], int]:
    """Two references, interleaved round by round: `select1` (the bare minimum a tick needs: the
    two instant queries and one SELECT 1 per replica through the configured server) and `sweep`
    (the same with the product's own probe statement per replica instead of SELECT 1)."""
    password = Path(sb.env["LUMINATECTL_CLICKHOUSE_PASSWORD_FILE"]).read_text().strip()
    headers = {"X-ClickHouse-User": "ops", "X-ClickHouse-Key": password}
    addresses = replicas(sb, headers)
    ch_url = sb.env["LUMINATECTL_CLICKHOUSE_URL"] + "/?database=luminate"

    def prom(query: str, at: float) -> None:
        sb.prometheus(query, at=at)               # a value or none: the cost is the request

    def clickhouse(sql: str) -> None:
        req = urllib.request.Request(ch_url, data=sql.encode(), headers=headers)
        with urllib.request.urlopen(req, timeout=10) as r:
            if not r.read().strip():
                raise RuntimeError(f"no answer to {sql[:60]}")

    statements = {
        "select1": [f"SELECT 1 FROM remote('{a}', system.one) FORMAT TSV" for a in addresses],
        "sweep": [SWEEP_SQL.format(a=a) for a in addresses],
    }
    times: dict[str, list[float]] = {k: [] for k in statements}
    with ThreadPoolExecutor(2 + len(addresses)) as pool:
        for i in range(rounds + 3):                # 3 warm-up rounds
            for kind in (("select1", "sweep") if i % 2 == 0 else ("sweep", "select1")):
                at = time.time()
                t0 = time.perf_counter()
                futures = [pool.submit(prom, ERROR_RATIO, at), pool.submit(prom, P95, at)]
                futures += [pool.submit(clickhouse, sql) for sql in statements[kind]]
                for f in futures:
                    f.result()
                if i >= 3:
                    times[kind].append(time.perf_counter() - t0)
                time.sleep(0.05)
    return times, len(addresses)


# --------------------------------------------------------------------------


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    k = (len(s) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def ms(v: float) -> str:
    return f"{v * 1000:.1f}"


def report_detection(runs: list[dict], interval: float, report: Report) -> None:
    bound = interval + 1
    rows = []
    for i, r in enumerate(runs, 1):
        rows.append((f"run {i} ({r['criterion']})", f"{r['detection']:.3f}", f"{r['detection'] / bound:.2f}x",
                     f"{r['detection'] / interval:.2f}x", (r["satisfied_at"] or "-")[11:23], (r["issued_at"] or "-")[11:23],
                     f"{r['wall']:.1f}"))
    worst = max(r["detection"] for r in runs)
    rows.append(("max", f"{worst:.3f}", f"{worst / bound:.2f}x", f"{worst / interval:.2f}x", "", "", ""))
    rows.append((f"reference: the interval", f"{interval:.3f}", f"{interval / bound:.2f}x", "1.00x", "", "", ""))
    rows.append((f"target: interval + 1 s", f"{bound:.3f}", "1.00x", f"{bound / interval:.2f}x", "", "", ""))
    report.block(f"deploy detection (errors image, interval {interval:g} s, {len(runs)} live runs)",
                 ("", "detection s", "vs int+1", "vs interval", "satisfiedAt", "undo issued", "deploy s"), rows)
    for i, r in enumerate(runs, 1):
        same = (r["satisfied_at"] or "")[:19] == (r["deciding_at"] or "-")[:19]
        report.note(f"  run {i}: deciding evaluation at {(r['deciding_at'] or '-')[11:23]} "
                    f"({'the second of satisfiedAt' if same else 'NOT satisfiedAt ' + str(r['satisfied_at'])}); "
                    f"{len(r['ticks'])} evaluations; healthy traffic after {r['waited']:.0f} s of waiting"
                    + (f"; step '{r['undo_step']}' {r['undo_step_s']:.2f} s" if r["undo_step"] else ""))
    report.verdict("deploy-detection", worst <= bound + 1e-9, f"detection <= interval + 1 s = {bound:g} s in every run")


def report_tick(runs: list[dict], refs: dict[str, list[float]], replica_count: int, report: Report) -> None:
    ticks = [t for r in runs for t in r["ticks"]]
    journal = [t["journal_duration"] for t in ticks]
    wall = [t["grid_to_record"] for t in ticks if t["grid_to_record"] is not None]
    later = [t["grid_to_record"] for r in runs for t in r["ticks"][1:] if t["grid_to_record"] is not None]
    first = [r["ticks"][0]["grid_to_record"] for r in runs if r["ticks"] and r["ticks"][0]["grid_to_record"] is not None]
    ref = refs["select1"]
    ref_med = med(ref)
    rows = []
    for name, values in (("tick: grid time -> step journaled", wall), ("  the first tick of each run", first),
                         ("  every later tick", later), ("journal durationSeconds of the step", journal)):
        if values:
            rows.append((name, ms(med(values)), ms(pct(values, 0.95)), ms(max(values)),
                         f"{med(values) / ref_med:.2f}x", str(len(values))))
    rows.append((f"reference: 2 PromQL + {replica_count} SELECT 1, at once", ms(ref_med), ms(pct(ref, 0.95)), ms(max(ref)),
                 "1.00x", str(len(ref))))
    sweep = refs["sweep"]
    rows.append((f"  same, the product's probe statement instead", ms(med(sweep)), ms(pct(sweep, 0.95)), ms(max(sweep)),
                 f"{med(sweep) / ref_med:.2f}x", str(len(sweep))))
    rows.append(("target", "50.0", "50.0", "50.0", "", ""))
    report.block(f"deploy tick (every evaluation of the {len(runs)} runs)",
                 ("", "median ms", "p95 ms", "max ms", "vs ref", "n"), rows)
    cpu = [r["cpu_per_tick"] for r in runs if r.get("cpu_per_tick") is not None]
    if cpu:
        report.note(f"  luminatectl's own CPU (user+sys, /proc every 20 ms) per evaluation during the bake: "
                    f"{', '.join(ms(c) for c in cpu)} ms (runs)")
    report.note("  grid times pinned by " + ", ".join("satisfiedAt" if r.get("anchored") else "the rollout's journal record"
                                                     for r in runs) + " (runs)")
    tick = wall or journal
    if wall and max(journal) < 0.005 < med(wall):
        report.note("  note: the journal's durationSeconds of `evaluate <time>` times only the journaling of the "
                    "evaluation, not the evaluation (Bake.run evaluates before session.step); the tick's wall time is "
                    "the step's record time minus its grid time, judged below.")
    report.verdict("deploy-tick", max(tick) <= TICK_TARGET_S,
                   f"every tick <= 50 ms: median {ms(med(tick))}, p95 {ms(pct(tick, 0.95))}, max {ms(max(tick))} ms; "
                   f"{med(tick) / ref_med:.2f}x the bare queries, {med(tick) / med(sweep):.2f}x the product's own statements")


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--sandbox", help="a sandbox already up (its state directory): used, left up")
    p.add_argument("targets", nargs="*", default=["detection", "tick"])
    args = p.parse_args(argv)
    for t in args.targets:
        if t not in ("detection", "tick"):
            raise SystemExit(f"unknown deploy benchmark {t}")
    work = b.prepare_run(args.work)
    if work is None:
        return 1
    interval = float(os.environ.get("BENCH_DEPLOY_INTERVAL", "2"))
    run_count = env_int("BENCH_DEPLOY_RUNS", 3)
    ref_rounds = env_int("BENCH_DEPLOY_REF_ROUNDS", 50)

    sb = Sandbox(Path(args.sandbox).resolve() if args.sandbox else work / "sb", own=not args.sandbox)
    ctl = Luminatectl(args.bin, work)
    report = Report()
    start_load = b.loadavg()
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    try:
        sb.up()
        configure(sb, ctl, interval)
        runs = []
        for i in range(1, run_count + 1):
            log(f"deploy run {i} of {run_count}: waiting for healthy traffic, then the errors image")
            runs.append(one_run(sb, ctl, i, interval))
            log(f"run {i}: detection {runs[-1]['detection']:.3f} s, {len(runs[-1]['ticks'])} evaluations, "
                f"deploy {runs[-1]['wall']:.1f} s")
        ref, replica_count = ({}, 0)
        if "tick" in args.targets:
            sb.start_healthy()
            ref, replica_count = reference(sb, ref_rounds)
        (work / "runs.json").write_text(json.dumps([{k: v for k, v in r.items()} for r in runs], indent=1, default=str))
        if "detection" in args.targets:
            report_detection(runs, interval, report)
        if "tick" in args.targets:
            report_tick(runs, ref, replica_count, report)
    except KeyboardInterrupt:
        log("interrupted: bringing the sandbox down")
        return 130
    finally:
        sb.down()
    print(f"(deploy benchmarks {started:%Y-%m-%d %H:%M} UTC, {time.perf_counter() - t0:.0f} s; load average "
          f"{start_load} at the start, {b.loadavg()} at the end; {os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
