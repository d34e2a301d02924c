"""Runs Examples/Observability's metrics-endpoint, scrapes its /metrics and checks what Prometheus would see.

Usage: check-metrics-endpoint.py <path to metrics-endpoint>   (NATS_URL must name a JetStream nats-server;
scripts/build-observability-example.sh runs it under scripts/with-nats-server.sh).

The expected values follow the table in Examples/Observability/Sources/ShopWorkload/ShopQueues.swift. Only the
Python standard library is used. Prints the scrape without histogram buckets; exits 1 on any mismatch.
"""

import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request

IMAGES = {"queue": "images", "task_type": "acme.shop.ResizeImage"}
RECEIPTS = {"queue": "receipts", "task_type": "acme.shop.SendReceipt"}
CONSUMED = "messaging_client_consumed_messages"
SETTLED = "protoqueue_tasks_settled"
DURATION = "messaging_process_duration"
WAIT = "protoqueue_queue_wait"

# (metric, labels, value): the counters and histogram counts of one run.
EXPECTED = [
    (CONSUMED, IMAGES, 7),
    (CONSUMED, RECEIPTS, 6),
    (SETTLED, {**IMAGES, "outcome": "acknowledged", "reason": "none"}, 5),
    (SETTLED, {**IMAGES, "outcome": "retried", "reason": "none"}, 1),
    (SETTLED, {**IMAGES, "outcome": "dead_lettered", "reason": "failed"}, 1),
    (SETTLED, {**IMAGES, "outcome": "terminated"}, 0),
    (SETTLED, {**RECEIPTS, "outcome": "acknowledged", "reason": "none"}, 2),
    (SETTLED, {**RECEIPTS, "outcome": "retried", "reason": "none"}, 2),
    (SETTLED, {**RECEIPTS, "outcome": "dead_lettered", "reason": "retriesExhausted"}, 1),
    (SETTLED, {**RECEIPTS, "outcome": "terminated", "reason": "none"}, 1),
    (SETTLED, {"outcome": "unsettled"}, 0),
    (DURATION + "_count", {**IMAGES, "outcome": "success"}, 5),
    (DURATION + "_count", {**IMAGES, "outcome": "retry"}, 1),
    (DURATION + "_count", {**IMAGES, "outcome": "failure"}, 1),
    (DURATION + "_count", {**RECEIPTS, "outcome": "success"}, 2),
    (DURATION + "_count", {**RECEIPTS, "outcome": "error"}, 3),
    (DURATION + "_count", {**RECEIPTS, "outcome": "discard"}, 1),
    (WAIT + "_count", IMAGES, 6),
    (WAIT + "_count", RECEIPTS, 4),
    ("protoqueue_tasks_in_flight", {}, 0),
]
FINAL_OUTCOMES = ("acknowledged", "dead_lettered", "terminated")
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    samples = []
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if match:
            labels = dict(LABEL.findall(match.group(2) or ""))
            samples.append((match.group(1), labels, float(match.group(3))))
    return samples


def total(samples, name, labels):
    """The sum of the `name` samples whose labels include `labels`; None when there is none."""
    values = [v for n, l, v in samples if n == name and all(l.get(k) == x for k, x in labels.items())]
    return sum(values) if values else None


def drained(samples, enqueued):
    """Every task has its final outcome, and both queues' gauges show it."""
    finals = sum(total(samples, SETTLED, {"outcome": o}) or 0 for o in FINAL_OUTCOMES)
    gauges_ok = all(
        total(samples, f"protoqueue_queue_{gauge}", q) == 0
        for q in (IMAGES, RECEIPTS)
        for gauge in ("messages", "ack_pending")
    ) and all((total(samples, "protoqueue_queue_dead_letters", q) or 0) >= 1 for q in (IMAGES, RECEIPTS))
    return finals == enqueued and gauges_ok


def problems(samples, enqueued):
    found = []
    for name, labels, value in EXPECTED:
        actual = total(samples, name, labels)
        if (actual or 0) != value or (actual is None and value):
            found.append(f"{name}{labels}: {actual}, expected {value}")
    finals = sum(total(samples, SETTLED, {"outcome": o}) or 0 for o in FINAL_OUTCOMES)
    if finals != enqueued:
        found.append(f"final outcomes (acknowledged + dead_lettered + terminated) {finals} != {enqueued} enqueued")
    retried = total(samples, SETTLED, {"outcome": "retried"}) or 0
    consumed = total(samples, CONSUMED, {}) or 0
    if consumed != enqueued + retried:
        found.append(f"deliveries consumed {consumed} != {enqueued} enqueued + {retried} retried")
    # The successful image handlers sleep 25 ms in all (width / 200 ms each); histograms are in seconds.
    run_time = total(samples, DURATION + "_sum", {**IMAGES, "outcome": "success"}) or 0
    if not 0.025 <= run_time < 10:
        found.append(f"images success run time {run_time} s, expected at least 0.025 s and under 10 s")
    for q in (IMAGES, RECEIPTS):
        for gauge in ("messages", "pending", "ack_pending", "redelivered"):
            if total(samples, f"protoqueue_queue_{gauge}", q) != 0:
                found.append(f"protoqueue_queue_{gauge}{q}: {total(samples, f'protoqueue_queue_{gauge}', q)}")
        # Exactly 1 on a fresh server; a server reused across runs keeps the earlier runs' dead letters.
        if (total(samples, "protoqueue_queue_dead_letters", q) or 0) < 1:
            found.append(f"protoqueue_queue_dead_letters{q}: {total(samples, 'protoqueue_queue_dead_letters', q)}")
    return found


def main():
    binary = sys.argv[1]
    process = subprocess.Popen(
        [binary, "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    lines = queue.Queue()
    output = []

    def pump():
        for line in process.stdout:
            output.append(line.rstrip("\n"))
            lines.put(output[-1])
        lines.put(None)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()

    def fail(message, scrape=""):
        if process.poll() is None:
            process.kill()
            process.wait()
        print("\n".join(output), file=sys.stderr)
        if scrape:
            print(scrape, file=sys.stderr)
        print(f"error: {message}", file=sys.stderr)
        sys.exit(1)

    url, enqueued = None, None
    deadline = time.monotonic() + 60
    while url is None or enqueued is None:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            fail("metrics-endpoint did not report its URL and enqueued tasks within 60 s")
        if line is None:
            fail(f"metrics-endpoint exited with status {process.wait()} before serving")
        if match := re.search(r"serving (http://\S+/metrics)", line):
            url = match.group(1)
        if match := re.search(r"enqueued (\d+) tasks", line):
            enqueued = int(match.group(1))

    started = time.monotonic()
    scrapes = 0
    while True:
        with urllib.request.urlopen(url, timeout=5) as response:
            content_type = response.headers.get("Content-Type", "")
            text = response.read().decode()
        scrapes += 1
        samples = parse(text)
        if drained(samples, enqueued):
            break
        if time.monotonic() - started > 60:
            fail("the queues did not drain within 60 s", text)
        time.sleep(0.25)

    excerpt = [
        line for line in text.splitlines()
        if re.match(r"(# TYPE )?(messaging_|protoqueue_)", line) and "_bucket{" not in line
    ]
    buckets = sum("_bucket{" in line for line in text.splitlines())
    print(f"scrape {scrapes} of {url} after {time.monotonic() - started:.1f} s ({content_type}), "
          f"without its {buckets} histogram bucket lines:")
    print("\n".join(excerpt))
    found = problems(samples, enqueued)
    if "text/plain; version=0.0.4" not in content_type:
        found.append(f"Content-Type {content_type!r}, expected the Prometheus text format 0.0.4")
    if found:
        fail("unexpected metrics:\n  " + "\n  ".join(found))

    process.send_signal(signal.SIGTERM)
    try:
        status = process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        fail("metrics-endpoint did not stop within 20 s of SIGTERM")
    if status != 0:
        fail(f"metrics-endpoint exited with status {status} after SIGTERM")
    reader.join(timeout=5)
    print("metrics-endpoint output:\n  " + "\n  ".join(output))
    print(f"checked {len(EXPECTED)} series and the gauges: {enqueued} tasks enqueued, "
          f"{int(total(samples, CONSUMED, {}))} deliveries consumed, every task settled once")


if __name__ == "__main__":
    main()
