"""Tests of manifests/, the alert rules, the dashboard, runbooks/ and docs/.

    python3 -m unittest discover -s tests/manifests

Needs kubectl, promtool and prometheus (scripts/localenv/install-deps installs them); amtool
and a built luminatectl are used when present. Set MANIFESTS_TODAY=YYYY-MM-DD to judge the
runbooks' review dates against another day than the fixed one below.
"""

import json
import os
import re
import shlex
import shutil
import tempfile
import unittest
from datetime import date
from pathlib import Path

from manifestlib import (
    ALERT_TESTS, DASHBOARD_FILE, DOCS, KUBECTL, OVERLAYS, PROMETHEUSRULE_FILE, PROMTOOL, ROOT,
    RULES_FILE, RUNBOOK_URL_PREFIX, RUNBOOKS, Emulator, anchors, check_promql, fenced_blocks,
    fixture_metric_names, front_matter, kustomize, loaded_rule_groups, markdown_links,
    metric_names, run,
)

# The day the runbooks' review dates are judged against: a fixed clock, so that the suite gives
# the same answer every day (the production checklist judges them against the real one).
TODAY = date.fromisoformat(os.environ.get("MANIFESTS_TODAY", "2026-11-29"))
REVIEW_MAX_AGE_DAYS = 180

RUNBOOK_FILES = ["high-error-rate.md", "high-latency.md", "storage-issues.md", "scaling.md",
                 "disaster-recovery.md"]
FRONT_MATTER_FIELDS = ["title", "severity", "owners", "reviewed-by", "reviewed-on", "alerts"]
BLOCK_KINDS = {"kubectl", "promql", "sql", "luminatectl", "shell"}
DOC_FILES = ["deployment.md", "scaling.md", "monitoring.md", "alerting.md", "backup-restore.md",
             "retention.md"]

# The operations guide's metric list (docs/monitoring.md): the dashboard has a panel for each.
GUIDE_METRICS = {
    "luminate_http_requests_total", "luminate_http_request_duration_seconds",
    "luminate_storage_writes_total", "luminate_storage_query_duration_seconds",
    "luminate_rate_limit_rejected_total", "luminate_goroutines", "luminate_memory_usage_bytes",
    "process_cpu_seconds_total",
    # ClickHouse's query, background pool and rows metrics (its built-in /metrics endpoint).
    "ClickHouseMetrics_Query", "ClickHouseMetrics_BackgroundMergesAndMutationsPoolTask",
    "ClickHouseProfileEvents_InsertedRows", "ClickHouseProfileEvents_SelectedRows",
}
# Also allowed in rules and panels: replication lag (ClickHouse) and the backup job's status
# metric, whose contract docs/monitoring.md states.
OTHER_DOCUMENTED_METRICS = {"ClickHouseAsyncMetrics_ReplicasMaxAbsoluteDelay",
                            "luminate_backup_last_success_timestamp_seconds"}

_fixture_names = None


def allowed_metrics():
    global _fixture_names
    if _fixture_names is None:
        _fixture_names = fixture_metric_names()
    return _fixture_names | GUIDE_METRICS | OTHER_DOCUMENTED_METRICS


def base_metric(name):
    return re.sub(r"_(bucket|sum|count)$", "", name)


def rendered(overlay):
    return kustomize(OVERLAYS[overlay])


def alerting_rules():
    """The rules as Prometheus loads the plain file: name -> rule (from /api/v1/rules)."""
    groups = loaded_rule_groups([RULES_FILE])
    return {r["name"]: r for g in groups for r in g["rules"] if r["type"] == "alerting"}


# =============================================================================================
# Rendering and applying


class RenderTests(unittest.TestCase):
    def test_every_overlay_renders(self):
        for overlay in OVERLAYS:
            with self.subTest(overlay=overlay):
                self.assertIn("kind: Deployment", rendered(overlay))
        kustomize(ROOT / "manifests/base")

    def test_kubectl_1_29_renders_the_same(self):
        # kubectl against the emulator (v1.29) runs kustomize 5.0; the dispatcher's default 5.5.
        versioned = Path(os.path.realpath(KUBECTL)).parent / "kubectl.1.29"
        if not versioned.exists():
            self.skipTest("no kubectl.1.29 next to the kubectl dispatcher")
        for overlay, path in OVERLAYS.items():
            with self.subTest(overlay=overlay):
                self.assertEqual(kustomize(path, str(versioned)), rendered(overlay))

    def test_images_are_pinned(self):
        for overlay in OVERLAYS:
            for image in re.findall(r"^\s*image: (\S+)$", rendered(overlay), re.M):
                with self.subTest(overlay=overlay, image=image):
                    self.assertRegex(image, r":[0-9][\w.\-]*$", "image without a version tag")
                    self.assertNotRegex(image, r":latest$")


class ApplyTests(unittest.TestCase):
    """Each overlay on a fresh emulator: server-side dry run, then for real."""

    def test_overlays_apply_to_a_fresh_emulator(self):
        for overlay in OVERLAYS:
            with self.subTest(overlay=overlay), Emulator() as emu:
                manifest = rendered(overlay)
                seeded = len(emu.stored_objects())

                dry = emu.kubectl("apply", "--dry-run=server", "-f", "-", stdin=manifest)
                self.assertIn("(server dry run)", dry.stdout)
                self.assertEqual(len(emu.stored_objects()), seeded, "a dry run stored objects")

                emu.kubectl("apply", "-f", "-", stdin=manifest)
                with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
                    f.write(manifest)
                    f.flush()
                    listed = json.loads(emu.kubectl("get", "-f", f.name, "-o", "json").stdout)
                documents = len(re.findall(r"^kind: ", manifest, re.M))
                self.assertEqual(len(listed["items"]), documents)
                # The namespace existed already; everything else is new.
                self.assertEqual(len(emu.stored_objects()), seeded + documents - 1)

                # Applying the same manifests again changes nothing and fails nothing.
                emu.kubectl("apply", "-f", "-", stdin=manifest)


# =============================================================================================
# What the production overlay contains (the production checklist's static checks, in brief)


class ProductionManifestTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.emu = Emulator()
        try:
            manifest = rendered("production")
            cls.emu.kubectl("apply", "-f", "-", stdin=manifest)
            with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
                f.write(manifest)
                f.flush()
                cls.objects = json.loads(cls.emu.kubectl("get", "-f", f.name, "-o", "json").stdout)["items"]
        except Exception:
            cls.emu.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.emu.stop()

    def of_kind(self, kind):
        return [o for o in self.objects if o["kind"] == kind]

    def one(self, kind, name):
        found = [o for o in self.of_kind(kind) if o["metadata"]["name"] == name]
        self.assertEqual(len(found), 1, f"{kind}/{name}")
        return found[0]

    def pod_specs(self):
        for o in self.objects:
            spec = o.get("spec", {})
            if o["kind"] == "CronJob":
                yield o, spec["jobTemplate"]["spec"]["template"]["spec"]
            elif "template" in spec:
                yield o, spec["template"]["spec"]

    def labelled(self, kind, name_label):
        return [o for o in self.of_kind(kind)
                if o["metadata"].get("labels", {}).get("app.kubernetes.io/name") == name_label]

    def test_no_secret_objects(self):
        self.assertEqual(self.of_kind("Secret"), [])
        self.assertGreater(len(self.of_kind("ExternalSecret")), 0)

    def test_every_container_has_requests_and_limits(self):
        units = {"m": 1e-3, "": 1, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}

        def quantity(q):
            number, unit = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(q)).groups()
            return float(number) * units[unit]

        for o, spec in self.pod_specs():
            for c in spec.get("initContainers", []) + spec["containers"]:
                with self.subTest(workload=o["metadata"]["name"], container=c["name"]):
                    resources = c.get("resources", {})
                    for resource in ("cpu", "memory"):
                        request = resources.get("requests", {}).get(resource)
                        limit = resources.get("limits", {}).get(resource)
                        self.assertIsNotNone(request, f"no {resource} request")
                        self.assertIsNotNone(limit, f"no {resource} limit")
                        self.assertGreaterEqual(quantity(limit), quantity(request))

    def test_pods_are_hardened(self):
        for o, spec in self.pod_specs():
            name = o["metadata"]["name"]
            with self.subTest(workload=name):
                self.assertNotIn(spec.get("serviceAccountName", "default"), ("default", ""))
                self.assertEqual(spec["securityContext"]["seccompProfile"]["type"], "RuntimeDefault")
                for c in spec["containers"]:
                    sc = c["securityContext"]
                    self.assertIs(sc["allowPrivilegeEscalation"], False)
                    self.assertIs(sc["readOnlyRootFilesystem"], True)
                    self.assertEqual(sc["capabilities"]["drop"], ["ALL"])
                    if o["metadata"]["namespace"] == "luminate":
                        self.assertIs(spec["securityContext"]["runAsNonRoot"], True)

    def test_luminate_deployment(self):
        deploy = self.one("Deployment", "luminate")
        self.assertGreaterEqual(deploy["spec"]["replicas"], 3)
        container = deploy["spec"]["template"]["spec"]["containers"][0]
        for probe in ("readinessProbe", "livenessProbe"):
            self.assertIn(probe, container)
        jwt = [e for e in container["env"] if e["name"] == "LUMINATE_JWT_SECRET"]
        self.assertEqual(jwt[0]["valueFrom"]["secretKeyRef"], {"name": "luminate-jwt", "key": "jwt-secret"})

    def test_luminate_is_exposed_through_https_only(self):
        ingress = self.one("Ingress", "luminate")
        self.assertEqual(ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/force-ssl-redirect"], "true")
        tls = ingress["spec"]["tls"][0]
        self.assertEqual(tls["secretName"], "luminate-tls")
        self.assertEqual(tls["hosts"], [r["host"] for r in ingress["spec"]["rules"]])
        for service in self.of_kind("Service"):
            self.assertNotIn(service["spec"].get("type"), ("LoadBalancer", "NodePort"))

    def test_autoscaler(self):
        hpa = self.one("HorizontalPodAutoscaler", "luminate")["spec"]
        self.assertGreaterEqual(hpa["minReplicas"], 3)
        self.assertGreater(hpa["maxReplicas"], hpa["minReplicas"])
        cpu = [m for m in hpa["metrics"] if m["resource"]["name"] == "cpu"][0]
        self.assertLessEqual(cpu["resource"]["target"]["averageUtilization"], 70)
        self.assertEqual(hpa["minReplicas"], self.one("Deployment", "luminate")["spec"]["replicas"])

    def test_clickhouse_layout_matches_remote_servers(self):
        # 2 shards x 2 replicas: the StatefulSets' pods are exactly remote_servers' hosts.
        sets = self.labelled("StatefulSet", "clickhouse")
        self.assertEqual(sum(s["spec"]["replicas"] for s in sets), 4)
        pods = {f"{s['metadata']['name']}-{i}" for s in sets for i in range(s["spec"]["replicas"])}
        cluster_xml = self.one("ConfigMap", "clickhouse-config")["data"]["cluster.xml"]
        shards = re.findall(r"<shard>(.*?)</shard>", cluster_xml, re.S)
        self.assertEqual(len(shards), 2)
        hosts = {h.split(".")[0] for shard in shards for h in re.findall(r"<host>(.*?)</host>", shard)}
        self.assertEqual(hosts, pods)
        for s in sets:
            shard = s["spec"]["template"]["metadata"]["labels"]["luminate.io/shard"]
            env = {e["name"]: e.get("value") for e in s["spec"]["template"]["spec"]["containers"][0]["env"]}
            self.assertEqual(env["CLICKHOUSE_SHARD"], shard)
            self.assertEqual(s["spec"]["volumeClaimTemplates"][0]["metadata"]["name"], "data")
        for name, text in self.one("ConfigMap", "clickhouse-config")["data"].items():
            with self.subTest(file=name):
                import xml.etree.ElementTree as ET
                ET.fromstring(text)

    def test_zookeeper_ensemble(self):
        zk = self.one("StatefulSet", "zookeeper")
        self.assertEqual(zk["spec"]["replicas"], 3)
        config = [c for c in self.of_kind("ConfigMap") if c["metadata"]["name"].startswith("zookeeper-config")]
        servers = re.findall(r"^server\.(\d+)=(zookeeper-\d+)\.", config[0]["data"]["zoo.cfg"], re.M)
        self.assertEqual(servers, [("1", "zookeeper-0"), ("2", "zookeeper-1"), ("3", "zookeeper-2")])

    def test_disruption_budgets(self):
        selected = [p["spec"]["selector"]["matchLabels"] for p in self.of_kind("PodDisruptionBudget")]
        for labels in ({"app.kubernetes.io/name": "luminate"}, {"luminate.io/shard": "1"},
                       {"luminate.io/shard": "2"}, {"app.kubernetes.io/name": "zookeeper"}):
            with self.subTest(labels=labels):
                self.assertTrue(any(labels.items() <= s.items() for s in selected))

    def test_network_policies(self):
        policies = [p for p in self.of_kind("NetworkPolicy") if p["metadata"]["namespace"] == "luminate"]
        deny = [p for p in policies if p["spec"]["podSelector"] == {}
                and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
                and not p["spec"].get("ingress") and not p["spec"].get("egress")]
        self.assertEqual(len(deny), 1, "one default-deny policy")
        selected = {p["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name") for p in policies}
        self.assertTrue({"luminate", "clickhouse", "zookeeper"} <= selected)

    def test_rbac_is_least_privilege(self):
        for role in self.of_kind("Role") + self.of_kind("ClusterRole"):
            for rule in role["rules"]:
                with self.subTest(role=role["metadata"]["name"]):
                    self.assertNotIn("*", rule["verbs"])
                    self.assertNotIn("*", rule["resources"])
        for binding in self.of_kind("RoleBinding") + self.of_kind("ClusterRoleBinding"):
            self.assertNotEqual(binding["roleRef"]["name"], "cluster-admin")
        accounts = {a["metadata"]["name"]: a for a in self.of_kind("ServiceAccount")}
        for name in ("clickhouse", "zookeeper", "luminate-secrets"):
            self.assertIs(accounts[name]["automountServiceAccountToken"], False)

    def test_backup_and_retention_jobs(self):
        backup = self.one("CronJob", "luminate-backup")["spec"]
        self.assertRegex(backup["schedule"], r"^\d+ \* \* \* \*$", "at least hourly")
        self.assertEqual(backup["concurrencyPolicy"], "Forbid")
        retention = self.one("CronJob", "luminate-retention")["spec"]
        self.assertRegex(retention["schedule"], r"^\d+ \d+ \* \* \*$", "daily")
        for job in (backup, retention):
            pod = job["jobTemplate"]["spec"]["template"]["spec"]
            self.assertIn("--wait-lock", pod["containers"][0]["args"])
            volumes = {v["name"]: v for v in pod["volumes"]}
            self.assertTrue(volumes["config"]["configMap"]["name"].startswith("luminatectl-config"))
        # The exact command the retention job runs: it confirms with --yes (no terminal in a Job)
        # and never forces past its safety checks.
        container = lambda job: job["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
        self.assertEqual(container(retention)["args"], ["retention", "apply", "--yes", "--wait-lock", "30m"])
        self.assertNotIn("--force", container(retention)["args"])

    def test_luminatectl_configuration_is_valid(self):
        binary = Path(os.environ.get("LUMINATECTL_BIN", ROOT / ".build/debug/luminatectl"))
        if not binary.exists():
            self.skipTest("luminatectl is not built")
        config = [c for c in self.of_kind("ConfigMap") if c["metadata"]["name"].startswith("luminatectl-config")][0]
        env = [c for c in self.of_kind("ConfigMap") if c["metadata"]["name"].startswith("luminatectl-env")][0]
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            f.write(config["data"]["config.yaml"])
            f.flush()
            proc = run([str(binary), "config", "view", "--config", f.name,
                        "--env", env["data"]["LUMINATECTL_ENV"], "-o", "json"])
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_monitoring_objects(self):
        self.assertEqual(len(self.of_kind("ServiceMonitor")), 1)
        self.assertEqual({p["metadata"]["name"] for p in self.of_kind("PodMonitor")}, {"clickhouse", "zookeeper"})
        self.assertEqual(len(self.labelled("DaemonSet", "fluent-bit")), 1)
        receivers = self.one("AlertmanagerConfig", "luminate")["spec"]["receivers"]
        keys = [r["pagerdutyConfigs"][0]["routingKey"] for r in receivers if "pagerdutyConfigs" in r]
        keys += [r["opsgenieConfigs"][0]["apiKey"] for r in receivers if "opsgenieConfigs" in r]
        self.assertEqual(len(keys), 2)
        synced = {d["secretKey"] for d in self.one("ExternalSecret", "alertmanager-luminate")["spec"]["data"]}
        for key in keys:
            self.assertEqual(key["name"], "alertmanager-luminate")
            self.assertIn(key["key"], synced)

    def test_dashboard_configmap_carries_the_dashboard(self):
        cm = self.one("ConfigMap", "luminate-dashboard")
        self.assertEqual(cm["metadata"]["labels"]["grafana_dashboard"], "1")
        self.assertEqual(json.loads(cm["data"]["luminate.json"]), json.loads(DASHBOARD_FILE.read_text()))

    def test_prometheusrule_loads_the_same_rules_as_the_plain_file(self):
        # What the operator would hand Prometheus (the PrometheusRule's spec, as the API server
        # returns it) against the plain file: both loaded by Prometheus, compared rule by rule.
        spec = self.one("PrometheusRule", "luminate-alerts")["spec"]
        with tempfile.TemporaryDirectory() as d:
            from_object = Path(d) / "prometheusrule-spec.rules.json"
            from_object.write_text(json.dumps(spec))
            check = run([PROMTOOL, "check", "rules", str(from_object)])
            self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
            groups = loaded_rule_groups([RULES_FILE, from_object])

        def comparable(file):
            return [(g["name"], [(r["name"], r["query"], r.get("duration"), r.get("labels"),
                                  r.get("annotations")) for r in g["rules"]])
                    for g in groups if g["file"] == str(file)]

        plain, operator = comparable(RULES_FILE), comparable(from_object)
        self.assertGreater(len(plain), 0)
        self.assertEqual(plain, operator)


# =============================================================================================
# Alert rules


class AlertRuleTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rules = alerting_rules()

    def test_promtool_check_rules(self):
        proc = run([PROMTOOL, "check", "rules", str(RULES_FILE)])
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)

    def test_promtool_unit_tests(self):
        # Each alert fires on a sustained breach and stays silent on healthy data and on a
        # short spike (tests/manifests/alerts.test.yaml).
        proc = run([PROMTOOL, "test", "rules", str(ALERT_TESTS)], cwd=ALERT_TESTS.parent)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)

    def test_unit_tests_cover_every_alert(self):
        tested = set(re.findall(r"^\s+alertname: (\w+)$", ALERT_TESTS.read_text(), re.M))
        self.assertEqual(tested, set(self.rules))
        firing = set(re.findall(r"alertname: (\w+)\n\s+exp_alerts:\n", ALERT_TESTS.read_text()))
        self.assertEqual(firing, set(self.rules), "every alert has a case in which it fires")

    def test_prometheusrule_is_generated_from_the_rules_file(self):
        proc = run(["python3", str(ROOT / "scripts/render-prometheusrule"), "--check"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("kind: PrometheusRule", PROMETHEUSRULE_FILE.read_text())

    def test_the_required_alerts_exist(self):
        queries = {name: r["query"] for name, r in self.rules.items()}
        required = {
            "LuminateHighErrorRate": ("code=~\"5..\"", "0.05", 300),
            "LuminateHighLatency": ("luminate_http_request_duration_seconds_bucket", "0.5", 600),
            "LuminateWriteLatencySLA": ("luminate_storage_write_duration_seconds_bucket", "0.1", None),
            "LuminateQueryLatencySLA": ("luminate_storage_query_duration_seconds_bucket", "0.2", None),
            "LuminateStorageHigh": ("kubelet_volume_stats_used_bytes", "0.7", None),
            "LuminateCPUHigh": ("container_cpu_usage_seconds_total", "0.7", None),
            "LuminateMemoryHigh": ("container_memory_working_set_bytes", "0.8", None),
            "LuminateBackupTooOld": ("luminate_backup_last_success_timestamp_seconds", "3600", None),
            "ClickHouseReplicationLag": ("ClickHouseAsyncMetrics_ReplicasMaxAbsoluteDelay", "", None),
            "ZooKeeperQuorumLost": ('job="zookeeper"', "", None),
            "LuminateRateLimitRejections": ("luminate_rate_limit_rejected_total", "", None),
        }
        for name, (selector, threshold, duration) in required.items():
            with self.subTest(alert=name):
                self.assertIn(selector, queries[name])
                self.assertIn(threshold, queries[name])
                if duration is not None:
                    self.assertEqual(self.rules[name]["duration"], duration)

    def test_every_alert_has_severity_summary_and_runbook(self):
        for name, rule in self.rules.items():
            with self.subTest(alert=name):
                self.assertIn(rule["labels"].get("severity"), ("critical", "warning"))
                self.assertEqual(rule["labels"].get("service"), "luminate")
                for annotation in ("summary", "description", "runbook_url"):
                    self.assertTrue(rule["annotations"].get(annotation))

    def test_runbook_urls_resolve(self):
        for name, rule in self.rules.items():
            url = rule["annotations"]["runbook_url"]
            with self.subTest(alert=name, url=url):
                self.assertTrue(url.startswith(RUNBOOK_URL_PREFIX + "runbooks/"), url)
                path, _, anchor = url[len(RUNBOOK_URL_PREFIX):].partition("#")
                target = ROOT / path
                self.assertTrue(target.is_file(), f"{path} does not exist")
                if anchor:
                    self.assertIn(anchor, anchors(target.read_text()), f"no section #{anchor} in {path}")
                listed = front_matter(target.read_text())["alerts"]
                self.assertIn(name, listed, f"{path}'s front matter does not list {name}")

    def test_runbooks_list_only_alerts_that_link_to_them(self):
        for file in RUNBOOK_FILES:
            for alert in front_matter((RUNBOOKS / file).read_text())["alerts"]:
                with self.subTest(runbook=file, alert=alert):
                    self.assertIn(alert, self.rules)
                    self.assertIn(f"runbooks/{file}", self.rules[alert]["annotations"]["runbook_url"])

    def test_rules_use_known_metrics(self):
        allowed = allowed_metrics()
        for name, rule in self.rules.items():
            with self.subTest(alert=name):
                self.assertLessEqual(metric_names(rule["query"]) - {"up"}, allowed)

    def test_alertmanager_example_is_valid(self):
        amtool = shutil.which("amtool")
        if not amtool:
            self.skipTest("amtool is not installed (Debian: prometheus-alertmanager)")
        example = ROOT / "manifests/base/monitoring/alertmanager.example.yml"
        proc = run([amtool, "check-config", str(example)])
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)


# =============================================================================================
# Dashboard


class DashboardTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dashboard = json.loads(DASHBOARD_FILE.read_text())
        cls.panels = [p for p in cls.dashboard["panels"] if p["type"] != "row"]

    def expressions(self):
        for panel in self.panels:
            for target in panel["targets"]:
                yield panel["title"], target["expr"]

    @staticmethod
    def concrete(expr):
        return expr.replace("$__rate_interval", "5m").replace("$namespace", "luminate")

    def test_dashboard_shape(self):
        self.assertEqual(self.dashboard["uid"], "luminate-overview")
        self.assertGreater(len(self.panels), 10)
        for panel in self.panels:
            with self.subTest(panel=panel["title"]):
                self.assertTrue(panel["targets"])
                self.assertEqual(panel["datasource"]["uid"], "${datasource}")

    def test_panels_do_not_overlap(self):
        cells = {}
        for panel in self.dashboard["panels"]:
            g = panel["gridPos"]
            self.assertLessEqual(g["x"] + g["w"], 24, panel["title"])
            for x in range(g["x"], g["x"] + g["w"]):
                for y in range(g["y"], g["y"] + g["h"]):
                    self.assertNotIn((x, y), cells, f"{panel['title']} overlaps {cells.get((x, y))}")
                    cells[(x, y)] = panel["title"]

    def test_expressions_parse(self):
        ok, output = check_promql([self.concrete(e) for _, e in self.expressions()])
        self.assertTrue(ok, output)

    def test_only_known_metrics(self):
        allowed = allowed_metrics()
        for title, expr in self.expressions():
            with self.subTest(panel=title):
                self.assertLessEqual(metric_names(self.concrete(expr)), allowed)

    def test_every_guide_metric_has_a_panel(self):
        used = {base_metric(m) for _, e in self.expressions() for m in metric_names(self.concrete(e))}
        self.assertLessEqual(GUIDE_METRICS, used)

    def test_every_panel_metric_is_documented(self):
        guide = (DOCS / "monitoring.md").read_text()
        for title, expr in self.expressions():
            for metric in metric_names(self.concrete(expr)):
                with self.subTest(panel=title, metric=metric):
                    self.assertIn(base_metric(metric), guide)


# =============================================================================================
# Runbooks and guides


def review_problems(text, today):
    """What keeps a runbook's front matter from passing: missing fields, an old review."""
    fields = front_matter(text)
    if fields is None:
        return ["no front matter"]
    problems = [f"no {f}" for f in FRONT_MATTER_FIELDS if not fields.get(f)]
    if fields.get("reviewed-on"):
        reviewed = date.fromisoformat(fields["reviewed-on"])
        if reviewed > today:
            problems.append(f"reviewed-on {reviewed} is in the future")
        elif (today - reviewed).days > REVIEW_MAX_AGE_DAYS:
            problems.append(f"reviewed-on {reviewed} is more than {REVIEW_MAX_AGE_DAYS} days old")
    return problems


class RunbookDocumentTests(unittest.TestCase):
    def runbooks(self):
        return {f: (RUNBOOKS / f).read_text() for f in RUNBOOK_FILES}

    def test_exactly_the_five_runbooks(self):
        self.assertEqual(sorted(p.name for p in RUNBOOKS.glob("*.md")), sorted(RUNBOOK_FILES))

    def test_front_matter(self):
        for name, text in self.runbooks().items():
            with self.subTest(runbook=name):
                self.assertEqual(review_problems(text, TODAY), [])
                fields = front_matter(text)
                self.assertIn(fields["severity"], ("critical", "warning"))
                self.assertIsInstance(fields["owners"], list)
                self.assertIsInstance(fields["alerts"], list)

    def test_the_review_date_is_judged_by_the_injected_clock(self):
        text = (RUNBOOKS / "scaling.md").read_text()
        reviewed = date.fromisoformat(front_matter(text)["reviewed-on"])
        self.assertEqual(review_problems(text, reviewed), [])
        late = date.fromordinal(reviewed.toordinal() + REVIEW_MAX_AGE_DAYS + 1)
        self.assertEqual(len(review_problems(text, late)), 1)
        self.assertEqual(review_problems("# no front matter\n", TODAY), ["no front matter"])

    def test_steps_are_one_command_per_fenced_block(self):
        for name, text in self.runbooks().items():
            blocks = fenced_blocks(text)
            self.assertGreater(len(blocks), 5, name)
            for info, body, line in blocks:
                with self.subTest(runbook=name, line=line):
                    self.assertIn(info, BLOCK_KINDS)
                    self.assertTrue(body.strip(), "empty block")
                    if info in ("kubectl", "luminatectl", "shell", "promql"):
                        self.assertEqual(len(body.strip().splitlines()), 1, "one command per block")
                    if info in ("kubectl", "luminatectl"):
                        self.assertTrue(body.startswith(info + " "), f"a {info} block runs {info}")
                    if info == "sql":
                        self.assertNotIn(";", body.rstrip().rstrip(";"), "one statement per block")

    def test_disaster_recovery_covers_the_four_scenarios(self):
        headings = [h.lower() for h in re.findall(r"^## (.*)$", (RUNBOOKS / "disaster-recovery.md").read_text(), re.M)]
        for scenario in ("node failure", "cluster failure", "data-centre failure", "data corruption"):
            with self.subTest(scenario=scenario):
                self.assertTrue(any(h.startswith(scenario) for h in headings), headings)
        text = (RUNBOOKS / "disaster-recovery.md").read_text()
        self.assertIn("restore from backup", text.lower())
        self.assertIn("failover", text.lower())
        self.assertIn("point-in-time restore", text.lower())

    def test_guides_exist(self):
        for name in DOC_FILES:
            with self.subTest(guide=name):
                self.assertTrue((DOCS / name).is_file())

    def test_links_resolve(self):
        for directory, files in ((RUNBOOKS, RUNBOOK_FILES), (DOCS, DOC_FILES)):
            for name in files:
                text = (directory / name).read_text()
                for path, anchor in markdown_links(text):
                    with self.subTest(file=f"{directory.name}/{name}", link=f"{path}#{anchor}"):
                        target = (directory / path).resolve() if path else directory / name
                        self.assertTrue(target.exists(), f"{target} does not exist")
                        if anchor:
                            self.assertIn(anchor, anchors(target.read_text()))

    def test_promql_blocks_parse(self):
        expressions = []
        for directory, files in ((RUNBOOKS, RUNBOOK_FILES), (DOCS, DOC_FILES)):
            for name in files:
                expressions += [b for info, b, _ in fenced_blocks((directory / name).read_text()) if info == "promql"]
        self.assertGreater(len(expressions), 10)
        ok, output = check_promql(expressions)
        self.assertTrue(ok, output)

    def test_promql_blocks_use_known_metrics(self):
        allowed = allowed_metrics()
        for directory, files in ((RUNBOOKS, RUNBOOK_FILES), (DOCS, DOC_FILES)):
            for name in files:
                for info, body, line in fenced_blocks((directory / name).read_text()):
                    if info == "promql":
                        with self.subTest(file=name, line=line):
                            self.assertLessEqual(metric_names(body) - {"up"}, allowed)

    def test_luminatectl_commands_exist(self):
        # A guide never documents a command that does not exist: every luminatectl command in a
        # fenced block must answer --help.
        binary = Path(os.environ.get("LUMINATECTL_BIN", ROOT / ".build/debug/luminatectl"))
        if not binary.exists():
            self.skipTest("luminatectl is not built")
        seen = 0
        for directory, files in ((RUNBOOKS, RUNBOOK_FILES), (DOCS, DOC_FILES)):
            for name in files:
                for info, body, line in fenced_blocks((directory / name).read_text()):
                    for command in body.splitlines():
                        if not command.startswith("luminatectl "):
                            continue
                        seen += 1
                        words = shlex.split(command, comments=True)[1:]
                        path = []
                        for w in words:
                            if w.startswith("-"):
                                break
                            path.append(w)
                        with self.subTest(file=name, line=line, command=command):
                            proc = run([str(binary), *path, "--help"])
                            self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertGreater(seen, 0)


# =============================================================================================
# The runbooks' and guides' kubectl commands, against the production overlay in the emulator


# Verbs the emulator cannot serve (streams, node-level operations): checked for form only.
UNSERVED_VERBS = {"port-forward", "exec", "top", "drain", "cp", "attach", "debug", "proxy"}
READ_ONLY = {"get", "describe", "logs", "diff", "wait", "config", "version", "api-resources", "explain",
             "rollout status", "rollout history"}
# kubectl 1.29 has no --dry-run for these: they run, and the rollouts they start are completed.
RUN_FOR_REAL = {"rollout restart"}
# Objects that only exist once the procedure that names them has run (docs/scaling.md's new shard).
CREATED_BY_THE_PROCEDURE = {"statefulset/clickhouse-s3"}
# Values for the placeholders the commands use.
PLACEHOLDERS = {
    "POD": "zookeeper-2", "NODE": "node-1", "PVC": "data-clickhouse-s1-0", "SIZE": "750Gi",
    "MAX": "16", "RUN_ID": "test", "STANDBY_CONTEXT": "luminate-local",
}


class CommandTests(unittest.TestCase):
    """Every kubectl block runs against the emulator holding the production overlay, with
    rolled-out workloads, a rollout history and what a cluster would add (volumes, the lock):
    read-only commands as they are, mutating ones with --dry-run=server."""

    @classmethod
    def setUpClass(cls):
        cls.emu = Emulator()
        try:
            cls.prepare(cls.emu)
        except Exception:
            cls.emu.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.emu.stop()

    @staticmethod
    def complete_rollouts(emu):
        """What the controllers would do: every workload rolled out to its current template."""
        for kind, name, namespace in (("StatefulSet", "clickhouse-s1", "luminate"),
                                      ("StatefulSet", "clickhouse-s2", "luminate"),
                                      ("StatefulSet", "zookeeper", "luminate"),
                                      ("DaemonSet", "luminate-fluent-bit", "kube-system"),
                                      ("Deployment", "luminate", "luminate")):
            emu.control("rollout", {"namespace": namespace, "name": name, "kind": kind, "outcome": "complete"})

    @classmethod
    def prepare(cls, emu):
        emu.kubectl("apply", "-f", "-", stdin=rendered("production"))
        cls.complete_rollouts(emu)
        # A second revision, so that `rollout undo` has one to return to.
        emu.kubectl("-n", "luminate", "set", "image", "deployment/luminate", "luminate=ghcr.io/luminate/luminate:2.4.2")
        cls.complete_rollouts(emu)

        cluster_state = [
            {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
             "metadata": {"name": f"{volume}-{pod}", "namespace": "luminate"},
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}}}
            for volume, pods in (("data", ["clickhouse-s1-0", "clickhouse-s1-1", "clickhouse-s2-0",
                                           "clickhouse-s2-1", "zookeeper-0", "zookeeper-1", "zookeeper-2"]),
                                 ("datalog", ["zookeeper-0", "zookeeper-1", "zookeeper-2"]))
            for pod in pods]
        cluster_state.append({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                              "metadata": {"name": "luminatectl", "namespace": "luminate"},
                              "spec": {"holderIdentity": "luminatectl backup", "leaseDurationSeconds": 120}})
        cluster_state.append({"apiVersion": "v1", "kind": "Endpoints",
                              "metadata": {"name": "kubernetes", "namespace": "default"},
                              "subsets": [{"addresses": [{"ip": "10.30.0.2"}], "ports": [{"name": "https", "port": 443}]}]})
        cluster_state.append({"apiVersion": "batch/v1", "kind": "Job",
                              "metadata": {"name": f"luminate-backup-manual-{PLACEHOLDERS['RUN_ID']}", "namespace": "luminate",
                                           "labels": {"app.kubernetes.io/component": "backup"}},
                              "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
                                  {"name": "luminatectl", "image": "ghcr.io/luminate/luminatectl:0.1.0"}]}}}})
        emu.kubectl("apply", "-f", "-", stdin="\n".join(json.dumps(o) for o in cluster_state))
        emu.kubectl("-n", "luminate", "patch", "job", f"luminate-backup-manual-{PLACEHOLDERS['RUN_ID']}",
                    "--subresource=status", "--type=merge",
                    "-p", json.dumps({"status": {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}}))

    def commands(self):
        for directory, files in ((RUNBOOKS, RUNBOOK_FILES), (DOCS, DOC_FILES)):
            for name in files:
                for info, body, line in fenced_blocks((directory / name).read_text()):
                    if info == "kubectl":
                        yield f"{directory.name}/{name}:{line}", body.strip()

    def test_kubectl_commands_run(self):
        ran = 0
        for where, command in self.commands():
            with self.subTest(where=where, command=command):
                names = set(re.findall(r"\$\{(\w+)\}", command))
                self.assertLessEqual(names, set(PLACEHOLDERS), "a placeholder without a test value")
                for key in names:
                    command = command.replace("${%s}" % key, PLACEHOLDERS[key])
                argv = shlex.split(command)
                self.assertEqual(argv[0], "kubectl")
                words = [w for w in argv[1:] if not w.startswith("-") and w != "luminate"]
                verb = words[0] if words[0] != "rollout" else "rollout " + words[1]
                if verb in UNSERVED_VERBS:
                    continue
                if verb not in READ_ONLY and verb not in RUN_FOR_REAL:
                    argv.append("--dry-run=server")
                proc = run([KUBECTL, *argv[1:]], env=self.emu.env, timeout=60)
                ran += 1
                if verb in RUN_FOR_REAL:
                    self.complete_rollouts(self.emu)
                if verb == "diff":
                    self.assertIn(proc.returncode, (0, 1), proc.stderr)   # 1: differences found
                elif verb == "create" and "already exists" in proc.stderr:
                    pass    # the object exists (a fixture the next command waits for): well formed
                elif any(target in command for target in CREATED_BY_THE_PROCEDURE):
                    self.assertIn("NotFound", proc.stderr)
                else:
                    self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertGreater(ran, 40)


if __name__ == "__main__":
    unittest.main()
