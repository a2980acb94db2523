import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AITrail } from "../../src/client/index.js";
import { AitrailError } from "../../src/errors.js";
import { answerFor, type ProviderServer } from "../../src/provider-server/index.js";
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
function trail(failMode: "open" | "closed" = "closed") {
  const path = join(tmp.dir, `stream-${++n}.db`);
  const t = new AITrail({
    providers: [
      { name: "openai", config: { apiKey: KEY, baseURL: server.baseURL } },
      { name: "anthropic", config: { apiKey: KEY, baseURL: server.baseURL } },
      { name: "local", type: "openai-compatible", config: { apiKey: KEY, baseURL: server.baseURL } },
    ],
    auditLog: { level: "detailed", storage: { type: "sqlite", path, encryption: "none" } },
    failMode,
  });
  trails.push(t);
  return { t, path };
}

describe("AITrail.stream over real HTTP", () => {
  it.each(["openai", "anthropic", "local"])("streams text as it arrives and records the event with usage (%s)", async (provider) => {
    const { t, path } = trail();
    const prompt = "Write a short note about audit trails";
    const s = t.stream({ input: { text: prompt }, provider, model: "gpt-4o", maxOutputTokens: 1000, auditContext: { userId: "u-stream", sessionId: "s-1" } });
    const chunks: string[] = [];
    for await (const text of s) chunks.push(text);
    const expected = answerFor("gpt-4o", [{ role: "user", content: prompt }], 1000);
    expect(chunks.length).toBeGreaterThan(2);
    expect(chunks.join("")).toBe(expected.text);
    const result = await s.result;
    expect(result.content).toBe(expected.text);
    expect(result.usage).toMatchObject({ output: expected.completionTokens });
    expect(result.eventId).toBe(s.eventId);
    const stored = await readEvent(path, s.eventId!);
    expect(stored).toMatchObject({ type: "ai.stream", provider, status: "success", userId: "u-stream", sessionId: "s-1", tokens: result.usage!, response: expected.text });
  });

  it("records the event even when nobody reads the text", async () => {
    const { t, path } = trail();
    const s = t.stream({ input: { text: "Analyze customer feedback" } });
    const result = await s.result;
    expect(result.cost).toBe(0.003575);
    expect(await readEvent(path, s.eventId!)).toMatchObject({ status: "success", cost: 0.003575, tokens: { input: 150, output: 320, total: 470 } });
  });

  it("records status cancelled, with the partial output, when the reader breaks off", async () => {
    const { t, path } = trail();
    // "stall" streams two chunks and then never finishes: the stream can only end by cancellation.
    const s = t.stream({ input: { text: "Tell me a long story" }, headers: { "x-aitrail-fail": "stall" }, auditContext: { userId: "u-cancel" } });
    let first = "";
    for await (const text of s) {
      first = text;
      break;
    }
    expect(first.length).toBeGreaterThan(0);
    // In closed mode the loop's exit waits for the event to be committed.
    const stored = await readEvent(path, s.eventId!);
    expect(stored).toMatchObject({ type: "ai.stream", status: "cancelled", errorCode: "cancelled", userId: "u-cancel", cost: null, costUnknown: true });
    expect(stored!.response!.startsWith(first)).toBe(true);
    const err = await s.result.catch((e: unknown) => e);
    expect(AitrailError.isInstance(err, "PROVIDER_ERROR")).toBe(true);
  });

  it("records status cancelled when cancel() is called", async () => {
    const { t, path } = trail();
    const s = t.stream({ input: { text: "Tell me a long story" }, headers: { "x-aitrail-fail": "stall" } });
    const it = s[Symbol.asyncIterator]();
    await it.next();
    s.cancel();
    const err = (await s.result.catch((e: unknown) => e)) as AitrailError;
    expect(err.details).toMatchObject({ status: "cancelled" });
    expect(await readEvent(path, s.eventId!)).toMatchObject({ status: "cancelled" });
  });

  it("records a stream that breaks mid-way as an error, and the reader gets PROVIDER_ERROR", async () => {
    const { t, path } = trail();
    const s = t.stream({ input: { text: "Tell me a story" }, headers: { "x-aitrail-fail": "midstream" }, maxRetries: 0 });
    const got: string[] = [];
    const err = await (async () => {
      for await (const text of s) got.push(text);
    })().catch((e: unknown) => e);
    expect(AitrailError.isInstance(err, "PROVIDER_ERROR")).toBe(true);
    expect(got.length).toBeGreaterThan(0);
    const stored = await readEvent(path, s.eventId!);
    expect(stored).toMatchObject({ status: "error", errorCode: "server_error" });
    expect(stored!.details).toMatchObject({ partialOutputChars: got.join("").length });
  });

  it("records a stream the provider rejects with its HTTP status", async () => {
    const { t, path } = trail();
    const s = t.stream({ input: { text: "x" }, provider: "anthropic", model: "fail-500", maxRetries: 0 });
    const err = await s.result.catch((e: unknown) => e);
    expect(AitrailError.isInstance(err, "PROVIDER_ERROR")).toBe(true);
    expect(await readEvent(path, s.eventId!)).toMatchObject({ status: "error", errorCode: "500", provider: "anthropic" });
  });

  it("records a stalled stream that hits the timeout as an error with code timeout", async () => {
    const { t, path } = trail();
    const s = t.stream({ input: { text: "Tell me a story" }, headers: { "x-aitrail-fail": "stall" }, timeout: 300 });
    const err = (await s.result.catch((e: unknown) => e)) as AitrailError;
    expect(err.code).toBe("PROVIDER_ERROR");
    expect(await readEvent(path, s.eventId!)).toMatchObject({ status: "error", errorCode: "timeout" });
  });
});
