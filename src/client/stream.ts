/**
 * An audited stream: text is handed on as it arrives; the event is recorded when the stream
 * ends, errors or is cancelled, with the usage known by then. No stream ends unaudited: the
 * request is consumed from the start (text is buffered for a slow reader), so the event is
 * recorded even when nobody reads the text.
 *
 * Closed mode: the iterator ends (and `result` resolves) only after the event is committed;
 * a failed commit surfaces as AUDIT_WRITE_FAILED from the iterator and `result`. Text already
 * handed on cannot be recalled; callers that must not show unaudited text use generate().
 */
import { streamText, type LanguageModelUsage } from "ai";
import type { AitrailError } from "../errors.js";
import type { Tokens } from "../event/schema.js";
import { sdkSettings } from "./call-options.js";
import type { CallContext, GenerateResult } from "./trail.js";
import { tokensFromUsage } from "./usage.js";

export interface AuditedStream extends AsyncIterable<string> {
  /** The call's audit event id (null only when auditLog.enabled is false). */
  readonly eventId: string | null;
  /** The same text as iterating the stream itself (one reader). */
  readonly textStream: AsyncIterable<string>;
  /** Resolves once the stream has ended and its event is recorded. */
  readonly result: Promise<GenerateResult>;
  /** Aborts the request; the event is recorded with status "cancelled". */
  cancel(): void;
}

export interface StreamHooks {
  enabled: boolean;
  closed: boolean;
  ready: () => Promise<unknown>;
  /** The policy check; throws a coded refusal (the provider is then not called). */
  enforce: (() => Promise<void>) | undefined;
  failed: (err: unknown, partial: { text?: string; tokens?: Tokens | undefined }) => Promise<AitrailError>;
}

class TextQueue implements AsyncIterable<string> {
  #items: string[] = [];
  #done = false;
  #error: { value: unknown } | null = null;
  #wake: (() => void) | null = null;

  constructor(private readonly onReturn: () => Promise<void>) {}

  push(text: string): void {
    this.#items.push(text);
    this.#notify();
  }

  end(): void {
    this.#done = true;
    this.#notify();
  }

  fail(err: unknown): void {
    this.#error = { value: err };
    this.end();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  [Symbol.asyncIterator](): AsyncIterator<string> {
    return {
      next: async (): Promise<IteratorResult<string>> => {
        for (;;) {
          const item = this.#items.shift();
          if (item !== undefined) return { value: item, done: false };
          if (this.#done) {
            const error = this.#error;
            this.#error = null;
            if (error) throw error.value;
            return { value: undefined, done: true };
          }
          await new Promise<void>((resolve) => (this.#wake = resolve));
        }
      },
      return: async (): Promise<IteratorResult<string>> => {
        this.#items = [];
        this.#error = null;
        await this.onReturn();
        return { value: undefined, done: true };
      },
    };
  }
}

export function runStream(ctx: CallContext, hooks: StreamHooks): AuditedStream {
  const { prepared, resolved, call, signal } = ctx;
  let settled = false;
  // eslint-disable-next-line prefer-const -- assigned after the queue that refers to it
  let result: Promise<GenerateResult>;
  const queue = new TextQueue(async () => {
    if (settled) return;
    signal.cancel();
    await result.catch(() => undefined);
  });

  const pump = async (): Promise<GenerateResult> => {
    let text = "";
    try {
      if (hooks.enabled && hooks.closed) await hooks.ready();
      if (hooks.enforce) await hooks.enforce();
      let usage: LanguageModelUsage | undefined;
      let finishReason: string | undefined;
      let finished = false;
      let error: unknown;
      try {
        const base = { model: resolved.model, ...sdkSettings(prepared.options), abortSignal: signal.signal, onError: () => undefined };
        const st = prepared.messages ? streamText({ ...base, messages: prepared.messages }) : streamText({ ...base, prompt: prepared.prompt ?? "" });
        for await (const part of st.fullStream) {
          if (part.type === "text-delta") {
            text += part.text;
            queue.push(part.text);
          } else if (part.type === "finish") {
            usage = part.totalUsage;
            finishReason = part.finishReason;
            finished = !signal.signal.aborted;
          } else if (part.type === "error") {
            error ??= part.error;
          }
        }
      } catch (err) {
        error ??= err;
      }
      const tokens = tokensFromUsage(usage);
      if (error === undefined && finished) {
        const base = { content: text, usage: tokens ?? null, provider: resolved.provider.name, model: resolved.modelId, finishReason };
        if (!hooks.enabled) {
          const price = call.price(tokens);
          queue.end();
          return { ...base, ...price, latency: call.elapsed(), eventId: null };
        }
        const outcome = await call.succeed({ text, tokens, finishReason });
        queue.end();
        return { ...base, cost: outcome.cost, costUnknown: outcome.costUnknown, latency: outcome.latency, eventId: outcome.eventId };
      }
      throw await hooks.failed(error ?? signal.signal.reason, { text, tokens });
    } catch (err) {
      queue.fail(err);
      throw err;
    } finally {
      settled = true;
      signal.dispose();
    }
  };

  result = pump();
  // The caller may only iterate; a rejection of `result` is then reported through the iterator.
  void result.catch(() => undefined);

  return {
    eventId: hooks.enabled ? call.eventId : null,
    textStream: queue,
    result,
    cancel: () => signal.cancel(),
    [Symbol.asyncIterator]: () => queue[Symbol.asyncIterator](),
  };
}
