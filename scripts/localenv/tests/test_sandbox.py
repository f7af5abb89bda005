"""End-to-end tests of scripts/sandbox (real ZooKeeper, ClickHouse 18.16, the
modern ClickHouse node, S3 (moto), Prometheus, Pushgateway, Kubernetes API
emulator on 127.0.0.1).

    python3 -m unittest discover -s scripts/localenv/tests -p 'test_sandbox*.py' -v

Each test class brings up its own sandbox in a temporary state dir and always
runs `down` afterwards, so nothing is left running even when a test fails.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
LOCALENV = HERE.parent
REPO = LOCALENV.parent.parent
SANDBOX = REPO / "scripts" / "sandbox"
sys.path.insert(0, str(LOCALENV))

import pyvenv  # noqa: E402
import sandboxlib as lib  # noqa: E402

UP_BUDGET_S = 20.0
RSS_BUDGET_MB = 1536.0

COMPONENTS = ("zookeeper", "ch-s1-r1", "ch-s1-r2", "ch-s2-r1", "ch-s2-r2", "prometheus",
              "kube-emulator", "s3", "clickhouse-modern", "pushgateway", "traffic")
# What `env --tests` adds: they would override the configuration file's environments.
PER_ENVIRONMENT_VARS = ("LUMINATECTL_ENV", "LUMINATECTL_CLICKHOUSE_URL", "LUMINATECTL_CLICKHOUSE_USER",
                        "LUMINATECTL_CLICKHOUSE_PASSWORD_FILE", "LUMINATECTL_CLICKHOUSE_NATIVE",
                        "LUMINATECTL_CLICKHOUSE_CLUSTER", "LUMINATECTL_PROMETHEUS_URL",
                        "LUMINATECTL_CONTEXT", "LUMINATECTL_NAMESPACE")
# The keys Sources/OpsKit/Config/ConfigFile.swift accepts (unknown keys are errors there).
CONFIG_KEYS = {"kubernetes": {"context", "namespace", "kubeconfig"},
               "clickhouse": {"url", "native", "user", "cluster", "database", "password"},
               "prometheus": {"url"}, "pushgateway": {"url"}, "backup": {"store", "disk", "diskPath"},
               "journal": {"path"}}


def sandbox(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    full_env = dict(os.environ)
    full_env.pop("LUMINATECTL_SANDBOX_DIR", None)
    full_env.pop("LUMINATECTL_SANDBOX_BREAK", None)
    full_env.update(env or {})
    return subprocess.run([sys.executable, str(SANDBOX), *args], capture_output=True,
                          text=True, timeout=timeout, env=full_env)


def ch_query(url: str, sql: str, user: str = "default", password: str | None = None,
             params: dict | None = None) -> tuple[int, str]:
    headers = {"X-ClickHouse-User": user}
    if password is not None:
        headers["X-ClickHouse-Key"] = password
    if params:
        url = url + "/?" + urllib.parse.urlencode(params)
    return lib.http_request(url, data=sql, headers=headers, timeout=60)


def all_pids(state: dict) -> list[int]:
    return [c["pid"] for c in state["components"].values()]


def all_ports(state: dict) -> set[int]:
    ports = set()
    for c in state["components"].values():
        for key in ("port", "tcp_port", "interserver_http_port"):
            if c.get(key):
                ports.add(c[key])
    return ports


def evaluated_env(*args: str) -> dict:
    """`env ARGS` evaluated by bash: the LUMINATECTL_*, KUBE*, AWS_* variables it set."""
    res = sandbox("env", *args)
    assert res.returncode == 0, res.stderr
    script = 'eval "$1"; env | grep -E "^(LUMINATECTL_|KUBECONFIG=|KUBECACHEDIR=|AWS_)" | sort'
    # A clean environment: variables of the caller's shell must not leak into the result.
    out = subprocess.run(["bash", "-c", script, "bash", res.stdout], capture_output=True,
                         text=True, check=True, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
                         ).stdout
    return dict(line.split("=", 1) for line in out.splitlines())


def load_yaml(path: Path):
    """PyYAML from the local environment's venv (moto needs it), so the test
    does not depend on python3-yaml being installed."""
    res = subprocess.run([pyvenv.python(), "-c",
                          "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
                          str(path)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def still_running(state: dict) -> list[dict]:
    """Recorded processes that are still running."""
    return [c for c in state["components"].values() if lib.is_running(c)]


class SandboxCase(unittest.TestCase):
    """Brings a sandbox up in setUpClass, always takes it down in tearDownClass."""

    state_dir: Path
    state: dict

    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp(prefix="luminate-sandbox-test-"))
        cls.state_dir = cls.tmp / "state"
        t = time.monotonic()
        cls.up = sandbox("up", "--state-dir", str(cls.state_dir))
        cls.up_seconds = time.monotonic() - t
        if cls.up.returncode != 0:
            sandbox("down", "--state-dir", str(cls.state_dir))
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise AssertionError(f"sandbox up failed ({cls.up.returncode}):\n{cls.up.stderr}")
        cls.state = json.loads((cls.state_dir / "sandbox.json").read_text())

    @classmethod
    def tearDownClass(cls):
        sandbox("down", "--state-dir", str(cls.state_dir))
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # helpers
    @property
    def ch(self) -> dict:
        return self.state["clickhouse"]

    def node(self, name: str) -> dict:
        return next(n for n in self.ch["nodes"] if n["name"] == name)

    def password(self, user: str) -> str:
        return Path(self.ch["users"][user]["password_file"]).read_text()

    def ops(self, url: str, sql: str, **params) -> str:
        status, body = ch_query(url, sql, "ops", self.password("ops"), params or None)
        self.assertEqual(status, 200, body)
        return body


class TestSandboxUp(SandboxCase):
    """The healthy path: one sandbox, many checks, `down` last."""

    def test_00_budgets(self):
        status = sandbox("status", "--state-dir", str(self.state_dir), "--json")
        self.assertEqual(status.returncode, 0, status.stdout + status.stderr)
        rss = json.loads(status.stdout)["total_rss_mb"]
        print(f"\n    sandbox up: {self.up_seconds:.1f} s wall ({self.state['up_seconds']} s "
              f"reported), {rss:.0f} MB RSS in {len(self.state['components'])} processes",
              file=sys.stderr)
        self.assertIn("sandbox up in", self.up.stderr)
        self.assertLess(self.up_seconds, UP_BUDGET_S)
        self.assertLess(rss, RSS_BUDGET_MB)

    def test_01_cluster_has_four_hosts(self):
        body = self.ops(self.ch["http_url"],
                        "SELECT shard_num, replica_num, port FROM system.clusters "
                        "WHERE cluster = 'luminate' ORDER BY shard_num, replica_num FORMAT JSONCompact")
        rows = json.loads(body)["data"]
        self.assertEqual([(r[0], r[1]) for r in rows], [(1, 1), (1, 2), (2, 1), (2, 2)])
        self.assertEqual(sorted(r[2] for r in rows), sorted(n["tcp_port"] for n in self.ch["nodes"]))

    def test_02_each_node_answers_with_its_macros(self):
        self.assertEqual(len(self.ch["nodes"]), 4)
        for n in self.ch["nodes"]:
            status, body = lib.http_request(n["url"] + "/ping")
            self.assertEqual((status, body.strip()), (200, "Ok."), n["name"])
            macros = dict(line.split("\t") for line in self.ops(
                n["url"], "SELECT macro, substitution FROM system.macros FORMAT TSV").splitlines())
            self.assertEqual(macros["shard"], str(n["shard"]))
            self.assertEqual(macros["replica"], n["name"])

    def test_03_replication(self):
        r1, r2 = self.node("ch-s2-r1"), self.node("ch-s2-r2")
        self.ops(r1["url"], "INSERT INTO luminate.metrics_local VALUES "
                 "(toDateTime('2026-12-01 10:00:00'), 'test-repl', 'probe', '{}', 42)")
        self.ops(r2["url"], "SYSTEM SYNC REPLICA luminate.metrics_local")
        body = self.ops(r2["url"], "SELECT count(), sum(value) FROM luminate.metrics_local "
                        "WHERE tenant = 'test-repl' FORMAT TSV")
        self.assertEqual(body.split(), ["1", "42"])
        # Through the Distributed table, synchronously, with the ops user.
        self.ops(self.ch["http_url"], "INSERT INTO luminate.metrics VALUES "
                 "(toDateTime('2026-12-01 11:00:00'), 'test-dist', 'probe', '{}', 1)",
                 insert_distributed_sync=1)
        body = self.ops(self.ch["http_url"],
                        "SELECT count() FROM luminate.metrics WHERE tenant = 'test-dist'")
        self.assertEqual(body.strip(), "1")
        # Clean up so test_04 sees only the seed (partition 20261201 is not seeded).
        self.ops(self.ch["http_url"],
                 "ALTER TABLE luminate.metrics_local ON CLUSTER luminate DROP PARTITION 20261201")

    def test_04_seed_facts_match_sandbox_json(self):
        seed = self.state["seed"]
        self.assertEqual(seed["partitions"], 60)
        self.assertEqual((seed["first_day"], seed["last_day"]), ("2026-09-29", "2026-11-27"))
        self.assertEqual(seed["total_rows"], seed["rows_per_day"] * 60)
        for n in self.ch["nodes"]:
            self.ops(n["url"], "SYSTEM SYNC REPLICA luminate.metrics_local")
            body = self.ops(n["url"], """
                SELECT partition_id, sum(rows) FROM system.parts
                WHERE active AND database = 'luminate' AND table = 'metrics_local'
                GROUP BY partition_id ORDER BY partition_id FORMAT TSV""")
            rows = [line.split("\t") for line in body.splitlines()]
            self.assertEqual([r[0] for r in rows], seed["partition_ids"], n["name"])
            self.assertEqual({int(r[1]) for r in rows}, {seed["rows_per_day_per_shard"]})
            self.assertEqual(sum(int(r[1]) for r in rows), seed["rows_per_shard"][str(n["shard"])])
        body = self.ops(self.ch["http_url"], """
            SELECT count(), uniqExact(toDate(timestamp)), toString(min(toDate(timestamp))),
                   toString(max(toDate(timestamp))) FROM luminate.metrics FORMAT TSV""")
        self.assertEqual(body.split(), [str(seed["total_rows"]), "60", seed["first_day"],
                                        seed["last_day"]])
        body = self.ops(self.ch["http_url"],
                        "SELECT groupUniqArray(tenant) FROM luminate.metrics FORMAT JSONCompact")
        self.assertEqual(sorted(json.loads(body)["data"][0][0]), sorted(seed["tenants"]))

    def test_05_users(self):
        url = self.ch["http_url"]
        secrets = self.state_dir / "secrets"
        self.assertEqual(secrets.stat().st_mode & 0o777, 0o700)
        for user in ("ops", "reader"):
            pw_file = Path(self.ch["users"][user]["password_file"])
            self.assertEqual(pw_file.stat().st_mode & 0o777, 0o600)
            self.assertGreaterEqual(len(self.password(user)), 16)
        # Passwords are stored hashed in the server config, never in clear.
        for n in self.ch["nodes"]:
            config = (Path(n["dir"]) / "config.xml").read_text()
            self.assertNotIn(self.password("ops"), config)
            self.assertIn("<password_sha256_hex>", config)
        self.assertEqual(self.ops(url, "SELECT 1").strip(), "1")
        status, _ = ch_query(url, "SELECT 1", "ops", "wrong-password")
        self.assertEqual(status, 401)
        status, body = ch_query(url, "SELECT count() FROM luminate.metrics", "reader",
                                self.password("reader"))
        self.assertEqual((status, body.strip()), (200, str(self.state["seed"]["total_rows"])))
        status, body = ch_query(url, "INSERT INTO luminate.metrics_local VALUES "
                                "(now(), 'x', 'y', '{}', 1)", "reader", self.password("reader"))
        self.assertNotEqual(status, 200)
        self.assertIn("readonly", body)
        status, _ = ch_query(url, "SELECT 1", "default")
        self.assertEqual(status, 200)

    def test_06_clickhouse_client_with_config_file(self):
        if not shutil.which("clickhouse-client"):
            self.skipTest("clickhouse-client not installed")
        # Never `clickhouse-client --help`: on 18.16 it loops forever.
        res = subprocess.run(["clickhouse-client", "--config-file",
                              self.ch["users"]["ops"]["client_config"], "--query",
                              "SELECT count() FROM luminate.metrics"],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(res.stdout.strip(), str(self.state["seed"]["total_rows"]))

    def test_07_prometheus_serves_the_fixtures(self):
        prom = self.state["prometheus"]
        status, _ = lib.http_request(prom["url"] + "/-/ready")
        self.assertEqual(status, 200)
        spec = json.loads(Path(prom["scenarios"]).read_text())
        self.assertTrue(spec["scenarios"])
        status, body = lib.http_request(prom["url"] + "/api/v1/label/__name__/values")
        self.assertEqual(status, 200, body)
        names = json.loads(body)["data"]
        self.assertIn("luminate_http_requests_total", names)
        # The fixture data lies in the past: query at its last sample.
        query = urllib.parse.urlencode({"query": "count(luminate_http_requests_total)",
                                        "time": spec["data_end"]})
        status, body = lib.http_request(f"{prom['url']}/api/v1/query?{query}")
        self.assertEqual(status, 200, body)
        result = json.loads(body)["data"]["result"]
        self.assertGreater(float(result[0]["value"][1]), 0)

    def test_08_kube_emulator_and_kubectl(self):
        kube = self.state["kube"]
        status, body = lib.http_request(kube["url"] + "/version")
        self.assertEqual(status, 200)
        self.assertIn("gitVersion", json.loads(body))
        if not shutil.which("kubectl"):
            self.skipTest("kubectl not installed")
        env = dict(os.environ, KUBECACHEDIR=kube["cache_dir"])
        res = subprocess.run(["kubectl", "--kubeconfig", kube["kubeconfig"], "get", "ns",
                              "-o", "json"], capture_output=True, text=True, timeout=60, env=env)
        self.assertEqual(res.returncode, 0, res.stderr)
        names = [i["metadata"]["name"] for i in json.loads(res.stdout)["items"]]
        self.assertIn(kube["namespace"], names)
        res = subprocess.run(["kubectl", "--kubeconfig", kube["kubeconfig"], "config",
                              "current-context"], capture_output=True, text=True, timeout=30)
        self.assertEqual(res.stdout.strip(), "luminate-local")

    def test_09_env_is_evalable_and_live(self):
        env = evaluated_env("--state-dir", str(self.state_dir))
        as_json = json.loads(sandbox("env", "--state-dir", str(self.state_dir), "--json").stdout)
        self.assertEqual(env, as_json)
        # luminatectl takes its endpoints from the generated file: nothing that would override it.
        for name in PER_ENVIRONMENT_VARS:
            self.assertNotIn(name, env)
        self.assertEqual(env["LUMINATECTL_CONFIG"], str(self.state_dir / "luminatectl.yaml"))
        self.assertEqual(env["LUMINATECTL_SANDBOX_CONFIG"], env["LUMINATECTL_CONFIG"])
        self.assertEqual(env["LUMINATECTL_SANDBOX_DIR"], str(self.state_dir))
        self.assertTrue(Path(env["LUMINATECTL_SANDBOX_JSON"]).exists())
        self.assertTrue(Path(env["KUBECONFIG"]).exists())
        self.assertTrue(Path(env["KUBECACHEDIR"]).is_dir())
        self.assertTrue(Path(env["LUMINATECTL_PROMETHEUS_SCENARIOS"]).exists())
        self.assertEqual(lib.http_request(env["LUMINATECTL_KUBE_EMULATOR_URL"] + "/version")[0],
                         200)
        # S3, for luminatectl and for other tools.
        s3 = self.state["s3"]
        self.assertEqual(env["LUMINATECTL_S3_ENDPOINT"], s3["url"])
        self.assertEqual(env["AWS_ENDPOINT_URL"], s3["url"])
        self.assertEqual(env["LUMINATECTL_S3_BUCKET"], "luminate-backups-local")
        self.assertEqual(env["LUMINATECTL_S3_REGION"], "us-east-1")
        self.assertEqual(env["AWS_DEFAULT_REGION"], "us-east-1")
        self.assertEqual(env["LUMINATECTL_S3_ACCESS_KEY_ID"], env["AWS_ACCESS_KEY_ID"])
        secret_file = Path(env["LUMINATECTL_S3_SECRET_ACCESS_KEY_FILE"])
        self.assertEqual(secret_file.stat().st_mode & 0o777, 0o600)
        self.assertEqual(secret_file.read_text().strip(), env["AWS_SECRET_ACCESS_KEY"])
        self.assertTrue(env["AWS_SECRET_ACCESS_KEY"])
        self.assertNotIn(env["AWS_SECRET_ACCESS_KEY"], (self.state_dir / "sandbox.json").read_text())
        self.assertEqual(env["LUMINATECTL_PUSHGATEWAY_URL"], self.state["pushgateway"]["url"])
        # The modern node.
        modern = self.state["clickhouse_modern"]
        self.assertEqual(env["LUMINATECTL_MODERN_CLICKHOUSE_URL"], modern["url"])
        self.assertEqual(env["LUMINATECTL_MODERN_CLICKHOUSE_PASSWORD_FILE"],
                         modern["users"]["ops"]["password_file"])
        self.assertEqual(env["LUMINATECTL_MODERN_READER_PASSWORD_FILE"],
                         modern["users"]["reader"]["password_file"])

    def test_09b_env_for_tests_adds_the_local_environment(self):
        plain = evaluated_env("--state-dir", str(self.state_dir))
        env = evaluated_env("--state-dir", str(self.state_dir), "--tests")
        as_json = json.loads(sandbox("env", "--state-dir", str(self.state_dir), "--tests",
                                     "--json").stdout)
        self.assertEqual(env, as_json)
        self.assertEqual(set(env) - set(plain), set(PER_ENVIRONMENT_VARS))
        # No LUMINATECTL_CONFIG: the Swift tests pick their own environments (--env production).
        self.assertEqual(set(plain) - set(env), {"LUMINATECTL_CONFIG"})
        self.assertEqual(env["LUMINATECTL_SANDBOX_CONFIG"], plain["LUMINATECTL_CONFIG"])
        self.assertEqual({k: env[k] for k in env if k in plain}, {k: plain[k] for k in env if k in plain})
        self.assertEqual(env["LUMINATECTL_ENV"], "local")
        self.assertEqual(env["LUMINATECTL_CLICKHOUSE_USER"], "ops")
        self.assertEqual(env["LUMINATECTL_CLICKHOUSE_CLUSTER"], "luminate")
        self.assertEqual(env["LUMINATECTL_CONTEXT"], "luminate-local")
        self.assertEqual(env["LUMINATECTL_NAMESPACE"], "luminate")
        password = Path(env["LUMINATECTL_CLICKHOUSE_PASSWORD_FILE"]).read_text()
        status, body = ch_query(env["LUMINATECTL_CLICKHOUSE_URL"], "SELECT 1", "ops", password)
        self.assertEqual((status, body.strip()), (200, "1"))
        host, port = env["LUMINATECTL_CLICKHOUSE_NATIVE"].split(":")
        self.assertTrue(lib.port_open(int(port)))
        self.assertEqual(lib.http_request(env["LUMINATECTL_PROMETHEUS_URL"] + "/-/ready")[0], 200)

    def test_10_status_and_idempotent_up(self):
        res = sandbox("status", "--state-dir", str(self.state_dir))
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        for name in COMPONENTS:
            self.assertRegex(res.stdout, rf"(?m)^{name}\s+\d+\s+\d+\s+up\s")
        res = sandbox("status", "--state-dir", str(self.state_dir), "--json")
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        rows = {r["name"]: r for r in json.loads(res.stdout)["components"]}
        self.assertEqual(set(rows), set(COMPONENTS))
        for name, kind in (("s3", "s3"), ("clickhouse-modern", "clickhouse-modern"),
                           ("pushgateway", "pushgateway"), ("traffic", "traffic")):
            self.assertEqual(rows[name]["kind"], kind)
            self.assertTrue(rows[name]["up"], rows[name])
            self.assertGreater(rows[name]["rss_mb"], 0)
        res = sandbox("up", "--state-dir", str(self.state_dir))
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("already up", res.stderr)
        # Same processes as before.
        state = json.loads((self.state_dir / "sandbox.json").read_text())
        self.assertEqual(all_pids(state), all_pids(self.state))

    def test_11_generated_configuration_file(self):
        path = self.state_dir / "luminatectl.yaml"
        self.assertEqual(self.state["config_file"], str(path))
        self.assertEqual(path.stat().st_mode & 0o777, 0o600)
        config = load_yaml(path)
        self.assertEqual(set(config), {"defaultEnvironment", "environments"})
        self.assertEqual(config["defaultEnvironment"], "local")
        envs = config["environments"]
        self.assertEqual(list(envs), ["local", "local-modern"])
        for name, env in envs.items():
            self.assertEqual(set(env), set(CONFIG_KEYS), name)
            for section, keys in CONFIG_KEYS.items():
                self.assertLessEqual(set(env[section]), keys, f"{name}.{section}")
            self.assertEqual(env["kubernetes"], {"context": "luminate-local", "namespace": "luminate",
                                                 "kubeconfig": self.state["kube"]["kubeconfig"]})
            self.assertEqual(env["prometheus"], {"url": self.state["prometheus"]["url"]})
            self.assertEqual(env["pushgateway"], {"url": self.state["pushgateway"]["url"]})
            self.assertEqual(env["journal"], {"path": str(self.state_dir / f"journal-{name}.jsonl")})
            s3 = self.state["s3"]
            store = env["backup"]["store"]["s3"]
            self.assertEqual({k: v for k, v in store.items() if k != "prefix"},
                             {"endpoint": s3["url"], "region": s3["region"], "bucket": "luminate-backups-local",
                              "accessKeyId": s3["access_key_id"], "secretAccessKey": {"file": s3["secret_file"]}})
            self.assertEqual(Path(s3["secret_file"]).stat().st_mode & 0o777, 0o600)
        # The modern node's native backups land on its `backups` disk: the store's prefix is the
        # disk's path in the bucket plus backup.diskPath.
        disk = self.state["clickhouse_modern"]["backups_disk"]
        self.assertEqual(envs["local-modern"]["backup"]["store"]["s3"]["prefix"], disk["prefix"] + "luminate/")
        self.assertEqual((envs["local-modern"]["backup"]["disk"], envs["local-modern"]["backup"]["diskPath"]),
                         (disk["name"], "luminate/"))
        self.assertEqual(envs["local"]["backup"]["store"]["s3"]["prefix"], "cluster/")
        local, modern = envs["local"]["clickhouse"], envs["local-modern"]["clickhouse"]
        self.assertEqual(local, {"url": self.ch["http_url"], "native": self.ch["native"],
                                 "user": "ops", "cluster": "luminate", "database": "luminate",
                                 "password": {"file": self.ch["users"]["ops"]["password_file"]}})
        m = self.state["clickhouse_modern"]
        self.assertEqual(modern, {"url": m["url"], "user": "ops", "cluster": "",
                                  "database": "luminate",
                                  "password": {"file": m["users"]["ops"]["password_file"]}})
        # The addresses answer, with the passwords the file points at.
        for ch in (local, modern):
            password = Path(ch["password"]["file"]).read_text()
            status, body = ch_query(ch["url"], "SELECT 1", ch["user"], password)
            self.assertEqual((status, body.strip()), (200, "1"), ch["url"])
        # luminatectl itself reads it, when a binary is at hand (scripts/test sets LUMINATECTL_BIN
        # only for the manifest tests; set it to check here too).
        binary = os.environ.get("LUMINATECTL_BIN")
        if binary:
            env = {k: v for k, v in os.environ.items() if not k.startswith("LUMINATECTL_")}
            env.update(json.loads(sandbox("env", "--state-dir", str(self.state_dir), "--json").stdout))
            for name, url in (("local", local["url"]), ("local-modern", modern["url"])):
                res = subprocess.run([binary, "config", "view", "--env", name], capture_output=True,
                                     text=True, timeout=60, env=env)
                self.assertEqual(res.returncode, 0, res.stderr)
                self.assertIn(url, res.stdout)

    def test_12_s3_buckets(self):
        s3 = self.state["s3"]
        self.assertEqual(s3["buckets"], ["luminate-backups-local", "luminate-backups-local-dr"])
        self.assertEqual(s3["region"], "us-east-1")
        self.assertEqual(Path(s3["secret_file"]).stat().st_mode & 0o777, 0o600)
        status, body = lib.http_request(s3["url"] + "/")
        self.assertEqual(status, 200, body)
        names = [e.text for e in ET.fromstring(body).iter() if e.tag.endswith("}Name")]
        self.assertLessEqual(set(s3["buckets"]), set(names))
        for bucket in s3["buckets"]:
            status, body = lib.http_request(f"{s3['url']}/{bucket}?list-type=2")
            self.assertEqual(status, 200, body)
            self.assertIn("ListBucketResult", body)

    def test_13_modern_clickhouse(self):
        m = self.state["clickhouse_modern"]
        status, body = lib.http_request(m["url"] + "/ping")
        self.assertEqual((status, body.strip()), (200, "Ok."))
        for user in ("ops", "reader"):
            pw_file = Path(m["users"][user]["password_file"])
            self.assertEqual(pw_file.stat().st_mode & 0o777, 0o600)
        ops = Path(m["users"]["ops"]["password_file"]).read_text()
        status, body = ch_query(m["url"], "SELECT version()", "ops", ops)
        self.assertEqual(status, 200, body)
        self.assertGreaterEqual(int(body.split(".")[0]), 22, body)  # BACKUP/RESTORE exist
        # 26.x answers a wrong password with 516 AUTHENTICATION_FAILED, HTTP 403 (18.16: 401).
        status, body = ch_query(m["url"], "SELECT 1", "ops", "wrong-password")
        self.assertEqual(status, 403, body)
        self.assertIn("AUTHENTICATION_FAILED", body)
        reader = Path(m["users"]["reader"]["password_file"]).read_text()
        status, body = ch_query(m["url"], f"INSERT INTO {m['database']}.{m['table']} VALUES "
                                "(now(), 'x', 'y', '{}', 1)", "reader", reader)
        self.assertNotEqual(status, 200)
        self.assertIn("READONLY", body)
        status, body = ch_query(m["url"], f"SELECT count() FROM {m['database']}.{m['table']}",
                                "ops", ops)
        self.assertEqual((status, body.strip()), (200, str(m["seed"]["total_rows"])))
        status, body = ch_query(m["url"], "SELECT name FROM system.disks FORMAT TSV", "ops", ops)
        self.assertEqual(status, 200, body)
        disk = m["backups_disk"]
        self.assertIn(disk["name"] if isinstance(disk, dict) else disk, body.split())

    def test_14_pushed_metric_reaches_prometheus(self):
        pg, prom = self.state["pushgateway"], self.state["prometheus"]
        self.assertEqual(lib.http_request(pg["url"] + "/-/ready")[0], 200)
        stamp = int(time.time())
        job = f"sandbox-test-{os.getpid()}"
        group = f"{pg['url']}/metrics/job/{job}/namespace/luminate"
        status, body = lib.http_request(
            group, data=f"luminate_backup_last_success_timestamp_seconds {stamp}\n",
            method="PUT")
        self.assertEqual(status, 200, body)
        self.addCleanup(lib.http_request, group, method="DELETE")
        selector = f'luminate_backup_last_success_timestamp_seconds{{job="{job}"}}'
        found = []

        def scraped() -> bool:
            query = urllib.parse.urlencode({"query": selector, "time": f"{time.time():.3f}"})
            status, body = lib.http_request(f"{prom['url']}/api/v1/query?{query}", timeout=5)
            result = json.loads(body)["data"]["result"] if status == 200 else []
            found[:] = result
            return bool(result)
        self.assertTrue(lib.wait_until(scraped, 10, interval=0.25),
                        f"{selector} not in Prometheus after 10 s")
        # honor_labels: the pushed job label survives the scrape.
        self.assertEqual(found[0]["metric"]["job"], job)
        self.assertEqual(found[0]["metric"]["namespace"], "luminate")
        self.assertEqual(float(found[0]["value"][1]), stamp)
        # The backfilled fixtures are still there, in the past.
        spec = json.loads(Path(prom["scenarios"]).read_text())
        query = urllib.parse.urlencode({"query": "count(luminate_http_requests_total)",
                                        "time": spec["data_end"]})
        status, body = lib.http_request(f"{prom['url']}/api/v1/query?{query}")
        self.assertEqual(status, 200, body)
        self.assertTrue(json.loads(body)["data"]["result"])

    def test_15_traffic_is_scraped_and_follows_the_emulator(self):
        tr, prom, kube = self.state["traffic"], self.state["prometheus"], self.state["kube"]
        self.assertLessEqual({"url", "port", "log"}, set(tr))
        self.assertTrue(Path(tr["log"]).exists())
        self.assertEqual(prom["traffic_scrape"], {"port": tr["port"], "job": "luminate", "interval": "1s"})
        self.assertEqual((kube["controller"], kube["rollout_delay"]), (True, 1.0))
        status, body = lib.http_request(tr["url"] + "/state")
        self.assertEqual(status, 200, body)
        state = json.loads(body)
        self.assertEqual(state["kube"]["url"], kube["url"])
        self.assertEqual(evaluated_env("--state-dir", str(self.state_dir))["LUMINATECTL_TRAFFIC_URL"],
                         tr["url"])
        # Live series at "now", from the simulator's target (the fixtures lie in the past).
        selector = f'luminate_http_requests_total{{job="luminate",instance="127.0.0.1:{tr["port"]}"}}'
        found = []

        def scraped() -> bool:
            query = urllib.parse.urlencode({"query": selector, "time": f"{time.time():.3f}"})
            status, body = lib.http_request(f"{prom['url']}/api/v1/query?{query}", timeout=5)
            found[:] = json.loads(body)["data"]["result"] if status == 200 else []
            return bool(found)
        self.assertTrue(lib.wait_until(scraped, 10, interval=0.25), f"{selector} not in Prometheus after 10 s")
        self.assertEqual({r["metric"]["code"] for r in found}, {"200", "404", "500", "503"})
        # The emulator runs its controller: a Deployment rolls out by itself.
        code, _ = lib.http_request(kube["url"] + "/apis/apps/v1/namespaces/luminate/deployments", data=json.dumps({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "luminate"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "luminate"}},
                     "template": {"metadata": {"labels": {"app": "luminate"}},
                                  "spec": {"containers": [{"name": "luminate",
                                                           "image": "luminate/luminate:9.9.9-errors"}]}}}}),
            headers={"Content-Type": "application/json"}, method="POST")
        self.assertEqual(code, 201)
        self.addCleanup(lib.http_request, kube["url"] + "/apis/apps/v1/namespaces/luminate/deployments/luminate",
                        method="DELETE")

        def serving_errors() -> bool:
            state = json.loads(lib.http_request(tr["url"] + "/state")[1])
            return state["behaviour"] == "errors" and state["source"] == "replicasets"
        self.assertTrue(lib.wait_until(serving_errors, 10, interval=0.1), "the simulator did not follow")

    def test_99_down_leaves_nothing(self):
        state = self.state
        res = sandbox("down", "--state-dir", str(self.state_dir))
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(still_running(state), [])
        self.assertEqual(lib.find_orphans(self.state_dir), [])
        self.assertEqual(all_ports(state) & lib.listening_ports(), set())
        self.assertFalse(self.state_dir.exists())
        res = sandbox("down", "--state-dir", str(self.state_dir))
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("nothing to stop", res.stderr)
        res = sandbox("status", "--state-dir", str(self.state_dir))
        self.assertEqual(res.returncode, 1)


class TestCrashedComponent(SandboxCase):
    """A component that dies after `up`: status and up report it, down cleans up."""

    def test_crash_is_reported_then_down_cleans_up(self):
        victim = self.state["components"]["ch-s1-r2"]
        os.kill(victim["pid"], signal.SIGKILL)
        self.assertTrue(lib.wait_until(lambda: not lib.is_running(victim), 10))
        res = sandbox("status", "--state-dir", str(self.state_dir))
        self.assertEqual(res.returncode, 1)
        self.assertRegex(res.stdout, r"(?m)^ch-s1-r2\s+\d+\s+\d+\s+DOWN")
        res = sandbox("up", "--state-dir", str(self.state_dir))
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("ch-s1-r2 is DOWN", res.stderr)
        self.assertIn("scripts/sandbox down", res.stderr)
        self.assertIn("    | ", res.stderr)  # log tail
        res = sandbox("down", "--state-dir", str(self.state_dir))
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(still_running(self.state), [])
        self.assertEqual(all_ports(self.state) & lib.listening_ports(), set())


class TestFailedStart(unittest.TestCase):
    """A component that cannot start: `up` names it, shows its log, stops the rest."""

    def check_failure(self, component: str, expected_log_text: str):
        tmp = Path(tempfile.mkdtemp(prefix="luminate-sandbox-fail-"))
        state_dir = tmp / "state"
        try:
            res = sandbox("up", "--state-dir", str(state_dir),
                          env={"LUMINATECTL_SANDBOX_BREAK": component})
            self.assertNotEqual(res.returncode, 0)
            self.assertIn(f"{component} FAILED", res.stderr)
            self.assertIn(expected_log_text, res.stderr)
            self.assertIn("    | ", res.stderr)  # log tail
            state = json.loads((state_dir / "sandbox.json").read_text())
            self.assertEqual(state["status"], "failed")
            self.assertIn(component, state["components"])
            self.assertEqual(still_running(state), [])
            self.assertEqual(lib.find_orphans(state_dir), [])
            self.assertEqual(all_ports(state) & lib.listening_ports(), set())
            # The next `up` starts afresh; `down` removes the logs.
            res = sandbox("down", "--state-dir", str(state_dir))
            self.assertEqual(res.returncode, 0, res.stderr)
            self.assertFalse(state_dir.exists())
        finally:
            sandbox("down", "--state-dir", str(state_dir))
            shutil.rmtree(tmp, ignore_errors=True)

    def test_clickhouse_node_port_taken(self):
        self.check_failure("ch-s2-r2", "Address already in use")

    def test_zookeeper_port_taken(self):
        self.check_failure("zookeeper", "Address already in use")

    def test_pushgateway_port_taken(self):
        self.check_failure("pushgateway", "address already in use")

    def test_traffic_port_taken(self):
        self.check_failure("traffic", "Address already in use")


class TestInterruptedUp(unittest.TestCase):
    """`up` stopped half-way (Ctrl-C, or `down` run meanwhile) leaves nothing."""

    def start_up_and_wait_for_clickhouse(self, state_dir: Path) -> subprocess.Popen:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LUMINATECTL_SANDBOX")}
        proc = subprocess.Popen([sys.executable, str(SANDBOX), "up", "--state-dir", str(state_dir)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)

        def clickhouse_started() -> bool:
            state = lib.load_state(state_dir) or {}
            return "ch-s1-r1" in state.get("components", {})
        self.assertTrue(lib.wait_until(clickhouse_started, 30, interval=0.02))
        return proc

    def check_clean(self, state_dir: Path) -> None:
        state = lib.load_state(state_dir)
        if state:
            self.assertEqual(still_running(state), [])
            self.assertEqual(all_ports(state) & lib.listening_ports(), set())
        self.assertEqual(lib.find_orphans(state_dir), [])

    def test_ctrl_c_during_up(self):
        tmp = Path(tempfile.mkdtemp(prefix="luminate-sandbox-int-"))
        state_dir = tmp / "state"
        try:
            proc = self.start_up_and_wait_for_clickhouse(state_dir)
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=60)
            self.assertEqual(proc.returncode, 130, err)
            self.assertIn("interrupted", err)
            self.check_clean(state_dir)
            self.assertEqual(lib.load_state(state_dir)["status"], "failed")
        finally:
            sandbox("down", "--state-dir", str(state_dir))
            shutil.rmtree(tmp, ignore_errors=True)

    def test_down_during_up(self):
        tmp = Path(tempfile.mkdtemp(prefix="luminate-sandbox-int-"))
        state_dir = tmp / "state"
        try:
            proc = self.start_up_and_wait_for_clickhouse(state_dir)
            res = sandbox("down", "--state-dir", str(state_dir))
            self.assertEqual(res.returncode, 0, res.stderr)
            proc.communicate(timeout=60)
            self.assertNotEqual(proc.returncode, 0)
            self.assertFalse(state_dir.exists())
            self.check_clean(state_dir)
        finally:
            if proc.poll() is None:
                proc.kill()
            sandbox("down", "--state-dir", str(state_dir))
            shutil.rmtree(tmp, ignore_errors=True)


class TestInstallDeps(unittest.TestCase):
    """scripts/localenv/install-deps against fake dpkg-query/apt-get/sudo."""

    INSTALL_DEPS = LOCALENV / "install-deps"

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="luminate-install-deps-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.bin = self.tmp / "bin"
        self.bin.mkdir()
        self.calls = self.tmp / "calls.log"
        self.policy = self.tmp / "policy-rc.d"
        # dpkg-query: every package installed except those in $FAKE_MISSING.
        self.fake("dpkg-query", """
            for pkg in "$@"; do
                case "$pkg" in -*) continue ;; esac
                case " $FAKE_MISSING " in *" $pkg "*) continue ;; esac
                echo "$pkg install ok installed"
            done""")
        self.fake("apt-get", 'echo "apt-get $* policy=$(test -x "$INSTALL_DEPS_POLICY_RC_D" '
                             '&& echo yes || echo no)" >> "$CALLS"')
        os.chmod(self.tmp, 0o755)  # reachable by `nobody` in the non-root cases
        # install-deps ends with `pyvenv.py ensure`: point it at a venv marked complete, so the
        # test never installs one (nor needs a HOME, which `nobody` lacks).
        self.venv = self.tmp / "venv"
        self.venv.mkdir()
        (self.venv / pyvenv.MARKER).write_text(pyvenv.requirements_hash() + "\n")

    def fake(self, name: str, body: str) -> None:
        path = self.bin / name
        path.write_text("#!/bin/bash\n" + body + "\n")
        path.chmod(0o755)

    def run_deps(self, *args: str, missing: str = "", as_nobody: bool = False,
                 path: str | None = None) -> subprocess.CompletedProcess:
        env = {"PATH": path or f"{self.bin}:/usr/bin:/bin", "FAKE_MISSING": missing,
               "CALLS": str(self.calls), "INSTALL_DEPS_POLICY_RC_D": str(self.policy),
               "LUMINATECTL_LOCALENV_VENV": str(self.venv)}
        cmd = ["bash", str(self.INSTALL_DEPS), *args]
        if as_nobody:
            cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)

    def apt_calls(self) -> list[str]:
        return self.calls.read_text().splitlines() if self.calls.exists() else []

    def test_real_machine_fast_path(self):
        # Real dpkg-query, fake apt-get: everything is installed, apt is not run.
        self.bin.joinpath("dpkg-query").unlink()
        t = time.monotonic()
        res = self.run_deps()
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(self.apt_calls(), [])
        res = self.run_deps("--check")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertLess(time.monotonic() - t, 5)

    def test_check_names_missing_packages(self):
        res = self.run_deps("--check", missing="zookeeper libyaml-dev")
        self.assertEqual(res.returncode, 1)
        self.assertIn("zookeeper libyaml-dev", res.stderr)
        self.assertEqual(self.apt_calls(), [])

    def test_installs_only_what_is_missing_as_root(self):
        if os.geteuid() != 0:
            self.skipTest("needs root")
        res = self.run_deps(missing="prometheus")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(self.apt_calls(), [
            "apt-get update -qq policy=yes",
            "apt-get install -y -qq --no-install-recommends prometheus policy=yes"])
        self.assertFalse(self.policy.exists())  # temporary policy-rc.d removed

    def test_not_root_uses_sudo(self):
        if os.geteuid() != 0 or not shutil.which("setpriv"):
            self.skipTest("needs root and setpriv to become another user")
        self.fake("sudo", 'echo "sudo $1" >> "$CALLS"; "$@"')
        os.chmod(self.tmp, 0o777)
        res = self.run_deps(missing="clickhouse-server", as_nobody=True)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("sudo env", self.apt_calls())
        self.assertIn("apt-get install -y -qq --no-install-recommends clickhouse-server policy=yes",
                      self.apt_calls())

    def test_not_root_without_sudo_names_packages(self):
        if os.geteuid() != 0 or not shutil.which("setpriv"):
            self.skipTest("needs root and setpriv to become another user")
        if Path("/usr/bin/sudo").exists():
            self.skipTest("sudo is installed")
        res = self.run_deps(missing="clickhouse-server zookeeper", as_nobody=True)
        self.assertEqual(res.returncode, 1)
        self.assertIn("need root", res.stderr)
        self.assertIn("clickhouse-server zookeeper", res.stderr)
        self.assertEqual(self.apt_calls(), [])


if __name__ == "__main__":
    unittest.main()
