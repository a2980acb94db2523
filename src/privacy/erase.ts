/**
 * Erasure (GDPR Art. 17) by crypto-shredding: the subject's data key and pseudonym salt are
 * destroyed. Events are not touched, so the ledger still verifies; their pseudonyms can no
 * longer be recomputed from the identifier and their encrypted fields can no longer be read.
 * The tombstone to record holds no personal data: the subject kind and the random id of the
 * destroyed key (which events already carry), never the identifier or its pseudonym.
 */
import { AitrailError } from "../errors.js";
import type { AuditEventInput } from "../event/schema.js";
import type { Keyring } from "./keyring/keyring.js";

export const ERASABLE_KINDS = ["user", "patient", "session", "ip", "agent"] as const;
export type ErasableKind = (typeof ERASABLE_KINDS)[number];

export interface ErasureRequest {
  /** The raw identifier, e.g. "user-12345". */
  subject: string;
  /** Default "user". */
  kind?: ErasableKind;
  /** A ticket or request reference to keep with the tombstone (no personal data). */
  reference?: string;
  now?: Date;
}

export type ErasureResult =
  | { status: "erased"; kind: ErasableKind; keyId: string; tombstone: AuditEventInput }
  | { status: "unknown_subject"; kind: ErasableKind; message: string };

const REFERENCE = /^[A-Za-z0-9._:#/-]{1,128}$/;

export async function eraseSubject(keyring: Keyring, request: ErasureRequest): Promise<ErasureResult> {
  const kind = request.kind ?? "user";
  if (!(ERASABLE_KINDS as readonly string[]).includes(kind)) {
    throw new AitrailError("INVALID_ARGUMENT", `erasure kind must be one of ${ERASABLE_KINDS.join(", ")}`);
  }
  if (typeof request.subject !== "string" || request.subject.length === 0) {
    throw new AitrailError("INVALID_ARGUMENT", "erasure needs the subject's identifier");
  }
  if (request.reference !== undefined && !REFERENCE.test(request.reference)) {
    throw new AitrailError("INVALID_ARGUMENT", `erasure reference must match ${REFERENCE.source} (a ticket id, not free text)`);
  }
  const outcome = await keyring.erase(kind, request.subject);
  if (!outcome.erased || !outcome.keyId) {
    return {
      status: "unknown_subject",
      kind,
      message: `no ${kind} with that identifier has data in this trail (never recorded, or already erased); nothing was changed`,
    };
  }
  const erasedAt = (request.now ?? new Date()).toISOString();
  return {
    status: "erased",
    kind,
    keyId: outcome.keyId,
    tombstone: {
      type: "subject.erased",
      action: "erasure",
      status: "success",
      legalBasis: "legal-obligation",
      frameworks: ["GDPR"],
      details: {
        subjectKind: kind,
        keyId: outcome.keyId,
        method: "crypto-shredding",
        article: "GDPR Art. 17",
        erasedAt,
        ...(request.reference ? { reference: request.reference } : {}),
      },
    },
  };
}
