"""Tests for the Kubernetes API emulator (scripts/localenv/kubeemu.py).

Run: python3 -m unittest discover -s scripts/localenv/tests -p 'test_kubeemu*.py'

Every server test starts its own emulator on a free port (and its own
kubectl discovery cache) and stops it in tearDown. kubectl tests use the
`kubectl` on PATH (override with KUBEEMU_KUBECTL); on this machine that is
the gcloud dispatcher, which runs kubectl 1.29 against our v1.29.4 server.
KubectlLatestTest additionally drives kubectl 1.32 directly when installed.
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
import threading
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
LOCALENV = os.path.dirname(HERE)
SERVER = os.path.join(LOCALENV, "kubeemu.py")
sys.path.insert(0, LOCALENV)

import kubeemu_patch as kp  # noqa: E402

KUBECTL = os.environ.get("KUBEEMU_KUBECTL") or shutil.which("kubectl")


def _kubectl_132():
    """gcloud installs versioned binaries next to its dispatcher."""
    if not KUBECTL:
        return None
    candidate = os.path.join(os.path.dirname(os.path.realpath(KUBECTL)), "kubectl.1.32")
    return candidate if os.access(candidate, os.X_OK) else None


KUBECTL_132 = _kubectl_132()
NS = "luminate"

DEPLOY_V1 = textwrap.dedent("""\
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: api
      namespace: luminate
      labels: {app: api, tier: backend}
    spec:
      replicas: 2
      selector:
        matchLabels: {app: api}
      template:
        metadata:
          labels: {app: api}
        spec:
          containers:
          - name: api
            image: luminate/api:1.0
            env:
            - {name: LOG_LEVEL, value: info}
            - {name: EXTRA, value: "yes"}
            ports:
            - containerPort: 8080
          - name: sidecar
            image: luminate/sidecar:1.0
    """)
DEPLOY_V2 = "".join(line for line in DEPLOY_V1.replace("luminate/api:1.0", "luminate/api:2.0")
                    .splitlines(keepends=True) if "EXTRA" not in line)

ALL_KINDS = textwrap.dedent("""\
    apiVersion: apps/v1
    kind: StatefulSet
    metadata: {name: chkeeper, namespace: luminate}
    spec:
      serviceName: chkeeper
      replicas: 3
      selector: {matchLabels: {app: chkeeper}}
      template:
        metadata: {labels: {app: chkeeper}}
        spec:
          containers:
          - {name: keeper, image: "clickhouse/keeper:24.3"}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: api, namespace: luminate}
    spec:
      selector: {app: api}
      ports:
      - {name: http, port: 80, targetPort: 8080}
    ---
    apiVersion: v1
    kind: Secret
    metadata: {name: api-creds, namespace: luminate}
    stringData: {password: hunter2}
    ---
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: api-config, namespace: luminate}
    data: {retention: 30d}
    ---
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: api, namespace: luminate}
    spec:
      podSelector: {matchLabels: {app: api}}
      policyTypes: [Ingress]
    ---
    apiVersion: autoscaling/v2
    kind: HorizontalPodAutoscaler
    metadata: {name: api, namespace: luminate}
    spec:
      scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: api}
      minReplicas: 2
      maxReplicas: 6
      metrics:
      - type: Resource
        resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}
    ---
    apiVersion: batch/v1
    kind: CronJob
    metadata: {name: compact, namespace: luminate}
    spec:
      schedule: "0 3 * * *"
      jobTemplate:
        spec:
          template:
            spec:
              restartPolicy: OnFailure
              containers:
              - {name: compact, image: "luminate/tools:1.0"}
    ---
    apiVersion: policy/v1
    kind: PodDisruptionBudget
    metadata: {name: api, namespace: luminate}
    spec:
      minAvailable: 1
      selector: {matchLabels: {app: api}}
    ---
    apiVersion: networking.k8s.io/v1
    kind: Ingress
    metadata: {name: api, namespace: luminate}
    spec:
      rules:
      - host: metrics.example.test
        http:
          paths:
          - path: /
            pathType: Prefix
            backend: {service: {name: api, port: {number: 80}}}
    ---
    apiVersion: coordination.k8s.io/v1
    kind: Lease
    metadata: {name: luminatectl-lock, namespace: luminate}
    spec: {holderIdentity: nobody, leaseDurationSeconds: 30}
    ---
    apiVersion: monitoring.coreos.com/v1
    kind: ServiceMonitor
    metadata: {name: api, namespace: luminate}
    spec:
      selector: {matchLabels: {app: api}}
      endpoints:
      - {port: http, interval: 30s}
    ---
    apiVersion: monitoring.coreos.com/v1
    kind: PrometheusRule
    metadata: {name: api, namespace: luminate}
    spec:
      groups:
      - name: api
        rules:
        - {alert: ApiDown, expr: "up == 0", for: 5m}
    ---
    apiVersion: bitnami.com/v1alpha1
    kind: SealedSecret
    metadata: {name: api-sealed, namespace: luminate}
    spec:
      encryptedData: {password: AgBy3i4OJSWK}
    ---
    apiVersion: external-secrets.io/v1beta1
    kind: ExternalSecret
    metadata: {name: api-ext, namespace: luminate}
    spec:
      refreshInterval: 1h
      secretStoreRef: {name: vault, kind: ClusterSecretStore}
      target: {name: api-ext}
      data:
      - secretKey: token
        remoteRef: {key: luminate/api, property: token}
    ---
    apiVersion: clickhouse.altinity.com/v1
    kind: ClickHouseInstallation
    metadata: {name: metrics, namespace: luminate}
    spec:
      configuration:
        clusters:
        - name: main
          layout: {shardsCount: 2, replicasCount: 2}
    """)


# --------------------------------------------------------------------------
# Unit tests of the pure patch/selector functions
# --------------------------------------------------------------------------

class MergePatchTest(unittest.TestCase):
    def test_json_merge_patch(self):
        doc = {"a": {"b": 1, "c": [1, 2]}, "d": "x"}
        out = kp.json_merge_patch(doc, {"a": {"b": None, "c": [3], "e": {"f": 1}}, "g": True})
        self.assertEqual(out, {"a": {"c": [3], "e": {"f": 1}}, "d": "x", "g": True})
        self.assertEqual(doc["a"]["b"], 1, "input must not be modified")
        self.assertEqual(kp.json_merge_patch(doc, [1]), [1])

    def test_json_patch_operations(self):
        doc = {"a": [1, 2], "b": {"c": "x"}, "e/f": 1, "g~h": 2}
        ops = [{"op": "add", "path": "/a/-", "value": 3},
               {"op": "add", "path": "/a/0", "value": 0},
               {"op": "remove", "path": "/a/1"},
               {"op": "replace", "path": "/b/c", "value": "y"},
               {"op": "test", "path": "/b/c", "value": "y"},
               {"op": "copy", "from": "/b", "path": "/copied"},
               {"op": "move", "from": "/e~1f", "path": "/moved"},
               {"op": "remove", "path": "/g~0h"}]
        self.assertEqual(kp.json_patch(doc, ops),
                         {"a": [0, 2, 3], "b": {"c": "y"}, "copied": {"c": "y"}, "moved": 1})

    def test_json_patch_errors(self):
        with self.assertRaises(kp.PatchError):
            kp.json_patch({"a": 1}, [{"op": "test", "path": "/a", "value": 2}])
        with self.assertRaises(kp.PatchError):
            kp.json_patch({"a": 1}, [{"op": "replace", "path": "/missing", "value": 2}])
        with self.assertRaises(kp.PatchError):
            kp.json_patch({"a": [1]}, [{"op": "add", "path": "/a/5", "value": 2}])

    def test_strategic_merge_containers_env_ports(self):
        orig = {"spec": {"template": {"spec": {"containers": [
            {"name": "api", "image": "a:1", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
             "ports": [{"containerPort": 80, "name": "http"}]},
            {"name": "side", "image": "s:1"}]}}}}
        patch = {"spec": {"template": {"spec": {"containers": [
            {"name": "api", "image": "a:2",
             "env": [{"name": "B", "$patch": "delete"}, {"name": "C", "value": "3"}],
             "ports": [{"containerPort": 80, "protocol": "TCP"}]}]}}}}
        out = kp.strategic_merge_patch(orig, patch)
        containers = out["spec"]["template"]["spec"]["containers"]
        self.assertEqual([c["name"] for c in containers], ["api", "side"])
        self.assertEqual(containers[0]["image"], "a:2")
        self.assertEqual(containers[0]["env"], [{"name": "A", "value": "1"}, {"name": "C", "value": "3"}])
        self.assertEqual(containers[0]["ports"], [{"containerPort": 80, "name": "http", "protocol": "TCP"}])
        self.assertEqual(containers[1], {"name": "side", "image": "s:1"})

    def test_strategic_merge_directives(self):
        orig = {"metadata": {"finalizers": ["a"], "labels": {"x": "1", "y": "2"}},
                "spec": {"ports": [{"port": 80, "name": "http"}, {"port": 443, "name": "https"}],
                         "containers": [{"name": "a"}, {"name": "b"}], "args": ["-v", "-x"],
                         "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}}
        patch = {"metadata": {"finalizers": ["b"], "labels": {"x": None}},
                 "spec": {"ports": [{"port": 443, "name": "tls"}],
                          "$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
                          "$deleteFromPrimitiveList/args": ["-x"],
                          "strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}
        out = kp.strategic_merge_patch(orig, patch)
        self.assertEqual(out["metadata"], {"finalizers": ["a", "b"], "labels": {"y": "2"}})
        self.assertEqual(out["spec"]["ports"], [{"port": 80, "name": "http"}, {"port": 443, "name": "tls"}])
        self.assertEqual(out["spec"]["containers"], [{"name": "b"}, {"name": "a"}])
        self.assertEqual(out["spec"]["args"], ["-v"])
        self.assertEqual(out["spec"]["strategy"], {"type": "Recreate"})
        replaced = kp.strategic_merge_patch(orig, {"spec": {"$patch": "replace", "replicas": 1}})
        self.assertEqual(replaced["spec"], {"replicas": 1})
        lst = kp.strategic_merge_patch(orig, {"spec": {"containers": [{"$patch": "replace"}, {"name": "z"}]}})
        self.assertEqual(lst["spec"]["containers"], [{"name": "z"}])
        # Lists without a merge key are replaced atomically.
        self.assertEqual(kp.strategic_merge_patch(orig, {"spec": {"args": ["-q"]}})["spec"]["args"], ["-q"])

    def test_label_selectors(self):
        labels = {"app": "api", "tier": "backend", "env": "prod"}
        cases = {"app=api": True, "app==api": True, "app!=api": False, "app in (api, web)": True,
                 "app notin (api)": False, "tier": True, "!tier": False, "!missing": True,
                 "app=api,env in (prod,staging),!missing": True, "app=api,tier=frontend": False,
                 "missing!=x": True, "": True}
        for text, expected in cases.items():
            self.assertEqual(kp.match_labels(kp.parse_label_selector(text), labels), expected, text)
        with self.assertRaises(kp.SelectorError):
            kp.parse_label_selector("app in api")

    def test_field_selectors(self):
        obj = {"metadata": {"name": "p", "namespace": "luminate"}, "status": {"phase": "Running"}}
        self.assertTrue(kp.match_fields(kp.parse_field_selector("metadata.name=p,status.phase==Running"), obj))
        self.assertFalse(kp.match_fields(kp.parse_field_selector("status.phase!=Running"), obj))
        self.assertTrue(kp.match_fields(kp.parse_field_selector("metadata.namespace!=default"), obj))


# --------------------------------------------------------------------------
# Harness
# --------------------------------------------------------------------------

class Emulator:
    """One emulator subprocess plus a kubeconfig and kubectl cache for it."""

    def __init__(self, *extra_args):
        self.dir = tempfile.mkdtemp(prefix="kubeemu-test-")
        self.kubeconfig = os.path.join(self.dir, "kubeconfig")
        self.cache = os.path.join(self.dir, "cache")
        self.log = os.path.join(self.dir, "requests.log")
        # stderr goes to a file: an unread pipe could fill up and block the server.
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        with open(self.stderr_path, "w") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, SERVER, "--port", "0", "--log", self.log, "--write-kubeconfig", self.kubeconfig]
                + list(extra_args), stdout=subprocess.PIPE, stderr=stderr, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 15)
        line = self.proc.stdout.readline() if ready else ""
        if not line.startswith("listening "):
            self.stop()
            with open(self.stderr_path) as f:
                raise RuntimeError("emulator did not start: %r %s" % (line, f.read()))
        self.address = line.split()[1]
        self.url = "http://" + self.address

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    # ---- raw HTTP --------------------------------------------------------

    def http(self, method, path, body=None, ctype="application/json", headers=None):
        data = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers=dict({"Content-Type": ctype}, **(headers or {})))
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if raw and "json" in resp.headers["Content-Type"] else raw
        except urllib.error.HTTPError as e:
            raw = e.read()
            return e.code, json.loads(raw) if raw else None

    def ctl(self, what, body=None, method="POST"):
        code, out = self.http(method, "/_emulator/" + what, body)
        if code != 200:
            raise AssertionError("control %s failed: %s %s" % (what, code, out))
        return out

    def rollout(self, name, outcome="complete", kind="Deployment", **extra):
        return self.ctl("rollout", dict(namespace=NS, name=name, kind=kind, outcome=outcome, **extra))

    # ---- kubectl ---------------------------------------------------------

    def kubectl_cmd(self, args, binary=None, request_timeout=True):
        cmd = [binary or KUBECTL, "--kubeconfig", self.kubeconfig, "--cache-dir", self.cache]
        if request_timeout:
            cmd.append("--request-timeout=10s")
        return cmd + list(args)

    def kubectl(self, *args, stdin=None, check=True, binary=None, timeout=30):
        env = dict(os.environ, KUBECACHEDIR=self.cache, HOME=self.dir)
        env.pop("KUBECONFIG", None)
        proc = subprocess.run(self.kubectl_cmd(args, binary), input=stdin, capture_output=True, text=True,
                              env=env, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError("kubectl %s failed (%d):\n%s%s" % (" ".join(args), proc.returncode,
                                                                     proc.stdout, proc.stderr))
        return proc

    def kubectl_json(self, *args, **kw):
        return json.loads(self.kubectl(*(list(args) + ["-o", "json"]), **kw).stdout)

    def wait_for_request(self, predicate, count=1, timeout=10):
        """Poll the emulator's request log until `count` requests match."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sum(1 for r in self.ctl("requests", method="GET")["items"] if predicate(r)) >= count:
                return
            time.sleep(0.05)
        raise AssertionError("expected request never arrived")


class ServerTest(unittest.TestCase):
    server_args = ()

    def setUp(self):
        self.emu = Emulator(*self.server_args)
        self.addCleanup(self.emu.cleanup)

    def tearDown(self):
        self.emu.stop()
        with open(self.emu.stderr_path) as f:
            errors = f.read()
        self.assertNotIn("Traceback", errors, "the emulator hit an internal error")

    def create(self, path, obj):
        code, out = self.emu.http("POST", path, obj)
        self.assertEqual(code, 201, out)
        return out

    def deployment(self, name="api", replicas=2, image="luminate/api:1.0", labels=None):
        return {"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": name, "labels": labels or {"app": name}},
                "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                         "template": {"metadata": {"labels": {"app": name}},
                                      "spec": {"containers": [{"name": name, "image": image}]}}}}


DEPLOYMENTS = "/apis/apps/v1/namespaces/luminate/deployments"
LEASES = "/apis/coordination.k8s.io/v1/namespaces/luminate/leases"


# --------------------------------------------------------------------------
# Raw HTTP tests
# --------------------------------------------------------------------------

class HttpApiTest(ServerTest):
    def test_discovery_documents(self):
        code, versions = self.emu.http("GET", "/api")
        self.assertEqual((code, versions["versions"]), (200, ["v1"]))
        _, groups = self.emu.http("GET", "/apis")
        names = {g["name"]: g for g in groups["groups"]}
        for group in ("apps", "batch", "coordination.k8s.io", "monitoring.coreos.com",
                      "clickhouse.altinity.com", "authorization.k8s.io"):
            self.assertIn(group, names)
        self.assertEqual(names["autoscaling"]["preferredVersion"]["version"], "v2")
        _, apps = self.emu.http("GET", "/apis/apps/v1")
        by_name = {r["name"]: r for r in apps["resources"]}
        self.assertEqual(by_name["deployments"]["shortNames"], ["deploy"])
        self.assertEqual((by_name["deployments/scale"]["group"], by_name["deployments/scale"]["kind"]),
                         ("autoscaling", "Scale"))
        self.assertIn("statefulsets/status", by_name)
        _, chi = self.emu.http("GET", "/apis/clickhouse.altinity.com/v1")
        self.assertEqual(chi["resources"][0]["shortNames"], ["chi"])
        _, version = self.emu.http("GET", "/version")
        self.assertEqual((version["gitVersion"], version["major"], version["minor"]), ("v1.29.4", "1", "29"))

    def test_openapi_v3_advertises_field_validation(self):
        _, index = self.emu.http("GET", "/openapi/v3")
        url = index["paths"]["apis/apps/v1"]["serverRelativeURL"]
        _, doc = self.emu.http("GET", url)
        patches = [p["patch"] for p in doc["paths"].values() if "patch" in p]
        deploy = [p for p in patches if p["x-kubernetes-group-version-kind"]["kind"] == "Deployment"][0]
        self.assertIn("fieldValidation", [q["name"] for q in deploy["parameters"]])
        self.assertTrue(any(s["x-kubernetes-group-version-kind"][0]["kind"] == "Deployment"
                            for s in doc["components"]["schemas"].values()))
        self.assertEqual(self.emu.http("GET", "/openapi/v2")[0], 404)

    def test_seed_objects(self):
        _, nodes = self.emu.http("GET", "/api/v1/nodes")
        self.assertEqual([n["metadata"]["name"] for n in nodes["items"]], ["node-1", "node-2", "node-3"])
        node = nodes["items"][0]
        self.assertEqual(node["status"]["allocatable"]["cpu"], "8")
        self.assertEqual(node["status"]["allocatable"]["memory"], "32Gi")
        self.assertEqual(node["status"]["nodeInfo"]["kubeletVersion"], "v1.29.4")
        _, namespaces = self.emu.http("GET", "/api/v1/namespaces")
        self.assertEqual({n["metadata"]["name"] for n in namespaces["items"]}, {"default", "kube-system", NS})

    def test_create_get_list_and_metadata(self):
        created = self.create(DEPLOYMENTS, self.deployment())
        meta = created["metadata"]
        self.assertEqual(meta["namespace"], NS)
        self.assertEqual(meta["generation"], 1)
        self.assertEqual(len(meta["uid"]), 36)
        self.assertRegex(meta["creationTimestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        code, again = self.emu.http("POST", DEPLOYMENTS, self.deployment())
        self.assertEqual((code, again["reason"], again["message"]),
                         (409, "AlreadyExists", 'deployments.apps "api" already exists'))
        second = self.create(DEPLOYMENTS, self.deployment("web"))
        self.assertGreater(int(second["metadata"]["resourceVersion"]), int(meta["resourceVersion"]))
        code, got = self.emu.http("GET", DEPLOYMENTS + "/api")
        self.assertEqual((code, got["metadata"]["uid"]), (200, meta["uid"]))
        code, listing = self.emu.http("GET", DEPLOYMENTS)
        self.assertEqual((listing["kind"], listing["apiVersion"]), ("DeploymentList", "apps/v1"))
        self.assertEqual([d["metadata"]["name"] for d in listing["items"]], ["api", "web"])
        self.assertGreaterEqual(int(listing["metadata"]["resourceVersion"]), int(second["metadata"]["resourceVersion"]))
        _, everywhere = self.emu.http("GET", "/apis/apps/v1/deployments")
        self.assertEqual(len(everywhere["items"]), 2)
        code, missing = self.emu.http("GET", DEPLOYMENTS + "/nope")
        self.assertEqual(missing, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                   "message": 'deployments.apps "nope" not found', "reason": "NotFound",
                                   "code": 404, "details": {"name": "nope", "group": "apps",
                                                            "kind": "deployments"}})
        self.assertEqual(code, 404)

    def test_missing_namespace_and_validation(self):
        code, out = self.emu.http("POST", "/api/v1/namespaces/ghost/configmaps",
                                  {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
        self.assertEqual((code, out["reason"], out["message"]), (404, "NotFound", 'namespaces "ghost" not found'))
        bad = self.deployment()
        bad["spec"]["selector"] = {"matchLabels": {"app": "other"}}
        code, out = self.emu.http("POST", DEPLOYMENTS, bad)
        self.assertEqual((code, out["reason"]), (422, "Invalid"))
        self.assertEqual(out["details"]["causes"][0]["field"], "spec.template.metadata.labels")
        code, out = self.emu.http("POST", DEPLOYMENTS, dict(self.deployment(), metadata={"name": "Bad_Name"}))
        self.assertEqual(code, 422)
        code, out = self.emu.http("POST", DEPLOYMENTS, b"not json")
        self.assertEqual((code, out["reason"]), (400, "BadRequest"))
        code, out = self.emu.http("POST", DEPLOYMENTS, b"\x0a\x0b", ctype="application/vnd.kubernetes.protobuf")
        self.assertEqual((code, out["reason"]), (415, "UnsupportedMediaType"))
        self.assertEqual(self.emu.http("GET", "/apis/apps/v1/namespaces/luminate/widgets")[0], 404)

    def test_label_and_field_selectors(self):
        for name, tier in (("a", "web"), ("b", "db"), ("c", None)):
            labels = {"app": name}
            if tier:
                labels["tier"] = tier
            self.create(DEPLOYMENTS, self.deployment(name, labels=labels))

        def names(query):
            code, out = self.emu.http("GET", DEPLOYMENTS + "?" + query)
            self.assertEqual(code, 200, out)
            return [d["metadata"]["name"] for d in out["items"]]

        self.assertEqual(names("labelSelector=tier%3Dweb"), ["a"])
        self.assertEqual(names("labelSelector=tier%21%3Dweb"), ["b", "c"])
        self.assertEqual(names("labelSelector=tier+in+%28web%2Cdb%29"), ["a", "b"])
        self.assertEqual(names("labelSelector=tier+notin+%28web%29"), ["b", "c"])
        self.assertEqual(names("labelSelector=tier"), ["a", "b"])
        self.assertEqual(names("labelSelector=%21tier"), ["c"])
        self.assertEqual(names("fieldSelector=metadata.name%3Db"), ["b"])
        self.assertEqual(names("fieldSelector=metadata.namespace%3Ddefault"), [])
        self.assertEqual(names("fieldSelector=metadata.name%21%3Db&labelSelector=tier"), ["a"])
        self.assertEqual(self.emu.http("GET", DEPLOYMENTS + "?labelSelector=a+in+b")[0], 400)

    def test_put_optimistic_concurrency_on_lease(self):
        lease = self.create(LEASES, {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                                     "metadata": {"name": "lock"}, "spec": {"holderIdentity": "a"}})
        stale = json.loads(json.dumps(lease))
        lease["spec"]["holderIdentity"] = "b"
        code, updated = self.emu.http("PUT", LEASES + "/lock", lease)
        self.assertEqual((code, updated["spec"]["holderIdentity"]), (200, "b"))
        self.assertGreater(int(updated["metadata"]["resourceVersion"]), int(stale["metadata"]["resourceVersion"]))
        stale["spec"]["holderIdentity"] = "c"
        code, out = self.emu.http("PUT", LEASES + "/lock", stale)
        self.assertEqual((code, out["reason"]), (409, "Conflict"))
        self.assertIn('Operation cannot be fulfilled on leases.coordination.k8s.io "lock"', out["message"])
        # The same precondition via a merge patch carrying resourceVersion.
        code, _ = self.emu.http("PATCH", LEASES + "/lock", {"metadata": {"resourceVersion": "1"}},
                                ctype="application/merge-patch+json")
        self.assertEqual(code, 409)
        # A no-op update does not bump the resourceVersion.
        code, same = self.emu.http("PUT", LEASES + "/lock", updated)
        self.assertEqual(same["metadata"]["resourceVersion"], updated["metadata"]["resourceVersion"])
        code, _ = self.emu.http("PUT", LEASES + "/missing", dict(lease, metadata={"name": "missing"}))
        self.assertEqual(code, 404)

    def test_status_subresource_and_generation(self):
        created = self.create(DEPLOYMENTS, self.deployment())
        created["status"] = {"replicas": 99}
        created["metadata"]["labels"]["touched"] = "yes"
        code, main = self.emu.http("PUT", DEPLOYMENTS + "/api", created)
        self.assertEqual(code, 200)
        self.assertEqual(main.get("status"), {}, "writes to the main resource ignore .status")
        self.assertEqual(main["metadata"]["generation"], 1, "metadata-only change keeps generation")
        code, st = self.emu.http("PATCH", DEPLOYMENTS + "/api/status",
                                 {"status": {"readyReplicas": 2}, "spec": {"replicas": 7}},
                                 ctype="application/merge-patch+json")
        self.assertEqual((code, st["status"], st["spec"]["replicas"], st["metadata"]["generation"]),
                         (200, {"readyReplicas": 2}, 2, 1))
        code, st = self.emu.http("PUT", DEPLOYMENTS + "/api/status", dict(st, status={"replicas": 2}))
        self.assertEqual(st["status"], {"replicas": 2})
        code, bumped = self.emu.http("PATCH", DEPLOYMENTS + "/api", {"spec": {"replicas": 3}},
                                     ctype="application/merge-patch+json")
        self.assertEqual((bumped["metadata"]["generation"], bumped["status"]), (2, {"replicas": 2}))

    def test_patch_types(self):
        self.create(DEPLOYMENTS, self.deployment())
        code, out = self.emu.http("PATCH", DEPLOYMENTS + "/api", [
            {"op": "add", "path": "/metadata/labels/extra", "value": "1"},
            {"op": "replace", "path": "/spec/replicas", "value": 4}], ctype="application/json-patch+json")
        self.assertEqual((code, out["metadata"]["labels"]["extra"], out["spec"]["replicas"]), (200, "1", 4))
        code, out = self.emu.http("PATCH", DEPLOYMENTS + "/api", [{"op": "test", "path": "/spec/replicas",
                                                                    "value": 1}], ctype="application/json-patch+json")
        self.assertEqual((code, out["reason"]), (422, "Invalid"))
        code, out = self.emu.http("PATCH", DEPLOYMENTS + "/api", {"spec": {"template": {"spec": {"containers": [
            {"name": "sidecar", "image": "s:1"}]}}}}, ctype="application/strategic-merge-patch+json")
        self.assertEqual([c["name"] for c in out["spec"]["template"]["spec"]["containers"]], ["api", "sidecar"])
        code, out = self.emu.http("PATCH", DEPLOYMENTS + "/api", {"spec": {"template": {"spec": {"containers": [
            {"name": "only", "image": "o:1"}]}}}}, ctype="application/merge-patch+json")
        self.assertEqual([c["name"] for c in out["spec"]["template"]["spec"]["containers"]], ["only"])
        code, out = self.emu.http("PATCH", DEPLOYMENTS + "/api", {}, ctype="text/plain")
        self.assertEqual(code, 415)
        # Custom resources do not accept strategic merge patches (like real CRDs).
        self.create("/apis/monitoring.coreos.com/v1/namespaces/luminate/servicemonitors",
                    {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
                     "metadata": {"name": "sm"}, "spec": {}})
        code, _ = self.emu.http("PATCH", "/apis/monitoring.coreos.com/v1/namespaces/luminate/servicemonitors/sm",
                                {"spec": {"a": 1}}, ctype="application/strategic-merge-patch+json")
        self.assertEqual(code, 415)

    def test_server_side_apply(self):
        path = DEPLOYMENTS + "/api?fieldManager=test"
        code, out = self.emu.http("PATCH", path, self.deployment(), ctype="application/apply-patch+yaml")
        self.assertEqual((code, out["metadata"]["generation"]), (201, 1))
        patch = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api"},
                 "spec": {"template": {"spec": {"containers": [{"name": "api", "image": "luminate/api:9"}]}}}}
        code, out = self.emu.http("PATCH", path, patch, ctype="application/apply-patch+yaml")
        self.assertEqual((code, out["spec"]["template"]["spec"]["containers"][0]["image"], out["spec"]["replicas"]),
                         (200, "luminate/api:9", 2))
        code, _ = self.emu.http("PATCH", DEPLOYMENTS + "/api", patch, ctype="application/apply-patch+yaml")
        self.assertEqual(code, 400, "fieldManager is required for apply")

    def test_scale_subresource(self):
        self.create(DEPLOYMENTS, self.deployment())
        code, scale = self.emu.http("GET", DEPLOYMENTS + "/api/scale")
        stale = scale
        self.assertEqual((code, scale["kind"], scale["apiVersion"], scale["spec"]["replicas"],
                          scale["status"]["selector"]), (200, "Scale", "autoscaling/v1", 2, "app=api"))
        code, scale = self.emu.http("PATCH", DEPLOYMENTS + "/api/scale", {"spec": {"replicas": 5}},
                                    ctype="application/merge-patch+json")
        self.assertEqual(scale["spec"]["replicas"], 5)
        code, scale = self.emu.http("PUT", DEPLOYMENTS + "/api/scale", dict(scale, spec={"replicas": 3}))
        self.assertEqual(scale["spec"]["replicas"], 3)
        _, dep = self.emu.http("GET", DEPLOYMENTS + "/api")
        self.assertEqual((dep["spec"]["replicas"], dep["metadata"]["generation"]), (3, 3))
        code, _ = self.emu.http("PUT", DEPLOYMENTS + "/api/scale", dict(stale, spec={"replicas": 1}))
        self.assertEqual(code, 409, "stale resourceVersion in Scale")
        sts = self.create("/apis/apps/v1/namespaces/luminate/statefulsets", dict(
            self.deployment("db"), kind="StatefulSet"))
        self.assertEqual(sts["spec"]["updateStrategy"]["type"], "RollingUpdate")
        code, scale = self.emu.http("GET", "/apis/apps/v1/namespaces/luminate/statefulsets/db/scale")
        self.assertEqual((code, scale["spec"]["replicas"]), (200, 2))
        self.assertEqual(self.emu.http("GET", "/api/v1/namespaces/luminate/configmaps/x/scale")[0], 404)

    def test_dry_run_does_not_store(self):
        before = self.emu.ctl("objects", method="GET")["resourceVersion"]
        code, out = self.emu.http("POST", DEPLOYMENTS + "?dryRun=All", self.deployment())
        self.assertEqual((code, out["metadata"]["name"]), (201, "api"))
        self.assertEqual(self.emu.http("GET", DEPLOYMENTS + "/api")[0], 404)
        self.create(DEPLOYMENTS, self.deployment())
        code, out = self.emu.http("PATCH", DEPLOYMENTS + "/api?dryRun=All", {"spec": {"replicas": 9}},
                                  ctype="application/merge-patch+json")
        self.assertEqual((out["spec"]["replicas"], out["metadata"]["generation"]), (9, 2))
        self.assertEqual(self.emu.http("GET", DEPLOYMENTS + "/api")[1]["spec"]["replicas"], 2)
        code, _ = self.emu.http("DELETE", DEPLOYMENTS + "/api", {"dryRun": ["All"]})
        self.assertEqual(code, 200)
        self.assertEqual(self.emu.http("GET", DEPLOYMENTS + "/api")[0], 200)
        self.assertEqual(int(self.emu.ctl("objects", method="GET")["resourceVersion"]), int(before) + 1)

    def test_secret_string_data_and_service_defaults(self):
        secret = self.create("/api/v1/namespaces/luminate/secrets", {
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"k": "v"}})
        self.assertEqual((secret["data"], secret["type"]), ({"k": "dg=="}, "Opaque"))
        self.assertNotIn("stringData", secret)
        svc = self.create("/api/v1/namespaces/luminate/services", {
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"},
            "spec": {"ports": [{"port": 80}]}})
        self.assertEqual(svc["spec"]["type"], "ClusterIP")
        self.assertRegex(svc["spec"]["clusterIP"], r"^10\.96\.")
        self.assertEqual(svc["spec"]["ports"][0], {"port": 80, "protocol": "TCP", "targetPort": 80})

    def test_delete_cascades_to_owned_objects(self):
        self.create(DEPLOYMENTS, self.deployment())
        self.emu.rollout("api")
        self.assertEqual(len(self.emu.http("GET", "/api/v1/namespaces/luminate/pods")[1]["items"]), 2)
        code, out = self.emu.http("DELETE", DEPLOYMENTS + "/api")
        self.assertEqual((code, out["kind"], out["status"], out["details"]["name"]), (200, "Status", "Success", "api"))
        self.assertEqual(self.emu.http("GET", "/apis/apps/v1/namespaces/luminate/replicasets")[1]["items"], [])
        self.assertEqual(self.emu.http("GET", "/api/v1/namespaces/luminate/pods")[1]["items"], [])
        self.assertEqual(self.emu.http("DELETE", DEPLOYMENTS + "/api")[0], 404)
        # Deleting a namespace deletes what is in it.
        self.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tmp"}})
        self.create("/api/v1/namespaces/tmp/configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                                                          "metadata": {"name": "c"}})
        self.assertEqual(self.emu.http("DELETE", "/api/v1/namespaces/tmp")[0], 200)
        self.assertEqual(self.emu.http("GET", "/api/v1/namespaces/tmp/configmaps/c")[0], 404)

    def test_finalizers_delay_deletion(self):
        cm = self.create("/api/v1/namespaces/luminate/configmaps", {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "finalizers": ["x/y"]}})
        code, out = self.emu.http("DELETE", "/api/v1/namespaces/luminate/configmaps/c")
        self.assertIn("deletionTimestamp", out["metadata"])
        code, out = self.emu.http("PATCH", "/api/v1/namespaces/luminate/configmaps/c",
                                  {"metadata": {"finalizers": None}}, ctype="application/merge-patch+json")
        self.assertEqual(code, 200)
        self.assertEqual(self.emu.http("GET", "/api/v1/namespaces/luminate/configmaps/c")[0], 404)
        self.assertTrue(cm)

    def read_watch(self, query, count, timeout=5):
        """Open a watch and collect `count` events (in a thread, so the
        test can make changes meanwhile). Returns (thread, events)."""
        events = []
        opened = threading.Event()

        def run():
            req = urllib.request.Request(self.emu.url + DEPLOYMENTS + "?watch=true&" + query)
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                self.assertEqual(resp.headers["Content-Type"], "application/json")
                opened.set()
                while len(events) < count:
                    line = resp.readline()
                    if not line:
                        break
                    events.append(json.loads(line))

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        self.assertTrue(opened.wait(5))
        return thread, events

    def test_watch_replays_and_streams(self):
        first = self.create(DEPLOYMENTS, self.deployment("a"))
        rv = first["metadata"]["resourceVersion"]
        self.create(DEPLOYMENTS, self.deployment("b"))
        thread, events = self.read_watch("resourceVersion=%s" % rv, 4)
        self.emu.http("PATCH", DEPLOYMENTS + "/a", {"spec": {"replicas": 3}}, ctype="application/merge-patch+json")
        self.emu.http("DELETE", DEPLOYMENTS + "/b")
        self.create("/api/v1/namespaces/luminate/configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                                                               "metadata": {"name": "noise"}})
        self.create(DEPLOYMENTS, self.deployment("c"))
        thread.join(5)
        self.assertEqual([(e["type"], e["object"]["metadata"]["name"]) for e in events],
                         [("ADDED", "b"), ("MODIFIED", "a"), ("DELETED", "b"), ("ADDED", "c")])
        self.assertEqual(events[1]["object"]["spec"]["replicas"], 3)
        self.assertEqual(events[0]["object"]["kind"], "Deployment")

    def test_watch_field_and_label_selectors(self):
        self.create(DEPLOYMENTS, self.deployment("a"))
        self.create(DEPLOYMENTS, self.deployment("b"))
        thread, events = self.read_watch("fieldSelector=metadata.name%3Da", 2)
        self.emu.http("PATCH", DEPLOYMENTS + "/b", {"spec": {"replicas": 5}}, ctype="application/merge-patch+json")
        self.emu.http("PATCH", DEPLOYMENTS + "/a", {"spec": {"replicas": 5}}, ctype="application/merge-patch+json")
        thread.join(5)
        self.assertEqual([(e["type"], e["object"]["metadata"]["name"]) for e in events],
                         [("ADDED", "a"), ("MODIFIED", "a")])
        # Objects leaving or entering a label selector appear as DELETED / ADDED.
        rv = self.emu.ctl("objects", method="GET")["resourceVersion"]
        thread, events = self.read_watch("labelSelector=stage%3Dcanary&resourceVersion=" + rv, 2)
        for value in ("canary", None):
            self.emu.http("PATCH", DEPLOYMENTS + "/a", {"metadata": {"labels": {"stage": value}}},
                          ctype="application/merge-patch+json")
        thread.join(5)
        self.assertEqual([e["type"] for e in events], ["ADDED", "DELETED"])

    def test_watch_timeout_ends_stream(self):
        start = time.monotonic()
        with urllib.request.urlopen(self.emu.url + DEPLOYMENTS + "?watch=1&timeoutSeconds=1", timeout=5) as resp:
            self.assertEqual(resp.read(), b"")
        self.assertLess(time.monotonic() - start, 3)

    def test_fault_injection(self):
        self.create(DEPLOYMENTS, self.deployment())
        self.emu.ctl("fail", {"method": "GET", "pathPrefix": DEPLOYMENTS, "status": 500, "count": 2})
        self.assertEqual(self.emu.http("POST", "/api/v1/namespaces/luminate/configmaps", {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "unaffected"}})[0], 201)
        code, out = self.emu.http("GET", DEPLOYMENTS + "/api")
        self.assertEqual((code, out["reason"]), (500, "InternalError"))
        self.assertEqual(self.emu.http("GET", DEPLOYMENTS)[0], 500)
        self.assertEqual(self.emu.http("GET", DEPLOYMENTS + "/api")[0], 200, "only `count` failures")
        self.emu.ctl("fail", {"method": "PATCH", "pathPrefix": DEPLOYMENTS, "status": 409})
        code, out = self.emu.http("PATCH", DEPLOYMENTS + "/api", {}, ctype="application/merge-patch+json")
        self.assertEqual((code, out["reason"]), (409, "Conflict"))
        self.emu.ctl("fail", {"method": "PATCH", "pathPrefix": DEPLOYMENTS, "status": 500, "dryRun": False})
        code, _ = self.emu.http("PATCH", DEPLOYMENTS + "/api?dryRun=All", {}, ctype="application/merge-patch+json")
        self.assertEqual(code, 200, "a dry run passes a rule for real writes")
        code, _ = self.emu.http("PATCH", DEPLOYMENTS + "/api", {}, ctype="application/merge-patch+json")
        self.assertEqual(code, 500, "the real write fails")
        self.emu.ctl("fail", {"pathPrefix": DEPLOYMENTS, "delaySeconds": 0.3})
        start = time.monotonic()
        self.assertEqual(self.emu.http("GET", DEPLOYMENTS + "/api")[0], 200)
        self.assertGreaterEqual(time.monotonic() - start, 0.3)
        self.emu.ctl("fail", {"pathPrefix": "/api/", "status": 503, "count": -1})
        self.assertEqual(self.emu.http("GET", "/api/v1/pods")[0], 503)
        self.assertEqual(self.emu.http("GET", "/api/v1/pods")[0], 503)
        self.emu.ctl("fail", method="DELETE")
        self.assertEqual(self.emu.http("GET", "/api/v1/pods")[0], 200)

    def test_reset_objects_and_request_log(self):
        self.create(DEPLOYMENTS, self.deployment())
        kinds = [o["kind"] for o in self.emu.ctl("objects", method="GET")["items"]]
        self.assertIn("Deployment", kinds)
        self.assertTrue(any(r["path"] == DEPLOYMENTS and r["method"] == "POST" and r["status"] == 201
                            for r in self.emu.ctl("requests", method="GET")["items"]))
        self.emu.ctl("reset")
        self.assertEqual(self.emu.http("GET", DEPLOYMENTS + "/api")[0], 404)
        self.assertEqual(len(self.emu.http("GET", "/api/v1/nodes")[1]["items"]), 3)
        with open(self.emu.log) as f:
            self.assertRegex(f.read(), r"POST /apis/apps/v1/namespaces/luminate/deployments 201 [\d.]+ms")

    def test_access_review_policy_and_enforcement(self):
        def review(verb, resource, group="apps", ns=NS):
            code, out = self.emu.http("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {
                "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": {"verb": verb, "resource": resource, "group": group,
                                                "namespace": ns}}})
            self.assertEqual(code, 201)
            return out["status"]["allowed"]

        self.assertTrue(review("delete", "deployments"), "default policy allows everything")
        self.emu.ctl("policy", {"rules": [
            {"verbs": ["patch", "update"], "resources": ["deployments"], "groups": ["apps"], "allowed": False},
            {"verbs": ["*"], "resources": ["secrets"], "namespaces": ["kube-system"], "allowed": False}],
            "enforce": True})
        self.assertFalse(review("patch", "deployments"))
        self.assertTrue(review("get", "deployments"))
        self.assertFalse(review("get", "secrets", group="", ns="kube-system"))
        self.assertTrue(review("get", "secrets", group="", ns=NS))
        self.create(DEPLOYMENTS, self.deployment())
        code, out = self.emu.http("PATCH", DEPLOYMENTS + "/api", {}, ctype="application/merge-patch+json")
        self.assertEqual((code, out["reason"]), (403, "Forbidden"))
        self.assertIn('cannot patch resource "deployments" in API group "apps"', out["message"])


class AutoRolloutTest(ServerTest):
    server_args = ("--auto-rollout",)

    def test_spec_changes_roll_out_automatically(self):
        self.create(DEPLOYMENTS, self.deployment())
        _, dep = self.emu.http("GET", DEPLOYMENTS + "/api")
        self.assertEqual((dep["status"]["availableReplicas"], dep["status"]["observedGeneration"]), (2, 1))
        self.emu.http("PATCH", DEPLOYMENTS + "/api", {"spec": {"template": {"spec": {"containers": [
            {"name": "api", "image": "luminate/api:2"}]}}}}, ctype="application/strategic-merge-patch+json")
        _, dep = self.emu.http("GET", DEPLOYMENTS + "/api")
        self.assertEqual((dep["status"]["observedGeneration"], dep["status"]["updatedReplicas"]), (2, 2))
        self.assertEqual(dep["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "2")
        _, rs = self.emu.http("GET", "/apis/apps/v1/namespaces/luminate/replicasets")
        self.assertEqual(sorted((r["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
                                 r["spec"]["replicas"]) for r in rs["items"]), [("1", 0), ("2", 2)])
        _, pods = self.emu.http("GET", "/api/v1/namespaces/luminate/pods?labelSelector=app%3Dapi")
        self.assertEqual({p["spec"]["containers"][0]["image"] for p in pods["items"]}, {"luminate/api:2"})
        self.emu.ctl("config", {"autoRollout": False})
        self.emu.http("PATCH", DEPLOYMENTS + "/api", {"spec": {"replicas": 3}}, ctype="application/merge-patch+json")
        _, dep = self.emu.http("GET", DEPLOYMENTS + "/api")
        self.assertEqual((dep["metadata"]["generation"], dep["status"]["observedGeneration"]), (3, 2))

    def test_statefulset_and_daemonset(self):
        sts = dict(self.deployment("db", replicas=3), kind="StatefulSet")
        self.create("/apis/apps/v1/namespaces/luminate/statefulsets", sts)
        _, sts = self.emu.http("GET", "/apis/apps/v1/namespaces/luminate/statefulsets/db")
        status = sts["status"]
        self.assertEqual((status["readyReplicas"], status["updatedReplicas"]), (3, 3))
        self.assertEqual(status["currentRevision"], status["updateRevision"])
        _, revisions = self.emu.http("GET", "/apis/apps/v1/namespaces/luminate/controllerrevisions")
        self.assertEqual([r["revision"] for r in revisions["items"]], [1])
        ds = dict(self.deployment("agent"), kind="DaemonSet")
        del ds["spec"]["replicas"]
        self.create("/apis/apps/v1/namespaces/luminate/daemonsets", ds)
        _, ds = self.emu.http("GET", "/apis/apps/v1/namespaces/luminate/daemonsets/agent")
        self.assertEqual((ds["status"]["desiredNumberScheduled"], ds["status"]["numberReady"]), (3, 3))


class PolicyFileTest(ServerTest):
    def setUp(self):
        fd, self.policy = tempfile.mkstemp(suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump({"default": "deny", "rules": [{"verbs": ["get", "list"], "allowed": True}]}, f)
        self.addCleanup(os.unlink, self.policy)
        self.server_args = ("--policy", self.policy)
        super().setUp()

    def test_policy_file_default_deny(self):
        def review(verb):
            _, out = self.emu.http("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {
                "kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
                "spec": {"resourceAttributes": {"verb": verb, "resource": "pods", "namespace": NS}}})
            return out["status"]["allowed"]

        self.assertEqual((review("get"), review("list"), review("delete")), (True, True, False))


class LifecycleTest(unittest.TestCase):
    def test_state_file_survives_restart_and_sigterm_is_prompt(self):
        state = os.path.join(tempfile.mkdtemp(prefix="kubeemu-state-"), "state.json")
        self.addCleanup(shutil.rmtree, os.path.dirname(state), True)
        emu = Emulator("--state-file", state)
        try:
            code, _ = emu.http("POST", "/api/v1/namespaces/luminate/configmaps", {
                "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "keep"}, "data": {"a": "1"}})
            self.assertEqual(code, 201)
            rv = emu.ctl("objects", method="GET")["resourceVersion"]
            # A watch in progress must not delay shutdown.
            watch = urllib.request.urlopen(emu.url + "/api/v1/namespaces/luminate/configmaps?watch=1", timeout=5)
            start = time.monotonic()
            emu.stop()
            self.assertLess(time.monotonic() - start, 3)
            self.assertEqual(emu.proc.returncode, 0)
            watch.close()
        finally:
            emu.stop()
            emu.cleanup()
        emu = Emulator("--state-file", state)
        try:
            code, cm = emu.http("GET", "/api/v1/namespaces/luminate/configmaps/keep")
            self.assertEqual((code, cm["data"]), (200, {"a": "1"}))
            self.assertEqual(emu.ctl("objects", method="GET")["resourceVersion"], rv)
            # History before the restart is gone: old watches get 410 Gone.
            with urllib.request.urlopen(emu.url + "/api/v1/configmaps?watch=1&resourceVersion=1", timeout=5) as r:
                event = json.loads(r.readline())
            self.assertEqual((event["type"], event["object"]["code"]), ("ERROR", 410))
        finally:
            emu.stop()
            emu.cleanup()


# --------------------------------------------------------------------------
# Real kubectl
# --------------------------------------------------------------------------

@unittest.skipUnless(KUBECTL, "kubectl not installed")
class KubectlTest(ServerTest):
    def test_version_and_api_resources(self):
        out = json.loads(self.emu.kubectl("version", "-o", "json").stdout)
        self.assertEqual(out["serverVersion"]["gitVersion"], "v1.29.4")
        resources = self.emu.kubectl("api-resources", "--no-headers").stdout
        for needle in ("deployments ", "chi ", "servicemonitors", "leases", "selfsubjectaccessreviews",
                       "horizontalpodautoscalers", "sealedsecrets", "externalsecrets"):
            self.assertIn(needle, resources)
        self.assertIn("Ready", self.emu.kubectl("get", "nodes").stdout)

    def test_apply_all_kinds_then_reapply_and_change(self):
        manifest = DEPLOY_V1 + "---\n" + ALL_KINDS
        out = self.emu.kubectl("apply", "-f", "-", stdin=manifest).stdout
        self.assertEqual(out.count(" created"), 16, out)
        for ref in ("deployment/api", "statefulset/chkeeper", "service/api", "secret/api-creds",
                    "configmap/api-config", "networkpolicy/api", "hpa/api", "cronjob/compact", "pdb/api",
                    "ingress/api", "lease/luminatectl-lock", "servicemonitor/api", "prometheusrule/api",
                    "sealedsecret/api-sealed", "externalsecret/api-ext", "chi/metrics"):
            self.emu.kubectl("get", ref)
        again = self.emu.kubectl("apply", "-f", "-", stdin=manifest).stdout
        # kubectl itself always sends a patch for these two, as against a
        # real cluster: Secret stringData is never stored as such, and the
        # PDB selector has patchStrategy=replace. Nothing actually changes.
        self.assertEqual(again.count(" unchanged"), 14, again)
        self.assertIn("secret/api-creds configured", again)
        self.assertIn("poddisruptionbudget.policy/api configured", again)
        self.assertEqual(self.emu.kubectl_json("get", "pdb", "api")["metadata"]["generation"], 1)

        changed = (DEPLOY_V2 + "---\n" + ALL_KINDS.replace("retention: 30d", "retention: 90d")
                   .replace("interval: 30s", "interval: 15s").replace("shardsCount: 2", "shardsCount: 4"))
        out = self.emu.kubectl("apply", "-f", "-", stdin=changed).stdout
        self.assertIn("deployment.apps/api configured", out)
        self.assertIn("configmap/api-config configured", out)
        self.assertIn("clickhouseinstallation.clickhouse.altinity.com/metrics configured", out)
        dep = self.emu.kubectl_json("get", "deploy", "api")
        containers = dep["spec"]["template"]["spec"]["containers"]
        self.assertEqual([c["name"] for c in containers], ["api", "sidecar"])
        self.assertEqual(containers[0]["image"], "luminate/api:2.0")
        self.assertEqual(containers[0]["env"], [{"name": "LOG_LEVEL", "value": "info"}],
                         "env entry dropped from the manifest is removed by the strategic merge")
        self.assertEqual(dep["metadata"]["generation"], 2)
        self.assertEqual(self.emu.kubectl_json("get", "cm", "api-config")["data"], {"retention": "90d"})
        chi = self.emu.kubectl_json("get", "chi", "metrics")
        self.assertEqual(chi["spec"]["configuration"]["clusters"][0]["layout"], {"shardsCount": 4, "replicasCount": 2})
        sm = self.emu.kubectl_json("get", "servicemonitor", "api")
        self.assertEqual(sm["spec"]["endpoints"], [{"port": "http", "interval": "15s"}])
        secret = self.emu.kubectl_json("get", "secret", "api-creds")
        self.assertEqual(secret["data"], {"password": "aHVudGVyMg=="})
        hpa = self.emu.kubectl_json("get", "hpa", "api")
        self.assertEqual(hpa["apiVersion"], "autoscaling/v2")

    def test_dry_run_server_and_diff(self):
        out = self.emu.kubectl("apply", "--dry-run=server", "-f", "-", stdin=DEPLOY_V1).stdout
        self.assertIn("created (server dry run)", out)
        self.assertEqual(self.emu.kubectl("get", "deploy", "api", check=False).returncode, 1)
        diff = self.emu.kubectl("diff", "-f", "-", stdin=DEPLOY_V1, check=False)
        self.assertEqual(diff.returncode, 1, diff.stderr)
        self.emu.kubectl("apply", "-f", "-", stdin=DEPLOY_V1)
        same = self.emu.kubectl("diff", "-f", "-", stdin=DEPLOY_V1, check=False)
        self.assertEqual((same.returncode, same.stdout), (0, ""), same.stderr)
        diff = self.emu.kubectl("diff", "-f", "-", stdin=DEPLOY_V2, check=False)
        self.assertEqual(diff.returncode, 1, diff.stderr)
        self.assertIn("+        image: luminate/api:2.0", diff.stdout)
        self.assertIn("-          value: \"yes\"", diff.stdout)
        self.assertEqual(self.emu.kubectl_json("get", "deploy", "api")["metadata"]["generation"], 1)

    def test_get_selectors_and_all_namespaces(self):
        self.emu.kubectl("apply", "-f", "-", stdin=DEPLOY_V1)
        self.emu.rollout("api")
        pods = self.emu.kubectl_json("get", "pods", "-l", "app in (api),pod-template-hash")
        self.assertEqual((pods["kind"], len(pods["items"])), ("List", 2))
        self.assertEqual(pods["items"][0]["status"]["phase"], "Running")
        self.assertTrue(pods["items"][0]["status"]["containerStatuses"][0]["ready"])
        self.assertEqual(self.emu.kubectl("get", "pods", "-l", "app!=api", "-o", "name").stdout, "")
        running = self.emu.kubectl("get", "pods", "-A", "--field-selector", "status.phase=Running",
                                   "-o", "name").stdout.split()
        self.assertEqual(len(running), 2)
        name = running[0].split("/")[1]
        one = self.emu.kubectl("get", "pods", "--field-selector", "metadata.name=" + name, "-o", "name").stdout
        self.assertEqual(one.split(), [running[0]])
        table = self.emu.kubectl("get", "deploy").stdout
        self.assertRegex(table, r"NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\napi\s+2/2\s+2\s+2\s+")

    def test_scale_patch_status_and_generation(self):
        self.emu.kubectl("apply", "-f", "-", stdin=DEPLOY_V1)
        self.assertIn("scaled", self.emu.kubectl("scale", "deploy/api", "--replicas=5").stdout)
        dep = self.emu.kubectl_json("get", "deploy", "api")
        self.assertEqual((dep["spec"]["replicas"], dep["metadata"]["generation"]), (5, 2))
        self.emu.kubectl("patch", "deploy", "api", "--type", "merge", "-p", '{"metadata":{"labels":{"x":"y"}}}')
        self.emu.kubectl("patch", "deploy", "api", "--type", "json",
                         "-p", '[{"op":"replace","path":"/spec/replicas","value":3}]')
        self.emu.kubectl("patch", "deploy", "api", "--type", "strategic",
                         "-p", '{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"s:2"}]}}}}')
        dep = self.emu.kubectl_json("get", "deploy", "api")
        self.assertEqual(dep["metadata"]["labels"]["x"], "y")
        self.assertEqual(dep["spec"]["replicas"], 3)
        self.assertEqual([c["image"] for c in dep["spec"]["template"]["spec"]["containers"]],
                         ["luminate/api:1.0", "s:2"])
        self.assertEqual(dep["metadata"]["generation"], 4)
        self.emu.kubectl("patch", "deploy", "api", "--subresource=status", "--type", "merge",
                         "-p", '{"status":{"observedGeneration":4,"readyReplicas":3}}')
        dep = self.emu.kubectl_json("get", "deploy", "api")
        self.assertEqual((dep["status"]["readyReplicas"], dep["metadata"]["generation"]), (3, 4))

    def test_rollout_status_completes_when_triggered(self):
        self.emu.kubectl("apply", "-f", "-", stdin=DEPLOY_V1)
        proc = subprocess.Popen(self.emu.kubectl_cmd(["rollout", "status", "deploy/api", "--timeout=20s"],
                                                     request_timeout=False),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=dict(os.environ, HOME=self.emu.dir))
        try:
            self.emu.wait_for_request(lambda r: r["path"] == DEPLOYMENTS and r["query"].get("watch") == "true")
            self.assertIsNone(proc.poll(), "rollout status must still be waiting")
            start = time.monotonic()
            self.emu.rollout("api")
            out, err = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        self.assertEqual(proc.returncode, 0, err)
        self.assertLess(time.monotonic() - start, 5)
        self.assertIn('deployment "api" successfully rolled out', out)
        dep = self.emu.kubectl_json("get", "deploy", "api")
        self.assertEqual(dep["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "1")
        self.assertEqual(dep["status"]["availableReplicas"], 2)
        self.emu.kubectl("wait", "--for=condition=Available", "deploy/api", "--timeout=5s")

    def test_rollout_status_progressing_and_failed(self):
        self.emu.kubectl("apply", "-f", "-", stdin=DEPLOY_V1)
        self.emu.rollout("api", "progressing", ready=1)
        waiting = self.emu.kubectl("rollout", "status", "deploy/api", "--watch=false").stdout
        self.assertIn("1 out of 2 new replicas have been updated", waiting)
        self.emu.rollout("api", "failed")
        proc = self.emu.kubectl("rollout", "status", "deploy/api", "--timeout=10s", check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn('deployment "api" exceeded its progress deadline', proc.stderr)

    def test_rollout_history_and_undo(self):
        self.emu.kubectl("apply", "-f", "-", stdin=DEPLOY_V1)
        self.emu.rollout("api", "progressing")
        dep = self.emu.rollout("api")
        self.assertEqual(dep["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "1",
                         "rolling out the same template again keeps its revision")
        self.emu.kubectl("apply", "-f", "-", stdin=DEPLOY_V2)
        self.emu.rollout("api")
        history = self.emu.kubectl("rollout", "history", "deploy/api").stdout
        self.assertRegex(history, r"REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>")
        rs = self.emu.kubectl_json("get", "rs", "-l", "app=api")["items"]
        self.assertEqual(sorted(r["spec"]["replicas"] for r in rs), [0, 2])
        self.assertTrue(all(r["metadata"]["ownerReferences"][0]["controller"] for r in rs))
        self.assertIn("rolled back", self.emu.kubectl("rollout", "undo", "deploy/api").stdout)
        dep = self.emu.kubectl_json("get", "deploy", "api")
        self.assertEqual(dep["spec"]["template"]["spec"]["containers"][0]["image"], "luminate/api:1.0")
        self.emu.rollout("api")
        history = self.emu.kubectl("rollout", "history", "deploy/api").stdout
        self.assertRegex(history, r"REVISION\s+CHANGE-CAUSE\n2\s+<none>\n3\s+<none>",
                         "the reused ReplicaSet gets the next revision")
        self.assertEqual(len(self.emu.kubectl_json("get", "rs")["items"]), 2)
        self.emu.kubectl("rollout", "undo", "deploy/api", "--to-revision=2")
        dep = self.emu.kubectl_json("get", "deploy", "api")
        self.assertEqual(dep["spec"]["template"]["spec"]["containers"][0]["image"], "luminate/api:2.0")

    def test_statefulset_rollout(self):
        self.emu.kubectl("apply", "-f", "-", stdin=ALL_KINDS.split("---\n")[0])
        self.emu.rollout("chkeeper", "progressing", kind="StatefulSet", ready=1)
        waiting = self.emu.kubectl("rollout", "status", "sts/chkeeper", "--watch=false").stdout
        self.assertIn("Waiting for 2 pods to be ready", waiting)
        self.emu.rollout("chkeeper", kind="StatefulSet")
        out = self.emu.kubectl("rollout", "status", "sts/chkeeper", "--timeout=10s").stdout
        self.assertIn("partitioned roll out complete: 3 new pods have been updated", out)
        pods = self.emu.kubectl("get", "pods", "-l", "app=chkeeper", "-o", "name").stdout.split()
        self.assertEqual(pods, ["pod/chkeeper-0", "pod/chkeeper-1", "pod/chkeeper-2"])

    def watch_lines(self, *args):
        return subprocess.Popen(self.emu.kubectl_cmd(["get", "deploy", "api", "-w"] + list(args),
                                                     request_timeout=False),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def test_get_watch_sees_changes(self):
        self.emu.kubectl("apply", "-f", "-", stdin=DEPLOY_V1)
        # JSON objects (custom columns) ...
        proc = self.watch_lines("-o", "custom-columns=NAME:.metadata.name,R:.spec.replicas", "--no-headers")
        # ... and server-side printed Table rows (default human output).
        table = self.watch_lines()
        try:
            self.assertEqual(proc.stdout.readline().split(), ["api", "2"])
            self.assertEqual(table.stdout.readline().split(), ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"])
            self.assertEqual(table.stdout.readline().split()[:4], ["api", "0/2", "0", "0"])
            # Both watches are open (in flight) before the change is made.
            self.emu.wait_for_request(lambda r: r["path"] == DEPLOYMENTS and r["query"].get("watch") == "true"
                                      and r["status"] is None, count=2)
            self.emu.kubectl("scale", "deploy/api", "--replicas=4")
            self.assertEqual(proc.stdout.readline().split(), ["api", "4"])
            self.assertEqual(table.stdout.readline().split()[:4], ["api", "0/4", "0", "0"])
        finally:
            for p in (proc, table):
                p.kill()
                p.communicate()

    def test_errors_lease_conflict_and_missing_namespace(self):
        miss = self.emu.kubectl("get", "deploy", "nope", check=False)
        self.assertEqual(miss.stderr.strip(), 'Error from server (NotFound): deployments.apps "nope" not found')
        lease = ALL_KINDS.split("---\n")[9]
        self.emu.kubectl("create", "-f", "-", stdin=lease)
        dup = self.emu.kubectl("create", "-f", "-", stdin=lease, check=False)
        self.assertIn('Error from server (AlreadyExists): error when creating "STDIN": '
                      'leases.coordination.k8s.io "luminatectl-lock" already exists', dup.stderr)
        current = self.emu.kubectl_json("get", "lease", "luminatectl-lock")
        current["spec"]["holderIdentity"] = "me"
        self.emu.kubectl("replace", "-f", "-", stdin=json.dumps(current))
        current["spec"]["holderIdentity"] = "someone-else"
        stale = self.emu.kubectl("replace", "-f", "-", stdin=json.dumps(current), check=False)
        self.assertNotEqual(stale.returncode, 0)
        self.assertIn("Error from server (Conflict)", stale.stderr)
        self.assertIn("the object has been modified", stale.stderr)
        self.assertEqual(self.emu.kubectl_json("get", "lease", "luminatectl-lock")["spec"]["holderIdentity"], "me")
        ghost = self.emu.kubectl("apply", "-n", "ghost", "-f", "-",
                                 stdin=lease.replace("namespace: luminate", "namespace: ghost"), check=False)
        self.assertIn('Error from server (NotFound): error when creating "STDIN": namespaces "ghost" not found',
                      ghost.stderr)

    def test_server_side_apply(self):
        out = self.emu.kubectl("apply", "--server-side", "-f", "-", stdin=DEPLOY_V1).stdout
        self.assertIn("deployment.apps/api serverside-applied", out)
        self.emu.kubectl("apply", "--server-side", "-f", "-", stdin=DEPLOY_V2)
        dep = self.emu.kubectl_json("get", "deploy", "api")
        self.assertEqual(dep["spec"]["template"]["spec"]["containers"][0]["image"], "luminate/api:2.0")
        requests = self.emu.ctl("requests", method="GET")["items"]
        self.assertTrue(any(r["contentType"] == "application/apply-patch+yaml" for r in requests))

    def test_delete_file_cascades(self):
        self.emu.kubectl("apply", "-f", "-", stdin=DEPLOY_V1)
        self.emu.rollout("api")
        self.assertIn('deployment.apps "api" deleted', self.emu.kubectl("delete", "-f", "-", stdin=DEPLOY_V1).stdout)
        self.assertEqual(self.emu.kubectl("get", "rs,pods", "-o", "name").stdout, "")

    def test_fault_injection_through_kubectl(self):
        self.emu.kubectl("apply", "-f", "-", stdin=DEPLOY_V1)
        self.emu.ctl("fail", {"method": "GET", "pathPrefix": DEPLOYMENTS + "/api", "status": 500,
                              "message": "boom"})
        proc = self.emu.kubectl("get", "deploy", "api", check=False)
        self.assertEqual(proc.stderr.strip(), "Error from server (InternalError): boom")
        self.emu.kubectl("get", "deploy", "api")

    def test_self_subject_access_review_via_create(self):
        self.emu.ctl("policy", [{"verbs": ["delete"], "resources": ["deployments"], "allowed": False}])
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": {"verb": "delete", "resource": "deployments", "group": "apps",
                                                "namespace": NS}}}
        out = self.emu.kubectl_json("create", "-f", "-", stdin=json.dumps(body))
        self.assertFalse(out["status"]["allowed"])
        body["spec"]["resourceAttributes"]["verb"] = "get"
        self.assertTrue(self.emu.kubectl_json("create", "-f", "-", stdin=json.dumps(body))["status"]["allowed"])


RS_PATH = "/apis/apps/v1/namespaces/luminate/replicasets"
STS_PATH = "/apis/apps/v1/namespaces/luminate/statefulsets"
REVISION = "deployment.kubernetes.io/revision"


@unittest.skipUnless(KUBECTL, "kubectl not installed")
class ControllerTest(ServerTest):
    """--controller: rollouts happen by themselves, progressing at once and
    complete after --rollout-delay (the default 1 s leaves the tests time to
    see the progressing state)."""

    server_args = ("--controller",)

    def replica_sets(self):
        """{image of the first container: (revision, spec.replicas, readyReplicas)}"""
        _, out = self.emu.http("GET", RS_PATH)
        return {rs["spec"]["template"]["spec"]["containers"][0]["image"]:
                (rs["metadata"]["annotations"][REVISION], rs["spec"]["replicas"],
                 rs["status"].get("readyReplicas", 0)) for rs in out["items"]}

    def rollout_status(self, target="deploy/api", timeout="20s"):
        return self.emu.kubectl("rollout", "status", target, "--timeout=" + timeout, check=False)

    def behaviour(self, outcome, **extra):
        return self.emu.ctl("rollout-behaviour", dict(namespace=NS, kind="Deployment", name="api",
                                                      outcome=outcome, **extra))

    def test_deployment_rollout_history_and_undo(self):
        self.emu.kubectl("apply", "-f", "-", stdin=DEPLOY_V1)
        # At once: revision 1's ReplicaSet, owned by the Deployment, not ready yet.
        _, dep = self.emu.http("GET", DEPLOYMENTS + "/api")
        _, rs = self.emu.http("GET", RS_PATH)
        self.assertEqual([r["metadata"]["annotations"][REVISION] for r in rs["items"]], ["1"])
        ref = rs["items"][0]["metadata"]["ownerReferences"][0]
        self.assertEqual((ref["kind"], ref["name"], ref["uid"], ref["controller"]),
                         ("Deployment", "api", dep["metadata"]["uid"], True))
        self.assertEqual((dep["status"]["observedGeneration"], dep["status"]["updatedReplicas"]), (1, 0),
                         "progressing until the delay has passed")
        proc = self.rollout_status()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn('deployment "api" successfully rolled out', proc.stdout)
        dep = self.emu.kubectl_json("get", "deploy", "api")
        self.assertEqual((dep["status"]["availableReplicas"], dep["status"]["conditions"][1]["reason"]),
                         (2, "NewReplicaSetAvailable"))

        self.emu.kubectl("apply", "-f", "-", stdin=DEPLOY_V2)
        self.assertEqual(self.replica_sets()["luminate/api:2.0"][:2], ("2", 2))
        self.assertEqual(self.replica_sets()["luminate/api:1.0"][2], 2, "the old pods serve meanwhile")
        self.assertEqual(self.rollout_status().returncode, 0)
        self.assertEqual(self.replica_sets(), {"luminate/api:1.0": ("1", 0, 0), "luminate/api:2.0": ("2", 2, 2)})
        history = self.emu.kubectl("rollout", "history", "deploy/api").stdout
        self.assertRegex(history, r"REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>\n")

        self.assertIn("rolled back", self.emu.kubectl("rollout", "undo", "deploy/api").stdout)
        proc = self.rollout_status()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        dep = self.emu.kubectl_json("get", "deploy", "api")
        self.assertEqual(dep["spec"]["template"]["spec"]["containers"][0]["image"], "luminate/api:1.0")
        self.assertEqual(dep["metadata"]["annotations"][REVISION], "3")
        self.assertEqual(self.replica_sets(), {"luminate/api:1.0": ("3", 2, 2), "luminate/api:2.0": ("2", 0, 0)},
                         "the first ReplicaSet is re-used as revision 3")
        history = self.emu.kubectl("rollout", "history", "deploy/api").stdout
        self.assertRegex(history, r"REVISION\s+CHANGE-CAUSE\n2\s+<none>\n3\s+<none>\n")

    def test_replicas_change_is_not_a_new_revision(self):
        self.emu.kubectl("apply", "-f", "-", stdin=DEPLOY_V1)
        self.assertEqual(self.rollout_status().returncode, 0)
        self.emu.kubectl("scale", "deploy/api", "--replicas=3")
        self.assertEqual(self.rollout_status(timeout="5s").returncode, 0)
        dep = self.emu.kubectl_json("get", "deploy", "api")
        self.assertEqual((dep["status"]["observedGeneration"], dep["status"]["availableReplicas"],
                          dep["metadata"]["annotations"][REVISION]), (2, 3, "1"))
        self.assertEqual(self.replica_sets(), {"luminate/api:1.0": ("1", 3, 3)})

    def test_stall_until_the_progress_deadline(self):
        self.emu.kubectl("apply", "-f", "-", stdin=DEPLOY_V1)
        self.assertEqual(self.rollout_status().returncode, 0)
        rule = self.behaviour("stall", deadlineSeconds=4)
        self.assertEqual(rule["count"], 1)
        self.emu.kubectl("apply", "-f", "-", stdin=DEPLOY_V2)
        proc = self.rollout_status(timeout="2s")
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("0 out of 2 new replicas have been updated", proc.stdout)
        self.assertIn("timed out waiting for the condition", proc.stderr)
        self.assertEqual(self.replica_sets(), {"luminate/api:1.0": ("1", 2, 2), "luminate/api:2.0": ("2", 2, 0)},
                         "the old ReplicaSet keeps serving")
        proc = self.rollout_status()
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertIn('deployment "api" exceeded its progress deadline', proc.stderr)
        self.assertEqual(self.emu.ctl("rollout-behaviour", method="GET")["items"][0]["count"], 0)
        # The count is used up: the undo rolls out normally.
        self.emu.kubectl("rollout", "undo", "deploy/api")
        proc = self.rollout_status()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.replica_sets()["luminate/api:1.0"], ("3", 2, 2))

    def test_fail_right_after_the_delay_and_knob_bookkeeping(self):
        code, out = self.emu.http("POST", "/_emulator/rollout-behaviour",
                                  {"namespace": NS, "name": "api", "outcome": "explode"})
        self.assertEqual(code, 400, out)
        self.behaviour("fail")
        self.emu.kubectl("apply", "-f", "-", stdin=DEPLOY_V1)
        proc = self.rollout_status()
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertIn('deployment "api" exceeded its progress deadline', proc.stderr)
        self.emu.kubectl("apply", "-f", "-", stdin=DEPLOY_V2)
        self.assertEqual(self.rollout_status().returncode, 0, "count 1: the next rollout is normal")
        self.behaviour("stall", count=-1)
        self.assertEqual(len(self.emu.ctl("rollout-behaviour", method="GET")["items"]), 2)
        self.emu.ctl("rollout-behaviour", method="DELETE")
        self.assertEqual(self.emu.ctl("rollout-behaviour", method="GET")["items"], [])
        self.behaviour("stall", count=-1)
        self.emu.ctl("reset")
        self.assertEqual(self.emu.ctl("rollout-behaviour", method="GET")["items"], [])

    def test_a_manual_rollout_takes_over(self):
        """Tests that drive status by hand keep their outcome: the controller
        does not complete a rollout that /_emulator/rollout has decided."""
        self.emu.kubectl("apply", "-f", "-", stdin=DEPLOY_V1)
        self.emu.rollout("api", "failed")
        time.sleep(1.5)
        proc = self.rollout_status(timeout="5s")
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertIn("exceeded its progress deadline", proc.stderr)

    def test_statefulset_revisions(self):
        self.emu.kubectl("apply", "-f", "-", stdin=ALL_KINDS.split("---\n")[0])
        self.assertEqual(self.rollout_status("sts/chkeeper").returncode, 0)
        first = self.emu.kubectl_json("get", "sts", "chkeeper")["status"]
        self.assertEqual((first["readyReplicas"], first["currentRevision"]), (3, first["updateRevision"]))
        self.emu.kubectl("set", "image", "sts/chkeeper", "keeper=clickhouse/keeper:24.8")
        _, sts = self.emu.http("GET", STS_PATH + "/chkeeper")
        self.assertEqual(sts["status"]["currentRevision"], first["currentRevision"], "progressing")
        self.assertNotEqual(sts["status"]["updateRevision"], first["updateRevision"])
        proc = self.rollout_status("sts/chkeeper")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("3 new pods have been updated", proc.stdout)
        status = self.emu.kubectl_json("get", "sts", "chkeeper")["status"]
        self.assertEqual((status["currentRevision"], status["updateRevision"], status["readyReplicas"]),
                         (sts["status"]["updateRevision"],) * 2 + (3,))
        revisions = self.emu.kubectl_json("get", "controllerrevisions")["items"]
        self.assertEqual(sorted((r["revision"], r["metadata"]["ownerReferences"][0]["controller"])
                                for r in revisions), [(1, True), (2, True)])
        history = self.emu.kubectl("rollout", "history", "statefulset/chkeeper").stdout
        self.assertRegex(history, r"REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>\n")
        self.emu.kubectl("rollout", "undo", "statefulset/chkeeper")
        self.assertEqual(self.rollout_status("sts/chkeeper").returncode, 0)
        status = self.emu.kubectl_json("get", "sts", "chkeeper")["status"]
        self.assertEqual(status["updateRevision"], first["updateRevision"])
        history = self.emu.kubectl("rollout", "history", "statefulset/chkeeper").stdout
        self.assertRegex(history, r"REVISION\s+CHANGE-CAUSE\n2\s+<none>\n3\s+<none>\n")

    def test_daemonset_rolls_out(self):
        ds = dict(self.deployment("agent"), kind="DaemonSet")
        del ds["spec"]["replicas"]
        self.create("/apis/apps/v1/namespaces/luminate/daemonsets", ds)
        proc = self.rollout_status("ds/agent")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn('daemon set "agent" successfully rolled out', proc.stdout)
        status = self.emu.kubectl_json("get", "ds", "agent")["status"]
        self.assertEqual((status["numberReady"], status["updatedNumberScheduled"]), (3, 3))

    def test_statefulset_stall_stays_unready(self):
        self.emu.ctl("rollout-behaviour", {"namespace": NS, "kind": "StatefulSet", "name": "chkeeper",
                                           "outcome": "stall"})
        self.emu.kubectl("apply", "-f", "-", stdin=ALL_KINDS.split("---\n")[0])
        proc = self.rollout_status("sts/chkeeper", timeout="2s")
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("Waiting for 3 pods to be ready", proc.stdout)


class ControllerSwitchTest(ServerTest):
    def test_off_by_default_then_switched_on_at_run_time(self):
        config = self.emu.ctl("config", method="GET")
        self.assertEqual(config, {"autoRollout": False, "controller": False, "rolloutDelay": 1.0})
        self.create(DEPLOYMENTS, self.deployment())
        time.sleep(1.3)
        _, dep = self.emu.http("GET", DEPLOYMENTS + "/api")
        self.assertEqual(dep["status"], {}, "no controller: nobody writes status")
        _, rs = self.emu.http("GET", RS_PATH)
        self.assertEqual(rs["items"], [])
        code, out = self.emu.http("POST", "/_emulator/config", {"rolloutDelay": -1})
        self.assertEqual(code, 400, out)
        config = self.emu.ctl("config", {"controller": True, "rolloutDelay": 0.2})
        self.assertEqual(config, {"autoRollout": False, "controller": True, "rolloutDelay": 0.2})
        self.create(DEPLOYMENTS, self.deployment("web"))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            _, dep = self.emu.http("GET", DEPLOYMENTS + "/web")
            if dep["status"].get("availableReplicas") == 2:
                break
            time.sleep(0.05)
        self.assertEqual(dep["status"]["updatedReplicas"], 2)
        self.emu.ctl("config", {"controller": False})
        self.emu.http("PATCH", DEPLOYMENTS + "/web", {"spec": {"replicas": 3}},
                      ctype="application/merge-patch+json")
        _, dep = self.emu.http("GET", DEPLOYMENTS + "/web")
        self.assertEqual(dep["status"]["observedGeneration"], 1)


@unittest.skipUnless(KUBECTL_132, "kubectl 1.32 binary not installed next to the dispatcher")
class KubectlLatestTest(ServerTest):
    """The same core flows with kubectl 1.32 invoked directly (no dispatcher)."""

    def k(self, *args, **kw):
        return self.emu.kubectl(*args, binary=KUBECTL_132, **kw)

    def test_apply_merge_diff_undo_with_kubectl_132(self):
        self.k("apply", "-f", "-", stdin=DEPLOY_V1 + "---\n" + ALL_KINDS)
        self.emu.rollout("api")
        self.assertEqual(self.k("diff", "-f", "-", stdin=DEPLOY_V1, check=False).returncode, 0)
        self.k("apply", "-f", "-", stdin=DEPLOY_V2)
        self.emu.rollout("api")
        dep = json.loads(self.k("get", "deploy", "api", "-o", "json").stdout)
        self.assertEqual(dep["spec"]["template"]["spec"]["containers"][0]["env"],
                         [{"name": "LOG_LEVEL", "value": "info"}])
        self.assertIn("successfully rolled out", self.k("rollout", "status", "deploy/api", "--timeout=5s").stdout)
        self.k("rollout", "undo", "deploy/api")
        dep = json.loads(self.k("get", "deploy", "api", "-o", "json").stdout)
        self.assertEqual(dep["spec"]["template"]["spec"]["containers"][0]["image"], "luminate/api:1.0")
        self.k("scale", "deploy/api", "--replicas=4")
        self.k("patch", "deploy", "api", "--subresource=status", "--type", "merge", "-p",
               '{"status":{"readyReplicas":4}}')
        self.assertIn("serverside-applied", self.k("apply", "--server-side", "-f", "-", stdin=DEPLOY_V2).stdout)

    def test_protobuf_generators_get_clear_415(self):
        proc = self.k("create", "configmap", "x", "--from-literal=a=b", check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("kubeemu only accepts JSON request bodies", proc.stderr)


if __name__ == "__main__":
    unittest.main()
