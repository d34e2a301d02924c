# Test helper: makes an NKey user key pair with openssl (ed25519) and the NKey encoding (prefix byte, CRC-16/XMODEM,
# base32 without padding). Writes the seed to <dir>/user.nk and prints the public key (U...).
import base64, subprocess, sys, os
d = sys.argv[1]
subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-outform", "DER", "-out", f"{d}/k.der"], check=True)
priv = open(f"{d}/k.der", "rb").read()[-32:]
pub = subprocess.run(["openssl", "pkey", "-in", f"{d}/k.der", "-inform", "DER", "-pubout", "-outform", "DER"], check=True, capture_output=True).stdout[-32:]
def crc16(data):
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc
def enc(raw):
    c = crc16(raw)
    return base64.b32encode(raw + bytes([c & 0xFF, c >> 8])).decode().rstrip("=")
USER = 20 << 3
SEED = 18 << 3
public = enc(bytes([USER]) + pub)
seed = enc(bytes([SEED | (USER >> 5), (USER & 31) << 3]) + priv)
open(f"{d}/user.nk", "w").write(seed + "\n")
print(public)
