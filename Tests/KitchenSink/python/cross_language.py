#!/usr/bin/env python3
"""Cross-language vectors for the kitchen-sink schemas, run by Tests/ProtoqueueCodecTests/CrossLanguageTests.swift.

Usage:
  cross_language.py <proto-root> encode   print one "<name> <hex>" line per vector Python encodes
  cross_language.py <proto-root> check    read "<name> <hex>" lines Swift encoded from stdin, decode each with
                                          Google's protobuf runtime and compare it with the expected message;
                                          print "OK <name>" or "FAIL <name>: <why>", exit 1 on any failure
  cross_language.py <proto-root> json-encode
                                          print one "<name> <type> <hex of MessageToJson>" line per vector
  cross_language.py <proto-root> json     read "<name> <type> <hex bytes> <hex JSON>" lines Swift wrote (JSON from
                                          its descriptor-driven codec), check MessageToDict of the bytes equals the
                                          JSON and json_format.Parse of the JSON gives the same message; print
                                          "OK <name>" or "FAIL <name>: <why>", exit 1 on any failure
The Python classes are generated with `protoc --python_out` from the same .proto files into a temporary directory.
"""
import atexit
import importlib
import math
import os
import shutil
import subprocess
import sys
import tempfile

PROTOS = [
    "kitchen/shared/types.proto",
    "kitchen/sink/names.proto",
    "kitchen/sink/scalars.proto",
    "kitchen/sink/legacy.proto",
    "kitchen/sink/recursive.proto",
    "kitchen/sink/evolution.proto",
]


def load(proto_root):
    out = tempfile.mkdtemp(prefix="protoqueue-py-")
    atexit.register(shutil.rmtree, out, ignore_errors=True)
    subprocess.run(["protoc", f"--python_out={out}", f"--proto_path={proto_root}", *PROTOS], check=True)
    sys.path.insert(0, out)
    return {p.split("/")[-1][:-6]: importlib.import_module(p[:-6].replace("/", ".") + "_pb2") for p in PROTOS}


def everything_full(m):
    s, t, n = m["scalars"], m["types"], m["names"]
    e = s.Everything()
    e.f_int32 = -123456
    e.f_int64 = -9876543210
    e.f_uint32 = 4000000000
    e.f_uint64 = 18000000000000000000
    e.f_sint32 = -77
    e.f_sint64 = -7777777777
    e.f_fixed32 = 3000000000
    e.f_fixed64 = 12345678901234567890
    e.f_sfixed32 = -5
    e.f_sfixed64 = -6
    e.f_float = 1.5
    e.f_double = -2.25
    e.f_bool = True
    e.f_string = "héllo wörld ✓ 日本語 🚀"
    e.f_bytes = bytes(range(256))
    e.mood = s.Everything.MOOD_GRUMPY
    e.color = t.COLOR_BLUE
    e.nested.label = "nested"
    e.nested.values.extend([1, -2, 3])
    e.nested.deeper.id = 99
    e.money.currency = "EUR"
    e.money.units = 42
    e.money.nanos = -500
    e.r_int32.extend([1, -1, 2147483647, -2147483648])
    e.r_sint64.extend([-1, 1, -9223372036854775808])
    e.r_double.extend([0.5, -0.0, 1e300])
    e.r_bool.extend([True, False, True])
    e.r_fixed32.extend([0, 4294967295])
    e.r_int64_unpacked.extend([5, -5, 9223372036854775807])
    e.r_mood.extend([1, 2, -1])
    e.r_string.extend(["a", "", "ü"])
    e.r_bytes.extend([b"", b"\x00\x01"])
    e.r_nested.add().label = "r0"
    e.r_nested.add().values.append(7)
    e.m_int32[-1] = "minus one"
    e.m_int32[2] = "two"
    e.m_int64[-(2**63)] = "min"
    e.m_uint32[4294967295] = "max"
    e.m_uint64[2**64 - 1] = "max"
    e.m_sint32[-3] = "s32"
    e.m_sint64[3] = "s64"
    e.m_fixed32[7] = "f32"
    e.m_fixed64[8] = "f64"
    e.m_sfixed32[-9] = "sf32"
    e.m_sfixed64[-10] = "sf64"
    e.m_bool[True] = "yes"
    e.m_bool[False] = "no"
    e.m_string["k"] = "v"
    e.m_string[""] = "empty key"
    e.m_message["a"].label = "in map"
    e.m_enum["h"] = s.Everything.MOOD_HAPPY
    e.m_bytes[1] = b"\xff"
    e.m_double["pi"] = 3.25
    e.choice_string = "chosen"
    e.o_int32 = 0
    e.o_string = ""
    e.o_mood = s.Everything.MOOD_UNSPECIFIED
    e.o_bytes = b"x"
    e.o_double = -1.0
    e.o_bool = False
    k = e.keywords
    for name, value in [("class", 1), ("default", 2), ("self", 5), ("init", 6), ("unknown_fields", 7),
                        ("serialized_bytes", 8), ("type", 10), ("protocol", 11), ("int", 12), ("descriptor", 13),
                        ("description", 14), ("hash_value", 15), ("var", 18), ("func", 19), ("restrict_", 20)]:
        setattr(k, name, value)
    setattr(k, "return", "returned")
    setattr(k, "struct", True)
    k.proto_message_name = "not the real name"
    setattr(getattr(k, "in"), "is", 3)
    setattr(getattr(k, "where"), "as", 4)
    return e


def everything_extremes(m):
    s = m["scalars"]
    e = s.Everything()
    e.f_int32 = -2147483648
    e.f_int64 = 9223372036854775807
    e.f_uint32 = 4294967295
    e.f_uint64 = 18446744073709551615
    e.f_sint32 = -2147483648
    e.f_sint64 = -9223372036854775808
    e.f_fixed32 = 4294967295
    e.f_fixed64 = 18446744073709551615
    e.f_sfixed32 = 2147483647
    e.f_sfixed64 = -9223372036854775808
    e.f_float = math.inf
    e.f_double = -math.inf
    e.f_string = ""
    e.f_bytes = bytes(i % 251 for i in range(300_000))
    e.mood = 7  # not declared: kept as an unrecognized value
    e.r_double.extend([math.nan, math.inf, -math.inf, -0.0, 5e-324])
    e.r_mood.extend([99, -5])
    e.choice_nested.label = "deep choice"
    e.o_double = math.nan
    return e


def legacy_full(m):
    g = m["legacy"]
    l = g.Legacy()
    l.id = 7
    l.name = "legacy"
    l.count = 0
    l.count_with_default = 43
    l.label = "lbl"
    l.label_with_default = "hello \"world\""  # equal to the default but present
    l.ratio = 2.5
    l.enabled = False
    l.blob = b"\x00\x01"
    l.level = g.Legacy.LEVEL_LOW
    l.inner.code = 1
    l.inner.note = "n"
    l.required_inner.code = 2
    l.unpacked.extend([1, 2, 3])
    l.packed.extend([-1, -2, 3])
    l.names.extend(["x", "y"])
    l.inner_by_id[5].code = 5
    l.money.currency = "USD"
    l.small = 0.5
    l.big = 1
    l.pick_string = "picked"
    setattr(l, "class", 9)
    return l


def legacy_minimal(m):
    g = m["legacy"]
    l = g.Legacy()
    l.id = 1
    l.name = ""
    l.required_inner.code = 0
    return l


def node_chain(m):
    r = m["recursive"]
    root = r.Node()
    node = root
    for depth in range(1, 60):
        node.value = depth
        node.children.add().value = -depth
        node.named["n%d" % depth].value = depth * 10
        node = node.child
    node.leaf = "bottom"
    root.alt.value = 1000
    return root


def record_v2(m):
    v = m["evolution"]
    r = v.RecordV2()
    r.id = 1
    r.name = "v2"
    r.inner.a = 1
    r.inner.b = "inner added"
    r.inner.c = -3
    item = r.items.add()
    item.a = 2
    item.b = "item added"
    r.added_string = "added ✓"
    r.added_varint = -42
    r.added_fixed32 = 0xDEADBEEF
    r.added_double = 6.5
    r.added_message.b = "added message"
    r.added_packed.extend([1, 300, 70000])
    return r


# Vectors Python encodes for Swift to decode.
ENCODE = {
    "everything_full": everything_full,
    "everything_extremes": everything_extremes,
    "everything_empty": lambda m: m["scalars"].Everything(),
    "legacy_full": legacy_full,
    "legacy_minimal": legacy_minimal,
    "node_chain": node_chain,
    "record_v2": record_v2,
}

# Vectors Swift encodes for Python to check: (message type, expected message).
CHECK = {
    "everything_full": (lambda m: m["scalars"].Everything, everything_full),
    "everything_extremes": (lambda m: m["scalars"].Everything, everything_extremes),
    "legacy_full": (lambda m: m["legacy"].Legacy, legacy_full),
    "legacy_minimal": (lambda m: m["legacy"].Legacy, legacy_minimal),
    "node_chain": (lambda m: m["recursive"].Node, node_chain),
    # Swift decoded record_v2 as RecordV1 (an older schema) and encoded it again: nothing may be lost.
    "record_v2_through_v1": (lambda m: m["evolution"].RecordV2, record_v2),
}


def normalized(value):
    """JSON values compared with float equality and NaN equal to itself (json_format writes NaN as a string)."""
    if isinstance(value, dict):
        return {key: normalized(item) for key, item in value.items()}
    if isinstance(value, list):
        return [normalized(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def differs_only_in_numbers(a, b):
    """Whether two JSON values differ at most in number leaves (a float32 written with other digits)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(differs_only_in_numbers(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(differs_only_in_numbers(x, y) for x, y in zip(a, b))
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) and not isinstance(b, bool):
        return True
    return a == b


def check_json(modules):
    from google.protobuf import json_format, symbol_database
    import json
    database = symbol_database.Default()
    failures = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        name, type_name, hexbytes, hexjson = line.rstrip("\n").split(" ")
        cls = database.GetSymbol(type_name)
        message = cls.FromString(bytes.fromhex(hexbytes))
        ours = json.loads(bytes.fromhex(hexjson).decode())
        reference = json_format.MessageToDict(message)
        same = normalized(ours) == normalized(reference)
        if not same and differs_only_in_numbers(normalized(ours), normalized(reference)):
            # A float written with other digits (Swift's shortest round trip, json_format's 6 digits at least) is
            # the same float when json_format reads it into the field.
            parsed = json_format.Parse(bytes.fromhex(hexjson).decode(), cls())
            same = normalized(json_format.MessageToDict(parsed)) == normalized(reference)
        if not same:
            a, b = normalized(ours), normalized(reference)
            keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            detail = "; ".join(f"{k}: Swift {json.dumps(a.get(k))[:300]} vs json_format {json.dumps(b.get(k))[:300]}"
                               for k in keys)
            print(f"FAIL {name}: {detail}")
            failures += 1
            continue
        try:
            parsed = json_format.Parse(bytes.fromhex(hexjson).decode(), cls())
        except json_format.ParseError as error:
            # json_format cannot read back some of its own output (the largest float, 3.4028235e+38, is "too
            # large" for its parser): then the reverse check cannot be made with it.
            try:
                json_format.Parse(json_format.MessageToJson(message), cls())
            except json_format.ParseError:
                print(f"OK {name}")
                continue
            print(f"FAIL {name}: json_format.Parse refuses Swift's JSON: {error}")
            failures += 1
            continue
        if normalized(json_format.MessageToDict(parsed)) != normalized(reference):
            print(f"FAIL {name}: json_format.Parse of Swift's JSON gives another message")
            failures += 1
            continue
        print(f"OK {name}")
    return 1 if failures else 0


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in ("encode", "check", "json-encode", "json"):
        print(__doc__, file=sys.stderr)
        return 2
    modules = load(sys.argv[1])
    if sys.argv[2] == "encode":
        for name, build in ENCODE.items():
            print(name, build(modules).SerializeToString().hex())
        return 0
    if sys.argv[2] == "json-encode":
        from google.protobuf import json_format
        for name, build in ENCODE.items():
            message = build(modules)
            print(name, message.DESCRIPTOR.full_name, json_format.MessageToJson(message).encode().hex())
        return 0
    if sys.argv[2] == "json":
        return check_json(modules)
    failures = 0
    seen = set()
    for line in sys.stdin:
        if not line.strip():
            continue
        name, hexbytes = line.split()
        seen.add(name)
        if name not in CHECK:
            print(f"FAIL {name}: unknown vector")
            failures += 1
            continue
        message_type, build = CHECK[name]
        try:
            decoded = message_type(modules)()
            decoded.ParseFromString(bytes.fromhex(hexbytes))
        except Exception as error:  # noqa: BLE001 - any parse failure is a test failure
            print(f"FAIL {name}: Python cannot parse the bytes Swift wrote: {error}")
            failures += 1
            continue
        expected = build(modules)
        got = decoded.SerializeToString(deterministic=True)
        want = expected.SerializeToString(deterministic=True)
        if got != want:  # unknown fields would be serialized too, so they also make this differ
            print(f"FAIL {name}: decoded {decoded!r:.2000} expected {expected!r:.2000}")
            failures += 1
        else:
            print(f"OK {name}")
    for name in CHECK:
        if name not in seen:
            print(f"FAIL {name}: Swift sent no such vector")
            failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
