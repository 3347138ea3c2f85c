/**
 * vLLM's own router (`vllm-router` from PyPI, pinned) in front of `serving.replicas`
 * (`serving.router.enabled`): one endpoint for every replica, with a policy that keeps requests
 * sharing a prefix on one replica (cache_aware), worker health checks, retries and a circuit breaker.
 * The router is not written here: this plans how it runs on its node (docs/router.md).
 *
 * How it runs: a venv on the router's node (`python3 -m venv`, `pip install vllm-router==<pin>`,
 * the wheel is a Rust binary for aarch64 and x86_64) and a systemd unit (Restart=always, an
 * unprivileged DynamicUser). The API key never reaches argv: vllm-router 0.1.17 takes it only as
 * `--api-key` (visible to every user in `ps`), so a small launcher (ROUTER_LAUNCHER, installed
 * beside the venv) reads VLLM_API_KEY from the environment, which systemd loads from a root-only
 * file (EnvironmentFile= is read by systemd as root before it drops privileges).
 *
 * Measured here (test/router): `--api-key` alone does not make the router check clients (it is the
 * key the router sends to workers for its own calls, and it forwards a client's Authorization
 * header as given). The launcher therefore also sets the router's `api_key_validation_urls` (which
 * the 0.1.17 launcher has no flag for) to each worker's /v1/models: the router accepts a bearer
 * token when a worker answers 200 for it, i.e. vLLM itself checks the key. With it every route of
 * the router needs the key (its /health, /workers, /readiness and the admin routes too), except the
 * Prometheus listener on its own port.
 */
import type { ClusterConfig } from "../config/schema";
import { shellJoin, shq } from "../shell/quote";
import type { HostNames } from "./types";

export const VLLM_ROUTER_VERSION = "0.1.17";

/** The launcher: vllm-router's own CLI parser and launch, with the key from the environment. */
export const ROUTER_LAUNCHER = `# dgx-spark-vllm: starts vllm-router ${VLLM_ROUTER_VERSION} with the API key from the environment, never argv.
import os, sys
from vllm_router.launch_router import launch_router, parse_router_args

args = parse_router_args(sys.argv[1:])
key = os.environ.pop("VLLM_API_KEY", "")
if key:
    # The key the router sends to the workers on its own calls ...
    args.api_key = key
    # ... and the check of clients: a bearer token passes when a worker's /v1/models answers 200 for it.
    args.api_key_validation_urls = [u.rstrip("/") + "/v1/models" for u in args.worker_urls]
launch_router(args)
`;

/** The router's health checks of the workers (vllm-router's flags), as the plan sets them. */
export const ROUTER_HEALTH = {
  endpoint: "/health",
  intervalSeconds: 10,
  timeoutSeconds: 5,
  failureThreshold: 3,
  successThreshold: 2,
  /** How long the router waits at start for a first healthy worker (a Spark's engine loads for minutes). */
  startupTimeoutSeconds: 3600,
  startupCheckIntervalSeconds: 10,
} as const;

export interface RouterArgvInput {
  readonly workers: readonly string[];
  readonly policy: string;
  readonly host: string;
  readonly port: number;
  readonly metricsHost: string;
  readonly metricsPort: number;
}

/** vllm-router's arguments (after the launcher): workers, policy, listeners, health checks. */
export function routerArgs(i: RouterArgvInput): string[] {
  const h = ROUTER_HEALTH;
  return [
    "--host",
    i.host,
    "--port",
    String(i.port),
    "--worker-urls",
    ...i.workers,
    "--policy",
    i.policy,
    "--prometheus-host",
    i.metricsHost,
    "--prometheus-port",
    String(i.metricsPort),
    "--health-check-endpoint",
    h.endpoint,
    "--health-check-interval-secs",
    String(h.intervalSeconds),
    "--health-check-timeout-secs",
    String(h.timeoutSeconds),
    "--health-failure-threshold",
    String(h.failureThreshold),
    "--health-success-threshold",
    String(h.successThreshold),
    "--worker-startup-timeout-secs",
    String(h.startupTimeoutSeconds),
    "--worker-startup-check-interval",
    String(h.startupCheckIntervalSeconds),
  ];
}

export interface RouterServicePlan {
  readonly version: string;
  /** The node that runs it, and its management host. */
  readonly node: string;
  readonly host: string;
  readonly policy: string;
  readonly port: number;
  readonly metricsPort: number;
  /** The cluster's endpoint: the router's OpenAI-compatible base URL. */
  readonly endpoint: string;
  /** Its Prometheus metrics (vllm_router_*), no key needed. */
  readonly metricsUrl: string;
  /** The replicas' base URLs it routes to (the endpoints without /v1). */
  readonly workers: readonly string[];
  /** Clients need the cluster's API key (checked through a worker's /v1/models). */
  readonly authenticated: boolean;
  readonly venv: string;
  readonly launcherPath: string;
  /** The unit's ExecStart, as argv. No secret in it. */
  readonly argv: readonly string[];
  /** Secret variables (values in secretsFile, root only). */
  readonly secretEnv: readonly string[];
  readonly secretsFile?: string;
  readonly unit: { readonly name: string; readonly path: string; readonly text: string };
  readonly restart: string;
  readonly healthChecks: typeof ROUTER_HEALTH;
  /** Host steps on the router's node, in order: venv, secrets file, unit. */
  readonly steps: readonly RouterStep[];
}

export interface RouterStep {
  readonly id: string;
  readonly description: string;
  /** bash; reads the secrets on stdin (router-secrets only: VLLM_API_KEY, one line). */
  readonly create: string;
  readonly delete: string;
}

/** A systemd ExecStart word: double-quoted with \\ and " escaped, % doubled, $ as $$ (no expansion). */
function unitWord(w: string): string {
  if (/^[A-Za-z0-9_@+=:,./-]+$/.test(w)) return w;
  return `"${w.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/%/g, "%%").replace(/\$/g, "$$$$")}"`;
}

const bracket = (host: string) => (host.includes(":") ? `[${host}]` : host);

/** The router of a deployment with serving.router.enabled; `endpoints` are the replicas' (…/v1). */
export function planRouterService(
  config: ClusterConfig,
  names: HostNames,
  endpoints: readonly string[],
): RouterServicePlan {
  const r = config.serving.router;
  const firstHead = config.nodes.find((n) => n.role === "head" && (n.replica ?? 0) === 0) ?? config.nodes[0];
  const node = config.nodes.find((n) => n.name === (r.node ?? firstHead?.name));
  if (!node) throw new Error(`serving.router.node '${r.node}' is not a node`);
  const host = node.ssh.host;
  const workers = endpoints.map((e) => e.replace(/\/v1\/?$/, ""));
  const venv = `/opt/${names.prefix}/vllm-router-${VLLM_ROUTER_VERSION}`;
  const launcherPath = `${venv}/launch-router.py`;
  const argv = [
    `${venv}/bin/python`,
    launcherPath,
    ...routerArgs({
      workers,
      policy: r.policy,
      host: "0.0.0.0",
      port: r.port,
      metricsHost: "0.0.0.0",
      metricsPort: r.metricsPort,
    }),
  ];
  const authenticated = !config.serving.allowUnauthenticated;
  const unitName = `${names.prefix}-router`;
  const secretsDir = `${names.stateDir}/secrets/${unitName}`;
  const secretsFile = authenticated ? `${secretsDir}/secrets.env` : undefined;
  const unitPath = `/etc/systemd/system/${unitName}.service`;
  const unitText = routerUnitText(config, workers, argv, secretsFile);
  const steps: RouterStep[] = [
    routerVenvStep(venv, launcherPath),
    ...(secretsFile ? [routerSecretsStep(secretsDir, secretsFile)] : []),
    routerUnitStep(unitName, unitPath, unitText, `${host}:${r.port} (metrics ${r.metricsPort})`),
  ];
  return {
    version: VLLM_ROUTER_VERSION,
    node: node.name,
    host,
    policy: r.policy,
    port: r.port,
    metricsPort: r.metricsPort,
    endpoint: `http://${bracket(host)}:${r.port}/v1`,
    metricsUrl: `http://${bracket(host)}:${r.metricsPort}/metrics`,
    workers,
    authenticated,
    venv,
    launcherPath,
    argv,
    secretEnv: authenticated ? ["VLLM_API_KEY"] : [],
    ...(secretsFile ? { secretsFile } : {}),
    unit: { name: unitName, path: unitPath, text: unitText },
    restart: "systemd Restart=always, RestartSec=5",
    healthChecks: ROUTER_HEALTH,
    steps,
  };
}

/** The shell prologue of the router's steps. */
const STRICT = "set -euo pipefail\nSUDO=; [ \"$(id -u)\" -eq 0 ] || SUDO='sudo -n'";

/** The router's systemd unit: its environment file (the key), its argv, restarts, no privileges. */
function routerUnitText(
  config: ClusterConfig,
  workers: readonly string[],
  argv: readonly string[],
  secretsFile: string | undefined,
): string {
  const r = config.serving.router;
  return [
    "[Unit]",
    `Description=vLLM router (vllm-router ${VLLM_ROUTER_VERSION}, ${r.policy}) in front of ${workers.length} replicas of ${config.model.servedName}`,
    "Wants=network-online.target",
    "After=network-online.target",
    "",
    "[Service]",
    ...(secretsFile ? [`EnvironmentFile=${secretsFile}`] : []),
    `ExecStart=${argv.map(unitWord).join(" ")}`,
    "Restart=always",
    "RestartSec=5",
    "DynamicUser=yes",
    "NoNewPrivileges=yes",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/** vllm-router from PyPI in a venv (pinned, replaced when its version differs), and the launcher. */
function routerVenvStep(venv: string, launcherPath: string): RouterStep {
  return {
    id: "router-venv",
    description: `${venv}: vllm-router==${VLLM_ROUTER_VERSION} from PyPI in a venv, and its launcher`,
    create: [
      STRICT,
      `V=${shq(venv)}`,
      `if ! "$V/bin/python" -c 'import importlib.metadata as m, sys; sys.exit(m.version("vllm-router") != sys.argv[1])' ${VLLM_ROUTER_VERSION} 2>/dev/null; then`,
      `  $SUDO rm -rf "$V"; $SUDO mkdir -p "$(dirname "$V")"`,
      `  $SUDO python3 -m venv "$V"`,
      `  $SUDO "$V/bin/pip" install -q --disable-pip-version-check --no-input ${shq(`vllm-router==${VLLM_ROUTER_VERSION}`)}`,
      "fi",
      `printf '%s' ${shq(ROUTER_LAUNCHER)} | $SUDO tee ${shq(launcherPath)} >/dev/null`,
      `$SUDO chmod -R a+rX "$V"`,
    ].join("\n"),
    delete: [STRICT, `$SUDO rm -rf ${shq(venv)}`].join("\n"),
  };
}

/** The API key in a root-only environment file, read on stdin. */
function routerSecretsStep(secretsDir: string, secretsFile: string): RouterStep {
  return {
    id: "router-secrets",
    description: `${secretsFile} (root only, 0600) with VLLM_API_KEY, read on stdin; loaded by the unit's EnvironmentFile=`,
    create: [
      STRICT,
      `$SUDO install -d -m 0700 -o root -g root ${shq(secretsDir)}`,
      "IFS= read -r VLLM_API_KEY",
      // The value in single quotes (systemd's EnvironmentFile= takes them, no expansion inside); the key has no quote or newline.
      `case "$VLLM_API_KEY" in *\\'*) echo "the API key contains a single quote, which the router's environment file cannot hold" >&2; exit 1;; esac`,
      `umask 077; printf "VLLM_API_KEY='%s'\\n" "$VLLM_API_KEY" | $SUDO tee ${shq(`${secretsFile}.new`)} >/dev/null`,
      `$SUDO chmod 0600 ${shq(`${secretsFile}.new`)}; $SUDO mv ${shq(`${secretsFile}.new`)} ${shq(secretsFile)}`,
    ].join("\n"),
    delete: [STRICT, `$SUDO rm -rf ${shq(secretsDir)}`].join("\n"),
  };
}

/** The unit written, enabled and (re)started; on delete disabled and removed. */
function routerUnitStep(unitName: string, unitPath: string, unitText: string, where: string): RouterStep {
  return {
    id: "router-unit",
    description: `${unitPath}: the router on ${where}, Restart=always; enabled and (re)started`,
    create: [
      STRICT,
      `printf '%s' ${shq(unitText)} | $SUDO tee ${shq(unitPath)} >/dev/null`,
      "$SUDO systemctl daemon-reload",
      `$SUDO systemctl enable ${shq(unitName)} >/dev/null`,
      `$SUDO systemctl restart ${shq(unitName)}`,
    ].join("\n"),
    delete: [
      STRICT,
      `$SUDO systemctl disable --now ${shq(unitName)} 2>/dev/null || true`,
      `$SUDO rm -f ${shq(unitPath)}`,
      "$SUDO systemctl daemon-reload",
    ].join("\n"),
  };
}

/** The unit's ExecStart as one shell line (for the plan's text; no secret in it). */
export function routerCommandLine(p: RouterServicePlan): string {
  return shellJoin(p.argv);
}
