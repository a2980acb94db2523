/**
 * The indexed columns of a stored entry, derived from the hashed record. Stores write
 * exactly these values; verify recomputes them from the record and compares, so an edit to
 * any indexed column is detected even though the column itself is not hashed.
 */
import { canonicalize } from "../event/canonical.js";
import type { AuditEvent } from "../event/schema.js";
import type { IndexedColumns } from "./types.js";

// In sorted order, so the picked object is already canonical (canonicalize's quick path).
const CONTEXT_FIELDS = ["authorization", "consentId", "dataCategory", "dataClassification", "legalBasis", "retention"] as const;

const COMPLIANCE_FIELDS = ["disclosure", "frameworks", "phiAccessed", "processors"] as const;

function pick(event: AuditEvent, fields: readonly string[]): string | null {
  // The canonical JSON of the picked fields, written directly: the names are sorted and need
  // no escaping, so only the values go through canonicalize (a string straight to JSON).
  let out = "";
  for (const f of fields) {
    const v = (event as unknown as Record<string, unknown>)[f];
    if (v === undefined) continue;
    out += `${out === "" ? "{" : ","}"${f}":${typeof v === "string" ? JSON.stringify(v) : canonicalize(v)}`;
  }
  return out === "" ? null : `${out}}`;
}

export function columnsOf(event: AuditEvent): IndexedColumns {
  return {
    event_id: event.eventId,
    timestamp: event.timestamp,
    type: event.type,
    user_id: event.userId ?? null,
    session_id: event.sessionId ?? null,
    action: event.action ?? null,
    purpose: event.purpose ?? null,
    provider: event.provider ?? null,
    model: event.model ?? null,
    status: event.status ?? null,
    latency: event.latency ?? null,
    cost: event.cost ?? null,
    input_tokens: event.tokens?.input ?? null,
    output_tokens: event.tokens?.output ?? null,
    total_tokens: event.tokens?.total ?? null,
    ip: event.ip ?? null,
    user_agent: event.userAgent ?? null,
    patient_id: event.patientId ?? null,
    error_code: event.errorCode ?? null,
    error_message: event.errorMessage ?? null,
    audit_context: pick(event, CONTEXT_FIELDS),
    compliance_data: pick(event, COMPLIANCE_FIELDS),
  };
}

export const COLUMN_NAMES = Object.keys(columnsOf({ v: 1, eventId: "", type: "ai.generate", timestamp: "" })) as (keyof IndexedColumns)[];

/** Names the columns whose stored value differs from the value derived from the record. */
export function columnMismatches(stored: IndexedColumns, derived: IndexedColumns): string[] {
  const bad: string[] = [];
  for (const name of COLUMN_NAMES) {
    if (stored[name] !== derived[name]) bad.push(name);
  }
  return bad;
}
