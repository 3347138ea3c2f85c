/**
 * Parsing a config file's text (YAML or JSON) with errors that name the file, line and column and
 * the parser's reason, never the text: a stack file may hold a plain-text secret next to a typo.
 */
import { parseDocument } from "yaml";
import { ConfigError } from "./errors";

export type SourceFormat = "yaml" | "json";

/** Parse YAML or JSON text. Throws ConfigError (path = the file) without any of the file's text. */
export function parseConfigText(text: string, file: string, format: SourceFormat): unknown {
  if (format === "json") {
    try {
      return JSON.parse(text);
    } catch {
      const at = jsonErrorAt(text);
      throw new ConfigError([{ path: file, message: `${where(text, at.offset)}: not valid JSON (${at.reason})` }]);
    }
  }
  const doc = parseDocument(text, { prettyErrors: false, logLevel: "silent" });
  const e = doc.errors[0];
  if (e) {
    const pos = e.linePos?.[0];
    const loc = pos ? `line ${pos.line}, column ${pos.col}` : where(text, e.pos[0]);
    throw new ConfigError([{ path: file, message: `${loc}: not valid YAML (${reasonOf(e.code)})` }]);
  }
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch {
    // e.g. an alias bomb; the library's message is not shown (it may quote the file).
    throw new ConfigError([{ path: file, message: "is not valid YAML (its aliases could not be resolved)" }]);
  }
}

/** The parser's error code (e.g. BAD_INDENT), as words: a fixed identifier, never the input. */
function reasonOf(code: string): string {
  return /^[A-Z_]+$/.test(code) ? code.toLowerCase().replace(/_/g, " ") : "syntax error";
}

/** "line L, column C" of a character offset (both from 1). */
function where(text: string, offset: number): string {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const line = before.split("\n").length;
  const col = before.length - before.lastIndexOf("\n");
  return `line ${line}, column ${col}`;
}

/**
 * Where JSON text stops being JSON and why, found by a small scanner of the grammar (JSON.parse's
 * own message quotes the text around the error, so it is never shown).
 */
export function jsonErrorAt(text: string): { offset: number; reason: string } {
  const scan = new JsonScanner(text);
  try {
    scan.value();
    scan.ws();
    if (scan.i < text.length) scan.fail("unexpected text after the value");
  } catch (e) {
    if (e instanceof JsonStop) return { offset: e.offset, reason: e.reason };
    throw e;
  }
  return { offset: text.length, reason: "syntax error" };
}

/** Where and why the scan stopped. */
class JsonStop {
  constructor(
    readonly offset: number,
    readonly reason: string,
  ) {}
}

/** A recursive-descent walk over JSON's grammar that throws a JsonStop at the first wrong character. */
class JsonScanner {
  i = 0;
  constructor(private readonly text: string) {}

  ws(): void {
    while (this.i < this.text.length && " \t\n\r".includes(this.text[this.i] as string)) this.i++;
  }

  fail(reason?: string): never {
    throw new JsonStop(
      this.i,
      reason ?? (this.i >= this.text.length ? "unexpected end of input" : "unexpected character"),
    );
  }

  value(): void {
    this.ws();
    const ch = this.text[this.i];
    if (ch === "{") this.object();
    else if (ch === "[") this.array();
    else if (ch === '"') this.string();
    else this.literal();
  }

  /** A number, true, false or null. */
  private literal(): void {
    const m = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(this.text.slice(this.i));
    if (!m) this.fail();
    this.i += m[0].length;
  }

  private object(): void {
    this.i++;
    this.ws();
    if (this.text[this.i] === "}") {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      if (this.text[this.i] !== '"') this.fail("expected a double-quoted property name");
      this.string();
      this.ws();
      if (this.text[this.i] !== ":") this.fail("expected ':' after a property name");
      this.i++;
      this.value();
      if (this.endOfList("}")) return;
    }
  }

  private array(): void {
    this.i++;
    this.ws();
    if (this.text[this.i] === "]") {
      this.i++;
      return;
    }
    for (;;) {
      this.value();
      if (this.endOfList("]")) return;
    }
  }

  /** After a member: true at the closing bracket, false after a comma, a stop otherwise. */
  private endOfList(close: "}" | "]"): boolean {
    this.ws();
    const ch = this.text[this.i];
    if (ch !== "," && ch !== close) this.fail(`expected ',' or '${close}'`);
    this.i++;
    return ch === close;
  }

  private string(): void {
    this.i++; // opening quote
    while (this.i < this.text.length) {
      const ch = this.text[this.i] as string;
      if (ch === '"') {
        this.i++;
        return;
      }
      if (ch < " ") this.fail("control character in a string");
      if (ch === "\\") this.escape();
      else this.i++;
    }
    this.fail("unterminated string");
  }

  /** A backslash escape: \uXXXX or one of " \\ / b f n r t. */
  private escape(): void {
    this.i++;
    const e = this.text[this.i];
    if (e === "u") {
      if (!/^[0-9a-fA-F]{4}$/.test(this.text.slice(this.i + 1, this.i + 5))) this.fail("bad escape in a string");
      this.i += 5;
    } else if (e !== undefined && '"\\/bfnrt'.includes(e)) this.i++;
    else this.fail("bad escape in a string");
  }
}
