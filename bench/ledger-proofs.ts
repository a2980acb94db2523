/**
 * Ledger benchmark: proof generation time and size, root computation, and the ledger part
 * of verify, at 1,000,000 entries (override with --events N).
 *
 *   npx tsx bench/ledger-proofs.ts [--events 1000000] [--no-sqlite] [--keep <dir>]
 *
 * Part 1 runs on an in-memory tree (MemoryTree, the layout the stores keep). Part 2 writes a
 * real SQLite ledger with the store's own append path and measures proofs read from it, and
 * a full verify (chain, leaf hashes, columns + Merkle root + checkpoints). The baseline in
 * the same run is the naive proof that hashes every leaf (RFC 9162 recursion over the list).
 * Prints a table and a JSON line.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { canonicalize } from "../src/event/canonical.js";
import type { AuditEvent } from "../src/event/schema.js";
import { createBundle, verifyBundle } from "../src/ledger/bundle.js";
import { Checkpointer } from "../src/ledger/checkpointer.js";
import { leafHash } from "../src/ledger/hash.js";
import { KeyDirectory } from "../src/ledger/keys.js";
import { prepareLedgerVerify } from "../src/ledger/ledger-verify.js";
import { ledgerPaths } from "../src/ledger/local.js";
import { MemoryTree } from "../src/ledger/memory-tree.js";
import { inclusionProofFromLeafHashes } from "../src/ledger/merkle.js";
import { consistencyProofAt, inclusionProofAt, rootAt, type TreeReader } from "../src/ledger/tree.js";
import { verifyConsistency, verifyInclusionHash } from "../src/ledger/verify-proof.js";
import { columnsOf } from "../src/store/columns.js";
import { SqliteStore } from "../src/store/sqlite/store.js";
import type { PreparedEntry } from "../src/store/types.js";
import { verifyStore } from "../src/store/verify.js";

const args = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const N = Number(arg("--events") ?? 1_000_000);
const withSqlite = !args.includes("--no-sqlite");
const keep = arg("--keep");

/** Deterministic pseudo-random indexes. */
function* indexes(count: number, n: number, seed = 42): Generator<number> {
  let x = seed;
  for (let i = 0; i < count; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    yield x % n;
  }
}

function stats(samplesMs: number[]): { p50: number; p99: number; max: number } {
  const s = [...samplesMs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { p50: at(0.5), p99: at(0.99), max: s[s.length - 1]! };
}

async function timeEach(count: number, n: number, fn: (i: number) => Promise<unknown>): Promise<{ p50: number; p99: number; max: number }> {
  const samples: number[] = [];
  for (const i of indexes(count, n)) {
    const t = performance.now();
    await fn(i);
    samples.push(performance.now() - t);
  }
  return stats(samples);
}

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
function crockford(n: number, width: number): string {
  let out = "";
  for (let k = 0; k < width; k++, n = Math.floor(n / 32)) out = CROCKFORD[n % 32]! + out;
  return out;
}

function event(i: number): AuditEvent {
  const id = `evt_01J${crockford(i, 23)}`;
  return {
    v: 1,
    eventId: id,
    timestamp: new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString(),
    type: "ai.generate",
    userId: `user-${i % 5000}`,
    provider: "openai",
    model: "gpt-4o",
    status: "success",
    latency: 200 + (i % 700),
    cost: Math.round((i % 997) * 0.00001 * 1e6) / 1e6,
    tokens: { input: 100 + (i % 50), output: 20 + (i % 30), total: 120 + (i % 50) + (i % 30) },
  };
}

const rows: { measure: string; value: string }[] = [];
const json: Record<string, unknown> = { events: N };
const row = (measure: string, value: string) => rows.push({ measure, value });
const ms = (x: number) => `${x.toFixed(3)} ms`;

// ---------------------------------------------------------------- in memory
{
  const leaves = Array.from({ length: N }, (_, i) => leafHash(`entry ${i}`));
  const tree = new MemoryTree();
  let t = performance.now();
  for (let at = 0; at < N; at += 2000) tree.append(leaves.slice(at, at + 2000));
  const sealMs = performance.now() - t;
  row(`memory: seal ${N} leaves into stored subtrees`, ms(sealMs));

  const root = await rootAt(tree, N);
  const incl = await timeEach(10_000, N, (i) => inclusionProofAt(tree, i, N));
  const cons = await timeEach(2_000, N - 1, (m) => consistencyProofAt(tree, m + 1, N));
  const sizes = new Set<number>();
  let verified = 0;
  for (const i of indexes(2_000, N)) {
    const p = await inclusionProofAt(tree, i, N);
    sizes.add(p.length);
    if (verifyInclusionHash(leaves[i]!, i, N, p, root)) verified += 1;
  }
  let consOk = 0;
  for (const m of indexes(200, N - 1)) {
    if (verifyConsistency(m + 1, N, await rootAt(tree, m + 1), root, await consistencyProofAt(tree, m + 1, N))) consOk += 1;
  }
  const verifySamples: number[] = [];
  const someProof = await inclusionProofAt(tree, 123_456 % N, N);
  for (let k = 0; k < 5000; k++) {
    t = performance.now();
    verifyInclusionHash(leaves[123_456 % N]!, 123_456 % N, N, someProof, root);
    verifySamples.push(performance.now() - t);
  }
  t = performance.now();
  for (let k = 0; k < 3; k++) inclusionProofFromLeafHashes(leaves, (k * 333_333) % N);
  const naiveMs = (performance.now() - t) / 3;

  row("memory: inclusion proof p50 / p99", `${ms(incl.p50)} / ${ms(incl.p99)}`);
  row("memory: consistency proof p50 / p99", `${ms(cons.p50)} / ${ms(cons.p99)}`);
  row("memory: inclusion verify p50", ms(stats(verifySamples).p50));
  row("inclusion proof size (hashes)", `${[...sizes].sort((a, b) => a - b).join(", ")} (ceil(log2 n) = ${Math.ceil(Math.log2(N))}; ${Math.max(...sizes) * 32} bytes)`);
  row("proofs that verified", `${verified}/2000 inclusion, ${consOk}/200 consistency`);
  row("baseline: naive proof hashing every leaf", ms(naiveMs));
  Object.assign(json, {
    memory: { sealMs, inclusion: incl, consistency: cons, verifyP50: stats(verifySamples).p50, naiveProofMs: naiveMs },
    proofSizes: [...sizes].sort((a, b) => a - b),
    log2: Math.ceil(Math.log2(N)),
  });

  // The ledger half of verify, alone: recompute the tree from 1M leaf hashes.
  const { LedgerVerifier } = await import("../src/ledger/ledger-verify.js");
  const v = new LedgerVerifier({ checkpoints: [], witness: null, trusted: [], origin: null });
  t = performance.now();
  for (let i = 0; i < N; i++) v.add(leaves[i]!);
  await v.finish();
  const recomputeMs = performance.now() - t;
  row(`memory: recompute Merkle root of ${N} leaves (verify's share)`, ms(recomputeMs));
  json.recomputeRootMs = recomputeMs;
}

// ---------------------------------------------------------------- SQLite
if (withSqlite) {
  const dir = keep ?? mkdtempSync(join(tmpdir(), "aitrail-bench-ledger-"));
  const file = join(dir, "bench.db");
  try {
    const store = new SqliteStore({ path: file });
    await store.open();
    let t = performance.now();
    const head = await store.head();
    for (let at = head.size; at < N; at += 5000) {
      const batch: PreparedEntry[] = [];
      for (let i = at; i < Math.min(N, at + 5000); i++) {
        const ev = event(i);
        const canonical = canonicalize(ev);
        batch.push({ eventId: ev.eventId, canonical, leafHash: leafHash(canonical), columns: columnsOf(ev) });
      }
      await store.append(batch);
    }
    const writeMs = performance.now() - t;
    row(`sqlite: write ${N} entries (store append, 5000/tx)`, ms(writeMs));
    const { keyDir, witnessFile } = ledgerPaths({ dbPath: file });
    t = performance.now();
    const cp = await new Checkpointer({ store, keys: new KeyDirectory(keyDir), witnessFile }).checkpoint();
    row("sqlite: sign a checkpoint (root from stored nodes)", ms(performance.now() - t));

    const reader: TreeReader = store;
    const incl = await timeEach(5_000, N, (i) => inclusionProofAt(reader, i, N));
    row("sqlite: inclusion proof p50 / p99", `${ms(incl.p50)} / ${ms(incl.p99)}`);
    const bundleTimes = await timeEach(500, N, async (i) => {
      const entry = await store.getByEventId(event(i).eventId);
      return createBundle({
        record: entry!.canonical,
        eventId: entry!.eventId,
        leafIndex: entry!.seq,
        treeSize: cp.treeSize,
        inclusionProof: await inclusionProofAt(reader, entry!.seq, cp.treeSize),
        checkpoint: cp.note,
      });
    });
    row("sqlite: whole evidence bundle (lookup + proof) p50", ms(bundleTimes.p50));
    const vkey = await new KeyDirectory(keyDir).exportPublic();
    const oneBundle = createBundle({
      record: canonicalize(event(777)),
      eventId: event(777).eventId,
      leafIndex: 777,
      treeSize: cp.treeSize,
      inclusionProof: await inclusionProofAt(reader, 777, cp.treeSize),
      checkpoint: cp.note,
    });
    const bundleVerify = await timeEach(1000, N, () => Promise.resolve(verifyBundle(oneBundle, [vkey])));
    row("verify-bundle (signature + proof) p50", ms(bundleVerify.p50));
    row("bundle JSON size", `${JSON.stringify(oneBundle).length} bytes`);

    t = performance.now();
    const ledger = await prepareLedgerVerify(store, { keyDir, witnessFile });
    const chain = await verifyStore(store, { onEntry: (e) => ledger.add(e.leafHash, e.seq) });
    const merkle = await ledger.finish();
    const verifyMs = performance.now() - t;
    row("sqlite: full verify (chain + columns + Merkle + checkpoints)", `${ms(verifyMs)} (chain ok: ${chain.ok}, ledger ok: ${merkle.ok})`);
    await store.close();
    Object.assign(json, { sqlite: { writeMs, inclusion: incl, bundleP50: bundleTimes.p50, verifyBundleP50: bundleVerify.p50, fullVerifyMs: verifyMs, ok: chain.ok && merkle.ok } });
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

const width = Math.max(...rows.map((r) => r.measure.length));
console.log(`\naitrail ledger benchmark, ${N.toLocaleString("en-US")} entries, node ${process.version}\n`);
for (const r of rows) console.log(`${r.measure.padEnd(width)}  ${r.value}`);
console.log(`\n${JSON.stringify(json)}`);
