/**
 * Subject keys in PostgreSQL (table `<schema>.subject_keys`, created by the PostgreSQL
 * store's migration 2). The driver is reached by shape:
 * anything with `query(text, values)` (a pg Pool or Client) will do.
 *
 * After a delete the table is rewritten with VACUUM FULL, so the deleted row's bytes leave
 * the table's data file. PostgreSQL keeps row images in its WAL (and in WAL archives and
 * replicas) beyond that; see docs/privacy.md for what erasure cannot reach.
 */
import { AitrailError, errorMessage } from "../../errors.js";
import type { SubjectKeyEntry, SubjectKeyStore, SubjectKind, WrappedSubjectKey } from "./store.js";

export interface PgQueryable {
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[]; rowCount: number | null }>;
}

const SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/;

export interface PostgresSubjectKeyStoreOptions {
  /** Rewrite the table after each delete (default true). */
  vacuumAfterDelete?: boolean;
}

export class PostgresSubjectKeyStore implements SubjectKeyStore {
  readonly #db: PgQueryable;
  readonly #t: string;
  readonly #vacuum: boolean;

  constructor(db: PgQueryable, schema: string, options: PostgresSubjectKeyStoreOptions = {}) {
    if (!SCHEMA.test(schema)) throw new AitrailError("INVALID_ARGUMENT", `PostgreSQL schema "${schema}" must be lower-case letters, digits and _`);
    this.#db = db;
    this.#t = `"${schema}".subject_keys`;
    this.#vacuum = options.vacuumAfterDelete ?? true;
  }

  async get(subjectRef: string): Promise<WrappedSubjectKey | null> {
    const r = await this.#q(`SELECT * FROM ${this.#t} WHERE subject_ref = $1`, [subjectRef]);
    return r.rows[0] ? toWrapped(r.rows[0]) : null;
  }

  async getByKeyId(keyId: string): Promise<SubjectKeyEntry | null> {
    const r = await this.#q(`SELECT * FROM ${this.#t} WHERE key_id = $1`, [keyId]);
    const row = r.rows[0];
    return row ? { subjectRef: row.subject_ref as string, wrapped: toWrapped(row) } : null;
  }

  async putIfAbsent(subjectRef: string, w: WrappedSubjectKey): Promise<WrappedSubjectKey> {
    await this.#q(
      `INSERT INTO ${this.#t} (subject_ref, key_id, kind, master_key_id, wrapped, created_at)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (subject_ref) DO NOTHING`,
      [subjectRef, w.keyId, w.kind, w.masterKeyId, w.wrapped, w.createdAt],
    );
    const stored = await this.get(subjectRef);
    if (!stored) throw new AitrailError("STORE_ERROR", "subject key vanished right after it was written");
    return stored;
  }

  async replace(subjectRef: string, w: WrappedSubjectKey): Promise<boolean> {
    const r = await this.#q(`UPDATE ${this.#t} SET master_key_id = $1, wrapped = $2 WHERE subject_ref = $3 AND key_id = $4`, [
      w.masterKeyId,
      w.wrapped,
      subjectRef,
      w.keyId,
    ]);
    return r.rowCount === 1;
  }

  async delete(subjectRef: string): Promise<boolean> {
    const r = await this.#q(`DELETE FROM ${this.#t} WHERE subject_ref = $1`, [subjectRef]);
    if (r.rowCount && this.#vacuum) await this.#q(`VACUUM FULL ${this.#t}`);
    return (r.rowCount ?? 0) > 0;
  }

  async list(): Promise<SubjectKeyEntry[]> {
    const r = await this.#q(`SELECT * FROM ${this.#t} ORDER BY created_at, subject_ref`);
    return r.rows.map((row) => ({ subjectRef: row.subject_ref as string, wrapped: toWrapped(row) }));
  }

  async #q(text: string, values?: unknown[]) {
    try {
      return await this.#db.query(text, values);
    } catch (err) {
      throw new AitrailError("STORE_ERROR", `subject keys: ${errorMessage(err)}`, { cause: err });
    }
  }
}

function toWrapped(row: Record<string, unknown>): WrappedSubjectKey {
  return {
    keyId: row.key_id as string,
    kind: row.kind as SubjectKind,
    masterKeyId: row.master_key_id as string,
    wrapped: row.wrapped as string,
    createdAt: row.created_at as string,
  };
}
