#!/usr/bin/python3
"""protocol.py - ecard-server's SERAM endpoints against the JSON schema
written from the spec's OpenAPI file (seram.schema.json), and the status
codes for what a server must refuse, with a look at the job before and
after to check that refused requests change nothing.

usage: protocol.py BUILD-DIR CAP-FILE     (starts and stops its own server)

With ECARD_PROTOCOL_DB set (a postgresql:// URL) the server keeps its state
there rather than in SQLite files of its own; the checks look only at the
jobs of their cards, so the database may hold others.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

import jsonschema

HERE = os.path.dirname(os.path.abspath(__file__))
CARD = "CAFE0001"
failures = 0


def check(cond, what):
    global failures
    print(("ok    " if cond else "FAIL  ") + what)
    if not cond:
        failures += 1


def schema_for(name):
    with open(os.path.join(HERE, "seram.schema.json")) as f:
        top = json.load(f)
    return {"$ref": "#/definitions/" + name, "definitions": top["definitions"]}


def valid(doc, name):
    try:
        jsonschema.validate(doc, schema_for(name))
        return True
    except jsonschema.ValidationError as e:
        print("      " + e.message)
        return False


def post(base, path, body, sid=None, ctype="application/json", key=None):
    url = base + path + ("" if sid is None else "?sessionId=" + sid)
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="POST")
    if ctype:
        req.add_header("Content-Type", ctype)
    if key:
        req.add_header("Idempotency-Key", key)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, None


def job(build, db):
    out = subprocess.run([os.path.join(build, "ecard-server"), "job", "list", "--json",
                          "--card", CARD, "--db", db],
                         check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines()]


def serve(server, db, port_file, extra):
    """ecard-server on a free loopback port: the process and its base URL."""
    proc = subprocess.Popen([server, "serve", "--db", db, "--insecure-http", "--test-keys",
                             "--listen", "127.0.0.1:0", "--port-file", port_file, "--quiet"] +
                            extra)
    for _ in range(100):
        if os.path.exists(port_file):
            break
        time.sleep(0.05)
    return proc, "http://127.0.0.1:%s" % open(port_file).read().strip()


def long_poll(server, cap, tmp):
    """--long-poll: a poll for a card without a job waits, and is answered
    as soon as a job is queued."""
    import threading
    db = os.environ.get("ECARD_PROTOCOL_DB") or "sqlite:" + os.path.join(tmp, "poll.db")
    proc, base = serve(server, db, os.path.join(tmp, "poll.port"), ["--long-poll", "3"])
    try:
        hello = {"secureElements": [{"seType": "eSE", "seId": "CAFE0002"}]}
        poll = {"localAgentStatus": {"localAgentStatusEnum": "POLLING", "executedSeRamCommands": 0}}
        sid = str(uuid.uuid4())
        post(base, "/handshake", hello, sid)
        t0 = time.monotonic()
        st, order = post(base, "/remoteManagement", poll, sid)
        waited = time.monotonic() - t0
        types = [c["ramCommandType"] for c in order.get("ramCommands", [])]
        check(st == 200 and 2.5 <= waited <= 5 and types[-1] == "ramStopCommand",
              "long polling: no job, the answer comes after the wait (%.1f s): %s" % (waited, types))
        sid = str(uuid.uuid4())
        post(base, "/handshake", hello, sid)
        timer = threading.Timer(1.0, lambda: subprocess.run(
            [server, "job", "add", "--db", db, "--card", "CAFE0002", "load-cap", cap],
            check=True, capture_output=True))
        timer.start()
        t0 = time.monotonic()
        st, order = post(base, "/remoteManagement", poll, sid)
        waited = time.monotonic() - t0
        timer.join()
        types = [c["ramCommandType"] for c in order.get("ramCommands", [])]
        check(st == 200 and 0.9 <= waited < 2.5 and "seRamCommand" in types,
              "long polling: a job queued during the wait starts at once (%.1f s): %s" % (waited, types))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main():
    build, cap = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="ecard-ota-")
    db = os.environ.get("ECARD_PROTOCOL_DB") or "sqlite:" + os.path.join(tmp, "ota.db")
    server = os.path.join(build, "ecard-server")
    subprocess.run([server, "job", "add", "--db", db, "--card", CARD, "load-cap", cap],
                   check=True, capture_output=True)
    proc, base = serve(server, db, os.path.join(tmp, "port"), [])
    try:
        hello = {"secureElements": [{"seType": "eSE", "seId": CARD}],
                 "supportedTransportProtocols": ["HTTPS"],
                 "supportedDataFormats": ["application/json"],
                 "supportedVersions": ["2.0.0"]}
        check(valid(hello, "ramHandshakeCommand"), "our handshake example fits the schema")
        poll = {"localAgentStatus": {"localAgentStatusEnum": "POLLING", "executedSeRamCommands": 0}}
        before = job(build, db)

        # Refusals, none of which may change the job.
        st, _ = post(base, "/handshake", b"{not json", str(uuid.uuid4()))
        check(st == 400, "bad JSON in a handshake: 400 (got %d)" % st)
        st, _ = post(base, "/handshake", {"secureElements": []}, str(uuid.uuid4()))
        check(st == 400, "no secure element: 400 (got %d)" % st)
        st, _ = post(base, "/handshake", hello, None)
        check(st == 400, "no sessionId: 400 (got %d)" % st)
        st, _ = post(base, "/handshake", hello, str(uuid.uuid4()), "text/plain")
        check(st == 415, "wrong content type: 415 (got %d)" % st)
        st, _ = post(base, "/handshake", b"[" + b"1," * 600000 + b"1]", str(uuid.uuid4()))
        check(st == 413, "a body over 1 MiB: 413 (got %d)" % st)
        xml = dict(hello, supportedDataFormats=["application/xml"])
        st, _ = post(base, "/handshake", xml, str(uuid.uuid4()))
        check(st == 406, "no data format the server speaks: 406 (got %d)" % st)
        old = dict(hello, supportedVersions=["1.0.0"])
        st, _ = post(base, "/handshake", old, str(uuid.uuid4()))
        check(st == 406, "no version the server speaks: 406 (got %d)" % st)
        st, _ = post(base, "/remoteManagement", poll, str(uuid.uuid4()))
        check(st == 404, "a report for a session never opened: 404 (got %d)" % st)
        st, _ = post(base, "/nowhere", poll, str(uuid.uuid4()))
        check(st == 404, "an unknown endpoint: 404 (got %d)" % st)
        check(job(build, db) == before, "the job is untouched by all of these")

        # A session: handshake, poll, the first order.
        sid = str(uuid.uuid4())
        st, hs = post(base, "/handshake", hello, sid)
        check(st == 200 and valid(hs, "ramHandshakeResponse"),
              "handshake: 200 and a valid ramHandshakeResponse")
        st, _ = post(base, "/handshake", hello, sid)
        check(st == 409, "a handshake with a session id in use: 409 (got %d)" % st)
        st, _ = post(base, "/gp/seram/remoteManagement", b"{\"localAgentStatus\": 5}", sid)
        check(st == 400, "a malformed report: 400 (got %d)" % st)
        check(job(build, db) == before, "the job is untouched by them")
        key = str(uuid.uuid4())
        st, order = post(base, "/gp/seram/remoteManagement", poll, sid, key=key)
        check(st == 200 and valid(order, "remoteManagementOrder"),
              "the first order (under /gp/seram/): 200 and a valid remoteManagementOrder")
        running = job(build, db)
        st, again = post(base, "/remoteManagement", poll, sid, key=key)
        check(st == 200 and again == order,
              "the same report again (same Idempotency-Key): the same order")
        check(job(build, db) == running, "and the job is as it was")
        short = {"localAgentStatus": {"localAgentStatusEnum": "PROCESSED",
                                      "executedSeRamCommands": 1},
                 "ramResponses": [{"ramResponseType": "seRamResponse", "listOfRAPDU": ["9000"]}]}
        st, _ = post(base, "/remoteManagement", short, sid)
        check(st == 400, "a report with fewer answers than the order had commands: 400 (got %d)" % st)
        check(job(build, db) == running, "and the job is as it was")
        types = [c["ramCommandType"] for c in order.get("ramCommands", [])]
        check(types[0] == "ramStartCommand" and "seRamCommand" in types,
              "it starts the session and sends APDUs: %s" % types)
        apdus = [c for c in order["ramCommands"] if c["ramCommandType"] == "seRamCommand"][0]
        check(apdus["listOfCAPDU"][1].startswith("8050"), "SELECT, then INITIALIZE UPDATE")
        check(order.get("chosenSecureElement", {"seId": CARD})["seId"] == CARD,
              "the order is for the card presented")
        # The card refuses INITIALIZE UPDATE: the session ends cleanly.
        refused = {"localAgentStatus": {"localAgentStatusEnum": "PROCESSED",
                                        "executedSeRamCommands": 2},
                   "ramResponses": [{"ramResponseType": "seRamResponse",
                                     "listOfRAPDU": ["9000", "6A88"]}]}
        check(valid(refused, "remoteManagementReport"), "our report example fits the schema")
        st, order = post(base, "/remoteManagement", refused, sid)
        types = [c["ramCommandType"] for c in order.get("ramCommands", [])]
        check(st == 200 and valid(order, "remoteManagementOrder") and types[-1] == "ramStopCommand",
              "a refused INITIALIZE UPDATE ends the session: %s" % types)
        st, _ = post(base, "/remoteManagement", poll, sid)
        check(st == 404, "a report after the stop: 404 (got %d)" % st)
        after = job(build, db)[0]
        check(after["state"] == "running" and after["failures"] == 1 and after["confirmed"] == 0,
              "the job waits for the next contact: %s, %d failure" % (after["state"], after["failures"]))
        with urllib.request.urlopen(base + "/metrics", timeout=10) as r:
            text = r.read().decode()
        check('ecard_sessions_total{outcome="failed"} 1' in text and "ecard_order_seconds_bucket" in text,
              "GET /metrics counts the failed session and has the latency histogram")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    try:
        long_poll(server, cap, tmp)
    finally:
        subprocess.run(["rm", "-rf", tmp])
    print("protocol: %d failure(s)" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
