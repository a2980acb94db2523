/**
 * Proof verification, RFC 9162 sections 2.1.3.2 and 2.1.4.2.
 *
 * Verifiers take untrusted input: they return false (or null), never throw, whatever they
 * are handed. Tree sizes are plain numbers, so every shift is a division (JavaScript's
 * bit operators would cut them to 32 bits).
 */
import { equalBytes, HASH_SIZE, leafHash, nodeHash } from "./hash.js";
import { EMPTY_ROOT, type Entry } from "./merkle.js";

/** No valid proof for a tree of at most 2^53 leaves is longer than this. */
export const MAX_PROOF_LENGTH = 128;

function isHash(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length === HASH_SIZE;
}

function isProof(value: unknown): value is Uint8Array[] {
  return Array.isArray(value) && value.length <= MAX_PROOF_LENGTH && value.every(isHash);
}

function isSize(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

const odd = (x: number): boolean => x % 2 === 1;
const half = (x: number): number => Math.floor(x / 2);

function isPowerOfTwo(x: number): boolean {
  let k = 1;
  while (k < x) k *= 2;
  return k === x;
}

/**
 * The root that an audit path leads to, or null when the path cannot belong to a tree of
 * that size (wrong length, index out of range, malformed input).
 */
export function rootFromInclusionProof(leaf: Uint8Array, index: number, treeSize: number, proof: readonly Uint8Array[]): Uint8Array | null {
  try {
    if (!isHash(leaf) || !isSize(index) || !isSize(treeSize) || index >= treeSize || !isProof(proof)) return null;
    let fn = index;
    let sn = treeSize - 1;
    let r = leaf;
    for (const p of proof) {
      if (sn === 0) return null;
      if (odd(fn) || fn === sn) {
        r = nodeHash(p, r);
        if (!odd(fn)) {
          while (!odd(fn) && fn !== 0) {
            fn = half(fn);
            sn = half(sn);
          }
        }
      } else {
        r = nodeHash(r, p);
      }
      fn = half(fn);
      sn = half(sn);
    }
    return sn === 0 ? r : null;
  } catch {
    return null;
  }
}

/** Checks an audit path given the leaf hash rather than the entry. */
export function verifyInclusionHash(leaf: Uint8Array, index: number, treeSize: number, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  try {
    if (!isHash(root)) return false;
    const computed = rootFromInclusionProof(leaf, index, treeSize, proof);
    return computed !== null && equalBytes(computed, root);
  } catch {
    return false;
  }
}

/** True when `proof` shows that `entry` is leaf `index` of the tree of `treeSize` leaves with `root`. */
export function verifyInclusion(entry: Entry, index: number, treeSize: number, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  try {
    if (!(entry instanceof Uint8Array) && typeof entry !== "string") return false;
    return verifyInclusionHash(leafHash(entry), index, treeSize, proof, root);
  } catch {
    return false;
  }
}

/**
 * True when `proof` shows that the tree of size n with `rootN` extends the tree of size m
 * with `rootM`. For m = n the proof must be empty and the roots equal; for m = 0 the proof
 * must be empty and rootM the empty-tree hash.
 */
export function verifyConsistency(m: number, n: number, rootM: Uint8Array, rootN: Uint8Array, proof: readonly Uint8Array[]): boolean {
  try {
    if (!isSize(m) || !isSize(n) || m > n || !isHash(rootM) || !isHash(rootN) || !isProof(proof)) return false;
    if (m === 0) return proof.length === 0 && equalBytes(rootM, EMPTY_ROOT);
    if (m === n) return proof.length === 0 && equalBytes(rootM, rootN);
    if (proof.length === 0) return false;

    const path = isPowerOfTwo(m) ? [rootM, ...proof] : [...proof];
    let fn = m - 1;
    let sn = n - 1;
    while (odd(fn)) {
      fn = half(fn);
      sn = half(sn);
    }
    let fr = path[0]!;
    let sr = path[0]!;
    for (let i = 1; i < path.length; i++) {
      const c = path[i]!;
      if (sn === 0) return false;
      if (odd(fn) || fn === sn) {
        fr = nodeHash(c, fr);
        sr = nodeHash(c, sr);
        if (!odd(fn)) {
          while (!odd(fn) && fn !== 0) {
            fn = half(fn);
            sn = half(sn);
          }
        }
      } else {
        sr = nodeHash(sr, c);
      }
      fn = half(fn);
      sn = half(sn);
    }
    return sn === 0 && equalBytes(fr, rootM) && equalBytes(sr, rootN);
  } catch {
    return false;
  }
}
