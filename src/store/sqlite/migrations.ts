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
  {
    // An index on (user_id, seq) takes each batch's rows at as many places as the batch has
    // users, and a WAL commit writes every page it touched: with 200 active users, 200 pages
    // of 16 KiB per commit for a few KiB of index entries, more than the rows themselves. The
    // block indexes lead with the block of 4096 seqs (BLOCK_BITS), so a batch touches only the
    // newest block's few pages; a lookup by user or patient walks the blocks (findEvents).
    // The trail's own events (consent, policy refusals, reads, retention: not "ai.*") are few
    // and looked up by user and type on the hot path (a consent check before each call), so
    // they keep a plain index of their own, which AI calls never touch.
    // Merkle nodes of levels 1 to 3 are no longer stored (STORED_NODE_LEVEL): seven rows in
    // eight of merkle_nodes, each an insert per append, for nodes that 2 to 8 leaf hashes give.
    version: 4,
    name: "block_indexes",
    sql: `
      DROP INDEX IF EXISTS idx_audit_user;
      DROP INDEX IF EXISTS idx_audit_patient;
      DROP INDEX IF EXISTS idx_audit_type;
      CREATE INDEX idx_audit_user_block    ON audit_logs(seq >> 12, user_id, seq)    WHERE user_id IS NOT NULL;
      CREATE INDEX idx_audit_patient_block ON audit_logs(seq >> 12, patient_id, seq) WHERE patient_id IS NOT NULL;
      CREATE INDEX idx_audit_trail_user    ON audit_logs(user_id, seq)    WHERE substr(type, 1, 3) <> 'ai.';
      CREATE INDEX idx_audit_trail_type    ON audit_logs(type, seq)       WHERE substr(type, 1, 3) <> 'ai.';
      DELETE FROM merkle_nodes WHERE level BETWEEN 1 AND 3;
    `,
  },
];

/**
 * The lowest Merkle level stored in merkle_nodes (migration 4). A node below it is computed
 * from the at most 2^(STORED_NODE_LEVEL - 1) leaf hashes under it when a proof or the
 * frontier needs it; level 0 is the leaf hash, stored with the entry (or, once purged, as a
 * level-0 node).
 */
export const STORED_NODE_LEVEL = 4;

/** Rows per block of the block indexes (migration 4): seq >> BLOCK_BITS, as written there. */
export const BLOCK_BITS = 12;

/** The partial-index condition of the trail's own events (migration 4), as written there. */
export const TRAIL_EVENT = "substr(type, 1, 3) <> 'ai.'";
