"""A 4-node replicated ClickHouse 18.16 cluster on 127.0.0.1 for the sandbox.

Topology: cluster ``luminate`` = 2 shards x 2 replicas, nodes ``ch-s1-r1``,
``ch-s1-r2``, ``ch-s2-r1``, ``ch-s2-r2``.  Each node is a separate
``clickhouse-server`` process with its own directory, ports and a single XML
file holding both the server and the users configuration.

Quirks of 18.16.1 (the only version Debian 12 ships) that shape this file:
- Start the nodes only once ZooKeeper serves requests: a node that cannot reach
  ZooKeeper at start-up was seen to crash.
- No TTL, no RBAC (users live in XML), no Map type.
- Inserts into a Distributed table are asynchronous unless the URL carries
  ``insert_distributed_sync=1`` (it is ignored in INSERT ... SELECT SETTINGS).
- A numeric partition key is addressed as ``PARTITION 20261126``, not a string.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import subprocess
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from xml.sax.saxutils import escape

import sandboxlib as lib

CLUSTER = "luminate"
DATABASE = "luminate"
LOCAL_TABLE = "metrics_local"
DISTRIBUTED_TABLE = "metrics"
SHARDS = 2
REPLICAS = 2
NODE_COUNT = SHARDS * REPLICAS
PORTS_PER_NODE = 3  # http, tcp (native), interserver http
SCHEMA_FILE = lib.LOCALENV_DIR / "schema.sql"
SERVER_BINARY = "clickhouse-server"  # in /usr/sbin: not on a normal user's PATH

# ZooKeeper session timeout asked by ClickHouse (ZooKeeper caps it at 10 s).
# A SIGKILLed replica stays "active" in system.replicas until it expires.
ZK_SESSION_TIMEOUT_MS = 6000

# Deterministic seed data: tests must not depend on "today".
SEED_LAST_DAY = date(2026, 11, 27)
SEED_DAYS = 60
SEED_ROWS_PER_DAY = 2000                # split evenly over the shards
SEED_TENANTS = ["acme", "globex", "initech", "umbrella"]
SEED_METRICS = ["http_requests_total", "http_request_duration_seconds",
                "cpu_usage_seconds_total", "memory_working_set_bytes", "queue_depth"]
SEED_REGIONS = ["eu-west-1", "us-east-1"]  # region label = shard's region


@dataclass
class Node:
    name: str
    shard: int
    replica: int
    http_port: int
    tcp_port: int
    interserver_http_port: int
    dir: str

    @property
    def config(self) -> str:
        return f"{self.dir}/config.xml"

    @property
    def log(self) -> str:
        """stdout/stderr of the process: start-up errors land here."""
        return f"{self.dir}/stdout.log"

    @property
    def server_log(self) -> str:
        return f"{self.dir}/log/clickhouse-server.log"

    @property
    def error_log(self) -> str:
        return f"{self.dir}/log/clickhouse-server.err.log"

    @property
    def url(self) -> str:
        return f"http://{lib.LOOPBACK}:{self.http_port}"


def plan_nodes(base_dir: Path, ports: list[int]) -> list[Node]:
    """Lay out the nodes; ``ports`` supplies 3 ports per node."""
    nodes = []
    it = iter(ports)
    for shard in range(1, SHARDS + 1):
        for replica in range(1, REPLICAS + 1):
            name = f"ch-s{shard}-r{replica}"
            nodes.append(Node(name, shard, replica, next(it), next(it), next(it),
                              str(base_dir / name)))
    return nodes


# --------------------------------------------------------------------------
# users


def new_password() -> str:
    # Hex: safe in XML, HTTP headers, URLs and shell without any quoting.
    return secrets.token_hex(16)


def make_users(secrets_dir: Path) -> dict:
    """Generate passwords for `ops` and `reader`, store them 0600 under
    ``secrets_dir`` (0700) and return the users description used both for the
    XML and for sandbox.json (which holds only paths, never passwords)."""
    users = {"default": {"password_file": None, "profile": "default", "readonly": False}}
    for name, profile in (("ops", "default"), ("reader", "readonly")):
        password = new_password()
        pw_file = secrets_dir / f"{name}.password"
        # No trailing newline: the file content is the password, byte for byte.
        lib.write_private(pw_file, password)
        users[name] = {
            "password_file": str(pw_file),
            "password_sha256_hex": hashlib.sha256(password.encode()).hexdigest(),
            "profile": profile,
            "readonly": profile == "readonly",
        }
    return users


def write_client_configs(users: dict, node: Node, secrets_dir: Path) -> None:
    """clickhouse-client --config-file files (0600): keeps passwords out of argv."""
    for name, u in users.items():
        if not u.get("password_file"):
            continue
        password = Path(u["password_file"]).read_text()
        path = secrets_dir / f"{name}-client.xml"
        lib.write_private(path, (
            "<config>\n"
            f"    <host>{lib.LOOPBACK}</host>\n"
            f"    <port>{node.tcp_port}</port>\n"
            f"    <user>{escape(name)}</user>\n"
            f"    <password>{escape(password)}</password>\n"
            "</config>\n"))
        u["client_config"] = str(path)


def password_of(users: dict, name: str) -> str | None:
    pw_file = users[name].get("password_file")
    return Path(pw_file).read_text() if pw_file else None


# --------------------------------------------------------------------------
# config


def render_config(node: Node, nodes: list[Node], zk_port: int, users: dict) -> str:
    d = node.dir
    shards_xml = []
    for shard in sorted({n.shard for n in nodes}):
        replicas = "".join(
            f"""
                <replica>
                    <host>{lib.LOOPBACK}</host>
                    <port>{n.tcp_port}</port>
                    <user>default</user>
                </replica>"""
            for n in nodes if n.shard == shard)
        shards_xml.append(f"""
            <shard>
                <!-- the Replicated table copies data between replicas;
                     Distributed writes to one replica per shard -->
                <internal_replication>true</internal_replication>{replicas}
            </shard>""")

    users_xml = []
    for name, u in users.items():
        if u.get("password_sha256_hex"):
            pw = f"<password_sha256_hex>{u['password_sha256_hex']}</password_sha256_hex>"
        else:
            pw = "<password></password>"
        users_xml.append(f"""
        <{name}>
            {pw}
            <networks><ip>{lib.LOOPBACK}</ip></networks>
            <profile>{u['profile']}</profile>
            <quota>default</quota>
        </{name}>""")

    return f"""<?xml version="1.0"?>
<!-- Generated by scripts/sandbox for node {node.name}; do not edit. -->
<yandex>
    <logger>
        <level>information</level>
        <log>{d}/log/clickhouse-server.log</log>
        <errorlog>{d}/log/clickhouse-server.err.log</errorlog>
        <size>10M</size>
        <count>2</count>
    </logger>

    <listen_host>{lib.LOOPBACK}</listen_host>
    <http_port>{node.http_port}</http_port>
    <tcp_port>{node.tcp_port}</tcp_port>
    <interserver_http_port>{node.interserver_http_port}</interserver_http_port>
    <interserver_http_host>{lib.LOOPBACK}</interserver_http_host>

    <path>{d}/data/</path>
    <tmp_path>{d}/tmp/</tmp_path>
    <user_files_path>{d}/user_files/</user_files_path>
    <format_schema_path>{d}/format_schemas/</format_schema_path>
    <!-- This same file is the users config. -->
    <users_config>{node.config}</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <!-- Deterministic DateTime and toYYYYMMDD() whatever the machine's zone. -->
    <timezone>UTC</timezone>

    <!-- Defaults are 5 GB / 8 GB: sized down so four nodes fit in < 1 GB. -->
    <mark_cache_size>16777216</mark_cache_size>
    <uncompressed_cache_size>16777216</uncompressed_cache_size>
    <max_concurrent_queries>50</max_concurrent_queries>
    <keep_alive_timeout>3</keep_alive_timeout>

    <remote_servers>
        <{CLUSTER}>{''.join(shards_xml)}
        </{CLUSTER}>
    </remote_servers>

    <zookeeper>
        <node>
            <host>{lib.LOOPBACK}</host>
            <port>{zk_port}</port>
        </node>
        <session_timeout_ms>{ZK_SESSION_TIMEOUT_MS}</session_timeout_ms>
    </zookeeper>

    <distributed_ddl>
        <path>/clickhouse/task_queue/ddl</path>
    </distributed_ddl>

    <macros>
        <cluster>{CLUSTER}</cluster>
        <shard>{node.shard}</shard>
        <replica>{node.name}</replica>
    </macros>

    <!-- users.xml part -->
    <profiles>
        <default>
            <max_memory_usage>2000000000</max_memory_usage>
            <!-- Distributed reads prefer replica 1 of each shard: repeatable. -->
            <load_balancing>in_order</load_balancing>
        </default>
        <readonly>
            <readonly>1</readonly>
        </readonly>
    </profiles>
    <quotas>
        <default/>
    </quotas>
    <users>{''.join(users_xml)}
    </users>
</yandex>
"""


def prepare(node: Node, nodes: list[Node], zk_port: int, users: dict) -> None:
    d = Path(node.dir)
    for sub in ("data", "tmp", "log", "user_files", "format_schemas"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    Path(node.config).write_text(render_config(node, nodes, zk_port, users))


def server_binary() -> str:
    search = os.environ.get("PATH", "") + ":/usr/sbin:/sbin:/usr/local/sbin"
    return shutil.which(SERVER_BINARY, path=search) or SERVER_BINARY


def command(node: Node) -> list[str]:
    return [server_binary(), f"--config-file={node.config}"]


def start(node: Node) -> subprocess.Popen:
    """Spawn one node (does not wait; see wait_ready)."""
    return lib.spawn(node.name, command(node), Path(node.log), cwd=Path(node.dir))


def ping(node: Node) -> bool:
    try:
        status, body = lib.http_request(node.url + "/ping", timeout=1.0)
    except OSError:
        return False
    return status == 200 and body.strip() == "Ok."


def wait_ready(node: Node, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    try:
        ok = lib.wait_until(lambda: ping(node), timeout, abort=lambda: lib.exited_reason(proc))
    except RuntimeError as e:
        raise lib.SandboxError(node.name, str(e), best_log(node))
    if not ok:
        raise lib.SandboxError(node.name, f"no answer on {node.url}/ping after {timeout:.0f} s",
                               best_log(node))


def best_log(node: Node) -> str:
    """The log most likely to explain a failure: the error log if the server
    got far enough to write one, else its stdout/stderr (config errors)."""
    for path in (node.error_log, node.log):
        p = Path(path)
        if p.exists() and p.stat().st_size > 0:
            return path
    return node.log


# --------------------------------------------------------------------------
# queries


class QueryError(Exception):
    def __init__(self, node: str, status: int, body: str, sql: str):
        what = f"HTTP {status}: " if status else ""
        super().__init__(f"{node}: {what}{body.strip()[:2000]}")
        self.status = status
        self.body = body
        self.sql = sql


def query(node: Node, sql: str, user: str = "default", password: str | None = None,
          settings: dict | None = None, timeout: float = 60.0) -> str:
    """Run one statement over HTTP (POST body), return the body; raise QueryError."""
    headers = {"X-ClickHouse-User": user}
    if password:
        headers["X-ClickHouse-Key"] = password
    url = node.url + "/"
    if settings:
        url += "?" + urllib.parse.urlencode(settings)
    try:
        status, body = lib.http_request(url, data=sql, headers=headers, timeout=timeout)
    except OSError as e:  # refused, reset, timed out: the node is probably gone
        raise QueryError(node.name, 0, f"no answer from {node.url}: {e}", sql) from e
    if status != 200:
        raise QueryError(node.name, status, body, sql)
    return body


def schema_statements() -> list[str]:
    text = SCHEMA_FILE.read_text()
    lines = [ln for ln in text.splitlines() if not ln.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def create_schema(nodes: list[Node]) -> None:
    """Run schema.sql (ON CLUSTER statements) from the first node.

    With ON CLUSTER the HTTP call only returns once every host executed the
    statement (or distributed_ddl_task_timeout passes), so when this returns
    the tables exist on all four nodes."""
    first = nodes[0]
    for stmt in schema_statements():
        try:
            query(first, stmt, settings={"distributed_ddl_task_timeout": 60}, timeout=90)
        except QueryError as e:
            raise lib.SandboxError("clickhouse-schema", f"{e}\nstatement:\n{stmt}", best_log(first))


# --------------------------------------------------------------------------
# seed data


def seed_facts() -> dict:
    first_day = SEED_LAST_DAY - timedelta(days=SEED_DAYS - 1)
    per_shard_day = SEED_ROWS_PER_DAY // SHARDS
    partitions = [int((first_day + timedelta(days=i)).strftime("%Y%m%d")) for i in range(SEED_DAYS)]
    return {
        "table": f"{DATABASE}.{LOCAL_TABLE}",
        "distributed_table": f"{DATABASE}.{DISTRIBUTED_TABLE}",
        "first_day": first_day.isoformat(),
        "last_day": SEED_LAST_DAY.isoformat(),
        "partitions": SEED_DAYS,
        "first_partition": partitions[0],
        "last_partition": partitions[-1],
        "partition_ids": [str(p) for p in partitions],
        "rows_per_day": SEED_ROWS_PER_DAY,
        "rows_per_day_per_shard": per_shard_day,
        "total_rows": SEED_ROWS_PER_DAY * SEED_DAYS,
        "rows_per_shard": {str(s): per_shard_day * SEED_DAYS for s in range(1, SHARDS + 1)},
        "tenants": SEED_TENANTS,
        "metric_names": SEED_METRICS,
        "regions_by_shard": {str(s): SEED_REGIONS[(s - 1) % len(SEED_REGIONS)]
                             for s in range(1, SHARDS + 1)},
    }


def seed_sql(shard: int, facts: dict) -> str:
    """Deterministic rows for one shard's local table.

    Row n (0 <= n < rows_per_day_per_shard * days) falls on day n // per_day,
    spread over the day every 86 s (shard 2 offset by 43 s).  Tenant, metric
    and value are pure functions of n and the shard, so every run produces the
    same data (and the same checksums)."""
    per_day = facts["rows_per_day_per_shard"]
    start = datetime.fromisoformat(facts["first_day"]).replace(tzinfo=timezone.utc)
    epoch = int(start.timestamp())
    step = 86400 // per_day               # 86 s for 1000 rows a day
    offset = (shard - 1) * (step // SHARDS)
    tenants = ", ".join(f"'{t}'" for t in SEED_TENANTS)
    metrics = ", ".join(f"'{m}'" for m in SEED_METRICS)
    region = facts["regions_by_shard"][str(shard)]
    total = per_day * facts["partitions"]
    return f"""
INSERT INTO {DATABASE}.{LOCAL_TABLE} (timestamp, tenant, metric_name, labels, value)
SELECT
    toDateTime({epoch} + intDiv(number, {per_day}) * 86400 + (number % {per_day}) * {step} + {offset}),
    [{tenants}][(number % {len(SEED_TENANTS)}) + 1],
    [{metrics}][(intDiv(number, {len(SEED_TENANTS)}) % {len(SEED_METRICS)}) + 1],
    concat('{{"host":"web-', toString(number % 8), '","region":"{region}","shard":"{shard}"}}'),
    round(((number * 7919 + {shard}) % 100000) / 100, 2)
FROM system.numbers
LIMIT {total}
"""


def seed(nodes: list[Node]) -> dict:
    """Insert the seed rows on replica 1 of each shard (local table: placement
    is deterministic, unlike Distributed with rand()), wait for the other
    replicas (SYSTEM SYNC REPLICA), then check every node holds what
    seed_facts() promises.  Returns the facts."""
    facts = seed_facts()
    firsts = [n for n in nodes if n.replica == 1]
    with ThreadPoolExecutor(len(firsts)) as pool:
        list(pool.map(lambda n: _run(n, seed_sql(n.shard, facts), "clickhouse-seed"), firsts))
    others = [n for n in nodes if n.replica != 1]
    with ThreadPoolExecutor(max(1, len(others))) as pool:
        list(pool.map(lambda n: _run(n, f"SYSTEM SYNC REPLICA {DATABASE}.{LOCAL_TABLE}",
                                     "clickhouse-seed"), others))
    verify_seed(nodes, facts)
    return facts


def _run(node: Node, sql: str, component: str) -> str:
    try:
        return query(node, sql, timeout=120)
    except QueryError as e:
        raise lib.SandboxError(component, str(e), best_log(node))


def verify_seed(nodes: list[Node], facts: dict) -> None:
    for n in nodes:
        out = _run(n, f"""
            SELECT uniqExact(partition_id), sum(rows), min(partition_id), max(partition_id)
            FROM system.parts
            WHERE active AND database = '{DATABASE}' AND table = '{LOCAL_TABLE}'
            FORMAT TSV""", "clickhouse-seed").split()
        got = (int(out[0]), int(out[1]), int(out[2]), int(out[3]))
        want = (facts["partitions"], facts["rows_per_shard"][str(n.shard)],
                facts["first_partition"], facts["last_partition"])
        if got != want:
            raise lib.SandboxError(
                "clickhouse-seed",
                f"{n.name}: (partitions, rows, first, last) = {got}, expected {want}",
                best_log(n))
    total = int(_run(nodes[0], f"SELECT count() FROM {DATABASE}.{DISTRIBUTED_TABLE}",
                     "clickhouse-seed").strip())
    if total != facts["total_rows"]:
        raise lib.SandboxError("clickhouse-seed",
                               f"{DATABASE}.{DISTRIBUTED_TABLE} has {total} rows, "
                               f"expected {facts['total_rows']}", best_log(nodes[0]))


def node_dict(node: Node) -> dict:
    d = asdict(node)
    d.update(config=node.config, log=node.log, server_log=node.server_log,
             error_log=node.error_log, url=node.url)
    return d
