/**
 * What `auditLog.onLog` receives: the brief's "Audit Log Output", with field names and values
 * exactly as the application passed them. onLog runs in the application's own process, so it
 * sees identifiers before pseudonymisation; what is stored and shipped is protected.
 */
import { AUDIT_CONTEXT_FIELDS, type AuditContext, type AuditEventInput, type EventWhat } from "../event/schema.js";

export interface AuditLogEvent
  extends AuditContext,
    Pick<EventWhat, "provider" | "model" | "status" | "latency" | "cost" | "costUnknown" | "tokens" | "errorCode" | "errorMessage"> {
  eventId: string;
  /** Same as eventId (the brief's logger examples read `event.id`). */
  id: string;
  timestamp: string;
  type: string;
  /** At level "detailed" only. */
  prompt?: string;
  response?: string;
  frameworks?: string[];
  /** The auditContext as passed, for code that stores it as one JSON column. */
  auditContext: AuditContext;
  complianceData?: { frameworks: string[]; dataResidency?: string };
  /** "committed" once durable; "spooled" when open mode keeps it in memory for a retry. */
  audit: "committed" | "spooled";
}

export function logViewOf(
  input: AuditEventInput & { eventId: string; timestamp: string },
  context: AuditContext,
  compliance: { frameworks: readonly string[]; dataResidency: string | undefined },
  audit: AuditLogEvent["audit"],
): AuditLogEvent {
  const view: AuditLogEvent = {
    eventId: input.eventId,
    id: input.eventId,
    timestamp: input.timestamp,
    type: input.type,
    auditContext: context,
    audit,
  };
  for (const f of AUDIT_CONTEXT_FIELDS) {
    if (context[f] !== undefined) (view as unknown as Record<string, unknown>)[f] = context[f];
  }
  const what = ["provider", "model", "status", "latency", "cost", "costUnknown", "tokens", "errorCode", "errorMessage", "prompt", "response"] as const;
  for (const f of what) {
    if (input[f] !== undefined) (view as unknown as Record<string, unknown>)[f] = input[f];
  }
  if (compliance.frameworks.length > 0) {
    view.frameworks = [...compliance.frameworks];
    view.complianceData = { frameworks: [...compliance.frameworks], ...(compliance.dataResidency ? { dataResidency: compliance.dataResidency } : {}) };
  }
  return view;
}
