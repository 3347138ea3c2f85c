#!/usr/bin/env python3
# The weights on this node as doctor reports them (src/doctor/probe.ts), read-only and without
# hashing: the revision present, how many of its files have the size the manifest says, the bytes,
# and whether the last full verification (src/host/weights.py) passed. One line on stdout.
# usage: weights-status.py MODELDIR [REVISION]    (no revision: the one last verified here)
import json
import os
import sys

d = sys.argv[1]
rev = sys.argv[2] if len(sys.argv) > 2 else ""
meta = os.path.join(d, "dgx-spark-vllm")
if not rev:
    try:
        with open(os.path.join(meta, "current.json")) as fh:
            rev = json.load(fh)["revision"]
    except (OSError, ValueError, KeyError):
        print("revision none: no verified weights on this node")
        sys.exit(0)
try:
    with open(os.path.join(meta, f"manifest-{rev}.json")) as fh:
        files = json.load(fh)["files"]
except (OSError, ValueError, KeyError):
    print(f"revision {rev}: not present")
    sys.exit(0)
ok = have = total = 0
for f in files:
    p = os.path.join(d, "snapshots", rev, f["path"])
    size = os.path.getsize(p) if os.path.exists(p) else 0
    ok += size == f["size"]
    have += size
    total += f["size"]
verified = os.path.exists(os.path.join(meta, f"verified-{rev}.json"))
print(
    f"revision {rev}: {ok}/{len(files)} files present with the right size, {have / 1e9:.2f} GB of {total / 1e9:.2f} GB; "
    + ("last full verification passed" if verified else "not verified")
)
