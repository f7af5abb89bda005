#!/usr/bin/env python3
"""The restore benchmarks behind `scripts/bench restore`. Like backup.py (whose servers, config
file, S3 and timing helpers this imports), each target is measured against a reference in the
same run, interleaved round by round (the order alternates), and reported as a ratio of medians.

    restore.py --bin LUMINATECTL --work DIR [freeze] [drill]

One ClickHouse 18.16 server (backup.py's: no ZooKeeper, `cluster: ""`) and moto; the table
bench.metrics is loaded once, backed up once with the freeze engine, and both targets read that
backup:

- drill: `restore drill --backup ID` against a bare `restore ID --into-database bench_bare` plus
  the DROP DATABASE the drill does itself (the live table intact, so the drill compares the
  checksum of every partition: its most expensive case). Runs first, before any restore has
  rewritten the live partitions (a rewritten one is newer than the backup and skipped).
- freeze: each round drops a few partitions of the live table, then `restore ID` (the staged
  path: download + SHA-256 into the staging table's detached/, ATTACH, verify, REPLACE PARTITION
  per partition, drop the staging database) against the same by hand (aws s3 cp, curl); the
  same script with one clickhouse-client run per statement is timed beside it, not as the target's
  reference but to show what that transport (luminatectl's, for the freeze engine) costs.

Knobs (environment): BENCH_RESTORE_ROWS (default 10,000,000), BENCH_RESTORE_DAYS (partitions,
default 30), BENCH_RESTORE_DAMAGE (live partitions dropped before each restore, default 3),
BENCH_RESTORE_ROUNDS (default 3), BENCH_DRILL_ROUNDS (default 3), BENCH_RESTORE_DOWNLOADER (aws
or boto3; default aws when the aws CLI is on PATH).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import backup as b  # noqa: E402  (puts scripts/localenv on sys.path too)
from backup import (OUTSIDE, WHOLE, Luminatectl, Moto, Report, Servers, env_int, fmt_s, legacy_query,  # noqa: E402
                    log, med, require_ok, step_rows, timed)

import pyvenv  # noqa: E402
import sandboxlib as lib  # noqa: E402

ENV = "bench-restore"
BUCKET = b.NATIVE_BUCKET
PREFIX = "restore/"                              # the freeze store's prefix for this benchmark
TABLE = f"{b.BENCH_DB}.{b.BENCH_TABLE}"
BARE_DB = "bench_bare"
REF_DB = "bench_ref_restore"

RESTORE_REF = r"""#!/usr/bin/env bash
# Reference for the staged freeze restore, by hand: a work table like the live one, the backup's
# part files downloaded from S3 into its detached/ (aws s3 cp --recursive, 10 requests at a time,
# or boto3 with 10 threads), ATTACH PARTITION ID of each partition found there, REPLACE PARTITION
# ID ... FROM the work table into the live table for each, then DROP DATABASE. Statements over
# HTTP with curl, one per statement; with an eighth argument (a clickhouse-client config file and
# the native port), one clickhouse-client run per statement instead, as luminatectl's freeze
# engine sends them. No SHA-256, no row counts, no manifest, no journal.
set -euo pipefail
url=$1 headers=$2 live=$3 work_db=$4 endpoint=$5 source=$6 downloader=$7 client=${8:-} port=${9:-}
table=${live#*.}
if [[ -z $client ]]; then
    q() { curl -sS --fail-with-body -H @"$headers" --data-binary "$1" "$url/"; }
else
    q() { clickhouse-client --config-file "$client" --host 127.0.0.1 --port "$port" --query "$1"; }
fi
q "CREATE DATABASE $work_db"
q "CREATE TABLE $work_db.$table AS $live"
data=$(q "SELECT data_path FROM system.tables WHERE database = '$work_db' AND name = '$table' FORMAT TSVRaw")
detached="${data%/}/detached"
mkdir -p "$detached"
if [[ $downloader == aws ]]; then
    aws --endpoint-url "$endpoint" s3 cp --recursive --only-show-errors "$source" "$detached/"
else
    "$downloader" "$endpoint" "$source" "$detached/"
fi
partitions=$(ls "$detached" | cut -d_ -f1 | sort -u)
for p in $partitions; do q "ALTER TABLE $work_db.$table ATTACH PARTITION ID '$p'"; done
for p in $partitions; do q "ALTER TABLE $live REPLACE PARTITION ID '$p' FROM $work_db.$table"; done
q "DROP DATABASE $work_db"
"""

# The fallback downloader when there is no aws CLI: boto3 from the local environment's venv
# (moto's dependency), 10 threads like the aws CLI's default max_concurrent_requests.
BOTO3_DOWNLOAD = r"""
import os, sys
from concurrent.futures import ThreadPoolExecutor
import boto3
endpoint, source, dest = sys.argv[1:4]
bucket, _, prefix = source.removeprefix("s3://").partition("/")
s3 = boto3.client("s3", endpoint_url=endpoint)
keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for o in page.get("Contents", [])]
def get(key):
    path = os.path.join(dest, key[len(prefix):])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    s3.download_file(bucket, key, path)
with ThreadPoolExecutor(10) as pool:
    list(pool.map(get, keys))
"""


class Fixture:
    """The loaded table, its backup and what every round is checked against."""

    def __init__(self, servers: Servers, ctl: Luminatectl, work: Path):
        self.servers, self.ctl, self.work = servers, ctl, work
        self.rows = env_int("BENCH_RESTORE_ROWS", 10_000_000)
        self.days = env_int("BENCH_RESTORE_DAYS", 30)
        node = servers.start_legacy()
        self.s3plan = servers.start_s3()
        self.moto = Moto(self.s3plan)
        self.node = node
        legacy_query(servers, f"CREATE DATABASE IF NOT EXISTS {b.BENCH_DB}")
        t0 = time.perf_counter()
        self.parts, total, self.nbytes, self.partitions = b.load_legacy_table(servers, TABLE, self.rows, self.days)
        if total != self.rows:
            raise RuntimeError(f"{TABLE} holds {total} rows, expected {self.rows}")
        log(f"{TABLE} on 18.16: {self.rows:,} rows, {self.parts} parts in {self.partitions} partitions, "
            f"{self.nbytes / 1e6:.0f} MB, loaded in {time.perf_counter() - t0:.0f} s")
        self.checksum = self.table_checksum(TABLE)
        self.header = b.legacy_curl_headers(servers, work)
        ctl.add_environment(ENV, b.legacy_clickhouse_lines(servers, b.BENCH_DB)
                            + b.s3_store_lines(self.s3plan, BUCKET, PREFIX) + ["  engine: freeze"])
        self.moto.delete_prefix(BUCKET, PREFIX)
        t0 = time.perf_counter()
        ctl.run(ENV, "backup", "create", "--tables", TABLE)
        listed = json.loads(ctl.run(ENV, "backup", "list", "-o", "json").stdout)
        backups = listed["backups"] if isinstance(listed, dict) else listed
        if len(backups) != 1:
            raise RuntimeError(f"expected one backup in the store, found {len(backups)}")
        self.backup_id = backups[0]["id"]
        self.objects, self.stored = self.moto.size(BUCKET, f"{PREFIX}{self.backup_id}/")
        log(f"backup {self.backup_id}: {self.objects} objects, {self.stored / 1e6:.0f} MB in moto, "
            f"{time.perf_counter() - t0:.1f} s")
        self.partition_ids = legacy_query(servers, f"SELECT DISTINCT partition_id FROM system.parts WHERE active AND "
                                                   f"database = '{b.BENCH_DB}' AND table = '{b.BENCH_TABLE}' "
                                                   f"ORDER BY partition_id FORMAT TSV").split()
        n = max(0, min(env_int("BENCH_RESTORE_DAMAGE", 3), len(self.partition_ids)))
        step = max(1, len(self.partition_ids) // max(1, n))
        self.damaged = self.partition_ids[step // 2::step][:n]
        self.data = Path(node.dir) / "data"

    def table_checksum(self, table: str) -> tuple[int, int]:
        out = legacy_query(self.servers, f"SELECT count(), sum(cityHash64(*)) FROM {table} FORMAT TSV").split()
        return int(out[0]), int(out[1])

    def damage(self) -> None:
        for pid in self.damaged:
            legacy_query(self.servers, f"ALTER TABLE {TABLE} DROP PARTITION ID '{pid}'")
        left = self.table_checksum(TABLE)[0]
        if left >= self.rows:
            raise RuntimeError(f"{TABLE} still holds {left} rows after dropping {self.damaged}")

    def check_whole(self, who: str) -> None:
        """After a restore: the live table as it was backed up, no work database, nothing left in
        detached/ (never timed)."""
        got = self.table_checksum(TABLE)
        if got != self.checksum:
            raise RuntimeError(f"after {who}: {TABLE} holds (rows, checksum) {got}, expected {self.checksum}")
        dbs = legacy_query(self.servers, "SELECT name FROM system.databases FORMAT TSV").split()
        extra = [d for d in dbs if d.startswith(("luminate_restore_", "luminate_drill_")) or d in (BARE_DB, REF_DB)]
        if extra:
            raise RuntimeError(f"after {who}: databases left: {extra}")
        detached = self.data / b.BENCH_DB / b.BENCH_TABLE / "detached"
        if detached.exists() and any(detached.iterdir()):
            raise RuntimeError(f"after {who}: {detached} is not empty")

    def drop(self, database: str) -> tuple[float, subprocess.CompletedProcess]:
        """DROP DATABASE by curl over HTTP, timed: (wall seconds, result)."""
        wall, _, res = timed(["curl", "-sS", "--fail-with-body", "-H", f"@{self.header}", "--data-binary",
                              f"DROP DATABASE IF EXISTS {database}", f"{self.node.url}/"], work=self.work)
        return wall, res


def downloader(work: Path) -> str:
    choice = os.environ.get("BENCH_RESTORE_DOWNLOADER") or ("aws" if shutil.which("aws") else "boto3")
    if choice == "aws":
        return "aws"
    script = work / "boto3-download.py"
    script.write_text(BOTO3_DOWNLOAD)
    wrapper = work / "boto3-download"
    wrapper.write_text(f"#!/bin/sh\nexec {pyvenv.python()} {script} \"$@\"\n")
    wrapper.chmod(0o755)
    return str(wrapper)


def aws_environ(fx: Fixture) -> dict:
    """The reference's environment: the store's key in the variables the aws CLI and boto3 read,
    no config or credentials file of the caller's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({
        "AWS_ACCESS_KEY_ID": fx.s3plan["access_key_id"],
        "AWS_SECRET_ACCESS_KEY": b.s3.secret(fx.s3plan),
        "AWS_DEFAULT_REGION": fx.s3plan["region"],
        "AWS_CONFIG_FILE": str(fx.work / "aws-config-none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(fx.work / "aws-credentials-none"),
    })
    return env


# --------------------------------------------------------------------------
# target 1: the staged freeze restore against the same by hand


def bench_freeze_restore(fx: Fixture, report: Report) -> None:
    rounds = env_int("BENCH_RESTORE_ROUNDS", 3)
    ctl, work = fx.ctl, fx.work
    ref = work / "restore-ref.sh"
    ref.write_text(RESTORE_REF)
    dl = downloader(work)
    source = f"s3://{BUCKET}/{PREFIX}{fx.backup_id}/shard1/{b.BENCH_DB}/{b.BENCH_TABLE}/"
    ref_argv = ["bash", str(ref), fx.node.url, str(fx.header), TABLE, REF_DB, fx.s3plan["url"], source, dl]
    client = [fx.servers.legacy_users["ops"]["client_config"], str(fx.node.tcp_port)]
    subjects = {
        "ref": lambda: (ref_argv, aws_environ(fx), False),
        "ours": lambda: (ctl.argv(ENV, "restore", fx.backup_id), ctl.environ(), True),
        # Not the target's reference: the same script sending each statement with its own
        # clickhouse-client run, as luminatectl does, to show what that transport costs.
        "ref-client": lambda: (ref_argv + client, aws_environ(fx), False),
    }
    times: dict[str, list[float]] = {k: [] for k in subjects}
    cpu: dict[str, list[float]] = {k: [] for k in subjects}
    rss: list[tuple[float, float]] = []
    steps: list[dict[str, float]] = []
    order = list(subjects)
    for r in range(rounds):
        for name in (order if r % 2 == 0 else list(reversed(order))):
            fx.damage()
            argv, env, is_ours = subjects[name]()
            wall, peak, res = timed(argv, env=env, cwd=work, sample=is_ours, work=work)
            require_ok(name, res)
            times[name].append(wall)
            cpu[name].append(res.cpu)
            if is_ours:
                rss.append((peak or 0, res.maxrss_tree))
                st = folded(ctl.steps(ENV))
                st[OUTSIDE] = wall - st.get(WHOLE, wall)
                steps.append(st)
            fx.check_whole(name)
            log(f"restore round {r + 1}/{rounds}: {name} {wall:.2f} s")
    m = {k: med(v) for k, v in times.items()}
    ratio = m["ours"] / m["ref"]
    how = "aws s3 cp --recursive" if dl == "aws" else "boto3 (10 threads)"
    report.block(
        f"restore, freeze engine, staged: {TABLE} on ClickHouse 18.16 ({fx.rows:,} rows, {fx.parts} parts in "
        f"{fx.partitions} partitions, {fx.nbytes / 1e6:.0f} MB; backup {fx.objects} objects, {fx.stored / 1e6:.0f} MB "
        f"in moto), {len(fx.damaged)} live partitions dropped before each run; median of {rounds} interleaved rounds",
        ("", "median s", "vs reference", "runs s", "CPU s"),
        [("luminatectl restore ID", fmt_s(m["ours"]), f"{ratio:.2f}x", " ".join(fmt_s(t) for t in times["ours"]),
          fmt_s(med(cpu["ours"]))),
         (f"reference: {how}, curl ATTACH/REPLACE per partition", fmt_s(m["ref"]), "",
          " ".join(fmt_s(t) for t in times["ref"]), fmt_s(med(cpu["ref"]))),
         ("the same, clickhouse-client per statement (not the target)", fmt_s(m["ref-client"]),
          f"(ours {m['ours'] / m['ref-client']:.2f}x)", " ".join(fmt_s(t) for t in times["ref-client"]),
          fmt_s(med(cpu["ref-client"])))])
    report.block("  luminatectl's time (journal, median s)", ("", "s"), step_rows(steps))
    report.block("  peak RSS, MB, max over the rounds", ("", "luminatectl itself", "GNU time -v"),
                 [("luminatectl restore", f"{max(a for a, _ in rss):.1f}", f"{max(c for _, c in rss):.1f}")])
    report.note("  (CPU: user + sys of the process and the children it waited for: luminatectl with its\n"
                "   clickhouse-client runs; the reference with curl and the aws CLI. Not the server's.)")
    report.block("  one statement (SELECT 1), median of 20", ("", "ms"), statement_cost(fx))
    report.verdict("restore-freeze", ratio <= 1.2 and max(a for a, _ in rss) <= 64,
                   "wall <= 1.2x the same by hand; luminatectl's peak RSS <= 64 MB")


# --------------------------------------------------------------------------
# target 2: the drill against a bare restore into a side database


def bench_drill(fx: Fixture, report: Report) -> None:
    rounds = env_int("BENCH_DRILL_ROUNDS", 3)
    ctl, work = fx.ctl, fx.work
    times: dict[str, list[float]] = {"drill": [], "bare": []}
    drops: list[float] = []
    rss: list[float] = []
    steps: dict[str, list[dict[str, float]]] = {"drill": [], "bare": []}
    compared: list[tuple[int, int]] = []
    order = ["bare", "drill"]
    for r in range(rounds):
        for name in (order if r % 2 == 0 else list(reversed(order))):
            if name == "drill":
                wall, peak, res = timed(ctl.argv(ENV, "restore", "drill", "--backup", fx.backup_id), env=ctl.environ(),
                                        cwd=work, sample=True, work=work)
                require_ok("restore drill", res)
                rss.append(peak or 0)
                compared.append(drill_compared(ctl))
            else:
                wall, _, res = timed(ctl.argv(ENV, "restore", fx.backup_id, "--into-database", BARE_DB), env=ctl.environ(),
                                     cwd=work, work=work)
                require_ok("restore --into-database", res)
                count = fx.table_checksum(f"{BARE_DB}.{b.BENCH_TABLE}")
                if count != fx.checksum:
                    raise RuntimeError(f"{BARE_DB}.{b.BENCH_TABLE} holds (rows, checksum) {count}, expected {fx.checksum}")
                drop, dres = fx.drop(BARE_DB)
                require_ok("DROP DATABASE", dres)
                drops.append(drop)
                wall += drop
            st = ctl.steps(ENV)
            st[OUTSIDE] = (wall - (drops[-1] if name == "bare" else 0)) - st.get(WHOLE, wall)
            steps[name].append(st)
            times[name].append(wall)
            fx.check_whole(name)
            log(f"drill round {r + 1}/{rounds}: {name} {wall:.2f} s")
    m = {k: med(v) for k, v in times.items()}
    ratio = m["drill"] / m["bare"]
    report.block(
        f"restore drill against a bare restore of the same backup ({fx.backup_id}, {fx.rows:,} rows, {fx.partitions} "
        f"partitions) into a side database; median of {rounds} interleaved rounds",
        ("", "median s", "vs bare", "runs s"),
        [("luminatectl restore drill --backup ID", fmt_s(m["drill"]), f"{ratio:.2f}x", " ".join(fmt_s(t) for t in times["drill"])),
         (f"bare: restore ID --into-database {BARE_DB} + DROP DATABASE", fmt_s(m["bare"]), "",
          " ".join(fmt_s(t) for t in times["bare"])),
         ("  of which the DROP DATABASE (curl)", fmt_s(med(drops)), "", "")])
    report.block("  the drill's time (journal, median s)", ("", "s"), step_rows(steps["drill"]))
    report.block("  the bare restore's time (journal, median s)", ("", "s"), step_rows(steps["bare"]))
    c, s = compared[-1]
    report.note(f"  (the drill compared sum(cityHash64(*)) of {c} partitions with the live table, skipped {s}; "
                f"its peak RSS {max(rss):.1f} MB)")
    report.verdict("restore-drill", ratio <= 1.10, "drill <= 1.10x the bare restore into a side database")


def statement_cost(fx: Fixture) -> list[tuple[str, str]]:
    """What one statement costs by each transport: a clickhouse-client run (what luminatectl's
    freeze engine starts for every statement) against one curl request over HTTP."""
    cfg = fx.servers.legacy_users["ops"]["client_config"]
    argvs = {
        "clickhouse-client --query (a process per statement)":
            ["clickhouse-client", "--config-file", cfg, "--host", lib.LOOPBACK, "--port", str(fx.node.tcp_port),
             "--query", "SELECT 1"],
        "curl over HTTP": ["curl", "-sS", "--fail", "-H", f"@{fx.header}", "--data-binary", "SELECT 1", f"{fx.node.url}/"],
    }
    rows = []
    for name, argv in argvs.items():
        walls = []
        for _ in range(20):
            wall, _, res = timed(argv, work=fx.work)
            require_ok(name, res)
            walls.append(wall)
        rows.append((name, f"{med(walls) * 1000:.1f}"))
    return rows


PER_PARTITION = re.compile(r"^(replace|add) partition \S+ of (\S+)$")


def folded(st: dict[str, float]) -> dict[str, float]:
    """The journal's steps with the one step per partition moved into place (`replace partition
    P of T`, `add partition P of T`) summed into one row that says how many there were."""
    out: dict[str, float] = {}
    count, total, table = 0, 0.0, "?"
    for name, seconds in st.items():
        m = PER_PARTITION.match(name)
        if m:
            count, total, table = count + 1, total + seconds, m.group(2)
        else:
            out[name] = seconds
    if count:
        out[f"replace or add partition P of {table}, x{count} (summed)"] = total
    return out


def drill_compared(ctl: Luminatectl) -> tuple[int, int]:
    """(partitions compared with the live table, skipped), from the last drill's journal step."""
    compared, skipped = 0, 0
    for line in ctl.journal(ENV).read_text().splitlines():
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if e.get("event") == "step" and e.get("step") == "compare checksums with the live tables":
            ev = e.get("evidence") or e.get("details") or e
            compared = len(ev.get("compared") or [])
            skipped = int(ev.get("skipped") or 0)
    return compared, skipped


# --------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("targets", nargs="*", default=["drill", "freeze"])
    args = p.parse_args(argv)
    for t in args.targets:
        if t not in ("drill", "freeze"):
            raise SystemExit(f"unknown restore benchmark {t}")
    work = b.prepare_run(args.work)
    if work is None:
        return 1

    servers = Servers(work)
    ctl = Luminatectl(args.bin, work)
    report = Report()
    start_load = b.loadavg()
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    try:
        fx = Fixture(servers, ctl, work)
        # The drill first: it compares checksums only of live partitions no restore has rewritten.
        if "drill" in args.targets:
            bench_drill(fx, report)
        if "freeze" in args.targets:
            bench_freeze_restore(fx, report)
    except KeyboardInterrupt:
        log("interrupted: stopping the servers")
        return 130
    finally:
        servers.stop()
    print(f"(restore benchmarks {started:%Y-%m-%d %H:%M} UTC, {time.perf_counter() - t0:.0f} s; load average "
          f"{start_load} at the start, {b.loadavg()} at the end; {os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
