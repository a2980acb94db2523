/**
 * Subject access (GDPR Art. 15), with the machine-readable subset of Art. 20 in `events`:
 * the subject's events decrypted, the purposes and legal bases they were processed for,
 * the recipients (AI providers and declared processors), retention, the source, the
 * subject's rights, and the consent history.
 *
 * Reading decrypted data is itself recorded: an `audit.read` event naming the reader and
 * counting the fields decrypted is committed before the report is handed out, so a report
 * whose reading could not be recorded is never returned.
 */
import { AitrailError } from "../errors.js";
import type { AuditEvent, AuditEventInput } from "../event/schema.js";
import type { AuditStore } from "../store/types.js";
import { normalizeLegalBasis } from "./legal-basis.js";
import type { ConsentRecord } from "./manager.js";
import type { PurposeRegistry } from "./purposes.js";

export interface SubjectAccessPrivacy {
  pseudonymFor(kind: "user" | "patient", identifier: string): Promise<string | null>;
  revealReport(event: AuditEvent): Promise<{ event: AuditEvent; decrypted: string[]; erased: string[] }>;
}

export interface SubjectAccessOptions {
  store: Pick<AuditStore, "findEvents">;
  /** Privacy when protection is on; null when identifiers are stored in plain columns. */
  privacy: SubjectAccessPrivacy | null;
  consent?: { history(userId: string): Promise<ConsentRecord[]> } | null;
  purposes?: PurposeRegistry | null;
  /** Records the audit.read event; resolves once durable. */
  record: (input: AuditEventInput) => Promise<{ eventId: string }>;
  /** Who reads (an operator or service account), kept in the audit.read event. */
  reader: string;
  /** The subject's kind: a user (default) or a patient. */
  kind?: "user" | "patient";
  controller?: string;
  /** Where the report goes (json, html, api); kept in the audit.read event. */
  format?: string;
  now?: () => Date;
  /** Most events included (default 1 000 000). */
  limit?: number;
}

export interface PurposeEntry {
  purpose: string;
  legalBasis: string | null;
  description?: string;
  dataCategories: string[];
  recipients: string[];
  transfers: string[];
  retention: string | null;
  registered: boolean;
  events: number;
}

export interface SubjectAccessReport {
  reportType: "GDPR Art. 15 subject access";
  generatedAt: string;
  controller: string | null;
  subject: { kind: "user" | "patient"; identifier: string };
  /** False when the trail holds nothing about the subject (never recorded, or erased). */
  found: boolean;
  summary: { events: number; first: string | null; last: string | null; byType: Record<string, number>; erasedFields: number };
  purposes: PurposeEntry[];
  legalBases: string[];
  recipients: { recipient: string; role: string; events: number }[];
  retention: { purpose: string; retention: string | null }[];
  source: string;
  rights: string[];
  consents: ConsentRecord[];
  /** The subject's events as recorded, decrypted (Art. 20: structured, machine-readable). */
  events: AuditEvent[];
  /** The audit.read event that records this reading. */
  readEventId: string;
}

const RIGHTS = [
  "Art. 16: to have inaccurate personal data rectified",
  "Art. 17: to have personal data erased",
  "Art. 18: to restrict processing",
  "Art. 20: to receive the data in a structured, machine-readable format (the events of this report)",
  "Art. 21: to object to processing based on legitimate interests or public task",
  "Art. 7(3): to withdraw consent at any time, without affecting earlier processing",
  "Art. 77: to lodge a complaint with a supervisory authority",
];

function count<K extends string>(map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

export async function subjectAccess(identifier: string, options: SubjectAccessOptions): Promise<SubjectAccessReport> {
  if (typeof identifier !== "string" || identifier.length === 0) {
    throw new AitrailError("INVALID_ARGUMENT", "subject access needs the subject's identifier");
  }
  if (typeof options.reader !== "string" || options.reader.length === 0) {
    throw new AitrailError("INVALID_ARGUMENT", "subject access needs a reader (who asks), for the audit.read record");
  }
  const kind = options.kind ?? "user";
  const now = (options.now ?? (() => new Date()))();
  const key = options.privacy ? await options.privacy.pseudonymFor(kind, identifier) : identifier;

  const events: AuditEvent[] = [];
  const decryptedFields = new Map<string, number>();
  let erasedFields = 0;
  if (key !== null) {
    const filter = kind === "user" ? { userId: key } : { patientId: key };
    const rows = await options.store.findEvents({ ...filter, order: "asc", limit: options.limit ?? 1_000_000 });
    for (const row of rows) {
      const stored = JSON.parse(row.canonical) as AuditEvent;
      if (options.privacy) {
        const r = await options.privacy.revealReport(stored);
        for (const f of r.decrypted) count(decryptedFields, f);
        erasedFields += r.erased.length;
        events.push(r.event);
      } else {
        events.push(stored);
      }
    }
  }
  const consents = kind === "user" && key !== null && options.consent ? await options.consent.history(identifier) : [];

  const byType = new Map<string, number>();
  const byPurpose = new Map<string, number>();
  const byRecipient = new Map<string, number>();
  const bases = new Set<string>();
  const observedRetention = new Map<string, string>();
  for (const e of events) {
    count(byType, e.type);
    if (e.purpose) {
      count(byPurpose, e.purpose);
      if (e.retention && !observedRetention.has(e.purpose)) observedRetention.set(e.purpose, e.retention);
    }
    if (e.legalBasis) bases.add(normalizeLegalBasis(e.legalBasis) ?? e.legalBasis);
    if (e.provider && e.type.startsWith("ai.")) count(byRecipient, e.provider);
    for (const p of e.processors ?? []) count(byRecipient, p);
  }
  const purposes: PurposeEntry[] = [...byPurpose].map(([purpose, n]) => {
    const a = options.purposes?.get(purpose);
    if (a) bases.add(a.legalBasis);
    return {
      purpose,
      legalBasis: a?.legalBasis ?? null,
      ...(a?.description ? { description: a.description } : {}),
      dataCategories: a?.dataCategories ?? [],
      recipients: a?.recipients ?? [],
      transfers: a?.transfers ?? [],
      retention: a?.retention ?? observedRetention.get(purpose) ?? null,
      registered: a !== undefined,
      events: n,
    };
  });

  const read = await options.record({
    type: "audit.read",
    action: "subject-access",
    status: "success",
    frameworks: ["GDPR"],
    ...(key !== null ? (kind === "user" ? { userId: identifier } : { patientId: identifier }) : {}),
    details: {
      reader: options.reader,
      scope: "subject-access",
      subjectKind: kind,
      subjectFound: key !== null,
      events: events.length,
      decryptedFields: Object.fromEntries(decryptedFields),
      erasedFields,
      ...(options.format ? { format: options.format } : {}),
    },
  });

  return {
    reportType: "GDPR Art. 15 subject access",
    generatedAt: now.toISOString(),
    controller: options.controller ?? null,
    subject: { kind, identifier },
    found: key !== null,
    summary: {
      events: events.length,
      first: events[0]?.timestamp ?? null,
      last: events.at(-1)?.timestamp ?? null,
      byType: Object.fromEntries(byType),
      erasedFields,
    },
    purposes,
    legalBases: [...bases].sort(),
    recipients: [...byRecipient].map(([recipient, n]) => ({ recipient, role: "AI provider / processor", events: n })),
    retention: purposes.map((p) => ({ purpose: p.purpose, retention: p.retention })),
    source: "Recorded by the controller's systems when the subject's requests were processed by AI models (Art. 15(1)(g)).",
    rights: RIGHTS,
    consents,
    events,
    readEventId: read.eventId,
  };
}
