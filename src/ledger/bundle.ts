/**
 * Evidence bundles: everything an auditor needs to check, offline and with only the public
 * key, that one audit record is in the ledger.
 *
 *   {
 *     "format": "aitrail-evidence/1",
 *     "record": "<the canonical record, exactly the bytes that were hashed>",
 *     "eventId": "evt_...",
 *     "leafIndex": 41,
 *     "treeSize": 1042,
 *     "inclusionProof": ["<base64 hash>", ...],
 *     "checkpoint": "<the signed checkpoint note>"
 *   }
 *
 * verifyBundle never throws: it returns ok, or the first failed check with a coded reason.
 */
import type { ErrorCode } from "../errors.js";
import { AitrailError, errorMessage } from "../errors.js";
import { HASH_SIZE, leafHash, toHex } from "./hash.js";
import { decodeBase64Strict, encodeBase64, parseVerifierKey, type VerifierKey } from "./note.js";
import { openCheckpoint } from "./checkpoint.js";
import { MAX_PROOF_LENGTH, verifyInclusionHash } from "./verify-proof.js";

export const BUNDLE_FORMAT = "aitrail-evidence/1";
/** Bundles larger than this (as JSON text) are refused before parsing. */
export const MAX_BUNDLE_SIZE = 16 * 1024 * 1024;

export interface EvidenceBundle {
  format: typeof BUNDLE_FORMAT;
  record: string;
  eventId: string;
  leafIndex: number;
  treeSize: number;
  inclusionProof: string[];
  checkpoint: string;
}

export interface BundleVerified {
  ok: true;
  eventId: string;
  leafIndex: number;
  treeSize: number;
  origin: string;
  /** Base64 Merkle root the checkpoint signs. */
  rootHash: string;
  /** Hex leaf hash of the record. */
  leafHash: string;
  /** Names of the trusted keys whose signatures verified. */
  signedBy: string[];
  /** The record, parsed. */
  record: Record<string, unknown>;
}

export interface BundleRejected {
  ok: false;
  code: ErrorCode;
  reason: string;
}

export type BundleResult = BundleVerified | BundleRejected;

export function createBundle(input: {
  record: string;
  eventId: string;
  leafIndex: number;
  treeSize: number;
  inclusionProof: readonly Uint8Array[];
  checkpoint: string;
}): EvidenceBundle {
  return {
    format: BUNDLE_FORMAT,
    record: input.record,
    eventId: input.eventId,
    leafIndex: input.leafIndex,
    treeSize: input.treeSize,
    inclusionProof: input.inclusionProof.map(encodeBase64),
    checkpoint: input.checkpoint,
  };
}

class Rejection extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly reason: string,
  ) {
    super(reason);
  }
}

const reject = (code: ErrorCode, reason: string): never => {
  throw new Rejection(code, reason);
};

function parseShape(input: unknown): EvidenceBundle & { proof: Uint8Array[] } {
  let value = input;
  if (typeof value === "string") {
    if (value.length > MAX_BUNDLE_SIZE) reject("MALFORMED_PROOF", `bundle larger than ${MAX_BUNDLE_SIZE} characters`);
    try {
      value = JSON.parse(value);
    } catch {
      reject("MALFORMED_PROOF", "bundle is not JSON");
    }
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return reject("MALFORMED_PROOF", "bundle is not a JSON object");
  const b = value as Record<string, unknown>;
  if (b.format !== BUNDLE_FORMAT) reject("MALFORMED_PROOF", `format must be "${BUNDLE_FORMAT}"`);
  if (typeof b.record !== "string") reject("MALFORMED_PROOF", "record must be a string (the canonical record)");
  if (typeof b.eventId !== "string" || b.eventId.length === 0) reject("MALFORMED_PROOF", "eventId must be a non-empty string");
  const isCount = (x: unknown): x is number => typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
  const treeSize = isCount(b.treeSize) && b.treeSize > 0 ? b.treeSize : reject("MALFORMED_PROOF", "treeSize must be a positive integer");
  if (!isCount(b.leafIndex) || b.leafIndex >= treeSize) reject("MALFORMED_PROOF", "leafIndex must be an integer below treeSize");
  if (!Array.isArray(b.inclusionProof) || b.inclusionProof.length > MAX_PROOF_LENGTH) reject("MALFORMED_PROOF", "inclusionProof must be an array of hashes");
  const proof = (b.inclusionProof as unknown[]).map((h, i) => {
    const bytes = typeof h === "string" ? decodeBase64Strict(h) : null;
    if (!bytes || bytes.length !== HASH_SIZE) return reject("MALFORMED_PROOF", `inclusionProof[${i}] is not base64 of a ${HASH_SIZE}-byte hash`);
    return bytes;
  });
  if (typeof b.checkpoint !== "string") reject("MALFORMED_PROOF", "checkpoint must be the signed note text");
  return { ...(b as unknown as EvidenceBundle), proof };
}

/**
 * Checks a bundle with nothing but trusted verifier keys: the checkpoint's signature, that
 * it is for the bundle's tree size, that the record names the bundle's event, and that the
 * inclusion proof leads from the record's leaf hash to the signed root.
 */
export function verifyBundle(bundle: unknown, trusted: readonly (VerifierKey | string)[]): BundleResult {
  try {
    const b = parseShape(bundle);

    let keys: VerifierKey[];
    try {
      keys = trusted.map((k) => (typeof k === "string" ? parseVerifierKey(k) : k));
    } catch (err) {
      return { ok: false, code: "MALFORMED_KEY", reason: errorMessage(err) };
    }
    if (keys.length === 0) return { ok: false, code: "MALFORMED_KEY", reason: "no verifier key given" };

    const cp = openCheckpoint(b.checkpoint, keys);
    if (cp.treeSize !== b.treeSize) {
      reject("INTEGRITY_VIOLATION", `the bundle claims tree size ${b.treeSize} but its checkpoint is for tree size ${cp.treeSize}`);
    }

    let record: unknown;
    try {
      record = JSON.parse(b.record);
    } catch {
      reject("MALFORMED_PROOF", "record is not JSON");
    }
    if (typeof record !== "object" || record === null || Array.isArray(record)) return reject("MALFORMED_PROOF", "record is not a JSON object");
    const recordId = (record as Record<string, unknown>).eventId;
    if (recordId !== b.eventId) {
      reject("INTEGRITY_VIOLATION", `the record is event ${typeof recordId === "string" ? recordId : "(none)"}, not ${b.eventId}`);
    }

    const leaf = leafHash(b.record);
    if (!verifyInclusionHash(leaf, b.leafIndex, b.treeSize, b.proof, cp.rootHash)) {
      reject("INTEGRITY_VIOLATION", `the inclusion proof does not lead from this record (leaf ${b.leafIndex}) to the signed root of tree size ${b.treeSize}: the record or the proof was changed`);
    }

    return {
      ok: true,
      eventId: b.eventId,
      leafIndex: b.leafIndex,
      treeSize: b.treeSize,
      origin: cp.origin,
      rootHash: encodeBase64(cp.rootHash),
      leafHash: toHex(leaf),
      signedBy: cp.verifiedBy.map((k) => k.name),
      record: record as Record<string, unknown>,
    };
  } catch (err) {
    if (err instanceof Rejection) return { ok: false, code: err.code, reason: err.reason };
    if (AitrailError.isInstance(err)) return { ok: false, code: err.code, reason: err.message };
    return { ok: false, code: "MALFORMED_PROOF", reason: errorMessage(err) };
  }
}
