/** The human-readable `plan` output. Pure: a ClusterPlan in, text out. */
import { dockerRunArgv } from "../plan/container";
import { exposureTable } from "../plan/exposure";
import { shq } from "../shell/quote";
import type { DeploymentPlan } from "../plan/replicas";
import { routerCommandLine, type RouterServicePlan } from "../plan/router";
import type { ClusterPlan, NodePlan } from "../plan/types";

/** Break a quoted argv before each `--flag` / `-x` option so a long command stays pasteable and readable. */
export function multiline(argv: readonly string[], indent = "    "): string {
  const parts: string[] = [];
  for (const a of argv) {
    const q = shq(a);
    if (parts.length > 0 && /^--?[A-Za-z]/.test(a)) parts.push(` \\\n${indent}  ${q}`);
    else parts.push(parts.length === 0 ? q : ` ${q}`);
  }
  return indent + parts.join("");
}

function gidText(p: ClusterPlan["link"]["gidPolicy"]): string {
  if (p === "auto") return "auto (NCCL_IB_GID_INDEX unset: NCCL picks the RoCEv2 GID)";
  if (p === "resolve")
    return "resolve (each node exports its RoCEv2 GID index at container start; fails closed if none)";
  return `pinned NCCL_IB_GID_INDEX=${p.index}`;
}

/** `vLLM 0.33.0, serve flags and env checked` or `vLLM ref ..., not checked`. */
function vllmText(v: ClusterPlan["image"]["vllm"]): string {
  const what = v.version !== undefined ? `vLLM ${v.version}` : `vLLM ref ${v.ref}`;
  return `${what}, ${v.surface !== null ? "serve flags and VLLM_* env checked against its surface" : "not checked against a vLLM surface"}`;
}

function imageText(i: ClusterPlan["image"]): string {
  if (i.source === "prebuilt")
    return `prebuilt ${i.tag} (${vllmText(i.vllm)}), pulled on ${i.nodes.join(", ")}; same image ID required`;
  const a = i.buildArgs;
  const pr = a.VLLM_PR ? ` at the head of PR #${a.VLLM_PR}` : "";
  return (
    `build ${i.tag} on ${i.buildNode} (${i.platform}): vLLM ${a.VLLM_REF}${pr}` +
    ` (${i.vllm.surface !== null ? "serve flags and VLLM_* env checked" : "not checked against a vLLM surface"})` +
    `, FlashInfer ${a.FLASHINFER_REF}, NCCL ${a.NCCL_REF} (sm_121), torch ${a.TORCH_VERSION}, arch ${a.CUDA_ARCH}` +
    `; docker save | load to ${i.nodes.filter((n) => n !== i.buildNode).join(", ")}`
  );
}

function nodeText(n: NodePlan): string {
  const lines = [
    `Node ${n.name} (${n.role}, rank ${n.rank}) - ssh ${n.ssh.user}@${n.ssh.host}:${n.ssh.port} (${n.ssh.auth}${n.ssh.hostKey ? ", pinned host key" : ""})`,
    `  data plane: ${n.dataPlane.map((p) => `${p.netdev}/${p.hca} ${p.address}/${p.prefix}`).join(", ")}`,
    `  caches: ${n.cache.huggingface}, ${n.cache.vllm}, ${n.cache.flashinfer}, ${n.cache.triton}`,
    "  env:",
    ...Object.entries(n.env).map(([k, v]) => `    ${k}=${shq(v)}`),
    ...n.secretEnv.map((k) => `    ${k}=[secret]`),
  ];
  if (n.rayStartArgv) lines.push("  ray start (before vllm serve):", multiline(n.rayStartArgv));
  lines.push(`  ${n.serveArgv[0] === "ray" ? "ray worker" : "serve"} (inside the container):`, multiline(n.serveArgv));
  lines.push("  container (docker run equivalent):", multiline(dockerRunArgv(n.container)));
  lines.push(
    `  host steps: ${n.hostSteps.map((s) => s.id).join(", ")}; link steps: ${n.linkSteps.map((s) => s.id).join(", ")}`,
  );
  return lines.join("\n");
}

function watchdogText(w: ClusterPlan["watchdog"]): string {
  if (!w.enabled) return "Watchdog   off (serving.watchdog.enabled: false)";
  const floor = Object.entries(w.minFreeGiB)
    .map(([n, g]) => `${n} ${g} GiB`)
    .join(", ");
  return (
    `Watchdog   ${w.unit} on the head: probe every ${w.probeIntervalSeconds} s, restart ${w.restartOrder.join(" -> ")}` +
    ` after ${w.failuresBeforeRestart} failed probes, at most ${w.maxRestartsPerHour}/hour, >= ${w.minRestartIntervalSeconds} s apart` +
    `; starts only with MemAvailable >= ${floor}`
  );
}

function observabilityText(plan: ClusterPlan): string {
  const o = plan.observability;
  if (!o.enabled) return "Metrics    off (observability.enabled: false)";
  const local = o.prometheus.bind === "127.0.0.1" ? ` on ${o.head}'s loopback (elsewhere: ssh -L)` : "";
  return (
    `Metrics    Prometheus ${o.prometheus.url}${local} (retention ${o.prometheus.retention}), Grafana ${o.grafana.url}` +
    `, node exporters on ${Object.keys(o.nodeExporters).join(", ")}; ${o.alerts.length} alerts to the webhook (${plan.hardening.webhook})`
  );
}

/** Per-node UMA budget (src/plan/memory.ts), one row per node. */
export function memoryTable(plan: ClusterPlan): string[] {
  const m = plan.memory;
  const head = [
    "node",
    "visible",
    "budget",
    "weights",
    "overhead",
    "KV pool",
    "KV tokens",
    "full-ctx reqs",
    "free serving",
    "start check",
  ];
  const rows = m.nodes.map((b) => [
    b.node,
    `${b.visibleGiB}`,
    `${b.budgetGiB}`,
    `${b.weightsGiB}`,
    `${b.overheadGiB}`,
    `${b.kvPoolGiB}`,
    `${(b.kvPoolTokens / 1e6).toFixed(2)} M`,
    `${b.maxFullContextRequests} of ${plan.profile.maxNumSeqs}`,
    `${b.headroomGiB}`,
    b.start.passes
      ? `pass (${b.start.freeBeforeStartGiB} free >= ${b.start.needsGiB})`
      : `FAIL (${b.start.freeBeforeStartGiB} free < ${b.start.needsGiB})`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (r: string[]) =>
    "           " +
    r
      .map((c, i) => c.padEnd(widths[i] as number))
      .join("  ")
      .trimEnd();
  const v = m.nodes[0]?.vllm;
  const L = plan.profile.maxModelLen;
  const vllmLine = v
    ? [
        `           vLLM ${v.version} will log ~"GPU KV cache size: ${v.printedTokens.toLocaleString("en-US")} tokens"` +
          `, "Maximum concurrency for ${L.toLocaleString("en-US")} tokens per request: ${v.printedConcurrency.toFixed(2)}x";`,
        `           at most ${Math.min(v.fullContextRequests, ...m.nodes.map((b) => b.maxFullContextRequests))}` +
          ` request(s) of ${L} tokens at once (the lower of vLLM ${v.version}'s block count, ${v.fullContextRequests}` +
          `, and ${m.nodes[0]?.kvBytesPerTokenPerRank} B/token, ${m.nodes[0]?.maxFullContextRequests}; docs/memory.md)`,
      ]
    : [];
  return [
    `Memory     per node, GiB (estimate, margin +/-${m.marginGiB} GiB; docs/memory.md)`,
    line(head),
    ...rows.map(line),
    ...vllmLine,
  ];
}

/** The model variant line: speculative decoding, backends, KV dtype and bytes per token, image capabilities. */
function variantText(plan: ClusterPlan): string {
  const v = plan.variant;
  const sp = v.speculative;
  const b = Object.entries(v.backends)
    .filter(([, x]) => x !== "default")
    .map(([k, x]) => `${k} ${x}`);
  const caps = v.image.capabilities;
  return [
    `Variant    ${v.name}: speculative ${sp.method}${sp.tokens !== undefined ? ` x${sp.tokens}` : ""}` +
      `, KV ${v.kvCacheDtype} (${v.kvBytesPerToken} B/token), backends ${b.length ? b.join(", ") : "vLLM defaults"}`,
    `           image has: ${
      caps
        ? `speculative ${caps.speculative.join("/") || "none"}, KV ${caps.kvCacheDtypes.join("/")}` +
          `, kernels ${caps.backends.join("/") || "no b12x"}`
        : "unknown"
    } (from ${v.image.from})`,
  ].join("\n");
}

export function renderSummary(plan: ClusterPlan, source: string): string {
  const c = plan.cluster;
  const p = plan.profile;
  const ref = p.reference;
  const out = [
    `dgx-spark-vllm plan - ${source}`,
    "",
    `Cluster    ${c.nodeCount} nodes, head ${c.head}, launcher ${c.launcher}, TP=${c.tensorParallelSize} x PP=${c.pipelineParallelSize}` +
      `, gpu-memory-utilization ${c.gpuMemoryUtilization}, MTP ${c.mtp ? "on" : "off"}`,
    variantText(plan),
    `Endpoint   ${c.endpoint} (${c.authenticated ? "API key required" : "UNAUTHENTICATED"}), model ${plan.model.id} served as ${plan.model.servedName}`,
    `Start      ${c.startOrder.join(" -> ")} (workers first, head last)`,
    `Profile    ${p.name}${p.base && p.base !== p.name ? ` (from ${p.base}; overrides: ${p.overrides.join(", ")})` : ""}` +
      `: max-model-len ${p.maxModelLen}, max-num-seqs ${p.maxNumSeqs}, max-num-batched-tokens ${p.maxNumBatchedTokens}` +
      `, long-context env ${p.longContextEnv ? "on" : "off"}`,
    `           trade-off: ${p.tradeoff}`,
    ...(ref
      ? [
          `           reference (2x GB10): ${[
            ref.singleStreamTokPerS && `single-stream ${ref.singleStreamTokPerS} tok/s`,
            ref.aggregateTokPerS && `aggregate ${ref.aggregateTokPerS} tok/s`,
            ref.kvPoolTokens && `KV pool ${ref.kvPoolTokens}`,
            ref.freePerNodeGb && `${ref.freePerNodeGb} GB free/node`,
            ref.note,
          ]
            .filter(Boolean)
            .join(", ")}`,
        ]
      : []),
    `Image      ${imageText(plan.image)}`,
    `Link       MTU ${plan.link.mtu}, GID policy ${gidText(plan.link.gidPolicy)}, master ${plan.link.masterAddr}:${plan.link.masterPort}`,
    ...plan.link.twins.map(
      (t) =>
        `           twin ${t.index} ${t.subnet}: ${t.ends.map((e) => `${e.node} ${e.netdev}/${e.hca} ${e.address}`).join(" <-> ")}`,
    ),
    `           checks: don't-fragment ping of ${plan.link.checks[0]?.payloadBytes ?? 0} bytes over every twin` +
      `, both directions (${plan.link.checks.length} pings)`,
    `Hardening  vm.min_free_kbytes ${plan.hardening.minFreeKbytes}, swap ${plan.hardening.swapOff ? "off" : "left as is"}` +
      `, drop caches during load ${plan.hardening.dropCachesDuringLoad ? "on" : "off"}` +
      `, UMA alert below ${plan.hardening.umaAlertThresholdGb} GB (webhook ${plan.hardening.webhook})`,
    watchdogText(plan.watchdog),
    observabilityText(plan),
    ...memoryTable(plan),
    `Secrets    ${Object.entries(plan.secrets)
      .map(([k, v]) => `${k}: ${v}`)
      .join("; ")}`,
    "Ports      every port the cluster opens, who needs it and what guards it (docs/exposure.md)",
    ...exposureTable(plan.exposure).map((l) => `  ${l}`),
  ];
  if (plan.warnings.length > 0) out.push("Warnings", ...plan.warnings.map((w) => `  - ${w.path}: ${w.message}`));
  if (plan.notes.length > 0) out.push("Notes", ...plan.notes.map((w) => `  - ${w.path}: ${w.message}`));
  for (const name of c.startOrder) {
    const n = plan.nodes.find((x) => x.name === name);
    if (n) out.push("", nodeText(n));
  }
  return `${out.join("\n")}\n`;
}

/** serving.router.enabled: where the router runs, how, and with what (no secret value). */
function routerText(s: RouterServicePlan): string[] {
  const h = s.healthChecks;
  return [
    "",
    `Router     vllm-router ${s.version} on ${s.node}, policy ${s.policy}: ${s.endpoint} (the deployment's endpoint)`,
    `           workers ${s.workers.join(", ")}`,
    `           metrics ${s.metricsUrl}` +
      `; health checks ${h.endpoint} every ${h.intervalSeconds} s` +
      ` (timeout ${h.timeoutSeconds} s, unhealthy after ${h.failureThreshold} failures, healthy after ${h.successThreshold})`,
    `           auth ${
      s.authenticated
        ? `the cluster's API key, checked through a worker's /v1/models; ` +
          `VLLM_API_KEY from ${s.secretsFile} (root only, EnvironmentFile=)`
        : "none (serving.allowUnauthenticated)"
    }`,
    `           venv ${s.venv} (pip install vllm-router==${s.version}); unit ${s.unit.path}, ${s.restart}`,
    `           ExecStart ${routerCommandLine(s)}`,
  ];
}

/** More than one replica: the router's endpoints, then each replica's summary under its own heading. */
export function renderDeploymentSummary(d: DeploymentPlan, source: string): string {
  const r = d.router;
  const head = [
    `dgx-spark-vllm plan - ${source}`,
    "",
    `Replicas   ${d.replicas.length} independent clusters of TP=${d.replicas[0]?.cluster.tensorParallelSize}` +
      ` x PP=${d.replicas[0]?.cluster.pipelineParallelSize}` +
      `, each serving ${r?.servedName ?? ""} on its own endpoint:`,
    ...(r?.endpoints ?? []).map((e, i) => `           replica ${i}: ${e} (head ${d.replicas[i]?.cluster.head})`),
    `           ${r?.note ?? ""}`,
    ...(r?.service ? routerText(r.service) : []),
    ...(r?.exposure ? ["           ports:", ...exposureTable(r.exposure).map((l) => `  ${l}`)] : []),
  ];
  const parts = d.replicas.map((p, i) =>
    renderSummary(p, `${source}, replica ${i}`).replace(/^dgx-spark-vllm plan - /, "=== "),
  );
  return [head.join("\n"), "", ...parts].join("\n");
}
