/**
 * Doctor's serving checks on one node: the weights' record, and on the head the serving port, the
 * engine's /health and max_model_len, NCCL's transport, and SSH to every peer (the image copy and
 * the watchdog need it).
 */
import { classifySshText } from "../../ssh/failure";
import { type Check, type NodeCtx, stepState, unanswered } from "./common";

/** The weights' record: the revision verified on this node (not for delivery local: the engine verifies nothing there at start; pulumi up does). */
export function weightsCheck({ plan, node, v, get, add }: NodeCtx): void {
  const n = node.name;
  if (plan.model.delivery === "local" || stepState(v, "models").state !== "done") return;
  const w = get("weights");
  const m =
    /^revision ([0-9a-f]{40}): (\d+)\/(\d+) files present with the right size, (.*?); (last full verification passed|not verified)$/.exec(
      w,
    );
  const pinned = plan.model.revision;
  const complete = m !== null && m[2] === m[3] && m[5] === "last full verification passed";
  const right = m !== null && (pinned === undefined || !/^[0-9a-f]{40}$/.test(pinned) || m[1] === pinned);
  add({
    id: "weights",
    node: n,
    status: complete && right ? "PASS" : "WARN",
    title: `${plan.model.id} weights verified${pinned ? ` at ${pinned}` : ""}`,
    evidence: w || "no answer",
    ...(complete && right
      ? {}
      : {
          fix:
            m !== null && !right
              ? `the node holds revision ${m[1]}, the config pins ${pinned}: pulumi up fetches and verifies the pinned one`
              : "pulumi up downloads (or copies) what is missing and verifies every file",
        }),
  });
}

/** The head's checks: the serving port, then the running engine's, then SSH to every peer. */
export function headChecks(ctx: NodeCtx): void {
  if (ctx.node.role !== "head") return;
  portCheck(ctx);
  if (ctx.get("engine") === "running") engineChecks(ctx);
  peerSshChecks(ctx);
}

/** The serving port is free, or held by our engine. */
function portCheck({ plan, node, v, get, add }: NodeCtx): void {
  const n = node.name;
  const engine = get("engine");
  const engineState = stepState(v, "engine");
  const listen = get("listen");
  const portOk = !listen || engine === "running";
  const addPort = (c: Check) =>
    add(listen && engineState.state !== "done" && c.status !== "PASS" ? unanswered(c, engineState) : c);
  addPort({
    id: "port",
    node: n,
    status: portOk ? "PASS" : "FAIL",
    title: `serving port ${plan.cluster.port} free or held by our engine`,
    evidence: !listen
      ? `port ${plan.cluster.port} free`
      : engine === "running"
        ? `held by ${node.container.name}`
        : `held while ${node.container.name} is not running: '${listen}'`,
    ...(portOk
      ? {}
      : {
          fix: `stop what listens on ${plan.cluster.port} (sudo ss -ltnp 'sport = :${plan.cluster.port}'), or set serving.port`,
        }),
  });
}

/** The running engine answers /health, serves the profile's max_model_len, and NCCL uses RDMA. */
function engineChecks({ plan, node, v, get, add }: NodeCtx): void {
  const n = node.name;
  const health = get("health");
  add({
    id: "health",
    node: n,
    status: health === "200" ? "PASS" : "FAIL",
    title: "engine /health",
    evidence: `HTTP ${health}`,
    ...(health === "200" ? {} : { fix: `docker logs ${node.container.name} on ${n}; pulumi up restarts the service` }),
  });
  const mm = /"max_model_len"\s*:\s*(\d+)/.exec(get("models_json"));
  const okLen = mm?.[1] === String(plan.profile.maxModelLen);
  add({
    id: "max-model-len",
    node: n,
    status: okLen ? "PASS" : "FAIL",
    title: `served max_model_len = ${plan.profile.maxModelLen} (profile ${plan.profile.name})`,
    evidence: mm ? `max_model_len ${mm[1]}` : `no max_model_len in /v1/models: ${get("models_json").slice(0, 120)}`,
    ...(okLen
      ? {}
      : {
          fix: "the running engine is not this stack's profile: pulumi up with this stack (or pulumi stack select the one that runs)",
        }),
  });
  if (v.has("nccl_net")) {
    const net = get("nccl_net");
    add({
      id: "rdma",
      node: n,
      status: net.startsWith("NET/IB") ? "PASS" : net.startsWith("NET/Socket") ? "FAIL" : "WARN",
      title: "NCCL uses RDMA (NET/IB)",
      evidence: net || "no NET/ line in the engine log (needs NCCL_DEBUG=INFO)",
      ...(net.startsWith("NET/IB")
        ? {}
        : {
            fix: net
              ? "NCCL fell back to TCP: check NCCL_IB_HCA, the GID and the link (this report), then pulumi up"
              : "add NCCL_DEBUG=INFO to serving.extraEnv to see the transport",
          }),
    });
  }
}

/** The head reaches every peer over passwordless SSH, on its management and data-plane addresses. */
function peerSshChecks({ plan, node, get, add }: NodeCtx): void {
  const n = node.name;
  for (const peer of plan.nodes.filter((o) => o.name !== n)) {
    const targets = [
      { id: "mgmt", address: peer.ssh.host, what: "management" },
      ...peer.dataPlane.map((q, t) => ({ id: `p${t}`, address: q.address, what: `data-plane ${q.netdev}` })),
    ];
    for (const tg of targets) {
      const raw = get(`peerssh.${peer.name}.${tg.id}`);
      const [code, ...rest] = raw.split("|");
      const msg = rest.join("|");
      const ok = code === "0";
      const cls = ok ? undefined : classifySshText(msg);
      add({
        id: `peer-ssh.${peer.name}.${tg.id}`,
        node: n,
        status: ok ? "PASS" : tg.id === "mgmt" ? "FAIL" : "WARN",
        title: `SSH (BatchMode) ${n} -> ${peer.name} ${tg.what} address ${tg.address}`,
        evidence: ok ? "passwordless login works" : `${cls?.kind}: ${msg || `exit ${code}`}`,
        ...(ok
          ? {}
          : {
              fix:
                cls?.kind === "auth"
                  ? `the image copy and the watchdog need ${n} -> ${peer.name} SSH: on ${n} run ssh-copy-id ${peer.ssh.user}@${tg.address}`
                  : (cls?.fix ?? ""),
            }),
      });
    }
  }
}
