"""The emulator's resource table and the documents derived from it:
discovery (/api, /apis, /api/v1, /apis/G/V) and OpenAPI v3.

To serve another resource, add one Resource(...) line to RESOURCES."""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone

KUBE_VERSION = "v1.29.4"

STANDARD_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclass(frozen=True)
class Resource:
    group: str            # "" for the core group
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    short_names: tuple = ()
    subresources: tuple = ("status",)
    categories: tuple = ()
    # Served like a CustomResourceDefinition: the real apiserver rejects
    # strategic merge patches for these, and kubectl falls back to JSON
    # merge patches when applying them.
    custom: bool = False
    # Virtual resources (reviews) are only created, never stored.
    verbs: tuple = tuple(STANDARD_VERBS)

    @property
    def group_version(self):
        return "%s/%s" % (self.group, self.version) if self.group else self.version

    @property
    def singular(self):
        return self.kind.lower()

    @property
    def qualified(self):
        """What error messages call the resource: `deployments.apps`."""
        return "%s.%s" % (self.plural, self.group) if self.group else self.plural

    @property
    def storage_key(self):
        # Several versions of one resource share a single storage bucket
        # (e.g. autoscaling/v1 and v2 HPAs), as in a real apiserver.
        return (self.group, self.plural)

    @property
    def has_status(self):
        return "status" in self.subresources


R = Resource
ALL = ("all",)
NO_STATUS = ()
RESOURCES = [
    # core/v1
    R("", "v1", "namespaces", "Namespace", False, ("ns",), ("status", "finalize")),
    R("", "v1", "pods", "Pod", True, ("po",), ("status", "log"), ALL),
    R("", "v1", "services", "Service", True, ("svc",), ("status",), ALL),
    R("", "v1", "secrets", "Secret", subresources=NO_STATUS),
    R("", "v1", "configmaps", "ConfigMap", True, ("cm",), NO_STATUS),
    R("", "v1", "serviceaccounts", "ServiceAccount", True, ("sa",), NO_STATUS),
    R("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, ("pvc",)),
    R("", "v1", "persistentvolumes", "PersistentVolume", False, ("pv",)),
    R("", "v1", "nodes", "Node", False, ("no",)),
    R("", "v1", "events", "Event", True, ("ev",), NO_STATUS),
    R("", "v1", "endpoints", "Endpoints", True, ("ep",), NO_STATUS),
    R("", "v1", "resourcequotas", "ResourceQuota", True, ("quota",)),
    R("", "v1", "limitranges", "LimitRange", True, ("limits",), NO_STATUS),
    # apps/v1
    R("apps", "v1", "deployments", "Deployment", True, ("deploy",), ("scale", "status"), ALL),
    R("apps", "v1", "statefulsets", "StatefulSet", True, ("sts",), ("scale", "status"), ALL),
    R("apps", "v1", "daemonsets", "DaemonSet", True, ("ds",), ("status",), ALL),
    R("apps", "v1", "replicasets", "ReplicaSet", True, ("rs",), ("scale", "status"), ALL),
    R("apps", "v1", "controllerrevisions", "ControllerRevision", subresources=NO_STATUS),
    # batch/v1
    R("batch", "v1", "jobs", "Job", True, (), ("status",), ALL),
    R("batch", "v1", "cronjobs", "CronJob", True, ("cj",), ("status",), ALL),
    # networking.k8s.io/v1
    R("networking.k8s.io", "v1", "ingresses", "Ingress", True, ("ing",)),
    R("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True, ("netpol",), NO_STATUS),
    R("networking.k8s.io", "v1", "ingressclasses", "IngressClass", False, (), NO_STATUS),
    # policy/v1
    R("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True, ("pdb",)),
    # autoscaling: v2 is preferred; v1 is listed so that autoscaling/v1 Scale resolves.
    R("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True, ("hpa",), ("status",), ALL),
    R("autoscaling", "v1", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True, ("hpa",), ("status",), ALL),
    # rbac.authorization.k8s.io/v1
    R("rbac.authorization.k8s.io", "v1", "roles", "Role", subresources=NO_STATUS),
    R("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", subresources=NO_STATUS),
    R("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False, (), NO_STATUS),
    R("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False, (), NO_STATUS),
    # coordination.k8s.io/v1
    R("coordination.k8s.io", "v1", "leases", "Lease", subresources=NO_STATUS),
    # authorization.k8s.io/v1 (answered from the policy file, never stored)
    R("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False,
      subresources=NO_STATUS, verbs=("create",)),
    R("authorization.k8s.io", "v1", "selfsubjectrulesreviews", "SelfSubjectRulesReview", False,
      subresources=NO_STATUS, verbs=("create",)),
    # storage.k8s.io/v1
    R("storage.k8s.io", "v1", "storageclasses", "StorageClass", False, ("sc",), NO_STATUS),
    # apiextensions.k8s.io/v1
    R("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False,
      ("crd", "crds")),
    # Custom resources used by the product's manifests.
    R("monitoring.coreos.com", "v1", "servicemonitors", "ServiceMonitor", True, ("smon",), NO_STATUS, custom=True),
    R("monitoring.coreos.com", "v1", "podmonitors", "PodMonitor", True, ("pmon",), NO_STATUS, custom=True),
    R("monitoring.coreos.com", "v1", "prometheusrules", "PrometheusRule", True, ("promrule",), NO_STATUS, custom=True),
    R("monitoring.coreos.com", "v1", "alertmanagers", "Alertmanager", True, ("am",), custom=True),
    R("monitoring.coreos.com", "v1", "prometheuses", "Prometheus", True, ("prom",), custom=True),
    R("monitoring.coreos.com", "v1alpha1", "alertmanagerconfigs", "AlertmanagerConfig", True, ("amcfg",),
      NO_STATUS, custom=True),
    R("bitnami.com", "v1alpha1", "sealedsecrets", "SealedSecret", True, (), custom=True),
    R("external-secrets.io", "v1beta1", "externalsecrets", "ExternalSecret", True, ("es",), custom=True),
    R("external-secrets.io", "v1beta1", "secretstores", "SecretStore", True, ("ss",), custom=True),
    R("external-secrets.io", "v1beta1", "clustersecretstores", "ClusterSecretStore", False, ("css",), custom=True),
    R("clickhouse.altinity.com", "v1", "clickhouseinstallations", "ClickHouseInstallation", True, ("chi",),
      custom=True),
]

# Per group, versions in order of preference (first = preferred).
GROUP_VERSIONS = {}
for _r in RESOURCES:
    GROUP_VERSIONS.setdefault(_r.group, [])
    if _r.version not in GROUP_VERSIONS[_r.group]:
        GROUP_VERSIONS[_r.group].append(_r.version)

_BY_PATH = {(r.group, r.version, r.plural): r for r in RESOURCES}


def lookup(group, version, plural):
    return _BY_PATH.get((group, version, plural))


def preferred(group, plural):
    """The resource entry of the preferred version (for storage/dumps)."""
    for version in GROUP_VERSIONS.get(group, []):
        r = _BY_PATH.get((group, version, plural))
        if r:
            return r
    return None


def stored_resources():
    """One entry per storage bucket (preferred version), skipping reviews."""
    seen, out = set(), []
    for r in RESOURCES:
        if r.storage_key not in seen and "get" in r.verbs:
            seen.add(r.storage_key)
            out.append(preferred(r.group, r.plural))
    return out


# --------------------------------------------------------------------------
# Discovery
# --------------------------------------------------------------------------

def api_versions(server_address):
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def api_group_list():
    groups = []
    for group, versions in GROUP_VERSIONS.items():
        if not group:
            continue
        gvs = [{"groupVersion": "%s/%s" % (group, v), "version": v} for v in versions]
        groups.append({"name": group, "versions": gvs, "preferredVersion": gvs[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_resource_list(group, version):
    entries = []
    for r in RESOURCES:
        if r.group != group or r.version != version:
            continue
        entry = {"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced,
                 "kind": r.kind, "verbs": list(r.verbs),
                 "storageVersionHash": hashlib.sha256(r.qualified.encode()).hexdigest()[:12]}
        if r.short_names:
            entry["shortNames"] = list(r.short_names)
        if r.categories:
            entry["categories"] = list(r.categories)
        entries.append(entry)
        for sub in r.subresources:
            sub_entry = {"name": "%s/%s" % (r.plural, sub), "singularName": "", "namespaced": r.namespaced,
                         "kind": r.kind, "verbs": ["get", "patch", "update"]}
            if sub == "scale":
                # The polymorphic scale client reads group/version/kind from here.
                sub_entry.update(group="autoscaling", version="v1", kind="Scale")
            elif sub == "log":
                sub_entry.update(kind="Pod", verbs=["get"])
            elif sub == "finalize":
                sub_entry["verbs"] = ["update"]
            entries.append(sub_entry)
    if not entries:
        return None
    gv = "%s/%s" % (group, version) if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": entries}


# --------------------------------------------------------------------------
# OpenAPI v3
# --------------------------------------------------------------------------
#
# kubectl reads these documents for two things:
#  * Server-side field validation: it only sends ?fieldValidation=Strict
#    (instead of validating client-side against OpenAPI v2, which we do not
#    serve) if the PATCH operation of the kind lists a fieldValidation param.
#  * Apply patch type: if the PATCH operation accepts
#    application/strategic-merge-patch+json, kubectl computes the strategic
#    patch from *this* schema. Our schemas are permissive and carry no merge
#    keys, so we deliberately do not advertise it: kubectl then falls back
#    to the merge metadata compiled into it for built-in kinds (containers
#    by name, ports by containerPort, ...) and to JSON merge patch for
#    custom resources -- exactly what it does against a real cluster.

def _openapi_path(group, version):
    return "api/%s" % version if not group else "apis/%s/%s" % (group, version)


def openapi_index():
    paths = {}
    for group, versions in GROUP_VERSIONS.items():
        for version in versions:
            rel = _openapi_path(group, version)
            doc_hash = hashlib.sha256(json.dumps(openapi_document(group, version)).encode()).hexdigest()[:16]
            paths[rel] = {"serverRelativeURL": "/openapi/v3/%s?hash=%s" % (rel, doc_hash.upper())}
    return {"paths": paths}


def _schema_name(r):
    group = r.group or "core"
    return "io.k8s.emulated.%s.%s.%s" % (group, r.version, r.kind)


def openapi_document(group, version):
    query = lambda name: {"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
    paths, schemas = {}, {}
    for r in RESOURCES:
        if r.group != group or r.version != version:
            continue
        gvk = {"group": r.group, "version": r.version, "kind": r.kind}
        name = _schema_name(r)
        ref = {"$ref": "#/components/schemas/%s" % name}
        schemas[name] = {
            "type": "object",
            "x-kubernetes-group-version-kind": [gvk],
            "x-kubernetes-preserve-unknown-fields": True,
            "properties": {
                "apiVersion": {"type": "string"}, "kind": {"type": "string"},
                "metadata": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            },
        }
        prefix = "/" + _openapi_path(group, version)
        if r.namespaced:
            prefix += "/namespaces/{namespace}"
        item_path = "%s/%s/{name}" % (prefix, r.plural)
        collection = {"x-kubernetes-group-version-kind": gvk, "responses": {"200": {"content": {
            "application/json": {"schema": ref}}}}}
        write_params = [query("dryRun"), query("fieldManager"), query("fieldValidation")]
        paths["%s/%s" % (prefix, r.plural)] = {
            "post": dict(collection, parameters=write_params,
                         requestBody={"content": {"application/json": {"schema": ref}}},
                         **{"x-kubernetes-action": "post"})}
        # Every kind gets a PATCH operation, even create-only reviews: that is
        # where kubectl looks for fieldValidation support before it creates
        # anything (and it falls back to OpenAPI v2, which we lack, if absent).
        paths[item_path] = {
            "get": dict(collection, **{"x-kubernetes-action": "get"}),
            "put": dict(collection, parameters=write_params,
                        requestBody={"content": {"application/json": {"schema": ref}}},
                        **{"x-kubernetes-action": "put"}),
            "patch": dict(collection, parameters=write_params + [query("force")],
                          requestBody={"content": {
                              "application/json-patch+json": {"schema": {"type": "object"}},
                              "application/merge-patch+json": {"schema": {"type": "object"}},
                              "application/apply-patch+yaml": {"schema": {"type": "object"}}}},
                          **{"x-kubernetes-action": "patch"}),
        }
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes (kubeemu)", "version": KUBE_VERSION},
            "paths": paths, "components": {"schemas": schemas}}


def version_info():
    return {"major": "1", "minor": KUBE_VERSION.split(".")[1], "gitVersion": KUBE_VERSION,
            "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
            "buildDate": "2024-04-16T00:00:00Z", "goVersion": "go1.21.9", "compiler": "gc",
            "platform": "linux/amd64"}


# --------------------------------------------------------------------------
# Seed objects: present at start and after /_emulator/reset
# --------------------------------------------------------------------------

SEED_NAMESPACES = ("default", "kube-system", "luminate")


def seed_objects():
    objs = []
    for ns in SEED_NAMESPACES:
        objs.append({"apiVersion": "v1", "kind": "Namespace",
                     "metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}},
                     "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
    for n in range(1, 4):
        name = "node-%d" % n
        resources = {"cpu": "8", "memory": "32Gi", "pods": "110", "ephemeral-storage": "100Gi"}
        objs.append({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                                  "kubernetes.io/arch": "amd64",
                                                  "topology.kubernetes.io/zone": "zone-%s" % "abc"[n - 1]}},
            "spec": {"podCIDR": "10.244.%d.0/24" % n},
            "status": {
                "capacity": dict(resources), "allocatable": dict(resources),
                "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                "message": "kubelet is posting ready status",
                                "lastHeartbeatTime": "2024-01-01T00:00:00Z",
                                "lastTransitionTime": "2024-01-01T00:00:00Z"}],
                "addresses": [{"type": "InternalIP", "address": "10.0.0.%d" % (10 + n)},
                              {"type": "Hostname", "address": name}],
                "nodeInfo": {"kubeletVersion": KUBE_VERSION, "kubeProxyVersion": KUBE_VERSION,
                             "containerRuntimeVersion": "containerd://1.7.13", "operatingSystem": "linux",
                             "architecture": "amd64", "osImage": "Emulated Linux",
                             "kernelVersion": "6.1.0"},
            }})
    # CRDs for the custom resources we serve, so `kubectl get crd` looks real.
    for r in RESOURCES:
        if not r.custom:
            continue
        objs.append({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "%s.%s" % (r.plural, r.group)},
            "spec": {"group": r.group, "scope": "Namespaced" if r.namespaced else "Cluster",
                     "names": {"plural": r.plural, "singular": r.singular, "kind": r.kind,
                               "listKind": r.kind + "List", "shortNames": list(r.short_names)},
                     "versions": [{"name": r.version, "served": True, "storage": True,
                                   "schema": {"openAPIV3Schema": {"type": "object",
                                                                  "x-kubernetes-preserve-unknown-fields": True}},
                                   "subresources": {"status": {}} if r.has_status else {}}]},
            "status": {"conditions": [{"type": "Established", "status": "True", "reason": "InitialNamesAccepted"}],
                       "acceptedNames": {"plural": r.plural, "kind": r.kind}}})
    return objs


# --------------------------------------------------------------------------
# Server-side printing (`kubectl get` asks for meta.k8s.io Tables)
# --------------------------------------------------------------------------

def _g(obj, path, default=""):
    node = obj
    for part in path.split("."):
        if not isinstance(node, dict):
            return default
        node = node.get(part)
    return default if node is None else node


def _pod_ready(p):
    statuses = _g(p, "status.containerStatuses", [])
    return "%d/%d" % (sum(1 for s in statuses if s.get("ready")), len(_g(p, "spec.containers", [])))


def _svc_ports(s):
    return ",".join("%s/%s" % (p.get("port"), p.get("protocol", "TCP")) for p in _g(s, "spec.ports", [])) or "<none>"


def _node_status(n):
    ready = [c for c in _g(n, "status.conditions", []) if c.get("type") == "Ready"]
    return "Ready" if ready and ready[0].get("status") == "True" else "NotReady"


# Columns between NAME and AGE, per kind: (header, type, priority, getter).
# Priority 1 columns only show with -o wide.
PRINTER_COLUMNS = {
    "Pod": [("Ready", "string", 0, _pod_ready),
            ("Status", "string", 0, lambda o: _g(o, "status.phase", "Unknown")),
            ("Restarts", "integer", 0, lambda o: sum(s.get("restartCount", 0)
                                                     for s in _g(o, "status.containerStatuses", []))),
            ("IP", "string", 1, lambda o: _g(o, "status.podIP", "<none>")),
            ("Node", "string", 1, lambda o: _g(o, "spec.nodeName", "<none>"))],
    "Deployment": [("Ready", "string", 0, lambda o: "%d/%d" % (_g(o, "status.readyReplicas", 0),
                                                               _g(o, "spec.replicas", 1))),
                   ("Up-to-date", "integer", 0, lambda o: _g(o, "status.updatedReplicas", 0)),
                   ("Available", "integer", 0, lambda o: _g(o, "status.availableReplicas", 0))],
    "StatefulSet": [("Ready", "string", 0, lambda o: "%d/%d" % (_g(o, "status.readyReplicas", 0),
                                                                _g(o, "spec.replicas", 1)))],
    "ReplicaSet": [("Desired", "integer", 0, lambda o: _g(o, "spec.replicas", 1)),
                   ("Current", "integer", 0, lambda o: _g(o, "status.replicas", 0)),
                   ("Ready", "integer", 0, lambda o: _g(o, "status.readyReplicas", 0))],
    "DaemonSet": [("Desired", "integer", 0, lambda o: _g(o, "status.desiredNumberScheduled", 0)),
                  ("Ready", "integer", 0, lambda o: _g(o, "status.numberReady", 0)),
                  ("Up-to-date", "integer", 0, lambda o: _g(o, "status.updatedNumberScheduled", 0))],
    "Service": [("Type", "string", 0, lambda o: _g(o, "spec.type", "ClusterIP")),
                ("Cluster-IP", "string", 0, lambda o: _g(o, "spec.clusterIP", "<none>")),
                ("External-IP", "string", 0, lambda o: "<none>"),
                ("Port(s)", "string", 0, _svc_ports)],
    "Namespace": [("Status", "string", 0, lambda o: _g(o, "status.phase", "Active"))],
    "Node": [("Status", "string", 0, _node_status), ("Roles", "string", 0, lambda o: "<none>"),
             ("Version", "string", 0, lambda o: _g(o, "status.nodeInfo.kubeletVersion"))],
    "Secret": [("Type", "string", 0, lambda o: o.get("type", "Opaque")),
               ("Data", "integer", 0, lambda o: len(o.get("data") or {}))],
    "ConfigMap": [("Data", "integer", 0, lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {}))],
    "Lease": [("Holder", "string", 0, lambda o: _g(o, "spec.holderIdentity"))],
    "HorizontalPodAutoscaler": [
        ("Reference", "string", 0, lambda o: "%s/%s" % (_g(o, "spec.scaleTargetRef.kind"),
                                                        _g(o, "spec.scaleTargetRef.name"))),
        ("MinPods", "integer", 0, lambda o: _g(o, "spec.minReplicas", 1)),
        ("MaxPods", "integer", 0, lambda o: _g(o, "spec.maxReplicas", 0)),
        ("Replicas", "integer", 0, lambda o: _g(o, "status.currentReplicas", 0))],
    "Job": [("Completions", "string", 0, lambda o: "%d/%d" % (_g(o, "status.succeeded", 0),
                                                              _g(o, "spec.completions", 1)))],
    "CronJob": [("Schedule", "string", 0, lambda o: _g(o, "spec.schedule")),
                ("Suspend", "string", 0, lambda o: str(_g(o, "spec.suspend", False)))],
}


def human_age(created, now):
    """kubectl's HumanDuration, slightly simplified."""
    try:
        start = datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
    except (TypeError, ValueError):
        return "<unknown>"
    s = max(int(now - start), 0)
    if s < 120:
        return "%ds" % s
    m = s // 60
    if m < 10:
        return "%dm%ds" % (m, s % 60)
    if m < 180:
        return "%dm" % m
    h = m // 60
    if h < 8:
        return "%dh%dm" % (h, m % 60)
    if h < 48:
        return "%dh" % h
    d = h // 24
    return "%dd%dh" % (d, h % 24) if d < 8 else "%dd" % d


def table(kind, objects, resource_version, now, with_columns=True):
    extra = PRINTER_COLUMNS.get(kind, [])
    columns = [("Name", "string", 0, lambda o: o["metadata"]["name"])] + [c for c in extra if c[2] == 0] + \
        [("Age", "string", 0, lambda o: human_age(o["metadata"].get("creationTimestamp"), now))] + \
        [c for c in extra if c[2] > 0]
    out = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": resource_version},
           "rows": [{"cells": [get(o) for _, _, _, get in columns],
                     "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                "metadata": o["metadata"]}} for o in objects]}
    if with_columns:
        out["columnDefinitions"] = [
            {"name": name, "type": typ, "format": "name" if name == "Name" else "", "description": name,
             "priority": prio} for name, typ, prio, _ in columns]
    return out
