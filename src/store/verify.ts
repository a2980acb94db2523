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
 * `onEntry`, so the store is read once.
 *
 * After a retention purge the walk starts at the store's anchor (the first seq kept and the
 * chain hash of the last archived entry). The anchor is only trusted when a
 * `retention.purged` event in the remaining ledger names it; otherwise the cut is reported
 * as missing entries.
 */
import { chainHash, equalBytes, leafHash, toHex } from "../ledger/hash.js";
import { readAnchor } from "./anchor.js";
import type { AuditEvent } from "../event/schema.js";
import { columnMismatches, columnsOf } from "./columns.js";
import type { AuditStore, StoredEntry } from "./types.js";

export type Problem = "missing" | "modified" | "inserted" | "reordered";

export interface StoreVerifyResult {
  ok: boolean;
  /** Entries walked (from `fromSeq`). */
  events: number;
  /** Where the walk started: 0, or the anchor left by a retention purge. */
  fromSeq: number;
  firstBadSeq: number | null;
  problem: Problem | null;
  detail: string | null;
  /** Chain hash of the last entry walked. */
  headChainHash: Uint8Array;
}

export interface StoreVerifyOptions {
  onEntry?: (entry: StoredEntry) => void;
  onProgress?: (done: number) => void;
}

function recordProblem(entry: StoredEntry): string | null {
  if (!equalBytes(leafHash(entry.canonical), entry.leafHash)) return "record does not match its leaf hash";
  let event: AuditEvent;
  try {
    event = JSON.parse(entry.canonical) as AuditEvent;
  } catch {
    return "record is not valid JSON";
  }
  if (event.eventId !== entry.eventId) return "event_id column does not match the record";
  const bad = columnMismatches(entry.columns, columnsOf(event));
  if (bad.length) return `column(s) ${bad.join(", ")} do not match the record`;
  return null;
}

/** True when the entry is a retention.purged event naming this anchor. */
function attests(entry: StoredEntry, seq: number, chainHex: string): boolean {
  if (entry.columns.type !== "retention.purged") return false;
  const details = (JSON.parse(entry.canonical) as AuditEvent).details as { anchor?: { seq?: unknown; chainHash?: unknown } } | undefined;
  return details?.anchor?.seq === seq && details.anchor.chainHash === chainHex;
}

export async function verifyStore(store: AuditStore, options: StoreVerifyOptions = {}): Promise<StoreVerifyResult> {
  const anchor = await readAnchor(store);
  const fromSeq = anchor.seq;
  const anchorHex = toHex(anchor.chainHash);
  let attested = fromSeq === 0;
  let expected = fromSeq;
  let prevChain = anchor.chainHash;
  let lookahead: StoredEntry[] = [];
  const fail = (seq: number, problem: Problem, detail: string): StoreVerifyResult => ({
    ok: false,
    events: expected - fromSeq,
    fromSeq,
    firstBadSeq: seq,
    problem,
    detail,
    headChainHash: prevChain,
  });

  const iterator = store.scan({ fromSeq })[Symbol.asyncIterator]();
  const next = async (): Promise<StoredEntry | undefined> => {
    if (lookahead.length) return lookahead.shift();
    const r = await iterator.next();
    return r.done ? undefined : r.value;
  };
  const peek = async (n: number): Promise<StoredEntry[]> => {
    while (lookahead.length < n) {
      const r = await iterator.next();
      if (r.done) break;
      lookahead.push(r.value);
    }
    return lookahead.slice(0, n);
  };

  for (let entry = await next(); entry; entry = await next()) {
    if (entry.seq > expected) return fail(expected, "missing", `entries ${expected}..${entry.seq - 1} are missing`);
    if (entry.seq < expected) return fail(entry.seq, "inserted", `seq ${entry.seq} appears twice`);
    const bad = recordProblem(entry);
    if (bad) return fail(entry.seq, "modified", bad);
    if (!equalBytes(chainHash(prevChain, entry.leafHash), entry.chainHash)) {
      const [after, afterNext] = await peek(2);
      if (after && equalBytes(chainHash(prevChain, after.leafHash), after.chainHash)) {
        const confirmed = !afterNext || equalBytes(chainHash(after.chainHash, afterNext.leafHash), afterNext.chainHash);
        if (confirmed) return fail(entry.seq, "inserted", "this entry is not part of the chain: the next one links to the entry before it");
        return fail(entry.seq, "reordered", "this entry and the next one are swapped");
      }
      if (after && equalBytes(chainHash(entry.chainHash, after.leafHash), after.chainHash)) {
        return fail(entry.seq, "modified", "entry does not link to the previous one (rewritten or replaced)");
      }
      return fail(entry.seq, "reordered", "entry's chain link belongs to another position");
    }
    if (!attested && attests(entry, fromSeq, anchorHex)) attested = true;
    options.onEntry?.(entry);
    prevChain = entry.chainHash;
    expected += 1;
    if (options.onProgress && (expected - fromSeq) % 10_000 === 0) options.onProgress(expected - fromSeq);
  }
  lookahead = [];
  if (!attested) {
    return {
      ok: false,
      events: expected - fromSeq,
      fromSeq,
      firstBadSeq: 0,
      problem: "missing",
      detail: `entries 0..${fromSeq - 1} are gone and no retention.purged event in the ledger names the anchor at seq ${fromSeq}`,
      headChainHash: prevChain,
    };
  }
  return { ok: true, events: expected - fromSeq, fromSeq, firstBadSeq: null, problem: null, detail: null, headChainHash: prevChain };
}
