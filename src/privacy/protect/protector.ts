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
const PROTECTED_FIELDS: ReadonlySet<string> = new Set([...IDENTIFIER_FIELDS, ...CONTENT_FIELDS]);
const PSEUDONYM_CACHE = 50_000;

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
  /** (keyId, kind, value) -> pseudonym: the same user's identifiers repeat across events. */
  readonly #pseudonyms = new Map<string, string>();

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

    // One ciphertext per subject holds all of that subject's originals; its key in
    // `fields` lists the field names, which are bound into the associated data.
    const bySubject = new Map<string, { key: SubjectKey; values: Record<string, string> }>();
    const redactions: Record<string, number> = {};
    const keep = (label: string, key: SubjectKey, field: string, value: string) => {
      let entry = bySubject.get(label);
      if (!entry) {
        entry = { key, values: {} };
        bySubject.set(label, entry);
      }
      entry.values[field] = value;
    };

    for (const field of IDENTIFIER_FIELDS) {
      const value = out[field];
      if (typeof value !== "string") continue;
      const key = field === "patientId" ? patient : owner;
      const label = field === "patientId" ? "patient" : ownerKind;
      if (!key || !label) continue;
      keep(label, key, field, value);
      out[field] = this.#pseudonym(key, FIELD_KIND[field], value);
    }

    for (const field of CONTENT_FIELDS) {
      const value = out[field];
      if (typeof value !== "string" || !owner || !ownerKind) continue;
      keep(ownerKind, owner, field, await this.#redact(value, redactions));
      delete out[field];
    }

    const subjects: Record<string, string> = {};
    const fields: Record<string, string> = {};
    for (const [label, { key, values }] of bySubject) {
      const names = Object.keys(values).sort();
      const plaintext = JSON.stringify(names.map((n) => values[n]));
      subjects[label] = key.keyId;
      fields[names.join(",")] = `${label}:${b64url(seal(key.dataKey, utf8(plaintext), aad(event.eventId, names.join(","), key.keyId)))}`;
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
    for (const [list, sealed] of Object.entries(protection.fields)) {
      const names = list.split(",");
      if (!names.every((n) => PROTECTED_FIELDS.has(n))) {
        throw new AitrailError("STORE_CORRUPT", `event ${event.eventId}: protection names unknown field(s) ${list}`);
      }
      const colon = sealed.indexOf(":");
      const label = sealed.slice(0, colon);
      const keyId = colon > 0 ? protection.subjects?.[label] : undefined;
      if (!keyId) throw new AitrailError("STORE_CORRUPT", `event ${event.eventId}: field(s) ${list} name no subject key`);
      let pending = keys.get(keyId);
      if (!pending) {
        pending = this.#keyring.byKeyId(keyId);
        keys.set(keyId, pending);
      }
      const key = await pending;
      if (!key) {
        for (const n of names) out[n] = ERASED;
        erased.push(...names);
        continue;
      }
      let values: unknown;
      try {
        values = JSON.parse(open(key.dataKey, fromB64url(sealed.slice(colon + 1)), aad(event.eventId, list, keyId)).toString("utf8"));
      } catch (err) {
        if (!(err instanceof SealOpenError)) throw err;
        throw new AitrailError(
          "INTEGRITY_VIOLATION",
          `event ${event.eventId}: encrypted field(s) ${list} do not open under their subject key (altered or moved)`,
          { details: { eventId: event.eventId, fields: names } },
        );
      }
      if (!Array.isArray(values) || values.length !== names.length || values.some((v) => typeof v !== "string")) {
        throw new AitrailError("INTEGRITY_VIOLATION", `event ${event.eventId}: encrypted field(s) ${list} hold the wrong shape`);
      }
      const strings = values as string[];
      names.forEach((n, i) => (out[n] = strings[i]));
      decrypted.push(...names);
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

  /** Drops what this protector holds in memory for a destroyed key. */
  forget(keyId: string): void {
    const prefix = `${keyId}\u0000`;
    for (const k of this.#pseudonyms.keys()) if (k.startsWith(prefix)) this.#pseudonyms.delete(k);
  }

  #pseudonym(key: SubjectKey, kind: SubjectKind, value: string): string {
    const cacheKey = `${key.keyId}\u0000${kind}\u0000${value}`;
    let p = this.#pseudonyms.get(cacheKey);
    if (p === undefined) {
      p = pseudonym(key.salt, kind, value);
      if (this.#pseudonyms.size >= PSEUDONYM_CACHE) this.#pseudonyms.delete(this.#pseudonyms.keys().next().value!);
      this.#pseudonyms.set(cacheKey, p);
    }
    return p;
  }

  async #redact(text: string, counts: Record<string, number>): Promise<string> {
    if (!this.#redactor) return text;
    const result = await this.#redactor.redact(text);
    for (const [kind, n] of Object.entries(result.counts)) counts[kind] = (counts[kind] ?? 0) + n;
    return result.text;
  }
}
