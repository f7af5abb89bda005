"""Pure functions used by the Kubernetes API emulator (kubeemu.py).

Everything here works on plain JSON values (dict/list/str/...) and never
touches server state, so tests can import and exercise it directly:

* json_merge_patch      -- RFC 7386 (application/merge-patch+json)
* json_patch            -- RFC 6902 (application/json-patch+json)
* strategic_merge_patch -- Kubernetes strategic merge patch
                           (application/strategic-merge-patch+json)
* parse_label_selector / match_labels
* parse_field_selector / match_fields
"""

import copy
import re


class PatchError(Exception):
    """A patch could not be applied; the server maps this to a 4xx Status."""

    def __init__(self, message, code=422):
        super().__init__(message)
        self.code = code


# --------------------------------------------------------------------------
# RFC 7386 JSON merge patch
# --------------------------------------------------------------------------

def json_merge_patch(target, patch):
    """Apply an RFC 7386 merge patch. Lists are replaced wholesale, null
    deletes a key. Returns a new value; inputs are not modified."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = json_merge_patch(result.get(key), value)
    return result


# --------------------------------------------------------------------------
# RFC 6902 JSON patch
# --------------------------------------------------------------------------

def _pointer_tokens(pointer):
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PatchError("invalid JSON pointer %r" % pointer, 400)
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def _list_index(container, token, allow_end):
    if token == "-" and allow_end:
        return len(container)
    if not re.fullmatch(r"0|[1-9][0-9]*", token):
        raise PatchError("invalid array index %r" % token)
    index = int(token)
    limit = len(container) if allow_end else len(container) - 1
    if index > limit:
        raise PatchError("array index %d out of range" % index)
    return index


def _resolve_parent(doc, tokens, path):
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, dict):
            if token not in node:
                raise PatchError("path %s does not exist" % path)
            node = node[token]
        elif isinstance(node, list):
            node = node[_list_index(node, token, False)]
        else:
            raise PatchError("path %s does not exist" % path)
    return node


def _get(doc, path):
    tokens = _pointer_tokens(path)
    if not tokens:
        return doc
    parent = _resolve_parent(doc, tokens, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError("path %s does not exist" % path)
        return parent[last]
    if isinstance(parent, list):
        return parent[_list_index(parent, last, False)]
    raise PatchError("path %s does not exist" % path)


def _add(doc, path, value):
    tokens = _pointer_tokens(path)
    if not tokens:
        return value
    parent = _resolve_parent(doc, tokens, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_list_index(parent, last, True), value)
    else:
        raise PatchError("path %s does not exist" % path)
    return doc


def _remove(doc, path):
    tokens = _pointer_tokens(path)
    if not tokens:
        raise PatchError("cannot remove the document root")
    parent = _resolve_parent(doc, tokens, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError("path %s does not exist" % path)
        return parent.pop(last)
    if isinstance(parent, list):
        return parent.pop(_list_index(parent, last, False))
    raise PatchError("path %s does not exist" % path)


def json_patch(target, operations):
    """Apply an RFC 6902 operation list; returns a new document."""
    if not isinstance(operations, list):
        raise PatchError("json patch must be a list of operations", 400)
    doc = copy.deepcopy(target)
    for op in operations:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise PatchError("malformed json patch operation %r" % (op,), 400)
        kind, path = op["op"], op["path"]
        if kind in ("add", "replace", "test") and "value" not in op:
            raise PatchError("operation %s is missing 'value'" % kind, 400)
        if kind == "add":
            doc = _add(doc, path, copy.deepcopy(op["value"]))
        elif kind == "remove":
            _remove(doc, path)
        elif kind == "replace":
            _get(doc, path)  # replace requires the target to exist
            if path == "":
                doc = copy.deepcopy(op["value"])
            else:
                _remove(doc, path)
                doc = _add(doc, path, copy.deepcopy(op["value"]))
        elif kind == "test":
            if _get(doc, path) != op["value"]:
                raise PatchError("testing value %s failed" % path)
        elif kind in ("move", "copy"):
            if "from" not in op:
                raise PatchError("operation %s is missing 'from'" % kind, 400)
            value = copy.deepcopy(_get(doc, op["from"]))
            if kind == "move":
                _remove(doc, op["from"])
            doc = _add(doc, path, value)
        else:
            raise PatchError("unknown json patch operation %r" % kind, 400)
    return doc


# --------------------------------------------------------------------------
# Strategic merge patch
# --------------------------------------------------------------------------
#
# The real apiserver reads patch strategies and merge keys from Go struct
# tags. We only need the lists that matter for workloads; every other list
# is replaced atomically, exactly like a list without a patch strategy.

# Merge key by field name; "ports" depends on whether we are inside a
# container (containerPort) or a Service spec (port) -- see _merge_key().
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "env": "name",
    "imagePullSecrets": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "hostAliases": "ip",
    "conditions": "type",
    "ownerReferences": "uid",
    "resourceClaims": "name",
    "schedulingGates": "name",
    "topologySpreadConstraints": "topologyKey",
}
# Lists of scalars with patchStrategy=merge: the patch is unioned in.
MERGED_SCALAR_LISTS = {"finalizers"}

DIRECTIVE = "$patch"
SET_ORDER_PREFIX = "$setElementOrder/"
DELETE_PRIMITIVE_PREFIX = "$deleteFromPrimitiveList/"
RETAIN_KEYS = "$retainKeys"


def _merge_key(path, field):
    if field == "ports":
        in_container = any(p in ("containers", "initContainers", "ephemeralContainers") for p in path)
        return "containerPort" if in_container else "port"
    return MERGE_KEYS.get(field)


def strategic_merge_patch(original, patch):
    """Apply a Kubernetes strategic merge patch to `original`.

    Supports merge keys (MERGE_KEYS), `$patch: replace|delete|merge` on maps
    and list items, `$setElementOrder/<list>`, `$deleteFromPrimitiveList/<list>`
    and `$retainKeys`. Returns a new object."""
    return _smp_map(copy.deepcopy(original) if isinstance(original, dict) else {}, patch, ())


def _smp_map(orig, patch, path):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get(DIRECTIVE)
    if directive == "replace":
        return _strip_directives(patch)
    if directive == "delete":
        return None
    if directive not in (None, "merge"):
        raise PatchError("unknown patch directive %r" % directive, 400)

    retain = patch.get(RETAIN_KEYS)
    orders = {}
    for key, value in patch.items():
        if key in (DIRECTIVE, RETAIN_KEYS):
            continue
        if key.startswith(SET_ORDER_PREFIX):
            orders[key[len(SET_ORDER_PREFIX):]] = value
            continue
        if key.startswith(DELETE_PRIMITIVE_PREFIX):
            field = key[len(DELETE_PRIMITIVE_PREFIX):]
            if isinstance(orig.get(field), list):
                orig[field] = [v for v in orig[field] if v not in value]
            continue
        if value is None:
            orig.pop(key, None)
        elif isinstance(value, dict):
            merged = _smp_map(orig.get(key) if isinstance(orig.get(key), dict) else {}, value, path + (key,))
            if merged is None:
                orig.pop(key, None)
            else:
                orig[key] = merged
        elif isinstance(value, list):
            orig[key] = _smp_list(orig.get(key), value, path, key)
        else:
            orig[key] = value

    for field, order in orders.items():
        if isinstance(orig.get(field), list):
            orig[field] = _apply_order(orig[field], order, _merge_key(path, field))
    if isinstance(retain, list):
        for key in list(orig):
            if key not in retain:
                del orig[key]
    return orig


def _smp_list(orig, patch, path, field):
    orig = orig if isinstance(orig, list) else []
    # A {"$patch": "replace"} element means "the rest of this list is the
    # complete new value".
    if any(isinstance(i, dict) and i.get(DIRECTIVE) == "replace" for i in patch):
        return [_strip_directives(i) for i in patch
                if not (isinstance(i, dict) and i.get(DIRECTIVE) == "replace")]
    if field in MERGED_SCALAR_LISTS:
        return orig + [v for v in patch if v not in orig]
    key = _merge_key(path, field)
    if key is None or not all(isinstance(i, dict) for i in patch):
        return [_strip_directives(i) for i in patch]

    result = list(orig)
    for item in patch:
        if key not in item:
            raise PatchError("map in list %s does not contain the merge key %r" % (field, key))
        index = next((n for n, o in enumerate(result)
                      if isinstance(o, dict) and o.get(key) == item[key]), None)
        if item.get(DIRECTIVE) == "delete":
            if index is not None:
                result.pop(index)
            continue
        if index is None:
            result.append(_strip_directives(item))
        else:
            result[index] = _smp_map(result[index], item, path + (field,))
    return result


def _apply_order(items, order, key):
    """Honour $setElementOrder: listed elements first, in that order; any
    element not mentioned keeps its relative position afterwards."""
    def ident(item):
        return item.get(key) if key and isinstance(item, dict) else item
    wanted = [ident(o) if isinstance(o, dict) else o for o in order]
    ranked = [i for w in wanted for i in items if ident(i) == w]
    return ranked + [i for i in items if ident(i) not in wanted]


def _strip_directives(value):
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items()
                if not (k.startswith("$") and (k == DIRECTIVE or k == RETAIN_KEYS
                                             or k.startswith(SET_ORDER_PREFIX)
                                             or k.startswith(DELETE_PRIMITIVE_PREFIX)))}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value]
    return value


# --------------------------------------------------------------------------
# Label and field selectors
# --------------------------------------------------------------------------

class SelectorError(ValueError):
    pass


_LABEL_REQ = re.compile(
    r"""^\s*(?:
        (?P<not>!)\s*(?P<nkey>[\w./-]+)                       # !key
      | (?P<skey>[\w./-]+)\s+(?P<setop>in|notin)\s*\((?P<vals>[^)]*)\)  # key in (a,b)
      | (?P<ekey>[\w./-]+)\s*(?P<op>==|=|!=)\s*(?P<val>[\w./-]*)      # key=value
      | (?P<xkey>[\w./-]+)                                  # key (exists)
    )\s*$""", re.X)


def _split_top_level(text):
    """Split on commas that are not inside parentheses."""
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return [p for p in parts if p.strip()]


def parse_label_selector(text):
    """Parse a label selector string into (key, op, values) requirements.
    ops: '=', '!=', 'in', 'notin', 'exists', '!exists'."""
    reqs = []
    for part in _split_top_level(text or ""):
        m = _LABEL_REQ.match(part)
        if not m:
            raise SelectorError("unable to parse requirement: %r" % part.strip())
        if m.group("not"):
            reqs.append((m.group("nkey"), "!exists", []))
        elif m.group("skey"):
            vals = [v.strip() for v in m.group("vals").split(",") if v.strip()]
            reqs.append((m.group("skey"), m.group("setop"), vals))
        elif m.group("ekey"):
            op = "!=" if m.group("op") == "!=" else "="
            reqs.append((m.group("ekey"), op, [m.group("val")]))
        else:
            reqs.append((m.group("xkey"), "exists", []))
    return reqs


def match_labels(reqs, labels):
    labels = labels or {}
    for key, op, values in reqs:
        present = key in labels
        value = labels.get(key)
        if op == "=" and not (present and value == values[0]):
            return False
        if op == "!=" and present and value == values[0]:
            return False
        if op == "in" and not (present and value in values):
            return False
        if op == "notin" and present and value in values:
            return False
        if op == "exists" and not present:
            return False
        if op == "!exists" and present:
            return False
    return True


def selector_from_label_selector_object(sel):
    """Convert a LabelSelector object (matchLabels/matchExpressions) into
    requirements, e.g. a Deployment's spec.selector."""
    reqs = [(k, "=", [v]) for k, v in (sel or {}).get("matchLabels", {}).items()]
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}
    for expr in (sel or {}).get("matchExpressions", []) or []:
        reqs.append((expr["key"], ops[expr["operator"]], expr.get("values") or []))
    return reqs


def parse_field_selector(text):
    """Parse 'a.b=x,c!=y' into (path, op, value) with op '=' or '!='."""
    reqs = []
    for part in _split_top_level(text or ""):
        m = re.match(r"^\s*([\w.\-/]+)\s*(==|=|!=)\s*(.*?)\s*$", part)
        if not m:
            raise SelectorError("invalid field selector: %r" % part.strip())
        reqs.append((m.group(1), "!=" if m.group(2) == "!=" else "=", m.group(3)))
    return reqs


def field_value(obj, path):
    node = obj
    for part in path.split("."):
        if not isinstance(node, dict):
            return ""
        node = node.get(part)
    if node is None:
        return ""
    if isinstance(node, bool):
        return "true" if node else "false"
    return str(node)


def match_fields(reqs, obj):
    for path, op, value in reqs:
        actual = field_value(obj, path)
        if (op == "=") != (actual == value):
            return False
    return True
