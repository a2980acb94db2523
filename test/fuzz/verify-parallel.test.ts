/**
 * The parallel verify must give exactly the sequential walk's answer: same first bad seq,
 * same problem, same detail, same leaves handed to the Merkle check, whatever was tampered
 * with and wherever the range boundaries fall.
 */
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syntheticEvent, workload } from "../../src/demo/workload.js";
import { Recorder } from "../../src/pipeline/recorder.js";
import { SqliteStore } from "../../src/store/sqlite/store.js";
import { verifyStore, type StoreVerifyResult } from "../../src/store/verify.js";
import { tempDir } from "../helpers/tmp.js";
import { RUNS } from "./budget.js";

const SIZE = 300;
let tmp: ReturnType<typeof tempDir>;
let pristine: string;

beforeAll(async () => {
  tmp = tempDir("aitrail-pverify-");
  pristine = path.join(tmp.dir, "pristine.db");
  const store = new SqliteStore({ path: pristine });
  await store.open();
  const recorder = new Recorder({ store });
  let i = 0;
  for (const call of workload(SIZE, 3)) {
    // A few events with text that JSON escapes (quotes, backslashes, control characters, non-BMP).
    const extra = i % 50 === 7 ? { errorMessage: 'say "hi"\\ \n\t\u0001 \u007f \u2028 😀 é' } : {};
    await recorder.record({ ...syntheticEvent(call, 100 + i), ...extra });
    i += 1;
  }
  await recorder.close();
  await store.close();
}, 60_000);
afterAll(() => tmp.cleanup());

type Tamper = { name: string; sql: (seq: number) => string[] };
const TAMPERS: Tamper[] = [
  { name: "none", sql: () => [] },
  { name: "user_id", sql: (s) => [`UPDATE audit_logs SET user_id = 'someone-else' WHERE seq = ${s}`] },
  { name: "user_id null", sql: (s) => [`UPDATE audit_logs SET user_id = NULL WHERE seq = ${s}`] },
  { name: "user_id as number", sql: (s) => [`UPDATE audit_logs SET user_id = 12345 WHERE seq = ${s}`] },
  { name: "user_id as blob", sql: (s) => [`UPDATE audit_logs SET user_id = x'00ff' WHERE seq = ${s}`] },
  { name: "error_message escapes", sql: (s) => [`UPDATE audit_logs SET error_message = 'a"b\\c' || char(10) || char(1) WHERE seq = ${s}`] },
  { name: "cost", sql: (s) => [`UPDATE audit_logs SET cost = coalesce(cost, 0) + 0.000001 WHERE seq = ${s}`] },
  { name: "cost as text", sql: (s) => [`UPDATE audit_logs SET cost = CAST(cost AS TEXT) WHERE seq = ${s}`] },
  { name: "latency", sql: (s) => [`UPDATE audit_logs SET latency = NULL WHERE seq = ${s}`] },
  { name: "tokens", sql: (s) => [`UPDATE audit_logs SET total_tokens = total_tokens + 1 WHERE seq = ${s}`] },
  { name: "audit_context", sql: (s) => [`UPDATE audit_logs SET audit_context = replace(audit_context, '"', '''') WHERE seq = ${s}`] },
  { name: "record", sql: (s) => [`UPDATE audit_logs SET record = replace(record, '"latency":', '"latency":9') WHERE seq = ${s}`] },
  { name: "record not json", sql: (s) => [`UPDATE audit_logs SET record = 'x' WHERE seq = ${s}`] },
  { name: "leaf", sql: (s) => [`UPDATE audit_logs SET leaf_hash = randomblob(32) WHERE seq = ${s}`] },
  { name: "chain", sql: (s) => [`UPDATE audit_logs SET chain_hash = randomblob(32) WHERE seq = ${s}`] },
  { name: "delete", sql: (s) => [`DELETE FROM audit_logs WHERE seq = ${s}`] },
  { name: "delete tail", sql: (s) => [`DELETE FROM audit_logs WHERE seq >= ${s}`] },
  {
    name: "swap",
    sql: (s) => {
      const t = Math.min(SIZE - 1, s + 1);
      return [`UPDATE audit_logs SET seq = -1 WHERE seq = ${s}`, `UPDATE audit_logs SET seq = ${s} WHERE seq = ${t}`, `UPDATE audit_logs SET seq = ${t} WHERE seq = -1`];
    },
  },
  {
    name: "insert",
    sql: (s) => [
      `UPDATE audit_logs SET seq = seq + 100000 WHERE seq >= ${s}`,
      `UPDATE audit_logs SET seq = seq - 100000 + 1 WHERE seq >= 100000`,
      `INSERT INTO audit_logs SELECT ${s}, 'evt_01JAAAAAAAAAAAAAAAAAAAAAAA', timestamp, type, user_id, session_id, action, purpose, provider, model, status, latency, cost,
         input_tokens, output_tokens, total_tokens, ip, user_agent, patient_id, error_code, error_message, audit_context, compliance_data,
         replace(record, event_id, 'evt_01JAAAAAAAAAAAAAAAAAAAAAAA'), leaf_hash, chain_hash FROM audit_logs WHERE seq = 0`,
    ],
  },
];

async function run(file: string, parallel: false | { workers: number; rangeSize: number }): Promise<{ result: StoreVerifyResult; leaves: string[] }> {
  const store = new SqliteStore({ path: file, mustExist: true });
  await store.open();
  try {
    const leaves: string[] = [];
    const result = await verifyStore(store, { parallel, onLeaf: (h, seq) => leaves.push(`${seq}:${Buffer.from(h).toString("hex")}`) });
    return { result, leaves };
  } finally {
    await store.close();
  }
}

let n = 0;
describe("fuzz: parallel verify equals the sequential walk", () => {
  it("on random tampering at random places, with random range sizes", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...TAMPERS), fc.nat(SIZE - 1), fc.integer({ min: 1, max: 120 }), fc.integer({ min: 1, max: 3 }), async (tamper, seq, rangeSize, workers) => {
        const file = path.join(tmp.dir, `t${n++}.db`);
        fs.copyFileSync(pristine, file);
        const db = new Database(file);
        db.exec("DROP TRIGGER IF EXISTS audit_logs_append_only");
        for (const s of tamper.sql(seq)) db.exec(s);
        db.close();
        const sequential = await run(file, false);
        const parallel = await run(file, { workers, rangeSize });
        expect(parallel.result).toEqual(sequential.result);
        expect(parallel.leaves).toEqual(sequential.leaves);
        if (tamper.name === "none") expect(sequential.result.ok).toBe(true);
        fs.rmSync(file);
      }),
      { numRuns: Math.max(12, Math.round(RUNS / 50)) },
    );
  }, 300_000);

  it("when the workers cannot read the store, the sequential walk does the work, with the same answer", async () => {
    const store = new SqliteStore({ path: pristine, mustExist: true });
    await store.open();
    try {
      const leaves: number[] = [];
      const r = await verifyStore(store, {
        parallel: { source: { kind: "sqlite", path: path.join(tmp.dir, "does-not-exist.db") }, workers: 2, rangeSize: 50 },
        onLeaf: (_h, seq) => leaves.push(seq),
      });
      expect(r).toMatchObject({ ok: true, events: SIZE, firstBadSeq: null });
      expect(leaves).toEqual(Array.from({ length: SIZE }, (_, i) => i));
    } finally {
      await store.close();
    }
  });
});
