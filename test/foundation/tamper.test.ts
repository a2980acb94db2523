/**
 * Every tamper kind on a real SQLite file, made with plain SQL as an attacker with file
 * access would, must fail `aitrail verify` and name the first bad seq.
 */
import path from "node:path";
import Database from "better-sqlite3";
import { beforeAll, afterAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import fs from "node:fs";

let tmp: ReturnType<typeof tempDir>;
let pristine: string;

beforeAll(async () => {
  tmp = tempDir();
  pristine = path.join(tmp.dir, "pristine.db");
  const r = await runCli("demo", "--db", pristine, "--events", "200", "--seed", "7");
  expect(r.code).toBe(0);
});
afterAll(() => tmp.cleanup());

let n = 0;
function copyAndTamper(sql: string[], { withWitness = false } = {}): string {
  const file = path.join(tmp.dir, `t${n++}.db`);
  fs.copyFileSync(pristine, file);
  if (withWitness) fs.copyFileSync(`${pristine}.witness`, `${file}.witness`);
  const db = new Database(file);
  db.exec("DROP TRIGGER IF EXISTS audit_logs_append_only");
  for (const s of sql) db.exec(s);
  db.close();
  return file;
}

async function verifyJson(file: string): Promise<{ code: number; report: Record<string, unknown> }> {
  const r = await runCli("verify", "--db", file, "--json");
  return { code: r.code, report: JSON.parse(r.out) as Record<string, unknown> };
}

/** Swaps every column but seq between two rows. */
function swapRows(a: number, b: number): string[] {
  return [
    `UPDATE audit_logs SET seq = -1 WHERE seq = ${a}`,
    `UPDATE audit_logs SET seq = ${a} WHERE seq = ${b}`,
    `UPDATE audit_logs SET seq = ${b} WHERE seq = -1`,
  ];
}

describe("aitrail verify on a tampered SQLite ledger", () => {
  it("passes on the untouched file", async () => {
    const { code, report } = await verifyJson(pristine);
    expect(code).toBe(0);
    expect(report).toMatchObject({ ok: true, events: 200, firstBadSeq: null, problem: null, detail: null });
  });

  const columnEdits: [string, string][] = [
    ["user_id", "UPDATE audit_logs SET user_id = 'someone-else' WHERE seq = 57"],
    ["cost", "UPDATE audit_logs SET cost = 0 WHERE seq = 57"],
    ["status", "UPDATE audit_logs SET status = CASE status WHEN 'success' THEN 'error' ELSE 'success' END WHERE seq = 57"],
    ["timestamp", "UPDATE audit_logs SET timestamp = '2020-01-01T00:00:00.000Z' WHERE seq = 57"],
    ["total_tokens", "UPDATE audit_logs SET total_tokens = total_tokens + 1 WHERE seq = 57"],
    ["audit_context", "UPDATE audit_logs SET audit_context = NULL WHERE seq = 57"],
  ];
  for (const [column, sql] of columnEdits) {
    it(`detects an edited ${column} column at its seq`, async () => {
      const { code, report } = await verifyJson(copyAndTamper([sql]));
      expect(code).toBe(1);
      expect(report).toMatchObject({ ok: false, firstBadSeq: 57, problem: "modified" });
      expect(String(report.detail)).toContain(column);
    });
  }

  it("detects an edited record (a changed value, an added field)", async () => {
    const changedValue = copyAndTamper([`UPDATE audit_logs SET record = replace(record, '"latency":', '"latency":9') WHERE seq = 120`]);
    expect(await verifyJson(changedValue)).toMatchObject({ code: 1, report: { firstBadSeq: 120, problem: "modified" } });
    const addedField = copyAndTamper([`UPDATE audit_logs SET record = replace(record, '"v":1', '"v":1,"x":0') WHERE seq = 120`]);
    expect(await verifyJson(addedField)).toMatchObject({ code: 1, report: { firstBadSeq: 120, problem: "modified" } });
  });

  it("detects a deleted record", async () => {
    const { code, report } = await verifyJson(copyAndTamper(["DELETE FROM audit_logs WHERE seq = 33"]));
    expect(code).toBe(1);
    expect(report).toMatchObject({ firstBadSeq: 33, problem: "missing" });
  });

  it("detects a swap of two records", async () => {
    expect(await verifyJson(copyAndTamper(swapRows(10, 90)))).toMatchObject({ code: 1, report: { firstBadSeq: 10, problem: "reordered" } });
    expect(await verifyJson(copyAndTamper(swapRows(40, 41)))).toMatchObject({ code: 1, report: { firstBadSeq: 40, problem: "reordered" } });
  });

  it("detects an inserted record, even with consistent leaf hash and renumbered seqs", async () => {
    // Shift rows 150.. up by one and insert a forged copy of row 5 at seq 150.
    const file = copyAndTamper([
      "UPDATE audit_logs SET seq = seq + 100000 WHERE seq >= 150",
      "UPDATE audit_logs SET seq = seq - 100000 + 1 WHERE seq >= 100000",
      `INSERT INTO audit_logs SELECT 150, 'evt_01JAAAAAAAAAAAAAAAAAAAAAAA', timestamp, type, user_id, session_id, action, purpose, provider, model, status, latency, cost,
         input_tokens, output_tokens, total_tokens, ip, user_agent, patient_id, error_code, error_message, audit_context, compliance_data,
         replace(record, event_id, 'evt_01JAAAAAAAAAAAAAAAAAAAAAAA'), leaf_hash, chain_hash FROM audit_logs WHERE seq = 5`,
    ]);
    const { code, report } = await verifyJson(file);
    expect(code).toBe(1);
    expect(report).toMatchObject({ firstBadSeq: 150 });
    expect(["inserted", "modified"]).toContain(report.problem);
  });

  it("names a rewritten hash chain link as a modification", async () => {
    const { code, report } = await verifyJson(copyAndTamper(["UPDATE audit_logs SET chain_hash = randomblob(32) WHERE seq = 199"]));
    expect(code).toBe(1);
    expect(report).toMatchObject({ firstBadSeq: 199 });
  });

  it("passes with its signed checkpoint and witness file, and reports the Merkle root", async () => {
    const file = copyAndTamper([], { withWitness: true });
    const { code, report } = await verifyJson(file);
    expect(code).toBe(0);
    expect(report).toMatchObject({ ok: true, merkle: { treeSize: 200, checkpoints: 1, witnessedSize: 200 } });
  });

  it("fails when the database is cut after a checkpoint, even with the checkpoint rows deleted too", async () => {
    const cut = copyAndTamper(["DELETE FROM audit_logs WHERE seq >= 190"], { withWitness: true });
    const r1 = await verifyJson(cut);
    expect(r1.code).toBe(1);
    expect(r1.report).toMatchObject({ ok: false, events: 190 });
    const cutClean = copyAndTamper(["DELETE FROM audit_logs WHERE seq >= 190", "DELETE FROM checkpoints", "DELETE FROM merkle_nodes"], {
      withWitness: true,
    });
    const r2 = await verifyJson(cutClean);
    expect(r2.code).toBe(1);
    expect(r2.report).toMatchObject({ ok: false, problem: "truncated" });
  });
});
