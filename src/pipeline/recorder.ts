/**
 * The Recorder: validate, (policy), minimize, protect, seal, commit, fan out.
 *
 * Group commit: record() prepares its entry synchronously (validation, minimisation,
 * canonical bytes, leaf hash) and queues it; one writer drains the queue in batches, each
 * batch one store transaction. Every record() resolves only once its batch is durable, so
 * under concurrency many calls share one fsync. A store that commits on its own thread
 * (appendDepth 2) gets the next batch while it commits the current one, so preparing and
 * writing overlap; batches in flight together commit in the order they were sent, and their
 * calls resolve in that order. The queue is bounded: when it is full,
 * record() waits for room (back-pressure) instead of growing memory.
 *
 * When the store fails (failMode):
 *   (absent)  every record() of the failed batch rejects with AUDIT_WRITE_FAILED.
 *   "closed"  the same, and while the store is down (until the next retry) record() rejects
 *             at once with AUDIT_UNAVAILABLE instead of waiting on a dead store.
 *   "open"    with a durable `spool`, the batch goes to the spool and record() resolves with
 *             `spooled: true` (seq -1): the event is on disk, not lost. While the spool holds
 *             events, new batches join it behind them, so the store receives everything in
 *             order; a retry with backoff delivers the spool, once per eventId (the store
 *             skips an eventId it already holds, e.g. when a commit succeeded but its
 *             acknowledgement was lost). Without a spool, "open" behaves like absent.
 * `onAlert` hears of every outage, recovery and spool alert; `health()` reports the state.
 */
import { AitrailError, errorMessage } from "../errors.js";
import { canonicalize } from "../event/canonical.js";
import { fieldSelection, minimize, type AuditLevel, type FieldSelection } from "../event/levels.js";
import { parseEventInput, type AuditEvent, type AuditEventInput } from "../event/schema.js";
import { preparedEntry } from "../store/entry.js";
import type { AuditStore, PreparedEntry, StoredEntry } from "../store/types.js";
import type { Spool, SpoolAlert } from "./spool.js";

export interface RecordedEvent {
  eventId: string;
  seq: number;
  /** The event as stored (minimised and protected). */
  event: AuditEvent;
  leafHash: Uint8Array;
  chainHash: Uint8Array;
  /** The store was down: the event is durable in the spool and will be delivered (seq is -1 until then). */
  spooled?: boolean;
}

export interface RecorderAlert {
  kind: "store_unavailable" | "store_recovered" | "spool_delivered" | "commit_listener_failed" | SpoolAlert["kind"];
  message: string;
  details?: Record<string, unknown>;
  error?: unknown;
}

export interface RecorderHealth {
  /** ok: committing; degraded: committing but a spool backlog is being delivered; down: the store is failing. */
  status: "ok" | "degraded" | "down";
  failMode: "open" | "closed" | null;
  storeAvailable: boolean;
  /** Events waiting for a transaction in memory. */
  queueDepth: number;
  spool: { path: string; depth: number; bytes: number; maxBytes: number } | null;
  committed: number;
  lastCommitAt: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
  /** When the next delivery attempt runs while the store is down. */
  nextRetryAt: string | null;
}

export type ProtectStep = (event: AuditEvent) => AuditEvent | Promise<AuditEvent>;
export type CommitListener = (events: readonly RecordedEvent[]) => void | Promise<void>;

export interface RecorderOptions {
  store: AuditStore;
  level?: AuditLevel;
  includeFields?: readonly string[];
  /** Step 4: turns the event into its stored form (pseudonyms, encryption, redaction). */
  protect?: ProtectStep;
  /** Most entries per transaction. */
  maxBatch?: number;
  /** Most entries waiting for a transaction before record() waits for room. */
  maxQueue?: number;
  clock?: () => Date;
  /** What a store failure does (see above). Absent: reject the batch's calls. */
  failMode?: "open" | "closed";
  /** Durable spool for open mode. The Recorder does not close it. */
  spool?: Spool;
  /** Outages, recoveries and spool alerts. Errors thrown here are ignored. */
  onAlert?: (alert: RecorderAlert) => void;
  /** First retry after a store failure; doubles up to maxRetryMs. Default 500 ms. */
  retryMs?: number;
  maxRetryMs?: number;
}

export interface RecorderStats {
  queued: number;
  committed: number;
  batches: number;
  lastCommitAt: string | null;
  lastError: string | null;
}

type AppendResult = { stored: StoredEntry[] } | { error: unknown };

interface Pending {
  entry: PreparedEntry;
  event: AuditEvent;
  resolve: (r: RecordedEvent) => void;
  reject: (e: unknown) => void;
}

export class Recorder {
  readonly store: AuditStore;
  readonly selection: FieldSelection;
  readonly #protect: ProtectStep | undefined;
  readonly #maxBatch: number;
  readonly #appendDepth: number;
  readonly #maxQueue: number;
  readonly #clock: () => Date;
  readonly #listeners = new Set<CommitListener>();
  #queue: Pending[] = [];
  #roomWaiters: (() => void)[] = [];
  #draining: Promise<void> | null = null;
  #scheduled = false;
  #closed = false;
  #stats: RecorderStats = { queued: 0, committed: 0, batches: 0, lastCommitAt: null, lastError: null };
  readonly #failMode: "open" | "closed" | undefined;
  readonly #spool: Spool | undefined;
  readonly #onAlert: ((alert: RecorderAlert) => void) | undefined;
  readonly #retryMs: number;
  readonly #maxRetryMs: number;
  #down = false;
  #backoff: number;
  #nextRetryAt = 0;
  #lastErrorAt: string | null = null;
  #retryTimer: NodeJS.Timeout | undefined;
  #unsubscribeSpool: (() => void) | undefined;

  constructor(options: RecorderOptions) {
    this.store = options.store;
    this.selection = fieldSelection(options.level ?? "standard", options.includeFields);
    this.#protect = options.protect;
    this.#maxBatch = options.maxBatch ?? 2000;
    this.#appendDepth = Math.max(1, options.store.appendDepth ?? 1);
    this.#maxQueue = options.maxQueue ?? 20_000;
    this.#clock = options.clock ?? (() => new Date());
    this.#failMode = options.failMode;
    this.#spool = options.failMode === "open" ? options.spool : undefined;
    this.#onAlert = options.onAlert;
    this.#retryMs = options.retryMs ?? 500;
    this.#maxRetryMs = options.maxRetryMs ?? 30_000;
    this.#backoff = this.#retryMs;
    if (this.#spool) {
      this.#unsubscribeSpool = this.#spool.onAlert((a) => this.#alert({ kind: a.kind, message: a.message, details: { depth: a.depth, bytes: a.bytes, maxBytes: a.maxBytes } }));
      // Events left in the spool by an earlier run are delivered first.
      if (this.#spool.depth > 0) this.#scheduleRetry(0);
    }
  }

  /** Records one event; resolves once it is durably committed. */
  async record(input: AuditEventInput): Promise<RecordedEvent> {
    if (this.#closed) throw new AitrailError("RECORDER_CLOSED", "the recorder is closed; no event can be recorded");
    if (this.#failMode === "closed" && this.#down && Date.now() < this.#nextRetryAt) {
      throw new AitrailError("AUDIT_UNAVAILABLE", `the audit store ${this.store.location} is unavailable (${this.#stats.lastError ?? "unknown error"}); retrying at ${new Date(this.#nextRetryAt).toISOString()}`, {
        details: { store: this.store.location },
      });
    }
    const parsed = parseEventInput(input, this.#clock());
    // Levels minimise what an AI call reveals. The trail's own events (consent, erasure,
    // reads, refusals, purges) are evidence: they keep every field they carry.
    let event = isMinimisable(parsed.type) ? minimize(parsed, this.selection) : parsed;
    if (this.#protect) event = await this.#protect(event);
    const canonical = canonicalize(event);
    // Its leaf hash and columns are derived when a store first reads them (store/entry.ts).
    const entry = preparedEntry(event, canonical);
    while (this.#queue.length >= this.#maxQueue) {
      await new Promise<void>((resolve) => this.#roomWaiters.push(resolve));
      if (this.#closed) throw new AitrailError("RECORDER_CLOSED", "the recorder closed while the event waited for room");
    }
    return new Promise<RecordedEvent>((resolve, reject) => {
      this.#queue.push({ entry, event, resolve, reject });
      this.#schedule();
    });
  }

  /** Called with each committed batch (sinks, checkpoints, onLog). Errors in listeners never fail a record. */
  onCommit(listener: CommitListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  stats(): RecorderStats {
    return { ...this.#stats, queued: this.#queue.length };
  }

  /** Queue depth, spool size, last commit, last error (the brief's "Monitor Audit Log Health"). */
  health(): RecorderHealth {
    const spool = this.#spool;
    return {
      status: this.#down ? "down" : spool && spool.depth > 0 ? "degraded" : "ok",
      failMode: this.#failMode ?? null,
      storeAvailable: !this.#down,
      queueDepth: this.#queue.length,
      spool: spool ? { path: spool.path, depth: spool.depth, bytes: spool.bytes, maxBytes: spool.maxBytes } : null,
      committed: this.#stats.committed,
      lastCommitAt: this.#stats.lastCommitAt,
      lastError: this.#stats.lastError,
      lastErrorAt: this.#lastErrorAt,
      nextRetryAt: this.#down ? new Date(this.#nextRetryAt).toISOString() : null,
    };
  }

  /**
   * Tries to deliver the spool now (and commits what is queued). Resolves with the number of
   * events still spooled: 0 once the store has everything.
   */
  async drainSpool(): Promise<number> {
    if (!this.#spool) return 0;
    this.#nextRetryAt = 0;
    await this.flush();
    if (this.#spool.depth > 0) {
      if (!this.#draining) this.#draining = this.#drain();
      await this.#draining;
    }
    return this.#spool.depth;
  }

  /** Resolves when everything queued so far is committed (or failed). */
  async flush(): Promise<void> {
    while (this.#queue.length > 0 || this.#draining) {
      if (!this.#draining) this.#draining = this.#drain();
      await this.#draining;
    }
  }

  /** Stops accepting events and commits what is queued. The store stays open (its owner closes it). */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#unsubscribeSpool?.();
    for (const w of this.#roomWaiters.splice(0)) w();
  }

  #schedule(): void {
    if (this.#scheduled || this.#draining) return;
    this.#scheduled = true;
    // setImmediate lets every record() issued in this turn join the same transaction.
    setImmediate(() => {
      this.#scheduled = false;
      if (!this.#draining) this.#draining = this.#drain();
    });
  }

  async #drain(): Promise<void> {
    // Batches sent to the store and not yet settled, oldest first. A store with appendDepth 2
    // commits one batch while the next is being sent; results are settled in send order.
    const inFlight: { batch: Pending[]; result: Promise<AppendResult> }[] = [];
    try {
      // A spool backlog goes first, when a retry is due, so the store receives events in order.
      if (this.#spool && this.#spool.depth > 0 && Date.now() >= this.#nextRetryAt) await this.#deliverSpool();
      while (this.#queue.length > 0 || inFlight.length > 0) {
        const backlog = this.#spool !== undefined && this.#spool.depth > 0;
        const room = backlog ? 0 : this.#appendDepth - inFlight.length;
        if (this.#queue.length > 0 && room > 0) {
          // Share what is queued among the free slots, so both halves of the pipeline have work.
          const batch = this.#queue.splice(0, Math.min(this.#maxBatch, Math.ceil(this.#queue.length / room)));
          for (const w of this.#roomWaiters.splice(0)) w();
          let appended: Promise<StoredEntry[]>;
          try {
            appended = this.store.append(batch.map((p) => p.entry));
          } catch (err) {
            // A store that throws instead of rejecting fails the batch the same way.
            appended = Promise.reject(err instanceof Error ? err : new Error(String(err)));
          }
          const result = appended.then(
            (stored): AppendResult => ({ stored }),
            (error: unknown): AppendResult => ({ error }),
          );
          inFlight.push({ batch, result });
          continue;
        }
        const oldest = inFlight.shift();
        if (oldest) {
          await this.#settle(oldest.batch, await oldest.result);
          continue;
        }
        // Behind a spool backlog, new events join the spool, in order.
        const batch = this.#queue.splice(0, this.#maxBatch);
        for (const w of this.#roomWaiters.splice(0)) w();
        await this.#toSpool(batch, null);
      }
    } finally {
      this.#draining = null;
      // Liveness: a spool backlog always has a retry pending, whatever this drain ran into.
      if (this.#spool && this.#spool.depth > 0 && !this.#retryTimer) this.#scheduleRetry(Math.max(0, this.#nextRetryAt - Date.now()));
    }
  }

  /** Resolves (or rejects, or spools) the calls of one batch from its store result. */
  async #settle(batch: Pending[], result: AppendResult): Promise<void> {
    if ("error" in result) {
      const err = result.error;
      this.#storeFailed(err);
      if (this.#spool) {
        await this.#toSpool(batch, err);
        return;
      }
      const failure = new AitrailError("AUDIT_WRITE_FAILED", `audit events could not be committed: ${withLocation(this.store.location, errorMessage(err))}`, {
        cause: err,
        details: { events: batch.length },
      });
      for (const p of batch) p.reject(failure);
      return;
    }
    const stored = result.stored;
    const recorded = stored.map((s, i): RecordedEvent => ({
      eventId: s.eventId,
      seq: s.seq,
      event: batch[i]!.event,
      leafHash: s.leafHash,
      chainHash: s.chainHash,
    }));
    this.#committed(recorded.length);
    const accepted: RecordedEvent[] = [];
    for (let i = 0; i < batch.length; i++) {
      // The store keeps the first record of an eventId; a different record under the same id is refused, not merged.
      // Same record, same leaf hash: comparing the records spares hashing on this thread.
      if (stored[i]!.canonical === batch[i]!.entry.canonical) {
        accepted.push(recorded[i]!);
        batch[i]!.resolve(recorded[i]!);
        continue;
      }
      batch[i]!.reject(
        new AitrailError("INVALID_EVENT", `eventId ${batch[i]!.entry.eventId} is already recorded with different content; nothing was written`, {
          details: { eventId: batch[i]!.entry.eventId, seq: stored[i]!.seq, problems: [{ field: "eventId", message: "already recorded with different content" }] },
        }),
      );
    }
    await this.#notify(accepted);
  }

  #committed(n: number): void {
    this.#stats.committed += n;
    this.#stats.batches += 1;
    this.#stats.lastCommitAt = this.#clock().toISOString();
    if (this.#down) {
      this.#down = false;
      this.#backoff = this.#retryMs;
      this.#alert({ kind: "store_recovered", message: `the audit store ${this.store.location} is committing again` });
    }
  }

  #storeFailed(err: unknown): void {
    this.#stats.lastError = errorMessage(err);
    this.#lastErrorAt = this.#clock().toISOString();
    this.#nextRetryAt = Date.now() + this.#backoff;
    this.#backoff = Math.min(this.#backoff * 2, this.#maxRetryMs);
    if (!this.#down) {
      this.#down = true;
      this.#alert({
        kind: "store_unavailable",
        message: `audit events cannot be committed to ${this.store.location}: ${errorMessage(err)}${this.#spool ? "; events go to the spool" : ""}`,
        error: err,
      });
    }
    if (this.#spool) this.#scheduleRetry(this.#nextRetryAt - Date.now());
  }

  /** Puts a batch in the spool and resolves its calls as spooled; a spool failure rejects them. */
  async #toSpool(batch: Pending[], cause: unknown): Promise<void> {
    const spool = this.#spool!;
    try {
      await spool.append(batch.map((p) => p.entry.canonical));
    } catch (err) {
      this.#stats.lastError = errorMessage(err);
      this.#lastErrorAt = this.#clock().toISOString();
      const failure = new AitrailError(
        "AUDIT_WRITE_FAILED",
        `audit events could not be committed to ${this.store.location}${cause ? ` (${errorMessage(cause)})` : " (a spool backlog is waiting)"} nor spooled: ${errorMessage(err)}`,
        { cause: err, details: { events: batch.length, spool: spool.path } },
      );
      for (const p of batch) p.reject(failure);
      return;
    }
    for (const p of batch) {
      p.resolve({ eventId: p.entry.eventId, seq: -1, event: p.event, leafHash: p.entry.leafHash, chainHash: new Uint8Array(0), spooled: true });
    }
    if (!this.#retryTimer) this.#scheduleRetry(Math.max(0, this.#nextRetryAt - Date.now()));
  }

  /** Delivers the spool oldest first until it is empty or the store fails. */
  async #deliverSpool(): Promise<void> {
    const spool = this.#spool!;
    let delivered = 0;
    while (spool.depth > 0) {
      let batch: Awaited<ReturnType<Spool["peek"]>>;
      try {
        batch = await spool.peek(this.#maxBatch);
      } catch (err) {
        this.#stats.lastError = errorMessage(err);
        this.#lastErrorAt = this.#clock().toISOString();
        this.#alert({ kind: "store_unavailable", message: `the spool ${spool.path} cannot be read: ${errorMessage(err)}`, error: err });
        return;
      }
      if (batch.records.length === 0) return;
      const events = batch.records.map((r) => JSON.parse(r) as AuditEvent);
      const entries = batch.records.map((canonical, i) => preparedEntry(events[i]!, canonical));
      let stored: StoredEntry[];
      try {
        stored = await this.store.append(entries);
      } catch (err) {
        this.#storeFailed(err);
        return;
      }
      await spool.commit(batch.endOffset);
      delivered += stored.length;
      this.#committed(stored.length);
      await this.#notify(stored.map((s, i) => ({ eventId: s.eventId, seq: s.seq, event: events[i]!, leafHash: s.leafHash, chainHash: s.chainHash })));
    }
    if (delivered > 0) this.#alert({ kind: "spool_delivered", message: `delivered ${delivered} spooled audit events to ${this.store.location}`, details: { events: delivered } });
  }

  #scheduleRetry(delayMs: number): void {
    if (this.#retryTimer || this.#closed) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      // The timer is the retry: it can fire a millisecond before nextRetryAt as Date.now() counts.
      this.#nextRetryAt = Math.min(this.#nextRetryAt, Date.now());
      if (!this.#draining) this.#draining = this.#drain();
      // The drain reschedules itself on failure; its errors are recorded, never thrown here.
      this.#draining.catch(() => undefined);
    }, delayMs);
    this.#retryTimer.unref();
  }

  #alert(alert: RecorderAlert): void {
    try {
      this.#onAlert?.(alert);
    } catch {
      // An alert handler that throws must not stop recording.
    }
  }

  async #notify(recorded: readonly RecordedEvent[]): Promise<void> {
    for (const listener of this.#listeners) {
      try {
        await listener(recorded);
      } catch (err) {
        this.#stats.lastError = `commit listener failed: ${errorMessage(err)}`;
        this.#alert({ kind: "commit_listener_failed", message: this.#stats.lastError, error: err });
      }
    }
  }
}

function isMinimisable(type: string): boolean {
  return type.startsWith("ai.") || type.startsWith("custom.");
}

/** Names the store once, whether or not the store's own message already does. */
function withLocation(location: string, message: string): string {
  return message.startsWith(location) ? message : `${location}: ${message}`;
}
