/**
 * AITrail: the brief's `new NeuroLink({ providers, auditLog, compliance })` and
 * `ai.generate({ input, provider, model, auditContext })`, where every call is audited.
 */
import { generateText } from "ai";
import type { ConsentRecord, RecordConsentInput } from "../consent/manager.js";
import { PolicyEnforcer } from "../consent/policy.js";
import { subjectAccess, type SubjectAccessReport } from "../consent/subject-access.js";
import type { CheckpointRecord } from "../ledger/checkpointer.js";
import type { RecorderAlert, RecorderHealth } from "../pipeline/recorder.js";
import type { ErasureReport } from "../privacy/open.js";
import { AuditQuery, type ActivityRecord, type AuditQueryOptions } from "../query/audit-query.js";
import type { Privacy } from "../privacy/open.js";
import type { AuditStore } from "../store/types.js";
import { AitrailError } from "../errors.js";
import { newEventId } from "../event/ids.js";
import { fieldSelection } from "../event/levels.js";
import { AUDIT_CONTEXT_FIELDS, type AuditContext, type AuditEventInput, type Tokens } from "../event/schema.js";
import { AuditWriter, type WrittenEvent } from "./audit-writer.js";
import { CallAuditor, type CallRecord } from "./call-audit.js";
import { CallSignal, prepareCall, sdkSettings, type GenerateOptions } from "./call-options.js";
import { publishTiming, timingWanted } from "./diagnostics.js";
import { resolveConfig, type PolicyPort, type ResolvedConfig, type TrailOptions } from "./config.js";
import { logViewOf } from "./log-view.js";
import { openPipeline, type OwnedPipeline } from "./pipeline.js";
import { classifyFailure, type ProviderFailure } from "./provider-errors.js";
import { ProviderRegistry, type ResolvedModel } from "./providers.js";
import type { RecorderPort } from "./recorder-port.js";
import { runStream, type AuditedStream } from "./stream.js";
import { tokensFromUsage } from "./usage.js";

export interface GenerateResult {
  content: string;
  /** Tokens as the provider reported them; null if it reported none. */
  usage: Tokens | null;
  /** US dollars; null when the model's price is unknown. */
  cost: number | null;
  costUnknown: boolean;
  /** Milliseconds from the call to its last byte. */
  latency: number;
  /** The audit event of this call; null only when auditLog.enabled is false. */
  eventId: string | null;
  provider: string;
  model: string;
  finishReason: string | undefined;
}

export interface CallContext {
  prepared: ReturnType<typeof prepareCall>;
  resolved: ResolvedModel;
  call: CallRecord;
  signal: CallSignal;
}

const internals = new WeakMap<AITrail, TrailInternals>();

/** What auditMiddleware and the stream runner share with the trail. */
export interface TrailInternals {
  config: Readonly<ResolvedConfig>;
  auditor: CallAuditor;
  writer: AuditWriter;
  secrets: () => string[];
  enabled: boolean;
  /** Runs the policy check (consent, purpose, residency) before a provider call; throws a coded refusal. */
  enforce: ((call: CallRecord, context: AuditContext, target: { provider: string; model: string; region?: string | undefined }) => Promise<void>) | undefined;
}

export function internalsOf(trail: AITrail): TrailInternals {
  const i = internals.get(trail);
  if (!i) throw new AitrailError("INVALID_ARGUMENT", "not an AITrail instance");
  return i;
}

export class AITrail {
  readonly config: Readonly<ResolvedConfig>;
  readonly #registry: ProviderRegistry;
  readonly #writer: AuditWriter;
  readonly #auditor: CallAuditor;
  readonly #policy: PolicyPort | undefined;
  #pipeline: Promise<OwnedPipeline> | null = null;
  #closed = false;

  constructor(options: TrailOptions) {
    this.config = resolveConfig(options);
    this.#registry = new ProviderRegistry(this.config.providers);
    const config = this.config;
    const keep = fieldSelection(config.audit.level, config.audit.includeFields).keep;
    const onLog = config.audit.onLog;
    this.#writer = new AuditWriter({
      recorder: () => this.#recorder(),
      failMode: config.failMode,
      onAlert: config.onAlert,
      onSettled: onLog
        ? (event: WrittenEvent, audit) => onLog(logViewOf(event, contextOf(event), { frameworks: config.frameworks, dataResidency: config.dataResidency }, audit))
        : undefined,
      spool: config.spool,
    });
    this.#auditor = new CallAuditor(this.#writer, {
      recordContent: keep.has("prompt") || keep.has("response"),
      frameworks: config.frameworks,
      priceOverrides: config.priceOverrides,
    });
    // Consent tracking checks the trail's own consent records unless the application brings its own.
    this.#policy = config.policy ?? (config.policyConfig ? new PolicyEnforcer(config.policyConfig, config.consent ?? this.consent) : undefined);
    internals.set(this, {
      config,
      auditor: this.#auditor,
      writer: this.#writer,
      secrets: () => this.#registry.secrets(),
      enabled: config.audit.enabled,
      enforce: this.#policy ? (call, context, target) => this.#enforce(call, context, target) : undefined,
    });
  }

  /** "open" or "closed", after defaults (closed under HIPAA). */
  get failMode(): "open" | "closed" {
    return this.config.failMode;
  }

  /** Events held in memory (open mode) because they could not be committed yet. */
  get spooled(): number {
    return this.#writer.spooled;
  }

  #recorder(): Promise<RecorderPort> {
    if (this.config.recorder) return Promise.resolve(this.config.recorder);
    return this.#owned().then((p) => p.recorder);
  }

  /** The store, privacy, recorder, checkpointer and consent manager this trail opened (lazily, on first use). */
  #owned(): Promise<OwnedPipeline> {
    if (this.config.recorder) {
      return Promise.reject(
        new AitrailError("INVALID_CONFIG", "this trail writes to a recorder it was given; consent, erasure, subject access and checkpoints need the trail's own auditLog.storage"),
      );
    }
    if (this.#closed) return Promise.reject(new AitrailError("RECORDER_CLOSED", "the trail is closed"));
    if (!this.#pipeline) {
      const policy = this.#policy as { registry?: unknown } | undefined;
      const opening = openPipeline(this.config, {
        purposes: policy instanceof PolicyEnforcer ? policy.registry : undefined,
        onRecorderAlert: (alert) => this.#recorderAlert(alert),
        onCheckpointError: (err) =>
          this.config.onAlert?.({ kind: "checkpoint_failed", message: `a signed checkpoint could not be issued: ${err instanceof Error ? err.message : String(err)}`, spooled: this.spooled, error: err }),
      });
      this.#pipeline = opening;
      // A store that failed to open is retried on the next call.
      opening.catch(() => {
        if (this.#pipeline === opening) this.#pipeline = null;
      });
    }
    return this.#pipeline;
  }

  #recorderAlert(alert: RecorderAlert): void {
    const kind =
      alert.kind === "store_unavailable"
        ? "audit_unavailable"
        : alert.kind === "store_recovered" || alert.kind === "spool_delivered"
          ? "audit_recovered"
          : alert.kind === "commit_listener_failed"
            ? "audit_write_failed"
            : alert.kind;
    try {
      void Promise.resolve(this.config.onAlert?.({ kind, message: alert.message, spooled: this.spooled, error: alert.error })).catch(() => undefined);
    } catch {
      // An alert hook that throws must not disturb recording.
    }
  }

  /**
   * The brief's ConsentManager, kept in the trail's own ledger: recordConsent, checkConsent,
   * revokeConsent and history. Consent changes are ledger events (proof of consent, Art. 7(1)).
   */
  get consent(): TrailConsent {
    const owned = () => this.#owned();
    return {
      recordConsent: async (data) => (await owned()).consent.recordConsent(data),
      checkConsent: async (userId, purpose) => (await owned()).consent.checkConsent(userId, purpose),
      revokeConsent: async (consentId) => (await owned()).consent.revokeConsent(consentId),
      history: async (userId) => (await owned()).consent.history(userId),
    };
  }

  /**
   * GDPR Art. 17 erasure: destroys the subject's key and salt and records a `subject.erased`
   * tombstone holding no personal data. The ledger still verifies afterwards.
   */
  async erase(subject: string, options: { kind?: "user" | "patient"; reference?: string } = {}): Promise<ErasureReport> {
    const p = await this.#owned();
    if (!p.privacy) {
      throw new AitrailError("INVALID_CONFIG", 'erasure needs protection on: identifiers stored in plain columns (auditLog.storage.encryption "none") cannot be crypto-shredded');
    }
    return p.privacy.erase({ subject, ...options }, (e) => p.recorder.record(e));
  }

  /**
   * GDPR Art. 15 subject access (with the Art. 20 machine-readable events). The reading is
   * itself recorded as an `audit.read` event naming `reader`.
   */
  async subjectAccess(identifier: string, options: { reader: string; kind?: "user" | "patient"; controller?: string; format?: string }): Promise<SubjectAccessReport> {
    const p = await this.#owned();
    const policy = this.#policy;
    return subjectAccess(identifier, {
      store: p.store,
      privacy: p.privacy?.protector ?? null,
      consent: p.consent,
      purposes: policy instanceof PolicyEnforcer ? (policy.registry ?? null) : null,
      record: (e) => p.recorder.record(e),
      ...options,
    });
  }

  /**
   * The brief's query API over this trail's store, with every answer recorded as an
   * `audit.read` event naming `reader`. `getUserActivity` takes the identifier as the
   * application knows it and returns the events decrypted (protection on); the aggregate
   * queries group by the stored identifier (a pseudonym when protection is on).
   */
  async query(options: { reader: string }): Promise<TrailQuery> {
    const p = await this.#owned();
    return new TrailQuery(p.store, { audit: { reader: options.reader, record: (e) => p.recorder.record(e) } }, p.privacy);
  }

  /** Signs a checkpoint of the ledger now (or returns the latest, if the tree has not grown). */
  async checkpoint(): Promise<CheckpointRecord> {
    const p = await this.#owned();
    if (!p.checkpointer) throw new AitrailError("INVALID_CONFIG", "checkpoints are off for this trail (auditLog.checkpoints: false, or a memory store)");
    return p.checkpointer.checkpoint();
  }

  /** The brief's "Monitor Audit Log Health": queue depth, spool, last commit, last error. */
  async health(): Promise<RecorderHealth & { memorySpool: number }> {
    const p = await this.#owned();
    return { ...p.recorder.health(), memorySpool: this.spooled };
  }

  /** Validates options and starts the call's audit record. Throws before any provider call. */
  #begin(options: GenerateOptions, type: "ai.generate" | "ai.stream"): CallContext {
    if (this.#closed) throw new AitrailError("RECORDER_CLOSED", "the trail is closed; no call can be made");
    const prepared = prepareCall(options);
    const resolved = this.#registry.resolve(prepared.options.provider, prepared.options.model);
    const call = this.#auditor.begin({
      type,
      provider: resolved.provider.name,
      model: resolved.modelId,
      priceAs: resolved.priceAs,
      context: prepared.context,
      prompt: prepared.promptText,
    });
    return { prepared, resolved, call, signal: new CallSignal(prepared.options.abortSignal, prepared.options.timeout) };
  }

  /**
   * The policy check before the provider call. A refusal is recorded as a `policy.denied`
   * event (under the fail mode) and thrown with its code; the provider is not called.
   */
  async #enforce(call: CallRecord, context: AuditContext, target: { provider: string; model: string; region?: string | undefined }): Promise<void> {
    if (!this.#policy) return;
    const record = (event: AuditEventInput): Promise<unknown> =>
      this.config.audit.enabled
        ? this.#writer.write({ ...event, eventId: event.eventId ?? newEventId(), timestamp: event.timestamp ?? new Date().toISOString() })
        : Promise.resolve();
    const allowed = await this.#policy.enforce(context, { provider: target.provider, model: target.model, ...(target.region ? { region: target.region } : {}) }, record);
    call.amend({ legalBasis: allowed.legalBasis, consentId: allowed.consentId });
  }

  /** Records a failure and returns the error the caller gets. */
  async #failed(ctx: CallContext, err: unknown, partial: { text?: string; tokens?: Tokens | undefined } = {}): Promise<AitrailError> {
    const failure: ProviderFailure = classifyFailure(err, { aborted: ctx.signal.cancelled, timedOut: ctx.signal.timedOut, secrets: this.#registry.secrets() });
    const meta = { provider: ctx.resolved.provider.name, model: ctx.resolved.modelId, status: failure.status, errorCode: failure.errorCode };
    if (this.config.audit.enabled) {
      try {
        await ctx.call.fail(failure, partial);
      } catch (auditErr) {
        if (AitrailError.isInstance(auditErr)) {
          return new AitrailError(auditErr.code, `${auditErr.message} (the call itself failed: ${failure.errorCode})`, {
            cause: auditErr,
            details: { ...auditErr.details, providerError: meta },
          });
        }
        throw auditErr;
      }
    }
    const what = failure.status === "cancelled" ? "was cancelled" : `failed (${failure.errorCode}): ${failure.errorMessage}`;
    return new AitrailError("PROVIDER_ERROR", `${ctx.resolved.provider.name} model ${ctx.resolved.modelId} ${what}`, {
      cause: err,
      details: { ...meta, eventId: this.config.audit.enabled ? ctx.call.eventId : null },
    });
  }

  /** Makes the call and records it. Closed mode: resolves only once the event is committed. */
  async generate(options: GenerateOptions): Promise<GenerateResult> {
    const t0 = timingWanted() ? performance.now() : 0;
    const ctx = this.#begin(options, "ai.generate");
    const { prepared, resolved, call, signal } = ctx;
    let t1 = 0;
    let t2 = 0;
    let status: "success" | "error" | "cancelled" = "success";
    try {
      if (this.config.audit.enabled && this.config.failMode === "closed") await this.#writer.ready();
      if (this.#policy) await this.#enforce(call, prepared.context, { provider: resolved.provider.name, model: resolved.modelId, region: resolved.provider.region });
      let result: Awaited<ReturnType<typeof generateText>>;
      try {
        const base = { model: resolved.model, ...sdkSettings(prepared.options), abortSignal: signal.signal };
        if (t0) t1 = performance.now();
        result = await (prepared.messages ? generateText({ ...base, messages: prepared.messages }) : generateText({ ...base, prompt: prepared.prompt ?? "" }));
        if (t0) t2 = performance.now();
      } catch (err) {
        if (t0) t2 = performance.now();
        const failure = await this.#failed(ctx, err);
        status = failure.details?.status === "cancelled" ? "cancelled" : "error";
        throw failure;
      }
      const tokens = tokensFromUsage(result.totalUsage);
      if (!this.config.audit.enabled) {
        const { cost, costUnknown } = call.price(tokens);
        return { content: result.text, usage: tokens ?? null, cost, costUnknown, latency: call.elapsed(), eventId: null, provider: resolved.provider.name, model: resolved.modelId, finishReason: result.finishReason };
      }
      const outcome = await call.succeed({ text: result.text, tokens, finishReason: result.finishReason });
      return {
        content: result.text,
        usage: tokens ?? null,
        cost: outcome.cost,
        costUnknown: outcome.costUnknown,
        latency: outcome.latency,
        eventId: outcome.eventId,
        provider: resolved.provider.name,
        model: resolved.modelId,
        finishReason: result.finishReason,
      };
    } finally {
      signal.dispose();
      if (t0 && t1) {
        const providerMs = t2 - t1;
        publishTiming({
          eventId: call.eventId,
          type: "ai.generate",
          provider: resolved.provider.name,
          model: resolved.modelId,
          status,
          failMode: this.config.failMode,
          providerMs,
          auditMs: performance.now() - t0 - providerMs,
        });
      }
    }
  }

  /**
   * Streams the answer: iterate the returned object (or its `textStream`) for text as it
   * arrives; `result` resolves when the stream has ended and its event is recorded. Breaking
   * out of the loop or calling `cancel()` aborts the request and records status "cancelled".
   */
  stream(options: GenerateOptions): AuditedStream {
    const ctx = this.#begin(options, "ai.stream");
    return runStream(ctx, {
      enabled: this.config.audit.enabled,
      closed: this.config.failMode === "closed",
      ready: () => this.#writer.ready(),
      enforce: this.#policy
        ? () => this.#enforce(ctx.call, ctx.prepared.context, { provider: ctx.resolved.provider.name, model: ctx.resolved.modelId, region: ctx.resolved.provider.region })
        : undefined,
      failed: (err, partial) => this.#failed(ctx, err, partial),
    });
  }

  /** Waits for audit writes in flight and retries spooled events once. */
  async flush(): Promise<void> {
    await this.#writer.flush();
    const rec = this.config.recorder ?? (this.#pipeline ? (await this.#pipeline.catch(() => null))?.recorder : undefined);
    await rec?.flush?.();
  }

  /**
   * Flushes, then closes the store this trail opened (a recorder passed in stays open).
   * Rejects with AUDIT_WRITE_FAILED if events are still spooled; they are named in details.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    let failure: Error | undefined;
    try {
      await this.#writer.close();
    } catch (err) {
      failure = err instanceof Error ? err : new AitrailError("AUDIT_WRITE_FAILED", String(err));
    }
    this.#closed = true;
    const pipeline = this.#pipeline ? await this.#pipeline.catch(() => null) : null;
    this.#pipeline = null;
    if (pipeline) await pipeline.close();
    if (failure) throw failure;
  }
}

/** The auditContext fields of an event, as the application passed them. */
function contextOf(event: WrittenEvent): AuditContext {
  return Object.fromEntries(AUDIT_CONTEXT_FIELDS.filter((f) => event[f] !== undefined).map((f) => [f, event[f]]));
}

/** The brief's ConsentManager API, on `trail.consent`. */
export interface TrailConsent {
  recordConsent(data: RecordConsentInput): Promise<string>;
  checkConsent(userId: string, purpose: string): Promise<ConsentRecord | null>;
  revokeConsent(consentId: string): Promise<void>;
  history(userId: string): Promise<ConsentRecord[]>;
}

/** An AuditQuery whose reads are audited and whose user lookups take raw identifiers. */
export class TrailQuery extends AuditQuery {
  readonly #privacy: Privacy | undefined;

  constructor(store: AuditStore, options: AuditQueryOptions, privacy: Privacy | undefined) {
    super(store, options);
    this.#privacy = privacy;
  }

  /** The user's events, newest first, decrypted when protection is on; an unknown or erased user has none. */
  override async getUserActivity(userId: string, limit = 100): Promise<ActivityRecord[]> {
    const privacy = this.#privacy;
    const stored = privacy ? await privacy.pseudonymFor("user", userId) : userId;
    if (stored === null) return this.recordRead("user-activity", { userId: "(unknown subject)", limit }, [], 0);
    const rows = await super.getUserActivity(stored, limit);
    if (!privacy) return rows;
    return Promise.all(rows.map(async ({ seq, ...event }) => ({ ...(await privacy.protector.reveal(event)), seq })));
  }
}
