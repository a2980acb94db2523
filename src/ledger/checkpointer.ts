/**
 * Issues signed checkpoints of the ledger: on demand, every N committed events, every T
 * seconds while the tree grows. Each checkpoint is appended to the witness file first (so
 * the outside copy is never behind), then stored in the database.
 *
 * The ledger does not import stores: CheckpointStore is the slice of AuditStore it needs.
 */
import { randomBytes } from "node:crypto";
import { AitrailError } from "../errors.js";
import { signCheckpoint } from "./checkpoint.js";
import type { KeyDirectory } from "./keys.js";
import type { NoteSigner } from "./note.js";
import { rootAt, type TreeReader } from "./tree.js";
import { appendWitness } from "./witness.js";

export interface CheckpointRecord {
  treeSize: number;
  rootHash: Uint8Array;
  /** The signed note, exactly as signed. */
  note: string;
  createdAt: string;
}

/** What checkpointing needs from a store; AuditStore satisfies it. */
export interface CheckpointStore extends TreeReader {
  head(): Promise<{ size: number }>;
  putCheckpoint(checkpoint: CheckpointRecord): Promise<void>;
  latestCheckpoint(): Promise<CheckpointRecord | null>;
  getMeta(key: string): Promise<string | null>;
  updateMeta(key: string, update: (current: string | null) => string): Promise<string>;
}

/** Anything that announces committed batches (the Recorder). */
export interface CommitSource {
  onCommit(listener: (events: readonly unknown[]) => void | Promise<void>): () => void;
}

export const ORIGIN_META_KEY = "ledger.origin";

/**
 * The ledger's origin line (and default key name): stored in the store's meta, created on
 * first use as `aitrail.local/<16 hex digits>`.
 */
export async function ledgerOrigin(store: Pick<CheckpointStore, "getMeta" | "updateMeta">): Promise<string> {
  const existing = await store.getMeta(ORIGIN_META_KEY);
  if (existing) return existing;
  // As one step: two processes opening a new ledger at once end up with the same origin.
  return store.updateMeta(ORIGIN_META_KEY, (current) => current || `aitrail.local/${randomBytes(8).toString("hex")}`);
}

export interface CheckpointerOptions {
  store: CheckpointStore;
  /** The key directory (the key is created on first use) or a signer. */
  keys: KeyDirectory | NoteSigner;
  /** Witness file to append every checkpoint to; null for none. */
  witnessFile: string | null;
  /** Issue a checkpoint after this many committed events (0: never). Default 10,000. */
  everyEvents?: number;
  /** Issue a checkpoint this often while the tree grows (0: never). Default 60. */
  everySeconds?: number;
  clock?: () => Date;
  /** Told about a failed background checkpoint. */
  onError?: (err: unknown) => void;
}

export interface CheckpointerStats {
  issued: number;
  latestTreeSize: number | null;
  lastError: string | null;
}

export class Checkpointer {
  readonly #store: CheckpointStore;
  readonly #keys: KeyDirectory | NoteSigner;
  readonly #witnessFile: string | null;
  readonly #everyEvents: number;
  readonly #everySeconds: number;
  readonly #clock: () => Date;
  readonly #onError: ((err: unknown) => void) | undefined;
  #chain: Promise<unknown> = Promise.resolve();
  #pendingEvents = 0;
  #timer: NodeJS.Timeout | null = null;
  #detach: (() => void) | null = null;
  #stats: CheckpointerStats = { issued: 0, latestTreeSize: null, lastError: null };

  constructor(options: CheckpointerOptions) {
    this.#store = options.store;
    this.#keys = options.keys;
    this.#witnessFile = options.witnessFile;
    this.#everyEvents = options.everyEvents ?? 10_000;
    this.#everySeconds = options.everySeconds ?? 60;
    this.#clock = options.clock ?? (() => new Date());
    this.#onError = options.onError;
    for (const [name, v] of [
      ["everyEvents", this.#everyEvents],
      ["everySeconds", this.#everySeconds],
    ] as const) {
      if (!Number.isFinite(v) || v < 0) throw new AitrailError("INVALID_CONFIG", `checkpoint ${name} must be a number >= 0, got ${String(v)}`);
    }
  }

  /** The latest checkpoint, making a new one first if the tree grew since it. */
  checkpoint(): Promise<CheckpointRecord> {
    const run = this.#chain.then(() => this.#issue());
    this.#chain = run.catch(() => undefined);
    return run;
  }

  /** Checkpoints every N events committed by `source`, and every T seconds. */
  attach(source: CommitSource): () => void {
    this.#detach?.();
    const off = source.onCommit((events) => {
      this.#pendingEvents += events.length;
      if (this.#everyEvents > 0 && this.#pendingEvents >= this.#everyEvents) {
        this.#pendingEvents = 0;
        this.#background();
      }
    });
    if (this.#everySeconds > 0) {
      this.#timer = setInterval(() => this.#background(), this.#everySeconds * 1000);
      this.#timer.unref();
    }
    this.#detach = () => {
      off();
      if (this.#timer) clearInterval(this.#timer);
      this.#timer = null;
      this.#detach = null;
    };
    return this.#detach;
  }

  /** Resolves once no checkpoint is in progress. */
  async settled(): Promise<void> {
    for (let seen = this.#chain; ; seen = this.#chain) {
      await seen;
      if (seen === this.#chain) return;
    }
  }

  stats(): CheckpointerStats {
    return { ...this.#stats };
  }

  /** Stops the schedule and waits for a checkpoint in progress. */
  async close(): Promise<void> {
    this.#detach?.();
    await this.#chain;
  }

  #background(): void {
    this.checkpoint().catch((err: unknown) => {
      this.#stats.lastError = err instanceof Error ? err.message : String(err);
      this.#onError?.(err);
    });
  }

  async #signer(origin: string): Promise<NoteSigner> {
    return "sign" in this.#keys ? this.#keys : this.#keys.signer(origin);
  }

  async #issue(): Promise<CheckpointRecord> {
    const [head, latest] = await Promise.all([this.#store.head(), this.#store.latestCheckpoint()]);
    if (latest && latest.treeSize > head.size) {
      throw new AitrailError(
        "INTEGRITY_VIOLATION",
        `the ledger has ${head.size} entries but a signed checkpoint covers ${latest.treeSize}: entries were removed; run aitrail verify`,
        { details: { size: head.size, checkpointSize: latest.treeSize } },
      );
    }
    if (latest && latest.treeSize === head.size) return latest;
    const origin = await ledgerOrigin(this.#store);
    const signer = await this.#signer(origin);
    const rootHash = await rootAt(this.#store, head.size);
    const note = signCheckpoint({ origin, treeSize: head.size, rootHash }, signer);
    const record: CheckpointRecord = { treeSize: head.size, rootHash, note, createdAt: this.#clock().toISOString() };
    if (this.#witnessFile) await appendWitness(this.#witnessFile, { treeSize: record.treeSize, at: record.createdAt, note });
    await this.#store.putCheckpoint(record);
    this.#stats.issued += 1;
    this.#stats.latestTreeSize = record.treeSize;
    this.#stats.lastError = null;
    return record;
  }
}
