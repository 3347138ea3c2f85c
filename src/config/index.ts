export * from "./schema";
export * from "./errors";
export * from "./load";
export { Secret, describeSecret, type SecretState } from "./secret";
export { PATTERNS } from "./patterns";
export { MANAGED_ENV, MANAGED_FLAGS } from "./managed";
