/**
 * auditMiddleware: audit AI SDK calls without changing them.
 *
 *   const model = wrapLanguageModel({ model: openai("gpt-4o"), middleware: auditMiddleware(trail, { userId }) });
 *   await generateText({ model, prompt });   // recorded like trail.generate()
 *
 * Every model call (each attempt and each step of a multi-step call) is one event. In closed
 * mode a call whose event cannot be committed fails with AUDIT_WRITE_FAILED instead of
 * returning. Provider errors are recorded and then rethrown unchanged.
 */
import type { LanguageModelV3, LanguageModelV3CallOptions, LanguageModelV3Middleware, LanguageModelV3StreamPart, LanguageModelV3Usage } from "@ai-sdk/provider";
import { AitrailError } from "../errors.js";
import { parseAuditContext, type AuditContext } from "../event/schema.js";
import type { CallRecord } from "./call-audit.js";
import { classifyFailure } from "./provider-errors.js";
import { internalsOf, type AITrail } from "./trail.js";
import { tokensFromModelUsage } from "./usage.js";

export interface AuditMiddlewareOptions {
  /** Provider name to record; default the model's provider id before the first "." ("openai.chat" -> "openai"). */
  provider?: string;
  /** Price dataset provider id, for a provider the dataset does not know by name. */
  priceAs?: string;
  /** The provider's processing region, for compliance.dataResidency. */
  region?: string;
}

type ContextSource = AuditContext | ((params: LanguageModelV3CallOptions) => AuditContext);

function promptText(params: LanguageModelV3CallOptions): string {
  return params.prompt
    .map((m) => {
      const content = typeof m.content === "string" ? m.content : m.content.map((p) => ("text" in p && typeof p.text === "string" ? p.text : `[${p.type}]`)).join("");
      return `${m.role}: ${content}`;
    })
    .join("\n");
}

export function auditMiddleware(trail: AITrail, context: ContextSource = {}, options: AuditMiddlewareOptions = {}): LanguageModelV3Middleware {
  const internals = internalsOf(trail);
  const fixed = typeof context === "function" ? undefined : parseAuditContext(context);
  const closed = internals.config.failMode === "closed";

  const begin = async (type: "ai.generate" | "ai.stream", model: LanguageModelV3, params: LanguageModelV3CallOptions): Promise<CallRecord | null> => {
    const ctx = fixed ?? parseAuditContext((context as (p: LanguageModelV3CallOptions) => AuditContext)(params));
    const provider = options.provider ?? model.provider.split(".")[0] ?? model.provider;
    const call = internals.auditor.begin({ type, provider, model: model.modelId, priceAs: options.priceAs, context: ctx, prompt: () => promptText(params) });
    if (internals.enabled && closed) await internals.writer.ready();
    if (internals.enforce) await internals.enforce(call, ctx, { provider, model: model.modelId, region: options.region });
    return internals.enabled ? call : null;
  };

  /** Records a failure; returns the error to throw (the original, or AUDIT_WRITE_FAILED in closed mode). */
  const recordFailure = async (call: CallRecord | null, err: unknown, params: LanguageModelV3CallOptions, partial: { text?: string; usage?: LanguageModelV3Usage } = {}): Promise<unknown> => {
    if (!call || call.ended) return err;
    const failure = classifyFailure(err, { aborted: params.abortSignal?.aborted === true, timedOut: false, secrets: internals.secrets() });
    try {
      await call.fail(failure, { ...(partial.text ? { text: partial.text } : {}), tokens: tokensFromModelUsage(partial.usage) });
    } catch (auditErr) {
      return AitrailError.isInstance(auditErr) ? auditErr : err;
    }
    return err;
  };

  return {
    specificationVersion: "v3",

    wrapGenerate: async ({ doGenerate, params, model }) => {
      const call = await begin("ai.generate", model, params);
      let result: Awaited<ReturnType<typeof doGenerate>>;
      try {
        result = await doGenerate();
      } catch (err) {
        throw await recordFailure(call, err, params);
      }
      if (call) {
        const text = result.content.map((c) => (c.type === "text" ? c.text : "")).join("");
        await call.succeed({ text, tokens: tokensFromModelUsage(result.usage), finishReason: result.finishReason.unified });
      }
      return result;
    },

    wrapStream: async ({ doStream, params, model }) => {
      const call = await begin("ai.stream", model, params);
      let inner: Awaited<ReturnType<typeof doStream>>;
      try {
        inner = await doStream();
      } catch (err) {
        throw await recordFailure(call, err, params);
      }
      if (!call) return inner;
      const reader = inner.stream.getReader();
      let text = "";
      let usage: LanguageModelV3Usage | undefined;
      let finishReason: string | undefined;
      let error: unknown;
      // A reader that stops reading after aborting never pulls again: the abort itself ends the call.
      const onAbort = (): void => {
        void recordFailure(call, new DOMException("the call was aborted", "AbortError"), params, { text, ...(usage ? { usage } : {}) }).catch(() => undefined);
      };
      params.abortSignal?.addEventListener("abort", onAbort, { once: true });
      const stream = new ReadableStream<LanguageModelV3StreamPart>({
        async pull(controller) {
          try {
            const next = await reader.read();
            if (next.done) {
              params.abortSignal?.removeEventListener("abort", onAbort);
              if (error === undefined && usage !== undefined) {
                await call.succeed({ text, tokens: tokensFromModelUsage(usage), finishReason });
              } else {
                const failed = await recordFailure(call, error ?? new Error("the stream ended without a finish"), params, { text, ...(usage ? { usage } : {}) });
                if (AitrailError.isInstance(failed, "AUDIT_WRITE_FAILED")) return controller.error(failed);
              }
              controller.close();
              return;
            }
            const part = next.value;
            if (part.type === "text-delta") text += part.delta;
            else if (part.type === "finish") {
              usage = part.usage;
              finishReason = part.finishReason.unified;
            } else if (part.type === "error") error ??= part.error;
            controller.enqueue(part);
          } catch (err) {
            controller.error(await recordFailure(call, err, params, { text, ...(usage ? { usage } : {}) }));
          }
        },
        async cancel(reason) {
          const cancelled = new DOMException("the stream was cancelled by its reader", "AbortError");
          const failed = await recordFailure(call, cancelled, { ...params, abortSignal: AbortSignal.abort() }, { text, ...(usage ? { usage } : {}) });
          await reader.cancel(reason);
          if (failed !== cancelled) throw failed;
        },
      });
      return { ...inner, stream };
    },
  };
}
