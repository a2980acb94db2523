/**
 * The integrity walk on several cores. The ledger is cut into ranges; worker threads, each
 * with its own connection, check ranges (leaf hash, chain link to the stored hash before,
 * columns) and send back their leaf hashes. Links across ranges are covered too: a range's
 * first entry is checked against the stored chain hash of the entry before it, which the
 * previous range proves. Leaves reach the caller's onLeaf in seq order (the Merkle tree).
 *
 * The workers only say "intact" or "doubt". At the first range with a doubt, everything
 * before it being proven, the sequential walk takes over from the start of that range and
 * names the first bad seq and the problem exactly as a walk from the start would.
 */
import os from "node:os";
import type { Worker } from "node:worker_threads";
import { toHex } from "../ledger/hash.js";
import { readAnchor } from "./anchor.js";
import { spawnWorker } from "./spawn-worker.js";
import type { AuditStore } from "./types.js";
import { attests, walk, type StoreVerifyResult, type WalkCallbacks } from "./verify-walk.js";
import type { RangeReply, RangeRequest, VerifySource } from "./verify-worker.js";

export interface ParallelOptions {
  /** How the workers open the store: a SQLite file path is read directly; otherwise a store URL. */
  source: VerifySource;
  /** Worker threads (default: the cores there are, at most 4). */
  workers?: number;
  /** Entries per range. */
  rangeSize?: number;
}

export async function verifyParallel(store: AuditStore, options: ParallelOptions, callbacks: WalkCallbacks = {}): Promise<StoreVerifyResult> {
  const anchor = await readAnchor(store);
  const fromSeq = anchor.seq;
  const anchorHex = toHex(anchor.chainHash);
  const end = (await store.head()).size;
  const rangeSize = options.rangeSize ?? 16_384;
  const ranges: { from: number; to: number }[] = [];
  for (let from = fromSeq; from < end; from += rangeSize) ranges.push({ from, to: Math.min(end, from + rangeSize) });

  const count = Math.max(1, Math.min(options.workers ?? Math.min(4, os.availableParallelism()), ranges.length));
  const workers: Worker[] = [];
  const replies = new Map<number, RangeReply>();
  let wake: (() => void) | null = null;
  let failure: unknown = null;
  let nextRange = 0;
  // Ranges sent but not yet consumed in order: bounded, so leaves never pile up in memory.
  const ahead = count * 3;
  let consumed = 0;

  const send = (w: Worker) => {
    if (nextRange >= ranges.length || nextRange - consumed >= ahead) return false;
    const id = nextRange++;
    const r = ranges[id]!;
    const req: RangeRequest = { id, from: r.from, to: r.to, previous: r.from === fromSeq ? anchor.chainHash : null };
    w.postMessage(req);
    return true;
  };
  const idle: Worker[] = [];

  let attested = fromSeq === 0;
  let previous = anchor.chainHash;
  let done = 0;
  try {
    for (let i = 0; i < count; i++) {
      const w = spawnWorker(import.meta.url, "verify-worker", { workerData: options.source });
      w.on("message", (reply: RangeReply) => {
        replies.set(reply.id, reply);
        if (!send(w)) idle.push(w);
        wake?.();
      });
      w.on("error", (err) => {
        failure ??= err;
        wake?.();
      });
      w.on("exit", (code) => {
        failure ??= new Error(`a verify worker stopped (exit code ${code})`);
        wake?.();
      });
      workers.push(w);
      if (!send(w)) idle.push(w);
    }

    for (let i = 0; i < ranges.length; i++) {
      while (!replies.has(i) && !failure) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
      }
      if (!replies.has(i)) {
        // A worker could not run (it failed to start, or died): the plain walk does the rest.
        return await walk(store, { fromSeq, anchorHex, seq: ranges[i]!.from, previous, attested }, callbacks);
      }
      const reply = replies.get(i)!;
      replies.delete(i);
      consumed = i + 1;
      while (idle.length > 0 && send(idle[0]!)) idle.shift();
      const range = ranges[i]!;
      if (callbacks.onLeaf) {
        for (let k = 0; k < reply.count; k++) callbacks.onLeaf(reply.leaves.subarray(k * 32, k * 32 + 32), range.from + k);
      }
      for (const p of reply.purged) if (!attested && attests(p.record, fromSeq, anchorHex)) attested = true;
      if (reply.doubt !== null) {
        // Everything before this range is proven: the exact walk names what is wrong, from
        // the range's first entry (leaves it already handed over are not handed again).
        const handed = reply.count;
        const onLeaf = callbacks.onLeaf;
        return await walk(
          store,
          { fromSeq, anchorHex, seq: range.from, previous, attested },
          {
            ...(callbacks.onProgress ? { onProgress: callbacks.onProgress } : {}),
            ...(onLeaf
              ? {
                  onLeaf: (h: Uint8Array, seq: number) => {
                    if (seq - range.from >= handed) onLeaf(h, seq);
                  },
                }
              : {}),
          },
        );
      }
      previous = reply.lastChain ?? previous;
      const before = done;
      done += reply.count;
      if (callbacks.onProgress && Math.floor(done / 10_000) > Math.floor(before / 10_000)) callbacks.onProgress(done);
    }
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  // Entries appended while the check ran are not part of this verify; the walk below finds
  // nothing past `end` unless the ledger grew, and then checks the new ones the plain way.
  return walk(store, { fromSeq, anchorHex, seq: end, previous, attested }, callbacks);
}
