#!/usr/bin/python3
"""validate.py - check the messages ecard-server recorded (--record DIR)
against the JSON schema written from the SERAM OpenAPI file: the agent's
handshakes and reports, the server's answers.

usage: validate.py DIR       exit 0 when every file validates
"""
import json
import os
import sys

import jsonschema

HERE = os.path.dirname(os.path.abspath(__file__))
KINDS = {
    ("handshake", "request"): "ramHandshakeCommand",
    ("handshake", "answer"): "ramHandshakeResponse",
    ("remoteManagement", "request"): "remoteManagementReport",
    ("remoteManagement", "answer"): "remoteManagementOrder",
}


def main():
    with open(os.path.join(HERE, "seram.schema.json")) as f:
        definitions = json.load(f)["definitions"]
    counts = {}
    bad = 0
    for name in sorted(os.listdir(sys.argv[1])):
        parts = name[:-len(".json")].split("-")
        kind = KINDS.get((parts[1], parts[2])) if len(parts) == 3 else None
        if not kind:
            continue
        with open(os.path.join(sys.argv[1], name)) as f:
            doc = json.load(f)
        try:
            jsonschema.validate(doc, {"$ref": "#/definitions/" + kind, "definitions": definitions})
            counts[kind] = counts.get(kind, 0) + 1
        except jsonschema.ValidationError as e:
            print("validate: %s is not a valid %s: %s" % (name, kind, e.message))
            bad += 1
    print("validate: " + ", ".join("%d %s" % (n, k) for k, n in sorted(counts.items())) +
          ("; %d invalid" % bad if bad else "; all valid"))
    return 1 if bad or len(counts) < 4 else 0


if __name__ == "__main__":
    sys.exit(main())
