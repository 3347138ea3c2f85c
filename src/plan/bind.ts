/** The addresses listeners bind to (docs/exposure.md). */
import { isIP } from "node:net";

/** Every interface. */
export const ANY = "0.0.0.0";
export const LOOPBACK = "127.0.0.1";

/** The management host when it is an IP address (what a listener binds to), else every interface. */
export function managementBind(host: string): string {
  return isIP(host) === 0 ? ANY : host;
}
