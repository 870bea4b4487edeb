#!/usr/bin/env python3
"""Writes the operations of the Atlas Administration API's OpenAPI spec as a TSV, one line per
operation: path, method, operationId, and the Accept versions its success answers name.

    python3 scripts/spec-extract.py openapi/atlas-api-transformed.yaml > crates/revoker/spec/atlas-operations.tsv

The spec comes from mongodb/atlas-sdk-go (openapi/atlas-api-transformed.yaml). The extract is
committed; tests/it/spec.rs reads it, so that a credential the API can delete and revoker has no
kind for fails the suite. Needs PyYAML.
"""

import sys

import yaml

METHODS = ("get", "put", "post", "delete", "patch")


def versions(operation):
    """The vnd.atlas dates of the operation's 2xx answers, sorted, joined by commas."""
    found = set()
    for status, answer in (operation.get("responses") or {}).items():
        if not str(status).startswith("2") or not isinstance(answer, dict):
            continue
        for media in (answer.get("content") or {}):
            if media.startswith("application/vnd.atlas."):
                found.add(media[len("application/vnd.atlas."):].split("+")[0])
    return ",".join(sorted(found)) or "-"


def main():
    source = sys.argv[1] if len(sys.argv) > 1 else "openapi/atlas-api-transformed.yaml"
    with open(source, encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    rows = []
    for path, item in (spec.get("paths") or {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation:
                rows.append((path, method.upper(), operation.get("operationId", "-"), versions(operation)))
    rows.sort()
    out = sys.stdout
    out.write("# path\tmethod\toperationId\taccept\n")
    for row in rows:
        out.write("\t".join(row) + "\n")


if __name__ == "__main__":
    main()
