/**
 * Values between JavaScript and PostgreSQL, so that a row read back equals what columnsOf
 * produced: BIGINT and NUMERIC come back as numbers (pg returns strings), TIMESTAMPTZ as the
 * ISO 8601 text the event carries, JSONB as canonical JSON, bytea as Uint8Array.
 *
 * PostgreSQL TEXT cannot hold U+0000. Free text (an error message) may; such a value is
 * stored escaped (a marker that no identifier can start with, then its JSON form) and
 * decoded on read, so the round trip is exact.
 */
import pg from "pg";
import { canonicalize } from "../../event/canonical.js";
import { COLUMN_NAMES } from "../columns.js";
import type { IndexedColumns, StoredCheckpoint, StoredEntry } from "../types.js";

const OID = { INT8: 20, NUMERIC: 1700, TIMESTAMPTZ: 1184 } as const;

/** "2025-01-15 14:32:11.234+00" (session time zone UTC) -> "2025-01-15T14:32:11.234Z". */
export function pgTimestampToIso(text: string): string {
  const m = /^(\d{4,})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d+))?\+00$/.exec(text);
  if (m) {
    // Keep every fractional digit: a sub-millisecond edit must not read back as the original.
    const frac = (m[7] ?? "").padEnd(3, "0");
    return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${frac}Z`;
  }
  const d = new Date(text.replace(" ", "T").replace(/([+-]\d\d)$/, "$1:00"));
  return Number.isNaN(d.getTime()) ? text : d.toISOString();
}

const toNumber = (text: string): number => Number(text);

/** Type parsers for the store's pool: numbers as numbers, timestamps as ISO text. */
export const PG_TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) => {
    if (format === undefined || format === "text") {
      if (oid === OID.INT8 || oid === OID.NUMERIC) return toNumber;
      if (oid === OID.TIMESTAMPTZ) return pgTimestampToIso;
    }
    return pg.types.getTypeParser(oid, format as "text") as (text: string) => unknown;
  }) as pg.CustomTypesConfig["getTypeParser"],
};

const ESCAPE = "\u0001aitrail:";

export function encodeText(value: string | null): string | null {
  if (value === null) return null;
  return value.includes("\u0000") || value.startsWith(ESCAPE) ? ESCAPE + JSON.stringify(value) : value;
}

export function decodeText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  const s = typeof value === "string" ? value : JSON.stringify(value);
  if (!s.startsWith(ESCAPE)) return s;
  try {
    const decoded: unknown = JSON.parse(s.slice(ESCAPE.length));
    return typeof decoded === "string" ? decoded : s;
  } catch {
    return s;
  }
}

/** JSONB comes back parsed, with its own key order and spacing: canonicalize it again. */
function jsonColumn(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return canonicalize(value);
}

const JSON_COLUMNS = new Set<keyof IndexedColumns>(["audit_context", "compliance_data"]);
const NUMBER_COLUMNS = new Set<keyof IndexedColumns>(["latency", "cost", "input_tokens", "output_tokens", "total_tokens"]);

export type Row = Record<string, unknown>;

export function columnsFromRow(r: Row): IndexedColumns {
  const out = {} as Record<string, unknown>;
  for (const name of COLUMN_NAMES) {
    const v = r[name];
    if (JSON_COLUMNS.has(name)) out[name] = jsonColumn(v);
    else if (NUMBER_COLUMNS.has(name)) out[name] = v === null || v === undefined ? null : Number(v);
    else out[name] = decodeText(v);
  }
  return out as unknown as IndexedColumns;
}

const bytes = (v: unknown): Uint8Array => {
  const b = v as Buffer;
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
};

export function entryFromRow(r: Row): StoredEntry {
  return {
    seq: Number(r.seq),
    eventId: String(r.event_id),
    canonical: String(r.record),
    leafHash: bytes(r.leaf_hash),
    chainHash: bytes(r.chain_hash),
    columns: columnsFromRow(r),
  };
}

export function checkpointFromRow(r: Row): StoredCheckpoint {
  return { treeSize: Number(r.tree_size), rootHash: bytes(r.root_hash), note: String(r.note), createdAt: String(r.created_at) };
}

export function toBuffer(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}
