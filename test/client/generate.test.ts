import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AITrail, type AuditLogEvent } from "../../src/client/index.js";
import { AitrailError } from "../../src/errors.js";
import { EVENT_ID_PATTERN } from "../../src/event/ids.js";
import { answerFor, countPromptTokens, type ProviderServer } from "../../src/provider-server/index.js";
import { KEY, readEvent, type tempDir, withLocalProvider } from "./helpers.js";

let server: ProviderServer;
let tmp: ReturnType<typeof tempDir>;
const trails: AITrail[] = [];

withLocalProvider((s, t) => {
  server = s;
  tmp = t;
});
afterEach(async () => {
  for (const t of trails.splice(0)) await t.close().catch(() => undefined);
});

let n = 0;
function trail(extra: Partial<ConstructorParameters<typeof AITrail>[0]> = {}, level: "minimal" | "standard" | "detailed" = "detailed") {
  const path = join(tmp.dir, `trail-${++n}.db`);
  const logs: AuditLogEvent[] = [];
  const t = new AITrail({
    providers: [
      { name: "openai", config: { apiKey: KEY, baseURL: server.baseURL } },
      { name: "anthropic", config: { apiKey: KEY, baseURL: server.baseURL } },
      { name: "local", type: "openai-compatible", config: { apiKey: KEY, baseURL: server.baseURL } },
    ],
    auditLog: { enabled: true, level, storage: { type: "sqlite", path, encryption: "none" }, onLog: (e) => void logs.push(e) },
    failMode: "closed",
    ...extra,
  });
  trails.push(t);
  return { t, path, logs };
}

const briefContext = {
  userId: "user-12345",
  sessionId: "sess-abc-789",
  action: "customer-feedback-analysis",
  purpose: "Business intelligence",
  dataClassification: "internal",
  ip: "192.168.1.100",
  userAgent: "Mozilla/5.0 (X11; Linux x86_64)",
};

describe("AITrail.generate over real HTTP", () => {
  it("runs the brief's quick start: result, stored event and onLog carry its fields, tokens and cost", async () => {
    const { t, path, logs } = trail();
    const result = await t.generate({ input: { text: "Analyze customer feedback" }, provider: "openai", model: "gpt-4o", auditContext: briefContext });

    expect(result.content).toMatch(/^Customer feedback analysis/);
    expect(result.usage).toEqual({ input: 150, output: 320, total: 470 });
    expect(result.cost).toBe(0.003575);
    expect(result.costUnknown).toBe(false);
    expect(result.provider).toBe("openai");
    expect(result.model).toBe("gpt-4o");
    expect(result.eventId).toMatch(EVENT_ID_PATTERN);
    expect(result.latency).toBeGreaterThanOrEqual(0);

    const stored = await readEvent(path, result.eventId!);
    expect(stored).toMatchObject({
      type: "ai.generate",
      eventId: result.eventId,
      ...briefContext,
      provider: "openai",
      model: "gpt-4o",
      status: "success",
      latency: result.latency,
      cost: 0.003575,
      tokens: { input: 150, output: 320, total: 470 },
      prompt: "Analyze customer feedback",
      response: result.content,
    });
    expect(stored!.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(stored!.costUnknown).toBeUndefined();

    expect(logs).toHaveLength(1);
    const log = logs[0]!;
    expect(log).toMatchObject({ eventId: result.eventId, id: result.eventId, ...briefContext, provider: "openai", model: "gpt-4o", status: "success", cost: 0.003575, tokens: { input: 150, output: 320, total: 470 }, audit: "committed" });
    expect(log.timestamp).toBe(stored!.timestamp);
    expect(log.auditContext).toEqual(briefContext);
  });

  it("honours the brief's storage.encryption: identifiers pseudonymised and content encrypted at rest, onLog sees them as passed", async () => {
    const path = join(tmp.dir, "encrypted.db");
    const logs: AuditLogEvent[] = [];
    const t = new AITrail({
      providers: [{ name: "openai", config: { apiKey: KEY, baseURL: server.baseURL } }],
      auditLog: { level: "detailed", storage: { type: "sqlite", path, encryption: "AES-256", integrityCheck: "SHA-256" }, onLog: (e) => void logs.push(e) },
      failMode: "closed",
    });
    trails.push(t);
    const result = await t.generate({ input: { text: "Analyze customer feedback" }, auditContext: briefContext });
    const stored = await readEvent(path, result.eventId!);
    expect(stored!.protection).toBeDefined();
    expect(stored!.userId).not.toBe("user-12345");
    expect(JSON.stringify(stored)).not.toContain("user-12345");
    expect(JSON.stringify(stored)).not.toContain("192.168.1.100");
    expect(JSON.stringify(stored)).not.toContain("Analyze customer feedback");
    expect(stored).toMatchObject({ status: "success", cost: 0.003575, tokens: { input: 150, output: 320, total: 470 } });
    expect(logs[0]).toMatchObject({ userId: "user-12345", ip: "192.168.1.100", prompt: "Analyze customer feedback" });
  });

  it("records tokens as the provider reports them for any prompt, and prices them", async () => {
    const { t, path } = trail();
    const messages = [
      { role: "system" as const, content: "Be brief." },
      { role: "user" as const, content: "What should we change in onboarding?" },
    ];
    const result = await t.generate({ messages, provider: "openai", model: "gpt-4o-mini", auditContext: { userId: "u-1" } });
    const expected = answerFor("gpt-4o-mini", messages);
    expect(result.content).toBe(expected.text);
    expect(result.usage).toEqual({ input: countPromptTokens(messages), output: expected.completionTokens, total: countPromptTokens(messages) + expected.completionTokens });
    // gpt-4o-mini list price: $0.15/M input, $0.60/M output
    expect(result.cost).toBeCloseTo((result.usage!.input * 0.15 + result.usage!.output * 0.6) / 1e6, 12);
    const stored = await readEvent(path, result.eventId!);
    expect(stored!.tokens).toEqual(result.usage);
    expect(stored!.prompt).toBe("system: Be brief.\nuser: What should we change in onboarding?");
  });

  it.each([
    // provider, model, list price $/M (input, output)
    ["openai", "gpt-4o", 2.5, 10],
    ["anthropic", "claude-sonnet-4-5", 3, 15],
    ["mistral", "mistral-large-latest", 2, 6],
    ["google", "gemini-2.5-flash", 0.3, 2.5],
  ] as const)("works through the real %s client, plain and streaming", async (provider, model, inPrice, outPrice) => {
    const { t, path } = trail({
      providers: [
        { name: "openai", config: { apiKey: KEY, baseURL: server.baseURLs.openai } },
        { name: "anthropic", config: { apiKey: KEY, baseURL: server.baseURLs.anthropic } },
        { name: "mistral", config: { apiKey: KEY, baseURL: server.baseURLs.mistral } },
        { name: "google", config: { apiKey: KEY, baseURL: server.baseURLs.google } },
      ],
    });
    const expectedCost = (150 * inPrice + 320 * outPrice) / 1e6;
    const result = await t.generate({ input: { text: "Analyze customer feedback" }, provider, model, maxOutputTokens: 1000 });
    expect(result.usage).toEqual({ input: 150, output: 320, total: 470 });
    expect(result.cost).toBeCloseTo(expectedCost, 12);
    expect(await readEvent(path, result.eventId!)).toMatchObject({ provider, model, status: "success", tokens: { input: 150, output: 320, total: 470 } });
    const s = t.stream({ input: { text: "Analyze customer feedback" }, provider, model, maxOutputTokens: 1000 });
    let text = "";
    for await (const chunk of s) text += chunk;
    expect(text).toBe(result.content);
    const streamed = await s.result;
    expect(streamed.usage).toEqual({ input: 150, output: 320, total: 470 });
    expect(await readEvent(path, s.eventId!)).toMatchObject({ type: "ai.stream", provider, model, cost: streamed.cost, tokens: { input: 150, output: 320, total: 470 } });
  });

  it("records an unknown model's cost as null with costUnknown, never 0", async () => {
    const { t, path } = trail();
    const result = await t.generate({ input: { text: "Hello" }, provider: "local", model: "llama3.1" });
    expect(result.cost).toBeNull();
    expect(result.costUnknown).toBe(true);
    const stored = await readEvent(path, result.eventId!);
    expect(stored!.cost).toBeNull();
    expect(stored!.costUnknown).toBe(true);
  });

  it("prices with overrides from config", async () => {
    const { t } = trail({ pricing: { overrides: { "local/llama3.1": { inputPerMillion: 1, outputPerMillion: 2 } } } });
    const result = await t.generate({ input: { text: "Hello" }, provider: "local", model: "llama3.1" });
    expect(result.cost).toBeCloseTo((result.usage!.input * 1 + result.usage!.output * 2) / 1e6, 12);
    expect(result.costUnknown).toBe(false);
  });

  it("keeps prompt and response out of the store below level detailed", async () => {
    const { t, path } = trail({}, "standard");
    const result = await t.generate({ input: { text: "Analyze customer feedback" }, auditContext: briefContext });
    const stored = await readEvent(path, result.eventId!);
    expect(stored!.prompt).toBeUndefined();
    expect(stored!.response).toBeUndefined();
    expect(stored!.tokens).toEqual({ input: 150, output: 320, total: 470 });
  });

  it("records a provider failure with its HTTP status and rejects with PROVIDER_ERROR carrying the cause", async () => {
    const { t, path, logs } = trail();
    const err = await t.generate({ input: { text: "Hello" }, provider: "openai", model: "gpt-4o", maxRetries: 0, headers: { "x-aitrail-fail": "429" }, auditContext: { userId: "u-429" } }).catch((e: unknown) => e);
    expect(AitrailError.isInstance(err, "PROVIDER_ERROR")).toBe(true);
    const e = err as AitrailError;
    expect(e.details).toMatchObject({ provider: "openai", model: "gpt-4o", status: "error", errorCode: "429" });
    expect((e.cause as { statusCode?: number }).statusCode).toBe(429);
    const stored = await readEvent(path, e.details!.eventId as string);
    expect(stored).toMatchObject({ status: "error", errorCode: "429", userId: "u-429", cost: 0 });
    expect(stored!.errorMessage).toMatch(/Rate limit/);
    expect(stored!.tokens).toBeUndefined();
    expect(logs.at(-1)).toMatchObject({ status: "error", errorCode: "429" });
  });

  it("strips the API key from a recorded error message", async () => {
    const { t, path } = trail({ providers: [{ name: "openai", config: { apiKey: "sk-wrong-key-for-this-server-99", baseURL: server.baseURL } }] });
    const err = (await t.generate({ input: { text: "Hello" }, maxRetries: 0 }).catch((x: unknown) => x)) as AitrailError;
    expect(err.code).toBe("PROVIDER_ERROR");
    const stored = await readEvent(path, err.details!.eventId as string);
    expect(stored!.errorCode).toBe("401");
    expect(JSON.stringify(stored)).not.toContain("sk-wrong-key-for-this-server-99");
    expect(err.message).not.toContain("sk-wrong-key-for-this-server-99");
  });

  it("records each retry as one call: attempts in details, the last status as errorCode", async () => {
    const { t, path } = trail();
    const before = server.requests;
    const err = (await t.generate({ input: { text: "Hello" }, model: "fail-503", maxRetries: 1 }).catch((x: unknown) => x)) as AitrailError;
    expect(server.requests - before).toBe(2);
    const stored = await readEvent(path, err.details!.eventId as string);
    expect(stored).toMatchObject({ status: "error", errorCode: "503", details: { attempts: 2 } });
  }, 20_000);

  it("records a timeout as an error with code timeout", async () => {
    const { t, path } = trail();
    const err = (await t.generate({ input: { text: "Hello" }, model: "fail-timeout", maxRetries: 0, timeout: 200 }).catch((x: unknown) => x)) as AitrailError;
    expect(err.code).toBe("PROVIDER_ERROR");
    const stored = await readEvent(path, err.details!.eventId as string);
    expect(stored).toMatchObject({ status: "error", errorCode: "timeout", cost: null, costUnknown: true });
  });

  it("records a caller's abort as cancelled", async () => {
    const { t, path } = trail();
    const abort = new AbortController();
    const pending = t.generate({ input: { text: "Hello" }, model: "fail-timeout", maxRetries: 0, abortSignal: abort.signal }).catch((x: unknown) => x);
    setTimeout(() => abort.abort(), 100);
    const err = (await pending) as AitrailError;
    expect(err.code).toBe("PROVIDER_ERROR");
    expect(err.details).toMatchObject({ status: "cancelled" });
    expect(await readEvent(path, err.details!.eventId as string)).toMatchObject({ status: "cancelled", errorCode: "cancelled" });
  });

  it("validates auditContext and options before any provider call", async () => {
    const { t } = trail();
    const before = server.requests;
    const bad = await t.generate({ input: { text: "x" }, auditContext: { userId: "a\nb", phiAccessed: "yes" } as never }).catch((e: unknown) => e);
    expect(AitrailError.isInstance(bad, "INVALID_EVENT")).toBe(true);
    expect((bad as AitrailError).message).toMatch(/auditContext\.userId/);
    expect((bad as AitrailError).message).toMatch(/auditContext\.phiAccessed/);
    const badOpts = await t.generate({ input: { text: "x" }, temperature: 9, bogus: 1 } as never).catch((e: unknown) => e);
    expect(AitrailError.isInstance(badOpts, "INVALID_ARGUMENT")).toBe(true);
    expect((badOpts as AitrailError).message).toMatch(/temperature/);
    expect((badOpts as AitrailError).message).toMatch(/bogus/);
    const unknown = await t.generate({ input: { text: "x" }, provider: "cohere" }).catch((e: unknown) => e);
    expect(AitrailError.isInstance(unknown, "UNKNOWN_PROVIDER")).toBe(true);
    expect(server.requests).toBe(before);
  });
});
