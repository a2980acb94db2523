/**
 * The options of `generate()` and `stream()`: the brief's `{ input, provider, model,
 * auditContext }` plus the usual sampling parameters. Validated before any provider call;
 * every bad option is listed in one INVALID_ARGUMENT error.
 */
import type { ModelMessage } from "ai";
import { z } from "zod";
import { AitrailError } from "../errors.js";
import { parseAuditContext, type AuditContext } from "../event/schema.js";

export interface GenerateOptions {
  /** The brief's input: `{ text }`, or `{ messages }` in the AI SDK's message format. */
  input?: { text: string } | { messages: ModelMessage[] };
  /** Messages, as an alternative to `input`. */
  messages?: ModelMessage[];
  system?: string;
  /** A configured provider name; default the first one. */
  provider?: string;
  /** Default: the provider's defaultModel, or the kind's usual model. */
  model?: string;
  auditContext?: AuditContext;
  temperature?: number;
  maxOutputTokens?: number;
  topP?: number;
  topK?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  stopSequences?: string[];
  seed?: number;
  /** Retries of retryable provider errors (429, 5xx); default 2. Each call is one audit event. */
  maxRetries?: number;
  /** Milliseconds before the call is abandoned (recorded as an error with code "timeout"). */
  timeout?: number;
  /** Aborting records the call as "cancelled". */
  abortSignal?: AbortSignal;
  /** Extra HTTP headers for the provider request. */
  headers?: Record<string, string>;
  /** Passed to the AI SDK provider as is. */
  providerOptions?: Record<string, Record<string, unknown>>;
}

const message = z
  .object({
    role: z.enum(["system", "user", "assistant", "tool"], { error: "must be system, user, assistant or tool" }),
    content: z.union([z.string(), z.array(z.unknown())], { error: "must be a string or an array of parts" }),
  })
  .loose();

const schema = z
  .object({
    input: z.union([z.object({ text: z.string() }).strict(), z.object({ messages: z.array(message).min(1) }).strict()], {
      error: "must be { text } or { messages }",
    }).optional(),
    messages: z.array(message).min(1).optional(),
    system: z.string().optional(),
    provider: z.string().min(1).optional(),
    model: z.string().min(1).max(256).optional(),
    auditContext: z.unknown().optional(),
    temperature: z.number().min(0).max(2).optional(),
    maxOutputTokens: z.number().int().min(1).optional(),
    topP: z.number().min(0).max(1).optional(),
    topK: z.number().int().min(1).optional(),
    presencePenalty: z.number().optional(),
    frequencyPenalty: z.number().optional(),
    stopSequences: z.array(z.string()).optional(),
    seed: z.number().int().optional(),
    maxRetries: z.number().int().min(0).max(10).optional(),
    timeout: z.number().int().min(1).optional(),
    abortSignal: z.custom<AbortSignal>((v) => v instanceof AbortSignal, { message: "must be an AbortSignal" }).optional(),
    headers: z.record(z.string(), z.string()).optional(),
    providerOptions: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
  })
  .strict();

export interface PreparedCall {
  options: GenerateOptions;
  context: AuditContext;
  /** Exactly one of prompt or messages is set, as the AI SDK wants. */
  prompt: string | undefined;
  messages: ModelMessage[] | undefined;
  /** The prompt as one text, for the audit record at level "detailed". */
  promptText: () => string;
}

function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((p: unknown) => {
        const part = (p && typeof p === "object" ? p : {}) as { text?: unknown; type?: unknown };
        return typeof part.text === "string" ? part.text : `[${typeof part.type === "string" ? part.type : "part"}]`;
      })
      .join("");
  }
  return "";
}

/** Validates call options (INVALID_ARGUMENT) and the auditContext (INVALID_EVENT). */
export function prepareCall(options: unknown): PreparedCall {
  const parsed = schema.safeParse(options ?? {});
  if (!parsed.success) {
    const list = parsed.error.issues.map((i) => {
      const where = i.path.map(String).join(".") || "(options)";
      return i.code === "unrecognized_keys" ? `${where}: unknown option(s) ${i.keys.join(", ")}` : `${where}: ${i.message}`;
    });
    throw new AitrailError("INVALID_ARGUMENT", `invalid call options: ${list.join("; ")}`, { details: { problems: list } });
  }
  const o = options as GenerateOptions;
  const hasInput = o.input !== undefined;
  const hasMessages = o.messages !== undefined;
  if (hasInput === hasMessages) {
    throw new AitrailError("INVALID_ARGUMENT", "invalid call options: give exactly one of input ({ text } or { messages }) and messages", {
      details: { problems: ["input: give exactly one of input and messages"] },
    });
  }
  const context = parseAuditContext(o.auditContext);
  const messages = o.messages ?? (o.input && "messages" in o.input ? o.input.messages : undefined);
  const prompt = o.input && "text" in o.input ? o.input.text : undefined;
  const promptText = (): string => {
    const parts: string[] = [];
    if (o.system) parts.push(`system: ${o.system}`);
    if (prompt !== undefined) parts.push(o.system ? `user: ${prompt}` : prompt);
    for (const m of messages ?? []) parts.push(`${m.role}: ${contentText(m.content)}`);
    return parts.join("\n");
  };
  return { options: o, context, prompt, messages, promptText };
}

/** The AI SDK call settings taken from the options. */
export function sdkSettings(o: GenerateOptions) {
  return {
    ...(o.system !== undefined ? { system: o.system } : {}),
    ...(o.temperature !== undefined ? { temperature: o.temperature } : {}),
    ...(o.maxOutputTokens !== undefined ? { maxOutputTokens: o.maxOutputTokens } : {}),
    ...(o.topP !== undefined ? { topP: o.topP } : {}),
    ...(o.topK !== undefined ? { topK: o.topK } : {}),
    ...(o.presencePenalty !== undefined ? { presencePenalty: o.presencePenalty } : {}),
    ...(o.frequencyPenalty !== undefined ? { frequencyPenalty: o.frequencyPenalty } : {}),
    ...(o.stopSequences !== undefined ? { stopSequences: o.stopSequences } : {}),
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
    ...(o.headers !== undefined ? { headers: o.headers } : {}),
    ...(o.providerOptions !== undefined ? { providerOptions: o.providerOptions as never } : {}),
    maxRetries: o.maxRetries ?? 2,
  };
}

/** One abort signal for the caller's signal and the timeout; says which one fired. */
export class CallSignal {
  readonly controller = new AbortController();
  timedOut = false;
  cancelled = false;
  readonly #timer: NodeJS.Timeout | undefined;
  readonly #user: AbortSignal | undefined;
  readonly #onUserAbort = (): void => this.cancel();

  constructor(user: AbortSignal | undefined, timeoutMs: number | undefined) {
    this.#user = user;
    if (user?.aborted) this.cancel();
    else user?.addEventListener("abort", this.#onUserAbort, { once: true });
    if (timeoutMs !== undefined) {
      this.#timer = setTimeout(() => {
        this.timedOut = true;
        this.controller.abort(new DOMException("the provider did not answer within the timeout", "TimeoutError"));
      }, timeoutMs);
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  cancel(): void {
    if (this.controller.signal.aborted) return;
    this.cancelled = true;
    this.controller.abort(new DOMException("the call was cancelled", "AbortError"));
  }

  dispose(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#user?.removeEventListener("abort", this.#onUserAbort);
  }
}
