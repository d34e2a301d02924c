#!/usr/bin/env python3
"""Reads a Protoqueue dead-letter stream with nats-py, following docs/wire-format.md only.

usage: read_dead_letters.py <nats url> <dead-letter stream>
Prints one JSON object per record and exits 0, or exits 1 naming the first record that breaks the format.
"""
import asyncio
import json
import sys

import nats

REQUIRED = [
    "Protoqueue-DLQ-Reason",
    "Protoqueue-DLQ-Error",
    "Protoqueue-DLQ-Attempts",
    "Protoqueue-DLQ-Subject",
    "Protoqueue-DLQ-Stream",
    "Protoqueue-DLQ-Sequence",
    "Protoqueue-DLQ-Consumer",
    "Protoqueue-DLQ-Failed-At",
]
REASONS = {"failed", "retriesExhausted", "decode", "maxDeliveries"}
DETAIL_PREFIX = "Protoqueue-DLQ-Detail-"
META_PREFIX = "Protoqueue-Meta-"


def fail(text):
    print(text, file=sys.stderr)
    sys.exit(1)


async def main(url, stream):
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(stream)
        first, last = info.state.first_seq, info.state.last_seq
        for seq in range(first, last + 1) if info.state.messages else []:
            try:
                msg = await js.get_msg(stream, seq)
            except nats.js.errors.NotFoundError:
                continue
            headers = msg.headers or {}
            for key in REQUIRED:
                if key not in headers:
                    fail(f"record {seq}: missing header {key}")
            reason = headers["Protoqueue-DLQ-Reason"]
            if reason not in REASONS:
                fail(f"record {seq}: unknown reason {reason!r}")
            record = {
                "sequence": seq,
                "reason": reason,
                "error": headers["Protoqueue-DLQ-Error"],
                "attempts": int(headers["Protoqueue-DLQ-Attempts"]),
                "original_subject": headers["Protoqueue-DLQ-Subject"],
                "original_stream": headers["Protoqueue-DLQ-Stream"],
                "original_sequence": int(headers["Protoqueue-DLQ-Sequence"]),
                "consumer": headers["Protoqueue-DLQ-Consumer"],
                "failed_at_ms": int(headers["Protoqueue-DLQ-Failed-At"]),
                "details": {k[len(DETAIL_PREFIX):]: v for k, v in headers.items() if k.startswith(DETAIL_PREFIX)},
                "metadata": {k[len(META_PREFIX):]: v for k, v in headers.items() if k.startswith(META_PREFIX)},
                "task_id": headers.get("Protoqueue-Task-Id") or headers.get("Protoqueue-Original-Nats-Msg-Id"),
                "type": headers.get("Protoqueue-Type"),
                "payload_hex": (msg.data or b"").hex(),
            }
            print(json.dumps(record, sort_keys=True))
    finally:
        await nc.close()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        fail(__doc__)
    asyncio.run(main(sys.argv[1], sys.argv[2]))
