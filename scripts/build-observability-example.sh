#!/bin/sh
# Builds Examples/Observability, a separate package (path dependency on this one) whose metrics-endpoint bootstraps
# swift-prometheus, records QueueMetrics and QueueGaugePoller for two queues, processes sample tasks (some retried,
# some dead-lettered, one discarded) and serves /metrics with Hummingbird; then runs it against a private
# nats-server (or NATS_URL), scrapes /metrics and checks the metric families, their queue / task_type / outcome
# labels and their values (scripts/check-metrics-endpoint.py, Python standard library only), and prints the scrape.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/Examples/Observability"

swift build --product metrics-endpoint
"$root/scripts/with-nats-server.sh" python3 "$root/scripts/check-metrics-endpoint.py" \
    "$(swift build --show-bin-path)/metrics-endpoint"
echo "Examples/Observability: OK"
