/**
 * The brief's `audit_logs` table and indexes ("PostgreSQL Audit Storage"), and the SQLite
 * spelling of the same table for the SQLite baseline (same columns and indexes; SQLite types).
 */
export const BRIEF_PG_DDL = (schema: string): string => `
  CREATE SCHEMA IF NOT EXISTS "${schema}";
  CREATE TABLE IF NOT EXISTS "${schema}".audit_logs (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    event_id VARCHAR(255) UNIQUE NOT NULL,
    timestamp TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    user_id VARCHAR(255),
    session_id VARCHAR(255),
    action VARCHAR(255) NOT NULL,
    provider VARCHAR(100) NOT NULL,
    model VARCHAR(100) NOT NULL,
    status VARCHAR(50) NOT NULL,
    latency INTEGER,
    cost DECIMAL(10, 6),
    input_tokens INTEGER,
    output_tokens INTEGER,
    total_tokens INTEGER,
    ip INET,
    user_agent TEXT,
    audit_context JSONB,
    compliance_data JSONB,
    error_message TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
  );
  CREATE INDEX idx_audit_timestamp ON "${schema}".audit_logs(timestamp DESC);
  CREATE INDEX idx_audit_user ON "${schema}".audit_logs(user_id);
  CREATE INDEX idx_audit_action ON "${schema}".audit_logs(action);
  CREATE INDEX idx_audit_provider ON "${schema}".audit_logs(provider);`;

export const BRIEF_SQLITE_DDL = `
  CREATE TABLE IF NOT EXISTS audit_logs (
    id INTEGER PRIMARY KEY,
    event_id TEXT UNIQUE NOT NULL,
    timestamp TEXT NOT NULL,
    user_id TEXT,
    session_id TEXT,
    action TEXT NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    status TEXT NOT NULL,
    latency INTEGER,
    cost REAL,
    input_tokens INTEGER,
    output_tokens INTEGER,
    total_tokens INTEGER,
    ip TEXT,
    user_agent TEXT,
    audit_context TEXT,
    compliance_data TEXT,
    error_message TEXT,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
  );
  CREATE INDEX idx_audit_timestamp ON audit_logs(timestamp DESC);
  CREATE INDEX idx_audit_user ON audit_logs(user_id);
  CREATE INDEX idx_audit_action ON audit_logs(action);
  CREATE INDEX idx_audit_provider ON audit_logs(provider);`;

export const BRIEF_INSERT_SQL = `
  INSERT INTO audit_logs (
    event_id, timestamp, user_id, session_id, action,
    provider, model, status, latency, cost,
    input_tokens, output_tokens, total_tokens,
    ip, user_agent, audit_context, compliance_data, error_message
  ) VALUES (
    $1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
    $11, $12, $13, $14, $15, $16, $17, $18
  )`;

/** The brief's event as its onLog receives it: the call's fields plus an id and a timestamp. */
export interface BriefEvent {
  id: string;
  timestamp: string;
  userId?: string;
  sessionId?: string;
  action?: string;
  purpose?: string;
  provider?: string;
  model?: string;
  status?: string;
  latency?: number;
  cost?: number | null;
  tokens?: { input: number; output: number; total: number };
  ip?: string;
  userAgent?: string;
  legalBasis?: string;
  dataClassification?: string;
  patientId?: string;
  phiAccessed?: boolean;
  errorMessage?: string;
}

/** The 18 parameters of the brief's INSERT, as its onLog builds them. */
export function briefParams(event: BriefEvent): unknown[] {
  return [
    event.id,
    event.timestamp,
    event.userId,
    event.sessionId,
    event.action,
    event.provider,
    event.model,
    event.status,
    event.latency,
    event.cost,
    event.tokens?.input,
    event.tokens?.output,
    event.tokens?.total,
    event.ip,
    event.userAgent,
    JSON.stringify({ purpose: event.purpose, legalBasis: event.legalBasis, dataClassification: event.dataClassification }),
    JSON.stringify({ patientId: event.patientId, phiAccessed: event.phiAccessed }),
    event.errorMessage,
  ];
}
