#!/bin/bash
set -euo pipefail
NODE=spark-head
MODE=fetch
REPO=deepseek-ai/DeepSeek-V4-Flash
REVISION=''
IMAGE=vllm-gb10-dsv4
HOST_HF=/home/spark/.cache/huggingface
CONTAINER_HF=/root/.cache/huggingface
HUB_ENDPOINT=''
# shellcheck disable=SC2016 # a quoted value, expanded later
PY='# Model delivery on a node (src/plan/weights.ts renders the calls; src/host/weights.sh runs them).
# Python 3.8+, standard library only, except `fetch`, which runs in the image with its
# huggingface_hub (the real client: hf_hub_download does the HTTP, the cache layout and the resume
# of partial downloads).
#
#   fetch  REPO REVISION HUB NODE          download into the cache HUB (<hf home>/hub), verify,
#                                          re-fetch what is corrupt or partial; no hub request
#                                          at all when a verified manifest of REVISION is there
#   copy   MODELDIR REV NODE TARGET USER DST ADDR[,ADDR] [SSH OPTION...]
#                                          push the verified files to TARGET'\''s cache over SSH to
#                                          its data-plane addresses (one stream per address),
#                                          resuming partial files, then verify there; re-copy
#                                          what is corrupt
#   status MODELDIR REV                    (run on the target by `copy`) JSON: per file the
#                                          bytes present and whether size and hash match
#   finish MODELDIR REV                    (run on the target by `copy`) complete the copied
#                                          blobs into the snapshot
#   local  PATH REVISION NODE              verify a local copy against the hub'\''s download
#                                          metadata it holds; no network at all
# (doctor reads what this leaves behind with src/host/weights-status.py.)
#
# Integrity: every file of the manifest (the hub'\''s model info for the revision) is checked for
# its size and its hash: sha256 for LFS files (every weight file), the git blob sha1 for the small
# non-LFS files (the hub publishes only that for them). Progress lines go to stderr: bytes,
# percent, rate, ETA. No token is ever read from or written to a command line or a log.
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time

COMMIT = re.compile(r"^[0-9a-f]{40}$")
META = "dgx-spark-vllm"
PROGRESS_S = float(os.environ.get("DSV_PROGRESS_S", "5"))


def say(node, what, msg):
    print(f"dgx-spark-vllm: node {node}: weights {what}: {msg}", file=sys.stderr, flush=True)


def die(node, what, msg):
    say(node, what, msg)
    sys.exit(1)


def gb(n):
    return f"{n / 1e9:.2f} GB"


def dur(s):
    s = int(s)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


class Progress:
    """Progress lines (bytes, percent, rate, ETA) every PROGRESS_S seconds and at the end."""

    def __init__(self, node, what, total, poll=None):
        self.node, self.what, self.total, self.poll = node, what, total, poll
        self.done, self.t0, self.last = 0, time.monotonic(), 0.0
        self.lock = threading.Lock()
        self.stop_ev = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def add(self, n):
        with self.lock:
            self.done += n

    def line(self):
        done = self.poll() if self.poll else self.done
        el = max(time.monotonic() - self.t0, 1e-6)
        rate = done / el
        pct = 100.0 * done / self.total if self.total else 100.0
        eta = dur((self.total - done) / rate) if rate > 0 and done < self.total else "0m00s"
        return f"{gb(done)} / {gb(self.total)} ({pct:.1f}%), {rate / 1e6:.1f} MB/s, ETA {eta}"

    def _run(self):
        while not self.stop_ev.wait(PROGRESS_S):
            say(self.node, self.what, self.line())

    def finish(self):
        self.stop_ev.set()
        self.thread.join()
        say(self.node, self.what, self.line() + f", {dur(time.monotonic() - self.t0)} elapsed")


def expected_hash(f):
    return ("sha256", f["sha256"]) if f.get("sha256") else ("gitsha1", f["blobId"])


def blob_name(f):
    return f["sha256"] or f["blobId"]


def file_hash(path, kind, size, progress=None):
    h = hashlib.sha256() if kind == "sha256" else hashlib.sha1(b"blob %d\0" % size)
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(8 << 20)
            if not chunk:
                break
            h.update(chunk)
            if progress:
                progress.add(len(chunk))
    return h.hexdigest()


def manifest_path(modeldir, rev):
    return os.path.join(modeldir, META, f"manifest-{rev}.json")


def load_manifest(modeldir, rev):
    with open(manifest_path(modeldir, rev)) as fh:
        return json.load(fh)


def write_json(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.tmp"
    with open(tmp, "w") as fh:
        json.dump(data, fh, indent=1, sort_keys=True)
    os.replace(tmp, path)


def snapshot_file(modeldir, rev, rel):
    return os.path.join(modeldir, "snapshots", rev, rel)


def present_size(modeldir, rev, f):
    """Bytes of a file present: the snapshot'\''s file, else a partial blob (`.incomplete`)."""
    p = snapshot_file(modeldir, rev, f["path"])
    if os.path.exists(p):
        return os.path.getsize(p), True
    inc = os.path.join(modeldir, "blobs", blob_name(f) + ".incomplete")
    return (os.path.getsize(inc) if os.path.exists(inc) else 0), False


def verify(modeldir, man, node, what="verify", only=None):
    """Check every file (or those in `only`): returns {path: problem} for the bad ones."""
    files = [f for f in man["files"] if only is None or f["path"] in only]
    total = sum(f["size"] for f in files)
    prog = Progress(node, what, total)
    bad = {}
    for f in files:
        p = snapshot_file(modeldir, man["revision"], f["path"])
        if not os.path.exists(p):
            bad[f["path"]] = "missing"
            continue
        size = os.path.getsize(p)
        if size != f["size"]:
            bad[f["path"]] = f"size {size}, expected {f['\''size'\'']}"
            continue
        kind, want = expected_hash(f)
        got = file_hash(p, kind, size, prog)
        if got != want:
            bad[f["path"]] = f"{kind} {got}, expected {want}"
    prog.finish()
    return bad


def stamp(modeldir, man, node):
    n, total = len(man["files"]), sum(f["size"] for f in man["files"])
    write_json(
        os.path.join(modeldir, META, f"verified-{man['\''revision'\'']}.json"),
        {"revision": man["revision"], "files": n, "bytes": total},
    )
    write_json(os.path.join(modeldir, META, "current.json"), {"revision": man["revision"]})
    say(node, "ok", f"revision {man['\''revision'\'']}: {n} files verified (size and hash), {gb(total)}")


def drop(modeldir, rev, f):
    """Remove a bad file: the snapshot'\''s link and the blob it points at (never served again)."""
    p = snapshot_file(modeldir, rev, f["path"])
    if os.path.islink(p):
        target = os.path.realpath(p)
        os.unlink(p)
        if os.path.exists(target):
            os.unlink(target)
    elif os.path.exists(p):
        os.unlink(p)
    b = os.path.join(modeldir, "blobs", blob_name(f))
    if os.path.exists(b):
        os.unlink(b)


def check_disk(node, path, need, what):
    d = path
    while not os.path.isdir(d):
        d = os.path.dirname(d)
    free = shutil.disk_usage(d).free
    if free < need:
        die(node, "disk", f"{gb(free)} free under {d}, {what} needs {gb(need)} more: free space or set model.hfCachePath")
    say(node, "disk", f"{gb(free)} free under {d}, {what} needs {gb(need)}")


def modeldir_of(hub, repo):
    return os.path.join(hub, "models--" + repo.replace("/", "--"))


def fetch(repo, revision, hub, node):
    from concurrent.futures import ThreadPoolExecutor

    # The token arrives on stdin (one line, maybe empty), never in the container'\''s config.
    if os.environ.get("DSV_TOKEN_ON_STDIN") == "1":
        token = sys.stdin.readline().rstrip("\r\n")
        if token:
            os.environ["HF_TOKEN"] = token

    from huggingface_hub import HfApi, hf_hub_download

    modeldir = modeldir_of(hub, repo)
    man = None
    if COMMIT.match(revision) and os.path.exists(manifest_path(modeldir, revision)):
        man = load_manifest(modeldir, revision)
        bad = verify(modeldir, man, node)
        if not bad:
            say(node, "download", "every file present and verified: nothing to transfer, no hub request")
            stamp(modeldir, man, node)
            return
    if man is None:
        info = HfApi().model_info(repo, revision=revision or None, files_metadata=True)
        files = []
        for s in info.siblings:
            lfs = s.lfs
            files.append(
                {
                    "path": s.rfilename,
                    "size": s.size,
                    "blobId": s.blob_id,
                    "sha256": (lfs.sha256 if lfs else None),
                }
            )
        man = {"repo": repo, "revision": info.sha, "files": sorted(files, key=lambda f: f["path"])}
        write_json(manifest_path(modeldir, info.sha), man)
        say(node, "download", f"{repo} revision {info.sha}: {len(files)} files, {gb(sum(f['\''size'\''] for f in files))}")
        bad = verify(modeldir, man, node)
    rev = man["revision"]
    byname = {f["path"]: f for f in man["files"]}
    for path, why in sorted(bad.items()):
        if why != "missing":
            say(node, "repair", f"{path}: {why}: fetching it again")
            drop(modeldir, rev, byname[path])
    todo = [byname[p] for p in sorted(bad)]
    have = sum(present_size(modeldir, rev, f)[0] for f in todo)
    need = sum(f["size"] for f in todo) - have
    check_disk(node, modeldir, need, f"the download ({len(todo)} files)")
    for attempt in (1, 2):
        blobs = os.path.join(modeldir, "blobs")

        def on_disk(todo=todo):
            return sum(present_size(modeldir, rev, f)[0] for f in todo) - have

        prog = Progress(node, "download", need, poll=on_disk)

        def one(f):
            hf_hub_download(repo, f["path"], revision=rev, cache_dir=hub)

        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(one, todo))
        prog.finish()
        bad = verify(modeldir, man, node, only={f["path"] for f in todo})
        if not bad:
            break
        for path, why in sorted(bad.items()):
            say(node, "repair", f"{path}: {why} after download: fetching it again")
            drop(modeldir, rev, byname[path])
        todo, have = [byname[p] for p in sorted(bad)], 0
        need = sum(f["size"] for f in todo)
        os.makedirs(blobs, exist_ok=True)
    if bad:
        die(node, "download", f"{len(bad)} file(s) still fail verification, not served: {sorted(bad)[:5]}")
    # An unpinned revision: refs/main lets the engine (and `copy`) find the snapshot.
    if not COMMIT.match(revision):
        os.makedirs(os.path.join(modeldir, "refs"), exist_ok=True)
        with open(os.path.join(modeldir, "refs", revision or "main"), "w") as fh:
            fh.write(rev)
    stamp(modeldir, man, node)


def status(modeldir, rev):
    """On the copy'\''s target: per file bytes present, complete and verified; free bytes."""
    man = load_manifest(modeldir, rev)
    out = {"free": shutil.disk_usage(nearest_dir(modeldir)).free, "files": {}}
    for f in man["files"]:
        size, complete = present_size(modeldir, rev, f)
        ok = False
        if complete and size == f["size"]:
            kind, want = expected_hash(f)
            ok = file_hash(snapshot_file(modeldir, rev, f["path"]), kind, size) == want
        out["files"][f["path"]] = {"size": size, "complete": complete, "ok": ok}
    if all(v["ok"] for v in out["files"].values()):
        stamp_quiet(modeldir, man)
    print(json.dumps(out))


def stamp_quiet(modeldir, man):
    write_json(
        os.path.join(modeldir, META, f"verified-{man['\''revision'\'']}.json"),
        {"revision": man["revision"], "files": len(man["files"]), "bytes": sum(f["size"] for f in man["files"])},
    )
    write_json(os.path.join(modeldir, META, "current.json"), {"revision": man["revision"]})


def nearest_dir(d):
    while not os.path.isdir(d):
        d = os.path.dirname(d)
    return d


def finish(modeldir, rev):
    """On the copy'\''s target: a complete `.incomplete` blob becomes the blob and the snapshot links to it."""
    man = load_manifest(modeldir, rev)
    for f in man["files"]:
        blob = os.path.join(modeldir, "blobs", blob_name(f))
        inc = blob + ".incomplete"
        if os.path.exists(inc) and os.path.getsize(inc) == f["size"]:
            os.replace(inc, blob)
        link = snapshot_file(modeldir, rev, f["path"])
        if os.path.exists(blob) and not os.path.exists(link):
            os.makedirs(os.path.dirname(link), exist_ok=True)
            if os.path.islink(link):
                os.unlink(link)
            os.symlink(os.path.relpath(blob, os.path.dirname(link)), link)


def copy(modeldir, rev, node, target, user, dst, addrs, ssh_opts):
    # This program'\''s own text, run on the target for its status: weights.sh hands it over in
    # DSV_WEIGHTS_PY (no temporary file that a killed run would leave behind); else this file.
    me = os.environ.get("DSV_WEIGHTS_PY")
    if me is None:
        with open(os.path.abspath(__file__)) as fh:
            me = fh.read()
    if rev == "":
        with open(os.path.join(modeldir, META, "current.json")) as fh:
            rev = json.load(fh)["revision"]
    man = load_manifest(modeldir, rev)
    byname = {f["path"]: f for f in man["files"]}
    what = f"copy to {target}"

    def remote(addr, cmd, stdin=None, capture=True, data=None):
        argv = ["ssh", *ssh_opts, f"{user}@{addr}", cmd]
        io = {"input": data} if data is not None else {"stdin": stdin}
        r = subprocess.run(argv, **io, stdout=subprocess.PIPE if capture else None, stderr=subprocess.PIPE)
        if r.returncode != 0:
            die(node, what, f"ssh {user}@{addr} failed (exit {r.returncode}): {r.stderr.decode(errors='\''replace'\'').strip()[-400:]}")
        return r.stdout.decode() if capture else ""

    qd = shlex.quote(dst)
    first = addrs[0]
    with open(manifest_path(modeldir, rev), "rb") as fh:
        remote(first, f"mkdir -p {qd}/{META} {qd}/blobs && cat > {qd}/{META}/manifest-{rev}.json", stdin=fh)

    def remote_status():
        return json.loads(remote(first, f"python3 - status {qd} {rev}", data=me.encode()))

    st = remote_status()
    for attempt in (1, 2):
        jobs = []  # (file, offset)
        for path, s in sorted(st["files"].items()):
            f = byname[path]
            if s["ok"]:
                continue
            if s["complete"] or s["size"] > f["size"]:
                if s["complete"]:
                    say(node, "repair", f"{target}: {path}: does not match the manifest: copying it again")
                jobs.append((f, 0))
            else:
                jobs.append((f, s["size"]))
        if not jobs:
            break
        need = sum(f["size"] - off for f, off in jobs)
        if st["free"] < need:
            die(node, "disk", f"{target}: {gb(st['\''free'\''])} free under {dst}, the copy needs {gb(need)} more: free space on {target}")
        resumed = sum(off for _, off in jobs)
        say(
            node,
            what,
            f"{len(jobs)} file(s), {gb(need)} over {'\'', '\''.join(addrs)}"
            + (f" (resuming: {gb(resumed)} already there)" if resumed else "")
            + f"; {gb(st['\''free'\''])} free on {target}",
        )
        # Largest first onto the least loaded address: the streams finish together.
        lanes = [[] for _ in addrs]
        load = [0] * len(addrs)
        for job in sorted(jobs, key=lambda j: j[0]["size"] - j[1], reverse=True):
            i = load.index(min(load))
            lanes[i].append(job)
            load[i] += job[0]["size"] - job[1]
        prog = Progress(node, what, need)
        errors = []

        def lane(addr, work):
            for f, off in work:
                src = snapshot_file(modeldir, rev, f["path"])
                link = shlex.quote(f"{dst}/snapshots/{rev}/{f['\''path'\'']}")
                inc = shlex.quote(f"{dst}/blobs/{blob_name(f)}.incomplete")
                blob = shlex.quote(f"{dst}/blobs/{blob_name(f)}")
                start = f"rm -f {link} {blob}; " + (f": > {inc}; " if off == 0 else "")
                p = subprocess.Popen(
                    ["ssh", *ssh_opts, f"{user}@{addr}", f"{start}cat >> {inc}"],
                    stdin=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                )
                try:
                    with open(src, "rb") as fh:
                        fh.seek(off)
                        while True:
                            chunk = fh.read(4 << 20)
                            if not chunk:
                                break
                            p.stdin.write(chunk)
                            prog.add(len(chunk))
                    p.stdin.close()
                except BrokenPipeError:
                    pass
                if p.wait() != 0:
                    errors.append(f"{addr}: {f['\''path'\'']}: ssh exit {p.returncode}: {p.stderr.read().decode(errors='\''replace'\'').strip()[-300:]}")
                    return

        threads = [threading.Thread(target=lane, args=(a, w)) for a, w in zip(addrs, lanes)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        prog.finish()
        if errors:
            die(node, what, "; ".join(errors))
        remote(first, f"python3 - finish {qd} {rev}", data=me.encode())
        st = remote_status()
    bad = [p for p, s in st["files"].items() if not s["ok"]]
    if bad:
        die(node, what, f"{len(bad)} file(s) on {target} still fail verification, not served: {sorted(bad)[:5]}")
    n, total = len(man["files"]), sum(f["size"] for f in man["files"])
    say(node, "ok", f"{target}: revision {rev}: {n} files verified (size and hash), {gb(total)}")


def local(path, revision, node):
    """A local copy made by `hf download --local-dir` (its .cache/huggingface/download/*.metadata)."""
    if not os.path.isdir(path):
        die(node, "local", f"model.localPath {path} is not a folder on this node: mount or copy the model there")
    metadir = os.path.join(path, ".cache", "huggingface", "download")
    files = []
    for root, dirs, names in os.walk(path):
        dirs[:] = [d for d in dirs if not (root == path and d == ".cache")]
        for n in names:
            files.append(os.path.relpath(os.path.join(root, n), path))
    if not files:
        die(node, "local", f"model.localPath {path} holds no files")
    bad = {}
    plan = []
    for rel in sorted(files):
        meta = os.path.join(metadir, rel + ".metadata")
        if not os.path.exists(meta):
            bad[rel] = "no download metadata (make the copy with `hf download --local-dir`)"
            continue
        with open(meta) as fh:
            lines = fh.read().split("\n")
        commit, etag = lines[0].strip(), lines[1].strip().strip('\''"'\'')
        if revision and COMMIT.match(revision) and commit != revision:
            bad[rel] = f"from revision {commit}, model.revision is {revision}"
            continue
        plan.append((rel, commit, etag))
    total = sum(os.path.getsize(os.path.join(path, r)) for r, _, _ in plan)
    prog = Progress(node, "verify", total)
    for rel, _, etag in plan:
        p = os.path.join(path, rel)
        kind = "sha256" if len(etag) == 64 else "gitsha1"
        if file_hash(p, kind, os.path.getsize(p), prog) != etag:
            bad[rel] = f"{kind} does not match the hub'\''s {etag}"
    prog.finish()
    if bad:
        shown = "; ".join(f"{k}: {v}" for k, v in sorted(bad.items())[:5])
        die(node, "local", f"{len(bad)} of {len(files)} file(s) under {path} fail verification, not served: {shown}")
    commits = sorted({c for _, c, _ in plan})
    say(node, "ok", f"local copy {path}: revision {'\'', '\''.join(commits)}: {len(files)} files verified (hash), {gb(total)}, no hub access")


def main(argv):
    cmd, rest = argv[0], argv[1:]
    if cmd == "fetch":
        fetch(*rest[:4])
    elif cmd == "copy":
        copy(*rest[:6], rest[6].split(","), rest[7:])
    elif cmd == "status":
        status(*rest[:2])
    elif cmd == "finish":
        finish(*rest[:2])
    elif cmd == "local":
        local(*rest[:3])
    else:
        sys.exit(f"weights.py: unknown command {cmd}")


if __name__ == "__main__":
    main(sys.argv[1:])
'

# Model delivery on one node (src/plan/weights.ts): the variable block in front sets NODE, MODE and
# what the mode needs; PY holds src/host/weights.py, which does the work.
#   fetch  (on the node) download into the node's Hugging Face cache with the image's
#          huggingface_hub, verify every file, re-fetch what is corrupt or partial. stdin: the HF
#          token (or nothing); it reaches the container on its stdin (docker run -i), so it is
#          neither text in a command nor a value in the container's config (docker inspect).
#   copy   (on the head) push the head's verified files to TARGET over its data-plane addresses
#          (SSH, one stream per address), resuming partial files; verify there, re-copy what is bad.
#          If the copy cannot finish, TARGET downloads itself (FALLBACK_B64: its fetch script, run over
#          SSH to its management address with the token on stdin).
#   local  (on the node) verify the local copy under LOCAL_PATH; no network.
: "${NODE:?}" "${MODE:?}" "${PY:?}"

case "$MODE" in
  fetch)
    HF_TOKEN=
    IFS= read -r HF_TOKEN || true
    endpoint=()
    if [ -n "${HUB_ENDPOINT:-}" ]; then endpoint=(-e "HF_ENDPOINT=$HUB_ENDPOINT"); fi
    printf '%s\n' "$HF_TOKEN" | docker run -i --rm --network host --entrypoint python3 \
      -e DSV_TOKEN_ON_STDIN=1 -e HF_HUB_DISABLE_PROGRESS_BARS=1 -e HF_HUB_ENABLE_HF_TRANSFER=0 "${endpoint[@]}" \
      -v "$HOST_HF:$CONTAINER_HF" "$IMAGE" -c "$PY" fetch "$REPO" "$REVISION" "$CONTAINER_HF/hub" "$NODE" \
      || {
        fix="check the HF token has access to the gated model, the revision and the disk space"
        echo "dgx-spark-vllm: node $NODE: weights: downloading $REPO failed (above): $fix" >&2
        exit 1
      }
    ;;
  copy)
    # stdin: the HF token (or nothing), used only when the copy fails and TARGET downloads itself.
    HF_TOKEN=
    IFS= read -r HF_TOKEN || true
    # The program's text also travels in DSV_WEIGHTS_PY: copy runs it on TARGET for its status.
    if ! DSV_WEIGHTS_PY=$PY python3 -c "$PY" copy "$SRC_DIR" "$REVISION" "$NODE" "$TARGET" "$TARGET_USER" "$TARGET_DIR" "$ADDRS" "${PEER_SSH[@]}"; then
      # As safe as delivery each: a copy that cannot finish (link, SSH, permissions, a file that
      # fails verification twice) falls back to TARGET's own download, verified the same way.
      echo "dgx-spark-vllm: node $NODE: weights: the copy to $TARGET failed (above): $TARGET downloads from the hub instead (as delivery each)" >&2
      # FALLBACK_B64: the target's own download script (base64, so it crosses SSH as one plain word).
      # shellcheck disable=SC2029 # expanded here on purpose: the script travels in the command
      printf '%s\n' "$HF_TOKEN" | ssh "${PEER_SSH[@]}" "$TARGET_USER@$TARGET_HOST" "bash -c \"\$(echo $FALLBACK_B64 | base64 -d)\"" || {
        echo "dgx-spark-vllm: node $NODE: weights: neither the copy to $TARGET nor its own download finished (above); run pulumi up again to resume" >&2
        exit 1
      }
    fi
    ;;
  local)
    python3 -c "$PY" local "$LOCAL_PATH" "$REVISION" "$NODE"
    ;;
  *)
    echo "dgx-spark-vllm: node $NODE: weights: unknown mode $MODE" >&2
    exit 2
    ;;
esac
