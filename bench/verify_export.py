#!/usr/bin/env python3
"""An independent RFC 6962 verifier for `mica audit export`: the peer of `mica audit
verify` in bench/run_watch.sh, and a cross-check of the log format (no code shared).

Reads JSON lines on stdin: entries {"seq", "leaf_hash", "body"}, then checkpoints
{"checkpoint": {"size", "root", ...}}. Recomputes every leaf hash from its body and the
tree head at every multiple of STEP entries (argument, default 1000) and at the end, then
compares them with the checkpoints. Signatures are not checked. Exit 1 on any mismatch.
"""
import hashlib
import json
import sys


def sha(b):
    return hashlib.sha256(b).digest()


def main(step):
    frontier = []  # [subtree size, hash], largest first
    size = 0
    heads = {}  # tree size -> root hex, at multiples of step
    problems = []
    checkpoints = []

    def root():
        if not frontier:
            return sha(b"")
        r = frontier[-1][1]
        for _, h in reversed(frontier[:-1]):
            r = sha(b"\x01" + h + r)
        return r

    for line in sys.stdin:
        rec = json.loads(line)
        if "checkpoint" in rec:
            checkpoints.append(rec["checkpoint"])
            continue
        if rec["seq"] != size:
            problems.append(f"expected entry {size}, got {rec['seq']}")
        leaf = sha(b"\x00" + rec["body"].encode())
        if leaf.hex() != rec["leaf_hash"]:
            problems.append(f"entry {rec['seq']}: body does not match its leaf hash")
        h, n = leaf, 1
        while frontier and frontier[-1][0] == n:
            h = sha(b"\x01" + frontier.pop()[1] + h)
            n *= 2
        frontier.append([n, h])
        size += 1
        if size % step == 0:
            heads[size] = root().hex()
    heads[size] = root().hex()
    checked = 0
    for c in checkpoints:
        if c["size"] in heads:
            checked += 1
            if heads[c["size"]] != c["root"]:
                problems.append(f"checkpoint {c['size']}: root differs")
    print(f"entries {size} checkpoints_checked {checked} problems {len(problems)}")
    for p in problems[:10]:
        print("  " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
