import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AitrailError } from "../../src/errors.js";
import { answerFor, countPromptTokens, countTokens, startProviderServer, type ProviderServer } from "../../src/provider-server/index.js";

let server: ProviderServer;
const KEY = "sk-local-test-key-0123456789";

beforeAll(async () => {
  server = await startProviderServer({ apiKey: KEY });
});
afterAll(async () => {
  await server.close();
});

function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.baseURL}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${KEY}`, ...headers },
    body: JSON.stringify(body),
  });
}

function sseData(text: string): unknown[] {
  return text
    .split(/\r?\n\r?\n/)
    .map((block) => block.split(/\r?\n/).find((l) => l.startsWith("data: "))?.slice(6))
    .filter((d): d is string => d !== undefined && d !== "[DONE]")
    .map((d) => JSON.parse(d) as unknown);
}

describe("local provider server: chat completions", () => {
  it("binds to loopback and reports its URL", () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.baseURL).toBe(`${server.url}/v1`);
  });

  it("refuses a non-loopback host", async () => {
    const err = await startProviderServer({ host: "0.0.0.0" }).catch((e: unknown) => e);
    expect(AitrailError.isInstance(err, "INVALID_ARGUMENT")).toBe(true);
  });

  it("answers the documentation's quick-start prompt with its figures: 150 in, 320 out", async () => {
    const res = await post("/chat/completions", { model: "gpt-4o", messages: [{ role: "user", content: "Analyze customer feedback" }] });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { choices: { message: { content: string }; finish_reason: string }[]; usage: Record<string, number> };
    expect(body.choices[0]!.message.content).toMatch(/^Customer feedback analysis/);
    expect(body.choices[0]!.finish_reason).toBe("stop");
    expect(body.usage).toMatchObject({ prompt_tokens: 150, completion_tokens: 320, total_tokens: 470 });
  });

  it("is deterministic, and its usage follows the documented counting rule", async () => {
    const messages = [
      { role: "system", content: "You are terse." },
      { role: "user", content: "Summarize the quarterly report for the board, please!" },
    ];
    const a = (await (await post("/chat/completions", { model: "gpt-4o-mini", messages })).json()) as { choices: { message: { content: string } }[]; usage: Record<string, number> };
    const b = (await (await post("/chat/completions", { model: "gpt-4o-mini", messages })).json()) as typeof a;
    expect(a.choices[0]!.message.content).toBe(b.choices[0]!.message.content);
    expect(a.usage).toEqual(b.usage);
    expect(a.usage.prompt_tokens).toBe(countPromptTokens(messages));
    expect(a.usage.prompt_tokens).toBe(3 + 4 + countTokens("You are terse.") + 4 + countTokens("Summarize the quarterly report for the board, please!"));
    expect(a.usage.completion_tokens).toBe(countTokens(a.choices[0]!.message.content));
    const other = (await (await post("/chat/completions", { model: "gpt-4o-mini", messages: [{ role: "user", content: "Something else entirely" }] })).json()) as typeof a;
    expect(other.choices[0]!.message.content).not.toBe(a.choices[0]!.message.content);
  });

  it("counts tokens: one per started 4 letters or digits, one per other symbol", () => {
    expect(countTokens("")).toBe(0);
    expect(countTokens("abcd")).toBe(1);
    expect(countTokens("abcde")).toBe(2);
    expect(countTokens("hi, you!")).toBe(4);
  });

  it("honours max_tokens with finish_reason length", async () => {
    const res = await post("/chat/completions", { model: "gpt-4o", max_tokens: 5, messages: [{ role: "user", content: "Explain the ledger in detail" }] });
    const body = (await res.json()) as { choices: { message: { content: string }; finish_reason: string }[]; usage: Record<string, number> };
    expect(body.choices[0]!.finish_reason).toBe("length");
    expect(body.usage.completion_tokens).toBeLessThanOrEqual(5);
    expect(countTokens(body.choices[0]!.message.content)).toBe(body.usage.completion_tokens);
  });

  it("streams chunks whose text equals the plain answer, with usage when include_usage is set", async () => {
    const messages = [{ role: "user", content: "Stream me an answer" }];
    const plain = answerFor("gpt-4o", messages);
    const res = await post("/chat/completions", { model: "gpt-4o", stream: true, stream_options: { include_usage: true }, messages });
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const raw = await res.text();
    expect(raw.trimEnd().endsWith("data: [DONE]")).toBe(true);
    const chunks = sseData(raw) as { choices: { delta: { content?: string }; finish_reason: string | null }[]; usage?: Record<string, number> }[];
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    expect(text).toBe(plain.text);
    expect(chunks.filter((c) => c.choices.length > 0).length).toBeGreaterThan(2);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ prompt_tokens: plain.promptTokens, completion_tokens: plain.completionTokens });

    const noUsage = sseData(await (await post("/chat/completions", { model: "gpt-4o", stream: true, messages })).text()) as { usage?: unknown }[];
    expect(noUsage.some((c) => c.usage !== undefined)).toBe(false);
  });

  it.each([400, 401, 403, 404, 429, 500, 502, 503])("fails with HTTP %i and the OpenAI error JSON when asked by header", async (status) => {
    const res = await post("/chat/completions", { model: "gpt-4o", messages: [{ role: "user", content: "x" }] }, { "x-aitrail-fail": String(status) });
    expect(res.status).toBe(status);
    const body = (await res.json()) as { error: { message: string; type: string; param: null; code: string | null } };
    expect(typeof body.error.message).toBe("string");
    expect(typeof body.error.type).toBe("string");
    expect(body.error).toHaveProperty("param", null);
    expect(body.error).toHaveProperty("code");
  });

  it("fails when the model is named fail-<kind>", async () => {
    const res = await post("/chat/completions", { model: "fail-429", messages: [{ role: "user", content: "x" }] });
    expect(res.status).toBe(429);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("rate_limit_exceeded");
  });

  it("never answers a timeout request: the client's abort ends it", async () => {
    const aborted = new AbortController();
    const pending = fetch(`${server.baseURL}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ model: "fail-timeout", messages: [{ role: "user", content: "x" }] }),
      signal: aborted.signal,
    }).then(
      (r) => `answered ${r.status}`,
      (e: unknown) => (e as Error).name,
    );
    setTimeout(() => aborted.abort(), 200);
    expect(await pending).toBe("AbortError");
  });

  it("sends an error event mid-stream when asked", async () => {
    const res = await post("/chat/completions", { model: "gpt-4o", stream: true, messages: [{ role: "user", content: "Tell me a story" }] }, { "x-aitrail-fail": "midstream" });
    const events = sseData(await res.text()) as { error?: { type: string }; choices?: unknown[] }[];
    expect(events.filter((e) => e.choices).length).toBeGreaterThan(0);
    expect(events.at(-1)?.error?.type).toBe("server_error");
  });

  it("requires the API key when configured, compared in constant time", async () => {
    const body = { model: "gpt-4o", messages: [{ role: "user", content: "x" }] };
    const none = await fetch(`${server.baseURL}/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    expect(none.status).toBe(401);
    const wrong = await post("/chat/completions", body, { authorization: "Bearer sk-wrong" });
    expect(wrong.status).toBe(401);
    const text = await wrong.text();
    expect(text).not.toContain("sk-wrong");
    expect(((JSON.parse(text) as { error: { code: string } }).error.code)).toBe("invalid_api_key");
  });

  it("lists models and rejects bad requests with 400", async () => {
    const models = (await (await fetch(`${server.baseURL}/models`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as { data: { id: string }[] };
    expect(models.data.map((m) => m.id)).toContain("gpt-4o");
    const bad = await fetch(`${server.baseURL}/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${KEY}` }, body: "{not json" });
    expect(bad.status).toBe(400);
    const noModel = await post("/chat/completions", { messages: [{ role: "user", content: "x" }] });
    expect(noModel.status).toBe(400);
  });
});

describe("local provider server: Anthropic messages", () => {
  it("answers in the Messages format with usage", async () => {
    const res = await post("/messages", { model: "claude-sonnet-4-5", max_tokens: 1000, messages: [{ role: "user", content: "Analyze customer feedback" }] }, { "x-api-key": KEY });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { type: string; content: { type: string; text: string }[]; stop_reason: string; usage: { input_tokens: number; output_tokens: number } };
    expect(body.type).toBe("message");
    expect(body.content[0]!.text).toMatch(/^Customer feedback analysis/);
    expect(body.stop_reason).toBe("end_turn");
    expect(body.usage).toMatchObject({ input_tokens: 150, output_tokens: 320 });
  });

  it("streams the Messages event sequence", async () => {
    const res = await post("/messages", { model: "claude-sonnet-4-5", max_tokens: 1000, stream: true, messages: [{ role: "user", content: "Hello" }] }, { "x-api-key": KEY });
    const raw = await res.text();
    const names = [...raw.matchAll(/^event: (\S+)$/gm)].map((m) => m[1]);
    expect(names[0]).toBe("message_start");
    expect(names.slice(-3)).toEqual(["content_block_stop", "message_delta", "message_stop"]);
    const text = (sseData(raw) as { type: string; delta?: { text?: string } }[])
      .filter((e) => e.type === "content_block_delta")
      .map((e) => e.delta?.text ?? "")
      .join("");
    expect(text).toBe(answerFor("claude-sonnet-4-5", [{ role: "user", content: "Hello" }], 1000).text);
  });

  it("fails with the Anthropic error JSON", async () => {
    const res = await post("/messages", { model: "claude-sonnet-4-5", max_tokens: 10, messages: [{ role: "user", content: "x" }] }, { "x-api-key": KEY, "x-aitrail-fail": "503" });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ type: "error", error: { type: "overloaded_error" } });
  });
});

describe("local provider server: Mistral and Gemini dialects", () => {
  it("puts usage in Mistral's final stream chunk and uses its error JSON", async () => {
    const raw = await (await fetch(`${server.baseURLs.mistral}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ model: "mistral-large-latest", stream: true, messages: [{ role: "user", content: "Analyze customer feedback" }] }),
    })).text();
    const chunks = sseData(raw) as { choices: { finish_reason: string | null }[]; usage?: Record<string, number> }[];
    const last = chunks.at(-1)!;
    expect(last.choices[0]!.finish_reason).toBe("stop");
    expect(last.usage).toMatchObject({ prompt_tokens: 150, completion_tokens: 320 });
    const err = await fetch(`${server.baseURLs.mistral}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${KEY}`, "x-aitrail-fail": "429" },
      body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "x" }] }),
    });
    expect(err.status).toBe(429);
    expect(await err.json()).toMatchObject({ object: "error", code: "rate_limit_exceeded" });
  });

  it("answers generateContent with usageMetadata, streams with alt=sse, checks x-goog-api-key", async () => {
    const body = JSON.stringify({ contents: [{ role: "user", parts: [{ text: "Analyze customer feedback" }] }] });
    const plain = await fetch(`${server.baseURLs.google}/models/gemini-2.5-flash:generateContent`, { method: "POST", headers: { "content-type": "application/json", "x-goog-api-key": KEY }, body });
    expect(await plain.json()).toMatchObject({
      candidates: [{ content: { role: "model" }, finishReason: "STOP" }],
      usageMetadata: { promptTokenCount: 150, candidatesTokenCount: 320, totalTokenCount: 470 },
    });
    const streamed = sseData(await (await fetch(`${server.baseURLs.google}/models/gemini-2.5-flash:streamGenerateContent?alt=sse`, { method: "POST", headers: { "content-type": "application/json", "x-goog-api-key": KEY }, body })).text()) as {
      candidates: { content: { parts: { text: string }[] }; finishReason?: string }[];
      usageMetadata?: unknown;
    }[];
    expect(streamed.length).toBeGreaterThan(2);
    expect(streamed.map((c) => c.candidates[0]!.content.parts[0]!.text).join("")).toMatch(/^Customer feedback analysis/);
    expect(streamed.at(-1)!.usageMetadata).toMatchObject({ promptTokenCount: 150 });
    const denied = await fetch(`${server.baseURLs.google}/models/gemini-2.5-flash:generateContent`, { method: "POST", headers: { "content-type": "application/json", "x-goog-api-key": "wrong" }, body });
    expect(denied.status).toBe(401);
    expect(await denied.json()).toMatchObject({ error: { code: 401, status: "UNAUTHENTICATED" } });
  });
});
