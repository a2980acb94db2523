/**
 * `aitrail provider --port P`: the local OpenAI-compatible test provider. For local use and
 * testing: it runs no model, answers deterministically and fails on request.
 */
import type { Command } from "commander";
import { AitrailError } from "../../errors.js";
import { startProviderServer } from "../../provider-server/index.js";
import { parsePositiveInt, type CliContext } from "../context.js";

export interface ProviderCommandOptions {
  port: string;
  host: string;
  apiKeyEnv?: string;
  chunkDelayMs: string;
  json?: boolean;
}

/** Runs the server until `stop` fires. */
export async function runProvider(opts: ProviderCommandOptions, ctx: CliContext, stop: AbortSignal): Promise<void> {
  const port = parsePositiveInt("--port", opts.port, { min: 0, max: 65535 });
  const chunkDelayMs = parsePositiveInt("--chunk-delay-ms", opts.chunkDelayMs, { min: 0, max: 10_000 });
  let apiKey: string | undefined;
  if (opts.apiKeyEnv !== undefined) {
    apiKey = process.env[opts.apiKeyEnv];
    if (!apiKey) throw new AitrailError("INVALID_ARGUMENT", `--api-key-env ${opts.apiKeyEnv}: that environment variable is not set`);
  }
  const server = await startProviderServer({ port, host: opts.host, chunkDelayMs, ...(apiKey ? { apiKey } : {}) });
  try {
    if (opts.json) {
      ctx.io.out(`${JSON.stringify({ url: server.url, baseURLs: server.baseURLs, apiKeyRequired: apiKey !== undefined })}\n`);
    } else {
      ctx.io.out(
        `aitrail local test provider: FOR LOCAL USE AND TESTING (it runs no model; answers are deterministic)\n` +
          `listening on ${server.url}\n` +
          `  OpenAI, OpenAI-compatible, Anthropic base URL: ${server.baseURLs.openai}\n` +
          `  Mistral base URL: ${server.baseURLs.mistral}\n` +
          `  Gemini base URL:  ${server.baseURLs.google}\n` +
          `  API key: ${apiKey ? `required (from ${opts.apiKeyEnv})` : "not checked"}\n` +
          `  failures on request: header x-aitrail-fail: 429|500|401|timeout|midstream|... or model fail-<kind>\n` +
          `press Ctrl-C to stop\n`,
      );
    }
    if (!stop.aborted) await new Promise<void>((resolve) => stop.addEventListener("abort", () => resolve(), { once: true }));
  } finally {
    await server.close();
  }
}

function processStop(): AbortSignal {
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  ac.signal.addEventListener("abort", () => {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  });
  return ac.signal;
}

export function registerProvider(program: Command, ctx: CliContext): void {
  program
    .command("provider")
    .description("run the local OpenAI-compatible test provider (for local use and testing; runs no model)")
    .option("--port <p>", "port; 0 picks a free one", "4010")
    .option("--host <h>", "loopback address to bind (127.0.0.1, ::1 or localhost)", "127.0.0.1")
    .option("--api-key-env <VAR>", "require clients to present the key held in this environment variable")
    .option("--chunk-delay-ms <ms>", "delay between stream chunks", "0")
    .option("--json", "print the addresses as one JSON line")
    .action(async (opts: ProviderCommandOptions) => {
      await runProvider(opts, ctx, processStop());
    });
}
