/**
 * One audited model call: its event id and start time are fixed when it begins; it ends
 * as success, error or cancelled, and that outcome becomes the audit event.
 */
import { newEventId } from "../event/ids.js";
import { LIMITS, type AuditContext, type EventStatus, type EventType, type Tokens } from "../event/schema.js";
import { lookupPrice, type PriceOverrides } from "../pricing/index.js";
import type { AuditWriter, WrittenEvent } from "./audit-writer.js";
import type { Framework } from "../event/schema.js";
import type { ProviderFailure } from "./provider-errors.js";

export interface CallStart {
  type: Extract<EventType, "ai.generate" | "ai.stream">;
  provider: string;
  model: string;
  /** Price dataset provider id (undefined: only overrides can price it). */
  priceAs: string | undefined;
  context: AuditContext;
  /** The prompt as text; only read when the level records content. */
  prompt?: () => string;
}

export interface CallOutcome {
  eventId: string;
  status: EventStatus;
  latency: number;
  tokens: Tokens | undefined;
  cost: number | null;
  costUnknown: boolean;
}

function clip(text: string): string {
  return text.length > LIMITS.content ? text.slice(0, LIMITS.content) : text;
}

export class CallAuditor {
  constructor(
    readonly writer: AuditWriter,
    readonly settings: {
      recordContent: boolean;
      frameworks: readonly Framework[];
      priceOverrides: PriceOverrides;
    },
  ) {}

  begin(start: CallStart): CallRecord {
    return new CallRecord(this, start);
  }
}

export class CallRecord {
  readonly eventId: string;
  readonly timestamp: string;
  readonly #t0: number;
  readonly #auditor: CallAuditor;
  #start: CallStart;
  #ended = false;

  constructor(auditor: CallAuditor, start: CallStart) {
    const now = Date.now();
    this.#t0 = performance.now();
    this.eventId = newEventId(now);
    this.timestamp = new Date(now).toISOString();
    this.#auditor = auditor;
    this.#start = start;
  }

  /** Adds what the policy established (legal basis, consent) where the caller gave none. */
  amend(extra: Partial<AuditContext>): void {
    const context = { ...this.#start.context };
    for (const [k, v] of Object.entries(extra) as [keyof AuditContext, unknown][]) {
      if (v !== undefined && context[k] === undefined) (context as Record<string, unknown>)[k] = v;
    }
    this.#start = { ...this.#start, context };
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Milliseconds since the call began, rounded to whole ms as the brief shows latency. */
  elapsed(): number {
    return Math.max(0, Math.round(performance.now() - this.#t0));
  }

  /** The call's cost from its tokens (null and costUnknown when tokens or price are unknown). */
  price(tokens: Tokens | undefined): { cost: number | null; costUnknown: boolean } {
    if (!tokens) return { cost: null, costUnknown: true };
    const p = lookupPrice(this.#start.provider, this.#start.model, tokens, {
      overrides: this.#auditor.settings.priceOverrides,
      ...(this.#start.priceAs ? { priceAs: this.#start.priceAs } : {}),
      at: new Date(this.timestamp),
    });
    return { cost: p.cost, costUnknown: p.costUnknown };
  }

  #event(status: EventStatus, latency: number, extra: Partial<WrittenEvent>): WrittenEvent {
    const s = this.#start;
    const { settings } = this.#auditor;
    const event: WrittenEvent = {
      type: s.type,
      eventId: this.eventId,
      timestamp: this.timestamp,
      ...s.context,
      provider: s.provider,
      model: s.model,
      status,
      latency,
      ...extra,
    };
    if (settings.frameworks.length > 0) event.frameworks = [...settings.frameworks];
    if (settings.recordContent && s.prompt) event.prompt = clip(s.prompt());
    return event;
  }

  /** Records a successful call. Closed mode: resolves once committed. */
  async succeed(result: { text: string; tokens: Tokens | undefined; finishReason?: string | undefined }): Promise<CallOutcome> {
    this.#ended = true;
    const latency = this.elapsed();
    const { cost, costUnknown } = this.price(result.tokens);
    const event = this.#event("success", latency, {
      cost,
      ...(costUnknown ? { costUnknown } : {}),
      ...(result.tokens ? { tokens: result.tokens } : {}),
      ...(this.#auditor.settings.recordContent ? { response: clip(result.text) } : {}),
      ...(result.finishReason ? { details: { finishReason: result.finishReason } } : {}),
    });
    await this.#auditor.writer.write(event);
    return { eventId: this.eventId, status: "success", latency, tokens: result.tokens, cost, costUnknown };
  }

  /**
   * Records a failed or cancelled call. Usage is recorded as far as it is known. A request the
   * provider rejected with an HTTP status and no usage cost nothing; otherwise (cancelled,
   * timed out, broken stream) the cost is unknown unless usage was reported.
   */
  async fail(failure: ProviderFailure, partial: { text?: string; tokens?: Tokens | undefined } = {}): Promise<CallOutcome> {
    this.#ended = true;
    const latency = this.elapsed();
    const rejectedByProvider = failure.httpStatus !== undefined && partial.tokens === undefined && !partial.text;
    const { cost, costUnknown } = rejectedByProvider ? { cost: 0, costUnknown: false } : this.price(partial.tokens);
    const details: Record<string, unknown> = {};
    if (failure.attempts > 1) details.attempts = failure.attempts;
    if (partial.text) details.partialOutputChars = partial.text.length;
    const event = this.#event(failure.status, latency, {
      cost,
      ...(costUnknown ? { costUnknown } : {}),
      ...(partial.tokens ? { tokens: partial.tokens } : {}),
      errorCode: failure.errorCode,
      errorMessage: failure.errorMessage,
      ...(this.#auditor.settings.recordContent && partial.text ? { response: clip(partial.text) } : {}),
      ...(Object.keys(details).length > 0 ? { details } : {}),
    });
    await this.#auditor.writer.write(event);
    return { eventId: this.eventId, status: failure.status, latency, tokens: partial.tokens, cost, costUnknown };
  }
}
