/**
 * Selectable failures of the local test provider.
 *
 * A request asks for a failure with the header `x-aitrail-fail: <kind>` or with a model
 * named `fail-<kind>` (e.g. `fail-429`). Kinds:
 *   400 401 403 404 429 500 502 503  answer with that HTTP status and the documented
 *                                    OpenAI (or Anthropic) error JSON
 *   timeout                          never answer (the client's timeout or abort ends it)
 *   disconnect                       drop the connection (mid-stream when streaming)
 *   midstream                        stream a few chunks, then an error event
 *   stall                            stream a few chunks, then nothing more (until the client leaves)
 */

export const HTTP_FAILURES = [400, 401, 403, 404, 429, 500, 502, 503] as const;
export type HttpFailure = (typeof HTTP_FAILURES)[number];
export type FailureKind = HttpFailure | "timeout" | "disconnect" | "midstream" | "stall";

export function parseFailure(header: string | undefined, model: string | undefined): FailureKind | undefined {
  const raw = header?.trim() || (model?.startsWith("fail-") ? model.slice(5) : undefined);
  if (!raw) return undefined;
  if (raw === "timeout" || raw === "disconnect" || raw === "midstream" || raw === "stall") return raw;
  const status = Number(raw);
  return (HTTP_FAILURES as readonly number[]).includes(status) ? (status as HttpFailure) : undefined;
}

interface ErrorSpec {
  message: string;
  openaiType: string;
  openaiCode: string | null;
  anthropicType: string;
}

const SPECS: Record<HttpFailure, ErrorSpec> = {
  400: { message: "Invalid request (simulated by the local test provider).", openaiType: "invalid_request_error", openaiCode: null, anthropicType: "invalid_request_error" },
  401: { message: "Incorrect API key provided.", openaiType: "invalid_request_error", openaiCode: "invalid_api_key", anthropicType: "authentication_error" },
  403: { message: "You are not allowed to use this model (simulated).", openaiType: "invalid_request_error", openaiCode: "model_not_allowed", anthropicType: "permission_error" },
  404: { message: "The model does not exist or you do not have access to it (simulated).", openaiType: "invalid_request_error", openaiCode: "model_not_found", anthropicType: "not_found_error" },
  429: { message: "Rate limit reached for requests (simulated by the local test provider).", openaiType: "requests", openaiCode: "rate_limit_exceeded", anthropicType: "rate_limit_error" },
  500: { message: "The server had an error while processing your request (simulated).", openaiType: "server_error", openaiCode: null, anthropicType: "api_error" },
  502: { message: "Bad gateway (simulated by the local test provider).", openaiType: "server_error", openaiCode: null, anthropicType: "api_error" },
  503: { message: "The engine is currently overloaded, please try again later (simulated).", openaiType: "server_error", openaiCode: null, anthropicType: "overloaded_error" },
};

export function openaiErrorBody(status: HttpFailure, message?: string): { error: { message: string; type: string; param: null; code: string | null } } {
  const spec = SPECS[status];
  return { error: { message: message ?? spec.message, type: spec.openaiType, param: null, code: spec.openaiCode } };
}

export function anthropicErrorBody(status: HttpFailure, message?: string): { type: "error"; error: { type: string; message: string } } {
  const spec = SPECS[status];
  return { type: "error", error: { type: spec.anthropicType, message: message ?? spec.message } };
}
