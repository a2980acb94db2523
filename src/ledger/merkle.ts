/**
 * RFC 9162 section 2.1 Merkle tree over a list of entries held in memory.
 *
 *   MTH({})      = SHA-256()
 *   MTH({d(0)})  = SHA-256(0x00 || d(0))
 *   MTH(D[n])    = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))   k = largest power of 2 < n
 *
 * Proof generation follows the PATH and PROOF/SUBPROOF definitions of sections 2.1.3.1 and
 * 2.1.4.1 literally. These functions take the whole list; the store-backed versions in
 * tree.ts read O(log n) stored subtree hashes instead. Verifiers live in verify.ts.
 */
import { AitrailError } from "../errors.js";
import { leafHash, nodeHash, sha256 } from "./hash.js";

/** An entry is raw bytes; a string stands for its UTF-8 bytes. */
export type Entry = Uint8Array | string;

/** MTH of the empty tree: SHA-256 of the empty string. */
export const EMPTY_ROOT: Uint8Array = sha256(new Uint8Array(0));

/** The largest power of two strictly below n (n >= 2). */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function mth(leaves: readonly Uint8Array[], lo: number, hi: number): Uint8Array {
  const n = hi - lo;
  if (n === 0) return EMPTY_ROOT;
  if (n === 1) return leaves[lo]!;
  const k = splitPoint(n);
  return nodeHash(mth(leaves, lo, lo + k), mth(leaves, lo + k, hi));
}

/** The Merkle tree hash of the given leaf hashes. */
export function rootFromLeafHashes(leafHashes: readonly Uint8Array[]): Uint8Array {
  return mth(leafHashes, 0, leafHashes.length);
}

export function merkleRoot(entries: readonly Entry[]): Uint8Array {
  return rootFromLeafHashes(entries.map((e) => leafHash(e)));
}

function checkIndex(name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new AitrailError("INVALID_ARGUMENT", `${name} must be an integer in [${min}, ${max}], got ${String(value)}`, {
      details: { [name]: value },
    });
  }
}

function path(leaves: readonly Uint8Array[], m: number, lo: number, hi: number): Uint8Array[] {
  const n = hi - lo;
  if (n === 1) return [];
  const k = splitPoint(n);
  if (m < k) return [...path(leaves, m, lo, lo + k), mth(leaves, lo + k, hi)];
  return [...path(leaves, m - k, lo + k, hi), mth(leaves, lo, lo + k)];
}

/** Audit path for leaf `index` in the tree of the given leaf hashes (RFC 9162 2.1.3.1). */
export function inclusionProofFromLeafHashes(leafHashes: readonly Uint8Array[], index: number): Uint8Array[] {
  checkIndex("index", index, 0, leafHashes.length - 1);
  return path(leafHashes, index, 0, leafHashes.length);
}

export function inclusionProof(entries: readonly Entry[], index: number): Uint8Array[] {
  return inclusionProofFromLeafHashes(
    entries.map((e) => leafHash(e)),
    index,
  );
}

function subproof(leaves: readonly Uint8Array[], m: number, lo: number, hi: number, b: boolean): Uint8Array[] {
  const n = hi - lo;
  if (m === n) return b ? [] : [mth(leaves, lo, hi)];
  const k = splitPoint(n);
  if (m <= k) return [...subproof(leaves, m, lo, lo + k, b), mth(leaves, lo + k, hi)];
  return [...subproof(leaves, m - k, lo + k, hi, false), mth(leaves, lo, lo + k)];
}

/**
 * Consistency proof from the tree of the first m leaves to the tree of all of them
 * (RFC 9162 2.1.4.1). Empty when m is 0 or m equals the number of leaves.
 */
export function consistencyProofFromLeafHashes(leafHashes: readonly Uint8Array[], m: number): Uint8Array[] {
  checkIndex("m", m, 0, leafHashes.length);
  if (m === 0 || m === leafHashes.length) return [];
  return subproof(leafHashes, m, 0, leafHashes.length, true);
}

export function consistencyProof(entries: readonly Entry[], m: number): Uint8Array[] {
  return consistencyProofFromLeafHashes(
    entries.map((e) => leafHash(e)),
    m,
  );
}
