import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { leafHash, toHex } from "../../src/ledger/hash.js";
import { MemoryTree } from "../../src/ledger/memory-tree.js";
import { consistencyProofFromLeafHashes, EMPTY_ROOT, inclusionProofFromLeafHashes, rootFromLeafHashes } from "../../src/ledger/merkle.js";
import type { NodeKey } from "../../src/ledger/seal.js";
import { consistencyProofAt, inclusionProofAt, rangeKeys, rootAt, type TreeReader } from "../../src/ledger/tree.js";
import { verifyConsistency, verifyInclusionHash } from "../../src/ledger/verify-proof.js";

/** Counts the getNodes calls and keys a reader is asked for. */
class CountingReader implements TreeReader {
  calls = 0;
  keys: NodeKey[] = [];
  constructor(private readonly inner: TreeReader) {}
  getNodes(keys: readonly NodeKey[]): Promise<Uint8Array[]> {
    this.calls += 1;
    this.keys.push(...keys);
    return this.inner.getNodes(keys);
  }
}

function build(n: number, batches: number[] = [n]): { tree: MemoryTree; leaves: Uint8Array[] } {
  const leaves = Array.from({ length: n }, (_, i) => leafHash(`entry ${i}`));
  const tree = new MemoryTree();
  let at = 0;
  for (const b of batches) {
    tree.append(leaves.slice(at, at + b));
    at += b;
  }
  if (at < n) tree.append(leaves.slice(at));
  return { tree, leaves };
}

const hex = (hs: Uint8Array[]): string[] => hs.map(toHex);

describe("store-backed proofs match the in-memory RFC recursion", () => {
  const { tree, leaves } = build(45, [1, 2, 7, 13, 22]);

  it("root at every size", async () => {
    expect(toHex(await rootAt(tree, 0))).toBe(toHex(EMPTY_ROOT));
    for (let size = 1; size <= 45; size++) {
      expect(toHex(await rootAt(tree, size))).toBe(toHex(rootFromLeafHashes(leaves.slice(0, size))));
    }
  });

  it("every inclusion proof at every size", async () => {
    for (let size = 1; size <= 45; size++) {
      for (let index = 0; index < size; index++) {
        const proof = await inclusionProofAt(tree, index, size);
        expect(hex(proof)).toEqual(hex(inclusionProofFromLeafHashes(leaves.slice(0, size), index)));
      }
    }
  });

  it("every consistency proof between sizes", async () => {
    for (let n = 0; n <= 45; n++) {
      for (let m = 0; m <= n; m++) {
        const proof = await consistencyProofAt(tree, m, n);
        expect(hex(proof)).toEqual(hex(consistencyProofFromLeafHashes(leaves.slice(0, n), m)));
      }
    }
  });

  it("random batch shapes give the same nodes and proofs", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 12 }), fc.nat(), fc.nat(), async (batches, a, b) => {
        const n = batches.reduce((x, y) => x + y, 0);
        const { tree: t, leaves: ls } = build(n, batches);
        const size = 1 + (a % n);
        const index = b % size;
        const m = 1 + (b % size);
        expect(toHex(await rootAt(t, size))).toBe(toHex(rootFromLeafHashes(ls.slice(0, size))));
        const proof = await inclusionProofAt(t, index, size);
        expect(verifyInclusionHash(ls[index]!, index, size, proof, await rootAt(t, size))).toBe(true);
        const cproof = await consistencyProofAt(t, m, size);
        expect(verifyConsistency(m, size, await rootAt(t, m), await rootAt(t, size), cproof)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });
});

describe("node reads are O(log n) and batched", () => {
  const n = 1000;
  const { tree } = build(n);

  it("one getNodes call per root or proof, at most 2*ceil(log2 n) keys", async () => {
    const bound = 2 * Math.ceil(Math.log2(n));
    for (const [index, size] of [
      [0, 1000],
      [999, 1000],
      [511, 777],
      [512, 513],
      [300, 999],
    ] as const) {
      const r = new CountingReader(tree);
      const proof = await inclusionProofAt(r, index, size);
      expect(r.calls).toBe(1);
      expect(r.keys.length).toBeLessThanOrEqual(bound);
      expect(proof.length).toBeLessThanOrEqual(Math.ceil(Math.log2(size)));
    }
    for (const [m, size] of [
      [1, 1000],
      [999, 1000],
      [511, 777],
      [300, 999],
    ] as const) {
      const r = new CountingReader(tree);
      await consistencyProofAt(r, m, size);
      expect(r.calls).toBe(1);
      expect(r.keys.length).toBeLessThanOrEqual(bound);
    }
    const r = new CountingReader(tree);
    await rootAt(r, 999);
    expect(r.calls).toBe(1);
    expect(r.keys.length).toBe(8); // 999 = 1111100111b has eight one-bits
  });

  it("rangeKeys splits an aligned range into aligned perfect subtrees", () => {
    // Leaves [80, 95) of the 95-leaf tree: 8 + 4 + 2 + 1.
    expect(rangeKeys(80, 95)).toEqual([
      { level: 3, index: 10 },
      { level: 2, index: 22 },
      { level: 1, index: 46 },
      { level: 0, index: 94 },
    ]);
    expect(rangeKeys(0, 64)).toEqual([{ level: 6, index: 0 }]);
  });
});

describe("bad arguments and bad stores", () => {
  const { tree } = build(10);

  it("out-of-range sizes and indexes are INVALID_ARGUMENT", async () => {
    await expect(inclusionProofAt(tree, 10, 10)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(inclusionProofAt(tree, 0, 0)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(consistencyProofAt(tree, 5, 4)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(rootAt(tree, -1)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(rootAt(tree, 1.5)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("a size beyond what the store holds is STORE_CORRUPT", async () => {
    await expect(rootAt(tree, 11)).rejects.toMatchObject({ code: "STORE_CORRUPT" });
  });

  it("a store returning the wrong number of hashes or short hashes is STORE_CORRUPT", async () => {
    const short: TreeReader = { getNodes: (keys) => Promise.resolve(keys.map(() => new Uint8Array(31))) };
    const few: TreeReader = { getNodes: () => Promise.resolve([]) };
    await expect(rootAt(short, 5)).rejects.toMatchObject({ code: "STORE_CORRUPT" });
    await expect(inclusionProofAt(few, 1, 5)).rejects.toMatchObject({ code: "STORE_CORRUPT" });
  });
});
