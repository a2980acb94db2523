/**
 * Subject keys in the SQLite store's file (table `subject_keys`, migration 2).
 *
 * Deletion is secure: the connection runs with `secure_delete` (deleted cells and freed
 * pages are overwritten with zeros), and after a delete the WAL is checkpointed and
 * truncated, so the old page images that held the row leave the `-wal` file as well.
 * The database driver is reached through the store's open connection, by shape only.
 */
import { AitrailError, errorMessage } from "../../errors.js";
import type { SubjectKeyEntry, SubjectKeyStore, SubjectKind, WrappedSubjectKey } from "./store.js";

interface Statement {
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
  run(...params: unknown[]): { changes: number };
}

/** The part of a better-sqlite3 connection this module uses. */
export interface SqliteConnection {
  prepare(sql: string): Statement;
  pragma(source: string, options?: { simple?: boolean }): unknown;
  readonly name: string;
  readonly memory: boolean;
}

interface Row {
  subject_ref: string;
  key_id: string;
  kind: string;
  master_key_id: string;
  wrapped: string;
  created_at: string;
}

export interface CheckpointResult {
  /** True when every WAL frame was copied into the database and the WAL truncated. */
  complete: boolean;
  /** WAL frames still present (another connection held a read snapshot). */
  remainingFrames: number;
}

export class SqliteSubjectKeyStore implements SubjectKeyStore {
  readonly #db: SqliteConnection;
  readonly #statements = new Map<string, Statement>();
  /** The outcome of the checkpoint after the last delete (null before any). */
  lastCheckpoint: CheckpointResult | null = null;

  constructor(db: SqliteConnection) {
    this.#db = db;
    const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'subject_keys'").get();
    if (!table) {
      throw new AitrailError("STORE_ERROR", "this database has no subject_keys table; open it with a store that runs the migrations");
    }
    db.pragma("secure_delete = ON");
  }

  get(subjectRef: string): Promise<WrappedSubjectKey | null> {
    return this.#guard(() => {
      const row = this.#sql("SELECT * FROM subject_keys WHERE subject_ref = ?").get(subjectRef) as Row | undefined;
      return row ? toWrapped(row) : null;
    });
  }

  getByKeyId(keyId: string): Promise<SubjectKeyEntry | null> {
    return this.#guard(() => {
      const row = this.#sql("SELECT * FROM subject_keys WHERE key_id = ?").get(keyId) as Row | undefined;
      return row ? { subjectRef: row.subject_ref, wrapped: toWrapped(row) } : null;
    });
  }

  putIfAbsent(subjectRef: string, w: WrappedSubjectKey): Promise<WrappedSubjectKey> {
    return this.#guard(() => {
      this.#sql(
          `INSERT INTO subject_keys (subject_ref, key_id, kind, master_key_id, wrapped, created_at)
           VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(subject_ref) DO NOTHING`,
        )
        .run(subjectRef, w.keyId, w.kind, w.masterKeyId, w.wrapped, w.createdAt);
      const row = this.#sql("SELECT * FROM subject_keys WHERE subject_ref = ?").get(subjectRef) as Row | undefined;
      if (!row) throw new AitrailError("STORE_ERROR", "subject key vanished right after it was written");
      return toWrapped(row);
    });
  }

  replace(subjectRef: string, w: WrappedSubjectKey): Promise<boolean> {
    return this.#guard(() => {
      const r = this.#sql("UPDATE subject_keys SET master_key_id = ?, wrapped = ? WHERE subject_ref = ? AND key_id = ?")
        .run(w.masterKeyId, w.wrapped, subjectRef, w.keyId);
      return r.changes === 1;
    });
  }

  /** Deletes the row (overwritten in place by secure_delete), then checkpoints and truncates the WAL. */
  delete(subjectRef: string): Promise<boolean> {
    return this.#guard(() => {
      const r = this.#sql("DELETE FROM subject_keys WHERE subject_ref = ?").run(subjectRef);
      if (r.changes > 0) this.lastCheckpoint = this.checkpoint();
      return r.changes > 0;
    });
  }

  /**
   * Copies every WAL frame into the database file and truncates the WAL. Incomplete while
   * another connection holds an old read snapshot; run it again once that reader is done.
   */
  checkpoint(): CheckpointResult {
    if (this.#db.memory) return { complete: true, remainingFrames: 0 };
    const rows = this.#db.pragma("wal_checkpoint(TRUNCATE)") as { busy: number; log: number; checkpointed: number }[];
    const r = rows[0];
    if (!r || r.log === -1) return { complete: true, remainingFrames: 0 }; // not in WAL mode
    return { complete: r.busy === 0 && r.log === r.checkpointed, remainingFrames: Math.max(0, r.log - r.checkpointed) };
  }

  list(): Promise<SubjectKeyEntry[]> {
    return this.#guard(() =>
      (this.#sql("SELECT * FROM subject_keys ORDER BY created_at, subject_ref").all() as Row[]).map((row) => ({
        subjectRef: row.subject_ref,
        wrapped: toWrapped(row),
      })),
    );
  }

  #sql(sql: string): Statement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #guard<T>(fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(
        AitrailError.isInstance(err) ? err : new AitrailError("STORE_ERROR", `subject keys: ${errorMessage(err)}`, { cause: err }),
      );
    }
  }
}

function toWrapped(row: Row): WrappedSubjectKey {
  return {
    keyId: row.key_id,
    kind: row.kind as SubjectKind,
    masterKeyId: row.master_key_id,
    wrapped: row.wrapped,
    createdAt: row.created_at,
  };
}
