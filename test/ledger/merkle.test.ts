import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AitrailError } from "../../src/errors.js";
import { fromHex, leafHash, toHex } from "../../src/ledger/hash.js";
import { consistencyProof, EMPTY_ROOT, inclusionProof, merkleRoot } from "../../src/ledger/merkle.js";
import { rootFromInclusionProof, verifyConsistency, verifyInclusion } from "../../src/ledger/verify-proof.js";

// The 8-entry test tree of RFC 6962 implementations (Certificate Transparency, Trillian,
// transparency-dev/merkle): entries, the root at each size, and known proofs.
const LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"].map(fromHex);
const ROOTS = [
  "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
  "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
  "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
  "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
  "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];
const INCLUSION = [
  {
    index: 0,
    size: 8,
    proof: [
      "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
  },
  {
    index: 5,
    size: 8,
    proof: [
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  },
  { index: 2, size: 3, proof: ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"] },
  {
    index: 1,
    size: 5,
    proof: [
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
  },
  { index: 0, size: 1, proof: [] },
];
const CONSISTENCY = [
  {
    m: 1,
    n: 8,
    proof: [
      "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
  },
  {
    m: 6,
    n: 8,
    proof: [
      "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  },
  {
    m: 2,
    n: 5,
    proof: ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"],
  },
  {
    m: 6,
    n: 7,
    proof: [
      "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  },
  { m: 1, n: 1, proof: [] },
  { m: 8, n: 8, proof: [] },
];

const hex = (hashes: Uint8Array[]): string[] => hashes.map(toHex);
const root = (size: number): Uint8Array => fromHex(ROOTS[size - 1]!);
const flipBit = (h: Uint8Array, bit: number): Uint8Array => {
  const c = new Uint8Array(h);
  c[0]! ^= 1 << bit;
  return c;
};

describe("RFC 6962 reference vectors", () => {
  it("empty tree root is SHA-256 of the empty string", () => {
    expect(toHex(merkleRoot([]))).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(toHex(EMPTY_ROOT)).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });

  it("roots at every size 1..8", () => {
    for (let size = 1; size <= 8; size++) expect(toHex(merkleRoot(LEAVES.slice(0, size)))).toBe(ROOTS[size - 1]);
  });

  it.each(INCLUSION)("inclusion proof leaf $index of $size", ({ index, size, proof }) => {
    const entries = LEAVES.slice(0, size);
    expect(hex(inclusionProof(entries, index))).toEqual(proof);
    expect(verifyInclusion(LEAVES[index]!, index, size, proof.map(fromHex), root(size))).toBe(true);
  });

  it.each(CONSISTENCY)("consistency proof $m -> $n", ({ m, n, proof }) => {
    expect(hex(consistencyProof(LEAVES.slice(0, n), m))).toEqual(proof);
    expect(verifyConsistency(m, n, root(m), root(n), proof.map(fromHex))).toBe(true);
  });
});

describe("forged inclusion proofs are rejected", () => {
  const some = fromHex("abacaba000000000000000000000000000000000000000000060061e00123456");
  it.each(INCLUSION.filter((v) => v.proof.length > 0))("leaf $index of $size", ({ index, size, proof: hexProof }) => {
    const proof = hexProof.map(fromHex);
    const entry = LEAVES[index]!;
    const r = root(size);
    const forgeries: [string, () => boolean][] = [
      ["index - 1", () => verifyInclusion(entry, index - 1, size, proof, r)],
      ["index + 1", () => verifyInclusion(entry, index + 1, size, proof, r)],
      ["index ^ 2", () => verifyInclusion(entry, index ^ 2, size, proof, r)],
      ["size * 2", () => verifyInclusion(entry, index, size * 2, proof, r)],
      ["size / 2", () => verifyInclusion(entry, index, Math.floor(size / 2), proof, r)],
      ["wrong entry", () => verifyInclusion("WrongLeaf", index, size, proof, r)],
      ["empty-tree root", () => verifyInclusion(entry, index, size, proof, EMPTY_ROOT)],
      ["random root", () => verifyInclusion(entry, index, size, proof, some)],
      ["trailing root", () => verifyInclusion(entry, index, size, [...proof, r], r)],
      ["preceding root", () => verifyInclusion(entry, index, size, [r, ...proof], r)],
      ["trailing garbage", () => verifyInclusion(entry, index, size, [...proof, new Uint8Array(0)], r)],
      ["removed component", () => verifyInclusion(entry, index, size, proof.slice(0, -1), r)],
      ["inserted component", () => verifyInclusion(entry, index, size, [proof[0]!, some, ...proof.slice(1)], r)],
      ...proof.map((_, i): [string, () => boolean] => [
        `bit flip in proof[${i}]`,
        () => verifyInclusion(entry, index, size, proof.map((h, j) => (j === i ? flipBit(h, 3) : h)), r),
      ]),
    ];
    const accepted = forgeries.filter(([, f]) => f()).map(([name]) => name);
    expect(accepted).toEqual([]);
  });
});

describe("forged consistency proofs are rejected", () => {
  it.each(CONSISTENCY.filter((v) => v.proof.length > 0))("$m -> $n", ({ m, n, proof: hexProof }) => {
    const proof = hexProof.map(fromHex);
    const r1 = root(m);
    const r2 = root(n);
    const forgeries: [string, () => boolean][] = [
      ["m - 1", () => verifyConsistency(m - 1, n, r1, r2, proof)],
      ["m + 1", () => verifyConsistency(m + 1, n, r1, r2, proof)],
      ["m ^ 2", () => verifyConsistency(m ^ 2, n, r1, r2, proof)],
      ["n * 2", () => verifyConsistency(m, n * 2, r1, r2, proof)],
      ["n / 2", () => verifyConsistency(m, Math.floor(n / 2), r1, r2, proof)],
      ["wrong root m", () => verifyConsistency(m, n, root(m === 1 ? 2 : 1), r2, proof)],
      ["wrong root n", () => verifyConsistency(m, n, r1, root(n === 8 ? 7 : 8), proof)],
      ["swapped roots", () => verifyConsistency(m, n, r2, r1, proof)],
      ["empty proof", () => verifyConsistency(m, n, r1, r2, [])],
      ["trailing root m", () => verifyConsistency(m, n, r1, r2, [...proof, r1])],
      ["trailing root n", () => verifyConsistency(m, n, r1, r2, [...proof, r2])],
      ["preceding root m", () => verifyConsistency(m, n, r1, r2, [r1, ...proof])],
      ["preceding proof[0]", () => verifyConsistency(m, n, r1, r2, [proof[0]!, ...proof])],
      ["truncated", () => verifyConsistency(m, n, r1, r2, proof.slice(0, -1))],
      ...proof.map((_, i): [string, () => boolean] => [
        `bit flip in proof[${i}]`,
        () => verifyConsistency(m, n, r1, r2, proof.map((h, j) => (j === i ? flipBit(h, 4) : h))),
      ]),
    ];
    const accepted = forgeries.filter(([, f]) => f()).map(([name]) => name);
    expect(accepted).toEqual([]);
  });

  it("edge sizes", () => {
    expect(verifyConsistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])).toBe(true);
    expect(verifyConsistency(0, 5, EMPTY_ROOT, root(5), [])).toBe(true);
    expect(verifyConsistency(0, 5, root(1), root(5), [])).toBe(false);
    expect(verifyConsistency(0, 5, EMPTY_ROOT, root(5), [root(1)])).toBe(false);
    expect(verifyConsistency(3, 3, root(3), root(3), [root(1)])).toBe(false);
    expect(verifyConsistency(3, 3, root(3), root(4), [])).toBe(false);
    expect(verifyConsistency(4, 3, root(4), root(3), [])).toBe(false);
  });
});

describe("malformed input never throws", () => {
  const r = root(8);
  const junk: unknown[] = [undefined, null, -1, 1.5, NaN, Infinity, 2 ** 60, "x", {}, [], [new Uint8Array(31)], new Uint8Array(33), [1, 2], Symbol("s")];
  it("verifyInclusion and verifyConsistency return false for junk in any position", () => {
    const call = (f: (...a: unknown[]) => unknown, args: unknown[]) => f(...args);
    const good = { entry: LEAVES[0]!, index: 0, size: 8, proof: INCLUSION[0]!.proof.map(fromHex), root: r };
    for (const j of junk) {
      for (let pos = 0; pos < 5; pos++) {
        const args: unknown[] = [good.entry, good.index, good.size, good.proof, good.root];
        args[pos] = j;
        expect(call(verifyInclusion as (...a: unknown[]) => unknown, args)).toBe(false);
        const cargs: unknown[] = [6, 8, root(6), r, CONSISTENCY[1]!.proof.map(fromHex)];
        cargs[pos] = j;
        expect(call(verifyConsistency as (...a: unknown[]) => unknown, cargs)).toBe(false);
      }
    }
  });

  it("proofs longer than any real tree are refused quickly", () => {
    const long = Array.from({ length: 10_000 }, () => r);
    expect(verifyInclusion(LEAVES[0]!, 0, 8, long, r)).toBe(false);
    expect(rootFromInclusionProof(leafHash(LEAVES[0]!), 0, 8, long)).toBeNull();
  });

  it("proof generation rejects out-of-range arguments with INVALID_ARGUMENT", () => {
    expect(() => inclusionProof(LEAVES, 8)).toThrow(AitrailError);
    expect(() => inclusionProof([], 0)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => consistencyProof(LEAVES, 9)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => consistencyProof(LEAVES, -1)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });
});

describe("random trees", () => {
  // Distinct entries (the position is part of each), so a proof for one leaf cannot fit another.
  const entriesArb = fc
    .array(fc.uint8Array({ maxLength: 12 }), { minLength: 1, maxLength: 70 })
    .map((list) => list.map((e, i) => new Uint8Array([i, ...e])));

  it("every inclusion proof round-trips, has ceil(log2 n) hashes at most, and fails for other leaves", () => {
    fc.assert(
      fc.property(entriesArb, fc.nat(), (entries, pick) => {
        const n = entries.length;
        const index = pick % n;
        const r = merkleRoot(entries);
        const proof = inclusionProof(entries, index);
        expect(proof.length).toBeLessThanOrEqual(Math.ceil(Math.log2(n)));
        expect(verifyInclusion(entries[index]!, index, n, proof, r)).toBe(true);
        const other = new Uint8Array([...entries[index]!, 1]);
        expect(verifyInclusion(other, index, n, proof, r)).toBe(false);
        if (n > 1) expect(verifyInclusion(entries[index]!, (index + 1) % n, n, proof, r)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it("every consistency proof round-trips and fails against a changed old tree", () => {
    fc.assert(
      fc.property(entriesArb, fc.nat(), fc.nat(255), (entries, pick, byte) => {
        const n = entries.length;
        const m = 1 + (pick % n);
        const proof = consistencyProof(entries, m);
        const rootM = merkleRoot(entries.slice(0, m));
        const rootN = merkleRoot(entries);
        expect(verifyConsistency(m, n, rootM, rootN, proof)).toBe(true);
        // Rewriting history: change one early entry; the old root no longer fits.
        const changed = entries.slice(0, m).map((e, i) => (i === pick % m ? new Uint8Array([...e, byte]) : e));
        expect(verifyConsistency(m, n, merkleRoot(changed), rootN, proof)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});
