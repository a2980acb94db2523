/**
 * Roots and proofs from stored perfect subtree hashes, in O(log n) node reads.
 *
 * Every subtree that RFC 9162's recursion visits covers leaves [lo, hi) with lo a multiple
 * of the smallest power of two >= hi - lo. Such a range splits, by the binary digits of its
 * length (highest first), into aligned perfect subtrees, which are exactly the nodes the
 * store keeps (see seal.ts). Its hash is those nodes folded from the right. A proof is a
 * list of such ranges; all their nodes are fetched in one getNodes call.
 */
import { AitrailError } from "../errors.js";
import { HASH_SIZE, nodeHash } from "./hash.js";
import { EMPTY_ROOT, splitPoint } from "./merkle.js";
import type { NodeKey } from "./seal.js";

/** Read access to stored Merkle subtree hashes; AuditStore satisfies it. */
export interface TreeReader {
  /** Hashes of the given nodes, in order. Level 0 is the leaf hash. */
  getNodes(keys: readonly NodeKey[]): Promise<Uint8Array[]>;
}

type Range = readonly [lo: number, hi: number];

/** The aligned perfect subtrees that make up [lo, hi), left to right. */
export function rangeKeys(lo: number, hi: number): NodeKey[] {
  const keys: NodeKey[] = [];
  let offset = lo;
  let remaining = hi - lo;
  let span = 1;
  let level = 0;
  while (span * 2 <= remaining) {
    span *= 2;
    level += 1;
  }
  for (; remaining > 0; level--, span /= 2) {
    if (remaining >= span) {
      keys.push({ level, index: offset / span });
      offset += span;
      remaining -= span;
    }
  }
  return keys;
}

function fold(hashes: readonly Uint8Array[]): Uint8Array {
  let acc = hashes[hashes.length - 1]!;
  for (let i = hashes.length - 2; i >= 0; i--) acc = nodeHash(hashes[i]!, acc);
  return acc;
}

/** Ranges whose hashes form the audit path of leaf `index` in a tree of `size`, leaf first. */
export function inclusionRanges(index: number, size: number): Range[] {
  const ranges: Range[] = [];
  let lo = 0;
  let hi = size;
  while (hi - lo > 1) {
    const k = splitPoint(hi - lo);
    if (index < lo + k) {
      ranges.push([lo + k, hi]);
      hi = lo + k;
    } else {
      ranges.push([lo, lo + k]);
      lo += k;
    }
  }
  return ranges.reverse();
}

/** Ranges whose hashes form the consistency proof from size m to size n (0 < m < n). */
export function consistencyRanges(m: number, n: number): Range[] {
  const ranges: Range[] = [];
  let lo = 0;
  let hi = n;
  let rel = m;
  let complete = true;
  for (;;) {
    const size = hi - lo;
    if (rel === size) {
      if (!complete) ranges.push([lo, hi]);
      break;
    }
    const k = splitPoint(size);
    if (rel <= k) {
      ranges.push([lo + k, hi]);
      hi = lo + k;
    } else {
      ranges.push([lo, lo + k]);
      rel -= k;
      lo += k;
      complete = false;
    }
  }
  return ranges.reverse();
}

function checkSize(name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new AitrailError("INVALID_ARGUMENT", `${name} must be an integer in [${min}, ${max}], got ${String(value)}`, {
      details: { [name]: value },
    });
  }
}

async function hashRanges(reader: TreeReader, ranges: readonly Range[]): Promise<Uint8Array[]> {
  const perRange = ranges.map(([lo, hi]) => rangeKeys(lo, hi));
  const unique = new Map<string, NodeKey>();
  for (const keys of perRange) for (const k of keys) unique.set(`${k.level}:${k.index}`, k);
  const wanted = [...unique.values()];
  const hashes = wanted.length === 0 ? [] : await reader.getNodes(wanted);
  if (hashes.length !== wanted.length) {
    throw new AitrailError("STORE_CORRUPT", `asked the store for ${wanted.length} Merkle nodes, got ${hashes.length}`);
  }
  const byKey = new Map<string, Uint8Array>();
  wanted.forEach((k, i) => {
    const h = hashes[i];
    if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) {
      throw new AitrailError("STORE_CORRUPT", `Merkle node level ${k.level} index ${k.index} is not a ${HASH_SIZE}-byte hash`, {
        details: { level: k.level, index: k.index },
      });
    }
    byKey.set(`${k.level}:${k.index}`, h);
  });
  return perRange.map((keys) => fold(keys.map((k) => byKey.get(`${k.level}:${k.index}`)!)));
}

/** The Merkle tree hash of the first `size` leaves. */
export async function rootAt(reader: TreeReader, size: number): Promise<Uint8Array> {
  checkSize("size", size, 0, Number.MAX_SAFE_INTEGER);
  if (size === 0) return EMPTY_ROOT;
  const [root] = await hashRanges(reader, [[0, size]]);
  return root!;
}

/** Audit path of leaf `index` in the tree of the first `size` leaves. */
export async function inclusionProofAt(reader: TreeReader, index: number, size: number): Promise<Uint8Array[]> {
  checkSize("size", size, 1, Number.MAX_SAFE_INTEGER);
  checkSize("index", index, 0, size - 1);
  return hashRanges(reader, inclusionRanges(index, size));
}

/** Consistency proof from the tree of size m to the tree of size n. */
export async function consistencyProofAt(reader: TreeReader, m: number, n: number): Promise<Uint8Array[]> {
  checkSize("n", n, 0, Number.MAX_SAFE_INTEGER);
  checkSize("m", m, 0, n);
  if (m === 0 || m === n) return [];
  return hashRanges(reader, consistencyRanges(m, n));
}
