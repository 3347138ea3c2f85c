/**
 * Incremental Server-Sent Events parser (the subset OpenAI-compatible servers use): feed it raw
 * text as it arrives, in chunks split anywhere; it calls `onData` once per complete event with the
 * event's `data` (multi-line data joined by "\n"). Comments and other fields are ignored.
 */
export class SseParser {
  private buffer = "";
  private data: string[] = [];

  constructor(private readonly onData: (data: string) => void) {}

  /** Feed more text. Returns nothing; events are delivered through `onData`. */
  push(text: string): void {
    this.buffer += text;
    let start = 0;
    for (;;) {
      const nl = this.buffer.indexOf("\n", start);
      if (nl < 0) break;
      let line = this.buffer.slice(start, nl);
      start = nl + 1;
      if (line.endsWith("\r")) line = line.slice(0, -1);
      this.line(line);
    }
    this.buffer = start === 0 ? this.buffer : this.buffer.slice(start);
  }

  /** End of input: a final event without its blank line is still delivered. */
  end(): void {
    if (this.buffer.length > 0) {
      const line = this.buffer.endsWith("\r") ? this.buffer.slice(0, -1) : this.buffer;
      this.buffer = "";
      this.line(line);
    }
    this.dispatch();
  }

  private line(line: string): void {
    if (line === "") {
      this.dispatch();
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    if (field !== "data") return;
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    this.data.push(value);
  }

  private dispatch(): void {
    if (this.data.length === 0) return;
    const data = this.data.length === 1 ? (this.data[0] as string) : this.data.join("\n");
    this.data = [];
    this.onData(data);
  }
}
