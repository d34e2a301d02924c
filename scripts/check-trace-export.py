"""Runs Examples/Observability's trace-export against an OTLP/HTTP receiver of its own and checks the spans.

Usage: check-trace-export.py <path to trace-export>   (NATS_URL must name a JetStream nats-server;
scripts/build-observability-example.sh runs it under scripts/with-nats-server.sh).

The receiver listens on a free 127.0.0.1 port and takes OTLP/HTTP JSON (trace-export runs with
OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:<port> and OTEL_EXPORTER_OTLP_PROTOCOL=http/json), so only the Python
standard library is used. The expected spans follow Examples/Observability/Sources/trace-export/Checkout.swift.
Prints the trace as a tree; exits 1 on any mismatch.
"""

import base64
import binascii
import http.server
import json
import os
import re
import subprocess
import sys
import threading

IMAGES = "protoqueue.images.ready.default"
RECEIPTS = "protoqueue.receipts.ready.default"
KINDS = {1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
STATUS_ERROR = 2
BOUNCED = "ShopWorkload.ShopQueues.MailBounced"


class Receiver(http.server.ThreadingHTTPServer):
    """Keeps every export request: (path, content type, decoded JSON or None)."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), ReceiverHandler)
        self.requests = []
        self.lock = threading.Lock()


class ReceiverHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        content_type = self.headers.get("Content-Type", "")
        try:
            document = json.loads(body) if content_type.startswith("application/json") else None
        except ValueError:
            document = None
        with self.server.lock:
            self.server.requests.append((self.path, content_type, document))
        if document is None:
            self.send_response(415)
            self.end_headers()
            return
        # An ExportTraceServiceResponse with no partial success.
        reply = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


def identifier(value, encodings):
    """OTLP/JSON ids are hex; protobuf's JSON mapping writes bytes as base64. Accepts both, returns hex."""
    if not value:
        return ""
    if re.fullmatch(r"[0-9a-f]{16}|[0-9a-f]{32}", value):
        encodings.add("hex")
        return value
    encodings.add("base64")
    return binascii.hexlify(base64.b64decode(value)).decode()


def attribute_value(value):
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in value:
            return value[key]
    if "intValue" in value:
        return int(value["intValue"])
    return value


def spans_of(requests, encodings):
    """Every span of every request, flattened, plus the resources' service names."""
    spans, services = [], set()
    for _, _, document in requests:
        for resource_spans in (document or {}).get("resourceSpans", []):
            resource = {a["key"]: attribute_value(a["value"]) for a in
                        resource_spans.get("resource", {}).get("attributes", [])}
            services.add(resource.get("service.name"))
            for scope_spans in resource_spans.get("scopeSpans", []):
                for span in scope_spans.get("spans", []):
                    spans.append({
                        "name": span.get("name"),
                        "kind": KINDS.get(span.get("kind"), span.get("kind")),
                        "trace": identifier(span.get("traceId"), encodings),
                        "id": identifier(span.get("spanId"), encodings),
                        "parent": identifier(span.get("parentSpanId"), encodings),
                        "start": int(span.get("startTimeUnixNano", 0)),
                        "end": int(span.get("endTimeUnixNano", 0)),
                        "error": span.get("status", {}).get("code") == STATUS_ERROR,
                        "attributes": {a["key"]: attribute_value(a["value"]) for a in span.get("attributes", [])},
                    })
    return spans, services


def problems(spans, trace_id, run):
    """What does not match Checkout.swift: one trace from the request span to the follow-up's process span."""
    found = []
    by_id = {span["id"]: span for span in spans}

    def children(parent, name):
        return sorted((s for s in spans if s["parent"] == parent["id"] and s["name"] == name), key=lambda s: s["start"])

    def expect(condition, message):
        if not condition:
            found.append(message)
        return condition

    roots = [s for s in spans if s["name"] == "POST /checkout"]
    if not expect(len(roots) == 1, f"{len(roots)} 'POST /checkout' spans, expected 1"):
        return found
    root = roots[0]
    expect(root["kind"] == "server" and not root["parent"], "POST /checkout: not a root span of kind server")
    expect(root["trace"] == trace_id, f"POST /checkout: trace {root['trace']}, trace-export printed {trace_id}")
    expect(len(spans) == 11, f"{len(spans)} spans, expected 11 (1 request, 4 send, 6 process)")
    for span in spans:
        expect(span["trace"] == root["trace"], f"{span['name']}: trace {span['trace']}, not the request's")
        expect(not span["parent"] or span["parent"] in by_id, f"{span['name']}: parent {span['parent']} not exported")

    def messaging(span, operation, subject, task_id):
        attributes = span["attributes"]
        wanted = {
            "messaging.system": "nats", "messaging.operation.name": operation, "messaging.operation.type": operation,
            "messaging.destination.name": subject, "messaging.message.id": task_id,
        }
        for key, value in wanted.items():
            expect(attributes.get(key) == value, f"{span['name']} ({task_id}): {key} = {attributes.get(key)!r}, "
                                                 f"expected {value!r}")

    def send(parent, subject, task_id):
        """Checks the `send` span of task_id under parent; returns its `process` spans (its children)."""
        sends = [
            s for s in children(parent, f"send {subject}") if s["attributes"].get("messaging.message.id") == task_id]
        if not expect(len(sends) == 1, f"{len(sends)} 'send {subject}' spans of {task_id} under {parent['name']}"):
            return []
        span = sends[0]
        expect(span["kind"] == "producer", f"send {task_id}: kind {span['kind']}, expected producer")
        messaging(span, "send", subject, task_id)
        processes = children(span, f"process {subject}")
        group = subject.split(".")[1] + "-workers"
        for attempt, process in enumerate(processes, 1):
            expect(process["kind"] == "consumer", f"process {task_id}: kind {process['kind']}, expected consumer")
            messaging(process, "process", subject, task_id)
            actual = process["attributes"].get("messaging.consumer.group.name")
            expect(actual == group, f"process {task_id}: messaging.consumer.group.name {actual!r}, expected {group!r}")
            actual = process["attributes"].get("protoqueue.attempt")
            expect(actual == attempt, f"process {task_id}: protoqueue.attempt {actual!r}, expected {attempt}")
        return processes

    def outcome(processes, task_id, error_types):
        """One `process` span per expected error.type (None: no error), in attempt order."""
        if not expect(len(processes) == len(error_types),
                      f"{len(processes)} process spans of {task_id}, expected {len(error_types)}"):
            return
        for attempt, (process, error_type) in enumerate(zip(processes, error_types), 1):
            actual = process["attributes"].get("error.type")
            expect(actual == error_type, f"process {task_id} attempt {attempt}: error.type {actual!r}, "
                                         f"expected {error_type!r}")
            expect(process["error"] == (error_type is not None),
                   f"process {task_id} attempt {attempt}: status error is {process['error']}")

    prints = send(root, IMAGES, f"{run}-print-42")
    outcome(prints, f"{run}-print-42", [None])
    if prints:
        outcome(send(prints[0], RECEIPTS, f"{run}-print-42-receipt"), f"{run}-print-42-receipt", [None])
    outcome(send(root, IMAGES, f"{run}-corrupt"), f"{run}-corrupt", ["failed"])
    outcome(send(root, RECEIPTS, f"{run}-receipt-order-42-gift"), f"{run}-receipt-order-42-gift",
            [BOUNCED, BOUNCED, "retriesExhausted"])
    return found


def tree(spans):
    """The trace as an indented tree, children by start time, with the attributes that tell the spans apart."""
    lines = []
    origin = min(span["start"] for span in spans)

    def describe(span):
        attributes = span["attributes"]
        parts = [f"{span['name']}  [{span['kind']}]"]
        if "messaging.message.id" in attributes:
            parts.append(f"id={attributes['messaging.message.id']}")
        if "messaging.consumer.group.name" in attributes:
            parts.append(f"group={attributes['messaging.consumer.group.name']} "
                         f"attempt={attributes.get('protoqueue.attempt')}")
        if "error.type" in attributes:
            parts.append(f"error.type={attributes['error.type']}")
        if "http.response.status_code" in attributes:
            parts.append(f"status={attributes['http.response.status_code']}")
        parts.append(f"+{(span['start'] - origin) / 1e6:.0f} ms, {(span['end'] - span['start']) / 1e6:.1f} ms")
        return "  ".join(parts)

    def walk(span, prefix, last, top):
        lines.append(("" if top else prefix + ("└─ " if last else "├─ ")) + describe(span))
        kids = sorted((s for s in spans if s["parent"] == span["id"]), key=lambda s: s["start"])
        for index, kid in enumerate(kids):
            walk(kid, "" if top else prefix + ("   " if last else "│  "), index == len(kids) - 1, False)

    ids = {span["id"] for span in spans}
    for root in sorted((s for s in spans if s["parent"] not in ids), key=lambda s: s["start"]):
        walk(root, "", True, True)
    return lines


def main():
    binary = sys.argv[1]
    receiver = Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{receiver.server_address[1]}"
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OTEL_")},
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
    }
    try:
        completed = subprocess.run(
            [binary], env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    except subprocess.TimeoutExpired as timeout:
        print(timeout.output or "", file=sys.stderr)
        print("error: trace-export did not finish within 120 s", file=sys.stderr)
        sys.exit(1)
    receiver.shutdown()
    output = completed.stdout.rstrip("\n")

    def fail(message):
        print(output, file=sys.stderr)
        print(f"error: {message}", file=sys.stderr)
        sys.exit(1)

    if completed.returncode != 0:
        fail(f"trace-export exited with status {completed.returncode}")
    match = re.search(r"trace ([0-9a-f]{32}), \d+ tasks enqueued .* \(run (\S+)\)", output)
    if not match:
        fail("trace-export did not print its trace id and run")
    trace_id, run = match.groups()
    if not receiver.requests:
        fail(f"no export request reached {endpoint}")
    found = []
    for path, content_type, document in receiver.requests:
        if path != "/v1/traces":
            found.append(f"export request to {path}, expected /v1/traces (OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces)")
        if document is None:
            found.append(f"export request with Content-Type {content_type!r} and no JSON body")
    encodings = set()
    spans, services = spans_of(receiver.requests, encodings)
    if services != {"trace-export"}:
        found.append(f"service.name {sorted(map(str, services))}, expected ['trace-export']")
    if spans:
        print(f"trace {trace_id}: {len(spans)} spans in {len(receiver.requests)} OTLP/HTTP JSON request(s) to "
              f"{endpoint}/v1/traces (ids in the JSON: {', '.join(sorted(encodings))})")
        print("\n".join(tree(spans)))
    found += problems(spans, trace_id, run) if spans else ["no spans received"]
    if found:
        fail("unexpected spans:\n  " + "\n  ".join(found))
    print("trace-export output:\n  " + output.replace("\n", "\n  "))
    print(f"checked {len(spans)} spans: one trace from POST /checkout through send and process to the follow-up's "
          f"process span; kinds, parents, messaging attributes and error.type as expected")


if __name__ == "__main__":
    main()
