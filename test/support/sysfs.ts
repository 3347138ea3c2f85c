/** A fixture sysfs tree (class/infiniband, class/net) like a Spark's, for the node metrics functions. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface SysfsPort {
  netdev: string;
  hca: string;
  mtu: number;
  /** GID table of port 1: index -> [gid, type]. */
  gids: Record<number, [string, string]>;
  counters: Record<string, string | number>;
  hwCounters: Record<string, string | number>;
}

export function writeSysfs(root: string, ports: readonly SysfsPort[]): void {
  for (const p of ports) {
    const port = join(root, "class", "infiniband", p.hca, "ports", "1");
    for (const d of ["counters", "hw_counters", "gids", join("gid_attrs", "types")])
      mkdirSync(join(port, d), { recursive: true });
    for (const [k, v] of Object.entries(p.counters)) writeFileSync(join(port, "counters", k), `${v}\n`);
    for (const [k, v] of Object.entries(p.hwCounters)) writeFileSync(join(port, "hw_counters", k), `${v}\n`);
    for (const [i, [gid, type]] of Object.entries(p.gids)) {
      writeFileSync(join(port, "gids", i), `${gid}\n`);
      writeFileSync(join(port, "gid_attrs", "types", i), `${type}\n`);
    }
    mkdirSync(join(root, "class", "net", p.netdev), { recursive: true });
    writeFileSync(join(root, "class", "net", p.netdev, "mtu"), `${p.mtu}\n`);
  }
}
