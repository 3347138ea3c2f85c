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
import { hostFile, varBlock } from "../shell/host";
import { shellJoin } from "../shell/quote";
import { script, undoScript } from "../shell/script";
import { ANY, managementBind } from "./bind";
import { secretsFileScripts, secretsFileSpec, secretsFileStdin } from "./secrets-file";
import type { HostNames, RouterOnCluster, SecretsFileSpec } from "./types";

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
  /** bash (script()/undoScript() over src/host/router.sh or secrets-file.sh); router-secrets reads stdin: routerSecretsStdin. */
  readonly create: string;
  readonly delete: string;
}

/** The router's node: serving.router.node, else the first replica's head (undefined: none in these nodes). */
export function routerNodeName(config: ClusterConfig): string | undefined {
  return config.serving.router.node ?? config.nodes.find((n) => n.role === "head" && (n.replica ?? 0) === 0)?.name;
}

/** The router's systemd unit (without `.service`). */
export const routerUnitName = (names: HostNames): string => `${names.prefix}-router`;

/**
 * The router as one replica's cluster plan sees it: set when serving.router.enabled and the
 * router's node is one of `nodes` (a replica's own; src/plan/replicas.ts keeps serving.router in
 * each replica's config). doctor checks it on that node; that replica's Prometheus scrapes it.
 */
export function routerOnCluster(
  config: ClusterConfig,
  nodes: readonly { readonly name: string; readonly ssh: { readonly host: string } }[],
  names: HostNames,
): RouterOnCluster | undefined {
  const r = config.serving.router;
  const name = routerNodeName(config);
  const node = r.enabled ? nodes.find((n) => n.name === name) : undefined;
  if (!node) return undefined;
  const { policy, port, metricsPort } = r;
  return { node: node.name, host: node.ssh.host, unit: routerUnitName(names), policy, port, metricsPort };
}

/** A systemd ExecStart word: double-quoted with \\ and " escaped, % doubled, $ as $$ (no expansion). */
function unitWord(w: string): string {
  if (/^[A-Za-z0-9_@+=:,./-]+$/.test(w)) return w;
  return `"${w.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/%/g, "%%").replace(/\$/g, "$$$$")}"`;
}

const bracket = (host: string) => (host.includes(":") ? `[${host}]` : host);

/**
 * Where the router listens on a node whose management host is `host`: its API on every interface
 * (clients), its metrics on the management address where it is one (only Prometheus reads them).
 */
export function routerBinds(host: string): { readonly api: string; readonly metrics: string } {
  return { api: ANY, metrics: managementBind(host) };
}

/** The router of a deployment with serving.router.enabled; `endpoints` are the replicas' (…/v1). */
export function planRouterService(
  config: ClusterConfig,
  names: HostNames,
  endpoints: readonly string[],
): RouterServicePlan {
  const r = config.serving.router;
  const node = config.nodes.find((n) => n.name === (routerNodeName(config) ?? config.nodes[0]?.name));
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
      host: routerBinds(host).api,
      port: r.port,
      metricsHost: routerBinds(host).metrics,
      metricsPort: r.metricsPort,
    }),
  ];
  const authenticated = !config.serving.allowUnauthenticated;
  const unitName = routerUnitName(names);
  // The secrets folder is named after the unit file: a node name has no '.', so no container's folder can be this one.
  const secrets = authenticated ? secretsFileSpec(`${unitName}.service`) : undefined;
  const secretsFile = secrets ? `${secrets.hostDir}/${secrets.fileName}` : undefined;
  const unitPath = `/etc/systemd/system/${unitName}.service`;
  const unitText = routerUnitText(config, workers, argv, secretsFile);
  const steps: RouterStep[] = [
    routerVenvStep(unitName, venv, launcherPath),
    ...(secrets ? [routerSecretsStep(`${unitName}.service`, secrets)] : []),
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
    secretEnv: authenticated ? ROUTER_SECRET_ENV : [],
    ...(secretsFile ? { secretsFile } : {}),
    unit: { name: unitName, path: unitPath, text: unitText },
    restart: "systemd Restart=always, RestartSec=5",
    healthChecks: ROUTER_HEALTH,
    steps,
  };
}

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

/** src/host/router.sh, inlined after each step's variables. */
const routerFunctions = (): string => hostFile("router.sh").replace(/\n$/, "");

/** vllm-router from PyPI in a venv (pinned, made anew when its version differs), and the launcher. */
function routerVenvStep(unitName: string, venv: string, launcherPath: string): RouterStep {
  const vars = varBlock({
    VENV: venv,
    VERSION: VLLM_ROUTER_VERSION,
    LAUNCHER_PATH: launcherPath,
    LAUNCHER: ROUTER_LAUNCHER,
    JOURNAL_KEY: `router-venv%${unitName}`,
  });
  return {
    id: "router-venv",
    description: `${venv}: vllm-router==${VLLM_ROUTER_VERSION} from PyPI in a venv, and its launcher`,
    create: script(vars, routerFunctions(), "router_venv_install"),
    delete: undoScript(vars, routerFunctions(), "router_venv_remove"),
  };
}

/**
 * The API key in a root-only environment file, through the containers' secrets-file mechanism
 * (src/host/secrets-file.sh: same folder root, journal and stdin contract; `routerSecretsStdin`).
 */
function routerSecretsStep(owner: string, s: SecretsFileSpec): RouterStep {
  return {
    id: "router-secrets",
    description: `${s.hostDir}/${s.fileName} (root only, 0600) with VLLM_API_KEY, read on stdin; loaded by the unit's EnvironmentFile=`,
    ...secretsFileScripts(owner, s, ROUTER_SECRET_ENV),
  };
}

/** The secret variables the router's unit reads from its secrets file. */
export const ROUTER_SECRET_ENV: readonly string[] = ["VLLM_API_KEY"];

/**
 * The router-secrets step's stdin for the API key. The file holds `VLLM_API_KEY='<key>'`
 * (secrets-file.sh's POSIX quoting), read by systemd's EnvironmentFile=, whose parser
 * (src/basic/env-file.c, parse_env_file_internal, as loaded by load_env_file) takes everything
 * between two single quotes literally: no escapes, no $ expansion, spaces kept, which is exactly
 * the value. What it does not read as POSIX sh does is a single quote inside the value: the
 * '\'' sequence ends up as '' plus the rest in quotes, a different key. The API key is kept to
 * characters without quotes by its validation; a key with one is refused here rather than
 * written wrong. A newline cannot be in a value either (secretsFileStdin).
 */
export function routerSecretsStdin(apiKey: string): string {
  if (apiKey.includes("'"))
    throw new Error(
      "serving.apiKey contains a single quote, which systemd's EnvironmentFile= would not read back as written" +
        " (the router's secrets file): use a key without quotes",
    );
  return secretsFileStdin(ROUTER_SECRET_ENV, [apiKey]);
}

/** The unit written, enabled and (re)started; on delete disabled and removed. */
function routerUnitStep(unitName: string, unitPath: string, unitText: string, where: string): RouterStep {
  const vars = varBlock({ UNIT: unitName, UNIT_FILE: unitPath, UNIT_TEXT: unitText });
  return {
    id: "router-unit",
    description: `${unitPath}: the router on ${where}, Restart=always; enabled and (re)started`,
    create: script(vars, routerFunctions(), "router_unit_install"),
    delete: undoScript(vars, routerFunctions(), "router_unit_remove"),
  };
}

/** The unit's ExecStart as one shell line (for the plan's text; no secret in it). */
export function routerCommandLine(p: RouterServicePlan): string {
  return shellJoin(p.argv);
}
