#!/bin/sh
# Builds Examples/Observability, a separate package (path dependency on this one) with two executables, and runs and
# checks each against a private nats-server (or NATS_URL); the checkers use the Python standard library only.
# - metrics-endpoint bootstraps swift-prometheus, records QueueMetrics and QueueGaugePoller for two queues, processes
#   sample tasks (some retried, some dead-lettered, one discarded) and serves /metrics with Hummingbird;
#   scripts/check-metrics-endpoint.py scrapes it, checks the metric families, their queue / task_type / outcome labels
#   and their values, and prints the scrape.
# - trace-export bootstraps swift-otel's tracing backend, traces a checkout request and the tasks it enqueues with
#   QueueTracing (one with a follow-up task, one failing, one throwing until its attempts run out) and exports the
#   spans over OTLP/HTTP; scripts/check-trace-export.py receives them on 127.0.0.1, checks names, kinds, parents,
#   one trace id and the messaging attributes, and prints the trace as a tree.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/Examples/Observability"

swift build  # both executables
bin=$(swift build --show-bin-path)
"$root/scripts/with-nats-server.sh" python3 "$root/scripts/check-metrics-endpoint.py" "$bin/metrics-endpoint"
"$root/scripts/with-nats-server.sh" python3 "$root/scripts/check-trace-export.py" "$bin/trace-export"
echo "Examples/Observability: OK"
