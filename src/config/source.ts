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
  let i = 0;
  class Stop {
    constructor(
      readonly offset: number,
      readonly reason: string,
    ) {}
  }
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i] as string)) i++;
  };
  const fail = (reason?: string): never => {
    throw new Stop(i, reason ?? (i >= text.length ? "unexpected end of input" : "unexpected character"));
  };
  const str = () => {
    i++; // opening quote
    while (i < text.length) {
      const ch = text[i] as string;
      if (ch === '"') {
        i++;
        return;
      }
      if (ch < " ") fail("control character in a string");
      if (ch === "\\") {
        i++;
        const e = text[i];
        if (e === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail("bad escape in a string");
          i += 5;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i++;
        else fail("bad escape in a string");
      } else i++;
    }
    fail("unterminated string");
  };
  const value = (): void => {
    ws();
    const ch = text[i];
    if (ch === "{") {
      i++;
      ws();
      if (text[i] === "}") {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail("expected a double-quoted property name");
        str();
        ws();
        if (text[i] !== ":") fail("expected ':' after a property name");
        i++;
        value();
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return;
        }
        fail("expected ',' or '}'");
      }
    }
    if (ch === "[") {
      i++;
      ws();
      if (text[i] === "]") {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return;
        }
        fail("expected ',' or ']'");
      }
    }
    if (ch === '"') {
      str();
      return;
    }
    const m = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i));
    if (m) {
      i += m[0].length;
      return;
    }
    fail();
  };
  try {
    value();
    ws();
    if (i < text.length) fail("unexpected text after the value");
  } catch (e) {
    if (e instanceof Stop) return { offset: e.offset, reason: e.reason };
    throw e;
  }
  return { offset: text.length, reason: "syntax error" };
}
