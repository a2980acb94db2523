/** Token counts from the AI SDK's usage objects, in the audit event's shape. */
import type { LanguageModelV3Usage } from "@ai-sdk/provider";
import type { LanguageModelUsage } from "ai";
import type { Tokens } from "../event/schema.js";

function count(n: number | undefined): number | undefined {
  return typeof n === "number" && Number.isFinite(n) && n >= 0 ? Math.round(n) : undefined;
}

function build(input: number | undefined, output: number | undefined, total: number | undefined, cached: number | undefined, reasoning: number | undefined): Tokens | undefined {
  if (input === undefined && output === undefined && total === undefined) return undefined;
  const tokens: Tokens = { input: input ?? 0, output: output ?? 0, total: total ?? (input ?? 0) + (output ?? 0) };
  if (cached !== undefined && cached > 0) tokens.cachedInput = cached;
  if (reasoning !== undefined && reasoning > 0) tokens.reasoning = reasoning;
  return tokens;
}

/** From generateText/streamText usage. Undefined when the provider reported none. */
export function tokensFromUsage(u: LanguageModelUsage | undefined): Tokens | undefined {
  if (!u) return undefined;
  return build(
    count(u.inputTokens),
    count(u.outputTokens),
    count(u.totalTokens),
    count(u.inputTokenDetails?.cacheReadTokens ?? u.cachedInputTokens),
    count(u.outputTokenDetails?.reasoningTokens ?? u.reasoningTokens),
  );
}

/** From a language model's own (v3 specification) usage, as middleware sees it. */
export function tokensFromModelUsage(u: LanguageModelV3Usage | undefined): Tokens | undefined {
  if (!u) return undefined;
  const input = count(u.inputTokens.total);
  const output = count(u.outputTokens.total);
  return build(input, output, input !== undefined || output !== undefined ? (input ?? 0) + (output ?? 0) : undefined, count(u.inputTokens.cacheRead), count(u.outputTokens.reasoning));
}
