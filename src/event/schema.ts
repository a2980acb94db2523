/**
 * The audit event, schema version 1.
 *
 * Field names follow the brief's "Audit Log Output" so that users who arrive with its
 * shapes find them here unchanged. Identifier fields reject control characters, so that
 * nothing recorded can forge a line in a syslog, CEF or CSV export.
 */
import { z } from "zod";
import { AitrailError } from "../errors.js";
import { EVENT_ID_PATTERN, newEventId } from "./ids.js";
import { quickAcceptContext, quickAcceptEvent } from "./quick.js";

export const EVENT_SCHEMA_VERSION = 1 as const;

export const EVENT_TYPES = [
  "ai.generate",
  "ai.stream",
  "ai.embed",
  "policy.denied",
  "consent.granted",
  "consent.revoked",
  "subject.erased",
  "audit.read",
  "retention.purged",
  "key.rotated",
] as const;
export type KnownEventType = (typeof EVENT_TYPES)[number];

export const STATUSES = ["success", "error", "cancelled", "denied"] as const;

/** Compliance frameworks an event can be recorded under. */
export const FRAMEWORKS = ["GDPR", "HIPAA", "SOC2", "EU_AI_ACT", "PCI_DSS"] as const;
export type Framework = (typeof FRAMEWORKS)[number];
export type EventStatus = (typeof STATUSES)[number];

export const LIMITS = {
  identifier: 512,
  text: 4096,
  errorMessage: 8192,
  content: 4 * 1024 * 1024,
} as const;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
/** Half of a UTF-16 pair without the other half: text columns would store U+FFFD instead. */
export const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const ident = (max: number = LIMITS.identifier) =>
  z
    .string()
    .min(1, "must not be empty")
    .max(max, `must be at most ${max} characters`)
    .refine((s) => !CONTROL.test(s), "must not contain control characters")
    .refine((s) => !LONE_SURROGATE.test(s), "must be well-formed Unicode (a lone surrogate cannot be stored as text)");

const count = z.number().int("must be an integer").min(0, "must be >= 0").max(Number.MAX_SAFE_INTEGER);

export const tokensSchema = z
  .object({
    input: count,
    output: count,
    total: count,
    cachedInput: count.optional(),
    reasoning: count.optional(),
  })
  .strict();

/** The brief's auditContext: who and why. Every field optional; unknown keys are an error. */
export const auditContextSchema = z
  .object({
    userId: ident(),
    sessionId: ident(),
    action: ident(),
    purpose: ident(),
    dataClassification: ident(64),
    ip: ident(64),
    userAgent: ident(LIMITS.text),
    consentId: ident(),
    legalBasis: ident(64),
    dataCategory: ident(),
    retention: ident(64),
    processors: z.array(ident()).max(64),
    patientId: ident(),
    phiAccessed: z.boolean(),
    disclosure: z.boolean(),
    authorization: ident(),
  })
  .partial()
  .strict();
export type AuditContext = z.infer<typeof auditContextSchema>;
export const AUDIT_CONTEXT_FIELDS = Object.keys(auditContextSchema.shape) as (keyof AuditContext)[];

const typeSchema = z.union([
  z.enum(EVENT_TYPES),
  z.string().regex(/^custom\.[a-z0-9_.-]{1,64}$/, "must be a known event type or custom.<name>"),
]);

/** Fields describing what happened; shared by the input and the stored event. */
const whatShape = {
  type: typeSchema,
  provider: ident(128),
  model: ident(256),
  status: z.enum(STATUSES),
  latency: z.number().min(0).max(1e9),
  cost: z.number().min(0).max(1e9).nullable(),
  costUnknown: z.boolean(),
  tokens: tokensSchema,
  errorCode: ident(128),
  errorMessage: z
    .string()
    .max(LIMITS.errorMessage)
    .refine((s) => !LONE_SURROGATE.test(s), "must be well-formed Unicode (a lone surrogate cannot be stored as text)"),
  prompt: z.string().max(LIMITS.content, `must be at most ${LIMITS.content} characters`),
  response: z.string().max(LIMITS.content, `must be at most ${LIMITS.content} characters`),
  frameworks: z.array(z.enum(FRAMEWORKS)).max(8),
  /** Type-specific payload (a consent record, an erasure tombstone, a read receipt). */
  details: z.record(z.string(), z.unknown()),
  /** Set by the privacy step: which subject keys protect the encrypted fields. */
  protection: z
    .object({
      scheme: z.string().max(64),
      subjects: z.record(z.string(), z.string()).optional(),
      fields: z.record(z.string(), z.string()),
      /** Spans of PII replaced before encryption, by kind (EMAIL, CARD, ...). */
      redactions: z.record(z.string(), z.number().int().min(0)).optional(),
    })
    .strict(),
};

/** UTC with milliseconds; year 0000 has no place in the proleptic calendars stores use. */
const isoTimestamp = z.iso
  .datetime({ offset: false, precision: 3 })
  .refine((s) => !s.startsWith("0000"), "year 0000 is not a valid timestamp year");

export const auditEventInputSchema = auditContextSchema
  .extend({
    ...Object.fromEntries(Object.entries(whatShape).map(([k, v]) => [k, v.optional()])),
    type: typeSchema,
    eventId: z.string().regex(EVENT_ID_PATTERN, "must be evt_ followed by a ULID").optional(),
    timestamp: isoTimestamp.optional(),
  })
  .strict() as unknown as z.ZodType<AuditEventInput>;

export const auditEventSchema = auditContextSchema
  .extend({
    ...Object.fromEntries(Object.entries(whatShape).map(([k, v]) => [k, v.optional()])),
    v: z.literal(EVENT_SCHEMA_VERSION),
    type: typeSchema,
    eventId: z.string().regex(EVENT_ID_PATTERN, "must be evt_ followed by a ULID"),
    timestamp: isoTimestamp,
  })
  .strict() as unknown as z.ZodType<AuditEvent>;

export interface Tokens {
  input: number;
  output: number;
  total: number;
  cachedInput?: number;
  reasoning?: number;
}

export interface EventWhat {
  provider?: string;
  model?: string;
  status?: EventStatus;
  /** Milliseconds from the call to its last byte. */
  latency?: number;
  /** US dollars; null when the model's price is unknown (then costUnknown is true). */
  cost?: number | null;
  costUnknown?: boolean;
  tokens?: Tokens;
  errorCode?: string;
  errorMessage?: string;
  prompt?: string;
  response?: string;
  frameworks?: Framework[];
  details?: Record<string, unknown>;
  protection?: {
    scheme: string;
    subjects?: Record<string, string>;
    fields: Record<string, string>;
    redactions?: Record<string, number>;
  };
}

export type EventType = KnownEventType | `custom.${string}`;

export interface AuditEventInput extends AuditContext, EventWhat {
  type: EventType;
  eventId?: string;
  timestamp?: string;
}

export interface AuditEvent extends AuditContext, EventWhat {
  v: typeof EVENT_SCHEMA_VERSION;
  eventId: string;
  type: EventType;
  timestamp: string;
}

export interface FieldProblem {
  field: string;
  message: string;
}

function problemsOf(error: z.ZodError): FieldProblem[] {
  return error.issues.map((issue) => ({
    field: issue.path.length ? issue.path.map(String).join(".") : issue.code === "unrecognized_keys" ? "" : "(root)",
    message:
      issue.code === "unrecognized_keys" ? `unknown field(s): ${issue.keys.join(", ")}` : issue.message,
  }));
}

function invalid(what: string, problems: FieldProblem[]): AitrailError {
  const list = problems.map((p) => (p.field ? `${p.field}: ${p.message}` : p.message)).join("; ");
  return new AitrailError("INVALID_EVENT", `invalid ${what}: ${list}`, { details: { problems } });
}

/** Validates an event as handed in, fills eventId and timestamp. Throws INVALID_EVENT listing every bad field. */
export function parseEventInput(input: unknown, now: Date = new Date()): AuditEvent {
  const quick = quickAcceptEvent(input);
  if (quick !== undefined) {
    // A fresh object of checked fields: complete it in place.
    quick.v = EVENT_SCHEMA_VERSION;
    quick.eventId ??= newEventId(now.getTime());
    quick.timestamp ??= now.toISOString();
    return quick as unknown as AuditEvent;
  }
  const result = auditEventInputSchema.safeParse(input);
  if (!result.success) throw invalid("event", problemsOf(result.error));
  const { eventId, timestamp, ...rest } = result.data;
  return {
    v: EVENT_SCHEMA_VERSION,
    eventId: eventId ?? newEventId(now.getTime()),
    timestamp: timestamp ?? now.toISOString(),
    ...rest,
  };
}

/** Validates a complete stored event (as read back from a store, an archive or a bundle). */
export function parseEvent(input: unknown): AuditEvent {
  const result = auditEventSchema.safeParse(input);
  if (!result.success) throw invalid("stored event", problemsOf(result.error));
  return result.data;
}

/** Validates an auditContext on its own (the client checks it before any provider call). */
export function parseAuditContext(input: unknown): AuditContext {
  const quick = quickAcceptContext(input ?? {});
  if (quick !== undefined) return quick;
  const result = auditContextSchema.safeParse(input ?? {});
  if (!result.success) {
    const problems = problemsOf(result.error).map((p) => ({ ...p, field: p.field ? `auditContext.${p.field}` : "auditContext" }));
    throw invalid("auditContext", problems);
  }
  return result.data;
}
