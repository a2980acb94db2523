/**
 * POST /v1/chat/completions in the OpenAI wire format, plain JSON and SSE streaming.
 * The "mistral" dialect (served under /mistral/v1) differs where Mistral's API does: its
 * error JSON, and usage in the final stream chunk without stream_options.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { answerFor, chunksOf, type ChatMessageIn } from "./answers.js";
import { parseFailure, openaiErrorBody, type FailureKind, type HttpFailure } from "./failures.js";
import { BodyError, header, pause, readJson, sendJson, startSse, textOf } from "./http.js";

export type ChatDialect = "openai" | "mistral";

export interface ChatHandlerOptions {
  chunkDelayMs: number;
  nextId: () => string;
  now: () => number;
}

interface ChatRequest {
  model: string;
  messages: ChatMessageIn[];
  stream: boolean;
  includeUsage: boolean;
  maxTokens: number | undefined;
}

function parseChatRequest(body: unknown): ChatRequest {
  if (!body || typeof body !== "object") throw new BodyError(400, "request body must be a JSON object");
  const b = body as Record<string, unknown>;
  if (typeof b.model !== "string" || b.model.length === 0) throw new BodyError(400, "you must provide a model parameter");
  if (!Array.isArray(b.messages) || b.messages.length === 0) throw new BodyError(400, "'messages' must be a non-empty array");
  const messages = b.messages.map((m: unknown, i: number) => {
    if (!m || typeof m !== "object" || typeof (m as { role?: unknown }).role !== "string") {
      throw new BodyError(400, `messages[${i}] must be an object with a role`);
    }
    const msg = m as { role: string; content?: unknown };
    return { role: msg.role, content: textOf(msg.content) };
  });
  const max = b.max_completion_tokens ?? b.max_tokens;
  const streamOptions = b.stream_options as { include_usage?: unknown } | undefined;
  return {
    model: b.model,
    messages,
    stream: b.stream === true,
    includeUsage: streamOptions?.include_usage === true,
    maxTokens: typeof max === "number" && max > 0 ? Math.floor(max) : undefined,
  };
}

function usageOf(promptTokens: number, completionTokens: number) {
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
    prompt_tokens_details: { cached_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0 },
  };
}

function errorBody(dialect: ChatDialect, status: HttpFailure, message?: string): unknown {
  const body = openaiErrorBody(status, message);
  return dialect === "mistral" ? { object: "error", ...body.error } : body;
}

export async function handleChatCompletions(req: IncomingMessage, res: ServerResponse, opts: ChatHandlerOptions, dialect: ChatDialect = "openai"): Promise<void> {
  let request: ChatRequest;
  try {
    request = parseChatRequest(await readJson(req));
  } catch (err) {
    if (err instanceof BodyError) {
      const body = { message: err.message, type: "invalid_request_error", param: null, code: null };
      sendJson(res, err.status, dialect === "mistral" ? { object: "error", ...body } : { error: body });
      return;
    }
    throw err;
  }
  const failure = parseFailure(header(req, "x-aitrail-fail"), request.model);
  if (failure === "timeout" || (failure === "stall" && !request.stream)) return; // never answered; the client gives up
  if (typeof failure === "number") return sendJson(res, failure, errorBody(dialect, failure));

  const answer = answerFor(request.model, request.messages, request.maxTokens);
  const id = `chatcmpl-${opts.nextId()}`;
  const created = Math.floor(opts.now() / 1000);
  if (!request.stream) {
    if (failure === "disconnect") {
      res.socket?.destroy();
      return;
    }
    sendJson(res, 200, {
      id,
      object: "chat.completion",
      created,
      model: request.model,
      system_fingerprint: "aitrail-local-test",
      choices: [{ index: 0, message: { role: "assistant", content: answer.text, refusal: null }, logprobs: null, finish_reason: answer.finishReason }],
      usage: usageOf(answer.promptTokens, answer.completionTokens),
    });
    return;
  }
  await streamAnswer(req, res, request, answer, { id, created, failure, dialect, delay: chunkDelay(req, opts.chunkDelayMs) });
}

export function chunkDelay(req: IncomingMessage, fallback: number): number {
  const raw = header(req, "x-aitrail-chunk-delay-ms");
  const n = raw === undefined ? fallback : Number(raw);
  return Number.isFinite(n) && n >= 0 ? Math.min(n, 10_000) : fallback;
}

async function streamAnswer(
  _req: IncomingMessage,
  res: ServerResponse,
  request: ChatRequest,
  answer: ReturnType<typeof answerFor>,
  ctx: { id: string; created: number; failure: FailureKind | undefined; dialect: ChatDialect; delay: number },
): Promise<void> {
  const base = { id: ctx.id, object: "chat.completion.chunk", created: ctx.created, model: request.model, system_fingerprint: "aitrail-local-test" };
  const send = (payload: unknown): void => {
    if (!res.destroyed) res.write(`data: ${JSON.stringify(payload)}\n\n`);
  };
  startSse(res);
  send({ ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }] });
  const chunks = chunksOf(answer.text);
  for (let i = 0; i < chunks.length; i++) {
    if (!(await pause(res, ctx.delay))) return;
    if (i === 2 && ctx.failure === "stall") return; // the response stays open; close() or the client ends it
    if (i === 2 && ctx.failure === "disconnect") {
      res.socket?.destroy();
      return;
    }
    if (i === 2 && ctx.failure === "midstream") {
      send(errorBody(ctx.dialect, 500, "The server had an error while streaming the response (simulated)."));
      res.end();
      return;
    }
    send({ ...base, choices: [{ index: 0, delta: { content: chunks[i] }, logprobs: null, finish_reason: null }] });
  }
  if (!(await pause(res, ctx.delay))) return;
  const usage = usageOf(answer.promptTokens, answer.completionTokens);
  const finalUsage = ctx.dialect === "mistral" ? { usage } : {};
  send({ ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: answer.finishReason }], ...finalUsage });
  if (request.includeUsage && ctx.dialect === "openai") send({ ...base, choices: [], usage });
  res.write("data: [DONE]\n\n");
  res.end();
}
