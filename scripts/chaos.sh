#!/usr/bin/env bash
# Chaos scenarios against real nats-server and worker processes on 127.0.0.1 (Sources/protoqueue-chaos):
# worker kill -9 x5, nats-server kill -9 + restart (x2 during enqueueBatch, x1 during processing), 3-node R3 cluster
# (stream leader, then consumer leader killed), worker SIGSTOP beyond the ack wait, poison + failing tasks, and
# schedules (3 instances of one 1-second schedule and delayed tasks while instances and the server are killed; 1 min
# with --ci, 10 min with --full).
# Prints one CHAOS line per scenario; exits non-zero if any scenario loses a task or fails its criteria.
#   scripts/chaos.sh --ci     3,000 tasks per scenario (scripts/test.sh)
#   scripts/chaos.sh --full   100,000 tasks per scenario (docs/reliability.md figures)
#   scripts/chaos.sh --tasks N [scenario[,scenario…]]
# NATS_SERVER_BIN picks the nats-server binary (default /usr/sbin/nats-server).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "$(command -v swift)" ] || export PATH="/opt/swift/usr/bin:$PATH"

tasks=3000
scenarios=all
while (($#)); do
    case "$1" in
        --ci) tasks=3000 ;;
        --full) tasks=100000 ;;
        --tasks) tasks="$2"; shift ;;
        -*) echo "chaos.sh: unknown option $1" >&2; exit 2 ;;
        *) scenarios="$1" ;;
    esac
    shift
done

swift build -c release --product protoqueue-chaos -Xswiftc -warnings-as-errors >/dev/null
binary="$(swift build -c release --show-bin-path)/protoqueue-chaos"
server=${NATS_SERVER_BIN:-/usr/sbin/nats-server}
echo "chaos: $tasks tasks per scenario, nats-server $("$server" --version | awk '{print $2}'), $(nproc) cores" >&2
# Bounded: the slowest CI scenario takes well under a minute; a stuck run is stopped after this.
timeout --signal=TERM --kill-after=30 "$((600 + tasks / 50))" "$binary" run "$scenarios" --tasks "$tasks"
