/** POST /v1/messages in the Anthropic Messages wire format, plain JSON and SSE streaming. */
import type { IncomingMessage, ServerResponse } from "node:http";
import { answerFor, chunksOf, type ChatMessageIn } from "./answers.js";
import { anthropicErrorBody, parseFailure } from "./failures.js";
import { BodyError, header, pause, readJson, sendJson, startSse, textOf } from "./http.js";
import { chunkDelay, type ChatHandlerOptions } from "./openai.js";

interface MessagesRequest {
  model: string;
  messages: ChatMessageIn[];
  stream: boolean;
  maxTokens: number;
}

function parseMessagesRequest(body: unknown): MessagesRequest {
  if (!body || typeof body !== "object") throw new BodyError(400, "request body must be a JSON object");
  const b = body as Record<string, unknown>;
  if (typeof b.model !== "string" || b.model.length === 0) throw new BodyError(400, "model: field required");
  if (typeof b.max_tokens !== "number" || b.max_tokens < 1) throw new BodyError(400, "max_tokens: field required");
  if (!Array.isArray(b.messages) || b.messages.length === 0) throw new BodyError(400, "messages: at least one message is required");
  const messages: ChatMessageIn[] = [];
  if (b.system !== undefined) messages.push({ role: "system", content: textOf(b.system) });
  b.messages.forEach((m: unknown, i: number) => {
    if (!m || typeof m !== "object" || typeof (m as { role?: unknown }).role !== "string") {
      throw new BodyError(400, `messages.${i}: role required`);
    }
    const msg = m as { role: string; content?: unknown };
    messages.push({ role: msg.role, content: textOf(msg.content) });
  });
  return { model: b.model, messages, stream: b.stream === true, maxTokens: Math.floor(b.max_tokens) };
}

export async function handleMessages(req: IncomingMessage, res: ServerResponse, opts: ChatHandlerOptions): Promise<void> {
  let request: MessagesRequest;
  try {
    request = parseMessagesRequest(await readJson(req));
  } catch (err) {
    if (err instanceof BodyError) {
      sendJson(res, err.status, { type: "error", error: { type: "invalid_request_error", message: err.message } });
      return;
    }
    throw err;
  }
  const failure = parseFailure(header(req, "x-aitrail-fail"), request.model);
  if (failure === "timeout" || (failure === "stall" && !request.stream)) return;
  if (typeof failure === "number") return sendJson(res, failure, anthropicErrorBody(failure));

  const answer = answerFor(request.model, request.messages, request.maxTokens);
  const id = `msg_${opts.nextId()}`;
  const stopReason = answer.finishReason === "length" ? "max_tokens" : "end_turn";
  const usage = { input_tokens: answer.promptTokens, output_tokens: answer.completionTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
  if (!request.stream) {
    if (failure === "disconnect") {
      res.socket?.destroy();
      return;
    }
    sendJson(res, 200, {
      id,
      type: "message",
      role: "assistant",
      model: request.model,
      content: [{ type: "text", text: answer.text }],
      stop_reason: stopReason,
      stop_sequence: null,
      usage,
    });
    return;
  }

  const delay = chunkDelay(req, opts.chunkDelayMs);
  const send = (event: string, data: unknown): void => {
    if (!res.destroyed) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  startSse(res);
  send("message_start", {
    type: "message_start",
    message: { id, type: "message", role: "assistant", model: request.model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } },
  });
  send("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } });
  const chunks = chunksOf(answer.text);
  for (let i = 0; i < chunks.length; i++) {
    if (!(await pause(res, delay))) return;
    if (i === 2 && failure === "stall") return;
    if (i === 2 && failure === "disconnect") {
      res.socket?.destroy();
      return;
    }
    if (i === 2 && failure === "midstream") {
      send("error", anthropicErrorBody(503, "Overloaded while streaming the response (simulated)."));
      res.end();
      return;
    }
    send("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: chunks[i] } });
  }
  if (!(await pause(res, delay))) return;
  send("content_block_stop", { type: "content_block_stop", index: 0 });
  send("message_delta", { type: "message_delta", delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: answer.completionTokens } });
  send("message_stop", { type: "message_stop" });
  res.end();
}
