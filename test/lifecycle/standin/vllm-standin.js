#!/usr/bin/node
/*
 * A stand-in for `vllm serve` in the lifecycle rehearsal (test/lifecycle/). It runs in the
 * containers the plan renders, in place of vLLM, from a small image built locally (no registry).
 *
 * It refuses to start (exit 2, one line per problem) unless its argv and env are what the profile
 * and the mp launcher require: `serve <model>`, the UCX leak fix, TP x PP = --nnodes, a valid
 * --node-rank with --headless exactly on ranks > 0, --master-addr/--master-port equal to
 * MASTER_ADDR/MASTER_PORT, the data-plane variables, the long-context env above 262144 tokens.
 *
 * Ranks rendezvous like torch: the head listens on --master-addr:--master-port, workers connect
 * (retrying) and exchange heartbeats. The head "loads" once every worker joined, then serves
 * /health, /v1/models (max_model_len from --max-model-len) and /v1/chat/completions (also SSE
 * streaming), with `Authorization: Bearer $VLLM_API_KEY` when that variable is set.
 * Every completion is a collective, as in a TP=2 engine: the head sends `step <n>` to every worker
 * and answers only once each one sent `ack <n>` back. A worker that is alive but does not answer
 * (SIGSTOP, `docker pause`) leaves completions hanging while /health still says 200, as a real
 * engine hangs in NCCL.
 * A lost peer behaves like the recipe's silent freeze: the worker logs the ProcessGroupNCCL
 * HeartbeatMonitor / "TCPStore server has shut down" line and hangs; the head logs "No route to
 * host" and stops answering completions while /health still says 200.
 *
 * Faults, through the file `standin-control` in the node's vLLM cache (/root/.cache/vllm, a host
 * folder the test writes), one word per line:
 *   refuse  every start fails like vLLM's free-memory start check (exit 1); stays until removed
 *   die     the engine dies now (EngineDeadError, exit 1); consumed
 *   hang    the process wedges now (nothing answers, not even /health); consumed
 *   sever   (head) the rendezvous server shuts down: the lost-rank signatures, no exit; consumed
 * `standin-load-seconds` in the same folder sets the load time (default 1).
 */

const http = require("node:http");
const net = require("node:net");
const fs = require("node:fs");

const CACHE = "/root/.cache/vllm";
const CONTROL = `${CACHE}/standin-control`;
const args = process.argv.slice(2);
const env = process.env;
let rank = "?";
const log = (m) => process.stdout.write(`(vllm stand-in rank ${rank}) ${m}\n`);

// ---- argv ----
const flags = new Map();
const positional = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a.startsWith("--")) {
    const eq = a.indexOf("=");
    if (eq > 0) flags.set(a.slice(0, eq), a.slice(eq + 1));
    else if (i + 1 < args.length && !args[i + 1].startsWith("--")) flags.set(a, args[++i]);
    else flags.set(a, true);
  } else positional.push(a);
}
const problems = [];
const need = (cond, msg) => {
  if (!cond) problems.push(msg);
};
need(
  positional[0] === "serve",
  `expected 'vllm serve <model>', got 'vllm ${positional.join(" ")}' (the stand-in runs the mp launcher only)`,
);
need(typeof positional[1] === "string" && /^[^/]+\/[^/]+$/.test(positional[1]), "missing the model id after 'serve'");
for (const f of [
  "--served-model-name",
  "--tensor-parallel-size",
  "--port",
  "--host",
  "--max-model-len",
  "--gpu-memory-utilization",
  "--kv-cache-dtype",
  "--nnodes",
  "--node-rank",
  "--master-addr",
  "--master-port",
]) {
  need(typeof flags.get(f) === "string", `missing ${f} <value>`);
}
const int = (f) => Number.parseInt(String(flags.get(f)), 10);
const tp = int("--tensor-parallel-size");
const pp = flags.has("--pipeline-parallel-size") ? int("--pipeline-parallel-size") : 1;
const nnodes = int("--nnodes");
const nodeRank = int("--node-rank");
rank = Number.isInteger(nodeRank) ? String(nodeRank) : "?";
const maxModelLen = int("--max-model-len");
const util = Number(flags.get("--gpu-memory-utilization"));
need(
  Number.isInteger(tp) && tp >= 1 && tp * pp === nnodes,
  `--tensor-parallel-size ${flags.get("--tensor-parallel-size")} x pipeline ${pp} must equal --nnodes ${flags.get("--nnodes")}`,
);
need(
  Number.isInteger(nodeRank) && nodeRank >= 0 && nodeRank < nnodes,
  `--node-rank ${flags.get("--node-rank")} must be in [0, ${nnodes})`,
);
need(
  nodeRank > 0 === (flags.get("--headless") === true),
  nodeRank > 0 ? "a rank > 0 needs --headless" : "rank 0 serves the API: it must not be --headless",
);
need(
  flags.get("--master-addr") === env.MASTER_ADDR,
  `--master-addr ${flags.get("--master-addr")} differs from MASTER_ADDR=${env.MASTER_ADDR}`,
);
need(
  flags.get("--master-port") === env.MASTER_PORT,
  `--master-port ${flags.get("--master-port")} differs from MASTER_PORT=${env.MASTER_PORT}`,
);
need(
  env.UCX_MEM_MMAP_HOOK_MODE === "none",
  `UCX_MEM_MMAP_HOOK_MODE must be 'none' (the UCX leak fix), is ${JSON.stringify(env.UCX_MEM_MMAP_HOOK_MODE)}`,
);
need(
  env.UCX_RCACHE_MAX_UNRELEASED === "1024",
  `UCX_RCACHE_MAX_UNRELEASED must be '1024' (the UCX leak fix), is ${JSON.stringify(env.UCX_RCACHE_MAX_UNRELEASED)}`,
);
for (const v of [
  "VLLM_HOST_IP",
  "NCCL_SOCKET_IFNAME",
  "GLOO_SOCKET_IFNAME",
  "TP_SOCKET_IFNAME",
  "NCCL_IB_HCA",
  "UCX_NET_DEVICES",
])
  need(!!env[v], `${v} is not set`);
need(env.NCCL_IB_DISABLE === "0", "NCCL_IB_DISABLE must be 0");
need(env.NCCL_IB_GID_INDEX !== "", "NCCL_IB_GID_INDEX is set but empty (that means index 0, the link-local GID)");
need(Number.isInteger(maxModelLen) && maxModelLen > 0, "--max-model-len must be a positive integer");
if (maxModelLen > 262144) {
  need(
    env.VLLM_ALLOW_LONG_MAX_MODEL_LEN === "1",
    `--max-model-len ${maxModelLen} needs VLLM_ALLOW_LONG_MAX_MODEL_LEN=1`,
  );
  need(
    !!env.VLLM_SPARSE_INDEXER_MAX_LOGITS_MB,
    `--max-model-len ${maxModelLen} needs VLLM_SPARSE_INDEXER_MAX_LOGITS_MB`,
  );
}
need(util > 0 && util < 0.95, `--gpu-memory-utilization ${flags.get("--gpu-memory-utilization")} must be in (0, 0.95)`);
if (nodeRank === 0) need(flags.get("--host") === "0.0.0.0", "rank 0 must listen on --host 0.0.0.0");
if (problems.length > 0) {
  for (const p of problems) log(`refusing to start: ${p}`);
  process.exit(2);
}

// ---- faults ----
/** Call `fn` with every complete line that arrives on `sock` (the rendezvous protocol is line-based). */
function onLines(sock, fn) {
  let buf = "";
  sock.on("data", (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      fn(line);
    }
  });
}

function controlWords() {
  try {
    return fs.readFileSync(CONTROL, "utf8").split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
}
function consume(word) {
  const rest = controlWords().filter((w) => w !== word);
  try {
    fs.writeFileSync(CONTROL, rest.join("\n") + (rest.length ? "\n" : ""));
  } catch {
    /* read-only: keep going */
  }
}
function loadSeconds() {
  try {
    return Number(fs.readFileSync(`${CACHE}/standin-load-seconds`, "utf8").trim()) || 1;
  } catch {
    return 1;
  }
}
if (controlWords().includes("refuse")) {
  log(
    `ValueError: Free memory on device (12.1/121.7 GiB) on startup is less than desired GPU memory utilization (${util}, ${(util * 121.7).toFixed(2)} GiB). Decrease GPU memory utilization or reduce GPU memory used by other processes.`,
  );
  process.exit(1);
}
let wedged = false; // the head lost a rank: completions hang, /health still 200
let severHandler = () => {};
setInterval(() => {
  const w = controlWords();
  if (w.includes("die")) {
    consume("die");
    log(
      "vllm.v1.engine.exceptions.EngineDeadError: EngineCore encountered an issue. See stack trace (above) for the root cause.",
    );
    process.exit(1);
  }
  if (w.includes("hang")) {
    consume("hang");
    log("(stand-in: wedging now; nothing will answer)");
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // blocks this thread forever
  }
  if (w.includes("sever")) {
    consume("sever");
    severHandler();
  }
}, 200);

const masterAddr = String(flags.get("--master-addr"));
const masterPort = int("--master-port");
log(
  `starting: ${positional[1]} rank ${nodeRank} of ${nnodes}, TP=${tp}, max_model_len=${maxModelLen}, master ${masterAddr}:${masterPort}`,
);

function lostPeer(who) {
  if (nodeRank === 0) {
    log(`NCCL WARN NET/IB : Got completion from peer ${who} with status=IBV_WC_RETRY_EXC_ERR(12): No route to host`);
    wedged = true;
  } else {
    log(
      `[rank${nodeRank}]:[W ProcessGroupNCCL.cpp:1659] [PG ID 0 PG GUID 0(default_pg) Rank ${nodeRank}] HeartbeatMonitor: failed to check the "should dump" flag on TCPStore, (maybe TCPStore server has shut down too early), with error: Connection reset by peer`,
    );
    // and then nothing: the silent freeze (the process stays up, idle)
  }
}

if (nodeRank === 0) {
  // ---- head: rendezvous server, then the API ----
  const peers = new Set();
  let serving = false;
  const store = net.createServer((sock) => {
    const peer = sock.remoteAddress || "?";
    sock.setEncoding("utf8");
    onLines(sock, (line) => {
      if (line.startsWith("ack ")) {
        acked(sock, Number(line.slice(4)));
      } else if (line.startsWith("hello ")) {
        peers.add(sock);
        sock.write("ok\n");
        log(`rank ${line.slice(6)} joined (${peers.size + 1} of ${nnodes})`);
        if (peers.size + 1 === nnodes && !serving) {
          serving = true;
          const s = loadSeconds();
          log(`all ${nnodes} ranks joined; loading weights (${s} s)`);
          setTimeout(startApi, s * 1000);
        }
      }
    });
    const gone = () => {
      if (peers.delete(sock)) lostPeer(peer);
    };
    sock.on("close", gone);
    sock.on("error", gone);
  });
  store.listen(masterPort, masterAddr, () => log(`TCPStore listening on ${masterAddr}:${masterPort}`));
  severHandler = () => {
    log("(stand-in: shutting the rendezvous server down)");
    store.close();
    for (const p of peers) p.destroy();
  };
  setInterval(() => {
    for (const p of peers) p.write("hb\n");
  }, 500);
  // One step of the engine: `then` runs once every worker acknowledged it; never when one is lost
  // or does not answer (the request hangs, like a collective waiting on a stuck rank).
  let step = 0;
  const steps = new Map();
  const collective = (then) => {
    if (wedged || peers.size + 1 < nnodes) return;
    const n = ++step;
    steps.set(n, { left: new Set(peers), then });
    for (const p of peers) p.write(`step ${n}\n`);
  };
  const acked = (sock, n) => {
    const s = steps.get(n);
    if (!s) return;
    s.left.delete(sock);
    if (s.left.size === 0) {
      steps.delete(n);
      s.then();
    }
  };

  const port = int("--port");
  const served = String(flags.get("--served-model-name"));
  const key = env.VLLM_API_KEY;
  const startApi = () => {
    const api = http.createServer((req, res) => {
      const url = (req.url || "").split("?")[0];
      if (url === "/health") {
        res.writeHead(200);
        res.end();
        return;
      }
      if (key && req.headers.authorization !== `Bearer ${key}`) {
        res.writeHead(401, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "Unauthorized" }));
        return;
      }
      if (req.method === "GET" && url === "/v1/models") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            object: "list",
            data: [
              {
                id: served,
                object: "model",
                created: 1,
                owned_by: "vllm",
                root: positional[1],
                parent: null,
                max_model_len: maxModelLen,
                permission: [{ id: "modelperm-standin", object: "model_permission" }],
              },
            ],
          }),
        );
        return;
      }
      if (req.method === "POST" && url === "/v1/chat/completions") {
        let body = "";
        req.on("data", (d) => (body += d));
        req.on("end", () => {
          if (wedged) return; // the engine is stuck in a collective: the request never completes
          let b;
          try {
            b = JSON.parse(body);
          } catch {
            res.writeHead(400);
            res.end(JSON.stringify({ error: "bad json" }));
            return;
          }
          if (b.model !== served) {
            res.writeHead(404, { "content-type": "application/json" });
            res.end(JSON.stringify({ error: `The model \`${b.model}\` does not exist.` }));
            return;
          }
          collective(() => complete(b, res));
        });
        return;
      }
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "not found" }));
    });
    const complete = (b, res) => {
      const words = ["OK", " from", " the", " stand-in"].slice(0, Math.max(1, Math.min(4, Number(b.max_tokens) || 4)));
      const id = `chatcmpl-standin-${Date.now()}`;
      if (b.stream) {
        res.writeHead(200, { "content-type": "text/event-stream" });
        const chunk = (delta, finish) =>
          `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created: 1, model: served, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
        res.write(chunk({ role: "assistant", content: "" }, null));
        for (const w of words) res.write(chunk({ content: w }, null));
        res.write(chunk({}, words.length < 4 ? "length" : "stop"));
        res.end("data: [DONE]\n\n");
      } else {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            id,
            object: "chat.completion",
            created: 1,
            model: served,
            choices: [
              {
                index: 0,
                message: { role: "assistant", content: words.join("") },
                finish_reason: words.length < 4 ? "length" : "stop",
              },
            ],
            usage: { prompt_tokens: 5, completion_tokens: words.length, total_tokens: 5 + words.length },
          }),
        );
      }
    };
    api.listen(port, String(flags.get("--host")), () =>
      log(`Application startup complete. Serving ${served} on :${port}`),
    );
  };
} else {
  // ---- worker: join the head, keep the heartbeat ----
  let joined = false;
  const connect = () => {
    const sock = net.connect(masterPort, masterAddr);
    sock.setEncoding("utf8");
    sock.on("connect", () => sock.write(`hello ${nodeRank}\n`));
    onLines(sock, (line) => {
      if (line === "ok" && !joined) {
        joined = true;
        log(`joined the head at ${masterAddr}:${masterPort}; loading weights (headless)`);
      } else if (line.startsWith("step ")) {
        sock.write(`ack ${line.slice(5)}\n`); // this rank's part of the collective
      }
    });
    const gone = () => {
      if (joined) {
        joined = false;
        lostPeer(masterAddr);
        return;
      } // no reconnect: the freeze
      setTimeout(connect, 300); // the head is not up yet: retry, as torch's rendezvous does
    };
    sock.on("error", () => {});
    sock.on("close", gone);
  };
  connect();
  setInterval(() => {}, 1 << 30); // stay alive
}
