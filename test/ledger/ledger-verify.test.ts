import { describe, expect, it } from "vitest";
import { signCheckpoint } from "../../src/ledger/checkpoint.js";
import type { CheckpointRecord } from "../../src/ledger/checkpointer.js";
import { leafHash } from "../../src/ledger/hash.js";
import { LedgerVerifier } from "../../src/ledger/ledger-verify.js";
import { MemoryTree } from "../../src/ledger/memory-tree.js";
import { parseVerifierKey, signerFromSeed } from "../../src/ledger/note.js";
import { frontierKeys } from "../../src/ledger/seal.js";
import { rootAt, type TreeReader } from "../../src/ledger/tree.js";

const ORIGIN = "aitrail.local/unit";
const signer = signerFromSeed(ORIGIN, new Uint8Array(32).fill(3));
const trusted = [parseVerifierKey(signer.verifierKey)];
const leaves = Array.from({ length: 100 }, (_, i) => leafHash(`record ${i}`));

async function setup(sizes: number[]): Promise<{ tree: MemoryTree; checkpoints: CheckpointRecord[] }> {
  const tree = new MemoryTree();
  tree.append(leaves);
  const checkpoints: CheckpointRecord[] = [];
  for (const treeSize of sizes) {
    const rootHash = await rootAt(tree, treeSize);
    checkpoints.push({ treeSize, rootHash, note: signCheckpoint({ origin: ORIGIN, treeSize, rootHash }, signer), createdAt: "2025-01-01T00:00:00.000Z" });
  }
  return { tree, checkpoints };
}

async function run(opts: { from: number; to?: number; sizes: number[]; nodes?: (t: MemoryTree) => TreeReader; frontier?: (f: Uint8Array[]) => Uint8Array[] }) {
  const { tree, checkpoints } = await setup(opts.sizes);
  const nodes = opts.nodes ? opts.nodes(tree) : tree;
  const frontier = await tree.getNodes(frontierKeys(opts.from));
  const v = new LedgerVerifier({
    checkpoints,
    witness: null,
    trusted,
    origin: ORIGIN,
    nodes,
    fromSeq: opts.from,
    frontier: opts.frontier ? opts.frontier(frontier) : frontier,
  });
  for (let seq = opts.from; seq < (opts.to ?? 100); seq++) v.add(leaves[seq]!, seq);
  return v.finish();
}

describe("LedgerVerifier", () => {
  it("from genesis: every checkpoint matches", async () => {
    expect(await run({ from: 0, sizes: [1, 30, 64, 100] })).toMatchObject({ ok: true, size: 100, checkpoints: 4 });
  });

  it("after a purged prefix: resumes from the kept frontier and checks archived checkpoints by consistency", async () => {
    expect(await run({ from: 50, sizes: [7, 30, 50, 60, 100] })).toMatchObject({ ok: true, size: 100 });
    expect(await run({ from: 64, sizes: [33, 64, 99] })).toMatchObject({ ok: true, size: 100 });
  });

  it("after a purge, a changed kept frontier fails on the signed roots", async () => {
    const r = await run({
      from: 50,
      sizes: [60, 100],
      frontier: (f) => f.map((h, i) => (i === 0 ? leafHash("forged") : h)),
    });
    expect(r).toMatchObject({ ok: false, problem: "root-mismatch" });
  });

  it("after a purge, archived nodes that do not match the signed prefix fail", async () => {
    const r = await run({
      from: 50,
      sizes: [30, 100],
      nodes: (t) => ({
        getNodes: async (keys) => (await t.getNodes(keys)).map((h, i) => (keys[i]!.level === 1 && keys[i]!.index === 14 ? leafHash("x") : h)),
      }),
    });
    expect(r).toMatchObject({ ok: false, problem: "root-mismatch" });
  });

  it("a walk cut short of a checkpoint is truncated at the cut", async () => {
    expect(await run({ from: 0, to: 80, sizes: [50, 90] })).toMatchObject({ ok: false, problem: "truncated", firstBadSeq: 80 });
  });

  it("feeding out of order is a programming error", async () => {
    const { checkpoints } = await setup([]);
    const v = new LedgerVerifier({ checkpoints, witness: null, trusted, origin: ORIGIN });
    v.add(leaves[0]!, 0);
    expect(() => v.add(leaves[2]!, 2)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });

  it("an empty ledger with an empty-tree checkpoint verifies", async () => {
    const { checkpoints } = await setup([0]);
    const v = new LedgerVerifier({ checkpoints, witness: null, trusted, origin: ORIGIN });
    expect(await v.finish()).toMatchObject({ ok: true, size: 0 });
  });
});
