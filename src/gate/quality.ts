/**
 * Gate d: quality smoke. JSON-mode answers parse, English prompts are answered in Latin script
 * (DeepSeek-V4-Flash can drift language with thinking off and a system prompt), and the canaries
 * of a public gate: "7x19" answers 133, a forced tool call comes back as a tool call.
 * Not covered: the RECIPE's LLM-judged prompt battery.
 */
import { OpenAiClient } from "../bench/client";
import { type CheckResult, result } from "./types";

export interface QualityOptions {
  readonly endpoint: string;
  readonly apiKey?: string;
  readonly model: string;
  readonly timeoutMs: number;
  /** Share of letters that must be Latin script in an English answer (default 0.9). */
  readonly minLatinShare?: number;
}

export interface QualityProbe {
  readonly name: string;
  readonly pass: boolean;
  readonly detail: string;
}

/** Letters in `text` and the share of them in Latin script. */
export function latinShare(text: string): { letters: number; share: number } {
  const letters = text.match(/\p{L}/gu) ?? [];
  if (letters.length === 0) return { letters: 0, share: 0 };
  const latin = letters.filter((c) => /\p{Script=Latin}/u.test(c)).length;
  return { letters: letters.length, share: latin / letters.length };
}

function snippet(s: string): string {
  const t = s.replace(/\s+/g, " ").trim();
  return JSON.stringify(t.length > 120 ? `${t.slice(0, 117)}...` : t);
}

interface Message {
  content?: unknown;
  reasoning_content?: unknown;
  tool_calls?: { function?: { name?: unknown; arguments?: unknown } }[];
}

export async function qualityGate(opts: QualityOptions): Promise<CheckResult> {
  const t0 = performance.now();
  const client = new OpenAiClient({ endpoint: opts.endpoint, ...(opts.apiKey ? { apiKey: opts.apiKey } : {}) });
  const ask = asker(client, opts);
  const minLatin = opts.minLatinShare ?? 0.9;
  try {
    const probes = await Promise.all([
      jsonProbe(
        ask,
        "json-mode-person",
        "Return a JSON object describing a fictional person with the keys name, age and city.",
      ),
      jsonProbe(ask, "json-mode-list", 'Return a JSON object {"colors": [...]} listing three primary colors.'),
      languageProbe(ask, minLatin, "language-en-system-prompt", [
        { role: "system", content: "You are a concise assistant." },
        { role: "user", content: "In two sentences, why do leaves change color in autumn?" },
      ]),
      languageProbe(ask, minLatin, "language-en", [
        { role: "user", content: "Describe the water cycle in three short sentences." },
      ]),
      mathProbe(ask),
      toolProbe(ask),
    ]);
    const failed = probes.filter((p) => !p.pass);
    return result("quality", t0, {
      summary: failed.length
        ? `${failed.length} of ${probes.length} probes failed: ${failed.map((p) => p.name).join(", ")}`
        : `${probes.length} probes passed`,
      problems: failed.map((p) => `${p.name}: ${p.detail}`),
      notes: ["the RECIPE's LLM-judged 33-prompt battery is not part of this gate"],
      details: { probes },
    });
  } finally {
    client.close();
  }
}

/** One chat completion (temperature 0, no thinking) whose first message comes back, or why not. */
type Ask = (body: Record<string, unknown>) => Promise<{ message?: Message; error?: string }>;

function asker(client: OpenAiClient, opts: QualityOptions): Ask {
  return async (body) => {
    const r = await client.requestJson("/v1/chat/completions", {
      method: "POST",
      body: { model: opts.model, temperature: 0, max_tokens: 256, chat_template_kwargs: { thinking: false }, ...body },
      timeoutMs: opts.timeoutMs,
    });
    if (!r.ok) return { error: r.error?.message ?? "request failed" };
    const msg = (r.json as { choices?: { message?: Message }[] } | undefined)?.choices?.[0]?.message;
    if (!msg) return { error: "the answer has no choices[0].message" };
    return { message: msg };
  };
}

function text(m: Message): string {
  return typeof m.content === "string" ? m.content : "";
}

/** JSON mode: the answer parses as a JSON object. */
async function jsonProbe(ask: Ask, name: string, prompt: string): Promise<QualityProbe> {
  const r = await ask({ messages: [{ role: "user", content: prompt }], response_format: { type: "json_object" } });
  if (!r.message) return { name, pass: false, detail: `request failed: ${r.error}` };
  const t = text(r.message).trim();
  try {
    const v = JSON.parse(t) as unknown;
    if (!v || typeof v !== "object") return { name, pass: false, detail: `JSON but not an object: ${snippet(t)}` };
    return { name, pass: true, detail: `parses as a JSON object with keys ${Object.keys(v).slice(0, 6).join(", ")}` };
  } catch (e) {
    return { name, pass: false, detail: `JSON mode answer does not parse (${(e as Error).message}): ${snippet(t)}` };
  }
}

/** No language drift: an English prompt gets an answer in Latin script. */
async function languageProbe(ask: Ask, minLatin: number, name: string, messages: unknown[]): Promise<QualityProbe> {
  const r = await ask({ messages });
  if (!r.message) return { name, pass: false, detail: `request failed: ${r.error}` };
  const t = text(r.message);
  const { letters, share } = latinShare(t);
  if (letters < 10)
    return { name, pass: false, detail: `answer too short to judge (${letters} letters): ${snippet(t)}` };
  const pct = Math.round(share * 100);
  return share >= minLatin
    ? { name, pass: true, detail: `${pct}% Latin-script letters` }
    : {
        name,
        pass: false,
        detail: `language drift: an English prompt got ${pct}% Latin-script letters (need ${Math.round(minLatin * 100)}%): ${snippet(t)}`,
      };
}

/** Arithmetic canary: 7x19 = 133. */
async function mathProbe(ask: Ask): Promise<QualityProbe> {
  const name = "canary-7x19";
  const r = await ask({
    messages: [{ role: "user", content: "What is 7x19? Answer with the number only." }],
    max_tokens: 32,
  });
  if (!r.message) return { name, pass: false, detail: `request failed: ${r.error}` };
  const t = text(r.message);
  return /(^|[^0-9])133([^0-9]|$)/.test(t)
    ? { name, pass: true, detail: "answered 133" }
    : { name, pass: false, detail: `expected 133, got ${snippet(t)}` };
}

/** A forced tool call comes back as get_weather with JSON arguments. */
async function toolProbe(ask: Ask): Promise<QualityProbe> {
  const name = "canary-forced-tool-call";
  const r = await ask({
    messages: [{ role: "user", content: "What's the weather like in Paris right now?" }],
    tools: [
      {
        type: "function",
        function: {
          name: "get_weather",
          description: "Current weather for a city",
          parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
        },
      },
    ],
    tool_choice: { type: "function", function: { name: "get_weather" } },
  });
  if (!r.message) return { name, pass: false, detail: `request failed: ${r.error}` };
  const call = r.message.tool_calls?.[0]?.function;
  if (!call)
    return {
      name,
      pass: false,
      detail: `no tool call came back; the model answered in text: ${snippet(text(r.message))}`,
    };
  if (call.name !== "get_weather")
    return { name, pass: false, detail: `tool call to '${String(call.name)}', expected get_weather` };
  try {
    JSON.parse(typeof call.arguments === "string" ? call.arguments : "");
  } catch {
    return {
      name,
      pass: false,
      detail: `get_weather was called with arguments that are not JSON: ${snippet(String(call.arguments))}`,
    };
  }
  return { name, pass: true, detail: `get_weather(${String(call.arguments)})` };
}
