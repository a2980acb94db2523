/**
 * Audit levels and field selection (data minimisation).
 *
 * minimal:  who did what with which model, and whether it worked.
 * standard: adds why (purpose, legal basis, consent), where from (ip, user agent),
 *           how much (latency, tokens, cost) and the error message.
 * detailed: adds the (redacted) prompt and response.
 *
 * `includeFields` narrows a level further. The envelope (v, eventId, type, timestamp) and
 * the system fields (details, protection) are always kept: without them a record cannot be
 * verified, protected or understood.
 */
import { AitrailError } from "../errors.js";
import type { AuditEvent } from "./schema.js";

export const LEVELS = ["minimal", "standard", "detailed"] as const;
export type AuditLevel = (typeof LEVELS)[number];

const ALWAYS = ["v", "eventId", "type", "timestamp", "details", "protection", "frameworks"] as const;

const MINIMAL = ["userId", "action", "provider", "model", "status", "errorCode"] as const;
const STANDARD = [
  ...MINIMAL,
  "sessionId",
  "purpose",
  "dataClassification",
  "latency",
  "cost",
  "costUnknown",
  "tokens",
  "ip",
  "userAgent",
  "consentId",
  "legalBasis",
  "dataCategory",
  "retention",
  "processors",
  "patientId",
  "phiAccessed",
  "disclosure",
  "authorization",
  "errorMessage",
] as const;
const DETAILED = [...STANDARD, "prompt", "response"] as const;

export const LEVEL_FIELDS: Record<AuditLevel, readonly string[]> = {
  minimal: MINIMAL,
  standard: STANDARD,
  detailed: DETAILED,
};

/** Names the brief uses in includeFields that map onto fields of ours. */
const ALIASES: Record<string, string[]> = {
  securityEvents: ["errorCode", "errorMessage"],
};

export const SELECTABLE_FIELDS: readonly string[] = [...ALWAYS, ...DETAILED];

export interface FieldSelection {
  level: AuditLevel;
  keep: ReadonlySet<string>;
}

/** Builds the set of fields kept at a level, narrowed by includeFields. Unknown names are INVALID_CONFIG. */
export function fieldSelection(level: AuditLevel = "standard", includeFields?: readonly string[]): FieldSelection {
  const levelFields = new Set<string>(LEVEL_FIELDS[level]);
  let chosen: Set<string>;
  if (includeFields && includeFields.length > 0) {
    const unknown = includeFields.filter((f) => !SELECTABLE_FIELDS.includes(f) && !(f in ALIASES));
    if (unknown.length) {
      throw new AitrailError(
        "INVALID_CONFIG",
        `auditLog.includeFields: unknown field(s) ${unknown.join(", ")}; known: ${[...DETAILED, ...Object.keys(ALIASES)].join(", ")}`,
        { details: { option: "auditLog.includeFields", unknown } },
      );
    }
    const expanded = includeFields.flatMap((f) => ALIASES[f] ?? [f]);
    chosen = new Set(expanded.filter((f) => levelFields.has(f)));
  } else {
    chosen = levelFields;
  }
  for (const f of ALWAYS) chosen.add(f);
  return { level, keep: chosen };
}

/** Drops every field the selection does not keep. Returns a new object. */
export function minimize(event: AuditEvent, selection: FieldSelection): AuditEvent {
  const source = event as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  // Kept fields in sorted order: the canonical form then needs no sort.
  for (const key of sortedFields(selection)) {
    const value = source[key];
    if (value !== undefined && Object.hasOwn(source, key)) out[key] = value;
  }
  return out as unknown as AuditEvent;
}

const sortedCache = new WeakMap<FieldSelection, readonly string[]>();
function sortedFields(selection: FieldSelection): readonly string[] {
  let fields = sortedCache.get(selection);
  if (!fields) {
    fields = [...selection.keep].sort();
    sortedCache.set(selection, fields);
  }
  return fields;
}
