"""Fit an OCI bundle's config.json to this machine (see runc-machine); log what changed."""
import json
import resource
import sys

# Linux capability numbers (linux/capability.h), 0..40.
CAPS = [
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
    "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
    "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
    "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
    "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
    "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
]

path, log = sys.argv[1], sys.argv[2]
with open("/proc/self/status") as f:
    bnd = int(next(l for l in f if l.startswith("CapBnd:")).split()[1], 16)
held = {"CAP_" + n for i, n in enumerate(CAPS) if bnd >> i & 1}
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
with open(path) as f:
    cfg = json.load(f)
proc = cfg.get("process") or {}
changes = []
dropped = set()
for kind, caps in (proc.get("capabilities") or {}).items():
    keep = [c for c in caps if c in held]
    dropped |= set(caps) - set(keep)
    proc["capabilities"][kind] = keep
if dropped:
    changes.append("dropped capabilities this machine lacks: " + ",".join(sorted(dropped)))
for r in proc.get("rlimits") or []:
    if r.get("type") == "RLIMIT_NOFILE" and hard != resource.RLIM_INFINITY and r.get("hard", 0) > hard:
        changes.append("RLIMIT_NOFILE %d:%d -> %d:%d" % (r["soft"], r["hard"], min(r["soft"], hard), hard))
        r["soft"], r["hard"] = min(r["soft"], hard), hard
if changes:
    with open(path, "w") as f:
        json.dump(cfg, f)
with open(log, "a") as f:
    f.write(json.dumps({"hostname": cfg.get("hostname", ""), "args": proc.get("args", []), "changes": changes}) + "\n")
