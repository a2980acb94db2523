import { join } from "node:path";
import { createOpenAI } from "@ai-sdk/openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { generateText, streamText, wrapLanguageModel } from "ai";
import { describe, expect, it } from "vitest";
import { AITrail, auditMiddleware } from "../../src/client/index.js";
import { AitrailError } from "../../src/errors.js";
import type { ProviderServer } from "../../src/provider-server/index.js";
import { KEY, breakableStore, recorderOn, type tempDir, withLocalProvider } from "./helpers.js";

let server: ProviderServer;
let tmp: ReturnType<typeof tempDir>;

withLocalProvider((s, t) => {
  server = s;
  tmp = t;
});

let n = 0;
async function setup(failMode: "open" | "closed" = "closed") {
  const path = join(tmp.dir, `mw-${++n}.db`);
  const broken = await breakableStore(path);
  const recorder = recorderOn(broken.store);
  const trail = new AITrail({ providers: [{ name: "openai", config: { apiKey: KEY, baseURL: server.baseURL } }], recorder, failMode, onAlert: () => undefined, auditLog: { level: "detailed" } });
  const ids: string[] = [];
  const openai = createOpenAI({ apiKey: KEY, baseURL: server.baseURL });
  const done = async () => {
    await trail.close().catch(() => undefined);
    await recorder.close();
    await broken.close();
  };
  return { path, broken, recorder, trail, ids, openai, done };
}

/** The newest event of the store (the middleware does not hand out event ids). */
async function lastEvent(path: string) {
  const { openStore } = await import("../../src/store/open.js");
  const store = await openStore({ type: "sqlite", path }, { mustExist: true });
  try {
    const [entry] = await store.findEvents({ order: "desc", limit: 1 });
    return entry ? (JSON.parse(entry.canonical) as Record<string, unknown>) : null;
  } finally {
    await store.close();
  }
}

describe("auditMiddleware with wrapLanguageModel", () => {
  it("audits generateText without changing the call", async () => {
    const { path, trail, openai, done } = await setup();
    const model = wrapLanguageModel({ model: openai.chat("gpt-4o"), middleware: auditMiddleware(trail, { userId: "user-12345", purpose: "Business intelligence" }) });
    const result = await generateText({ model, prompt: "Analyze customer feedback" });
    expect(result.text).toMatch(/^Customer feedback analysis/);
    expect(result.usage.inputTokens).toBe(150);
    const event = await lastEvent(path);
    expect(event).toMatchObject({
      type: "ai.generate",
      provider: "openai",
      model: "gpt-4o",
      status: "success",
      userId: "user-12345",
      purpose: "Business intelligence",
      tokens: { input: 150, output: 320, total: 470 },
      cost: 0.003575,
      prompt: "user: Analyze customer feedback",
      response: result.text,
    });
    await done();
  });

  it("audits streamText, also with an openai-compatible client and a per-call context", async () => {
    const { path, trail, done } = await setup();
    const local = createOpenAICompatible({ name: "ollama", baseURL: server.baseURL, apiKey: KEY, includeUsage: true });
    let calls = 0;
    const model = wrapLanguageModel({
      model: local.chatModel("llama3.1"),
      middleware: auditMiddleware(trail, () => ({ userId: "user-stream", sessionId: `sess-${++calls}` })),
    });
    const s = streamText({ model, prompt: "Say something" });
    let text = "";
    for await (const t of s.textStream) text += t;
    const usage = await s.usage;
    const event = await lastEvent(path);
    expect(event).toMatchObject({
      type: "ai.stream",
      provider: "ollama",
      model: "llama3.1",
      status: "success",
      userId: "user-stream",
      sessionId: "sess-1",
      tokens: { input: usage.inputTokens, output: usage.outputTokens },
      cost: null,
      costUnknown: true,
      response: text,
    });
    await done();
  });

  it("records a provider error and rethrows it unchanged", async () => {
    const { path, trail, openai, done } = await setup();
    const model = wrapLanguageModel({ model: openai.chat("fail-429"), middleware: auditMiddleware(trail, { userId: "u" }) });
    const err = await generateText({ model, prompt: "x", maxRetries: 0 }).catch((e: unknown) => e);
    expect(AitrailError.isInstance(err)).toBe(false);
    expect((err as { statusCode?: number }).statusCode).toBe(429);
    expect(await lastEvent(path)).toMatchObject({ status: "error", errorCode: "429", model: "fail-429", cost: 0 });
    await done();
  });

  it("records each retry attempt as its own event", async () => {
    const { path, trail, openai, done } = await setup();
    const model = wrapLanguageModel({ model: openai.chat("fail-500"), middleware: auditMiddleware(trail) });
    await generateText({ model, prompt: "x", maxRetries: 1 }).catch(() => undefined);
    const { openStore } = await import("../../src/store/open.js");
    const store = await openStore({ type: "sqlite", path }, { mustExist: true });
    expect((await store.head()).size).toBe(2);
    await store.close();
    await done();
  }, 20_000);

  it("records a stream the reader abandons as cancelled", async () => {
    const { path, trail, openai, done } = await setup();
    const model = wrapLanguageModel({ model: openai.chat("gpt-4o"), middleware: auditMiddleware(trail, { userId: "u-abandon" }) });
    const abort = new AbortController();
    const s = streamText({ model, prompt: "Tell me a long story", headers: { "x-aitrail-fail": "stall" }, abortSignal: abort.signal, onError: () => undefined });
    for await (const _ of s.textStream) {
      void _;
      abort.abort();
      break;
    }
    await trail.flush();
    const event = await lastEvent(path);
    expect(event).toMatchObject({ type: "ai.stream", status: "cancelled", userId: "u-abandon" });
    await done();
  });

  it("closed mode: generateText fails with AUDIT_WRITE_FAILED when the event cannot be committed", async () => {
    const { broken, trail, openai, done } = await setup("closed");
    const model = wrapLanguageModel({ model: openai.chat("gpt-4o"), middleware: auditMiddleware(trail) });
    broken.failing = true;
    const err = await generateText({ model, prompt: "Analyze customer feedback", maxRetries: 0 }).catch((e: unknown) => e);
    expect(AitrailError.isInstance(err, "AUDIT_WRITE_FAILED")).toBe(true);
    const s = streamText({ model, prompt: "Analyze customer feedback", maxRetries: 0, onError: () => undefined });
    const streamErr = await (async () => {
      for await (const _ of s.textStream) void _;
      return s.text;
    })().catch((e: unknown) => e);
    expect(AitrailError.isInstance(streamErr, "AUDIT_WRITE_FAILED")).toBe(true);
    broken.failing = false;
    await done();
  });

  it("open mode: generateText returns while the event is spooled", async () => {
    const { path, broken, trail, openai, done } = await setup("open");
    const model = wrapLanguageModel({ model: openai.chat("gpt-4o"), middleware: auditMiddleware(trail, { userId: "u-open" }) });
    broken.failing = true;
    const result = await generateText({ model, prompt: "Analyze customer feedback" });
    expect(result.text).toMatch(/^Customer feedback/);
    await trail.flush();
    expect(trail.spooled).toBe(1);
    broken.failing = false;
    await trail.flush();
    expect(await lastEvent(path)).toMatchObject({ status: "success", userId: "u-open" });
    await done();
  });

  it("rejects an invalid fixed context at creation", () => {
    const trail = new AITrail({ providers: [{ name: "openai", config: { apiKey: KEY } }], auditLog: { storage: { type: "memory" } } });
    expect(() => auditMiddleware(trail, { userId: "" })).toThrow(/auditContext\.userId/);
  });
});
