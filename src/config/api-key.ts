/**
 * What makes `serving.apiKey` acceptable. The key is the only guard of an engine that listens on
 * every interface (and of the router in front of replicas), so a short or made-up key is a config
 * error, not a warning. The value is never part of a message.
 */

/** The shortest key accepted. `openssl rand -hex 24` gives 48 characters. */
export const API_KEY_MIN_LENGTH = 32;

/** How to make a good key, for the messages. */
export const API_KEY_HOWTO =
  'run `pulumi config set --secret apiKey "$(openssl rand -hex 24)"` (48 random hex characters)';

/** Words that mark a key someone meant to replace (matched case-insensitively, anywhere in the key). */
const PLACEHOLDER_WORDS = [
  "changeme",
  "change-me",
  "change_me",
  "placeholder",
  "replace",
  "your-key",
  "your_key",
  "yourkey",
  "your-api-key",
  "your_api_key",
  "example",
  "dummy",
  "xxxxxxxx",
];

/**
 * Why `key` is not an acceptable API key, or undefined. The characters are the bearer token's
 * (RFC 6750's b64token: letters, digits, `-._~+/`, `=` at the end), which every client can send in
 * an Authorization header as given and every env or unit file can hold without quoting.
 */
export function apiKeyProblem(key: string): string | undefined {
  if (!/^[A-Za-z0-9._~+/-]+=*$/.test(key))
    return `has characters a bearer token cannot carry as given (allowed: letters, digits, - . _ ~ + /, and = at the end): ${API_KEY_HOWTO}`;
  if (key.length < API_KEY_MIN_LENGTH)
    return (
      `is ${key.length} characters, shorter than ${API_KEY_MIN_LENGTH}: ` +
      `it is the only guard of an engine that answers on every interface; ${API_KEY_HOWTO}`
    );
  const lower = key.toLowerCase();
  const word = PLACEHOLDER_WORDS.find((w) => lower.includes(w));
  if (word !== undefined) return `looks like a placeholder (it contains "${word}"): ${API_KEY_HOWTO}`;
  if (new Set(key).size < 8)
    return `uses only ${new Set(key).size} different characters, which no random key does: ${API_KEY_HOWTO}`;
  return undefined;
}
