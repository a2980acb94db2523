/**
 * Versioned schema migrations for the SQLite store. Append only: a released migration is
 * never edited. Each runs in its own transaction and bumps `schema_version` in aitrail_meta.
 */
export interface SqliteMigration {
  version: number;
  name: string;
  sql: string;
}

export const SQLITE_MIGRATIONS: SqliteMigration[] = [
  {
    version: 1,
    name: "ledger",
    sql: `
      CREATE TABLE audit_logs (
        seq             INTEGER PRIMARY KEY,
        event_id        TEXT    NOT NULL UNIQUE,
        timestamp       TEXT    NOT NULL,
        type            TEXT    NOT NULL,
        user_id         TEXT,
        session_id      TEXT,
        action          TEXT,
        purpose         TEXT,
        provider        TEXT,
        model           TEXT,
        status          TEXT,
        latency         REAL,
        cost            REAL,
        input_tokens    INTEGER,
        output_tokens   INTEGER,
        total_tokens    INTEGER,
        ip              TEXT,
        user_agent      TEXT,
        patient_id      TEXT,
        error_code      TEXT,
        error_message   TEXT,
        audit_context   TEXT,
        compliance_data TEXT,
        record          TEXT    NOT NULL,
        leaf_hash       BLOB    NOT NULL,
        chain_hash      BLOB    NOT NULL
      );
      CREATE INDEX idx_audit_timestamp ON audit_logs(timestamp DESC);
      CREATE INDEX idx_audit_user      ON audit_logs(user_id, seq);
      CREATE INDEX idx_audit_action    ON audit_logs(action);
      CREATE INDEX idx_audit_provider  ON audit_logs(provider);
      CREATE INDEX idx_audit_type      ON audit_logs(type);
      CREATE INDEX idx_audit_patient   ON audit_logs(patient_id) WHERE patient_id IS NOT NULL;
      CREATE TRIGGER audit_logs_append_only BEFORE UPDATE ON audit_logs
        BEGIN SELECT RAISE(ABORT, 'audit_logs is append-only'); END;

      CREATE TABLE merkle_nodes (
        level INTEGER NOT NULL,
        idx   INTEGER NOT NULL,
        hash  BLOB    NOT NULL,
        PRIMARY KEY (level, idx)
      ) WITHOUT ROWID;

      CREATE TABLE checkpoints (
        tree_size  INTEGER PRIMARY KEY,
        root_hash  BLOB    NOT NULL,
        note       TEXT    NOT NULL,
        created_at TEXT    NOT NULL
      );
    `,
  },
  {
    // Privacy: wrapped per-subject keys (src/privacy/keyring/sqlite.ts). Deleting a row is an
    // erasure; the store runs with secure_delete so the row's bytes are overwritten.
    version: 2,
    name: "subject_keys",
    sql: `
      CREATE TABLE subject_keys (
        subject_ref   TEXT PRIMARY KEY,
        key_id        TEXT NOT NULL UNIQUE,
        kind          TEXT NOT NULL,
        master_key_id TEXT NOT NULL,
        wrapped       TEXT NOT NULL,
        created_at    TEXT NOT NULL
      );
    `,
  },
  {
    // Two indexes no query uses: no read filters on action, and provider reports group the
    // rows of a time range (idx_audit_timestamp). Each cost every append an index insert.
    version: 3,
    name: "drop_unused_indexes",
    sql: `
      DROP INDEX IF EXISTS idx_audit_action;
      DROP INDEX IF EXISTS idx_audit_provider;
    `,
  },
];
