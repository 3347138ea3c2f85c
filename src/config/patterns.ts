/**
 * Strict patterns for every config value that is used unquoted: in a resource name, a file name,
 * an interface or HCA argument, a path, or a git ref. A value outside its pattern is a config
 * error; it never reaches a host. Anything else that reaches a shell goes through `shq`.
 */
export const PATTERNS = {
  /** Node names: also container names, resource names and file names. */
  nodeName: {
    re: /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/,
    hint: "1-32 lowercase letters, digits and '-', starting and ending with a letter or digit",
  },
  /** Linux interface names (IFNAMSIZ 16 with the NUL). */
  netdev: {
    re: /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/,
    hint: "a Linux interface name such as enp1s0f1np1 (letters, digits, '_', '.', '-'; at most 15)",
  },
  /** RDMA device (HCA) names as /sys/class/infiniband lists them. */
  hca: {
    re: /^[A-Za-z0-9][A-Za-z0-9_]{0,63}$/,
    hint: "an RDMA device name such as rocep1s0f1 (letters, digits and '_')",
  },
  /** SSH host: a DNS name or an IPv4 address (or a bracket-less IPv6 address). */
  host: {
    re: /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|[0-9A-Fa-f:]{2,39})$/,
    hint: "a host name or an IP address",
  },
  /** POSIX login names. */
  user: { re: /^[a-z_][a-z0-9_-]{0,31}$/, hint: "a login name such as ubuntu (lowercase letters, digits, '_', '-')" },
  /** Absolute paths without '..', spaces or shell metacharacters. */
  absPath: {
    re: /^\/(?:[A-Za-z0-9._+-]+\/?)*$/,
    hint: "an absolute path of letters, digits and . _ + - (no spaces, no '..')",
  },
  /** git refs: commits, tags, branch names. */
  gitRef: { re: /^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/, hint: "a git commit, tag or branch (letters, digits, . _ / -)" },
  /** A pinned ref: a commit SHA (7-40 hex) or a version tag such as v0.24.0 or v2.30u1. */
  pinnedRef: {
    re: /^(?:[0-9a-f]{7,40}|v\d+\.\d+(?:\.\d+)?(?:[A-Za-z0-9.+-]*)?)$/,
    hint: "a commit SHA or a version tag",
  },
  /** A Hugging Face Hub endpoint or mirror (HF_ENDPOINT). */
  hubUrl: {
    re: /^https?:\/\/[A-Za-z0-9.-]+(?::\d+)?(?:\/[A-Za-z0-9._/-]*)?$/,
    hint: "an http(s):// URL such as https://hf-mirror.example",
  },
  /** git repository URLs. */
  gitUrl: { re: /^https:\/\/[A-Za-z0-9.-]+(?::\d+)?\/[A-Za-z0-9._/-]+$/, hint: "an https:// repository URL" },
  /** Docker image references (name[:tag][@digest]). */
  imageRef: {
    re: /^[a-z0-9][a-z0-9._/:-]{0,254}(?:@sha256:[0-9a-f]{64})?$/,
    hint: "a Docker image reference such as registry.example/vllm-gb10:tag",
  },
  /** Hugging Face model ids. */
  modelId: {
    re: /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/,
    hint: "a Hugging Face id such as deepseek-ai/DeepSeek-V4-Flash",
  },
  /** Served model names, tags, simple words. */
  word: { re: /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, hint: "letters, digits, '.', '_' and '-'" },
  /** Environment variable names. */
  envName: {
    re: /^[A-Za-z_][A-Za-z0-9_]*$/,
    hint: "an environment variable name (letters, digits, '_', not starting with a digit)",
  },
  /** OpenSSH public host keys: `<type> <base64>`. */
  hostKey: {
    re: /^(?:ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521)) [A-Za-z0-9+/]+={0,3}$/,
    hint: "an OpenSSH host key line such as 'ssh-ed25519 AAAA...'",
  },
  /** Docker size strings. */
  size: { re: /^\d+[bkmg]?$/, hint: "a Docker size such as 64g" },
} as const;

/** Control characters (incl. newline) are never allowed in a value that may reach a shell. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point of this pattern
export const NO_CONTROL_CHARS = /^[^\x00-\x1f\x7f]*$/;
