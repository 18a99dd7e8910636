#!/usr/bin/python3
"""Generates a filesystem corpus for mica's foundation benchmarks.

The tree holds N certificate files mixed with N non-certificate files of similar sizes
(text, CSV, JSON, source code, random binary, some starting with 0x30 to exercise the
content sniffer) in nested directories of 100-1000 files each. Certificates use RSA 2048 /
RSA 3072 / EC P-256 / EC P-384 / Ed25519 keys from a small reused pool, are issued by five
intermediate CAs under two roots, carry the extensions public CAs put in (KU, EKU, SKI,
AKI, AIA, CRL DP, policies, basic constraints, SCT lists) and are written as PEM (~70 %,
a few with a chain of 2-3 certificates) or DER (~30 %).

Layout of OUT (never inside the repository):
  OUT/tree/            the corpus to scan
  OUT/manifest.json    counts, including `distinct_certificates`, the number of distinct
                       certificates (by DER) in the tree: what a scan must find
  OUT/cert_files.txt   paths (relative to OUT/tree) of the files that hold certificates

Deterministic with --seed and --now: keys are derived from the seed (RSA primes found by
a seeded search, EC and Ed25519 scalars drawn from it) and every file is made by its own
seeded RNG, so the tree has the same names, fields and non-certificate bytes on every run.
Exception: ECDSA signatures use OpenSSL's random nonce, so the signature bytes (and so
the fingerprints) of certificates issued by the EC intermediates differ between runs.

Uses Debian 12's python3-cryptography (38.x): run with /usr/bin/python3.
"""

import argparse
import bisect
import datetime as dt
import json
import math
import multiprocessing
import os
import random
import sys
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

LEAF_KEY_TYPES = ["rsa2048", "rsa3072", "p256", "p384", "ed25519"]
LEAF_KEY_WEIGHTS = [40, 10, 30, 10, 10]

# ---------------------------------------------------------------- deterministic keys

_SMALL_PRIMES = []


def _small_primes(limit=20000):
    if not _SMALL_PRIMES:
        sieve = bytearray([1]) * limit
        sieve[0:2] = b"\0\0"
        for i in range(2, int(limit**0.5) + 1):
            if sieve[i]:
                sieve[i * i :: i] = bytearray(len(sieve[i * i :: i]))
        _SMALL_PRIMES.extend(i for i in range(3, limit) if sieve[i])
    return _SMALL_PRIMES


def _is_probable_prime(n, rng, rounds=24):
    for p in _small_primes():
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for _ in range(rounds):
        a = rng.randrange(2, n - 2)
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(rng, bits):
    while True:
        # Top two bits set so that p*q has exactly 2*bits bits.
        c = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        if _is_probable_prime(c, rng):
            return c


def derive_key(kind, seed_text):
    """A private key of `kind`, derived only from seed_text."""
    rng = random.Random(seed_text)
    if kind.startswith("rsa"):
        bits = int(kind[3:])
        e = 65537
        while True:
            p, q = _prime(rng, bits // 2), _prime(rng, bits // 2)
            if p == q or math.gcd(e, (p - 1) * (q - 1)) != 1:
                continue
            if p < q:
                p, q = q, p
            d = pow(e, -1, (p - 1) * (q - 1))
            numbers = rsa.RSAPrivateNumbers(
                p, q, d, d % (p - 1), d % (q - 1), pow(q, -1, p), rsa.RSAPublicNumbers(e, p * q)
            )
            return numbers.private_key()
    if kind == "p256":
        return ec.derive_private_key(rng.randrange(1, 2**255), ec.SECP256R1())
    if kind == "p384":
        return ec.derive_private_key(rng.randrange(1, 2**383), ec.SECP384R1())
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.from_private_bytes(rng.randbytes(32))
    raise ValueError(kind)


def _key_job(args):
    kind, seed_text = args
    key = derive_key(kind, seed_text)
    return kind, seed_text, key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


# ---------------------------------------------------------------- CA hierarchy

ROOTS = [("root-rsa", "rsa3072", "Mica Bench Root R1"), ("root-ec", "p384", "Mica Bench Root E1")]
# name, key kind, CN, root index, signature hash of the certificates it issues
INTERMEDIATES = [
    ("int-rsa-a", "rsa2048", "Mica Bench RSA TLS CA 2024", 0, "sha256"),
    ("int-rsa-b", "rsa3072", "Mica Bench RSA OV CA G2", 0, "sha384"),
    ("int-rsa-cs", "rsa2048", "Mica Bench Code Signing CA", 0, "sha256"),
    ("int-ec-a", "p256", "Mica Bench ECC TLS CA 2024", 1, "sha256"),
    ("int-ec-b", "p384", "Mica Bench ECC OV CA G2", 1, "sha384"),
]
INT_WEIGHTS = [35, 15, 0, 35, 15]  # the code-signing CA issues only code-signing certs


def _hash(name):
    return {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), None: None}[name]


def _sign_hash(issuer_key, name):
    return None if isinstance(issuer_key, ed25519.Ed25519PrivateKey) else _hash(name)


def build_cas(keys, now):
    """Returns {name: (key, cert)} for roots and intermediates (deterministic fields)."""
    cas = {}
    start = now - dt.timedelta(days=700)
    for i, (name, _, cn) in enumerate(ROOTS):
        key = keys[name]
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Mica Bench Trust"),
                x509.NameAttribute(NameOID.COMMON_NAME, cn),
            ]
        )
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(0x1000 + i)
            .not_valid_before(start - dt.timedelta(days=3000))
            .not_valid_after(start + dt.timedelta(days=7000))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            )
            .add_extension(ski, critical=False)
            .sign(key, _sign_hash(key, "sha384"))
        )
        cas[name] = (key, cert)
    for i, (name, _, cn, root_index, _) in enumerate(INTERMEDIATES):
        key = keys[name]
        root_key, root_cert = cas[ROOTS[root_index][0]]
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Mica Bench Trust"),
                x509.NameAttribute(NameOID.COMMON_NAME, cn),
            ]
        )
        eku = (
            [ExtendedKeyUsageOID.CODE_SIGNING]
            if name == "int-rsa-cs"
            else [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
        )
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(root_cert.subject)
            .public_key(key.public_key())
            .serial_number(0x2000 + i)
            .not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(True, False, False, False, False, True, True, False, False),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage(eku), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
                critical=False,
            )
            .add_extension(
                x509.CRLDistributionPoints(
                    [
                        x509.DistributionPoint(
                            [x509.UniformResourceIdentifier(f"http://crl.bench.mica.test/{ROOTS[root_index][0]}.crl")],
                            None,
                            None,
                            None,
                        )
                    ]
                ),
                critical=False,
            )
            .sign(root_key, _sign_hash(root_key, "sha384"))
        )
        cas[name] = (key, cert)
    return cas


# ---------------------------------------------------------------- leaf certificates

WORDS = (
    "api www mail auth login app portal cdn static img shop pay billing admin vpn git ci "
    "build grafana kibana metrics logs db cache queue edge gw proxy sso id docs wiki status "
    "support m mobile beta staging dev test prod internal intranet files backup s3 storage"
).split()
ORGS = [
    "Example Corp",
    "Acme Widgets, Inc.",
    "Müller & Söhne GmbH",
    "Société Générale de Test",
    "Northwind Traders",
    "Contoso+Partners",
    "東京テスト株式会社",
    "Globex \"International\"",
    "Initech LLC",
    "Umbrella; Research",
]
TLDS = ["com", "net", "org", "io", "de", "fr", "co.uk", "example", "test", "cloud"]
POLICY_DV = ObjectIdentifier("2.23.140.1.2.1")
POLICY_OV = ObjectIdentifier("2.23.140.1.2.2")
POLICY_CS = ObjectIdentifier("2.23.140.1.4.1")
POLICY_PRIVATE = ObjectIdentifier("1.3.6.1.4.1.44947.1.1.1")
SCT_OID = ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")


def _der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def sct_extension_value(rng, count):
    """extnValue of an SCT list (RFC 6962 section 3.3): an OCTET STRING holding the TLS
    encoded SignedCertificateTimestampList. The SCTs are well formed but not signed by
    any real log; parsers only count them."""
    scts = b""
    for _ in range(count):
        sig = rng.randbytes(rng.randint(70, 72))
        body = (
            b"\x00"  # v1
            + rng.randbytes(32)  # log id
            + rng.getrandbits(63).to_bytes(8, "big")  # timestamp
            + b"\x00\x00"  # no extensions
            + b"\x04\x03"  # sha256 / ecdsa
            + len(sig).to_bytes(2, "big")
            + sig
        )
        scts += len(body).to_bytes(2, "big") + body
    tls = len(scts).to_bytes(2, "big") + scts
    return b"\x04" + _der_len(len(tls)) + tls


class Ctx:
    """Per-worker state: the key pool and the CA hierarchy."""

    def __init__(self, key_ders, ca_ders, seed, now):
        self.seed = seed
        self.now = now
        keys = {name: serialization.load_der_private_key(der, None) for name, der in key_ders.items()}
        self.pool = {
            kind: [keys[n] for n in sorted(keys) if n.startswith("leaf-" + kind + "-")] for kind in LEAF_KEY_TYPES
        }
        # The CA certificates are made once by the parent: ECDSA signatures are randomised,
        # so each worker building its own would put different intermediates in the chains.
        self.cas = {name: (keys[name], x509.load_der_x509_certificate(der)) for name, der in ca_ders.items()}


_CTX = None


def _init_worker(key_ders, ca_ders, seed, now_ts):
    global _CTX
    _CTX = Ctx(key_ders, ca_ders, seed, dt.datetime.fromtimestamp(now_ts, dt.timezone.utc))


def make_leaf(ctx, rng, index):
    """Returns (cert, issuer name, stats dict) for leaf number `index`."""
    code_signing = rng.random() < 0.03
    if code_signing:
        issuer_name = "int-rsa-cs"
        key_kind = rng.choice(["rsa2048", "rsa3072", "p256"])
    else:
        issuer_name = rng.choices([i[0] for i in INTERMEDIATES], INT_WEIGHTS)[0]
        key_kind = rng.choices(LEAF_KEY_TYPES, LEAF_KEY_WEIGHTS)[0]
    issuer_hash = next(i[4] for i in INTERMEDIATES if i[0] == issuer_name)
    issuer_key, issuer_cert = ctx.cas[issuer_name]
    key = rng.choice(ctx.pool[key_kind])

    domain = f"{rng.choice(WORDS)}{rng.randint(1, 9999)}-{index}.{rng.choice(TLDS)}"
    attrs = []
    org = None
    if rng.random() < 0.4 or code_signing:
        org = rng.choice(ORGS)
        attrs += [
            x509.NameAttribute(NameOID.COUNTRY_NAME, rng.choice(["US", "DE", "FR", "GB", "JP"])),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
        ]
        if rng.random() < 0.3:
            attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, rng.choice(["IT", "Ops", "R&D"])))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, f"{org} Code Signing {index}" if code_signing else domain))

    # Validity: ~10 % expired, ~10 % expiring within 30 days, the rest valid for a while.
    # not_before is always in the past.
    lifetime_days = rng.choice([90, 90, 90, 180, 365, 397, 730])
    r = rng.random()
    if r < 0.10:
        not_after = ctx.now - dt.timedelta(seconds=rng.randint(3600, 400 * 86400))
    elif r < 0.20:
        not_after = ctx.now + dt.timedelta(seconds=rng.randint(60, 30 * 86400))
    else:
        not_after = ctx.now + dt.timedelta(seconds=rng.randint(31 * 86400, lifetime_days * 86400 - 3600))
    not_before = not_after - dt.timedelta(days=lifetime_days)

    b = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attrs))
        .issuer_name(issuer_cert.subject)
        .public_key(key.public_key())
        .serial_number(rng.getrandbits(127) | (1 << 120))
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    is_rsa = key_kind.startswith("rsa")
    b = b.add_extension(
        x509.KeyUsage(True, False, is_rsa and not code_signing, False, False, False, False, False, False),
        critical=True,
    )
    if code_signing:
        eku = [ExtendedKeyUsageOID.CODE_SIGNING]
        sans = []
    else:
        eku = [ExtendedKeyUsageOID.SERVER_AUTH]
        if rng.random() < 0.5:
            eku.append(ExtendedKeyUsageOID.CLIENT_AUTH)
        n_sans = min(20, max(1, int(rng.expovariate(1 / 3.0)) + 1))
        sans = [domain] + [f"{rng.choice(WORDS)}{k}.{domain}" for k in range(1, n_sans)]
    b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    if sans:
        names = [x509.DNSName(s) for s in sans]
        if rng.random() < 0.05:
            import ipaddress

            names.append(x509.IPAddress(ipaddress.ip_address(f"10.{index % 250}.{rng.randint(0, 255)}.{rng.randint(1, 254)}")))
        b = b.add_extension(x509.SubjectAlternativeName(names), critical=False)
    b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    b = b.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
    )
    b = b.add_extension(
        x509.AuthorityInformationAccess(
            [
                x509.AccessDescription(
                    x509.oid.AuthorityInformationAccessOID.OCSP,
                    x509.UniformResourceIdentifier(f"http://ocsp.bench.mica.test/{issuer_name}"),
                ),
                x509.AccessDescription(
                    x509.oid.AuthorityInformationAccessOID.CA_ISSUERS,
                    x509.UniformResourceIdentifier(f"http://ca.bench.mica.test/{issuer_name}.der"),
                ),
            ]
        ),
        critical=False,
    )
    if rng.random() < 0.8:
        b = b.add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        [x509.UniformResourceIdentifier(f"http://crl.bench.mica.test/{issuer_name}/{index % 64}.crl")],
                        None,
                        None,
                        None,
                    )
                ]
            ),
            critical=False,
        )
    policies = [x509.PolicyInformation(POLICY_CS if code_signing else (POLICY_OV if org else POLICY_DV), None)]
    if rng.random() < 0.3:
        policies.append(x509.PolicyInformation(POLICY_PRIVATE, ["https://cps.bench.mica.test/"]))
    b = b.add_extension(x509.CertificatePolicies(policies), critical=False)
    n_sct = 0
    if not code_signing and rng.random() < 0.3:
        n_sct = rng.randint(2, 3)
        b = b.add_extension(x509.UnrecognizedExtension(SCT_OID, sct_extension_value(rng, n_sct)), critical=False)

    cert = b.sign(issuer_key, _sign_hash(issuer_key, issuer_hash))
    return cert, issuer_name, {"key": key_kind, "code_signing": code_signing, "sans": len(sans), "scts": n_sct}


# ---------------------------------------------------------------- non-certificate files

LOREM = (
    "the quick brown fox jumps over lazy dog config server port listen timeout retry user "
    "group path file cache size enable disable error warning info debug request response "
    "client session token value key name version build release update install remove"
).split()


def make_noise(rng, size):
    """Returns (extension, bytes) of one non-certificate file of about `size` bytes."""
    kind = rng.choices(["text", "csv", "json", "source", "binary", "der_like"], [25, 10, 20, 20, 15, 10])[0]
    if kind == "text":
        out = []
        n = 0
        while n < size:
            line = " ".join(rng.choice(LOREM) for _ in range(rng.randint(4, 14))) + "\n"
            out.append(line)
            n += len(line)
        return rng.choice([".txt", ".log", ".conf", ".md", ""]), "".join(out).encode()
    if kind == "csv":
        # Starts with '0' (0x30), like a DER SEQUENCE would.
        out = []
        n = 0
        while n < size:
            line = f"{len(out)},{rng.randint(0, 99999)},{rng.choice(LOREM)},{rng.random():.6f}\n"
            out.append(line)
            n += len(line)
        return ".csv", "".join(out).encode()
    if kind == "json":
        obj = []
        while len(json.dumps(obj)) < size:
            obj.append({rng.choice(LOREM): rng.choice(LOREM), "id": rng.randint(0, 10**9), "ok": rng.random() < 0.5})
        return ".json", json.dumps(obj, indent=1).encode()
    if kind == "source":
        out = ["#include <stdio.h>\n\n"]
        n = 0
        k = 0
        while n < size:
            fn = f"static int {rng.choice(LOREM)}_{k}(int x) {{\n  return x * {rng.randint(2, 99)} + {rng.randint(0, 9)};\n}}\n\n"
            out.append(fn)
            n += len(fn)
            k += 1
        return rng.choice([".c", ".cpp", ".h", ".py", ".go"]), "".join(out).encode()
    if kind == "binary":
        return rng.choice([".bin", ".dat", ".so", ""]), rng.randbytes(size)
    # der_like: a DER SEQUENCE header (sometimes with a consistent length) over garbage, or
    # a truncated SEQUENCE of SEQUENCE: must be rejected by the decoder, not crash it.
    body = rng.randbytes(size)
    if rng.random() < 0.5:
        head = b"\x30\x82" + len(body).to_bytes(2, "big")
    else:
        head = b"\x30\x82" + (len(body) + 200).to_bytes(2, "big") + b"\x30\x82\x01\x00"
    return rng.choice([".der", ".crt", ".cer", ".bin"]), head + body


# ---------------------------------------------------------------- layout and work


def layout(n_files, seed):
    """Splits file slots into directories of 100-1000 files; returns (bounds, dir paths)."""
    rng = random.Random(f"{seed}:layout")
    bounds, paths = [], []
    start, d = 0, 0
    while start < n_files:
        start += rng.randint(100, 1000)
        bounds.append(min(start, n_files))
        team = d // 8
        style = rng.random()
        if style < 0.3:
            p = f"srv/team{team:03d}/app{d:04d}/etc/ssl/certs"
        elif style < 0.6:
            p = f"home/user{team:03d}/project{d:04d}/config"
        elif style < 0.8:
            p = f"opt/vendor{team:03d}/pkg{d:04d}/share/data/misc"
        else:
            p = f"var/lib/svc{team:03d}/d{d:04d}"
        paths.append(p)
        d += 1
    return bounds, paths


def slot_dir(bounds, paths, slot):
    return paths[bisect.bisect_right(bounds, slot)]


def _work(args):
    lo, hi, seed, tree, bounds, paths = args
    ctx = _CTX
    stats = {
        "cert_files": 0, "pem_files": 0, "der_files": 0, "chain_files": 0, "leaf_certificates": 0,
        "chain_cas": [], "key_types": {}, "code_signing": 0, "with_scts": 0, "sans": 0,
        "noise_files": 0, "noise_starting_0x30": 0, "bytes": 0, "cert_paths": [],
    }
    made_dirs = set()
    for i in range(lo, hi):
        rng = random.Random(f"{seed}:file:{i}")
        cert_slot = 2 * i + (1 if rng.random() < 0.5 else 0)
        noise_slot = 4 * i + 1 - cert_slot  # the other slot of the pair

        cert, issuer_name, st = make_leaf(ctx, rng, i)
        der = cert.public_bytes(serialization.Encoding.DER)
        stats["leaf_certificates"] += 1
        stats["key_types"][st["key"]] = stats["key_types"].get(st["key"], 0) + 1
        stats["code_signing"] += st["code_signing"]
        stats["with_scts"] += st["scts"] > 0
        stats["sans"] += st["sans"]
        base = f"{st['key']}-{i:07d}"
        if rng.random() < 0.7:
            pem = cert.public_bytes(serialization.Encoding.PEM)
            if rng.random() < 0.04:
                int_key, int_cert = ctx.cas[issuer_name]
                pem += int_cert.public_bytes(serialization.Encoding.PEM)
                stats["chain_cas"].append(issuer_name)
                if rng.random() < 0.5:
                    root_name = ROOTS[next(x[3] for x in INTERMEDIATES if x[0] == issuer_name)][0]
                    pem += ctx.cas[root_name][1].public_bytes(serialization.Encoding.PEM)
                    stats["chain_cas"].append(root_name)
                stats["chain_files"] += 1
                if rng.random() < 0.5:
                    pem = b"# chain for " + base.encode() + b"\n" + pem
            content = pem
            name = base + rng.choice([".pem", ".pem", ".crt", ".cer", "-cert.pem", ""])
            stats["pem_files"] += 1
        else:
            content = der
            name = base + rng.choice([".der", ".der", ".cer", ".crt", ""])
            stats["der_files"] += 1
        stats["cert_files"] += 1

        ext, noise = make_noise(rng, max(200, int(len(content) * rng.uniform(0.5, 2.0))))
        noise_name = f"{rng.choice(LOREM)}-{i:07d}{ext}"
        stats["noise_files"] += 1
        stats["noise_starting_0x30"] += noise[:1] == b"\x30"

        for slot, fname, data, is_cert in ((cert_slot, name, content, True), (noise_slot, noise_name, noise, False)):
            d = slot_dir(bounds, paths, slot)
            if d not in made_dirs:
                os.makedirs(os.path.join(tree, d), exist_ok=True)
                made_dirs.add(d)
            with open(os.path.join(tree, d, fname), "wb") as f:
                f.write(data)
            stats["bytes"] += len(data)
            if is_cert:
                stats["cert_paths"].append(f"{d}/{fname}")
    return lo, stats


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=None, help="output folder (default /tmp/mica-bench/corpus-N)")
    ap.add_argument("-n", "--count", type=int, default=100_000, help="certificate files (and as many others)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--now", default=None, help="reference time, RFC 3339 (default: today 00:00 UTC)")
    ap.add_argument("--keys-per-type", type=int, default=20)
    ap.add_argument("-j", "--jobs", type=int, default=min(2, os.cpu_count() or 1))
    args = ap.parse_args()

    out = os.path.abspath(args.out or f"/tmp/mica-bench/corpus-{args.count}")
    repo = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
    if out == repo or out.startswith(repo + os.sep):
        sys.exit(f"gen_corpus: refusing to write inside the repository ({out}); use /tmp/mica-bench")
    tree = os.path.join(out, "tree")
    if os.path.exists(tree) and os.listdir(tree):
        sys.exit(f"gen_corpus: {tree} already exists and is not empty; remove it first")
    os.makedirs(tree, exist_ok=True)

    if args.now:
        now = dt.datetime.fromisoformat(args.now.replace("Z", "+00:00"))
    else:
        now = dt.datetime.now(dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)

    t0 = time.time()
    # Keys: derived from the seed, cached per seed because the RSA prime search is slow.
    cache = f"/tmp/mica-bench/keys-seed{args.seed}-k{args.keys_per_type}.json"
    jobs = [(name, kind) for name, kind, *_ in ROOTS + [(i[0], i[1]) for i in INTERMEDIATES]]
    for kind in LEAF_KEY_TYPES:
        jobs += [(f"leaf-{kind}-{k:03d}", kind) for k in range(args.keys_per_type)]
    key_ders = {}
    if os.path.exists(cache):
        with open(cache) as f:
            key_ders = {k: bytes.fromhex(v) for k, v in json.load(f).items()}
    missing = [(kind, f"{args.seed}:key:{name}") for name, kind in jobs if name not in key_ders]
    if missing:
        print(f"gen_corpus: deriving {len(missing)} keys (cached in {cache})", flush=True)
        by_seed = {f"{args.seed}:key:{name}": name for name, _ in jobs}
        with multiprocessing.Pool(args.jobs) as pool:
            for kind, seed_text, der in pool.imap_unordered(_key_job, missing):
                key_ders[by_seed[seed_text]] = der
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        with open(cache, "w") as f:
            json.dump({k: v.hex() for k, v in key_ders.items()}, f)
    print(f"gen_corpus: keys ready in {time.time() - t0:.1f}s", flush=True)

    t_certs = time.time()
    bounds, paths = layout(2 * args.count, args.seed)
    chunk = 500
    work = [(lo, min(lo + chunk, args.count), args.seed, tree, bounds, paths) for lo in range(0, args.count, chunk)]
    total = {
        "cert_files": 0, "pem_files": 0, "der_files": 0, "chain_files": 0, "leaf_certificates": 0,
        "key_types": {}, "code_signing": 0, "with_scts": 0, "sans": 0, "noise_files": 0,
        "noise_starting_0x30": 0, "bytes": 0,
    }
    chain_cas = set()
    cert_paths = {}
    done = 0
    last = 0.0
    keys = {name: serialization.load_der_private_key(der, None) for name, der in key_ders.items()}
    ca_ders = {name: cert.public_bytes(serialization.Encoding.DER) for name, (_, cert) in build_cas(keys, now).items()}
    with multiprocessing.Pool(args.jobs, _init_worker, (key_ders, ca_ders, args.seed, now.timestamp())) as pool:
        for lo, st in pool.imap_unordered(_work, work):
            for k, v in st.items():
                if k == "key_types":
                    for kk, vv in v.items():
                        total[k][kk] = total[k].get(kk, 0) + vv
                elif k == "chain_cas":
                    chain_cas.update(v)
                elif k == "cert_paths":
                    cert_paths[lo] = v
                else:
                    total[k] += v
            done += st["cert_files"]
            if time.time() - last > 5 or done == args.count:
                last = time.time()
                rate = done / max(1e-9, last - t_certs)
                print(f"gen_corpus: {done}/{args.count} certificate files ({rate:.0f}/s)", flush=True)

    manifest = {
        "generator": "bench/gen_corpus.py",
        "seed": args.seed,
        "now": now.isoformat(),
        "count": args.count,
        "tree": tree,
        "directories": len(paths),
        "files": total["cert_files"] + total["noise_files"],
        **total,
        "chain_ca_certificates": sorted(chain_cas),
        # Leaves are unique (random serials); CA certificates count once however many
        # chain files repeat them.
        "distinct_certificates": total["leaf_certificates"] + len(chain_cas),
        "seconds": round(time.time() - t0, 1),
    }
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2, ensure_ascii=False)
    with open(os.path.join(out, "cert_files.txt"), "w") as f:
        for lo in sorted(cert_paths):
            for p in cert_paths[lo]:
                f.write(p + "\n")
    print(
        f"gen_corpus: {manifest['files']} files in {manifest['directories']} directories, "
        f"{manifest['distinct_certificates']} distinct certificates, {manifest['bytes'] / 1e6:.1f} MB, "
        f"{manifest['seconds']}s -> {out}",
        flush=True,
    )


if __name__ == "__main__":
    main()
