#!/usr/bin/python3
"""Refuses fields the Kubernetes API does not have (a misspelt `securityContext` is silently
dropped by a lenient apply), walking each document through the model classes of the Kubernetes
Python client (Debian's python3-kubernetes): every key must be one of its object's fields, and
each value of the field's kind (object, list, map, string, integer, boolean).

    field_check.py FILE.yaml...
"""
import re
import sys

import kubernetes.client as k8s
import yaml

PRIMITIVES = {"str": str, "int": int, "bool": bool, "float": (int, float)}


def model_class(api_version, kind):
    # The client names classes by version alone: batch/v1 Job is V1Job, v1 ConfigMap V1ConfigMap.
    version = api_version.rpartition("/")[2]
    return getattr(k8s, version.capitalize() + kind, None)


def check(value, kind, path, problems):
    if value is None:
        return
    if kind in PRIMITIVES:
        if not isinstance(value, PRIMITIVES[kind]) or (kind == "int" and isinstance(value, bool)):
            problems.append(f"{path}: expected {kind}, got {type(value).__name__}")
        return
    if kind == "object":  # IntOrString, quantities and free-form values
        return
    m = re.fullmatch(r"list\[(.+)\]", kind)
    if m:
        if not isinstance(value, list):
            problems.append(f"{path}: expected a list")
            return
        for i, item in enumerate(value):
            check(item, m.group(1), f"{path}[{i}]", problems)
        return
    m = re.fullmatch(r"dict\(str, (.+)\)", kind)
    if m:
        if not isinstance(value, dict):
            problems.append(f"{path}: expected a map")
            return
        for key, item in value.items():
            check(item, m.group(1), f"{path}.{key}", problems)
        return
    cls = getattr(k8s, kind, None)
    if cls is None:
        problems.append(f"{path}: unknown type {kind}")
        return
    if not isinstance(value, dict):
        problems.append(f"{path}: expected an object ({kind})")
        return
    fields = {json: attr for attr, json in cls.attribute_map.items()}
    for key, item in value.items():
        if key not in fields:
            problems.append(f"{path}.{key}: no such field in {kind}")
        else:
            check(item, cls.openapi_types[fields[key]], f"{path}.{key}", problems)


def main(files):
    failed = False
    for file in files:
        with open(file, encoding="utf-8") as f:
            docs = list(yaml.safe_load_all(f))
        for i, doc in enumerate(docs, 1):
            if doc is None:
                continue
            cls = model_class(str(doc.get("apiVersion")), str(doc.get("kind")))
            where = f"{file}#{i}"
            if cls is None:
                print(f"{where}: unknown kind {doc.get('apiVersion')}/{doc.get('kind')}")
                failed = True
                continue
            problems = []
            check(doc, cls.__name__, doc["kind"], problems)
            for p in problems:
                print(f"{where}: {p}")
            failed = failed or bool(problems)
            if not problems:
                print(f"{where}: {doc['kind']} {doc.get('metadata', {}).get('name')}: known fields")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
