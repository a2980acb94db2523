/**
 * Demo traffic: real `generate()` calls over HTTP to the local test provider, so the demo
 * exercises the whole path (provider client, usage, pricing, recorder, store). The caller
 * supplies the seeded workload; the same seed gives the same calls and, because the local
 * provider is deterministic, the same answers, tokens and costs.
 */
import { AitrailError } from "../errors.js";
import type { AuditContext } from "../event/schema.js";
import type { TrailOptions } from "./config.js";
import type { AITrail } from "./trail.js";

/** One call of the workload (structurally the demo workload's WorkloadCall). */
export interface DemoCall {
  auditContext: AuditContext;
  provider: string;
  model: string;
  prompt: string;
  /** An HTTP status the local provider should fail the call with. */
  failWith?: number;
}

export interface DemoCallsOptions {
  trail: AITrail;
  calls: Iterable<DemoCall>;
  /** Calls in flight at once (default 32). */
  concurrency?: number;
  onProgress?: (done: number) => void;
}

export interface DemoCallsSummary {
  calls: number;
  succeeded: number;
  /** Calls the provider failed (as the workload asked); each is recorded with status "error". */
  failed: number;
  /** Sum of known costs, US dollars. */
  totalCost: number;
  /** Calls whose model has no known price. */
  costUnknown: number;
}

/** Providers for a trail that talks to the local test provider with the real SDK clients. */
export function demoProviders(server: { baseURLs: Record<"openai" | "anthropic" | "mistral" | "google", string> }, apiKey = "sk-aitrail-local-demo"): TrailOptions["providers"] {
  return (["openai", "anthropic", "mistral", "google"] as const).map((name) => ({ name, config: { apiKey, baseURL: server.baseURLs[name] } }));
}

export async function runDemoCalls(options: DemoCallsOptions): Promise<DemoCallsSummary> {
  const { trail } = options;
  const concurrency = Math.max(1, options.concurrency ?? 32);
  const iterator = options.calls[Symbol.iterator]();
  const summary: DemoCallsSummary = { calls: 0, succeeded: 0, failed: 0, totalCost: 0, costUnknown: 0 };

  const worker = async (): Promise<void> => {
    for (let next = iterator.next(); !next.done; next = iterator.next()) {
      const call = next.value;
      try {
        const result = await trail.generate({
          input: { text: call.prompt },
          provider: call.provider,
          model: call.model,
          auditContext: call.auditContext,
          maxRetries: 0,
          maxOutputTokens: 1024,
          ...(call.failWith !== undefined ? { headers: { "x-aitrail-fail": String(call.failWith) } } : {}),
        });
        summary.succeeded += 1;
        if (result.cost === null) summary.costUnknown += 1;
        else summary.totalCost += result.cost;
      } catch (err) {
        // A provider failure the workload asked for is part of the demo; anything else stops it.
        if (!(AitrailError.isInstance(err, "PROVIDER_ERROR") && call.failWith !== undefined)) throw err;
        summary.failed += 1;
      }
      summary.calls += 1;
      options.onProgress?.(summary.calls);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  summary.totalCost = Math.round(summary.totalCost * 1e9) / 1e9;
  return summary;
}
