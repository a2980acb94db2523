/**
 * A read-only reader for `aitrail verify` over a SQLite file: the ledger in seq order, each
 * row as the few values the integrity check needs. The text columns come as one JSON array
 * built by SQLite (one string per row instead of seventeen), the number columns as they are
 * stored. Used by the verify workers (src/store/verify-worker.ts), each on its own connection.
 */
import Database from "better-sqlite3";
import { NUMBER_COLUMNS, TEXT_COLUMNS, type VerifyRow } from "../verify-row.js";

export interface VerifyRowReader {
  /** Rows with fromSeq <= seq < toSeq, in seq order. */
  rows(fromSeq: number, toSeq: number): IterableIterator<VerifyRow>;
  /** The stored chain hash of entry seq, or null when there is no such row. */
  chainOf(seq: number): Uint8Array | null;
  close(): void;
}

type Raw = [number, string, Buffer, Buffer, string, ...unknown[]];

export function openVerifyRows(file: string): VerifyRowReader {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  db.pragma("busy_timeout = 10000");
  const select = db
    .prepare(
      `SELECT seq, record, leaf_hash, chain_hash, json_array(${TEXT_COLUMNS.join(", ")}), ${NUMBER_COLUMNS.join(", ")}
       FROM audit_logs WHERE seq >= ? AND seq < ? ORDER BY seq`,
    )
    .raw(true);
  const chain = db.prepare("SELECT chain_hash FROM audit_logs WHERE seq = ?").pluck(true);
  return {
    *rows(fromSeq: number, toSeq: number): IterableIterator<VerifyRow> {
      for (const r of select.iterate(fromSeq, toSeq) as IterableIterator<Raw>) {
        yield { seq: r[0], record: r[1], leafHash: r[2], chainHash: r[3], texts: r[4], numbers: r.slice(5) };
      }
    },
    chainOf(seq: number): Uint8Array | null {
      const h = chain.get(seq) as Buffer | undefined;
      return h ?? null;
    },
    close: () => db.close(),
  };
}
