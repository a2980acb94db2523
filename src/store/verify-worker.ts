/**
 * A verify worker: checks ranges of the ledger on its own connection and sends back, per
 * range, the leaf hashes (for the Merkle tree, in order) and the first entry it doubts.
 */
import { parentPort, workerData } from "node:worker_threads";
import { errorMessage } from "../errors.js";
import { openStore } from "./open.js";
import { openVerifyRows, type VerifyRowReader } from "./sqlite/verify-rows.js";
import type { AuditStore } from "./types.js";
import { intact, rowOf, type VerifyRow } from "./verify-row.js";

export type VerifySource = { kind: "sqlite"; path: string } | { kind: "spec"; spec: string };

export interface RangeRequest {
  id: number;
  from: number;
  to: number;
  /** Chain hash before `from` when the caller knows it (the anchor); else it is read. */
  previous: Uint8Array | null;
}

export interface RangeReply {
  id: number;
  /** Entries found intact, from `from` on. */
  count: number;
  /** Their leaf hashes, 32 bytes each. */
  leaves: Uint8Array;
  /** Chain hash of the last intact entry. */
  lastChain: Uint8Array | null;
  /** First seq not intact (or missing) in the range; null when the whole range is intact. */
  doubt: number | null;
  /** retention.purged entries met (the caller checks what they attest). */
  purged: { seq: number; record: string }[];
  error?: string;
}

interface Reader {
  rows(from: number, to: number): AsyncIterable<VerifyRow> | Iterable<VerifyRow>;
  chainOf(seq: number): Promise<Uint8Array | null> | Uint8Array | null;
}

async function openReader(source: VerifySource): Promise<Reader> {
  if (source.kind === "sqlite") {
    const r: VerifyRowReader = openVerifyRows(source.path);
    return r;
  }
  const store: AuditStore = await openStore(source.spec, { mustExist: true });
  return {
    async *rows(from: number, to: number) {
      for await (const e of store.scan({ fromSeq: from, toSeq: to, batchSize: 5000 })) yield rowOf(e);
    },
    async chainOf(seq: number) {
      for await (const e of store.scan({ fromSeq: seq, toSeq: seq + 1 })) return e.chainHash;
      return null;
    },
  };
}

async function check(reader: Reader, req: RangeRequest): Promise<RangeReply> {
  const leaves = new Uint8Array((req.to - req.from) * 32);
  const purged: RangeReply["purged"] = [];
  let previous = req.previous ?? (await reader.chainOf(req.from - 1));
  let expected = req.from;
  // Returns false at the first entry that is out of place or not intact.
  const take = (row: VerifyRow): boolean => {
    if (row.seq !== expected) return false;
    const verdict = intact(row, previous!);
    if (!verdict.ok) return false;
    if (verdict.type === "retention.purged") purged.push({ seq: row.seq, record: row.record });
    leaves.set(row.leafHash, (expected - req.from) * 32);
    previous = row.chainHash;
    expected += 1;
    return true;
  };
  if (previous !== null) {
    const rows = reader.rows(req.from, req.to);
    if (Symbol.iterator in rows) {
      for (const row of rows) if (!take(row)) break;
    } else {
      for await (const row of rows) if (!take(row)) break;
    }
  }
  const count = expected - req.from;
  const doubt = expected < req.to ? expected : null;
  return { id: req.id, count, leaves, lastChain: count > 0 ? new Uint8Array(previous!) : null, doubt, purged };
}

const port = parentPort!;
const reader = openReader(workerData as VerifySource);
// One range at a time, in the order asked.
let last: Promise<unknown> = Promise.resolve();
port.on("message", (req: RangeRequest) => {
  last = last.then(async () => {
    let reply: RangeReply;
    try {
      reply = await check(await reader, req);
    } catch (err) {
      reply = { id: req.id, count: 0, leaves: new Uint8Array(0), lastChain: null, doubt: req.from, purged: [], error: errorMessage(err) };
    }
    port.postMessage(reply, [reply.leaves.buffer as ArrayBuffer]);
  });
});
