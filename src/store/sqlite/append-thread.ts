/**
 * Appends on a worker thread. A SQLite commit runs on the thread that calls it: the insert of
 * a batch, the WAL write and the fsync would otherwise hold the application's event loop for
 * milliseconds per batch. Here a worker owns a second connection to the same file and does
 * the append transaction (head read, sealing, inserts, commit); the caller's thread only
 * prepares entries and awaits the reply. So the two halves of ingest (preparing events, and
 * writing them) run on two cores, and an AI call waiting on the event loop is not stalled by
 * somebody else's fsync.
 *
 * The worker's connection is one more writer on the file, exactly as a second process would
 * be: BEGIN IMMEDIATE and the re-read of the head inside the transaction keep one chain.
 * The thread starts on the first append and is unref'd while idle, so an open store never
 * keeps a process alive by itself.
 */
import type { Worker } from "node:worker_threads";
import { AitrailError, isErrorCode } from "../../errors.js";
import { entryFromRecord, storedEntry } from "../entry.js";
import type { PreparedEntry, StoredEntry } from "../types.js";
import { spawnWorker } from "../spawn-worker.js";
import type { SqliteMigration } from "./migrations.js";

export interface AppendThreadOptions {
  path: string;
  migrations: readonly SqliteMigration[];
  busyTimeoutMs: number | undefined;
  location: string;
}

/**
 * One batch: the records and their leaf hashes. The worker derives each entry's columns from
 * its record (store/entry.ts), so the caller's thread neither builds nor copies them.
 */
export interface AppendRequest {
  type: "append";
  id: number;
  eventIds: string[];
  canonicals: string[];
  /** 32 bytes per entry: its leaf hash. */
  leaves: Uint8Array;
}

export interface AppendReply {
  id: number;
  /** The stored seq of each entry. */
  seqs?: number[];
  /** 32 bytes per entry: its chain hash. */
  chains?: Uint8Array;
  /** Entries the store already held under their eventId (a redelivery): the stored entry. */
  known?: [number, StoredEntry][];
  error?: { code: string; message: string; details?: Record<string, unknown> };
}

interface Waiter {
  entries: readonly PreparedEntry[];
  resolve: (stored: StoredEntry[]) => void;
  reject: (err: unknown) => void;
}

export function encodeBatch(id: number, entries: readonly PreparedEntry[]): AppendRequest {
  const eventIds = new Array<string>(entries.length);
  const canonicals = new Array<string>(entries.length);
  const leaves = new Uint8Array(entries.length * 32);
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    eventIds[i] = e.eventId;
    canonicals[i] = e.canonical;
    leaves.set(e.leafHash, i * 32);
  }
  return { type: "append", id, eventIds, canonicals, leaves };
}

export function decodeBatch(req: AppendRequest): PreparedEntry[] {
  const out = new Array<PreparedEntry>(req.canonicals.length);
  for (let i = 0; i < out.length; i++) out[i] = entryFromRecord(req.eventIds[i]!, req.canonicals[i]!, req.leaves.subarray(i * 32, i * 32 + 32));
  return out;
}

export class AppendThread {
  readonly #options: AppendThreadOptions;
  #worker: Worker | undefined;
  #nextId = 1;
  readonly #waiting = new Map<number, Waiter>();
  #closing: Promise<void> | undefined;

  constructor(options: AppendThreadOptions) {
    this.#options = options;
  }

  append(entries: readonly PreparedEntry[]): Promise<StoredEntry[]> {
    if (this.#closing) return Promise.reject(new AitrailError("STORE_ERROR", `${this.#options.location}: store is closing`));
    const worker = this.#start();
    const id = this.#nextId++;
    return new Promise<StoredEntry[]>((resolve, reject) => {
      this.#waiting.set(id, { entries, resolve, reject });
      if (this.#waiting.size === 1) worker.ref();
      worker.postMessage(encodeBatch(id, entries));
    });
  }

  /** Waits for the appends in flight, then closes the worker's connection. */
  close(): Promise<void> {
    this.#closing ??= this.#stop();
    return this.#closing;
  }

  async #stop(): Promise<void> {
    const worker = this.#worker;
    if (!worker) return;
    // Each append in flight settles (its caller hears first), then the thread is told to close.
    const settled = [...this.#waiting.values()].map(
      (w) =>
        new Promise<void>((done) => {
          const { resolve, reject } = w;
          w.resolve = (stored) => {
            resolve(stored);
            done();
          };
          w.reject = (err) => {
            reject(err);
            done();
          };
        }),
    );
    await Promise.all(settled);
    const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
    worker.ref();
    worker.postMessage({ type: "close" });
    await exited;
    this.#worker = undefined;
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const { path, migrations, busyTimeoutMs } = this.#options;
    const worker = spawnWorker(import.meta.url, "append-worker", { workerData: { path, migrations, busyTimeoutMs } });
    worker.unref();
    worker.on("message", (reply: AppendReply) => this.#settle(reply));
    worker.on("error", (err) => this.#fail(worker, err));
    worker.on("exit", (code) => {
      if (this.#worker === worker) this.#fail(worker, new Error(`append thread exited with code ${code}`));
    });
    this.#worker = worker;
    return worker;
  }

  #settle(reply: AppendReply): void {
    const w = this.#waiting.get(reply.id);
    if (!w) return;
    this.#waiting.delete(reply.id);
    if (this.#waiting.size === 0) this.#worker?.unref();
    if (reply.error) {
      const code = isErrorCode(reply.error.code) ? reply.error.code : "STORE_ERROR";
      w.reject(new AitrailError(code, reply.error.message, reply.error.details ? { details: reply.error.details } : {}));
      return;
    }
    const seqs = reply.seqs!;
    const chains = reply.chains!;
    const stored = w.entries.map((e, i) => storedEntry(e, seqs[i]!, chains.subarray(i * 32, i * 32 + 32)));
    for (const [i, entry] of reply.known ?? []) stored[i] = entry;
    w.resolve(stored);
  }

  /** The thread died: every append in flight fails; the next append starts a new thread. */
  #fail(worker: Worker, err: unknown): void {
    if (this.#worker !== worker) return;
    this.#worker = undefined;
    const failure = new AitrailError("STORE_ERROR", `${this.#options.location}: append thread failed: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
    for (const w of this.#waiting.values()) w.reject(failure);
    this.#waiting.clear();
  }
}
