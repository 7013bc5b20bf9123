"""Checks Skiff's API schema (Sources/SkiffAPI/Schema/*.swift) against the official
Python client's models: every field the client knows for a served kind, recursively, must
be in Skiff's schema with a compatible type, and the client's required fields must be
required in Skiff too.

Run directly (`python3 Tests/python/schema_coverage.py [Kind...]`) for a report, or through
pytest (test_schema_coverage.py)."""

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCHEMA_DIR = ROOT / "Sources" / "SkiffAPI" / "Schema"

# Served kind (schema type name) -> Python client model class name.
SERVED = {
    "core/v1.Namespace": "V1Namespace",
    "core/v1.Node": "V1Node",
    "core/v1.Pod": "V1Pod",
    "core/v1.Binding": "V1Binding",
    "core/v1.Service": "V1Service",
    "core/v1.Endpoints": "V1Endpoints",
    "core/v1.ConfigMap": "V1ConfigMap",
    "core/v1.Secret": "V1Secret",
    "core/v1.ServiceAccount": "V1ServiceAccount",
    "core/v1.Event": "CoreV1Event",
    "core/v1.PersistentVolume": "V1PersistentVolume",
    "core/v1.PersistentVolumeClaim": "V1PersistentVolumeClaim",
    "core/v1.ResourceQuota": "V1ResourceQuota",
    "core/v1.LimitRange": "V1LimitRange",
    "core/v1.ReplicationController": "V1ReplicationController",
    "core/v1.PodTemplate": "V1PodTemplate",
    "authentication/v1.TokenRequest": "AuthenticationV1TokenRequest",
    "apps/v1.Deployment": "V1Deployment",
    "apps/v1.ReplicaSet": "V1ReplicaSet",
    "apps/v1.StatefulSet": "V1StatefulSet",
    "apps/v1.DaemonSet": "V1DaemonSet",
    "apps/v1.ControllerRevision": "V1ControllerRevision",
    "autoscaling/v1.Scale": "V1Scale",
    "batch/v1.Job": "V1Job",
    "batch/v1.CronJob": "V1CronJob",
    "coordination/v1.Lease": "V1Lease",
    "discovery/v1.EndpointSlice": "V1EndpointSlice",
    "events/v1.Event": "EventsV1Event",
    "policy/v1.PodDisruptionBudget": "V1PodDisruptionBudget",
    "policy/v1.Eviction": "V1Eviction",
    "rbac/v1.Role": "V1Role",
    "rbac/v1.RoleBinding": "V1RoleBinding",
    "rbac/v1.ClusterRole": "V1ClusterRole",
    "rbac/v1.ClusterRoleBinding": "V1ClusterRoleBinding",
    "scheduling/v1.PriorityClass": "V1PriorityClass",
    "autoscaling/v1.HorizontalPodAutoscaler": "V1HorizontalPodAutoscaler",
    "autoscaling/v2.HorizontalPodAutoscaler": "V2HorizontalPodAutoscaler",
    "storage/v1.StorageClass": "V1StorageClass",
    "admissionregistration/v1.ValidatingWebhookConfiguration": "V1ValidatingWebhookConfiguration",
    "admissionregistration/v1.MutatingWebhookConfiguration": "V1MutatingWebhookConfiguration",
    "networking/v1.Ingress": "V1Ingress",
    "networking/v1.NetworkPolicy": "V1NetworkPolicy",
    "apiextensions/v1.CustomResourceDefinition": "V1CustomResourceDefinition",
}

PRIMITIVES = {"string", "int32", "int64", "bool", "double", "bytes", "Quantity", "IntOrString",
              "Time", "MicroTime", "Duration", "any"}


def load_schema():
    """Parses the schema language (see Sources/SkiffAPI/Schema.swift) from the raw string
    literals in Schema/*.swift. Returns {type name: {"object": bool, "fields": {name: (type, flags)}}}
    with the JSON-visible fields: those of an `inline` field count as the parent's own."""
    types = {}
    inlines = {}  # type name -> names of its inline fields' types
    for path in sorted(SCHEMA_DIR.glob("*.swift")):
        text = path.read_text()
        for block in re.findall(r'#"""\n(.*?)"""#', text, re.S):
            package, current = None, None
            for raw in block.split("\n"):
                line = raw.split("#", 1)[0]
                words = line.split()
                if not words:
                    continue
                if not line[0].isspace():
                    if words[0] == "package":
                        package = words[1]
                    elif words[0] == "type":
                        current = f"{package}.{words[1]}"
                        assert current not in types, f"{path.name}: {current} defined twice"
                        is_obj = "object" in words[2:]
                        fields = {"apiVersion": ("string", []), "kind": ("string", [])} if is_obj else {}
                        types[current] = {"object": is_obj, "fields": fields}
                    else:
                        raise AssertionError(f"{path.name}: bad line {raw!r}")
                    continue
                assert current, f"{path.name}: field outside a type: {raw!r}"
                name, typ, tag, *flags = words
                assert tag == "-" or tag.isdigit(), f"{path.name}: bad protobuf tag in {raw!r}"
                for f in flags:
                    assert f in ("required", "merge", "retainKeys", "replace", "atomic", "set", "ptr", "noomit", "inline") or \
                        re.fullmatch(r"(merge|map)=[A-Za-z0-9,]+", f), f"{path.name}: bad flag {f!r} in {raw!r}"
                if "inline" in flags:
                    assert tag.isdigit(), f"{path.name}: an inline field needs a protobuf tag: {raw!r}"
                    inlines.setdefault(current, []).append(qualify(typ, package))
                    continue
                types[current]["fields"][name] = (qualify(typ, package), flags)
    for name in list(inlines):
        expand_inline(types, inlines, name, 0)
    for name, t in list(types.items()):
        if t["object"] and name + "List" not in types:
            types[name + "List"] = {"object": True, "fields": {
                "apiVersion": ("string", []), "kind": ("string", []),
                "metadata": ("meta/v1.ListMeta", []), "items": ("[]" + name, ["required"])}}
    return types


def expand_inline(types, inlines, name, depth):
    """Adds the JSON fields of `name`'s inline fields (recursively) to its own."""
    assert depth < 8, f"inline fields of {name} nest too deep"
    for inner in inlines.pop(name, []):
        assert inner in types, f"{name}: inline type {inner} is missing"
        expand_inline(types, inlines, inner, depth + 1)
        for field, value in types[inner]["fields"].items():
            assert field not in types[name]["fields"], f"{name}.{field} appears twice (through inline {inner})"
            types[name]["fields"][field] = value


def qualify(typ, package):
    if typ.startswith("[]"):
        return "[]" + qualify(typ[2:], package)
    if typ.startswith("map[string]"):
        return "map[string]" + qualify(typ[len("map[string]"):], package)
    if typ in PRIMITIVES or "." in typ:
        return typ
    return f"{package}.{typ}"


COMPATIBLE = {
    "str": {"string", "Quantity", "Duration", "bytes"},
    "int": {"int32", "int64"},
    "float": {"double"},
    "bool": {"bool"},
    "datetime": {"Time", "MicroTime"},
    "object": {"IntOrString", "any"},
    "bytearray": {"bytes"},
    "bytes": {"bytes"},
    "Dict[str, object]": {"any"},
}


def compare(types, ours, model, path, problems, seen):
    """Walks the Python model `model` against our type `ours`, collecting problems."""
    from kubernetes import client
    key = (ours, model)
    if key in seen:
        return
    seen.add(key)
    cls = getattr(client, model)
    t = types.get(ours)
    if t is None:
        problems.append(f"{path}: type {ours} is missing (Python {model})")
        return
    required = set()
    if hasattr(cls, "model_fields"):
        required = {cls.attribute_map[n] for n, f in cls.model_fields.items() if f.is_required() and n in cls.attribute_map}
    for attr, json_name in cls.attribute_map.items():
        py_type = cls.openapi_types[attr]
        field = t["fields"].get(json_name)
        where = f"{path}.{json_name}"
        if field is None:
            problems.append(f"{where}: missing from {ours} (Python {model}.{attr}: {py_type})")
            continue
        our_type, flags = field
        if json_name in required and "required" not in flags:
            problems.append(f"{where}: the Python client requires it; mark it required")
        match_type(types, our_type, py_type, where, problems, seen)


def match_type(types, our_type, py_type, where, problems, seen):
    m = re.fullmatch(r"List\[(.*)\]", py_type)
    if m:
        if not our_type.startswith("[]"):
            problems.append(f"{where}: Python has a list ({py_type}), Skiff has {our_type}")
            return
        return match_type(types, our_type[2:], m.group(1), where + "[]", problems, seen)
    m = re.fullmatch(r"Dict\[str, (.*)\]", py_type)
    if m and our_type.startswith("map[string]"):
        return match_type(types, our_type[len("map[string]"):], m.group(1), where + "{}", problems, seen)
    if m and py_type != "Dict[str, object]":
        problems.append(f"{where}: Python has a map ({py_type}), Skiff has {our_type}")
        return
    if py_type in COMPATIBLE:
        if our_type not in COMPATIBLE[py_type]:
            problems.append(f"{where}: Python type {py_type}, Skiff type {our_type}")
        return
    if our_type in PRIMITIVES or our_type.startswith("[]") or our_type.startswith("map["):
        problems.append(f"{where}: Python has model {py_type}, Skiff has {our_type}")
        return
    compare(types, our_type, py_type, where, problems, seen)


def coverage_problems(kinds=None):
    types = load_schema()
    problems = []
    for ours, model in SERVED.items():
        if kinds and ours.split(".")[-1] not in kinds and ours not in kinds:
            continue
        compare(types, ours, model, ours, problems, set())
    return problems


if __name__ == "__main__":
    found = coverage_problems(sys.argv[1:] or None)
    for p in found:
        print(p)
    print(f"{len(found)} problems")
    sys.exit(1 if found else 0)
