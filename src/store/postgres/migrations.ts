/**
 * Versioned schema migrations for the PostgreSQL store. Append only: a released migration is
 * never edited. `{schema}` is replaced by the store's quoted schema name. All run in one
 * transaction under an advisory lock, and bump `schema_version` in aitrail_meta.
 *
 * audit_logs is range-partitioned by month on `timestamp`, so retention can drop whole months.
 * A partitioned table's primary key must contain the partition key, so the key is
 * (seq, timestamp); seq uniqueness and contiguity come from the append lock, and eventId
 * uniqueness from the unpartitioned event_ids table (which also finds an event's partition).
 */
export interface PostgresMigration {
  version: number;
  name: string;
  sql: string;
}

export const POSTGRES_MIGRATIONS: PostgresMigration[] = [
  {
    version: 1,
    name: "ledger",
    sql: `
      CREATE TABLE {schema}.audit_logs (
        seq             BIGINT           NOT NULL,
        event_id        TEXT             NOT NULL,
        timestamp       TIMESTAMPTZ      NOT NULL,
        type            TEXT             NOT NULL,
        user_id         TEXT,
        session_id      TEXT,
        action          TEXT,
        purpose         TEXT,
        provider        TEXT,
        model           TEXT,
        status          TEXT,
        latency         DOUBLE PRECISION,
        cost            NUMERIC,
        input_tokens    BIGINT,
        output_tokens   BIGINT,
        total_tokens    BIGINT,
        ip              TEXT,
        user_agent      TEXT,
        patient_id      TEXT,
        error_code      TEXT,
        error_message   TEXT,
        audit_context   JSONB,
        compliance_data JSONB,
        record          TEXT             NOT NULL,
        leaf_hash       BYTEA            NOT NULL,
        chain_hash      BYTEA            NOT NULL,
        created_at      TIMESTAMPTZ      NOT NULL DEFAULT now(),
        PRIMARY KEY (seq, timestamp)
      ) PARTITION BY RANGE (timestamp);
      CREATE INDEX idx_audit_timestamp ON {schema}.audit_logs (timestamp DESC)
        INCLUDE (type, user_id, provider, status, cost, latency, total_tokens);
      CREATE INDEX idx_audit_user     ON {schema}.audit_logs (user_id, seq);
      CREATE INDEX idx_audit_action   ON {schema}.audit_logs (action);
      CREATE INDEX idx_audit_provider ON {schema}.audit_logs (provider);
      CREATE INDEX idx_audit_type     ON {schema}.audit_logs (type);
      CREATE INDEX idx_audit_patient  ON {schema}.audit_logs (patient_id) WHERE patient_id IS NOT NULL;

      CREATE FUNCTION {schema}.audit_logs_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'audit_logs is append-only'; END $$;
      CREATE TRIGGER audit_logs_append_only BEFORE UPDATE ON {schema}.audit_logs
        FOR EACH ROW EXECUTE FUNCTION {schema}.audit_logs_append_only();

      CREATE TABLE {schema}.event_ids (
        event_id  TEXT        PRIMARY KEY,
        seq       BIGINT      NOT NULL,
        timestamp TIMESTAMPTZ NOT NULL
      );

      CREATE TABLE {schema}.merkle_nodes (
        level SMALLINT NOT NULL,
        idx   BIGINT   NOT NULL,
        hash  BYTEA    NOT NULL,
        PRIMARY KEY (level, idx)
      );

      CREATE TABLE {schema}.checkpoints (
        tree_size  BIGINT PRIMARY KEY,
        root_hash  BYTEA  NOT NULL,
        note       TEXT   NOT NULL,
        created_at TEXT   NOT NULL
      );
    `,
  },
  {
    // Privacy: wrapped per-subject keys (src/privacy/keyring/postgres.ts). Deleting a row is an
    // erasure; the key store rewrites the table afterwards so the row's bytes do not linger.
    version: 2,
    name: "subject_keys",
    sql: `
      CREATE TABLE {schema}.subject_keys (
        subject_ref   TEXT PRIMARY KEY,
        key_id        TEXT NOT NULL UNIQUE,
        kind          TEXT NOT NULL,
        master_key_id TEXT NOT NULL,
        wrapped       TEXT NOT NULL,
        created_at    TEXT NOT NULL
      );
    `,
  },
];

export const LATEST_POSTGRES_VERSION = POSTGRES_MIGRATIONS.at(-1)!.version;
