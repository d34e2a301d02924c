"""Generates NATS decentralized-auth material for the security tests, signed during the test run.

Writes into OUT_DIR: operator.jwt, <user>.creds for each user, <name>.seed for plain NKey users, and prints a JSON
object naming every public key, JWT and file. JWTs are encoded here (header.claims.signature, ed25519 via `nkeys`),
so the only dependency is the `nkeys` package.

    python make_credentials.py OUT_DIR
"""

import base64
import hashlib
import json
import os
import sys
import time

import nkeys


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def new_pair(prefix: int):
    seed = nkeys.encode_seed(os.urandom(32), prefix)
    return nkeys.from_seed(seed), seed.decode()


def public(pair) -> str:
    return pair.public_key.decode()


def encode_jwt(signer, subject: str, name: str, nats: dict) -> str:
    claims = {"iat": int(time.time()), "iss": public(signer), "name": name, "sub": subject, "nats": nats}
    # jti: a hash of the claims without it, as the reference implementation does.
    claims["jti"] = base64.b32encode(hashlib.sha256(json.dumps(claims, sort_keys=True).encode()).digest()).decode().rstrip("=")
    header = b64url(json.dumps({"typ": "JWT", "alg": "ed25519-nkey"}).encode())
    body = b64url(json.dumps(claims, separators=(",", ":")).encode())
    signature = signer.sign(f"{header}.{body}".encode())
    return f"{header}.{body}.{b64url(signature)}"


UNLIMITED = {"subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1, "wildcards": True, "conn": -1, "leaf": -1}
JETSTREAM = {"mem_storage": -1, "disk_storage": -1, "streams": -1, "consumer": -1}


def account_jwt(operator, account, name: str, jetstream: bool) -> str:
    limits = dict(UNLIMITED)
    if jetstream:
        limits.update(JETSTREAM)
    return encode_jwt(operator, public(account), name, {"limits": limits, "type": "account", "version": 2})


def user_creds(account, name: str, out_dir: str, permissions=None) -> dict:
    user, seed = new_pair(nkeys.PREFIX_BYTE_USER)
    nats = {"subs": -1, "data": -1, "payload": -1, "type": "user", "version": 2}
    nats.update(permissions or {"pub": {}, "sub": {}})
    token = encode_jwt(account, public(user), name, nats)
    path = os.path.join(out_dir, f"{name}.creds")
    with open(path, "w") as handle:
        handle.write(
            "-----BEGIN NATS USER JWT-----\n" + token + "\n------END NATS USER JWT------\n\n"
            "************************* IMPORTANT *************************\n"
            "NKEY Seed printed below can be used to sign and prove identity.\n\n"
            "-----BEGIN USER NKEY SEED-----\n" + seed + "\n------END USER NKEY SEED------\n"
        )
    return {"public": public(user), "creds": path}


def main() -> None:
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    operator, _ = new_pair(nkeys.PREFIX_BYTE_OPERATOR)
    operator_jwt = encode_jwt(operator, public(operator), "protoqueue-test-operator", {"type": "operator", "version": 2})
    operator_path = os.path.join(out_dir, "operator.jwt")
    with open(operator_path, "w") as handle:
        handle.write(operator_jwt)

    result = {"operator": {"public": public(operator), "jwt_file": operator_path}, "accounts": {}, "users": {}, "nkeys": {}}
    for name, jetstream in (("A", True), ("B", True), ("SYS", False)):
        account, _ = new_pair(nkeys.PREFIX_BYTE_ACCOUNT)
        result["accounts"][name] = {"public": public(account), "jwt": account_jwt(operator, account, name, jetstream)}
        if name != "SYS":
            result["users"][f"user{name}"] = user_creds(account, f"user{name}", out_dir)

    # An account the server was never told about (not in resolver_preload): its users must be refused.
    stranger, _ = new_pair(nkeys.PREFIX_BYTE_ACCOUNT)
    result["users"]["stranger"] = user_creds(stranger, "stranger", out_dir)
    # A user JWT claiming account A but signed by another key: a forged credential.
    forger, _ = new_pair(nkeys.PREFIX_BYTE_ACCOUNT)
    forged = user_creds(forger, "forged", out_dir)
    with open(forged["creds"]) as handle:
        text = handle.read()
    token = text.split("\n")[1]
    header, body, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["iss"] = result["accounts"]["A"]["public"]
    forged_body = b64url(json.dumps(claims, separators=(",", ":")).encode())
    with open(forged["creds"], "w") as handle:
        handle.write(text.replace(token, f"{header}.{forged_body}.{signature}"))
    result["users"]["forged"] = forged

    # Plain NKey users (authorization { users = [ {nkey: ...} ] }).
    for name in ("nkeyUser", "nkeyStranger"):
        pair, seed = new_pair(nkeys.PREFIX_BYTE_USER)
        path = os.path.join(out_dir, f"{name}.seed")
        with open(path, "w") as handle:
            handle.write(seed + "\n")
        result["nkeys"][name] = {"public": public(pair), "seed_file": path}

    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
