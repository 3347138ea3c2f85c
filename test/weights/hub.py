#!/usr/bin/env python3
"""A Hugging Face Hub stand-in for the weights rehearsal: serves one fake model repository through
the endpoints the real huggingface_hub client uses, and counts what it serves.

  GET  /api/models/<repo>/revision/<rev>[?blobs=true]   model info: sha, siblings (rfilename, size,
                                                        blobId, lfs {sha256, size, pointerSize})
  HEAD /<repo>/resolve/<rev>/<file>                     X-Repo-Commit, ETag, Content-Length (LFS
                                                        files: X-Linked-Etag, X-Linked-Size too)
  GET  /<repo>/resolve/<rev>/<file>                     the bytes; honours Range: bytes=N- (206)
  GET  /_stats                                          {"requests": n, "bytes": n, "files": {...}}

Files whose name ends in .safetensors are LFS files (ETag = sha256, as on the hub); the others are
plain git files (ETag = git blob sha1). <rev> may be the commit hash or "main". A request whose
Authorization header is not "Bearer <token>" gets 401 when a token is required. The rate limit
(bytes/s, 0 = none) makes a copy or a download slow enough to interrupt.

usage: hub.py DIR PORT REPO COMMIT [--token T] [--rate BYTES_PER_S]
DIR holds the repository's files (flat or in folders); the server prints "listening" when ready.
"""
import hashlib
import http.server
import json
import os
import sys
import threading
import time
import urllib.parse

args = sys.argv[1:]
DIR, PORT, REPO, COMMIT = args[0], int(args[1]), args[2], args[3]
TOKEN = args[args.index("--token") + 1] if "--token" in args else None
RATE = int(args[args.index("--rate") + 1]) if "--rate" in args else 0
lock = threading.Lock()
stats = {"requests": 0, "bytes": 0, "files": {}, "ranges": 0}


def walk():
    out = []
    for root, _, names in os.walk(DIR):
        for n in names:
            p = os.path.join(root, n)
            out.append(os.path.relpath(p, DIR))
    return sorted(out)


def describe(rel):
    p = os.path.join(DIR, rel)
    size = os.path.getsize(p)
    h256, h1 = hashlib.sha256(), hashlib.sha1(b"blob %d\0" % size)
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h256.update(chunk)
            h1.update(chunk)
    d = {"rfilename": rel, "size": size, "blobId": h1.hexdigest()}
    if rel.endswith(".safetensors"):
        d["lfs"] = {"sha256": h256.hexdigest(), "size": size, "pointerSize": 134}
    return d


FILES = {rel: describe(rel) for rel in walk()}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def count(self, n=0, name=None):
        with lock:
            stats["bytes"] += n
            if name is not None:
                stats["files"][name] = stats["files"].get(name, 0) + n

    def send(self, code, body=b"", headers=None, ctype="application/json"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def authorized(self):
        return TOKEN is None or self.headers.get("Authorization") == f"Bearer {TOKEN}"

    def route(self):
        path = urllib.parse.urlparse(self.path).path
        if path == "/_stats":
            with lock:
                return self.send(200, json.dumps(stats).encode())
        with lock:
            stats["requests"] += 1
        if not self.authorized():
            return self.send(401, b'{"error":"Invalid credentials"}', {"X-Error-Code": "GatedRepo"})
        api = f"/api/models/{REPO}/revision/"
        if path.startswith(api):
            rev = urllib.parse.unquote(path[len(api):])
            if rev not in (COMMIT, "main"):
                return self.send(404, b'{"error":"Revision not found"}', {"X-Error-Code": "RevisionNotFound"})
            info = {"id": REPO, "modelId": REPO, "sha": COMMIT, "private": False, "gated": "manual",
                    "siblings": list(FILES.values())}
            return self.send(200, json.dumps(info).encode())
        prefix = f"/{REPO}/resolve/"
        if not path.startswith(prefix):
            return self.send(404, b'{"error":"not found"}', {"X-Error-Code": "RepoNotFound"})
        rev, _, rel = urllib.parse.unquote(path[len(prefix):]).partition("/")
        if rev not in (COMMIT, "main"):
            return self.send(404, b'{"error":"Revision not found"}', {"X-Error-Code": "RevisionNotFound"})
        d = FILES.get(rel)
        if d is None:
            return self.send(404, b'{"error":"Entry not found"}', {"X-Error-Code": "EntryNotFound"})
        etag = d["lfs"]["sha256"] if "lfs" in d else d["blobId"]
        size = d["size"]
        start = 0
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes="):
            a, _, b = rng[6:].partition("-")
            start = int(a) if a else 0
            with lock:
                stats["ranges"] += 1
        headers = {"X-Repo-Commit": COMMIT, "ETag": f'"{etag}"', "Accept-Ranges": "bytes"}
        if "lfs" in d:
            headers.update({"X-Linked-Etag": f'"{etag}"', "X-Linked-Size": str(size)})
        code = 206 if start > 0 else 200
        if start > 0:
            headers["Content-Range"] = f"bytes {start}-{size - 1}/{size}"
        self.send_response(code)
        self.send_header("Content-Type", "application/octet-stream")
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(size - start))
        self.end_headers()
        if self.command == "HEAD":
            return
        with open(os.path.join(DIR, rel), "rb") as f:
            f.seek(start)
            t0, sent = time.monotonic(), 0
            for chunk in iter(lambda: f.read(1 << 20), b""):
                try:
                    self.wfile.write(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    return
                sent += len(chunk)
                self.count(len(chunk), rel)
                if RATE:
                    ahead = sent / RATE - (time.monotonic() - t0)
                    if ahead > 0:
                        time.sleep(ahead)

    do_GET = route
    do_HEAD = route


server = http.server.ThreadingHTTPServer(("0.0.0.0", PORT), Handler)
print("listening", flush=True)
server.serve_forever()
