/**
 * Cost of a model call in US dollars.
 *
 * Prices come from `@pydantic/genai-prices`, a maintained dataset bundled in the package
 * (it works offline; nothing is fetched). Overrides from configuration win over the dataset.
 * An unknown model gives `null`, never a silent 0: the event then records `cost: null` and
 * `costUnknown: true`.
 */
import { calcPrice } from "@pydantic/genai-prices";
import { z } from "zod";
import { AitrailError } from "../errors.js";
import type { Tokens } from "../event/schema.js";

/** Dollars per million tokens. */
export interface PriceOverride {
  inputPerMillion: number;
  outputPerMillion: number;
  /** Price of cached input tokens; defaults to inputPerMillion. */
  cachedInputPerMillion?: number;
}

/** Keyed by "provider/model" (preferred) or by "model" alone. */
export type PriceOverrides = Readonly<Record<string, PriceOverride>>;

export interface Price {
  cost: number | null;
  costUnknown: boolean;
  source: "override" | "genai-prices" | "unknown";
}

const perMillion = z.number().finite().min(0, "must be >= 0").max(1e6, "must be at most 1e6 dollars per million tokens");
export const priceOverrideSchema = z
  .object({ inputPerMillion: perMillion, outputPerMillion: perMillion, cachedInputPerMillion: perMillion.optional() })
  .strict();
export const priceOverridesSchema = z.record(z.string().min(1).max(300), priceOverrideSchema);

/** Provider names of ours mapped to provider ids of the price dataset. */
const DATASET_PROVIDER: Readonly<Record<string, string>> = {
  openai: "openai",
  anthropic: "anthropic",
  mistral: "mistral",
  google: "google",
  azure: "azure",
};

/** Rounds away binary floating-point noise (prices have at most a few significant digits). */
function roundDollars(x: number): number {
  return Math.round(x * 1e12) / 1e12;
}

function fromOverride(o: PriceOverride, tokens: Tokens): number {
  const cached = Math.min(tokens.cachedInput ?? 0, tokens.input);
  const uncached = tokens.input - cached;
  const dollars =
    (uncached * o.inputPerMillion + cached * (o.cachedInputPerMillion ?? o.inputPerMillion) + tokens.output * o.outputPerMillion) / 1e6;
  return roundDollars(dollars);
}

export interface PriceLookupOptions {
  overrides?: PriceOverrides;
  /** Dataset provider id to price an `openai-compatible` (or renamed) provider as, e.g. "openai". */
  priceAs?: string;
  /** When the call happened; the dataset has dated prices. Default now. */
  at?: Date;
}

/** The price of a call, with where it came from. */
export function lookupPrice(provider: string, model: string, tokens: Tokens, options: PriceLookupOptions = {}): Price {
  const override = options.overrides?.[`${provider}/${model}`] ?? options.overrides?.[model];
  if (override) return { cost: fromOverride(override, tokens), costUnknown: false, source: "override" };
  const providerId = options.priceAs ?? DATASET_PROVIDER[provider];
  if (providerId === undefined) return { cost: null, costUnknown: true, source: "unknown" };
  try {
    const usage: Record<string, number> = { input_tokens: tokens.input, output_tokens: tokens.output };
    if (tokens.cachedInput !== undefined && tokens.cachedInput > 0) usage.cache_read_tokens = Math.min(tokens.cachedInput, tokens.input);
    const result = calcPrice(usage, model, { providerId, ...(options.at ? { timestamp: options.at } : {}) });
    if (!result || !Number.isFinite(result.total_price)) return { cost: null, costUnknown: true, source: "unknown" };
    return { cost: roundDollars(result.total_price), costUnknown: false, source: "genai-prices" };
  } catch {
    return { cost: null, costUnknown: true, source: "unknown" };
  }
}

/** Dollars for a call, or null when the model's price is unknown. */
export function priceFor(provider: string, model: string, tokens: Tokens, options: PriceLookupOptions = {}): number | null {
  return lookupPrice(provider, model, tokens, options).cost;
}

/** Validates price overrides from configuration (INVALID_CONFIG listing every bad entry). */
export function parsePriceOverrides(value: unknown, option = "pricing.overrides"): PriceOverrides {
  const result = priceOverridesSchema.safeParse(value ?? {});
  if (result.success) return Object.freeze({ ...result.data });
  const list = result.error.issues.map((i) => `${[option, ...i.path.map(String)].join(".")}: ${i.message}`);
  throw new AitrailError("INVALID_CONFIG", `invalid price overrides: ${list.join("; ")}`, { details: { problems: list } });
}
