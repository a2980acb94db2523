/**
 * What a failed provider call records: an error code (the HTTP status, or a kind such as
 * "timeout" or "network") and a message with keys and secrets stripped.
 */
import { APICallError } from "@ai-sdk/provider";
import { RetryError } from "ai";
import { errorMessage } from "../errors.js";
import { LIMITS, LONE_SURROGATE } from "../event/schema.js";

export interface ProviderFailure {
  status: "error" | "cancelled";
  errorCode: string;
  errorMessage: string;
  httpStatus: number | undefined;
  attempts: number;
}

const SECRET_PATTERNS: readonly [RegExp, string][] = [
  [/\bsk-[A-Za-z0-9_-]{8,}/g, "sk-[REDACTED]"],
  [/\bAIza[0-9A-Za-z_-]{20,}/g, "[REDACTED]"],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{6,}/gi, "$1 [REDACTED]"],
  [/([?&](?:api[_-]?key|key|token|access_token|sig|signature|secret|password)=)[^&\s"'#]+/gi, "$1[REDACTED]"],
  [/("(?:api[_-]?key|x-api-key|authorization|token|access_token|secret|password)"\s*:\s*")[^"]*(")/gi, "$1[REDACTED]$2"],
  [/\b((?:api[_-]?key|x-api-key|authorization|token|secret|password)\s*[:=]\s*)[^\s,;"']{6,}/gi, "$1[REDACTED]"],
  [/(\/\/[^:/@\s]+:)[^@/\s]+@/g, "$1[REDACTED]@"],
];

/** Removes the given secrets and anything that looks like a key, token or password. */
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, "g");

export function stripSecrets(message: string, secrets: readonly string[] = []): string {
  let out = message;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join("[REDACTED]");
  for (const [pattern, replacement] of SECRET_PATTERNS) out = out.replace(pattern, replacement);
  // A provider's message can carry a lone surrogate; the trail stores well-formed text only.
  out = out.replace(LONE_SURROGATES, "\uFFFD");
  return out.length > LIMITS.errorMessage ? `${out.slice(0, LIMITS.errorMessage - 1)}…` : out;
}

function isAbort(err: unknown): boolean {
  if (!err || typeof err !== "object") return false;
  const name = (err as { name?: unknown }).name;
  return name === "AbortError" || name === "TimeoutError" || name === "ResponseAborted";
}

function findCause(err: unknown, test: (e: unknown) => boolean, depth = 0): unknown {
  if (depth > 5 || err === undefined || err === null) return undefined;
  if (test(err)) return err;
  return findCause((err as { cause?: unknown }).cause, test, depth + 1);
}

/** An error the provider reported inside a stream: a plain object such as { type, message } or { error: { ... } }. */
function reportedError(value: unknown): { code: string; message: string } | undefined {
  if (!value || typeof value !== "object" || value instanceof Error) return undefined;
  const outer = value as { error?: unknown; message?: unknown; type?: unknown; code?: unknown };
  const inner = (outer.error && typeof outer.error === "object" ? outer.error : outer) as { message?: unknown; type?: unknown; code?: unknown };
  const message = typeof inner.message === "string" ? inner.message : JSON.stringify(value).slice(0, 1000);
  const kind = [inner.code, inner.type].find((k): k is string => typeof k === "string" && /^[A-Za-z0-9_.-]{1,64}$/.test(k));
  return { code: kind ?? "stream_error", message };
}

/**
 * Classifies a failed call. `aborted` says the caller's signal fired (status cancelled);
 * `timedOut` says the trail's own timeout fired.
 */
export function classifyFailure(err: unknown, ctx: { aborted: boolean; timedOut: boolean; secrets: readonly string[] }): ProviderFailure {
  let attempts = 1;
  let cause = err;
  if (RetryError.isInstance(err)) {
    attempts = err.errors.length;
    cause = err.lastError;
  }
  if (ctx.timedOut) {
    return { status: "error", errorCode: "timeout", errorMessage: "the provider did not answer within the timeout", httpStatus: undefined, attempts };
  }
  if (ctx.aborted || isAbort(cause)) {
    return { status: "cancelled", errorCode: "cancelled", errorMessage: "the call was cancelled by the caller", httpStatus: undefined, attempts };
  }
  const api = findCause(cause, (e) => APICallError.isInstance(e)) as APICallError | undefined;
  if (api) {
    const status = api.statusCode;
    // A 2xx status here means the answer began and then broke (connection lost, bad body).
    const code = status === undefined ? "network" : status >= 200 && status < 300 ? "interrupted" : String(status);
    const httpStatus = status !== undefined && status >= 400 ? status : undefined;
    return { status: "error", errorCode: code, errorMessage: stripSecrets(api.message, ctx.secrets), httpStatus, attempts };
  }
  const reported = reportedError(cause);
  if (reported) {
    return { status: "error", errorCode: reported.code, errorMessage: stripSecrets(reported.message, ctx.secrets), httpStatus: undefined, attempts };
  }
  const rawName = cause && typeof cause === "object" ? (cause as { name?: unknown }).name : undefined;
  const name = typeof rawName === "string" ? rawName : "";
  const kind =
    /LoadAPIKey/.test(name) ? "missing_api_key"
    : /NoOutput|NoContent|EmptyResponse/.test(name) ? "no_output"
    : /JSONParse|TypeValidation|InvalidResponse/.test(name) ? "invalid_response"
    : /TypeError/.test(name) && /fetch|network|socket|ECONN/i.test(errorMessage(cause)) ? "network"
    : "provider_error";
  return { status: "error", errorCode: kind, errorMessage: stripSecrets(errorMessage(cause), ctx.secrets), httpStatus: undefined, attempts };
}
