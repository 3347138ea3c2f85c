/**
 * vLLM's Prometheus metrics as the stand-ins serve them on /metrics: the names, types, labels
 * (`model_name`, `engine`) and histogram buckets of vLLM's v1 PrometheusStatLogger
 * (vllm/v1/metrics/loggers.py, vllm/v1/spec_decode/metrics.py), with values that follow the
 * requests the stand-in actually served. Only the series the dashboard and the alert rules read,
 * plus a few neighbours, so a panel on a name vLLM does not export finds nothing here either.
 */

const TTFT_BUCKETS = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0,
  640.0, 2560.0,
];
const ITL_BUCKETS = [
  0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0,
];

class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(readonly buckets: readonly number[]) {
    this.counts = buckets.map(() => 0);
  }
  observe(v: number): void {
    this.buckets.forEach((b, i) => {
      if (v <= b) this.counts[i] = (this.counts[i] as number) + 1;
    });
    this.sum += v;
    this.count++;
  }
  lines(name: string, labels: string): string[] {
    return [
      ...this.buckets.map(
        (b, i) => `${name}_bucket{${labels},le="${Number.isInteger(b) ? b.toFixed(1) : String(b)}"} ${this.counts[i]}`,
      ),
      `${name}_bucket{${labels},le="+Inf"} ${this.count}`,
      `${name}_count{${labels}} ${this.count}`,
      `${name}_sum{${labels}} ${this.sum}`,
    ];
  }
}

export class VllmMetrics {
  promptTokens = 0;
  generationTokens = 0;
  running = 0;
  waiting = 0;
  prefixQueries = 0;
  prefixHits = 0;
  drafts = 0;
  draftTokens = 0;
  acceptedTokens = 0;
  /** Accepted over drafted tokens; a test lowers it to make acceptance collapse. */
  acceptance = 0.75;
  readonly ttft = new Histogram(TTFT_BUCKETS);
  readonly itl = new Histogram(ITL_BUCKETS);
  constructor(
    readonly servedName: string,
    readonly maxNumSeqs = 8,
  ) {}

  /** A request began (prompt tokens, some of them found in the prefix cache). */
  start(promptTokens: number): void {
    this.running++;
    this.promptTokens += promptTokens;
    this.prefixQueries += promptTokens;
    this.prefixHits += Math.floor(promptTokens / 2);
  }
  /** One output token, `gapS` after the previous one (the first: the TTFT). */
  token(gapS: number, first: boolean): void {
    this.generationTokens++;
    if (first) this.ttft.observe(gapS);
    else this.itl.observe(gapS);
    // MTP with one speculative token: a draft per two tokens, `acceptance` of them accepted.
    if (this.generationTokens % 2 === 0) {
      this.drafts++;
      this.draftTokens++;
      this.acceptedTokens = Math.round(this.draftTokens * this.acceptance);
    }
  }
  end(): void {
    this.running = Math.max(0, this.running - 1);
  }

  text(): string {
    const l = `model_name="${this.servedName}",engine="0"`;
    const family = (name: string, type: string, help: string, lines: string[]) => [
      `# HELP ${name} ${help}`,
      `# TYPE ${name} ${type}`,
      ...lines,
    ];
    const counter = (base: string, help: string, v: number) =>
      family(`${base}_total`, "counter", help, [`${base}_total{${l}} ${v}`]);
    const gauge = (name: string, help: string, v: number) => family(name, "gauge", help, [`${name}{${l}} ${v}`]);
    return `${[
      ...gauge("vllm:num_requests_running", "Number of requests in model execution batches.", this.running),
      ...gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.", this.waiting),
      ...gauge(
        "vllm:kv_cache_usage_perc",
        "KV-cache usage. 1 means 100 percent usage.",
        Math.min(1, this.running / this.maxNumSeqs),
      ),
      ...counter(
        "vllm:prefix_cache_queries",
        "Prefix cache queries, in terms of number of queried tokens.",
        this.prefixQueries,
      ),
      ...counter("vllm:prefix_cache_hits", "Prefix cache hits, in terms of number of cached tokens.", this.prefixHits),
      ...counter("vllm:prompt_tokens", "Number of prefill tokens processed.", this.promptTokens),
      ...counter("vllm:generation_tokens", "Number of generation tokens processed.", this.generationTokens),
      ...family(
        "vllm:time_to_first_token_seconds",
        "histogram",
        "Histogram of time to first token in seconds.",
        this.ttft.lines("vllm:time_to_first_token_seconds", l),
      ),
      ...family(
        "vllm:inter_token_latency_seconds",
        "histogram",
        "Histogram of inter-token latency in seconds.",
        this.itl.lines("vllm:inter_token_latency_seconds", l),
      ),
      ...counter("vllm:spec_decode_num_drafts", "Number of spec decoding drafts.", this.drafts),
      ...counter("vllm:spec_decode_num_draft_tokens", "Number of draft tokens.", this.draftTokens),
      ...counter("vllm:spec_decode_num_accepted_tokens", "Number of accepted tokens.", this.acceptedTokens),
    ].join("\n")}\n`;
  }
}
