/**
 * The sequential integrity walk (see verify.ts): from a known position in the chain to the
 * end, one entry at a time, naming the first bad seq and what is wrong with it.
 */
import { chainHash, equalBytes, leafHash } from "../ledger/hash.js";
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

export interface WalkCallbacks {
  onEntry?: (entry: StoredEntry) => void;
  onLeaf?: (leafHash: Uint8Array, seq: number) => void;
  onProgress?: (done: number) => void;
}

/** Where a walk starts: the anchor, or a point the parallel check has already proven. */
export interface WalkStart {
  /** First seq of the ledger (the anchor's). */
  fromSeq: number;
  /** The anchor's chain hash, hex (what a retention.purged event must name). */
  anchorHex: string;
  /** First seq this walk checks, and the chain hash before it. */
  seq: number;
  previous: Uint8Array;
  /** Whether a retention.purged event attesting the anchor was already seen. */
  attested: boolean;
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

/** True when the record is a retention.purged event naming this anchor. */
export function attests(record: string, seq: number, chainHex: string): boolean {
  const details = (JSON.parse(record) as AuditEvent).details as { anchor?: { seq?: unknown; chainHash?: unknown } } | undefined;
  return details?.anchor?.seq === seq && details.anchor.chainHash === chainHex;
}

export async function walk(store: AuditStore, start: WalkStart, callbacks: WalkCallbacks = {}): Promise<StoreVerifyResult> {
  const { fromSeq, anchorHex } = start;
  let attested = start.attested;
  let expected = start.seq;
  let prevChain = start.previous;
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

  const iterator = store.scan({ fromSeq: start.seq })[Symbol.asyncIterator]();
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

  try {
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
      if (!attested && entry.columns.type === "retention.purged" && attests(entry.canonical, fromSeq, anchorHex)) attested = true;
      callbacks.onEntry?.(entry);
      callbacks.onLeaf?.(entry.leafHash, entry.seq);
      prevChain = entry.chainHash;
      expected += 1;
      if (callbacks.onProgress && (expected - fromSeq) % 10_000 === 0) callbacks.onProgress(expected - fromSeq);
    }
  } finally {
    lookahead = [];
    await iterator.return?.();
  }
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
