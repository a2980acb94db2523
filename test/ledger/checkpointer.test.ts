/**
 * Checkpoints, proofs and the ledger half of verify on a real SQLite file written by the
 * real Recorder; tampering done with plain SQL, as an attacker with file access would.
 */
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { syntheticEvent, workload } from "../../src/demo/workload.js";
import { createBundle, verifyBundle } from "../../src/ledger/bundle.js";
import { openCheckpoint } from "../../src/ledger/checkpoint.js";
import { Checkpointer, ledgerOrigin } from "../../src/ledger/checkpointer.js";
import { chainHash, leafHash, ZERO_HASH } from "../../src/ledger/hash.js";
import { KeyDirectory } from "../../src/ledger/keys.js";
import { prepareLedgerVerify, type LedgerVerifyResult } from "../../src/ledger/ledger-verify.js";
import { ledgerPaths } from "../../src/ledger/local.js";
import { inclusionProofAt, rootAt } from "../../src/ledger/tree.js";
import { readWitness } from "../../src/ledger/witness.js";
import { Recorder } from "../../src/pipeline/recorder.js";
import { SqliteStore } from "../../src/store/sqlite/store.js";
import { verifyStore } from "../../src/store/verify.js";
import { tempDir } from "../helpers/tmp.js";

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir("aitrail-ledger-");
});
afterEach(() => tmp.cleanup());

/** Records `count` events in rounds of `round`, letting background checkpoints finish between rounds. */
async function record(store: SqliteStore, count: number, checkpointer?: Checkpointer, seed = "3", round = 25): Promise<void> {
  const recorder = new Recorder({ store, maxBatch: 17 });
  if (checkpointer) checkpointer.attach(recorder);
  const calls = [...workload(count, seed)];
  for (let at = 0; at < calls.length; at += round) {
    // Several in flight at once, so batches form as they do in production.
    await Promise.all(calls.slice(at, at + round).map((c, i) => recorder.record(syntheticEvent(c, 100 + at + i))));
    await recorder.flush();
    await checkpointer?.settled();
  }
  await recorder.close();
}

async function open(file: string): Promise<SqliteStore> {
  const store = new SqliteStore({ path: file });
  await store.open();
  return store;
}

/** The store walk and the ledger check, as `aitrail verify` runs them. */
async function fullVerify(file: string, keyDir: string, witnessFile: string | null): Promise<{ chainOk: boolean; ledger: LedgerVerifyResult | null }> {
  const store = await open(file);
  try {
    const ledger = await prepareLedgerVerify(store, { keyDir, witnessFile });
    const r = await verifyStore(store, { onEntry: (e) => ledger.add(e.leafHash) });
    return { chainOk: r.ok, ledger: r.ok ? await ledger.finish() : null };
  } finally {
    await store.close();
  }
}

function tamper(file: string, copyTo: string, sql: string[]): string {
  fs.copyFileSync(file, copyTo);
  const db = new Database(copyTo);
  db.exec("DROP TRIGGER IF EXISTS audit_logs_append_only");
  for (const s of sql) db.exec(s);
  db.close();
  return copyTo;
}

describe("Checkpointer on a real SQLite ledger", () => {
  it("checkpoints every N events into the database and the witness file, and on demand", async () => {
    const db = path.join(tmp.dir, "audit.db");
    const { keyDir, witnessFile } = ledgerPaths({ dbPath: db });
    expect(keyDir).toBe(path.join(tmp.dir, ".aitrail"));
    expect(witnessFile).toBe(`${db}.witness`);
    const store = await open(db);
    const cp = new Checkpointer({ store, keys: new KeyDirectory(keyDir), witnessFile, everyEvents: 50, everySeconds: 0 });
    await record(store, 230, cp);
    await cp.close();
    const final = await cp.checkpoint();
    expect(final.treeSize).toBe(230);
    // Asking again without growth returns the same checkpoint.
    expect((await cp.checkpoint()).note).toBe(final.note);

    const stored = await store.listCheckpoints();
    expect(stored.map((c) => c.treeSize)).toEqual([50, 100, 150, 200, 230]);
    const keys = await new KeyDirectory(keyDir).verifierKeys();
    const origin = await ledgerOrigin(store);
    expect(origin).toMatch(/^aitrail\.local\/[0-9a-f]{16}$/);
    for (const c of stored) {
      const opened = openCheckpoint(c.note, keys);
      expect(opened.origin).toBe(origin);
      expect(opened.treeSize).toBe(c.treeSize);
      expect(Buffer.from(opened.rootHash).equals(Buffer.from(await rootAt(store, c.treeSize)))).toBe(true);
    }
    const witness = await readWitness(witnessFile!);
    expect(witness!.map((w) => w.treeSize)).toEqual(stored.map((c) => c.treeSize));
    if (process.platform !== "win32") expect(fs.statSync(witnessFile!).mode & 0o777).toBe(0o600);
    await store.close();
  });

  it("timer checkpoints while the tree grows", async () => {
    const db = path.join(tmp.dir, "audit.db");
    const store = await open(db);
    const signer = await new KeyDirectory(path.join(tmp.dir, "k")).signer("log.example/t");
    const cp = new Checkpointer({ store, keys: signer, witnessFile: null, everyEvents: 0, everySeconds: 0.05 });
    const recorder = new Recorder({ store });
    cp.attach(recorder);
    await Promise.all([...workload(20, "9")].map((c) => recorder.record(syntheticEvent(c, 100))));
    await recorder.flush();
    await expect.poll(async () => (await store.latestCheckpoint())?.treeSize, { timeout: 5000 }).toBe(20);
    await recorder.close();
    await cp.close();
    await store.close();
  });

  it("proofs from the store verify against the signed checkpoint, as bundles", async () => {
    const db = path.join(tmp.dir, "audit.db");
    const store = await open(db);
    const keys = new KeyDirectory(path.join(tmp.dir, ".aitrail"));
    await record(store, 100);
    const cp = await new Checkpointer({ store, keys, witnessFile: null }).checkpoint();
    const trusted = [await keys.exportPublic()];
    for (const seq of [0, 1, 37, 64, 99]) {
      const [entry] = await store.findEvents({ order: "asc", limit: 100 }).then((all) => all.filter((e) => e.seq === seq));
      const bundle = createBundle({
        record: entry!.canonical,
        eventId: entry!.eventId,
        leafIndex: seq,
        treeSize: cp.treeSize,
        inclusionProof: await inclusionProofAt(store, seq, cp.treeSize),
        checkpoint: cp.note,
      });
      expect(bundle.inclusionProof.length).toBeLessThanOrEqual(Math.ceil(Math.log2(100)));
      expect(verifyBundle(JSON.stringify(bundle), trusted)).toMatchObject({ ok: true, eventId: entry!.eventId, leafIndex: seq });
    }
    await store.close();
  });

  it("a checkpoint covering more entries than the database holds is refused", async () => {
    const db = path.join(tmp.dir, "audit.db");
    const store = await open(db);
    const keys = new KeyDirectory(path.join(tmp.dir, ".aitrail"));
    await record(store, 30);
    await new Checkpointer({ store, keys, witnessFile: null }).checkpoint();
    await store.close();
    const cut = tamper(db, path.join(tmp.dir, "cut.db"), ["DELETE FROM audit_logs WHERE seq >= 20"]);
    const cutStore = await open(cut);
    await expect(new Checkpointer({ store: cutStore, keys, witnessFile: null }).checkpoint()).rejects.toMatchObject({ code: "INTEGRITY_VIOLATION" });
    await cutStore.close();
  });
});

describe("ledger verification", () => {
  let db: string;
  let keyDir: string;
  let witnessFile: string;

  beforeEach(async () => {
    db = path.join(tmp.dir, "audit.db");
    ({ keyDir, witnessFile } = ledgerPaths({ dbPath: db }) as { keyDir: string; witnessFile: string });
    const store = await open(db);
    const cp = new Checkpointer({ store, keys: new KeyDirectory(keyDir), witnessFile, everyEvents: 40, everySeconds: 0 });
    await record(store, 150, cp);
    await cp.close();
    await cp.checkpoint();
    await store.close();
  });

  /** A copy of the database next to the same key directory and witness file. */
  const copyPath = (name: string) => path.join(tmp.dir, name);

  it("passes on the untouched ledger, checking every checkpoint and the witness file", async () => {
    const { chainOk, ledger } = await fullVerify(db, keyDir, witnessFile);
    expect(chainOk).toBe(true);
    // One every 40 events at a batch boundary, and one at the end: how many depends on where batches fell.
    const stored = await open(db);
    const checkpoints = (await stored.listCheckpoints()).length;
    await stored.close();
    expect(checkpoints).toBeGreaterThanOrEqual(3);
    expect(ledger).toMatchObject({ ok: true, size: 150, witnessedSize: 150, checkpoints, problem: null });
  });

  it("a database cut after a checkpoint fails as truncated, even with its checkpoints deleted too", async () => {
    const cut = tamper(db, copyPath("cut.db"), ["DELETE FROM audit_logs WHERE seq >= 120"]);
    const r1 = await fullVerify(cut, keyDir, witnessFile);
    expect(r1.chainOk).toBe(true); // the chain of the remaining prefix is intact
    expect(r1.ledger).toMatchObject({ ok: false, problem: "truncated", firstBadSeq: 120 });

    const cutClean = tamper(db, copyPath("cut-clean.db"), ["DELETE FROM audit_logs WHERE seq >= 120", "DELETE FROM checkpoints WHERE tree_size > 120"]);
    const r2 = await fullVerify(cutClean, keyDir, witnessFile);
    expect(r2.ledger).toMatchObject({ ok: false, problem: "truncated", firstBadSeq: 120 });
    expect(r2.ledger!.detail).toContain("witness");

    // Without the witness file, the cleanly cut database cannot be told from a shorter one.
    const r3 = await fullVerify(cutClean, keyDir, null);
    expect(r3.ledger).toMatchObject({ ok: true, size: 120 });
  });

  it("a rewritten history with a recomputed chain fails on the signed roots", async () => {
    const copy = copyPath("rewritten.db");
    fs.copyFileSync(db, copy);
    const sql = new Database(copy);
    sql.exec("DROP TRIGGER IF EXISTS audit_logs_append_only");
    const rows = sql.prepare("SELECT seq, record FROM audit_logs ORDER BY seq").all() as { seq: number; record: string }[];
    const update = sql.prepare("UPDATE audit_logs SET record = ?, leaf_hash = ?, chain_hash = ?, latency = ? WHERE seq = ?");
    let chain = ZERO_HASH;
    for (const row of rows) {
      let rec = row.record;
      const ev = JSON.parse(rec) as { latency: number };
      if (row.seq === 55) {
        ev.latency = 1;
        rec = rec.replace(/"latency":[0-9.]+/, '"latency":1');
      }
      const leaf = leafHash(rec);
      chain = chainHash(chain, leaf);
      update.run(rec, Buffer.from(leaf), Buffer.from(chain), ev.latency, row.seq);
    }
    sql.close();
    const r = await fullVerify(copy, keyDir, witnessFile);
    expect(r.chainOk).toBe(true);
    expect(r.ledger).toMatchObject({ ok: false, problem: "root-mismatch" });
    expect(r.ledger!.firstBadSeq).toBeLessThanOrEqual(55);
  });

  it("a checkpoint with a forged signature or a changed root column fails", async () => {
    const forged = tamper(db, copyPath("forged.db"), [`UPDATE checkpoints SET note = replace(note, char(10) || char(10) || '— ', char(10) || char(10) || '— x') WHERE tree_size = 150`]);
    expect((await fullVerify(forged, keyDir, null)).ledger).toMatchObject({ ok: false, problem: "bad-checkpoint" });
    const column = tamper(db, copyPath("column.db"), ["UPDATE checkpoints SET root_hash = zeroblob(32) WHERE tree_size = 150"]);
    expect((await fullVerify(column, keyDir, null)).ledger).toMatchObject({ ok: false, problem: "bad-checkpoint" });
  });

  it("tampered stored Merkle nodes fail (proofs from them would not verify)", async () => {
    const nodes = tamper(db, copyPath("nodes.db"), ["UPDATE merkle_nodes SET hash = zeroblob(32) WHERE level = 7 AND idx = 0"]);
    expect((await fullVerify(nodes, keyDir, null)).ledger).toMatchObject({ ok: false, problem: "node-mismatch" });
  });

  it("checkpoints signed by an untrusted key fail; old checkpoints still verify after rotation", async () => {
    const other = path.join(tmp.dir, "other-keys");
    await new KeyDirectory(other).signer("someone.else/log");
    expect((await fullVerify(db, other, null)).ledger).toMatchObject({ ok: false, problem: "bad-checkpoint" });

    await new KeyDirectory(keyDir).rotate();
    const store = await open(db);
    await record(store, 10, undefined, "4");
    await new Checkpointer({ store, keys: new KeyDirectory(keyDir), witnessFile }).checkpoint();
    await store.close();
    expect((await fullVerify(db, keyDir, witnessFile)).ledger).toMatchObject({ ok: true, size: 160 });
  });

  it("no verifier key at all is reported, not passed", async () => {
    expect((await fullVerify(db, path.join(tmp.dir, "empty-keys"), null)).ledger).toMatchObject({ ok: false, problem: "no-key" });
  });

  it("a corrupt witness file line is INTEGRITY_VIOLATION; a torn last line is ignored", async () => {
    fs.appendFileSync(witnessFile, '{"treeSize":5,"at":"x","no');
    expect((await fullVerify(db, keyDir, witnessFile)).ledger).toMatchObject({ ok: true });
    fs.appendFileSync(witnessFile, "te\n");
    await expect(fullVerify(db, keyDir, witnessFile)).rejects.toMatchObject({ code: "INTEGRITY_VIOLATION" });
  });
});
