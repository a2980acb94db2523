/**
 * The quick integrity check of one ledger entry, used by the parallel verify. It answers only
 * "intact or not": an entry it doubts is handed to the sequential walk (verify.ts), which
 * names the problem exactly. So it may doubt too much, never too little.
 *
 * An entry is intact when its record hashes to its leaf hash, its chain hash links it to the
 * stored chain hash before it, and every indexed column equals the value derived from the
 * record (columnsOf). Text columns are compared as one JSON array: two JSON texts are equal
 * only when the strings they encode are equal, so this is the same test as comparing each.
 */
import { chainHash, equalBytes, leafHash } from "../ledger/hash.js";
import type { AuditEvent } from "../event/schema.js";
import { COLUMN_NAMES, columnsOf } from "./columns.js";
import type { IndexedColumns, StoredEntry } from "./types.js";

export const NUMBER_COLUMNS = ["latency", "cost", "input_tokens", "output_tokens", "total_tokens"] as const satisfies readonly (keyof IndexedColumns)[];
export const TEXT_COLUMNS = COLUMN_NAMES.filter((n) => !(NUMBER_COLUMNS as readonly string[]).includes(n));

export interface VerifyRow {
  seq: number;
  record: string;
  leafHash: Uint8Array;
  chainHash: Uint8Array;
  /** JSON array of the TEXT_COLUMNS values, as stored. */
  texts: string;
  /** NUMBER_COLUMNS values, as stored. */
  numbers: unknown[];
}

/** The same values from an entry read through the AuditStore interface (any backend). */
export function rowOf(entry: StoredEntry): VerifyRow {
  const c = entry.columns;
  return {
    seq: entry.seq,
    record: entry.canonical,
    leafHash: entry.leafHash,
    chainHash: entry.chainHash,
    texts: JSON.stringify(TEXT_COLUMNS.map((n) => c[n])),
    numbers: NUMBER_COLUMNS.map((n) => c[n]),
  };
}

/** True when the entry is intact and links to `previous`; the parsed record's type, for the caller. */
export function intact(row: VerifyRow, previous: Uint8Array): { ok: true; type: unknown } | { ok: false } {
  if (!equalBytes(leafHash(row.record), row.leafHash)) return { ok: false };
  if (!equalBytes(chainHash(previous, row.leafHash), row.chainHash)) return { ok: false };
  let derived: IndexedColumns;
  let type: unknown;
  try {
    const event = JSON.parse(row.record) as AuditEvent;
    type = event.type;
    derived = columnsOf(event);
  } catch {
    return { ok: false };
  }
  for (let i = 0; i < NUMBER_COLUMNS.length; i++) {
    if (row.numbers[i] !== derived[NUMBER_COLUMNS[i]!]) return { ok: false };
  }
  const texts = new Array<unknown>(TEXT_COLUMNS.length);
  for (let i = 0; i < TEXT_COLUMNS.length; i++) texts[i] = derived[TEXT_COLUMNS[i]!];
  if (JSON.stringify(texts) !== row.texts) return { ok: false };
  return { ok: true, type };
}
