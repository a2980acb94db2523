import { describe, expect, it } from "vitest";
import { stripSecrets } from "../../src/client/index.js";
import { AitrailError } from "../../src/errors.js";
import { lookupPrice, parsePriceOverrides, priceFor } from "../../src/pricing/index.js";

describe("pricing from the bundled genai-prices dataset", () => {
  it("prices gpt-4o at list price: 150 input + 320 output tokens = $0.003575", () => {
    expect(priceFor("openai", "gpt-4o", { input: 150, output: 320, total: 470 })).toBe(0.003575);
  });

  it("prices other providers' models and dated model ids", () => {
    // $3/M input up to 200k prompt tokens; the dataset knows the long-context tier above that
    expect(priceFor("anthropic", "claude-sonnet-4-5", { input: 100_000, output: 0, total: 100_000 })).toBe(0.3);
    expect(priceFor("anthropic", "claude-sonnet-4-5", { input: 300_000, output: 0, total: 300_000 })).toBe(1.8);
    expect(priceFor("openai", "gpt-4o-2024-08-06", { input: 0, output: 1_000_000, total: 1_000_000 })).toBe(10);
    expect(priceFor("mistral", "mistral-large-latest", { input: 1000, output: 1000, total: 2000 })).toBeGreaterThan(0);
    expect(priceFor("google", "gemini-2.5-flash", { input: 1000, output: 1000, total: 2000 })).toBeGreaterThan(0);
  });

  it("charges cached input at the cached rate", () => {
    const full = priceFor("openai", "gpt-4o", { input: 1000, output: 0, total: 1000 })!;
    const cached = priceFor("openai", "gpt-4o", { input: 1000, output: 0, total: 1000, cachedInput: 1000 })!;
    expect(cached).toBeLessThan(full);
    expect(cached).toBeCloseTo(full / 2, 12);
  });

  it("returns null with costUnknown for an unknown model or provider, never 0", () => {
    expect(lookupPrice("openai", "no-such-model-xyz", { input: 10, output: 10, total: 20 })).toEqual({ cost: null, costUnknown: true, source: "unknown" });
    expect(lookupPrice("ollama", "llama3.1", { input: 10, output: 10, total: 20 })).toEqual({ cost: null, costUnknown: true, source: "unknown" });
  });

  it("prices a renamed or compatible provider as another with priceAs", () => {
    expect(priceFor("my-proxy", "gpt-4o", { input: 150, output: 320, total: 470 }, { priceAs: "openai" })).toBe(0.003575);
  });

  it("lets overrides win, by provider/model or by model", () => {
    const overrides = parsePriceOverrides({ "openai/gpt-4o": { inputPerMillion: 1, outputPerMillion: 2 }, "llama3.1": { inputPerMillion: 0, outputPerMillion: 0 } });
    expect(lookupPrice("openai", "gpt-4o", { input: 1_000_000, output: 1_000_000, total: 2_000_000 }, { overrides })).toEqual({ cost: 3, costUnknown: false, source: "override" });
    expect(priceFor("ollama", "llama3.1", { input: 500, output: 500, total: 1000 }, { overrides })).toBe(0);
  });

  it("rejects bad overrides listing each", () => {
    const err = (() => {
      try {
        parsePriceOverrides({ a: { inputPerMillion: -1, outputPerMillion: 1 }, b: { inputPerMillion: 1 } });
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(AitrailError.isInstance(err, "INVALID_CONFIG")).toBe(true);
    expect((err as AitrailError).message).toMatch(/pricing\.overrides\.a\.inputPerMillion/);
    expect((err as AitrailError).message).toMatch(/pricing\.overrides\.b\.outputPerMillion/);
  });
});

describe("secrets in error messages", () => {
  it("strips configured keys and anything shaped like a key, token or password", () => {
    const msg = stripSecrets(
      'Incorrect API key provided: sk-proj-abcdef0123456789. url=https://x.googleapis.com/v1?key=AIzaSyA1234567890abcdefghijklmnopqrstu&alt=sse ' +
        'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig {"api_key":"plain-secret"} postgres://app:hunter2@db/x mycustomsecret',
      ["mycustomsecret"],
    );
    expect(msg).not.toMatch(/abcdef0123456789|AIzaSyA1234567890|eyJhbGciOiJIUzI1NiJ9|plain-secret|hunter2|mycustomsecret/);
    expect(msg).toMatch(/Incorrect API key provided/);
  });

  it("makes a provider message well-formed text, so the event can be recorded", () => {
    const msg = stripSecrets("bad byte \ud800 here and \udfff there");
    expect(msg).toBe("bad byte \uFFFD here and \uFFFD there");
    expect(stripSecrets("emoji \ud83d\ude00 kept")).toBe("emoji \ud83d\ude00 kept");
  });
});
