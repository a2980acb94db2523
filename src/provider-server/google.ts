/** POST /v1beta/models/{model}:generateContent and :streamGenerateContent in the Gemini API wire format. */
import type { IncomingMessage, ServerResponse } from "node:http";
import { answerFor, chunksOf, type ChatMessageIn } from "./answers.js";
import { parseFailure, type HttpFailure } from "./failures.js";
import { BodyError, header, pause, readJson, sendJson, startSse, textOf } from "./http.js";
import { chunkDelay, type ChatHandlerOptions } from "./openai.js";

const GOOGLE_STATUS: Record<HttpFailure, string> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  429: "RESOURCE_EXHAUSTED",
  500: "INTERNAL",
  502: "UNAVAILABLE",
  503: "UNAVAILABLE",
};

export function googleErrorBody(code: HttpFailure, message?: string): { error: { code: number; message: string; status: string } } {
  return { error: { code, message: message ?? `${GOOGLE_STATUS[code]} (simulated by the local test provider).`, status: GOOGLE_STATUS[code] } };
}

export const GOOGLE_PATH = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent)$/;

function parseContents(body: unknown): { messages: ChatMessageIn[]; maxTokens: number | undefined } {
  if (!body || typeof body !== "object") throw new BodyError(400, "request body must be a JSON object");
  const b = body as { contents?: unknown; systemInstruction?: { parts?: unknown }; generationConfig?: { maxOutputTokens?: unknown } };
  if (!Array.isArray(b.contents) || b.contents.length === 0) throw new BodyError(400, "contents is not specified");
  const messages: ChatMessageIn[] = [];
  if (b.systemInstruction?.parts !== undefined) messages.push({ role: "system", content: textOf(b.systemInstruction.parts) });
  for (const c of b.contents as { role?: unknown; parts?: unknown }[]) {
    messages.push({ role: c.role === "model" ? "assistant" : "user", content: textOf(c.parts) });
  }
  const max = b.generationConfig?.maxOutputTokens;
  return { messages, maxTokens: typeof max === "number" && max > 0 ? Math.floor(max) : undefined };
}

export async function handleGenerateContent(req: IncomingMessage, res: ServerResponse, model: string, stream: boolean, opts: ChatHandlerOptions): Promise<void> {
  let parsed: ReturnType<typeof parseContents>;
  try {
    parsed = parseContents(await readJson(req));
  } catch (err) {
    if (err instanceof BodyError) return sendJson(res, err.status === 413 ? 400 : err.status, googleErrorBody(400, err.message));
    throw err;
  }
  const failure = parseFailure(header(req, "x-aitrail-fail"), model);
  if (failure === "timeout" || (failure === "stall" && !stream)) return;
  if (typeof failure === "number") return sendJson(res, failure, googleErrorBody(failure));

  const answer = answerFor(model, parsed.messages, parsed.maxTokens);
  const finishReason = answer.finishReason === "length" ? "MAX_TOKENS" : "STOP";
  const usageMetadata = { promptTokenCount: answer.promptTokens, candidatesTokenCount: answer.completionTokens, totalTokenCount: answer.promptTokens + answer.completionTokens };
  const responseId = opts.nextId();
  if (!stream) {
    if (failure === "disconnect") {
      res.socket?.destroy();
      return;
    }
    return sendJson(res, 200, {
      candidates: [{ content: { parts: [{ text: answer.text }], role: "model" }, finishReason, index: 0 }],
      usageMetadata,
      modelVersion: model,
      responseId,
    });
  }
  const delay = chunkDelay(req, opts.chunkDelayMs);
  const send = (data: unknown): void => {
    if (!res.destroyed) res.write(`data: ${JSON.stringify(data)}\r\n\r\n`);
  };
  startSse(res);
  const chunks = chunksOf(answer.text);
  for (let i = 0; i < chunks.length; i++) {
    if (!(await pause(res, delay))) return;
    if (i === 2 && failure === "stall") return;
    if (i === 2 && failure === "disconnect") {
      res.socket?.destroy();
      return;
    }
    if (i === 2 && failure === "midstream") {
      send(googleErrorBody(503, "The model is overloaded while streaming (simulated)."));
      res.end();
      return;
    }
    const last = i === chunks.length - 1;
    send({
      candidates: [{ content: { parts: [{ text: chunks[i] }], role: "model" }, index: 0, ...(last ? { finishReason } : {}) }],
      ...(last ? { usageMetadata } : {}),
      modelVersion: model,
      responseId,
    });
  }
  res.end();
}
