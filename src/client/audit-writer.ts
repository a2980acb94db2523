/**
 * Writes call events to the Recorder under the trail's fail mode.
 *
 * closed: `write` resolves only once the event is committed; any recorder failure rejects
 *         with AUDIT_WRITE_FAILED, and the caller returns no result.
 * open:   `write` returns at once; the commit runs behind the call. A failure raises an alert
 *         through `onAlert` and the event goes to an in-memory spool that is retried with
 *         backoff (and on `flush()`); it is not dropped. When the spool is full the alert
 *         carries the event itself: the application's last chance to keep it.
 */
import { AitrailError, errorMessage } from "../errors.js";
import type { AuditEventInput } from "../event/schema.js";
import type { RecorderPort } from "./recorder-port.js";

export type AlertKind =
  | "audit_write_failed"
  | "audit_unavailable"
  | "audit_event_invalid"
  | "audit_recovered"
  | "spool_overflow"
  | "on_log_failed"
  /** The durable spool of open mode is filling up, full, or had a torn last line cut. */
  | "spool_filling"
  | "spool_full"
  | "spool_truncated"
  | "checkpoint_failed";

export interface AuditAlert {
  kind: AlertKind;
  message: string;
  /** Events waiting in the spool after this alert. */
  spooled: number;
  eventId?: string;
  error?: unknown;
  /** The event itself, when the trail could not keep it (spool_overflow, audit_event_invalid). */
  event?: AuditEventInput;
}

export type WrittenEvent = AuditEventInput & { eventId: string; timestamp: string };

export interface AuditWriterOptions {
  recorder: () => Promise<RecorderPort>;
  failMode: "open" | "closed";
  onAlert?: ((alert: AuditAlert) => unknown) | undefined;
  /** Called once per event when its write settles (committed, or spooled in open mode). */
  onSettled?: ((event: WrittenEvent, audit: "committed" | "spooled") => unknown) | undefined;
  spool: { maxEvents: number; retryMs: number };
}

const MAX_BACKOFF_MS = 30_000;

export class AuditWriter {
  readonly #o: AuditWriterOptions;
  readonly #pending = new Set<Promise<unknown>>();
  #spool: WrittenEvent[] = [];
  #timer: NodeJS.Timeout | undefined;
  #backoff: number;
  #retrying: Promise<void> | null = null;
  #closed = false;

  constructor(options: AuditWriterOptions) {
    this.#o = options;
    this.#backoff = options.spool.retryMs;
  }

  get failMode(): "open" | "closed" {
    return this.#o.failMode;
  }

  /** Events held in memory because they could not be committed yet. */
  get spooled(): number {
    return this.#spool.length;
  }

  /** Resolves once the recorder is open. Closed mode checks this before calling a provider. */
  async ready(): Promise<RecorderPort> {
    try {
      return await this.#o.recorder();
    } catch (err) {
      throw new AitrailError("AUDIT_UNAVAILABLE", `the audit trail is unavailable: ${errorMessage(err)}`, { cause: err });
    }
  }

  /** closed: resolves once committed (AUDIT_WRITE_FAILED otherwise). open: returns at once. */
  write(event: WrittenEvent): Promise<void> {
    if (this.#closed) {
      return Promise.reject(new AitrailError("RECORDER_CLOSED", "the trail is closed; no call can be audited"));
    }
    if (this.#o.failMode === "closed") {
      const committing = this.#commit(event);
      this.#track(committing);
      return committing;
    }
    // The write (validation, hashing, queueing) runs after the caller has its result.
    this.#track(new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#writeOpen(event)));
    return Promise.resolve();
  }

  async #commit(event: WrittenEvent): Promise<void> {
    const recorder = await this.ready().catch((err: unknown) => {
      throw new AitrailError("AUDIT_WRITE_FAILED", `audit event ${event.eventId} was not committed: ${errorMessage(err)}`, { cause: err, details: { eventId: event.eventId } });
    });
    try {
      await recorder.record(event);
    } catch (err) {
      const code = AitrailError.isInstance(err) ? err.code : undefined;
      throw new AitrailError("AUDIT_WRITE_FAILED", `audit event ${event.eventId} was not committed: ${errorMessage(err)}`, {
        cause: err,
        details: { eventId: event.eventId, ...(code ? { recorderCode: code } : {}) },
      });
    }
    this.#settled(event, "committed");
  }

  async #writeOpen(event: WrittenEvent): Promise<void> {
    try {
      const recorder = await this.#o.recorder();
      await recorder.record(event);
    } catch (err) {
      if (AitrailError.isInstance(err, "INVALID_EVENT")) {
        this.#alert({ kind: "audit_event_invalid", message: `audit event ${event.eventId} is invalid and cannot be recorded: ${err.message}`, eventId: event.eventId, error: err, event });
        return;
      }
      this.#toSpool(event, err);
      this.#settled(event, "spooled");
      return;
    }
    this.#settled(event, "committed");
  }

  #toSpool(event: WrittenEvent, err: unknown): void {
    if (this.#spool.length >= this.#o.spool.maxEvents) {
      this.#alert({
        kind: "spool_overflow",
        message: `audit event ${event.eventId} could not be written and the spool is full (${this.#o.spool.maxEvents} events); the alert carries the event`,
        eventId: event.eventId,
        error: err,
        event,
      });
      return;
    }
    this.#spool.push(event);
    this.#alert({
      kind: AitrailError.isInstance(err, "AUDIT_UNAVAILABLE") ? "audit_unavailable" : "audit_write_failed",
      message: `audit event ${event.eventId} could not be committed (${errorMessage(err)}); it is spooled and will be retried`,
      eventId: event.eventId,
      error: err,
    });
    this.#schedule();
  }

  #schedule(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#track(this.#retry());
    }, this.#backoff);
    this.#timer.unref();
  }

  /** One pass over the spool, oldest first; stops at the first failure and backs off. */
  #retry(): Promise<void> {
    if (this.#retrying) return this.#retrying;
    this.#retrying = (async () => {
      const hadBacklog = this.#spool.length > 0;
      try {
        while (this.#spool.length > 0) {
          const event = this.#spool[0]!;
          try {
            const recorder = await this.#o.recorder();
            await recorder.record(event);
          } catch (err) {
            if (AitrailError.isInstance(err, "INVALID_EVENT")) {
              this.#spool.shift();
              this.#alert({ kind: "audit_event_invalid", message: `spooled audit event ${event.eventId} is invalid: ${err.message}`, eventId: event.eventId, error: err, event });
              continue;
            }
            this.#backoff = Math.min(this.#backoff * 2, MAX_BACKOFF_MS);
            this.#schedule();
            return;
          }
          this.#spool.shift();
        }
        this.#backoff = this.#o.spool.retryMs;
        if (hadBacklog) this.#alert({ kind: "audit_recovered", message: "the audit trail is writable again; every spooled event is committed" });
      } finally {
        this.#retrying = null;
      }
    })();
    return this.#retrying;
  }

  #settled(event: WrittenEvent, audit: "committed" | "spooled"): void {
    const onSettled = this.#o.onSettled;
    if (!onSettled) return;
    try {
      const r = onSettled(event, audit);
      if (r && typeof (r as PromiseLike<unknown>).then === "function") {
        this.#track(Promise.resolve(r).catch((err: unknown) => this.#onLogFailed(event, err)));
      }
    } catch (err) {
      this.#onLogFailed(event, err);
    }
  }

  #onLogFailed(event: WrittenEvent, err: unknown): void {
    this.#alert({ kind: "on_log_failed", message: `auditLog.onLog failed for event ${event.eventId}: ${errorMessage(err)}`, eventId: event.eventId, error: err });
  }

  #alert(a: Omit<AuditAlert, "spooled">): void {
    const alert: AuditAlert = { ...a, spooled: this.#spool.length };
    const onAlert = this.#o.onAlert;
    if (!onAlert) {
      // No hook configured: an alert must still be seen by someone.
      process.emitWarning(alert.message, { code: `AITRAIL_${alert.kind.toUpperCase()}` });
      return;
    }
    try {
      const r = onAlert(alert);
      if (r && typeof (r as PromiseLike<unknown>).then === "function") this.#track(Promise.resolve(r).catch(() => undefined));
    } catch {
      // An alert hook that throws must not break the call it reports on.
    }
  }

  #track(p: Promise<unknown>): void {
    this.#pending.add(p);
    const done = (): void => {
      this.#pending.delete(p);
    };
    void p.then(done, done);
  }

  /** Waits for writes in flight, retries the spool once. Resolves even if events stay spooled (see `spooled`). */
  async flush(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
    if (this.#spool.length > 0) {
      if (this.#timer) {
        clearTimeout(this.#timer);
        this.#timer = undefined;
      }
      await this.#retry();
      while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
    }
  }

  /** Flushes and stops. Rejects with AUDIT_WRITE_FAILED if events are still spooled (they are named). */
  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#spool.length > 0) {
      const ids = this.#spool.map((e) => e.eventId);
      throw new AitrailError("AUDIT_WRITE_FAILED", `${ids.length} audit event(s) could not be committed before close`, { details: { eventIds: ids.slice(0, 100), count: ids.length } });
    }
  }
}
