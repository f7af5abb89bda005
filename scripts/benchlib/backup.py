#!/usr/bin/env python3
"""The backup benchmarks behind `scripts/bench backup` (issue 10). Each target is measured
against a reference that does the same work by hand, in the same run, interleaved round by
round (the order alternates), and reported as a ratio or a difference of medians.

    backup.py --bin LUMINATECTL --work DIR [list] [native] [freeze]

Servers come from scripts/localenv (s3.py: moto; modern.py: chfront + chdb; clickhouse.py:
one ClickHouse 18.16 server); every one is stopped by PID on the way out, whatever happens.
Standard library only, plus the local environment's venv for moto and chdb (pyvenv.py).
Knobs (environment): BENCH_ROUNDS (native and freeze; BENCH_NATIVE_ROUNDS default 5,
BENCH_FREEZE_ROUNDS default 3), BENCH_LIST_ROUNDS (default 10), BENCH_NATIVE_ROWS (default
10,000,000), BENCH_FREEZE_ROWS (the timed table, default 10,000,000), BENCH_FREEZE_SMALL_ROWS
and BENCH_FREEZE_LARGE_ROWS (the other sizes of the RSS check, default 1,000,000 and 30,000,000).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import urllib.parse
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
LOCALENV = HERE.parent / "localenv"
sys.path.insert(0, str(LOCALENV))

import clickhouse  # noqa: E402
import modern  # noqa: E402
import pyvenv  # noqa: E402
import s3  # noqa: E402
import sandboxlib as lib  # noqa: E402

SIGV4 = "aws:amz:us-east-1:s3"
NATIVE_BUCKET = modern.BACKUP_BUCKET            # the modern node's `backups` disk lives here
DISK_PATH = "luminate/"                         # backup.diskPath, as the sandbox and the guide
LIST_BUCKET = s3.BUCKETS[1]                     # the 1,000 generated backups
LIST_PREFIX = "bench-list/"
LIST_COUNT = 1000
BENCH_DB = "bench"
BENCH_TABLE = "metrics"
FREEZE_PREFIX = "freeze/"                       # the freeze engine's store prefix in NATIVE_BUCKET
DAYS = 60
FIRST_DAY = datetime(2026, 9, 29, tzinfo=timezone.utc)


def log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value.replace("_", "").replace(",", "")) if value else default


# --------------------------------------------------------------------------
# servers


class Servers:
    """Everything started here, stopped in reverse order by `stop` (by PID, with the records'
    start times and command lines checked, as the sandbox does)."""

    def __init__(self, work: Path):
        self.work = work
        self.records: list[dict] = []
        self.s3: dict | None = None
        self.modern: dict | None = None
        self.legacy: clickhouse.Node | None = None
        self.legacy_users: dict | None = None

    def _track(self, proc: subprocess.Popen) -> None:
        self.records.append(lib.proc_record(proc.pid, proc.args if isinstance(proc.args, list) else None))

    def start_s3(self) -> dict:
        if self.s3:
            return self.s3
        (port,) = lib.pick_free_ports(1)
        plan = s3.prepare(self.work / "s3", port)
        proc = s3.start(plan)
        self._track(proc)
        s3.wait_ready(plan, proc)
        self.records[-1] = lib.proc_record(proc.pid, proc.args)   # after exec: the real cmdline
        s3.create_buckets(plan)
        # The secret alone, 0600, for luminatectl's {file: ...} and the curl references.
        plan["secret_only_file"] = str(self.work / "s3" / "secret-access-key")
        lib.write_private(Path(plan["secret_only_file"]), s3.secret(plan))
        curl_auth = self.work / "s3" / "curl-user.conf"
        lib.write_private(curl_auth, f'user = "{plan["access_key_id"]}:{s3.secret(plan)}"\n')
        plan["curl_auth"] = str(curl_auth)
        self.s3 = plan
        log(f"moto S3 on {plan['url']}")
        return plan

    def start_modern(self) -> dict:
        if self.modern:
            return self.modern
        s3plan = self.start_s3()
        (port,) = lib.pick_free_ports(1)
        plan = modern.prepare(self.work / "modern", port, s3plan)
        proc = modern.start(plan)
        self._track(proc)
        modern.wait_ready(plan, proc, timeout=60)
        self.records[-1] = lib.proc_record(proc.pid, proc.args)
        modern.seed(plan)
        header = self.work / "modern" / "curl-headers"
        lib.write_private(header, f"X-ClickHouse-User: ops\nX-ClickHouse-Key: {modern.password(plan, 'ops')}\n")
        plan["curl_headers"] = str(header)
        self.modern = plan
        log(f"modern ClickHouse (chdb behind chfront) on {plan['url']}")
        return plan

    def start_legacy(self) -> clickhouse.Node:
        """One ClickHouse 18.16 server: clickhouse.py's node config without ZooKeeper (a single
        server needs none; cluster "" in luminatectl's config)."""
        if self.legacy:
            return self.legacy
        ports = lib.pick_free_ports(clickhouse.PORTS_PER_NODE)
        base = self.work / "ch18"
        node = clickhouse.plan_nodes(base, ports + [0] * (clickhouse.PORTS_PER_NODE * clickhouse.NODE_COUNT - len(ports)))[0]
        node.dir = str(base / "node")
        users = clickhouse.make_users(base / "secrets")
        clickhouse.prepare(node, [node], 0, users)
        text = Path(node.config).read_text()
        text = re.sub(r"\s*<zookeeper>.*?</zookeeper>", "", text, flags=re.S)
        text = re.sub(r"\s*<distributed_ddl>.*?</distributed_ddl>", "", text, flags=re.S)
        # The benchmark's own parts are large: the default profile's 2 GB limit is ample, the
        # log level only costs time.
        text = text.replace("<level>information</level>", "<level>warning</level>")
        Path(node.config).write_text(text)
        clickhouse.write_client_configs(users, node, base / "secrets")
        proc = clickhouse.start(node)
        self._track(proc)
        clickhouse.wait_ready(node, proc)
        self.records[-1] = lib.proc_record(proc.pid, proc.args)
        self.legacy, self.legacy_users = node, users
        log(f"ClickHouse {legacy_query(self, 'SELECT version()').strip()} on {node.url} (native {node.tcp_port})")
        return node

    def stop(self) -> None:
        if not self.records:
            return
        killed = lib.stop_processes(list(reversed(self.records)), grace=10)
        for r in killed:
            log(f"pid {r['pid']} did not stop on SIGTERM: killed")
        left = [r for r in self.records if lib.is_running(r)]
        if left:
            log(f"still running after stop: {[r['pid'] for r in left]}")
        self.records = []


def legacy_query(servers: Servers, sql: str, timeout: float = 600) -> str:
    password = clickhouse.password_of(servers.legacy_users, "ops")
    return clickhouse.query(servers.legacy, sql, user="ops", password=password, timeout=timeout)


# --------------------------------------------------------------------------
# S3 by hand (unsigned: moto accepts it), for setup and cleanup, never timed


def sigv4_headers(method: str, host: str, path: str, body: bytes, access_key: str, secret: str,
                  region: str = s3.REGION) -> dict:
    """AWS Signature Version 4 headers for one S3 request (moto checks no signature, but it
    takes the owner of what is written from the Authorization header and refuses anonymous
    reads of it)."""
    import hmac
    now = datetime.now(timezone.utc)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    payload = hashlib.sha256(body).hexdigest()
    raw_path, _, raw_query = path.partition("?")
    pairs = sorted(urllib.parse.parse_qsl(raw_query, keep_blank_values=True))
    if raw_query and not pairs:
        pairs = [(raw_query, "")]
    query = "&".join(f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}" for k, v in pairs)
    canonical_path = urllib.parse.quote(urllib.parse.unquote(raw_path), safe="/-_.~")
    headers = {"host": host, "x-amz-content-sha256": payload, "x-amz-date": amz_date}
    signed = ";".join(sorted(headers))
    canonical = "\n".join([method, canonical_path, query, *(f"{k}:{headers[k]}" for k in sorted(headers)), "",
                           signed, payload])
    scope = f"{day}/{region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in (day, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return {"x-amz-content-sha256": payload, "x-amz-date": amz_date,
            "Authorization": f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={signed}, Signature={signature}"}


class Moto:
    def __init__(self, plan: dict):
        self.plan = plan
        self.secret = s3.secret(plan)
        self.conn = http.client.HTTPConnection(lib.LOOPBACK, plan["port"], timeout=120)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None) -> tuple[int, bytes]:
        headers = dict(headers or {})
        headers.update(sigv4_headers(method, f"{lib.LOOPBACK}:{self.plan['port']}", path, body or b"",
                                     self.plan["access_key_id"], self.secret))
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                resp = self.conn.getresponse()
                return resp.status, resp.read()
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(lib.LOOPBACK, self.plan["port"], timeout=120)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def put(self, bucket: str, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        status, body = self.request("PUT", f"/{bucket}/{urllib.parse.quote(key)}", data,
                                    {"Content-Type": content_type, "Content-Length": str(len(data))})
        if status != 200:
            raise RuntimeError(f"PUT {bucket}/{key}: HTTP {status} {body[:300]!r}")

    def get(self, bucket: str, key: str) -> bytes | None:
        status, body = self.request("GET", f"/{bucket}/{urllib.parse.quote(key)}")
        if status == 404:
            return None
        if status != 200:
            raise RuntimeError(f"GET {bucket}/{key}: HTTP {status} {body[:300]!r}")
        return body

    def keys(self, bucket: str, prefix: str) -> list[str]:
        return [k for k, _ in self.objects(bucket, prefix)]

    def size(self, bucket: str, prefix: str) -> tuple[int, int]:
        """(objects, bytes) under prefix."""
        objects = self.objects(bucket, prefix)
        return len(objects), sum(size for _, size in objects)

    def objects(self, bucket: str, prefix: str) -> list[tuple[str, int]]:
        import xml.etree.ElementTree as ET
        out: list[tuple[str, int]] = []
        token = None
        while True:
            q = {"list-type": "2", "prefix": prefix}
            if token:
                q["continuation-token"] = token
            status, body = self.request("GET", f"/{bucket}?{urllib.parse.urlencode(q)}")
            if status != 200:
                raise RuntimeError(f"listing {bucket}/{prefix}: HTTP {status} {body[:300]!r}")
            root = ET.fromstring(body)
            ns = root.tag[:root.tag.index("}") + 1] if root.tag.startswith("{") else ""
            for c in root.iter(f"{ns}Contents"):
                out.append((c.findtext(f"{ns}Key") or "", int(c.findtext(f"{ns}Size") or 0)))
            if (root.findtext(f"{ns}IsTruncated") or "false").lower() != "true":
                return out
            token = root.findtext(f"{ns}NextContinuationToken")

    def delete_prefix(self, bucket: str, prefix: str) -> int:
        keys = self.keys(bucket, prefix)
        for i in range(0, len(keys), 1000):
            batch = keys[i:i + 1000]
            xml = "<Delete><Quiet>true</Quiet>" + "".join(
                f"<Object><Key>{k.replace('&', '&amp;').replace('<', '&lt;')}</Key></Object>" for k in batch) + "</Delete>"
            data = xml.encode()
            md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
            status, body = self.request("POST", f"/{bucket}?delete", data,
                                        {"Content-MD5": md5, "Content-Type": "application/xml",
                                         "Content-Length": str(len(data))})
            if status != 200:
                raise RuntimeError(f"DeleteObjects {bucket}/{prefix}: HTTP {status} {body[:300]!r}")
        left = self.keys(bucket, prefix)
        if left:
            raise RuntimeError(f"{len(left)} objects left under {bucket}/{prefix} after DeleteObjects")
        return len(keys)


# --------------------------------------------------------------------------
# luminatectl: a config file of its own, a clean environment


class Luminatectl:
    def __init__(self, binary: str, work: Path):
        self.binary = binary
        self.work = work
        self.home = work / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.config = work / "luminatectl.yaml"
        self.environments: dict[str, list[str]] = {}

    def add_environment(self, name: str, lines: list[str]) -> None:
        self.environments[name] = lines
        text = ["# Written by scripts/benchlib/backup.py for one benchmark run.", "environments:"]
        for env, body in self.environments.items():
            text.append(f"  {env}:")
            text += [f"    {line}" for line in body]
            text.append(f"    journal: {{path: {json.dumps(str(self.journal(env)))}}}")
        lib.write_private(self.config, "\n".join(text) + "\n")

    def journal(self, env: str) -> Path:
        return self.work / f"journal-{env}.jsonl"

    def environ(self) -> dict:
        # Nothing of the caller's LUMINATECTL_*, KUBECONFIG or ~/.kube: no Lease, the lock file only.
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "XDG_STATE_HOME": str(self.work / "state"),
            "XDG_CACHE_HOME": str(self.work / "cache"),
            "XDG_CONFIG_HOME": str(self.work / "config"),
            "LUMINATECTL_CONFIG": str(self.config),
            "NO_COLOR": "1",
            "LANG": "C.UTF-8",
            "TZ": "UTC",
        }

    def argv(self, env: str, *args: str) -> list[str]:
        return [self.binary, "--env", env, *args]

    def run(self, env: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        res = subprocess.run(self.argv(env, *args), env=self.environ(), cwd=self.work,
                             capture_output=True, text=True)
        if check and res.returncode != 0:
            raise RuntimeError(f"luminatectl {' '.join(args)} exited {res.returncode}:\n{res.stderr[-3000:]}\n{res.stdout[-2000:]}")
        return res

    def steps(self, env: str) -> dict[str, float]:
        """Step name -> seconds, from the journal's `step` events of the last operation (ids in
        step names shown as <id>), plus "(whole operation)" from its `finished` event."""
        events = [json.loads(line) for line in self.journal(env).read_text().splitlines() if line.strip()]
        started = [e for e in events if e.get("event") == "started"]
        if not started:
            return {}
        operation = started[-1].get("operation")
        out: dict[str, float] = {}
        for e in events:
            if e.get("operation") != operation or e.get("durationSeconds") is None:
                continue
            if e.get("event") == "step":
                name = re.sub(r"\d{8}T\d{6}Z", "<id>", e.get("step") or "?")
                out[name] = out.get(name, 0.0) + float(e["durationSeconds"])
            elif e.get("event") == "finished":
                out["(whole operation)"] = float(e["durationSeconds"])
        return out


def s3_store_lines(plan: dict, bucket: str, prefix: str) -> list[str]:
    q = json.dumps
    return [
        "backup:",
        "  store:",
        "    s3:",
        f"      endpoint: {q(plan['url'])}",
        f"      region: {q(plan['region'])}",
        f"      bucket: {q(bucket)}",
        f"      prefix: {q(prefix)}",
        f"      accessKeyId: {q(plan['access_key_id'])}",
        f"      secretAccessKey: {{file: {q(plan['secret_only_file'])}}}",
    ]


def legacy_clickhouse_lines(servers: Servers, database: str) -> list[str]:
    """The 18.16 server as one environment's clickhouse section: HTTP and the native port (the
    freeze engine's clickhouse-client), `cluster: ""`."""
    q = json.dumps
    node = servers.legacy
    return [
        "clickhouse:",
        f"  url: {q(node.url)}",
        f"  native: {q(f'{lib.LOOPBACK}:{node.tcp_port}')}",
        "  user: ops",
        '  cluster: ""',
        f"  database: {q(database)}",
        f"  password: {{file: {q(servers.legacy_users['ops']['password_file'])}}}",
    ]


def legacy_curl_headers(servers: Servers, work: Path) -> Path:
    """A curl header file (-H @FILE) with the 18.16 server's ops credentials, 0600."""
    header = work / "ch18" / "curl-headers"
    password = clickhouse.password_of(servers.legacy_users, "ops")
    lib.write_private(header, f"X-ClickHouse-User: ops\nX-ClickHouse-Key: {password}\n")
    return header


def modern_clickhouse_lines(plan: dict, database: str) -> list[str]:
    q = json.dumps
    return [
        "clickhouse:",
        f"  url: {q(plan['url'])}",
        "  user: ops",
        '  cluster: ""',
        f"  database: {q(database)}",
        f"  password: {{file: {q(plan['users']['ops']['password_file'])}}}",
    ]


# --------------------------------------------------------------------------
# timing


def vm_hwm_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def timed(argv: list[str], env: dict | None = None, cwd: Path | None = None, rss: bool = False,
          work: Path | None = None, sample: bool = False) -> tuple[float, float | None, subprocess.CompletedProcess]:
    """(wall seconds, peak RSS MB or None, result).

    Peak RSS is wait4's ru_maxrss, what GNU time -v prints as "Maximum resident set size": the
    largest of the process and the children it waited for (so for the freeze engine, whichever
    is larger of luminatectl and its clickhouse-client runs). With `sample`, the second value is
    instead the process's own VmHWM (/proc/PID/status), read every 5 ms while it runs: a lower
    bound of its own peak, without its children; `.maxrss_tree` then holds wait4's figure."""
    work = work or Path("/tmp")
    out_path = work / f"out-{os.getpid()}-{time.monotonic_ns()}"
    with open(f"{out_path}.stdout", "w+") as out, open(f"{out_path}.stderr", "w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        hwm = None
        if sample:
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                hwm = vm_hwm_mb(proc.pid) or hwm
                time.sleep(0.005)
        else:
            _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        res = subprocess.CompletedProcess(argv, proc.returncode, out.read(), err.read())
    for suffix in (".stdout", ".stderr"):
        Path(f"{out_path}{suffix}").unlink(missing_ok=True)
    res.maxrss_tree = usage.ru_maxrss / 1024          # type: ignore[attr-defined]
    res.cpu = usage.ru_utime + usage.ru_stime         # type: ignore[attr-defined]
    if sample:
        return wall, hwm, res
    return wall, (usage.ru_maxrss / 1024) if rss else None, res


def require_ok(what: str, res: subprocess.CompletedProcess) -> None:
    if res.returncode != 0:
        raise RuntimeError(f"{what} exited {res.returncode}:\n{res.stderr[-3000:]}\n{res.stdout[-1500:]}")


WHOLE = "(whole operation)"
OUTSIDE = "(outside it: start-up, configuration, lock, journal)"


def step_rows(steps: list[dict[str, float]]) -> list[tuple[str, str]]:
    """The whole operation, the process around it, then its steps, longest first (medians)."""
    names = sorted({k for st in steps for k in st} - {WHOLE, OUTSIDE}, key=lambda k: -med([st.get(k, 0.0) for st in steps]))
    return [("  " + n if n not in (WHOLE, OUTSIDE) else n, fmt_s(med([st.get(n, 0.0) for st in steps])))
            for n in [WHOLE, OUTSIDE, *names]]


def med(values: list[float]) -> float:
    return statistics.median(values)


def fmt_s(v: float) -> str:
    return f"{v:.2f}"


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


class Report:
    """Rows for the table printed at the end, and the target lines."""

    def __init__(self) -> None:
        self.blocks: list[str] = []
        self.verdicts: list[tuple[str, bool, str]] = []

    def block(self, title: str, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
        widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
        lines = [title]
        for r in [header, *rows]:
            lines.append("  " + "  ".join(str(c).ljust(widths[i]) if i == 0 else str(c).rjust(widths[i])
                                          for i, c in enumerate(r)))
        text = "\n".join(lines)
        self.blocks.append(text)
        print(text, flush=True)

    def note(self, text: str) -> None:
        self.blocks.append(text)
        print(text, flush=True)

    def verdict(self, name: str, ok: bool, target: str) -> None:
        self.verdicts.append((name, ok, target))
        print(f"{name}: {'within target' if ok else 'OUTSIDE target'} ({target})", flush=True)


# --------------------------------------------------------------------------
# data


def bench_table_sql(table: str, engine_extra: str = "") -> str:
    return f"""
CREATE TABLE {table}
(
    timestamp   DateTime,
    tenant      String,
    metric_name String,
    labels      String,
    value       Float64
)
ENGINE = MergeTree{engine_extra}
PARTITION BY toYYYYMMDD(timestamp)
ORDER BY (tenant, metric_name, timestamp)
"""


def bench_insert_sql(table: str, rows: int, source: str, days: int = DAYS) -> str:
    """`rows` rows spread evenly over `days` (DAYS) daily partitions (second resolution), 4 tenants, 5
    metrics, 64 hosts, values with three significant decimals: shaped like the seed, bigger.
    `source` is `numbers(N)` or, for 18.16's INSERT ... SELECT, `system.numbers LIMIT N`."""
    epoch = int(FIRST_DAY.timestamp())
    span = days * 86400
    tenants = ", ".join(f"'{t}'" for t in clickhouse.SEED_TENANTS)
    metrics = ", ".join(f"'{m}'" for m in clickhouse.SEED_METRICS)
    return f"""
INSERT INTO {table} (timestamp, tenant, metric_name, labels, value)
SELECT
    toDateTime({epoch} + intDiv(number * {span}, {rows})),
    [{tenants}][(number % {len(clickhouse.SEED_TENANTS)}) + 1],
    [{metrics}][(intDiv(number, {len(clickhouse.SEED_TENANTS)}) % {len(clickhouse.SEED_METRICS)}) + 1],
    concat('{{"host":"web-', toString(number % 64), '","region":"eu-west-1","pod":"ingest-', toString(intDiv(number, 7) % 300), '"}}'),
    round(((number * 7919) % 1000003) / 1000, 3)
FROM {source}
"""


def parts_summary(rows_tsv: str) -> tuple[int, int, int, int]:
    f = rows_tsv.split()
    return int(f[0]), int(f[1]), int(f[2]), int(f[3])


# --------------------------------------------------------------------------
# target 1: backup list over 1,000 backups


LIST_REF_S3 = r"""#!/usr/bin/env bash
# Reference for `backup list` on S3: the same round trips by hand. One ListObjectsV2 with
# delimiter '/', then GET every folder's manifest, 16 at a time on one curl (as luminatectl's
# 16-wide reads), all signed by curl --aws-sigv4. No JSON decoding, no sorting, no output.
# With a sixth argument "serial": one GET after another on one connection (moto's own pace).
set -euo pipefail
endpoint=$1 bucket=$2 prefix=$3 auth=$4 work=$5 mode=${6:-parallel}
listing=$(curl -sS --fail -K "$auth" --aws-sigv4 'aws:amz:us-east-1:s3' \
    "$endpoint/$bucket?list-type=2&delimiter=%2F&prefix=$prefix")
grep -q '<IsTruncated>false</IsTruncated>' <<<"$listing" || { echo "listing truncated" >&2; exit 1; }
grep -o '<Prefix>[^<]*/</Prefix>' <<<"$listing" | sed -e 's|^<Prefix>||' -e 's|</Prefix>$||' |
    awk -v p="$prefix" -v u="$endpoint/$bucket/" '$0 != p { print "url = \"" u $0 "luminatectl-manifest.json\""; print "output = \"/dev/null\"" }' \
    > "$work/urls.conf"
if [[ $mode == serial ]]; then parallel=(); else parallel=(-Z --parallel-max 16); fi
# "verify": print each GET's status (the harness checks 1,000 times 200 once, untimed).
if [[ $mode == verify ]]; then codes=(-w '%{http_code}\n'); else codes=(); fi
curl -sS --fail "${parallel[@]}" "${codes[@]}" -K "$auth" --aws-sigv4 'aws:amz:us-east-1:s3' -K "$work/urls.conf"
"""

LIST_REF_DIR = r"""#!/usr/bin/env bash
# Reference for `backup list` on a directory: list the folders, read every manifest.
set -euo pipefail
cat "$1"/*/luminatectl-manifest.json > /dev/null
"""


def generate_list_store(real: dict, moto: Moto | None, directory: Path) -> list[str]:
    """1,000 backup folders shaped like the real one: its manifest with another id, times shifted
    an hour apart (the hourly CronJob's cadence, newest = the real one), a new ClickHouse backup
    id and operation id; plus each folder's start marker. The data files of the backups are not
    copied: with a delimiter, S3 rolls them up server-side and luminatectl never sees them (moto
    would only scan them in Python)."""
    manifest = real["manifest"]
    marker = real["marker"]
    t0 = datetime.strptime(manifest["id"], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    ids = []
    for n in range(LIST_COUNT):
        shift = timedelta(hours=n)
        bid = (t0 - shift).strftime("%Y%m%dT%H%M%SZ")
        ids.append(bid)
        m = json.loads(json.dumps(manifest))
        m["id"] = bid
        for key in ("snapshotAt", "startedAt", "finishedAt"):
            m[key] = (datetime.fromisoformat(m[key].replace("Z", "+00:00")) - shift).strftime("%Y-%m-%dT%H:%M:%SZ")
        op = str(uuid.uuid4())
        m["operationID"] = op
        if m.get("native"):
            m["native"]["destination"] = f"Disk('backups', '{DISK_PATH}{bid}/')"
            m["native"]["clickhouseBackupID"] = str(uuid.uuid4())
        mk = json.loads(json.dumps(marker))
        mk["id"] = bid
        mk["startedAt"] = m["startedAt"]
        if "operationID" in mk:
            mk["operationID"] = op
        mdata = (json.dumps(m, indent=2, sort_keys=True) + "\n").encode()
        kdata = (json.dumps(mk, indent=2, sort_keys=True) + "\n").encode()
        if moto is not None:
            moto.put(LIST_BUCKET, f"{LIST_PREFIX}{bid}/luminatectl-started.json", kdata, "application/json")
            moto.put(LIST_BUCKET, f"{LIST_PREFIX}{bid}/luminatectl-manifest.json", mdata, "application/json")
        folder = directory / bid
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "luminatectl-started.json").write_bytes(kdata)
        (folder / "luminatectl-manifest.json").write_bytes(mdata)
    return ids


def take_real_native_backup(servers: Servers, ctl: Luminatectl, moto: Moto) -> dict:
    """One real backup of the modern node's seeded luminate database (60 partitions), by
    luminatectl; its manifest and start marker are the model for the generated ones."""
    plan = servers.start_modern()
    ctl.add_environment("bench-model", modern_clickhouse_lines(plan, modern.DATABASE)
                        + s3_store_lines(servers.s3, NATIVE_BUCKET, modern.BACKUP_PREFIX + DISK_PATH)
                        + ["  disk: backups", f"  diskPath: {json.dumps(DISK_PATH)}", "  engine: native"])
    res = ctl.run("bench-model", "backup", "create", "-o", "json")
    bid = json.loads(res.stdout)["id"]
    prefix = f"{modern.BACKUP_PREFIX}{DISK_PATH}{bid}/"
    manifest = json.loads(moto.get(NATIVE_BUCKET, prefix + "luminatectl-manifest.json"))
    marker = json.loads(moto.get(NATIVE_BUCKET, prefix + "luminatectl-started.json"))
    moto.delete_prefix(NATIVE_BUCKET, modern.BACKUP_PREFIX)
    return {"manifest": manifest, "marker": marker}


def bench_list(servers: Servers, ctl: Luminatectl, work: Path, report: Report) -> None:
    rounds = env_int("BENCH_LIST_ROUNDS", 10)
    s3plan = servers.start_s3()
    moto = Moto(s3plan)
    real = take_real_native_backup(servers, ctl, moto)
    directory = work / "list-store"
    t0 = time.perf_counter()
    ids = generate_list_store(real, moto, directory)
    manifest_bytes = (directory / ids[0] / "luminatectl-manifest.json").stat().st_size
    log(f"generated {len(ids)} backups ({manifest_bytes} B manifest each) in moto and {directory} "
        f"in {time.perf_counter() - t0:.1f} s")

    ctl.add_environment("bench-list-s3", s3_store_lines(s3plan, LIST_BUCKET, LIST_PREFIX))
    ctl.add_environment("bench-list-dir", ["backup:", "  store:", f"    path: {json.dumps(str(directory))}"])
    ref_s3 = work / "list-ref-s3.sh"
    ref_s3.write_text(LIST_REF_S3)
    ref_dir = work / "list-ref-dir.sh"
    ref_dir.write_text(LIST_REF_DIR)
    (work / "list-ref").mkdir(exist_ok=True)

    subjects = {
        "ours-s3": (ctl.argv("bench-list-s3", "backup", "list"), ctl.environ()),
        "ref-s3": (["bash", str(ref_s3), s3plan["url"], LIST_BUCKET, LIST_PREFIX, s3plan["curl_auth"],
                    str(work / "list-ref")], None),
        "ref-s3-serial": (["bash", str(ref_s3), s3plan["url"], LIST_BUCKET, LIST_PREFIX, s3plan["curl_auth"],
                           str(work / "list-ref"), "serial"], None),
        "ours-dir": (ctl.argv("bench-list-dir", "backup", "list"), ctl.environ()),
        "ref-dir": (["bash", str(ref_dir), str(directory)], None),
    }
    # Check once that luminatectl sees all 1,000 as complete (and warm every cache).
    for name in ("ours-s3", "ours-dir"):
        argv, env = subjects[name]
        res = subprocess.run(argv + ["-o", "json"], env=env, cwd=work, capture_output=True, text=True)
        require_ok(name, res)
        listed = json.loads(res.stdout)
        entries = listed.get("backups", listed) if isinstance(listed, dict) else listed
        complete = [e for e in entries if (e.get("state") or e.get("status")) in ("complete",)]
        if len(entries) != LIST_COUNT or len(complete) != LIST_COUNT:
            raise RuntimeError(f"{name}: backup list shows {len(entries)} backups, {len(complete)} complete; expected {LIST_COUNT}")
    verify = subprocess.run(subjects["ref-s3"][0] + ["verify"], capture_output=True, text=True)
    require_ok("ref-s3 verify", verify)
    if verify.stdout.split().count("200") != LIST_COUNT:
        raise RuntimeError(f"the S3 reference fetched {verify.stdout.split().count('200')} manifests, expected {LIST_COUNT}")
    for name, (argv, env) in subjects.items():       # warm-up
        require_ok(name, subprocess.run(argv, env=env, cwd=work, capture_output=True, text=True))

    times: dict[str, list[float]] = {k: [] for k in subjects}
    cpu: dict[str, list[float]] = {k: [] for k in subjects}
    rss: dict[str, list[float]] = {"ours-s3": [], "ours-dir": []}
    order = list(subjects)
    for r in range(rounds):
        for name in (order if r % 2 == 0 else list(reversed(order))):
            argv, env = subjects[name]
            wall, peak, res = timed(argv, env=env, cwd=work, rss=name in rss, work=work)
            require_ok(name, res)
            times[name].append(wall)
            cpu[name].append(res.cpu)
            if peak is not None:
                rss[name].append(peak)
    m = {k: med(v) for k, v in times.items()}
    c = {k: fmt_s(med(v)) for k, v in cpu.items()}
    report.block(
        f"backup list, {LIST_COUNT} backups ({manifest_bytes:,} B native manifests, 60 partitions each), "
        f"median of {rounds} interleaved runs",
        ("", "median s", "vs reference", "CPU s", "peak RSS MB"),
        [("luminatectl backup list, S3 (moto)", fmt_s(m["ours-s3"]), f"{m['ours-s3'] / m['ref-s3']:.2f}x", c["ours-s3"],
          f"{max(rss['ours-s3']):.1f}"),
         ("reference: curl ListObjectsV2 + 1,000 GETs, 16 parallel", fmt_s(m["ref-s3"]), "", c["ref-s3"], ""),
         ("  the same GETs one at a time, one connection", fmt_s(m["ref-s3-serial"]), "", c["ref-s3-serial"], ""),
         ("luminatectl backup list, directory", fmt_s(m["ours-dir"]), f"{m['ours-dir'] / m['ref-dir']:.2f}x", c["ours-dir"],
          f"{max(rss['ours-dir']):.1f}"),
         ("reference: cat */luminatectl-manifest.json", fmt_s(m["ref-dir"]), "", c["ref-dir"], "")])
    report.note("  (CPU: user + system of the command and its children; moto's own CPU is not in it.)")
    report.verdict("backup-list (directory)", m["ours-dir"] <= 1.0, "1,000 backups <= 1 s")
    report.verdict("backup-list (S3, moto)", m["ours-s3"] <= 1.0,
                   f"1,000 backups <= 1 s; the reference itself takes {m['ref-s3']:.2f} s on moto")
    moto.delete_prefix(LIST_BUCKET, LIST_PREFIX)


# --------------------------------------------------------------------------
# target 2: the native engine against the bare statement


NATIVE_REF = r"""#!/usr/bin/env bash
# Reference for the native engine: the bare statement, polled by curl. BACKUP ... ASYNC, then
# system.backups every $interval s (the first look at once, as luminatectl) until created.
set -euo pipefail
url=$1 headers=$2 table=$3 path=$4 interval=$5
q() { curl -sS --fail-with-body -H @"$headers" --data-binary "$1" "$url/"; }
read -r id status < <(q "BACKUP TABLE $table TO Disk('backups', '$path') ASYNC FORMAT TSV")
while :; do
    status=$(q "SELECT status FROM system.backups WHERE id = '$id' FORMAT TSV")
    case $status in
        BACKUP_CREATED) exit 0 ;;
        BACKUP_FAILED|BACKUP_CANCELLED) echo "backup $id: $status" >&2; exit 1 ;;
    esac
    sleep "$interval"
done
"""


def bench_native(servers: Servers, ctl: Luminatectl, work: Path, report: Report) -> None:
    # Five rounds: both sides poll once a second, so each run lands on a whole second or the
    # next one; more rounds keep that quantisation out of the medians.
    rounds = env_int("BENCH_NATIVE_ROUNDS", env_int("BENCH_ROUNDS", 5))
    rows = env_int("BENCH_NATIVE_ROWS", 10_000_000)
    plan = servers.start_modern()
    moto = Moto(servers.s3)
    table = f"{BENCH_DB}.{BENCH_TABLE}"
    t0 = time.perf_counter()
    modern.query(plan, f"CREATE DATABASE IF NOT EXISTS {BENCH_DB}")
    modern.query(plan, f"DROP TABLE IF EXISTS {table}")
    modern.query(plan, bench_table_sql(table))
    modern.query(plan, bench_insert_sql(table, rows, f"numbers({rows})"), timeout=1800)
    modern.query(plan, f"OPTIMIZE TABLE {table} FINAL", timeout=1800)
    parts, total, nbytes, _ = parts_summary(modern.query(plan, f"""
        SELECT count(), sum(rows), sum(bytes_on_disk), uniqExact(partition_id) FROM system.parts
        WHERE active AND database = '{BENCH_DB}' AND table = '{BENCH_TABLE}' FORMAT TSV"""))
    if total != rows:
        raise RuntimeError(f"{table} holds {total} rows, expected {rows}")
    log(f"{table}: {rows:,} rows, {parts} parts, {nbytes / 1e6:.0f} MB on disk, loaded in {time.perf_counter() - t0:.0f} s")

    ctl.add_environment("bench-native", modern_clickhouse_lines(plan, BENCH_DB)
                        + s3_store_lines(servers.s3, NATIVE_BUCKET, modern.BACKUP_PREFIX + DISK_PATH)
                        + ["  disk: backups", f"  diskPath: {json.dumps(DISK_PATH)}", "  engine: native"])
    ref = work / "native-ref.sh"
    ref.write_text(NATIVE_REF)
    disk_root = modern.BACKUP_PREFIX + DISK_PATH           # the store's prefix in the bucket
    counter = iter(range(10_000))

    def ref_argv(interval: str) -> list[str]:
        # An id like luminatectl's, in a past hour no luminatectl run can take.
        bid = (datetime(2000, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=next(counter))).strftime("%Y%m%dT%H%M%SZ")
        return ["bash", str(ref), plan["url"], plan["curl_headers"], table, f"{DISK_PATH}{bid}/", interval]

    subjects = {
        "ref-1s": lambda: (ref_argv("1"), None, False),
        "ours": lambda: (ctl.argv("bench-native", "backup", "create", "--tables", table), ctl.environ(), True),
        "ref-0.1s": lambda: (ref_argv("0.1"), None, False),
    }
    times: dict[str, list[float]] = {k: [] for k in subjects}
    rss: list[float] = []
    steps: list[dict[str, float]] = []
    stored: tuple[int, int] = (0, 0)
    order = list(subjects)
    for r in range(rounds):
        for name in (order if r % 2 == 0 else list(reversed(order))):
            moto.delete_prefix(NATIVE_BUCKET, disk_root)
            argv, env, is_ours = subjects[name]()
            wall, peak, res = timed(argv, env=env, cwd=work, rss=is_ours, work=work)
            require_ok(name, res)
            times[name].append(wall)
            if is_ours:
                rss.append(peak or 0)
                st = ctl.steps("bench-native")
                st[OUTSIDE] = wall - st.get(WHOLE, wall)
                steps.append(st)
                stored = moto.size(NATIVE_BUCKET, disk_root)
            log(f"native round {r + 1}/{rounds}: {name} {wall:.2f} s")
    moto.delete_prefix(NATIVE_BUCKET, disk_root)
    m = {k: med(v) for k, v in times.items()}
    diff = m["ours"] - m["ref-1s"]
    wait = "wait for ClickHouse to finish the backup"
    own = med([st.get(WHOLE, 0.0) - st.get(wait, 0.0) + st.get(OUTSIDE, 0.0) for st in steps])
    report.block(
        f"backup create, native engine: BACKUP TABLE {table} ({rows:,} rows, {parts} parts, "
        f"{nbytes / 1e6:.0f} MB) to the s3_plain disk in moto ({stored[0]} objects, {stored[1] / 1e6:.0f} MB); "
        f"median of {rounds} interleaved rounds",
        ("", "median s", "vs reference", "runs s"),
        [("luminatectl backup create", fmt_s(m["ours"]), f"{diff:+.2f} s, {m['ours'] / m['ref-1s']:.2f}x",
          " ".join(fmt_s(t) for t in times["ours"])),
         ("reference: curl BACKUP ... ASYNC, poll every 1 s", fmt_s(m["ref-1s"]), "",
          " ".join(fmt_s(t) for t in times["ref-1s"])),
         ("reference: the same, poll every 0.1 s", fmt_s(m["ref-0.1s"]), f"(ours {m['ours'] - m['ref-0.1s']:+.2f} s)",
          " ".join(fmt_s(t) for t in times["ref-0.1s"])),
         ("luminatectl's work besides waiting for the server", fmt_s(own), "", "")])
    report.block("  luminatectl's time (journal, median s)", ("", "s"),
                 step_rows(steps) + [("peak RSS MB (max)", f"{max(rss):.1f}")])
    report.verdict("backup-native", diff <= 1.0, "luminatectl <= bare BACKUP ... ASYNC polled by curl every 1 s + 1 s")


# --------------------------------------------------------------------------
# target 3: the freeze engine against FREEZE + curl -T per file


FREEZE_REF = r"""#!/usr/bin/env bash
# Reference for the freeze engine, by hand: FREEZE the table, PUT every frozen file with its own
# curl --aws-sigv4 -T (one process and one connection per file, one file at a time), remove the
# shadow directory. No hashing, no manifest, no schema file, no counting.
set -euo pipefail
url=$1 headers=$2 table=$3 name=$4 shadow=$5 endpoint=$6 bucket=$7 prefix=$8 auth=$9
curl -sS --fail-with-body -H @"$headers" --data-binary "ALTER TABLE $table FREEZE WITH NAME '$name'" "$url/"
cd "$shadow/$name"
find . -type f -printf '%P\n' | while IFS= read -r file; do
    curl -sS --fail -K "$auth" --aws-sigv4 'aws:amz:us-east-1:s3' -T "$file" -o /dev/null \
        "$endpoint/$bucket/$prefix$file"
done
cd /
rm -rf "${shadow:?}/$name"
"""


def clickhouse_client_rss(work: Path) -> float:
    """Peak RSS of one clickhouse-client run by itself (against no server: it starts, fails to
    connect and exits), for the freeze engine's GNU time figure."""
    _, peak, _ = timed(["clickhouse-client", "--host", lib.LOOPBACK, "--port", "1", "--query", "SELECT 1"],
                       rss=True, work=work)
    return peak or 0.0


def load_legacy_table(servers: Servers, table: str, rows: int, days: int = DAYS) -> tuple[int, int, int, int]:
    """A MergeTree table of `rows` rows over `days` (DAYS) daily partitions on the 18.16 server, merged to
    one part per partition (a stable file count from run to run). (parts, rows, bytes, partitions)."""
    legacy_query(servers, f"DROP TABLE IF EXISTS {table}")
    legacy_query(servers, bench_table_sql(table))
    legacy_query(servers, bench_insert_sql(table, rows, f"numbers({rows})", days), timeout=1800)
    db, name = table.split(".")
    where = f"active AND database = '{db}' AND table = '{name}'"
    for _ in range(5):
        legacy_query(servers, f"OPTIMIZE TABLE {table} FINAL", timeout=1800)
        ids = legacy_query(servers, f"SELECT partition_id FROM system.parts WHERE {where} GROUP BY partition_id "
                                    f"HAVING count() > 1 FORMAT TSV").split()
        for pid in ids:
            legacy_query(servers, f"OPTIMIZE TABLE {table} PARTITION ID '{pid}' FINAL", timeout=1800)
        if not ids:
            break
    # Parts merged away linger on disk (inactive) for a while; FREEZE takes active parts only.
    return parts_summary(legacy_query(servers, f"SELECT count(), sum(rows), sum(bytes_on_disk), uniqExact(partition_id) "
                                               f"FROM system.parts WHERE {where} FORMAT TSV"))


def bench_freeze(servers: Servers, ctl: Luminatectl, work: Path, report: Report) -> None:
    rounds = env_int("BENCH_FREEZE_ROUNDS", env_int("BENCH_ROUNDS", 3))
    rows = env_int("BENCH_FREEZE_ROWS", 10_000_000)
    small_rows = env_int("BENCH_FREEZE_SMALL_ROWS", 1_000_000)
    large_rows = env_int("BENCH_FREEZE_LARGE_ROWS", 30_000_000)
    node = servers.start_legacy()
    s3plan = servers.start_s3()
    moto = Moto(s3plan)
    big, small, large = (f"{BENCH_DB}.{BENCH_TABLE}", f"{BENCH_DB}.{BENCH_TABLE}_small", f"{BENCH_DB}.{BENCH_TABLE}_large")
    legacy_query(servers, f"CREATE DATABASE IF NOT EXISTS {BENCH_DB}")
    t0 = time.perf_counter()
    sizes = {}
    for table, n in ((big, rows), (small, small_rows), (large, large_rows)):
        parts, total, nbytes, partitions = load_legacy_table(servers, table, n)
        if total != n:
            raise RuntimeError(f"{table} holds {total} rows, expected {n}")
        sizes[table] = (n, parts, nbytes, partitions)
        log(f"{table} on 18.16: {n:,} rows, {parts} parts in {partitions} partitions, {nbytes / 1e6:.0f} MB")
    log(f"loaded in {time.perf_counter() - t0:.0f} s")

    header = legacy_curl_headers(servers, work)
    ctl.add_environment("bench-freeze", legacy_clickhouse_lines(servers, BENCH_DB)
                        + s3_store_lines(s3plan, NATIVE_BUCKET, FREEZE_PREFIX) + ["  engine: freeze"])
    ref = work / "freeze-ref.sh"
    ref.write_text(FREEZE_REF)
    shadow = Path(node.dir) / "data" / "shadow"
    counter = iter(range(10_000))

    def ref_argv() -> list[str]:
        n = next(counter)
        bid = (datetime(2000, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=n)).strftime("%Y%m%dT%H%M%SZ")
        return ["bash", str(ref), node.url, str(header), big, f"bench_ref_{n}", str(shadow), s3plan["url"],
                NATIVE_BUCKET, f"{FREEZE_PREFIX}{bid}/", s3plan["curl_auth"]]

    subjects = {
        "ref": lambda: (ref_argv(), None, False),
        "ours": lambda: (ctl.argv("bench-freeze", "backup", "create", "--tables", big), ctl.environ(), True),
    }
    times: dict[str, list[float]] = {k: [] for k in subjects}
    # (luminatectl's own VmHWM, GNU time's figure: the largest of it and its clickhouse-client runs)
    rss: dict[str, list[tuple[float, float]]] = {big: [], small: [], large: []}
    steps: list[dict[str, float]] = []
    stored = {"ref": (0, 0), "ours": (0, 0)}
    order = list(subjects)
    for r in range(rounds):
        for name in (order if r % 2 == 0 else list(reversed(order))):
            moto.delete_prefix(NATIVE_BUCKET, FREEZE_PREFIX)
            argv, env, is_ours = subjects[name]()
            wall, peak, res = timed(argv, env=env, cwd=work, sample=is_ours, work=work)
            require_ok(name, res)
            times[name].append(wall)
            stored[name] = moto.size(NATIVE_BUCKET, FREEZE_PREFIX)
            if is_ours:
                rss[big].append((peak or 0, res.maxrss_tree))
                st = ctl.steps("bench-freeze")
                st[OUTSIDE] = wall - st.get(WHOLE, wall)
                steps.append(st)
            log(f"freeze round {r + 1}/{rounds}: {name} {wall:.2f} s ({stored[name][0]} objects)")
        # The smaller and the larger table, for peak RSS only (not timed against a reference).
        for table in (small, large):
            moto.delete_prefix(NATIVE_BUCKET, FREEZE_PREFIX)
            wall, peak, res = timed(ctl.argv("bench-freeze", "backup", "create", "--tables", table), env=ctl.environ(),
                                    cwd=work, sample=True, work=work)
            require_ok(f"ours ({table})", res)
            rss[table].append((peak or 0, res.maxrss_tree))
            log(f"freeze round {r + 1}/{rounds}: ours, {table} (RSS only) {wall:.2f} s, {peak or 0:.1f} MB")
    moto.delete_prefix(NATIVE_BUCKET, FREEZE_PREFIX)
    left = sorted(p.name for p in shadow.iterdir()) if shadow.exists() else []
    if left:
        raise RuntimeError(f"shadow directories left behind: {left}")
    m = {k: med(v) for k, v in times.items()}
    ratio = m["ours"] / m["ref"]
    n, parts, nbytes, partitions = sizes[big]
    report.block(
        f"backup create, freeze engine: {big} on ClickHouse 18.16 ({n:,} rows, {parts} parts in {partitions} "
        f"partitions, {nbytes / 1e6:.0f} MB) to moto; median of {rounds} interleaved rounds",
        ("", "median s", "vs reference", "runs s", "objects"),
        [("luminatectl backup create --engine freeze", fmt_s(m["ours"]), f"{ratio:.2f}x",
          " ".join(fmt_s(t) for t in times["ours"]), str(stored["ours"][0])),
         ("reference: FREEZE, then curl --aws-sigv4 -T per file", fmt_s(m["ref"]), "",
          " ".join(fmt_s(t) for t in times["ref"]), str(stored["ref"][0]))])
    report.block("  luminatectl's time (journal, median s)", ("", "s"), step_rows(steps))
    ch_client = clickhouse_client_rss(work)
    report.block("  peak RSS, MB, max over the rounds", ("table", "luminatectl itself", "GNU time -v"),
                 [(f"{sizes[t][0]:,} rows, {sizes[t][2] / 1e6:.0f} MB", f"{max(a for a, _ in rss[t]):.1f}",
                   f"{max(b for _, b in rss[t]):.1f}") for t in (small, big, large)])
    report.note("  (luminatectl itself: its VmHWM read every 5 ms while it runs. GNU time -v reports the largest of\n"
                "   the process and the children it waited for: here clickhouse-client 18.16, which alone peaks at\n"
                f"   {ch_client:.1f} MB for SELECT 1.)")
    worst = max(max(a, b) for t in rss for a, b in rss[t])
    report.verdict("backup-freeze", ratio <= 1.1 and worst <= 64,
                   "wall <= 1.1x FREEZE + curl -T per file; peak RSS <= 64 MB at every size, with or without clickhouse-client")


# --------------------------------------------------------------------------


def prepare_run(work_arg: str) -> Path | None:
    """The work folder made, the venv ensured (None when it cannot be), and SIGTERM/SIGHUP turned
    into KeyboardInterrupt so that a stopped run still stops its servers."""
    work = Path(work_arg).resolve()
    work.mkdir(parents=True, exist_ok=True)
    if not pyvenv.is_complete():
        log("installing the local environment's venv (moto, chdb): scripts/localenv/pyvenv.py ensure")
        if pyvenv.ensure() != 0:
            return None

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    return work


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("targets", nargs="*", default=["list", "native", "freeze"])
    args = p.parse_args(argv)
    work = prepare_run(args.work)
    if work is None:
        return 1

    servers = Servers(work)
    ctl = Luminatectl(args.bin, work)
    report = Report()
    start_load = loadavg()
    started = datetime.now(timezone.utc)
    try:
        for target in args.targets:
            if target == "list":
                bench_list(servers, ctl, work, report)
            elif target == "native":
                bench_native(servers, ctl, work, report)
            elif target == "freeze":
                bench_freeze(servers, ctl, work, report)
            else:
                raise SystemExit(f"unknown backup benchmark {target}")
    except KeyboardInterrupt:
        log("interrupted: stopping the servers")
        return 130
    finally:
        servers.stop()
    print(f"(backup benchmarks {started:%Y-%m-%d %H:%M} UTC; load average {start_load} at the start, "
          f"{loadavg()} at the end; {os.cpu_count()} cores)")
    # Like the other benchmarks, a target outside is reported, not an error: exit 0 once measured.
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
