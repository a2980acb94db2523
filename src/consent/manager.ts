/**
 * Consent (GDPR Art. 7) with the brief's API. Every decision is a ledger event, so proof of
 * consent is as verifiable as the trail itself:
 *
 *   consent.granted   the subject gave consent for a purpose (the text shown, its version
 *                     and SHA-256 are in the event)
 *   consent.revoked   the subject withdrew a consent (details.revokes names it), or declined
 *                     when asked (details.decision = "declined")
 *
 * A consentId is `consent-` + the ULID of its granting event, so it leads straight to the
 * event. The user's identifier is stored like any other (a pseudonym, the original
 * encrypted), and erasing the user erases their consent records with the rest.
 * For a (user, purpose) the newest decision governs: a later refusal or a withdrawal ends
 * consent; consent given again starts a new one.
 */
import { createHash } from "node:crypto";
import { AitrailError } from "../errors.js";
import { EVENT_ID_PATTERN, newEventId } from "../event/ids.js";
import type { AuditEvent, AuditEventInput } from "../event/schema.js";
import type { AuditStore, StoredEntry } from "../store/types.js";
import type { PurposeRegistry } from "./purposes.js";

/** The brief's ConsentRecord, with the text's version and hash. */
export interface ConsentRecord {
  consentId: string;
  userId: string;
  purpose: string;
  timestamp: Date;
  ipAddress?: string;
  userAgent?: string;
  consentText: string;
  consentVersion: string;
  /** SHA-256 of the consent text (hex). */
  consentTextHash: string;
  granted: boolean;
  revoked?: boolean;
  revokedAt?: Date;
  /** The ledger event that records the decision. */
  eventId: string;
  revokedEventId?: string;
}

export interface RecordConsentInput {
  userId: string;
  purpose: string;
  consentText: string;
  granted: boolean;
  ipAddress?: string;
  userAgent?: string;
  /** Version label of the consent text; default the first 12 hex digits of its SHA-256. */
  consentVersion?: string;
  /** Accepted for the brief's shape; the event's own time is what counts. */
  timestamp?: Date;
}

/** What the consent manager needs from privacy when protection is on. */
export interface ConsentPrivacy {
  pseudonymFor(kind: "user", identifier: string): Promise<string | null>;
  reveal(event: AuditEvent): Promise<AuditEvent>;
}

export interface ConsentManagerOptions {
  /** Records an event through the trail's Recorder; resolves once durable. */
  record: (input: AuditEventInput) => Promise<{ eventId: string }>;
  store: Pick<AuditStore, "findEvents" | "getByEventId">;
  /** Privacy when protection is on; null when identifiers are stored in plain columns. */
  privacy: ConsentPrivacy | null;
  /** When given, consent can only be recorded for registered purposes. */
  purposes?: PurposeRegistry;
  now?: () => Date;
}

const CONSENT_ID = /^consent-([0-9A-HJKMNP-TV-Z]{26})$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const MAX_DECISIONS = 100_000;

interface ConsentDetails {
  consentId: string;
  purpose: string;
  decision: "granted" | "declined" | "revoked";
  revokes?: string;
  text?: { version: string; sha256: string; text: string };
}

function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

function consentIdOf(eventId: string): string {
  return `consent-${eventId.slice(4)}`;
}

function eventIdOf(consentId: string): string | null {
  const m = CONSENT_ID.exec(consentId);
  return m ? `evt_${m[1]}` : null;
}

function invalid(problems: { field: string; message: string }[]): AitrailError {
  return new AitrailError("INVALID_CONSENT", `invalid consent: ${problems.map((p) => `${p.field}: ${p.message}`).join("; ")}`, {
    details: { problems },
  });
}

function checkString(problems: { field: string; message: string }[], field: string, value: unknown, required: boolean, max: number): void {
  if (value === undefined || value === null) {
    if (required) problems.push({ field, message: "is required" });
    return;
  }
  if (typeof value !== "string") problems.push({ field, message: "must be a string" });
  else if (value.trim().length === 0) problems.push({ field, message: "must not be empty" });
  else if (value.length > max) problems.push({ field, message: `must be at most ${max} characters` });
  else if (field !== "consentText" && CONTROL.test(value)) problems.push({ field, message: "must not contain control characters" });
}

export class ConsentManager {
  readonly #record: ConsentManagerOptions["record"];
  readonly #store: ConsentManagerOptions["store"];
  readonly #privacy: ConsentPrivacy | null;
  readonly #purposes: PurposeRegistry | undefined;
  readonly #now: () => Date;

  constructor(options: ConsentManagerOptions) {
    this.#record = options.record;
    this.#store = options.store;
    this.#privacy = options.privacy;
    this.#purposes = options.purposes;
    this.#now = options.now ?? (() => new Date());
  }

  /** Records a consent decision as a ledger event; resolves to its consentId once durable. */
  async recordConsent(data: RecordConsentInput): Promise<string> {
    const d = (data ?? {}) as unknown as Record<string, unknown>;
    const problems: { field: string; message: string }[] = [];
    checkString(problems, "userId", d.userId, true, 512);
    checkString(problems, "purpose", d.purpose, true, 512);
    checkString(problems, "consentText", d.consentText, true, 1_000_000);
    if (d.granted === undefined || d.granted === null) problems.push({ field: "granted", message: "is required" });
    else if (typeof d.granted !== "boolean") problems.push({ field: "granted", message: "must be true or false" });
    checkString(problems, "ipAddress", d.ipAddress, false, 64);
    checkString(problems, "userAgent", d.userAgent, false, 4096);
    checkString(problems, "consentVersion", d.consentVersion, false, 64);
    if (problems.length) throw invalid(problems);
    if (this.#purposes) this.#purposes.require(data.purpose);

    const eventId = newEventId(this.#now().getTime());
    const consentId = consentIdOf(eventId);
    const hash = sha256(data.consentText);
    const details: ConsentDetails = {
      consentId,
      purpose: data.purpose,
      decision: data.granted ? "granted" : "declined",
      text: { version: data.consentVersion ?? hash.slice(0, 12), sha256: hash, text: data.consentText },
    };
    await this.#record({
      type: data.granted ? "consent.granted" : "consent.revoked",
      eventId,
      userId: data.userId,
      ...(data.ipAddress !== undefined ? { ip: data.ipAddress } : {}),
      ...(data.userAgent !== undefined ? { userAgent: data.userAgent } : {}),
      action: data.granted ? "consent.grant" : "consent.decline",
      purpose: data.purpose,
      consentId,
      legalBasis: "consent",
      status: data.granted ? "success" : "denied",
      frameworks: ["GDPR"],
      details: details as unknown as Record<string, unknown>,
    });
    return consentId;
  }

  /** The active consent of the user for the purpose, or null. */
  async checkConsent(userId: string, purpose: string): Promise<ConsentRecord | null> {
    const problems: { field: string; message: string }[] = [];
    checkString(problems, "userId", userId, true, 512);
    checkString(problems, "purpose", purpose, true, 512);
    if (problems.length) throw invalid(problems);
    const decisions = await this.#decisions(userId);
    if (!decisions) return null;
    const latest = decisions.entries.filter((e) => e.details.purpose === purpose && e.details.decision !== "revoked").at(-1);
    if (!latest || latest.details.decision !== "granted") return null;
    if (decisions.revocations.has(latest.details.consentId)) return null;
    return this.#toRecord(userId, latest);
  }

  /** Withdraws a consent (Art. 7(3)); withdrawing one already withdrawn changes nothing. */
  async revokeConsent(consentId: string): Promise<void> {
    const eventId = typeof consentId === "string" ? eventIdOf(consentId) : null;
    if (!eventId || !EVENT_ID_PATTERN.test(eventId)) {
      throw invalid([{ field: "consentId", message: "must be a consentId returned by recordConsent (consent-<ULID>)" }]);
    }
    const entry = await this.#store.getByEventId(eventId);
    const grant = entry ? (JSON.parse(entry.canonical) as AuditEvent) : null;
    if (!grant || grant.type !== "consent.granted") {
      throw new AitrailError("NOT_FOUND", `no granted consent ${consentId}`, { details: { consentId } });
    }
    const userId = (await this.#reveal(grant)).userId;
    if (!userId || userId === "[erased]") {
      throw new AitrailError("NOT_FOUND", `consent ${consentId} belongs to an erased subject; there is nothing left to withdraw`, {
        details: { consentId },
      });
    }
    const decisions = await this.#decisions(userId);
    if (decisions?.revocations.has(consentId)) return;
    const purpose = (grant.details as unknown as ConsentDetails).purpose;
    const details: ConsentDetails = { consentId, purpose, decision: "revoked", revokes: consentId };
    await this.#record({
      type: "consent.revoked",
      userId,
      action: "consent.revoke",
      purpose,
      consentId,
      legalBasis: "consent",
      status: "success",
      frameworks: ["GDPR"],
      details: details as unknown as Record<string, unknown>,
    });
  }

  /** Every consent decision of the user, oldest first, with withdrawals applied. */
  async history(userId: string): Promise<ConsentRecord[]> {
    const problems: { field: string; message: string }[] = [];
    checkString(problems, "userId", userId, true, 512);
    if (problems.length) throw invalid(problems);
    const decisions = await this.#decisions(userId);
    if (!decisions) return [];
    const out: ConsentRecord[] = [];
    for (const e of decisions.entries) {
      if (e.details.decision === "revoked") continue;
      const record = await this.#toRecord(userId, e);
      const revocation = decisions.revocations.get(e.details.consentId);
      if (revocation) {
        record.revoked = true;
        record.revokedAt = new Date(revocation.timestamp);
        record.revokedEventId = revocation.eventId;
      }
      out.push(record);
    }
    return out;
  }

  async #decisions(userId: string): Promise<{ entries: Decision[]; revocations: Map<string, AuditEvent> } | null> {
    const key = this.#privacy ? await this.#privacy.pseudonymFor("user", userId) : userId;
    if (key === null) return null;
    const [granted, revoked] = await Promise.all([
      this.#store.findEvents({ userId: key, type: "consent.granted", limit: MAX_DECISIONS, order: "asc" }),
      this.#store.findEvents({ userId: key, type: "consent.revoked", limit: MAX_DECISIONS, order: "asc" }),
    ]);
    const entries = [...granted, ...revoked].sort((a, b) => a.seq - b.seq).map(toDecision).filter((d): d is Decision => d !== null);
    const revocations = new Map<string, AuditEvent>();
    for (const e of entries) if (e.details.decision === "revoked" && e.details.revokes) revocations.set(e.details.revokes, e.event);
    return { entries, revocations };
  }

  async #toRecord(userId: string, d: Decision): Promise<ConsentRecord> {
    const event = await this.#reveal(d.event);
    const text = d.details.text;
    return {
      consentId: d.details.consentId,
      userId,
      purpose: d.details.purpose,
      timestamp: new Date(event.timestamp),
      ...(event.ip !== undefined ? { ipAddress: event.ip } : {}),
      ...(event.userAgent !== undefined ? { userAgent: event.userAgent } : {}),
      consentText: text?.text ?? "",
      consentVersion: text?.version ?? "",
      consentTextHash: text?.sha256 ?? "",
      granted: d.details.decision === "granted",
      revoked: false,
      eventId: event.eventId,
    };
  }

  #reveal(event: AuditEvent): Promise<AuditEvent> {
    return this.#privacy ? this.#privacy.reveal(event) : Promise.resolve(event);
  }
}

interface Decision {
  seq: number;
  event: AuditEvent;
  details: ConsentDetails;
}

function toDecision(entry: StoredEntry): Decision | null {
  const event = JSON.parse(entry.canonical) as AuditEvent;
  const details = event.details as Partial<ConsentDetails> | undefined;
  if (!details || typeof details.consentId !== "string" || typeof details.purpose !== "string") return null;
  if (details.decision !== "granted" && details.decision !== "declined" && details.decision !== "revoked") return null;
  return { seq: entry.seq, event, details: details as ConsentDetails };
}
