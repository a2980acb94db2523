/**
 * Crash test: a writer process recording continuously is killed with SIGKILL at random
 * points, again and again, on the same ledger. After each kill, every event it acknowledged
 * is in the ledger exactly once at the seq it was given, the ledger verifies end to end
 * (chain, columns, Merkle nodes), and what is there is whole batches only.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";

const ROUNDS = 5;
const WRITER = path.join(import.meta.dirname, "writer.ts");

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir("aitrail-crash-");
});
afterAll(() => tmp.cleanup());

interface Round {
  acked: Map<string, number>;
  signal: NodeJS.Signals | null;
}

/** Runs the writer until it has acknowledged `after` events, then waits `delayMs` more and kills it. */
function writeThenKill(file: string, after: number, delayMs: number): Promise<Round> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", WRITER, file, "48"], { stdio: ["ignore", "pipe", "pipe"] });
    const acked = new Map<string, number>();
    let buffer = "";
    let stderr = "";
    let armed = false;
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        const m = /^ack (\S+) (\d+)$/.exec(line);
        if (m) acked.set(m[1]!, Number(m[2]));
      }
      if (!armed && acked.size >= after) {
        armed = true;
        setTimeout(() => child.kill("SIGKILL"), delayMs);
      }
    });
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      // A partial last line was not a complete acknowledgement: it is ignored.
      if (signal !== "SIGKILL") reject(new Error(`writer exited on its own (code ${code}): ${stderr}`));
      else resolve({ acked, signal });
    });
  });
}

describe("crash: SIGKILL at random points while recording", () => {
  it(`${ROUNDS} kills: every acknowledged event present exactly once, nothing partial, the ledger verifies`, async () => {
    const file = path.join(tmp.dir, "crash.db");
    const everAcked = new Map<string, number>();
    let previousSize = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const after = 50 + Math.floor(Math.random() * 1500);
      const delay = Math.floor(Math.random() * 150);
      const { acked } = await writeThenKill(file, after, delay);
      expect(acked.size).toBeGreaterThanOrEqual(after);
      for (const [id, seq] of acked) everAcked.set(id, seq);

      // Reopen as the next process would: every acknowledged event is there, once, at its seq.
      const db = new Database(file, { readonly: true });
      const bySeq = db.prepare("SELECT seq FROM audit_logs WHERE event_id = ?").pluck();
      for (const [id, seq] of everAcked) expect(bySeq.all(id)).toEqual([seq]);
      const { n, max, ids } = db.prepare("SELECT count(*) AS n, max(seq) AS max, count(DISTINCT event_id) AS ids FROM audit_logs").get() as {
        n: number;
        max: number;
        ids: number;
      };
      db.close();
      // Contiguous from 0, no duplicates, and the ledger only grows.
      expect(n).toBe(max + 1);
      expect(ids).toBe(n);
      expect(n).toBeGreaterThanOrEqual(previousSize);
      expect(n).toBeGreaterThanOrEqual(everAcked.size);
      previousSize = n;

      // The whole ledger verifies: chain, leaf hashes, columns, recomputed Merkle root
      // against the stored Merkle nodes (a half-written batch would break one of them).
      const v = await runCli("verify", "--db", file, "--json", "--no-witness");
      const report = JSON.parse(v.out) as { ok: boolean; events: number };
      expect(report).toMatchObject({ ok: true, events: n });
      expect(v.code).toBe(0);
    }
  }, 240_000);
});
