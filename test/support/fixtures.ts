/** A valid two-node cluster as a plain object, for tests to copy and break. */
export function baseConfig(): Record<string, any> {
  return {
    ssh: { user: "spark", privateKey: "-----FAKE KEY FOR TESTS-----" },
    nodes: [
      {
        name: "spark-head",
        role: "head",
        ssh: { host: "192.168.1.11" },
        dataPlane: [{ netdev: "enp1s0f1np1", hca: "rocep1s0f1", address: "10.0.0.1", prefix: 30 }],
      },
      {
        name: "spark-worker",
        role: "worker",
        ssh: { host: "192.168.1.12" },
        dataPlane: [{ netdev: "enp1s0f1np1", hca: "rocep1s0f1", address: "10.0.0.2", prefix: 30 }],
      },
    ],
    model: { hfToken: "hf_test_token_value" },
    serving: { profile: "1m", apiKey: "test-api-key-value-4f1c9a2e7b3d8065" },
  };
}

/** The same cluster with both twins of the QSFP port. */
export function twinConfig(): Record<string, any> {
  const c = baseConfig();
  c.nodes[0].dataPlane.push({ netdev: "enP2p1s0f1np1", hca: "roceP2p1s0f1", address: "10.0.1.1", prefix: 30 });
  c.nodes[1].dataPlane.push({ netdev: "enP2p1s0f1np1", hca: "roceP2p1s0f1", address: "10.0.1.2", prefix: 30 });
  return c;
}

/** Split a POSIX shell line into words (single/double quotes and backslashes), for reading recipe text. */
export function shellWords(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] as string;
    if (ch === "'") {
      const j = line.indexOf("'", i + 1);
      cur += line.slice(i + 1, j);
      i = j;
      inWord = true;
    } else if (ch === '"') {
      const j = line.indexOf('"', i + 1);
      cur += line.slice(i + 1, j);
      i = j;
      inWord = true;
    } else if (ch === "\\" && line[i + 1] === "\n") {
      i++;
    } else if (ch === "\\" && i + 1 < line.length) {
      // outside quotes a backslash takes the next character literally (shq's '\'' for a quote)
      cur += line[i + 1] as string;
      i++;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) out.push(cur);
      cur = "";
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (inWord) out.push(cur);
  return out;
}
