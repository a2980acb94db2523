/**
 * The Recorder: validate, (policy), minimize, protect, seal, commit, fan out.
 *
 * Group commit: record() prepares its entry synchronously (validation, minimisation,
 * canonical bytes, leaf hash) and queues it; one writer drains the queue in batches, each
 * batch one store transaction. Every record() resolves only once its batch is durable, so
 * under concurrency many calls share one fsync. The queue is bounded: when it is full,
 * record() waits for room (back-pressure) instead of growing memory.
 */
import { AitrailError, errorMessage } from "../errors.js";
import { canonicalize } from "../event/canonical.js";
import { fieldSelection, minimize, type AuditLevel, type FieldSelection } from "../event/levels.js";
import { parseEventInput, type AuditEvent, type AuditEventInput } from "../event/schema.js";
import { leafHash } from "../ledger/hash.js";
import { columnsOf } from "../store/columns.js";
import type { AuditStore, PreparedEntry, StoredEntry } from "../store/types.js";

export interface RecordedEvent {
  eventId: string;
  seq: number;
  /** The event as stored (minimised and protected). */
  event: AuditEvent;
  leafHash: Uint8Array;
  chainHash: Uint8Array;
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
}

export interface RecorderStats {
  queued: number;
  committed: number;
  batches: number;
  lastCommitAt: string | null;
  lastError: string | null;
}

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
  readonly #maxQueue: number;
  readonly #clock: () => Date;
  readonly #listeners = new Set<CommitListener>();
  #queue: Pending[] = [];
  #roomWaiters: (() => void)[] = [];
  #draining: Promise<void> | null = null;
  #scheduled = false;
  #closed = false;
  #stats: RecorderStats = { queued: 0, committed: 0, batches: 0, lastCommitAt: null, lastError: null };

  constructor(options: RecorderOptions) {
    this.store = options.store;
    this.selection = fieldSelection(options.level ?? "standard", options.includeFields);
    this.#protect = options.protect;
    this.#maxBatch = options.maxBatch ?? 2000;
    this.#maxQueue = options.maxQueue ?? 20_000;
    this.#clock = options.clock ?? (() => new Date());
  }

  /** Records one event; resolves once it is durably committed. */
  async record(input: AuditEventInput): Promise<RecordedEvent> {
    if (this.#closed) throw new AitrailError("RECORDER_CLOSED", "the recorder is closed; no event can be recorded");
    const parsed = parseEventInput(input, this.#clock());
    let event = minimize(parsed, this.selection);
    if (this.#protect) event = await this.#protect(event);
    const canonical = canonicalize(event);
    const entry: PreparedEntry = { eventId: event.eventId, canonical, leafHash: leafHash(canonical), columns: columnsOf(event) };
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
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#maxBatch);
        for (const w of this.#roomWaiters.splice(0)) w();
        let stored: StoredEntry[];
        try {
          stored = await this.store.append(batch.map((p) => p.entry));
        } catch (err) {
          this.#stats.lastError = errorMessage(err);
          const failure = new AitrailError("AUDIT_WRITE_FAILED", `audit events could not be committed to ${this.store.location}: ${errorMessage(err)}`, {
            cause: err,
            details: { events: batch.length },
          });
          for (const p of batch) p.reject(failure);
          continue;
        }
        const recorded = stored.map((s, i): RecordedEvent => ({
          eventId: s.eventId,
          seq: s.seq,
          event: batch[i]!.event,
          leafHash: s.leafHash,
          chainHash: s.chainHash,
        }));
        this.#stats.committed += recorded.length;
        this.#stats.batches += 1;
        this.#stats.lastCommitAt = this.#clock().toISOString();
        for (let i = 0; i < batch.length; i++) batch[i]!.resolve(recorded[i]!);
        await this.#notify(recorded);
      }
    } finally {
      this.#draining = null;
    }
  }

  async #notify(recorded: readonly RecordedEvent[]): Promise<void> {
    for (const listener of this.#listeners) {
      try {
        await listener(recorded);
      } catch (err) {
        this.#stats.lastError = `commit listener failed: ${errorMessage(err)}`;
      }
    }
  }
}
