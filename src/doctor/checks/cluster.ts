/**
 * Doctor's checks across nodes: the same image on every node, the same model files, and no rank
 * running alone (a lone rank waits forever in NCCL).
 */
import type { ClusterPlan, NodePlan } from "../../plan/types";
import { type Check, type StepState, stepState, unanswered } from "./common";

/** What the cluster checks read: every answering node's probe values. */
interface ClusterCtx {
  readonly plan: ClusterPlan;
  readonly values: ReadonlyMap<string, ReadonlyMap<string, string>>;
  readonly add: (c: Check) => void;
}

/** The checks across nodes, once at least one node answered. */
export function clusterChecks(
  plan: ClusterPlan,
  values: ReadonlyMap<string, ReadonlyMap<string, string>>,
  add: (c: Check) => void,
): void {
  if (values.size === 0) return;
  const ctx = { plan, values, add };
  imageCheck(ctx);
  modelFilesCheck(ctx);
  ranksCheck(ctx);
}

/** One probe value on every answering node. */
function per({ values }: ClusterCtx, k: string) {
  return [...values].map(([n, v]) => ({ node: n, value: v.get(k) ?? "" }));
}

/** A cluster check whose step did not answer on some node: FAIL naming those nodes, no verdict. */
function unansweredOn({ values, add }: ClusterCtx, id: string, title: string, step: string): boolean {
  const open = [...values]
    .map(([node, v]) => ({ node, st: stepState(v, step) }))
    .filter((x): x is { node: string; st: Exclude<StepState, { state: "done" }> } => x.st.state !== "done");
  if (open.length === 0) return false;
  const what = (x: (typeof open)[number]) =>
    x.st.state === "timeout"
      ? `${x.node}: ${x.st.command} did not answer within ${x.st.seconds} s`
      : `${x.node}: not checked (the probe ended before this step)`;
  const first = open[0] as (typeof open)[number];
  const check: Check = { id, node: first.node, status: "FAIL", title, evidence: "" };
  add({
    ...unanswered(check, first.st),
    node: "cluster",
    evidence: `${first.st.state === "timeout" ? "not answering" : "not checked"}: ${open.map(what).join("; ")}`,
  });
  return true;
}

/** The image is present, and identical, on every node. */
function imageCheck(ctx: ClusterCtx): void {
  const { plan, add } = ctx;
  const images = per(ctx, "image");
  const present = images.filter((i) => i.value.startsWith("sha256:"));
  const ids = new Set(present.map((i) => i.value));
  const evidence = images.map((i) => `${i.node} ${i.value === "none" ? "absent" : i.value.slice(0, 19)}`).join(", ");
  const head = plan.nodes.find((n) => n.role === "head") as NodePlan;
  if (unansweredOn(ctx, "image", `identical image ${plan.image.tag} on every node`, "image")) {
    // No verdict without every node's answer.
  } else if (present.length === 0) {
    add({
      id: "image",
      node: "cluster",
      status: "WARN",
      title: `image ${plan.image.tag} on every node`,
      evidence: `absent on every node (not deployed yet)`,
      fix: "pulumi up builds and distributes it",
    });
  } else if (ids.size > 1 || present.length < images.length) {
    add({
      id: "image",
      node: "cluster",
      status: "FAIL",
      title: `identical image ${plan.image.tag} on every node`,
      evidence,
      fix: `pulumi up re-copies it from ${head.name}, or on ${head.name}: docker save ${plan.image.tag} | ssh <worker> docker load`,
    });
  } else {
    add({
      id: "image",
      node: "cluster",
      status: "PASS",
      title: `identical image ${plan.image.tag} on every node`,
      evidence,
    });
  }
}

/** The model's files (names and sizes) are identical on every node. */
function modelFilesCheck(ctx: ClusterCtx): void {
  const { plan, add } = ctx;
  const models = per(ctx, "model_files");
  const withModel = models.filter((m) => m.value.trim() !== "");
  const summary = (s: string) => {
    const files = s.split("\n").filter(Boolean);
    const bytes = files.reduce((a, l) => a + Number(l.split(" ")[0]), 0);
    return `${files.length} files, ${(bytes / 1e9).toFixed(1)} GB`;
  };
  if (unansweredOn(ctx, "model-files", `${plan.model.id} files identical on every node (names and sizes)`, "models")) {
    // No verdict without every node's answer.
  } else if (withModel.length === 0) {
    add({
      id: "model-files",
      node: "cluster",
      status: "WARN",
      title: `${plan.model.id} files on every node`,
      evidence: "not downloaded on any node yet",
      fix: "pulumi up prefetches them",
    });
  } else {
    const ref = (withModel[0] as { value: string }).value;
    const differ = models.filter((m) => m.value !== ref);
    let detail = "";
    if (differ.length) {
      const a = new Set(ref.split("\n"));
      const d = differ[0] as { node: string; value: string };
      const b = new Set(d.value.split("\n"));
      const onlyA = [...a].filter((x) => x && !b.has(x));
      const onlyB = [...b].filter((x) => x && !a.has(x));
      detail = `; first difference: ${(withModel[0] as { node: string }).node} has '${onlyA[0] ?? "-"}', ${d.node} has '${onlyB[0] ?? "-"}'`;
    }
    add({
      id: "model-files",
      node: "cluster",
      status: differ.length ? "FAIL" : "PASS",
      title: `${plan.model.id} files identical on every node (names and sizes)`,
      evidence: models.map((m) => `${m.node} ${m.value.trim() ? summary(m.value) : "absent"}`).join(", ") + detail,
      ...(differ.length
        ? {
            fix: "pulumi up re-runs the prefetch (it completes partial downloads); delete a corrupt snapshot folder first",
          }
        : {}),
    });
  }
}

/** No rank runs without the others. */
function ranksCheck(ctx: ClusterCtx): void {
  const { plan, values, add } = ctx;
  const engines = plan.nodes.map((n) => ({ node: n.name, state: values.get(n.name)?.get("engine") ?? "unknown" }));
  const running = engines.filter((e) => e.state === "running");
  const alone = running.length > 0 && running.length < plan.nodes.length;
  // A lone rank among the nodes that answered is a FAIL; otherwise no verdict while one is unknown.
  if (!alone && unansweredOn(ctx, "ranks", "no rank running alone", "engine")) return;
  add({
    id: "ranks",
    node: "cluster",
    status: alone ? "FAIL" : "PASS",
    title: "no rank running alone",
    evidence: engines.map((e) => `${e.node} ${e.state || "absent"}`).join(", "),
    ...(alone
      ? {
          fix: `a lone rank waits forever in NCCL: remove it (${running
            .map((r) => `on ${r.node}: docker rm -f ${plan.nodes.find((n) => n.name === r.node)?.container.name}`)
            .join("; ")}) and pulumi up to start all ranks together`,
        }
      : {}),
  });
}
