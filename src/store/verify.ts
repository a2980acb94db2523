/**
 * Store integrity: walks the ledger in seq order and recomputes everything that can be
 * recomputed from the records alone: contiguous seq, leaf hash of the canonical record,
 * the chain, and every indexed column. Stops at the first bad entry and says what is wrong:
 *
 *   missing    a seq is absent (deleted row)
 *   modified   a record, a hash or a column no longer matches
 *   inserted   an extra entry sits in the chain (the next one links to the one before it)
 *   reordered  entries are out of place (their links belong elsewhere)
 *
 * Merkle roots and signed checkpoints are checked by the ledger on top of this walk, through
 * `onLeaf` (or `onEntry`), so the store is read once.
 *
 * After a retention purge the walk starts at the store's anchor (the first seq kept and the
 * chain hash of the last archived entry). The anchor is only trusted when a
 * `retention.purged` event in the remaining ledger names it; otherwise the cut is reported
 * as missing entries.
 *
 * A large SQLite ledger is checked on several cores (verify-parallel.ts); the result is the
 * same as the sequential walk's (verify-walk.ts), which names any problem.
 */
import { toHex } from "../ledger/hash.js";
import { readAnchor } from "./anchor.js";
import type { AuditStore } from "./types.js";
import { verifyParallel } from "./verify-parallel.js";
import { walk, type StoreVerifyResult, type WalkCallbacks } from "./verify-walk.js";
import type { VerifySource } from "./verify-worker.js";

export type { Problem, StoreVerifyResult } from "./verify-walk.js";

/** Ledgers at least this long are checked on several cores by default. */
export const PARALLEL_MIN_ENTRIES = 50_000;

export interface StoreVerifyOptions extends WalkCallbacks {
  /**
   * Check on several cores: "auto" (default) does for a SQLite file of at least
   * PARALLEL_MIN_ENTRIES entries; `{ source }` names how workers open another store (a
   * store URL). `onEntry` needs every entry on this thread, so it keeps the walk sequential;
   * use `onLeaf` for the Merkle tree.
   */
  parallel?: boolean | "auto" | { source?: VerifySource; workers?: number; rangeSize?: number };
}

function sqliteSource(store: AuditStore): VerifySource | null {
  if (store.kind !== "sqlite" || !store.location.startsWith("sqlite:") || store.location === "sqlite::memory:") return null;
  return { kind: "sqlite", path: store.location.slice("sqlite:".length) };
}

async function parallelPlan(store: AuditStore, options: StoreVerifyOptions): Promise<{ source: VerifySource; workers?: number; rangeSize?: number } | null> {
  const p = options.parallel ?? "auto";
  if (p === false || options.onEntry) return null;
  if (typeof p === "object") {
    const source = p.source ?? sqliteSource(store);
    if (!source) return null;
    return { source, ...(p.workers === undefined ? {} : { workers: p.workers }), ...(p.rangeSize === undefined ? {} : { rangeSize: p.rangeSize }) };
  }
  const source = sqliteSource(store);
  if (!source) return null;
  if (p === "auto") {
    const [head, anchor] = await Promise.all([store.head(), readAnchor(store)]);
    if (head.size - anchor.seq < PARALLEL_MIN_ENTRIES) return null;
  }
  return { source };
}

export async function verifyStore(store: AuditStore, options: StoreVerifyOptions = {}): Promise<StoreVerifyResult> {
  const callbacks: WalkCallbacks = {
    ...(options.onEntry ? { onEntry: options.onEntry } : {}),
    ...(options.onLeaf ? { onLeaf: options.onLeaf } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  };
  const plan = await parallelPlan(store, options);
  if (plan) return verifyParallel(store, plan, callbacks);
  const anchor = await readAnchor(store);
  return walk(store, { fromSeq: anchor.seq, anchorHex: toHex(anchor.chainHash), seq: anchor.seq, previous: anchor.chainHash, attested: anchor.seq === 0 }, callbacks);
}
