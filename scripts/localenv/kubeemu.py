#!/usr/bin/env python3
"""kubeemu -- a small Kubernetes API server emulator for tests.

Speaks enough of the Kubernetes REST API (JSON only, plain HTTP) for the
real kubectl to apply, get, patch, scale, watch, diff, roll out and undo
workloads. By default no controllers run: tests drive rollouts through the
/_emulator/ control API. With --controller, creating a workload or changing
its pod template starts a rollout that completes after --rollout-delay
seconds (or stalls or fails, see /_emulator/rollout-behaviour). See
KUBEEMU.md for the full description.

    python3 scripts/localenv/kubeemu.py --port 0 [--host 127.0.0.1]
        [--policy POLICY.json] [--state-file FILE] [--log FILE]
        [--write-kubeconfig PATH [--context-name N] [--namespace NS]]
        [--auto-rollout] [--controller [--rollout-delay SECONDS]]

Standard library only (Python 3.11).
"""

import argparse
import base64
import collections
import copy
import json
import os
import random
import select
import signal
import socket
import string
import sys
import threading
import time
import traceback
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import kubeemu_patch as kp  # noqa: E402
import kubeemu_resources as kr  # noqa: E402

EVENT_LOG_SIZE = 20000
REQUEST_LOG_SIZE = 5000
WATCH_POLL_SECONDS = 0.25
CONTROLLER_IDLE_SECONDS = 0.5
ROLLOUT_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
BEHAVIOUR_OUTCOMES = ("stall", "fail", "complete")

REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
           405: "MethodNotAllowed", 406: "NotAcceptable", 409: "Conflict", 410: "Expired",
           415: "UnsupportedMediaType", 422: "Invalid", 429: "TooManyRequests",
           500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout"}


def now_iso():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class ApiError(Exception):
    """Rendered as a metav1.Status with the matching HTTP code."""

    def __init__(self, code, message, reason=None, details=None):
        super().__init__(message)
        self.code = code
        self.reason = reason or REASONS.get(code, "Unknown")
        self.details = details

    def status(self):
        return status_object(self.code, self.reason, str(self), self.details)


def status_object(code, reason, message, details=None):
    obj = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code}
    if details:
        obj["details"] = details
    return obj


def not_found(res, name):
    return ApiError(404, '%s "%s" not found' % (res.qualified, name),
                    details={"name": name, "group": res.group, "kind": res.plural})


def conflict(res, name, why="the object has been modified; please apply your changes to the latest "
                           "version and try again"):
    return ApiError(409, 'Operation cannot be fulfilled on %s "%s": %s' % (res.qualified, name, why),
                    details={"name": name, "group": res.group, "kind": res.plural})


def invalid(res, name, field, message):
    kind = "%s.%s" % (res.kind, res.group) if res.group else res.kind
    return ApiError(422, '%s "%s" is invalid: %s: %s' % (kind, name, field, message),
                    details={"name": name, "group": res.group, "kind": res.kind,
                             "causes": [{"reason": "FieldValueInvalid", "message": message, "field": field}]})


def meta(obj):
    return obj.setdefault("metadata", {})


def prune_empty(value):
    """Drop nulls and empty maps/lists, recursively."""
    if isinstance(value, dict):
        pruned = {k: prune_empty(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [prune_empty(v) for v in value]
    return value


def spec_part(obj):
    """Everything except metadata/status: a change here bumps generation."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


# --------------------------------------------------------------------------
# Object store with a global resourceVersion and an event log for watches
# --------------------------------------------------------------------------

class Store:
    def __init__(self):
        self.cond = threading.Condition(threading.RLock())
        self.buckets = collections.defaultdict(dict)   # storage_key -> {(ns, name): obj}
        self.rv = 0
        # (rv, storage_key, type, obj, old_obj). Stored objects are never
        # mutated in place, so events can share them.
        self.events = collections.deque()
        self.compacted_rv = 0   # watches from an older RV get 410 Gone

    def get(self, res, ns, name):
        return self.buckets[res.storage_key].get((ns or "", name))

    def items(self, key, ns=None):
        bucket = self.buckets[key]
        return [bucket[k] for k in sorted(bucket) if ns is None or k[0] == ns]

    def write(self, res, obj, event_type, old=None):
        """Store (or remove, for DELETED) a fresh object and log the event."""
        self.rv += 1
        m = meta(obj)
        m["resourceVersion"] = str(self.rv)
        key = (m.get("namespace", ""), m["name"])
        if event_type == "DELETED":
            self.buckets[res.storage_key].pop(key, None)
        else:
            self.buckets[res.storage_key][key] = obj
        if len(self.events) >= EVENT_LOG_SIZE:
            self.compacted_rv = self.events.popleft()[0]
        self.events.append((self.rv, res.storage_key, event_type, obj, old))
        self.cond.notify_all()
        return obj

    def dump(self):
        return [obj for key in sorted(self.buckets) for obj in self.items(key)]


# --------------------------------------------------------------------------
# Policy for SelfSubjectAccessReview (and optional enforcement)
# --------------------------------------------------------------------------

class Policy:
    """Rules are checked in order; the first matching rule decides. Fields
    that are missing or contain "*" match anything. With no matching rule
    the default applies (allow unless {"default": "deny"})."""

    def __init__(self, doc=None):
        doc = doc if doc is not None else []
        if isinstance(doc, list):
            doc = {"rules": doc}
        self.rules = doc.get("rules", [])
        self.default_allow = str(doc.get("default", "allow")).lower() != "deny"
        self.enforce = bool(doc.get("enforce", False))

    def allows(self, verb, group, resource, subresource="", namespace="", name=""):
        full = "%s/%s" % (resource, subresource) if subresource else resource

        def matches(values, *candidates):
            return values is None or "*" in values or any(c in values for c in candidates)

        for rule in self.rules:
            if (matches(rule.get("verbs"), verb)
                    and matches(rule.get("groups", rule.get("apiGroups")), group)
                    and matches(rule.get("resources"), full)
                    and matches(rule.get("namespaces"), namespace)
                    and matches(rule.get("names", rule.get("resourceNames")), name)):
                allowed = bool(rule.get("allowed", True))
                return allowed, rule.get("reason", "matched emulator policy rule")
        return self.default_allow, "emulator policy default"


# --------------------------------------------------------------------------
# The emulator: API semantics on top of the store
# --------------------------------------------------------------------------

class Emulator:
    def __init__(self, policy=None, auto_rollout=False, controller=False, rollout_delay=1.0):
        self.store = Store()
        self.policy = policy or Policy()
        self.auto_rollout = auto_rollout
        self.controller = controller
        self.rollout_delay = float(rollout_delay)
        self.behaviours = []   # rollout-behaviour rules, in order
        self.rollouts = {}     # (kind, ns, name) -> the controller's rollout in progress
        self.controller_wake = threading.Event()
        self.faults = []
        self.faults_lock = threading.Lock()
        self.requests = collections.deque(maxlen=REQUEST_LOG_SIZE)
        self.next_cluster_ip = 10
        self.seed()

    # ---- seeding, reset, persistence -----------------------------------

    def seed(self):
        with self.store.cond:
            for obj in kr.seed_objects():
                res = self.resource_for_object(obj)
                self._prepare_new(res, obj)
                self.store.write(res, obj, "ADDED")

    def reset(self):
        with self.store.cond:
            for key in list(self.store.buckets):
                res = kr.preferred(*key)
                for obj in self.store.items(key):
                    self.store.write(res, copy.deepcopy(obj), "DELETED", obj)
            self.seed()
            self.behaviours.clear()
            self.rollouts.clear()
        with self.faults_lock:
            self.faults.clear()
        self.requests.clear()

    def resource_for_object(self, obj):
        group, _, version = obj.get("apiVersion", "").rpartition("/")
        for r in kr.RESOURCES:
            if r.group == group and r.version == version and r.kind == obj.get("kind"):
                return r
        raise ApiError(400, "no resource for %s %s" % (obj.get("apiVersion"), obj.get("kind")))

    def load_state(self, path):
        with open(path) as f:
            state = json.load(f)
        with self.store.cond:
            self.store.buckets.clear()
            for obj in state["objects"]:
                res = self.resource_for_object(obj)
                self.store.buckets[res.storage_key][(obj["metadata"].get("namespace", ""),
                                                     obj["metadata"]["name"])] = obj
            self.store.rv = int(state["resourceVersion"])
            self.next_cluster_ip = 10 + len(self.store.buckets[("", "services")])
            self.store.compacted_rv = self.store.rv   # no event history survives a restart

    def save_state(self, path):
        with self.store.cond:
            state = {"resourceVersion": str(self.store.rv), "objects": self.store.dump()}
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(state, f)
        os.replace(tmp, path)

    # ---- output ---------------------------------------------------------

    @staticmethod
    def render(res, obj):
        """Objects are returned in the version that was requested (HPAs are
        stored once but served as autoscaling/v1 and v2)."""
        out = dict(obj)
        out["apiVersion"] = res.group_version
        out["kind"] = res.kind
        return out

    # ---- reads ----------------------------------------------------------

    def get(self, res, ns, name):
        obj = self.store.get(res, ns, name)
        if obj is None:
            raise not_found(res, name)
        return obj

    def list(self, res, ns, params):
        labels, fields = self.selectors(params)
        with self.store.cond:
            items = [self.render(res, o) for o in self.store.items(res.storage_key, ns)
                     if self.selected(o, labels, fields)]
            rv = str(self.store.rv)
        return {"apiVersion": res.group_version, "kind": res.kind + "List",
                "metadata": {"resourceVersion": rv}, "items": items}

    @staticmethod
    def selectors(params):
        try:
            return (kp.parse_label_selector(params.get("labelSelector", "")),
                    kp.parse_field_selector(params.get("fieldSelector", "")))
        except kp.SelectorError as e:
            raise ApiError(400, str(e))

    @staticmethod
    def selected(obj, labels, fields):
        return kp.match_labels(labels, obj["metadata"].get("labels")) and kp.match_fields(fields, obj)

    # ---- writes ---------------------------------------------------------

    def _prepare_new(self, res, obj):
        m = meta(obj)
        m["uid"] = str(uuid.uuid4())
        m["creationTimestamp"] = now_iso()
        m["generation"] = 1
        for k in ("resourceVersion", "deletionTimestamp", "managedFields", "selfLink"):
            m.pop(k, None)
        self.normalize(res, obj, None)

    def create(self, res, ns, body, dry_run=False):
        if not isinstance(body, dict):
            raise ApiError(400, "the body of the request was not a JSON object")
        self.check_type(res, body)
        obj = copy.deepcopy(body)
        obj["apiVersion"], obj["kind"] = res.group_version, res.kind
        m = meta(obj)
        if not m.get("name") and m.get("generateName"):
            m["name"] = m["generateName"] + "".join(random.choices(string.ascii_lowercase + string.digits, k=5))
        name = m.get("name")
        if not name:
            raise invalid(res, "", "metadata.name", "Required value: name or generateName is required")
        if res.namespaced:
            if m.get("namespace") and m["namespace"] != ns:
                raise ApiError(400, "the namespace of the provided object does not match the namespace "
                                    "sent on the request")
            m["namespace"] = ns
        else:
            m.pop("namespace", None)
        with self.store.cond:
            if res.namespaced and self.store.get(kr.lookup("", "v1", "namespaces"), "", ns) is None:
                raise ApiError(404, 'namespaces "%s" not found' % ns,
                               details={"name": ns, "kind": "namespaces"})
            if self.store.get(res, ns, name) is not None:
                raise ApiError(409, '%s "%s" already exists' % (res.qualified, name), "AlreadyExists",
                               {"name": name, "group": res.group, "kind": res.plural})
            if res.has_status:
                # Status is owned by controllers: a create starts from scratch.
                obj["status"] = {}
            self._prepare_new(res, obj)
            self.validate(res, obj)
            if dry_run:
                return obj
            self.store.write(res, obj, "ADDED")
            self.after_write(res, obj, None)
            return obj

    def update(self, res, ns, name, body, dry_run=False, subresource=None, check_rv=True):
        """PUT semantics. `subresource` "status" takes only .status from body;
        the main resource keeps the stored .status for kinds that have a
        status subresource."""
        if not isinstance(body, dict):
            raise ApiError(400, "the body of the request was not a JSON object")
        self.check_type(res, body)
        with self.store.cond:
            old = self.get(res, ns, name)
            bm = body.get("metadata") or {}
            if bm.get("name") and bm["name"] != name:
                raise ApiError(400, "the name of the object (%s) does not match the name on the URL (%s)"
                               % (bm["name"], name))
            if res.namespaced and bm.get("namespace") and bm["namespace"] != ns:
                raise ApiError(400, "the namespace of the provided object does not match the namespace "
                                    "sent on the request")
            if check_rv and bm.get("resourceVersion") and bm["resourceVersion"] != old["metadata"]["resourceVersion"]:
                raise conflict(res, name)
            if subresource == "status":
                new = copy.deepcopy(old)
                new["status"] = copy.deepcopy(body.get("status", {}))
            else:
                new = copy.deepcopy(body)
                new["apiVersion"], new["kind"] = res.group_version, res.kind
                m = meta(new)
                for k in ("uid", "creationTimestamp", "generation", "deletionTimestamp"):
                    if k in old["metadata"]:
                        m[k] = old["metadata"][k]
                m["name"] = name
                if res.namespaced:
                    m["namespace"] = ns
                if res.has_status:
                    new["status"] = copy.deepcopy(old.get("status", {}))
                self.normalize(res, new, old)
                if spec_part(new) != spec_part(old):
                    m["generation"] = old["metadata"].get("generation", 1) + 1
                self.validate(res, new)
            meta(new).pop("resourceVersion", None)
            unchanged = dict(new, metadata=dict(new["metadata"], resourceVersion=None)) == \
                dict(old, metadata=dict(old["metadata"], resourceVersion=None))
            if unchanged:
                # A no-op write does not bump the resourceVersion.
                meta(new)["resourceVersion"] = old["metadata"]["resourceVersion"]
                return new
            if dry_run:
                meta(new)["resourceVersion"] = old["metadata"]["resourceVersion"]
                return new
            m = new["metadata"]
            if m.get("deletionTimestamp") and not m.get("finalizers"):
                # The last finalizer is gone: the pending delete completes.
                self.store.write(res, new, "DELETED", old)
                return new
            self.store.write(res, new, "MODIFIED", old)
            self.after_write(res, new, old)
            return new

    def patch(self, res, ns, name, content_type, body, params, subresource=None):
        dry_run = params.get("dryRun") == "All"
        try:
            patch = json.loads(body or b"null")
        except ValueError as e:
            if content_type == "application/apply-patch+yaml":
                # kubectl sends its apply configuration as JSON (valid YAML).
                raise ApiError(400, "kubeemu only accepts JSON-formatted apply patches: %s" % e)
            raise ApiError(400, "error decoding patch: %s" % e)
        with self.store.cond:
            old = self.store.get(res, ns, name)
            if content_type == "application/apply-patch+yaml":
                return self.server_side_apply(res, ns, name, old, patch, params)
            if old is None:
                raise not_found(res, name)
            base = self.render(res, old)
            try:
                if content_type == "application/merge-patch+json":
                    new = kp.json_merge_patch(base, patch)
                elif content_type == "application/json-patch+json":
                    new = kp.json_patch(base, patch)
                elif content_type == "application/strategic-merge-patch+json":
                    if res.custom:
                        raise ApiError(415, "strategic merge patch is not supported for custom resources; "
                                            "use --type=merge or --type=json")
                    new = kp.strategic_merge_patch(base, patch)
                else:
                    raise ApiError(415, "the body of the request was in an unknown format - accepted media "
                                        "types include: application/json-patch+json, application/merge-patch+json, "
                                        "application/apply-patch+yaml, application/strategic-merge-patch+json")
            except kp.PatchError as e:
                raise ApiError(e.code, str(e))
            if not isinstance(new, dict):
                raise ApiError(422, "patch did not produce an object")
            # A resourceVersion carried in the patch is an optimistic-lock precondition.
            rv = (new.get("metadata") or {}).get("resourceVersion")
            if rv and rv != old["metadata"]["resourceVersion"]:
                raise conflict(res, name)
            meta(new).pop("resourceVersion", None)
            return self.update(res, ns, name, new, dry_run, subresource, check_rv=False)

    def server_side_apply(self, res, ns, name, old, patch, params):
        """Server-side apply, simplified: create-or-merge. kubectl sends the
        applied configuration as JSON (which is valid YAML). Field ownership
        is not tracked, so fields dropped from the configuration are not
        removed."""
        dry_run = params.get("dryRun") == "All"
        if not params.get("fieldManager"):
            raise ApiError(400, "PATCH, application/apply-patch+yaml requires fieldManager to be set")
        if not isinstance(patch, dict):
            raise ApiError(400, "apply patch must be an object")
        if (patch.get("metadata") or {}).get("name", name) != name:
            raise ApiError(400, "the name of the object (%s) does not match the name on the URL (%s)"
                           % (patch["metadata"]["name"], name))
        if old is None:
            obj = copy.deepcopy(patch)
            meta(obj)["name"] = name
            return self.create(res, ns, obj, dry_run), 201
        merge = kp.json_merge_patch if res.custom else kp.strategic_merge_patch
        new = merge(self.render(res, old), patch)
        meta(new).pop("resourceVersion", None)
        return self.update(res, ns, name, new, dry_run, check_rv=False)

    def delete(self, res, ns, name, options, dry_run=False):
        with self.store.cond:
            obj = self.get(res, ns, name)
            pre = options.get("preconditions") or {}
            if pre.get("uid") and pre["uid"] != obj["metadata"]["uid"]:
                raise conflict(res, name, "Precondition failed: UID in precondition: %s, UID in object meta: %s"
                               % (pre["uid"], obj["metadata"]["uid"]))
            if pre.get("resourceVersion") and pre["resourceVersion"] != obj["metadata"]["resourceVersion"]:
                raise conflict(res, name)
            result = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                      "details": {"name": name, "group": res.group, "kind": res.plural,
                                  "uid": obj["metadata"]["uid"]}}
            if dry_run:
                return result
            if obj["metadata"].get("finalizers"):
                # Finalizers keep the object around, marked for deletion,
                # until whoever owns them removes them.
                if not obj["metadata"].get("deletionTimestamp"):
                    new = copy.deepcopy(obj)
                    new["metadata"]["deletionTimestamp"] = now_iso()
                    self.store.write(res, new, "MODIFIED", obj)
                    return new
                return obj
            self.remove_tree(res, obj, options.get("propagationPolicy") != "Orphan")
            return result

    def remove_tree(self, res, obj, cascade):
        """Delete an object; with cascade also everything it owns (via
        ownerReferences) and, for a Namespace, everything in it."""
        self.store.write(res, copy.deepcopy(obj), "DELETED", obj)
        if not cascade:
            return
        uid = obj["metadata"]["uid"]
        for key in list(self.store.buckets):
            child_res = kr.preferred(*key)
            for child in self.store.items(key):
                owned = any(ref.get("uid") == uid for ref in child["metadata"].get("ownerReferences", []))
                in_ns = res.kind == "Namespace" and child["metadata"].get("namespace") == obj["metadata"]["name"]
                if (owned or in_ns) and self.store.get(child_res, child["metadata"].get("namespace"),
                                                       child["metadata"]["name"]) is child:
                    self.remove_tree(child_res, child, True)

    def delete_collection(self, res, ns, params, options, dry_run=False):
        labels, fields = self.selectors(params)
        with self.store.cond:
            victims = [o for o in self.store.items(res.storage_key, ns) if self.selected(o, labels, fields)]
            for obj in victims:
                if not dry_run and self.store.get(res, obj["metadata"].get("namespace"),
                                                  obj["metadata"]["name"]) is obj:
                    self.remove_tree(res, obj, options.get("propagationPolicy") != "Orphan")
            return {"apiVersion": res.group_version, "kind": res.kind + "List",
                    "metadata": {"resourceVersion": str(self.store.rv)},
                    "items": [self.render(res, o) for o in victims]}

    # ---- scale subresource ---------------------------------------------

    @staticmethod
    def scale_of(res, obj):
        spec, status = obj.get("spec", {}), obj.get("status", {})
        sel = kp.selector_from_label_selector_object(spec.get("selector"))
        selector = ",".join("%s=%s" % (k, v[0]) if op == "=" else k for k, op, v in sel)
        m = obj["metadata"]
        return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {"name": m["name"], "namespace": m.get("namespace"), "uid": m["uid"],
                             "resourceVersion": m["resourceVersion"],
                             "creationTimestamp": m["creationTimestamp"]},
                "spec": {"replicas": spec.get("replicas", 1)},
                "status": {"replicas": status.get("replicas", 0), "selector": selector}}

    def write_scale(self, res, ns, name, method, content_type, body, params):
        dry_run = params.get("dryRun") == "All"
        with self.store.cond:
            old = self.get(res, ns, name)
            current = self.scale_of(res, old)
            try:
                data = json.loads(body or b"null")
            except ValueError as e:
                raise ApiError(400, "error decoding body: %s" % e)
            try:
                if method == "PUT":
                    scale = data
                elif content_type == "application/json-patch+json":
                    scale = kp.json_patch(current, data)
                elif content_type in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
                    scale = kp.json_merge_patch(current, data)
                else:
                    raise ApiError(415, "unsupported patch type %s for scale" % content_type)
            except kp.PatchError as e:
                raise ApiError(e.code, str(e))
            if not isinstance(scale, dict):
                raise ApiError(400, "a Scale must be a JSON object")
            rv = (scale.get("metadata") or {}).get("resourceVersion")
            if rv and rv != old["metadata"]["resourceVersion"]:
                raise conflict(res, name)
            replicas = (scale.get("spec") or {}).get("replicas")
            if not isinstance(replicas, int) or replicas < 0:
                raise invalid(res, name, "spec.replicas", "Invalid value: must be a non-negative integer")
            new = copy.deepcopy(old)
            new.setdefault("spec", {})["replicas"] = replicas
            return self.scale_of(res, self.update(res, ns, name, new, dry_run, check_rv=False))

    # ---- kind-specific behaviour -----------------------------------------

    def check_type(self, res, body):
        kind, api_version = body.get("kind"), body.get("apiVersion")
        if (kind and kind != res.kind) or (api_version and api_version != res.group_version):
            raise ApiError(400, "the object (%s, %s) does not match the resource it was sent to (%s, %s)"
                           % (api_version, kind, res.group_version, res.kind))

    def normalize(self, res, obj, old):
        """The handful of defaults and conversions the real apiserver applies
        that kubectl output and `rollout status` depend on."""
        spec = obj.setdefault("spec", {}) if res.kind in (
            "Deployment", "StatefulSet", "ReplicaSet", "Service", "DaemonSet") else obj.get("spec", {})
        m = obj["metadata"]
        if res.kind == "Secret":
            # stringData is write-only: merged into data, base64-encoded.
            string_data = obj.pop("stringData", None) or {}
            data = obj.setdefault("data", {}) if string_data or "data" in obj else None
            for k, v in string_data.items():
                data[k] = base64.b64encode(str(v).encode()).decode()
            obj.setdefault("type", "Opaque")
        elif res.kind == "Namespace":
            m.setdefault("labels", {})["kubernetes.io/metadata.name"] = m["name"]
            obj.setdefault("status", {}).setdefault("phase", "Active")
        elif res.kind == "Pod" and old is None:
            obj.setdefault("status", {}).setdefault("phase", "Pending")
        elif res.kind == "Service":
            spec.setdefault("type", "ClusterIP")
            spec.setdefault("sessionAffinity", "None")
            for port in spec.get("ports", []) or []:
                port.setdefault("protocol", "TCP")
                port.setdefault("targetPort", port.get("port"))
            if spec["type"] != "ExternalName" and not spec.get("clusterIP"):
                if old and old.get("spec", {}).get("clusterIP"):
                    spec["clusterIP"] = old["spec"]["clusterIP"]
                else:
                    self.next_cluster_ip += 1
                    spec["clusterIP"] = "10.96.%d.%d" % divmod(self.next_cluster_ip, 250)
                spec["clusterIPs"] = [spec["clusterIP"]]
        if res.kind in ("Deployment", "StatefulSet", "ReplicaSet", "DaemonSet", "Job", "Pod"):
            pod_spec = obj.get("spec", {}) if res.kind == "Pod" else (spec.get("template") or {}).get("spec") or {}
            for c in (pod_spec.get("containers") or []) + (pod_spec.get("initContainers") or []):
                for port in c.get("ports") or []:
                    port.setdefault("protocol", "TCP")
        if res.kind in ("Deployment", "StatefulSet", "ReplicaSet"):
            spec.setdefault("replicas", 1)
            if res.kind != "ReplicaSet":
                spec.setdefault("revisionHistoryLimit", 10)
            if res.kind == "Deployment":
                spec.setdefault("progressDeadlineSeconds", 600)
                spec.setdefault("strategy", {"type": "RollingUpdate",
                                             "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}})
            if res.kind == "StatefulSet":
                # rollout status refuses anything but RollingUpdate, the default.
                spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
                spec.setdefault("podManagementPolicy", "OrderedReady")
        if res.kind == "DaemonSet":
            spec.setdefault("revisionHistoryLimit", 10)
            spec.setdefault("updateStrategy", {"type": "RollingUpdate",
                                               "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})

    def validate(self, res, obj):
        name = obj["metadata"]["name"]
        ok = set(string.ascii_lowercase + string.digits + "-.")
        if len(name) > 253 or not set(name) <= ok or not name[0].isalnum() or not name[-1].isalnum():
            raise invalid(res, name, "metadata.name",
                          'Invalid value: "%s": a lowercase RFC 1123 subdomain must consist of lower case '
                          "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric "
                          "character" % name)
        if res.kind in ("Deployment", "StatefulSet", "ReplicaSet", "DaemonSet"):
            spec = obj.get("spec", {})
            if not spec.get("selector"):
                raise invalid(res, name, "spec.selector", "Required value")
            reqs = kp.selector_from_label_selector_object(spec["selector"])
            labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
            if not kp.match_labels(reqs, labels):
                raise invalid(res, name, "spec.template.metadata.labels",
                              "Invalid value: %s: `selector` does not match template `labels`" % json.dumps(labels))

    def after_write(self, res, obj, old):
        if res.kind not in ROLLOUT_KINDS:
            return
        if old is not None and obj["metadata"].get("generation") == old["metadata"].get("generation"):
            return
        if self.controller:
            self._controller_observe(res, obj, old)
        elif self.auto_rollout:
            self.rollout({"namespace": obj["metadata"].get("namespace"),
                          "name": obj["metadata"]["name"], "kind": res.kind, "outcome": "complete"})

    # ---- access reviews -------------------------------------------------

    def access_review(self, res, body):
        spec = body.get("spec") or {}
        out = {"apiVersion": res.group_version, "kind": res.kind,
               "metadata": dict(body.get("metadata") or {}, creationTimestamp=None), "spec": spec}
        if res.kind == "SelfSubjectAccessReview":
            ra = spec.get("resourceAttributes")
            if ra is not None:
                allowed, reason = self.policy.allows(ra.get("verb", ""), ra.get("group", ""),
                                                     ra.get("resource", ""), ra.get("subresource", ""),
                                                     ra.get("namespace", ""), ra.get("name", ""))
            else:
                allowed, reason = True, "non-resource URLs are always allowed by the emulator"
            out["status"] = {"allowed": allowed, "reason": reason}
            if not allowed:
                out["status"]["denied"] = True
        else:
            ns = spec.get("namespace", "")
            rules = [{"verbs": r.get("verbs", ["*"]), "apiGroups": r.get("groups", r.get("apiGroups", ["*"])),
                      "resources": r.get("resources", ["*"])}
                     for r in self.policy.rules if r.get("allowed", True)
                     and (r.get("namespaces") is None or ns in r["namespaces"] or "*" in r["namespaces"])]
            if self.policy.default_allow:
                rules.append({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]})
            out["status"] = {"resourceRules": rules, "nonResourceRules": [{"verbs": ["*"],
                                                                           "nonResourceURLs": ["*"]}],
                             "incomplete": False}
        return out

    # ---- rollouts (the controller stand-in) ------------------------------

    def rollout(self, req):
        kind = req.get("kind", "Deployment")
        outcome = req.get("outcome", "complete")
        if outcome not in ("complete", "progressing", "failed"):
            raise ApiError(400, "outcome must be complete, progressing or failed")
        if kind not in ROLLOUT_KINDS:
            raise ApiError(400, "kind must be one of %s" % ", ".join(ROLLOUT_KINDS))
        res = kr.lookup("apps", "v1", kind.lower() + "s")
        with self.store.cond:
            obj = self.get(res, req.get("namespace") or "default", req["name"])
            # A test driving this object by hand takes over its current
            # rollout: the controller schedules nothing more for it.
            state = self.rollouts.get((kind, obj["metadata"]["namespace"], obj["metadata"]["name"]))
            if state is not None:
                state.update(phase=outcome, then=None, due=None)
            return self._rollout_handler(kind)(res, obj, outcome, req.get("ready"))

    def _rollout_handler(self, kind):
        return {"Deployment": self._rollout_deployment, "StatefulSet": self._rollout_statefulset,
                "DaemonSet": self._rollout_daemonset}[kind]

    # ---- the controller ------------------------------------------------
    #
    # With `controller` on, a create or a pod-template change of a workload
    # starts a rollout at once (the next ReplicaSet or ControllerRevision,
    # status "progressing", new pods not yet ready) and a background thread
    # finishes it `rollout_delay` seconds later through the same handlers as
    # /_emulator/rollout. Rollout behaviours (stall, fail) change how the next
    # rollouts of one object end. All of this state is guarded by store.cond,
    # like the objects themselves.

    def set_controller(self, on):
        with self.store.cond:
            self.controller = bool(on)
            if not self.controller:
                self.rollouts.clear()
        self.controller_wake.set()

    def add_behaviour(self, body):
        rule = {"namespace": body.get("namespace") or "default", "kind": body.get("kind", "Deployment"),
                "name": body.get("name"), "outcome": body.get("outcome"), "count": body.get("count", 1)}
        if not rule["name"]:
            raise ApiError(400, "rollout-behaviour needs name")
        if rule["kind"] not in ROLLOUT_KINDS:
            raise ApiError(400, "kind must be one of %s" % ", ".join(ROLLOUT_KINDS))
        if rule["outcome"] not in BEHAVIOUR_OUTCOMES:
            raise ApiError(400, "outcome must be one of %s" % ", ".join(BEHAVIOUR_OUTCOMES))
        if not isinstance(rule["count"], int) or isinstance(rule["count"], bool) or rule["count"] < -1:
            raise ApiError(400, "count must be a whole number, -1 for forever")
        if body.get("deadlineSeconds") is not None:
            deadline = body["deadlineSeconds"]
            if not isinstance(deadline, (int, float)) or isinstance(deadline, bool) or deadline < 0:
                raise ApiError(400, "deadlineSeconds must be a non-negative number")
            rule["deadlineSeconds"] = deadline
        with self.store.cond:
            self.behaviours.append(rule)
        return rule

    def _take_behaviour(self, kind, ns, name):
        for rule in self.behaviours:
            if rule["count"] != 0 and (rule["kind"], rule["namespace"], rule["name"]) == (kind, ns, name):
                if rule["count"] > 0:
                    rule["count"] -= 1
                return rule
        return None

    def _controller_observe(self, res, obj, old):
        """A workload was created or its spec changed (called under the lock)."""
        m = obj["metadata"]
        key = (res.kind, m["namespace"], m["name"])
        state = self.rollouts.get(key)
        template_changed = old is None or (self.comparable_template(old["spec"].get("template")) !=
                                           self.comparable_template(obj["spec"].get("template")))
        if state is not None and state["uid"] == m["uid"] and not template_changed:
            # Only spec.replicas (or the like) changed: no new revision; the
            # current phase is written again for the new generation.
            return self._controller_write(res, obj, state["phase"])
        rule = self._take_behaviour(*key)
        outcome = rule["outcome"] if rule else "complete"
        now = time.monotonic()
        state = {"uid": m["uid"], "outcome": outcome, "phase": "progressing", "started": now,
                 "then": "failed" if outcome in ("fail", "stall") else "complete",
                 "due": now + self.rollout_delay}
        if outcome == "stall":
            if res.kind == "Deployment":
                # As the deployment controller: no progress for the deadline
                # means Progressing=False, ProgressDeadlineExceeded.
                deadline = rule.get("deadlineSeconds")
                if deadline is None:
                    deadline = obj["spec"].get("progressDeadlineSeconds", 600)
                state["due"] = now + deadline
            else:
                state.update(then=None, due=None)   # no deadline: unready for ever
        self.rollouts[key] = state
        self._controller_write(res, obj, "progressing")
        self.controller_wake.set()

    def _controller_write(self, res, obj, phase):
        """Write the status of one phase. Until complete, the pods of the new
        template are not ready (a re-used ReplicaSet keeps the ready pods it
        has), so the old ReplicaSets keep serving."""
        if phase == "complete":
            return self._rollout_handler(res.kind)(res, obj, "complete", None)
        ready = 0
        if res.kind == "Deployment":
            current = self._matching_rs(obj)
            ready = ((current or {}).get("status") or {}).get("readyReplicas", 0)
        return self._rollout_handler(res.kind)(res, obj, phase, ready)

    def _controller_step(self):
        """Finish the rollouts that are due; returns seconds until the next one."""
        with self.store.cond:
            if not self.controller:
                return None
            now = time.monotonic()
            wait = None
            for key, state in list(self.rollouts.items()):
                if state["due"] is None:
                    continue
                if state["due"] > now:
                    wait = min(wait if wait is not None else 1e9, state["due"] - now)
                    continue
                res = kr.lookup("apps", "v1", key[0].lower() + "s")
                obj = self.store.get(res, key[1], key[2])
                if obj is None or obj["metadata"]["uid"] != state["uid"]:
                    del self.rollouts[key]
                    continue
                state.update(phase=state["then"], then=None, due=None)
                self._controller_write(res, obj, state["phase"])
            return wait

    def run_controller(self, stopping):
        while not stopping.is_set():
            self.controller_wake.clear()
            wait = self._controller_step()
            self.controller_wake.wait(CONTROLLER_IDLE_SECONDS if wait is None
                                      else min(wait, CONTROLLER_IDLE_SECONDS))

    def start_controller(self, stopping):
        """The controller thread (a daemon: it never delays the exit)."""
        thread = threading.Thread(target=self.run_controller, args=(stopping,), name="controller",
                                  daemon=True)
        thread.start()
        return thread

    def _write_status(self, res, obj, status, annotations=None):
        new = copy.deepcopy(obj)
        new["status"] = status
        if annotations:
            new["metadata"].setdefault("annotations", {}).update(annotations)
        return self.store.write(res, new, "MODIFIED", obj)

    @staticmethod
    def template_hash(template):
        """Like the controller's pod-template-hash: fnv32a of the template,
        decimal digits mapped onto the 'safe' alphabet."""
        h = 0x811c9dc5
        for byte in json.dumps(prune_empty(template), sort_keys=True).encode():
            h = ((h ^ byte) * 0x01000193) & 0xffffffff
        alphabet = "bcdfghjklmnpqrstvwxz2456789"
        return "".join(alphabet[int(d) % len(alphabet)] for d in str(h))

    def _owned(self, key, ns, uid):
        return [o for o in self.store.items(key, ns)
                if any(r.get("uid") == uid and r.get("controller") for r in o["metadata"].get("ownerReferences", []))]

    @staticmethod
    def _owner_ref(res, obj):
        return {"apiVersion": res.group_version, "kind": res.kind, "name": obj["metadata"]["name"],
                "uid": obj["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}

    @staticmethod
    def comparable_template(t):
        """A pod template as the controllers compare it. Typed clients
        (rollout undo) round-trip templates through Go structs, adding
        `creationTimestamp: null` and `resources: {}`; the controller compares
        typed values, so empty == absent. The pod-template-hash label is the
        controller's own."""
        t = copy.deepcopy(t or {})
        ((t.get("metadata") or {}).get("labels") or {}).pop("pod-template-hash", None)
        return prune_empty(t)

    def _matching_rs(self, dep):
        """The ReplicaSet of `dep` whose template is the Deployment's current one."""
        rs_res = kr.lookup("apps", "v1", "replicasets")
        template = self.comparable_template(dep["spec"].get("template"))
        return next((rs for rs in self._owned(rs_res.storage_key, dep["metadata"]["namespace"],
                                              dep["metadata"]["uid"])
                     if self.comparable_template(rs["spec"].get("template")) == template), None)

    def _rollout_deployment(self, res, dep, outcome, ready):
        rs_res = kr.lookup("apps", "v1", "replicasets")
        ns, name = dep["metadata"]["namespace"], dep["metadata"]["name"]
        replicas = dep["spec"].get("replicas", 1)
        template = dep["spec"].get("template", {})
        owned = self._owned(rs_res.storage_key, ns, dep["metadata"]["uid"])

        def revision(rs):
            return int((rs["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision", "0"))

        max_rev = max([revision(rs) for rs in owned] or [0])
        current = self._matching_rs(dep)
        # Re-using an old ReplicaSet (rollout undo) gives it a new, highest revision.
        rev = revision(current) if current is not None and revision(current) == max_rev else max_rev + 1
        if ready is None:
            ready = replicas if outcome == "complete" else (max(replicas - 1, 0) if outcome == "progressing" else 0)
        ready = min(int(ready), replicas)
        annotations = {"deployment.kubernetes.io/revision": str(rev),
                       "deployment.kubernetes.io/desired-replicas": str(replicas),
                       "deployment.kubernetes.io/max-replicas": str(replicas + 1)}
        cause = (dep["metadata"].get("annotations") or {}).get("kubernetes.io/change-cause")
        if cause:
            annotations["kubernetes.io/change-cause"] = cause
        if current is None:
            h = self.template_hash(template)
            rs_template = copy.deepcopy(template)
            rs_template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = h
            selector = copy.deepcopy(dep["spec"]["selector"])
            selector.setdefault("matchLabels", {})["pod-template-hash"] = h
            current = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                       "metadata": {"name": "%s-%s" % (name, h), "namespace": ns,
                                    "labels": dict(rs_template["metadata"]["labels"]),
                                    "annotations": annotations, "ownerReferences": [self._owner_ref(res, dep)]},
                       "spec": {"replicas": replicas, "selector": selector, "template": rs_template},
                       "status": {}}
            self._prepare_new(rs_res, current)
            current = self.store.write(rs_res, current, "ADDED")
        new_rs = copy.deepcopy(current)
        new_rs["metadata"].setdefault("annotations", {}).update(annotations)
        new_rs["spec"]["replicas"] = replicas
        new_rs["status"] = {"replicas": replicas if outcome == "complete" else ready, "readyReplicas": ready,
                            "availableReplicas": ready, "fullyLabeledReplicas": ready,
                            "observedGeneration": new_rs["metadata"].get("generation", 1)}
        current = self.store.write(rs_res, new_rs, "MODIFIED", current)

        # Old ReplicaSets: gone when complete, still carrying the remainder
        # otherwise; an old pod that was never ready (a stalled rollout that
        # was replaced) does not become ready by being kept.
        old_total = old_ready = 0
        for rs in self._owned(rs_res.storage_key, ns, dep["metadata"]["uid"]):
            if rs["metadata"]["uid"] == current["metadata"]["uid"]:
                continue
            keep = 0 if outcome == "complete" else min(rs["spec"].get("replicas", 0), replicas - ready)
            keep_ready = min(keep, (rs.get("status") or {}).get("readyReplicas", 0))
            old_total += keep
            old_ready += keep_ready
            upd = copy.deepcopy(rs)
            upd["spec"]["replicas"] = keep
            upd["status"] = {"replicas": keep, "readyReplicas": keep_ready, "availableReplicas": keep_ready,
                             "observedGeneration": rs["metadata"].get("generation", 1)}
            self.store.write(rs_res, upd, "MODIFIED", rs)
            self._sync_pods(rs_res, upd, keep, keep_ready)
        self._sync_pods(rs_res, current, ready, ready)

        ts = now_iso()
        rs_name = current["metadata"]["name"]
        available = ready + old_ready
        if outcome == "complete":
            progressing = {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                           "message": 'ReplicaSet "%s" has successfully progressed.' % rs_name}
        elif outcome == "progressing":
            progressing = {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                           "message": 'ReplicaSet "%s" is progressing.' % rs_name}
        else:
            progressing = {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                           "message": 'ReplicaSet "%s" has timed out progressing.' % rs_name}
        min_available = replicas - (replicas // 4)
        available_cond = {"type": "Available", "status": "True" if available >= min_available else "False",
                          "reason": "MinimumReplicasAvailable" if available >= min_available
                          else "MinimumReplicasUnavailable",
                          "message": "Deployment has minimum availability." if available >= min_available
                          else "Deployment does not have minimum availability."}
        for cond in (progressing, available_cond):
            cond.update(lastUpdateTime=ts, lastTransitionTime=ts)
        status = {"observedGeneration": dep["metadata"].get("generation", 1),
                  "replicas": ready + old_total if outcome != "complete" else replicas,
                  "updatedReplicas": replicas if outcome == "complete" else ready,
                  "readyReplicas": available, "availableReplicas": available,
                  "conditions": [available_cond, progressing]}
        if replicas - available > 0:
            status["unavailableReplicas"] = replicas - available
        dep = self.get(res, ns, name)
        return self._write_status(res, dep, status, {"deployment.kubernetes.io/revision": str(rev)})

    def _rollout_statefulset(self, res, sts, outcome, ready):
        ns, name = sts["metadata"]["namespace"], sts["metadata"]["name"]
        replicas = sts["spec"].get("replicas", 1)
        template = sts["spec"].get("template", {})
        update_rev = "%s-%s" % (name, self.template_hash(template))
        if ready is None:
            ready = replicas if outcome == "complete" else (max(replicas - 1, 0) if outcome == "progressing" else 0)
        ready = min(int(ready), replicas)

        # ControllerRevisions back `kubectl rollout history/undo statefulset`.
        cr_res = kr.lookup("apps", "v1", "controllerrevisions")
        revisions = self._owned(cr_res.storage_key, ns, sts["metadata"]["uid"])
        top = max([c.get("revision", 0) for c in revisions] or [0])
        reused = next((cr for cr in revisions if cr["metadata"]["name"] == update_rev), None)
        if reused is not None and reused.get("revision", 0) != top:
            # Back to an older template (rollout undo): as in a real cluster,
            # its ControllerRevision is re-used with the next revision number.
            self.store.write(cr_res, dict(copy.deepcopy(reused), revision=top + 1), "MODIFIED", reused)
        if reused is None:
            cr = {"apiVersion": "apps/v1", "kind": "ControllerRevision",
                  "metadata": {"name": update_rev, "namespace": ns,
                               "labels": dict((template.get("metadata") or {}).get("labels") or {},
                                              **{"controller.kubernetes.io/hash": update_rev.rsplit("-", 1)[1]}),
                               "ownerReferences": [self._owner_ref(res, sts)]},
                  "data": {"spec": {"template": dict(copy.deepcopy(template), **{"$patch": "replace"})}},
                  "revision": max([c.get("revision", 0) for c in revisions] or [0]) + 1}
            self._prepare_new(cr_res, cr)
            self.store.write(cr_res, cr, "ADDED")

        old_status = sts.get("status") or {}
        current_rev = update_rev if outcome == "complete" else old_status.get("currentRevision", update_rev)
        status = {"observedGeneration": sts["metadata"].get("generation", 1), "replicas": replicas,
                  "readyReplicas": ready, "availableReplicas": ready,
                  "currentReplicas": replicas if outcome == "complete" else replicas - ready,
                  "updatedReplicas": replicas if outcome == "complete" else ready,
                  "currentRevision": current_rev, "updateRevision": update_rev, "collisionCount": 0}
        pod_labels = {"controller-revision-hash": update_rev}
        self._sync_pods(res, sts, replicas, ready, ordinal=True, extra_labels=pod_labels)
        return self._write_status(res, sts, status)

    def _rollout_daemonset(self, res, ds, outcome, ready):
        nodes = len(self.store.items(("", "nodes")))
        if ready is None:
            ready = nodes if outcome == "complete" else max(nodes - 1, 0)
        status = {"observedGeneration": ds["metadata"].get("generation", 1), "desiredNumberScheduled": nodes,
                  "currentNumberScheduled": nodes, "numberReady": ready, "numberAvailable": ready,
                  "updatedNumberScheduled": nodes if outcome == "complete" else ready, "numberMisscheduled": 0}
        if nodes - ready:
            status["numberUnavailable"] = nodes - ready
        self._sync_pods(res, ds, nodes, ready)
        return self._write_status(res, ds, status)

    def _sync_pods(self, owner_res, owner, count, ready, ordinal=False, extra_labels=None):
        """Make `owner` control exactly `count` Pods, the first `ready` of
        them Running and Ready."""
        pod_res = kr.lookup("", "v1", "pods")
        ns = owner["metadata"]["namespace"]
        pods = self._owned(pod_res.storage_key, ns, owner["metadata"]["uid"])
        template = owner["spec"].get("template") or {}
        labels = dict((template.get("metadata") or {}).get("labels") or {}, **(extra_labels or {}))
        for pod in pods[count:]:
            self.store.write(pod_res, copy.deepcopy(pod), "DELETED", pod)
        pods = pods[:count]
        if ordinal:
            # StatefulSet pods are recreated for the new revision.
            for pod in pods:
                self.store.write(pod_res, copy.deepcopy(pod), "DELETED", pod)
            pods = []
        existing = {p["metadata"]["name"] for p in pods}
        for i in range(count):
            if i < len(pods):
                old = pods[i]
                pod = copy.deepcopy(old)
            else:
                old = None
                if ordinal:
                    pod_name = "%s-%d" % (owner["metadata"]["name"], i)
                else:
                    while True:
                        pod_name = "%s-%s" % (owner["metadata"]["name"],
                                              "".join(random.choices("bcdfghjklmnpqrstvwxz2456789", k=5)))
                        if pod_name not in existing:
                            break
                existing.add(pod_name)
                pod_labels = dict(labels)
                if ordinal:
                    pod_labels["statefulset.kubernetes.io/pod-name"] = pod_name
                pod = {"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": pod_name, "namespace": ns, "labels": pod_labels,
                                    "ownerReferences": [self._owner_ref(owner_res, owner)]},
                       "spec": dict(copy.deepcopy(template.get("spec") or {}), nodeName="node-%d" % (i % 3 + 1))}
                self._prepare_new(pod_res, pod)
            is_ready = i < ready
            ts = now_iso()
            pod["status"] = {
                "phase": "Running" if is_ready else "Pending", "startTime": ts,
                "hostIP": "10.0.0.%d" % (11 + i % 3), "podIP": "10.244.%d.%d" % (i % 3 + 1, 10 + i),
                "conditions": [{"type": t, "status": "True" if is_ready or t == "PodScheduled" else "False",
                                "lastTransitionTime": ts}
                               for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")],
                "containerStatuses": [
                    {"name": c.get("name"), "image": c.get("image"), "ready": is_ready, "started": is_ready,
                     "restartCount": 0,
                     "state": {"running": {"startedAt": ts}} if is_ready else
                     {"waiting": {"reason": "ContainerCreating"}}}
                    for c in (template.get("spec") or {}).get("containers", [])]}
            self.store.write(pod_res, pod, "ADDED" if old is None else "MODIFIED", old)

    # ---- fault injection ---------------------------------------------------

    def add_fault(self, rule):
        if not rule.get("pathPrefix"):
            raise ApiError(400, "fault rule needs pathPrefix")
        rule = dict(rule)
        rule.setdefault("count", 1)
        with self.faults_lock:
            self.faults.append(rule)
        return rule

    def take_fault(self, method, path, dry_run=False):
        # "dryRun": false fails only real writes, so a client's `kubectl diff` (a dry-run
        # PATCH) passes and its apply fails; true only dry runs; absent both.
        with self.faults_lock:
            for rule in self.faults:
                if rule["count"] != 0 and path.startswith(rule["pathPrefix"]) and \
                        rule.get("method", "*").upper() in ("*", method) and \
                        rule.get("dryRun", dry_run) == dry_run:
                    if rule["count"] > 0:
                        rule["count"] -= 1
                    return dict(rule)
        return None


# --------------------------------------------------------------------------
# HTTP layer
# --------------------------------------------------------------------------

def write_kubeconfig(path, server, context="luminate-local", namespace="luminate"):
    text = """apiVersion: v1
kind: Config
clusters:
- name: {ctx}
  cluster:
    server: {server}
contexts:
- name: {ctx}
  context:
    cluster: {ctx}
    user: {ctx}
    namespace: {ns}
current-context: {ctx}
users:
- name: {ctx}
  user:
    token: kubeemu-token
""".format(ctx=context, server=server, ns=namespace)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kubeemu/1"
    # Headers and body go out in separate writes; with Nagle on, the
    # client's delayed ACK stalls every keep-alive response by ~40ms.
    disable_nagle_algorithm = True

    @property
    def emu(self):
        return self.server.emu

    def log_message(self, fmt, *args):  # silence the default stderr log
        pass

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    # ---- plumbing -------------------------------------------------------

    def dispatch(self):
        start = time.monotonic()
        self.status_code = 0
        url = urlsplit(self.path)
        self.url_path = unquote(url.path)
        self.params = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length) if length else b""
        # Recorded before handling so tests can see in-flight watches.
        record = {"method": self.command, "path": self.url_path, "query": self.params, "status": None,
                  "contentType": self.headers.get("Content-Type", "")}
        if not self.url_path.startswith("/_emulator/"):
            self.emu.requests.append(record)
        try:
            if not self.url_path.startswith("/_emulator/"):
                self.inject_fault()
            self.route()
        except ApiError as e:
            self.send_json(e.code, e.status())
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as e:  # noqa: BLE001 -- report, never kill the server
            traceback.print_exc()
            self.send_json(500, status_object(500, "InternalError", "kubeemu internal error: %r" % e))
        finally:
            elapsed = (time.monotonic() - start) * 1000
            record["status"] = self.status_code
            log = self.server.log_file
            if log:
                with self.server.log_lock:
                    log.write("%s %s %s %d %.1fms\n" % (now_iso(), self.command, self.path,
                                                        self.status_code, elapsed))
                    log.flush()

    def send_json(self, code, obj, content_type="application/json"):
        body = json.dumps(obj).encode()
        self.status_code = code
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_text(self, code, text):
        body = text.encode()
        self.status_code = code
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def json_body(self):
        ctype = self.headers.get("Content-Type", "application/json").split(";")[0].strip()
        if "protobuf" in ctype:
            # kubectl's typed generators (create deployment/secret, auth can-i)
            # send protobuf; the emulator only speaks JSON.
            raise ApiError(415, "kubeemu only accepts JSON request bodies (got %s); use `kubectl apply/create "
                                "-f` with a manifest instead of generator commands" % ctype)
        if ctype not in ("application/json", "", "*/*"):
            raise ApiError(415, "unsupported media type %s: kubeemu accepts application/json" % ctype)
        try:
            return json.loads(self.body or b"{}")
        except ValueError as e:
            raise ApiError(400, "error decoding request body as JSON: %s" % e)

    def inject_fault(self):
        rule = self.emu.take_fault(self.command, self.url_path, self.params.get("dryRun") == "All")
        if not rule:
            return
        if rule.get("delaySeconds"):
            time.sleep(float(rule["delaySeconds"]))
        if rule.get("status"):
            code = int(rule["status"])
            reason = rule.get("reason") or REASONS.get(code, "Unknown")
            raise ApiError(code, rule.get("message") or "injected fault (%d %s)" % (code, reason), reason)

    # ---- routing -------------------------------------------------------

    def route(self):
        path, method = self.url_path.rstrip("/") or "/", self.command
        if path.startswith("/_emulator/"):
            return self.control(path[len("/_emulator/"):], method)
        static = {
            "/version": lambda: kr.version_info(),
            "/api": lambda: kr.api_versions("%s:%d" % self.server.server_address[:2]),
            "/apis": lambda: kr.api_group_list(),
            "/openapi/v3": lambda: kr.openapi_index(),
        }
        if path in static and method in ("GET", "HEAD"):
            return self.send_json(200, static[path]())
        if path in ("/healthz", "/livez", "/readyz"):
            return self.send_text(200, "ok")
        if path.startswith("/openapi/v3/"):
            parts = path[len("/openapi/v3/"):].split("/")
            group, version = ("", parts[1]) if parts[0] == "api" and len(parts) == 2 else \
                (parts[1], parts[2]) if parts[0] == "apis" and len(parts) == 3 else (None, None)
            if version and version in kr.GROUP_VERSIONS.get(group, []):
                return self.send_json(200, kr.openapi_document(group, version))
            raise ApiError(404, "the server could not find the requested resource")

        segs = path.strip("/").split("/")
        if segs[0] == "api" and len(segs) >= 2:
            group, version, rest = "", segs[1], segs[2:]
        elif segs[0] == "apis" and len(segs) >= 3:
            group, version, rest = segs[1], segs[2], segs[3:]
        elif segs[0] == "apis" and len(segs) == 2 and segs[1] in kr.GROUP_VERSIONS:
            group_list = kr.api_group_list()["groups"]
            return self.send_json(200, dict(next(g for g in group_list if g["name"] == segs[1]),
                                            kind="APIGroup", apiVersion="v1"))
        else:
            raise ApiError(404, "the server could not find the requested resource")
        if version not in kr.GROUP_VERSIONS.get(group, []):
            raise ApiError(404, "the server could not find the requested resource")
        if not rest:
            return self.send_json(200, kr.api_resource_list(group, version))

        ns = name = sub = None
        nested = kr.lookup(group, version, rest[2]) if rest[0] == "namespaces" and len(rest) >= 3 else None
        if nested is not None and nested.namespaced:
            ns, rest = rest[1], rest[2:]
        if len(rest) > 3:
            raise ApiError(404, "the server could not find the requested resource")
        res = kr.lookup(group, version, rest[0])
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if res is None or (res.namespaced and name and ns is None) or (not res.namespaced and ns is not None):
            raise ApiError(404, "the server could not find the requested resource")
        if sub and sub not in res.subresources:
            raise ApiError(404, "the server could not find the requested resource")
        self.authorize(res, method, ns, name, sub)
        return self.resource(res, method, ns, name, sub)

    def authorize(self, res, method, ns, name, sub):
        policy = self.emu.policy
        if not policy.enforce or res.group == "authorization.k8s.io":
            return
        verb = {"POST": "create", "PUT": "update", "PATCH": "patch",
                "DELETE": "delete" if name else "deletecollection"}.get(method)
        if verb is None:
            verb = "get" if name else ("watch" if self.params.get("watch") in ("true", "1") else "list")
        allowed, _ = policy.allows(verb, res.group, res.plural, sub or "", ns or "", name or "")
        if not allowed:
            target = ('%s "%s"' % (res.qualified, name)) if name else res.qualified
            scope = ' in the namespace "%s"' % ns if ns else " at the cluster scope"
            raise ApiError(403, '%s is forbidden: User "kubeemu" cannot %s resource "%s%s" in API group "%s"%s'
                           % (target, verb, res.plural, "/" + sub if sub else "", res.group, scope),
                           details={"name": name or "", "group": res.group, "kind": res.plural})

    def resource(self, res, method, ns, name, sub):
        emu, params = self.emu, self.params
        dry_run = params.get("dryRun") == "All"
        if "create" in res.verbs and "get" not in res.verbs:   # access reviews
            if method != "POST" or name:
                raise ApiError(405, "the server does not allow this method on the requested resource")
            return self.send_json(201, emu.access_review(res, self.json_body()))
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip()

        if name is None:
            if method in ("GET", "HEAD"):
                if params.get("watch") in ("true", "1"):
                    return self.watch(res, ns)
                listing = emu.list(res, ns, params)
                if self.wants_table():
                    return self.send_json(200, kr.table(res.kind, listing["items"],
                                                        listing["metadata"]["resourceVersion"], time.time()))
                return self.send_json(200, listing)
            if method == "POST":
                if res.namespaced and ns is None:
                    raise ApiError(404, "the server could not find the requested resource")
                return self.send_json(201, emu.render(res, emu.create(res, ns, self.json_body(), dry_run)))
            if method == "DELETE":
                opts = self.json_body() if self.body else {}
                return self.send_json(200, emu.delete_collection(
                    res, ns, params, opts, dry_run or "All" in (opts.get("dryRun") or [])))
        elif sub == "scale":
            if method == "GET":
                return self.send_json(200, emu.scale_of(res, emu.get(res, ns, name)))
            if method in ("PUT", "PATCH"):
                if method == "PUT":
                    self.json_body()  # rejects non-JSON media types
                return self.send_json(200, emu.write_scale(res, ns, name, method, ctype, self.body, params))
        elif sub == "log":
            if method == "GET":
                pod = emu.get(res, ns, name)
                text = (pod["metadata"].get("annotations") or {}).get("kubeemu/log", "")
                return self.send_text(200, text)
        elif sub in (None, "status", "finalize"):
            status_only = sub == "status"
            if method in ("GET", "HEAD"):
                obj = emu.get(res, ns, name)
                if self.wants_table() and not status_only:
                    return self.send_json(200, kr.table(res.kind, [obj], obj["metadata"]["resourceVersion"],
                                                        time.time()))
                return self.send_json(200, emu.render(res, obj))
            if method == "PUT":
                obj = emu.update(res, ns, name, self.json_body(), dry_run, "status" if status_only else None)
                return self.send_json(200, emu.render(res, obj))
            if method == "PATCH":
                result = emu.patch(res, ns, name, ctype, self.body, params, "status" if status_only else None)
                obj, code = result if isinstance(result, tuple) else (result, 200)
                return self.send_json(code, emu.render(res, obj))
            if method == "DELETE" and sub is None:
                opts = self.json_body() if self.body else {}
                dry = dry_run or "All" in (opts.get("dryRun") or [])
                if params.get("propagationPolicy"):
                    opts["propagationPolicy"] = params["propagationPolicy"]
                result = emu.delete(res, ns, name, opts, dry)
                return self.send_json(200, result if result.get("kind") == "Status" else emu.render(res, result))
        raise ApiError(405, "the server does not allow this method on the requested resource")

    def wants_table(self):
        # `kubectl get` (human output) asks for server-side printing.
        return "as=Table" in self.headers.get("Accept", "")

    # ---- watch ----------------------------------------------------------

    def client_gone(self):
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def send_chunk(self, obj):
        data = json.dumps(obj).encode() + b"\n"
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def watch(self, res, ns):
        """Newline-delimited JSON watch events over a chunked response.

        resourceVersion unset or "0": synthetic ADDED events for the current
        state, then live changes. resourceVersion=N: replay of the event log
        after N (410 Gone as an ERROR event if that history was dropped),
        then live changes. sendInitialEvents=true (WatchList): current state
        followed by the initial-events-end BOOKMARK."""
        emu, store, params = self.emu, self.emu.store, self.params
        labels, fields = emu.selectors(params)
        timeout = float(params.get("timeoutSeconds") or 1800)
        deadline = time.monotonic() + timeout
        start_rv = params.get("resourceVersion", "")
        initial = params.get("sendInitialEvents") == "true"
        as_table = self.wants_table()
        columns_sent = []

        def event(etype, obj):
            if as_table and etype in ("ADDED", "MODIFIED", "DELETED"):
                # Real servers send column definitions with the first row only.
                obj = kr.table(res.kind, [obj], obj["metadata"].get("resourceVersion", ""), time.time(),
                               with_columns=not columns_sent)
                columns_sent.append(True)
            elif etype in ("ADDED", "MODIFIED", "DELETED"):
                obj = emu.render(res, obj)
            return {"type": etype, "object": obj}

        def visible(obj):
            return obj is not None and (ns is None or obj["metadata"].get("namespace") == ns) and \
                emu.selected(obj, labels, fields)

        with store.cond:
            pending = []
            if initial or start_rv in ("", "0"):
                last = store.rv
                pending = [event("ADDED", o) for o in store.items(res.storage_key, ns) if visible(o)]
                if initial:
                    pending.append({"type": "BOOKMARK", "object": {
                        "kind": res.kind, "apiVersion": res.group_version,
                        "metadata": {"resourceVersion": str(last),
                                     "annotations": {"k8s.io/initial-events-end": "true"}}}})
            else:
                try:
                    last = int(start_rv)
                except ValueError:
                    raise ApiError(400, "invalid resourceVersion %r" % start_rv)
                if last < store.compacted_rv:
                    pending = [{"type": "ERROR", "object": status_object(
                        410, "Expired", "too old resource version: %d (%d)" % (last, store.compacted_rv))}]
        self.status_code = 200
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()

        try:
            for ev in pending:
                self.send_chunk(ev)
            if pending and pending[-1]["type"] == "ERROR":
                return self.end_watch()
            while time.monotonic() < deadline and not self.server.stopping.is_set():
                with store.cond:
                    if store.rv <= last:
                        store.cond.wait(WATCH_POLL_SECONDS)
                    events = []
                    for e in reversed(store.events):
                        if e[0] <= last:
                            break
                        events.append(e)
                    events.reverse()
                    if events:
                        last = events[-1][0]
                for _rv, key, etype, obj, old in events:
                    if key != res.storage_key:
                        continue
                    # Seen through the selector, a change can add or remove
                    # an object (DELETED events carry old == obj).
                    now_vis = etype != "DELETED" and visible(obj)
                    was_vis = etype != "ADDED" and visible(old)
                    if not (now_vis or was_vis):
                        continue
                    out = "MODIFIED" if now_vis and was_vis else ("ADDED" if now_vis else "DELETED")
                    self.send_chunk(event(out, obj))
                if not events and self.client_gone():
                    break
            self.end_watch()
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True

    def end_watch(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        self.close_connection = True

    # ---- /_emulator control API ----------------------------------------

    def control(self, what, method):
        emu = self.emu
        body = json.loads(self.body or b"{}") if method in ("POST", "PUT") else {}
        if what == "reset" and method == "POST":
            emu.reset()
            return self.send_json(200, {"ok": True})
        if what == "objects" and method == "GET":
            with emu.store.cond:
                return self.send_json(200, {"resourceVersion": str(emu.store.rv), "items": emu.store.dump()})
        if what == "rollout" and method == "POST":
            if "name" not in body:
                raise ApiError(400, "rollout needs name")
            obj = emu.rollout(body)
            return self.send_json(200, obj)
        if what == "fail":
            if method == "POST":
                return self.send_json(200, emu.add_fault(body))
            if method == "DELETE":
                with emu.faults_lock:
                    emu.faults.clear()
                return self.send_json(200, {"ok": True})
            if method == "GET":
                with emu.faults_lock:
                    return self.send_json(200, {"items": list(emu.faults)})
        if what == "config" and method in ("POST", "GET"):
            delay = body.get("rolloutDelay")
            if delay is not None and (not isinstance(delay, (int, float)) or isinstance(delay, bool) or delay < 0):
                raise ApiError(400, "rolloutDelay must be a non-negative number of seconds")
            if "autoRollout" in body:
                emu.auto_rollout = bool(body["autoRollout"])
            if delay is not None:
                emu.rollout_delay = float(delay)
            if "controller" in body:
                emu.set_controller(body["controller"])
            return self.send_json(200, {"autoRollout": emu.auto_rollout, "controller": emu.controller,
                                        "rolloutDelay": emu.rollout_delay})
        if what == "rollout-behaviour":
            if method == "POST":
                return self.send_json(200, emu.add_behaviour(body))
            if method == "GET":
                with emu.store.cond:
                    return self.send_json(200, {"items": copy.deepcopy(emu.behaviours)})
            if method == "DELETE":
                with emu.store.cond:
                    emu.behaviours.clear()
                return self.send_json(200, {"ok": True})
        if what == "policy" and method == "POST":
            emu.policy = Policy(body)
            return self.send_json(200, {"ok": True})
        if what == "requests":
            if method == "GET":
                return self.send_json(200, {"items": list(emu.requests)})
            if method == "DELETE":
                emu.requests.clear()
                return self.send_json(200, {"ok": True})
        raise ApiError(404, "unknown emulator control endpoint %s %s" % (method, what))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, emu, log_path=None):
        super().__init__(address, Handler)
        self.emu = emu
        self.stopping = threading.Event()
        self.log_lock = threading.Lock()
        self.log_file = open(log_path, "a") if log_path else None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--policy", help="JSON access policy for SelfSubjectAccessReviews")
    ap.add_argument("--state-file", help="load objects from here at start, save on SIGTERM")
    ap.add_argument("--log", help="append one line per request to this file")
    ap.add_argument("--auto-rollout", action="store_true",
                    help="complete a rollout whenever a workload's spec changes")
    ap.add_argument("--controller", action="store_true",
                    help="run rollouts like the workload controllers: progressing at once, "
                         "complete after --rollout-delay")
    ap.add_argument("--rollout-delay", type=float, default=1.0, metavar="SECONDS",
                    help="how long a controller rollout takes (default 1.0)")
    ap.add_argument("--write-kubeconfig", metavar="PATH", help="write a kubeconfig for this server")
    ap.add_argument("--context-name", default="luminate-local")
    ap.add_argument("--namespace", default="luminate")
    ap.add_argument("--kubeconfig-only", action="store_true",
                    help="just write the kubeconfig for --host/--port and exit")
    args = ap.parse_args(argv)

    if args.kubeconfig_only:
        if not args.write_kubeconfig or not args.port:
            ap.error("--kubeconfig-only needs --write-kubeconfig and a non-zero --port")
        write_kubeconfig(args.write_kubeconfig, "http://%s:%d" % (args.host, args.port),
                         args.context_name, args.namespace)
        return 0

    policy = None
    if args.policy:
        with open(args.policy) as f:
            policy = Policy(json.load(f))
    if args.rollout_delay < 0:
        ap.error("--rollout-delay must not be negative")
    emu = Emulator(policy, args.auto_rollout, args.controller, args.rollout_delay)
    if args.state_file and os.path.exists(args.state_file):
        emu.load_state(args.state_file)
    server = Server((args.host, args.port), emu, args.log)
    host, port = server.server_address[:2]
    if args.write_kubeconfig:
        write_kubeconfig(args.write_kubeconfig, "http://%s:%d" % (host, port), args.context_name, args.namespace)

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    emu.start_controller(server.stopping)
    print("listening %s:%d" % (host, port), flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.stopping.set()
        emu.controller_wake.set()
        with emu.store.cond:
            emu.store.cond.notify_all()
        if args.state_file:
            emu.save_state(args.state_file)
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
