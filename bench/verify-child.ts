/**
 * Verify figures on the ledger the aitrail-sqlite contender wrote (see run.ts):
 *
 *   - the SHA-256 limit: the same bytes verify hashes (0x00 || record for each leaf, the
 *     65-byte chain link, the 65-byte Merkle nodes), hashed one-shot with node:crypto from
 *     ready buffers on one core: nothing else, so no verify can beat it on one core;
 *   - the store walk plus Merkle root plus signed checkpoint (the library path), on one core
 *     and on all (the default for a large SQLite ledger);
 *   - `aitrail verify` as a user runs it (CLI, in process);
 *   - the brief's AuditBlockchain.verifyIntegrity() over as many blocks, in memory.
 *
 *   node --import tsx bench/verify-child.ts --file <ledger.db> [--sample 200000]
 */
import { hash } from "node:crypto";
import Database from "better-sqlite3";
import { main as cli } from "../src/cli/main.js";
import { newEventId } from "../src/event/ids.js";
import { ledgerPaths } from "../src/ledger/local.js";
import { prepareLedgerVerify } from "../src/ledger/ledger-verify.js";
import { eventPool } from "../src/load/load.js";
import { readAnchor } from "../src/store/anchor.js";
import { SqliteStore } from "../src/store/sqlite/store.js";
import { verifyStore } from "../src/store/verify.js";
import { AuditBlockchain } from "./brief/audit-blockchain.js";
import type { BriefEvent } from "./brief/schema.js";

export interface VerifyResult {
  events: number;
  recordBytesMean: number;
  sha256Limit: { sampled: number; bytesPerEntry: number; mbPerSecond: number; eventsPerSecond: number };
  storeWalk: { oneCore: Rate; allCores: Rate; merkleRoot: string; checkpoints: number };
  cli: Rate & { ok: boolean; exitCode: number };
  blockchain: Rate & { ok: boolean; blocks: number };
}

interface Rate {
  seconds: number;
  eventsPerSecond: number;
  cpuSeconds: number;
}

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const FILE = opt("--file");
if (!FILE) throw new Error("--file <ledger.db> is required");
const SAMPLE = Number(opt("--sample") ?? 200_000);
const quietIO = { out: () => undefined, err: (t: string) => process.stderr.write(t), interactive: false };

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number; cpuSeconds: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const cpu = process.cpuUsage(cpu0);
  return { value, seconds: (performance.now() - t0) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}
const rate = (events: number, t: { seconds: number; cpuSeconds: number }): Rate => ({
  seconds: Math.round(t.seconds * 1000) / 1000,
  eventsPerSecond: Math.round(events / t.seconds),
  cpuSeconds: Math.round(t.cpuSeconds * 1000) / 1000,
});

// A signed checkpoint, as `aitrail demo` leaves one, so verify checks a signature too.
const made = await cli(["checkpoint", "--db", FILE], quietIO);
if (made !== 0) throw new Error(`aitrail checkpoint failed with exit code ${made}`);

// The SHA-256 limit, from the same bytes.
const db = new Database(FILE, { readonly: true });
const events = db.prepare("SELECT count(*) FROM audit_logs").pluck().get() as number;
const records = db.prepare("SELECT record FROM audit_logs ORDER BY seq LIMIT ?").pluck().all(Math.min(SAMPLE, events)) as string[];
db.close();
const leafInputs = records.map((r) => Buffer.concat([Buffer.from([0]), Buffer.from(r, "utf8")]));
const pairInput = Buffer.alloc(65, 7);
let bytes = 0;
for (const b of leafInputs) bytes += b.length + 65 * 2;
const limit = await timed(() => {
  for (const b of leafInputs) {
    hash("sha256", b, "buffer");
    hash("sha256", pairInput, "buffer"); // the chain link
    hash("sha256", pairInput, "buffer"); // a Merkle node (a tree of n leaves has n - 1)
  }
  return Promise.resolve();
});
const recordBytesMean = Math.round(leafInputs.reduce((a, b) => a + b.length - 1, 0) / Math.max(1, leafInputs.length));

// The library path: store walk + Merkle root + checkpoints, on one core and on all.
const store = new SqliteStore({ path: FILE, mustExist: true });
await store.open();
const paths = ledgerPaths({ dbPath: FILE });
const walkOnce = async (parallel: boolean) => {
  const ledger = await prepareLedgerVerify(store, { keyDir: paths.keyDir, witnessFile: paths.witnessFile, fromSeq: (await readAnchor(store)).seq });
  const r = await verifyStore(store, { parallel, onLeaf: (leaf, seq) => ledger.add(leaf, seq) });
  const l = await ledger.finish();
  if (!r.ok || !l.ok) throw new Error(`verify failed: ${r.detail ?? l.detail}`);
  return l;
};
const one = await timed(() => walkOnce(false));
const all = await timed(() => walkOnce(true));
await store.close();

// aitrail verify as a user runs it.
let exitCode = -1;
let report = "";
const viaCli = await timed(async () => {
  exitCode = await cli(["verify", "--db", FILE, "--json"], { ...quietIO, out: (t) => (report += t) });
});
const cliOk = (JSON.parse(report) as { ok: boolean }).ok;

// The brief's in-memory chain over as many blocks (at most SAMPLE: it lives in memory).
const pool = eventPool(4096, 1);
const chain = new AuditBlockchain<BriefEvent>();
const blocks = Math.min(events, SAMPLE);
for (let i = 0; i < blocks; i++) chain.addBlock({ ...(pool[i % pool.length] as unknown as BriefEvent), id: newEventId(), timestamp: new Date().toISOString() });
let chainOk = false;
const bc = await timed(() => {
  chainOk = chain.verifyIntegrity();
  return Promise.resolve();
});

const result: VerifyResult = {
  events,
  recordBytesMean,
  sha256Limit: {
    sampled: leafInputs.length,
    bytesPerEntry: Math.round(bytes / leafInputs.length),
    mbPerSecond: Math.round(bytes / 1048576 / limit.seconds),
    eventsPerSecond: Math.round(leafInputs.length / limit.seconds),
  },
  storeWalk: { oneCore: rate(events, one), allCores: rate(events, all), merkleRoot: all.value.rootHash, checkpoints: all.value.checkpoints },
  cli: { ...rate(events, viaCli), ok: cliOk, exitCode },
  blockchain: { ...rate(blocks, bc), ok: chainOk, blocks },
};
process.stdout.write(`${JSON.stringify(result)}\n`);
