#!/usr/bin/python3
"""Python peer of bench_parse: pyca/cryptography extracting the same certificate fields
as mica::x509::DecodeCertificate, over the same DER set, in one process.

  peer_cryptography.py [--passes N] DER_SET

DER_SET is the file `bench_parse --dump-der` writes (4-byte big-endian length + DER,
repeated), so both programs decode the same bytes. Loading is not timed. Prints a line
per pass and one machine-readable line:
  RESULT variant=python_cryptography threads=1 certs=... median_certs_per_s=... ...

Uses Debian 12's python3-cryptography (38.x): run with /usr/bin/python3.
"""

import argparse
import datetime as dt
import hashlib
import statistics
import sys
import time

import cryptography
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID

EKU_NAMES = {
    ExtendedKeyUsageOID.SERVER_AUTH: "server_auth",
    ExtendedKeyUsageOID.CLIENT_AUTH: "client_auth",
    ExtendedKeyUsageOID.CODE_SIGNING: "code_signing",
    ExtendedKeyUsageOID.EMAIL_PROTECTION: "email_protection",
    ExtendedKeyUsageOID.TIME_STAMPING: "time_stamping",
    ExtendedKeyUsageOID.OCSP_SIGNING: "ocsp_signing",
}
EPOCH = dt.datetime(1970, 1, 1)
KU_FIELDS = [
    "digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
    "key_agreement", "key_cert_sign", "crl_sign",
]


def load(path):
    with open(path, "rb") as f:
        blob = f.read()
    ders, pos = [], 0
    while pos < len(blob):
        n = int.from_bytes(blob[pos : pos + 4], "big")
        ders.append(blob[pos + 4 : pos + 4 + n])
        pos += 4 + n
    return ders


def uris(names):
    return [n.value for n in names if isinstance(n, x509.UniformResourceIdentifier)]


def decode(der):
    """Returns a dict of the fields mica's CertificateInfo and KeyInfo hold."""
    c = x509.load_der_x509_certificate(der)
    out = {
        "fingerprint": hashlib.sha256(der).hexdigest(),
        "sha1": hashlib.sha1(der).hexdigest(),
        "version": c.version.value + 1,
        "subject": c.subject.rfc4514_string(),
        "issuer": c.issuer.rfc4514_string(),
        "serial_hex": format(c.serial_number, "X"),
        # cryptography 38 gives naive UTC datetimes.
        "not_before": int((c.not_valid_before - EPOCH).total_seconds()),
        "not_after": int((c.not_valid_after - EPOCH).total_seconds()),
        "signature_algorithm": c.signature_algorithm_oid._name,
        "san_dns": [], "san_ip": [], "san_email": [], "san_uri": [],
        "key_usage": None, "eku": [], "basic_constraints": None, "ski": "", "aki": "",
        "ocsp": [], "ca_issuers": [], "crl": [], "sct_count": 0, "policies": [],
    }
    key = c.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        out["key"] = ("rsa", key.key_size, "")
    elif isinstance(key, ec.EllipticCurvePublicKey):
        out["key"] = ("ec", key.curve.key_size, key.curve.name)
    elif isinstance(key, ed25519.Ed25519PublicKey):
        out["key"] = ("ed25519", 253, "")
    elif isinstance(key, ed448.Ed448PublicKey):
        out["key"] = ("ed448", 456, "")
    elif isinstance(key, dsa.DSAPublicKey):
        out["key"] = ("dsa", key.key_size, "")
    else:
        out["key"] = ("unknown", 0, "")
    spki = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    out["spki_sha256"] = hashlib.sha256(spki).hexdigest()

    for ext in c.extensions:
        v = ext.value
        if isinstance(v, x509.SubjectAlternativeName):
            for n in v:
                if isinstance(n, x509.DNSName):
                    out["san_dns"].append(n.value)
                elif isinstance(n, x509.IPAddress):
                    out["san_ip"].append(str(n.value))
                elif isinstance(n, x509.RFC822Name):
                    out["san_email"].append(n.value)
                elif isinstance(n, x509.UniformResourceIdentifier):
                    out["san_uri"].append(n.value)
        elif isinstance(v, x509.KeyUsage):
            bits = [getattr(v, f) for f in KU_FIELDS]
            if v.key_agreement:
                bits += [v.encipher_only, v.decipher_only]
            out["key_usage"] = bits
        elif isinstance(v, x509.ExtendedKeyUsage):
            out["eku"] = [EKU_NAMES.get(o, o.dotted_string) for o in v]
        elif isinstance(v, x509.BasicConstraints):
            out["basic_constraints"] = (v.ca, -1 if v.path_length is None else v.path_length)
        elif isinstance(v, x509.SubjectKeyIdentifier):
            out["ski"] = v.digest.hex()
        elif isinstance(v, x509.AuthorityKeyIdentifier):
            out["aki"] = (v.key_identifier or b"").hex()
        elif isinstance(v, x509.AuthorityInformationAccess):
            for ad in v:
                if ad.access_method == AuthorityInformationAccessOID.OCSP:
                    out["ocsp"] += uris([ad.access_location])
                elif ad.access_method == AuthorityInformationAccessOID.CA_ISSUERS:
                    out["ca_issuers"] += uris([ad.access_location])
        elif isinstance(v, x509.CRLDistributionPoints):
            for dp in v:
                out["crl"] += uris(dp.full_name or [])
        elif isinstance(v, x509.PrecertificateSignedCertificateTimestamps):
            out["sct_count"] = len(v)
        elif isinstance(v, x509.CertificatePolicies):
            out["policies"] = [p.policy_identifier.dotted_string for p in v]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("der_set")
    ap.add_argument("--passes", type=int, default=3)
    args = ap.parse_args()

    ders = load(args.der_set)
    total_bytes = sum(len(d) for d in ders)
    print(f"peer_cryptography: {len(ders)} certificates, cryptography {cryptography.__version__}, "
          f"Python {sys.version.split()[0]}", flush=True)
    failed = 0
    for d in ders[:200]:  # warm up
        try:
            decode(d)
        except Exception:  # noqa: BLE001 - a peer that cannot read a certificate counts it
            pass
    times = []
    for p in range(args.passes):
        failed = 0
        t0 = time.perf_counter()
        for d in ders:
            try:
                decode(d)
            except Exception:  # noqa: BLE001
                failed += 1
        seconds = time.perf_counter() - t0
        times.append(seconds)
        print(f"  pass {p + 1}: {len(ders) / seconds:.0f} certs/s", flush=True)
    med = statistics.median(times)
    print(
        f"RESULT variant=python_cryptography threads=1 certs={len(ders)} passes={args.passes} "
        f"median_certs_per_s={len(ders) / med:.0f} best_certs_per_s={len(ders) / min(times):.0f} "
        f"median_mb_per_s={total_bytes / med / 1e6:.1f} rejected={failed} decoder=peer"
    )


if __name__ == "__main__":
    main()
