/**
 * The privacy step: an AuditEvent in, its stored form out.
 *
 * - Identifiers (userId, patientId, sessionId, ip, userAgent) become keyed pseudonyms
 *   (`psn_` + HMAC-SHA-256 under the subject's salt), usable for queries; the originals are
 *   encrypted under the subject's data key.
 * - Content (prompt, response) is redacted, then encrypted, and leaves the top level.
 * - errorMessage is redacted in place (it often echoes the input).
 *
 * The data subject is the user; patientId has its own subject. Without a userId the first
 * present of sessionId, ip, userAgent is the subject; content with no identifier at all is
 * encrypted under the shared `anonymous` subject. Ciphertexts bind event id, field and key
 * id as associated data, so a ciphertext moved to another event or field does not open.
 */
import { AitrailError } from "../../errors.js";
import type { AuditEvent } from "../../event/schema.js";
import { SealOpenError, b64url, fromB64url, hmac, open, seal, utf8 } from "../crypto.js";
import type { Keyring, SubjectKey } from "../keyring/keyring.js";
import type { SubjectKind } from "../keyring/store.js";
import type { Redactor } from "../redact/redactor.js";

export const PROTECTION_SCHEME = "aitrail-psn-aes256gcm/v1";
export const PSEUDONYM_PREFIX = "psn_";
export const ERASED = "[erased]";

export const IDENTIFIER_FIELDS = ["userId", "patientId", "sessionId", "ip", "userAgent"] as const;
export type IdentifierField = (typeof IDENTIFIER_FIELDS)[number];
export const CONTENT_FIELDS = ["prompt", "response"] as const;
export type ProtectedField = IdentifierField | (typeof CONTENT_FIELDS)[number];

/** The subject kind each identifier field names. */
export const FIELD_KIND: Readonly<Record<IdentifierField, SubjectKind>> = {
  userId: "user",
  patientId: "patient",
  sessionId: "session",
  ip: "ip",
  userAgent: "agent",
};

const OWNER_ORDER: readonly IdentifierField[] = ["userId", "sessionId", "ip", "userAgent"];

export interface ProtectorOptions {
  keyring: Keyring;
  /** Redacts prompt, response and errorMessage; null stores them unredacted (still encrypted). */
  redactor: Redactor | null;
}

export interface RevealResult {
  event: AuditEvent;
  /** Fields whose originals were decrypted. */
  decrypted: string[];
  /** Fields whose subject key is destroyed; they read `[erased]`. */
  erased: string[];
}

export interface SubjectQuery {
  kind: SubjectKind;
  identifier: string;
}

export function pseudonym(salt: Uint8Array, kind: SubjectKind, identifier: string): string {
  return PSEUDONYM_PREFIX + b64url(hmac(salt, `${kind}:${identifier}`).subarray(0, 16));
}

function aad(eventId: string, field: string, keyId: string): Buffer {
  return utf8(`aitrail/field/v1\u0000${eventId}\u0000${field}\u0000${keyId}`);
}

export class Protector {
  readonly #keyring: Keyring;
  readonly #redactor: Redactor | null;

  constructor(options: ProtectorOptions) {
    this.#keyring = options.keyring;
    this.#redactor = options.redactor;
  }

  /** The stored form of `event`. Events with nothing personal are returned unchanged. */
  async protect(event: AuditEvent): Promise<AuditEvent> {
    if (event.protection !== undefined) {
      throw new AitrailError("INVALID_EVENT", "invalid event: protection is set by aitrail, not by callers", {
        details: { problems: [{ field: "protection", message: "must not be set" }] },
      });
    }
    const out: Record<string, unknown> = { ...event };
    const present = (f: string) => typeof out[f] === "string";
    const ownerField = OWNER_ORDER.find(present);
    const hasContent = CONTENT_FIELDS.some(present);
    const hasPatient = present("patientId");
    if (!ownerField && !hasContent && !hasPatient && !present("errorMessage")) return event;

    const ownerKind: SubjectKind | undefined = ownerField ? FIELD_KIND[ownerField] : hasContent ? "anonymous" : undefined;
    const ownerId = ownerField ? (out[ownerField] as string) : "*";
    const [owner, patient] = await Promise.all([
      ownerKind ? this.#keyring.obtain(ownerKind, ownerId) : undefined,
      hasPatient ? this.#keyring.obtain("patient", out.patientId as string) : undefined,
    ]);

    const subjects: Record<string, string> = {};
    const fields: Record<string, string> = {};
    const redactions: Record<string, number> = {};
    const encrypt = (field: string, label: string, key: SubjectKey, value: string) => {
      subjects[label] = key.keyId;
      fields[field] = `${label}:${b64url(seal(key.dataKey, utf8(value), aad(event.eventId, field, key.keyId)))}`;
    };

    for (const field of IDENTIFIER_FIELDS) {
      const value = out[field];
      if (typeof value !== "string") continue;
      const key = field === "patientId" ? patient : owner;
      const label = field === "patientId" ? "patient" : ownerKind;
      if (!key || !label) continue;
      encrypt(field, label, key, value);
      out[field] = pseudonym(key.salt, FIELD_KIND[field], value);
    }

    for (const field of CONTENT_FIELDS) {
      const value = out[field];
      if (typeof value !== "string" || !owner || !ownerKind) continue;
      const text = await this.#redact(value, redactions);
      encrypt(field, ownerKind, owner, text);
      delete out[field];
    }

    if (typeof out.errorMessage === "string") out.errorMessage = await this.#redact(out.errorMessage, redactions);

    if (Object.keys(fields).length === 0 && Object.keys(redactions).length === 0) return out as unknown as AuditEvent;
    out.protection = {
      scheme: PROTECTION_SCHEME,
      subjects,
      fields,
      ...(Object.keys(redactions).length ? { redactions } : {}),
    };
    return out as unknown as AuditEvent;
  }

  /** The event with what can be decrypted restored; an erased subject's fields read `[erased]`. */
  async reveal(event: AuditEvent): Promise<AuditEvent> {
    return (await this.revealReport(event)).event;
  }

  async revealReport(event: AuditEvent): Promise<RevealResult> {
    const { protection, ...rest } = event;
    const out: Record<string, unknown> = { ...rest };
    const decrypted: string[] = [];
    const erased: string[] = [];
    if (!protection) return { event: out as unknown as AuditEvent, decrypted, erased };
    if (protection.scheme !== PROTECTION_SCHEME) {
      throw new AitrailError("KEY_ERROR", `event ${event.eventId}: unknown protection scheme ${protection.scheme}`);
    }
    const keys = new Map<string, Promise<SubjectKey | null>>();
    for (const [field, sealed] of Object.entries(protection.fields)) {
      const colon = sealed.indexOf(":");
      const label = sealed.slice(0, colon);
      const keyId = colon > 0 ? protection.subjects?.[label] : undefined;
      if (!keyId) throw new AitrailError("STORE_CORRUPT", `event ${event.eventId}: field ${field} names no subject key`);
      let pending = keys.get(keyId);
      if (!pending) {
        pending = this.#keyring.byKeyId(keyId);
        keys.set(keyId, pending);
      }
      const key = await pending;
      if (!key) {
        out[field] = ERASED;
        erased.push(field);
        continue;
      }
      try {
        out[field] = open(key.dataKey, fromB64url(sealed.slice(colon + 1)), aad(event.eventId, field, keyId)).toString("utf8");
        decrypted.push(field);
      } catch (err) {
        if (!(err instanceof SealOpenError)) throw err;
        throw new AitrailError(
          "INTEGRITY_VIOLATION",
          `event ${event.eventId}: encrypted field ${field} does not open under its subject key (altered or moved)`,
          { details: { eventId: event.eventId, field } },
        );
      }
    }
    return { event: out as unknown as AuditEvent, decrypted, erased };
  }

  /**
   * The pseudonym stored for an identifier, so queries by the raw value find its events;
   * null when the subject has no key (never seen, or erased): such a query must find nothing.
   * `under` names the subject for an identifier stored under another's salt (the ip of a user).
   */
  async pseudonymFor(kind: SubjectKind, identifier: string, under?: SubjectQuery): Promise<string | null> {
    const subject = under ?? { kind, identifier };
    const key = await this.#keyring.find(subject.kind, subject.identifier);
    return key ? pseudonym(key.salt, kind, identifier) : null;
  }

  async #redact(text: string, counts: Record<string, number>): Promise<string> {
    if (!this.#redactor) return text;
    const result = await this.#redactor.redact(text);
    for (const [kind, n] of Object.entries(result.counts)) counts[kind] = (counts[kind] ?? 0) + n;
    return result.text;
  }
}
