/** Small pure IPv4 helpers for the config's cross-field rules and the planner. */

/** Parse dotted-quad IPv4 into a 32-bit unsigned number, or undefined. */
export function parseIpv4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const part = m[i] as string;
    if (part.length > 1 && part.startsWith("0")) return undefined;
    const o = Number(part);
    if (o > 255) return undefined;
    n = n * 256 + o;
  }
  return n;
}

export function formatIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => (Math.floor(n / 2 ** s) % 256).toString()).join(".");
}

/** The network address of `addr/prefix`, as a number. */
export function networkOf(addr: number, prefix: number): number {
  if (prefix === 0) return 0;
  const size = 2 ** (32 - prefix);
  return Math.floor(addr / size) * size;
}

/** `10.0.0.0/30` for `10.0.0.1` and 30. */
export function subnetString(address: string, prefix: number): string {
  const a = parseIpv4(address);
  if (a === undefined) throw new Error(`not an IPv4 address: ${address}`);
  return `${formatIpv4(networkOf(a, prefix))}/${prefix}`;
}

/** True when `addr` is the network or broadcast address of its subnet (only for prefixes <= 30). */
export function isNetworkOrBroadcast(addr: number, prefix: number): boolean {
  if (prefix >= 31) return false;
  const net = networkOf(addr, prefix);
  return addr === net || addr === net + 2 ** (32 - prefix) - 1;
}
