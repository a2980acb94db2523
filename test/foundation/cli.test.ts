import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

const workloadOf = (file: string) => {
  const db = new Database(file, { readonly: true });
  const rows = db
    .prepare("SELECT user_id, purpose, provider, model, status, input_tokens, output_tokens, cost FROM audit_logs ORDER BY seq")
    .all();
  db.close();
  return rows;
};

describe("aitrail CLI", () => {
  it("demo then verify then query events, as in the README", async () => {
    const db = path.join(tmp.dir, "readme.db");
    const demo = await runCli("demo", "--db", db, "--events", "300", "--json");
    expect(demo.code).toBe(0);
    const summary = JSON.parse(demo.out) as { events: number; ledgerSize: number; errors: number };
    expect(summary).toMatchObject({ events: 300, ledgerSize: 300 });
    expect(summary.errors).toBeGreaterThan(0);
    const verify = await runCli("verify", "--db", db);
    expect(verify.code).toBe(0);
    expect(verify.out).toMatch(/^OK: 300 events verified/);
    const q = await runCli("query", "events", "--db", db, "--limit", "5", "--json");
    const events = JSON.parse(q.out) as { eventId: string; seq: number }[];
    expect(events).toHaveLength(5);
    expect(events.map((e) => e.seq)).toEqual([299, 298, 297, 296, 295]);
    for (const e of events) expect(e.eventId).toMatch(/^evt_/);
  });

  it("query events filters by user and type", async () => {
    const db = path.join(tmp.dir, "filter.db");
    await runCli("demo", "--db", db, "--events", "200");
    const all = JSON.parse((await runCli("query", "events", "--db", db, "--limit", "1000", "--json")).out) as { userId: string }[];
    const someone = all[17]!.userId;
    const mine = JSON.parse((await runCli("query", "events", "--db", db, "--user", someone, "--limit", "1000", "--json")).out) as { userId: string }[];
    expect(mine.length).toBe(all.filter((e) => e.userId === someone).length);
    expect(mine.every((e) => e.userId === someone)).toBe(true);
    const none = await runCli("query", "events", "--db", db, "--type", "policy.denied", "--json");
    expect(JSON.parse(none.out)).toEqual([]);
  });

  it("the same seed gives the same workload; another seed another one", async () => {
    const a = path.join(tmp.dir, "s1a.db");
    const b = path.join(tmp.dir, "s1b.db");
    const c = path.join(tmp.dir, "s2.db");
    await runCli("demo", "--db", a, "--events", "150", "--seed", "42", "--concurrency", "1", "--plain");
    await runCli("demo", "--db", b, "--events", "150", "--seed", "42", "--concurrency", "1", "--plain");
    await runCli("demo", "--db", c, "--events", "150", "--seed", "43", "--concurrency", "1", "--plain");
    expect(workloadOf(a)).toEqual(workloadOf(b));
    expect(workloadOf(a)).not.toEqual(workloadOf(c));
  });

  it("verify on a file that is not an aitrail database says so, exit 2, and creates nothing", async () => {
    const text = path.join(tmp.dir, "notes.txt");
    fs.writeFileSync(text, "hello, this is not SQLite at all ".repeat(100));
    const r1 = await runCli("verify", "--db", text);
    expect(r1.code).toBe(2);
    expect(r1.err).toContain("NOT_AN_AITRAIL_DB");

    const foreign = path.join(tmp.dir, "foreign.db");
    const db = new Database(foreign);
    db.exec("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)");
    db.close();
    const r2 = await runCli("verify", "--db", foreign);
    expect(r2.code).toBe(2);
    expect(r2.err).toContain("NOT_AN_AITRAIL_DB");
    expect(r2.err).toContain("customers");

    const missing = path.join(tmp.dir, "missing.db");
    const r3 = await runCli("verify", "--db", missing);
    expect(r3.code).toBe(2);
    expect(r3.err).toContain("NOT_FOUND");
    expect(fs.existsSync(missing)).toBe(false);
  });

  it("demo refuses a foreign database instead of writing into it", async () => {
    const foreign = path.join(tmp.dir, "foreign2.db");
    const db = new Database(foreign);
    db.exec("CREATE TABLE invoices (id INTEGER PRIMARY KEY)");
    db.close();
    const r = await runCli("demo", "--db", foreign, "--events", "5");
    expect(r.code).toBe(2);
    expect(r.err).toContain("NOT_AN_AITRAIL_DB");
    const check = new Database(foreign, { readonly: true });
    const tables = check.prepare("SELECT name FROM sqlite_master WHERE type='table'").all();
    check.close();
    expect(tables).toEqual([{ name: "invoices" }]);
  });

  it("an unwritable location is a coded error", async () => {
    const r = await runCli("demo", "--db", path.join(tmp.dir, "no", "such", "dir", "x.db"), "--events", "5");
    expect(r.code).toBe(2);
    expect(r.err).toContain("STORE_ERROR");
  });

  it("a database written by a newer aitrail is refused with SCHEMA_TOO_NEW", async () => {
    const file = path.join(tmp.dir, "future.db");
    await runCli("demo", "--db", file, "--events", "3");
    const db = new Database(file);
    db.prepare("UPDATE aitrail_meta SET value = '999' WHERE key = 'schema_version'").run();
    db.close();
    const r = await runCli("verify", "--db", file);
    expect(r.code).toBe(2);
    expect(r.err).toContain("SCHEMA_TOO_NEW");
  });

  it("bad numbers are usage errors naming the option", async () => {
    const r = await runCli("demo", "--db", path.join(tmp.dir, "n.db"), "--events", "ten");
    expect(r.code).toBe(2);
    expect(r.err).toContain("--events");
  });

  it("the installed binary runs end to end (built dist)", () => {
    const bin = path.resolve("bin/aitrail.js");
    if (!fs.existsSync(path.resolve("dist/cli/main.js"))) execFileSync("npm", ["run", "build"], { stdio: "ignore" });
    const db = path.join(tmp.dir, "bin.db");
    const demo = spawnSync(process.execPath, [bin, "demo", "--db", db, "--events", "50"], { encoding: "utf8" });
    expect(demo.status).toBe(0);
    const verify = spawnSync(process.execPath, [bin, "verify", "--db", db, "--json"], { encoding: "utf8" });
    expect(verify.status).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, events: 50 });
  });
});

describe("reads of the trail are audited", () => {
  it("every query subcommand records an audit.read event naming the reader, the query and the row count", async () => {
    const t = tempDir();
    const db = path.join(t.dir, "reads.db");
    await runCli("demo", "--db", db, "--events", "40", "--synthetic");
    const before = JSON.parse((await runCli("verify", "--db", db, "--json")).out) as { events: number };
    const subs: string[][] = [["events"], ["cost-by-user"], ["anomalies", "--threshold", "0"], ["error-rate"], ["compliance", "--framework", "GDPR"], ["consent"]];
    for (const sub of subs) {
      const r = await runCli("query", ...sub, "--db", db, "--json", "--reader", "auditor@example.com");
      expect(r.code, sub.join(" ")).toBe(0);
    }
    const reads = JSON.parse((await runCli("query", "events", "--db", db, "--type", "audit.read", "--limit", "100", "--json")).out) as {
      action: string;
      details: { reader: string; rows: number };
    }[];
    expect(reads.map((r) => r.action).reverse()).toEqual(["query.events", "query.cost-by-user", "query.anomalies", "query.error-rate", "query.compliance", "query.consent"]);
    expect(reads.every((r) => r.details.reader === "auditor@example.com")).toBe(true);
    expect(reads.find((r) => r.action === "query.events")!.details.rows).toBe(40);
    const after = JSON.parse((await runCli("verify", "--db", db, "--json")).out) as { ok: boolean; events: number };
    expect(after).toMatchObject({ ok: true, events: before.events + subs.length + 1 });
    t.cleanup();
  });
});

describe("one key directory option across commands", () => {
  it("--keys chosen at demo time is accepted by dsar and erase as well as by verify", async () => {
    const t = tempDir();
    const db = path.join(t.dir, "k.db");
    const keys = path.join(t.dir, "my-keys");
    expect((await runCli("demo", "--db", db, "--keys", keys, "--events", "30")).code).toBe(0);
    expect(fs.existsSync(path.join(keys, "master.key"))).toBe(true);
    expect((await runCli("verify", "--db", db, "--keys", keys)).code).toBe(0);
    const users = JSON.parse((await runCli("dsar", "--db", db, "--keys", keys, "--subject", "user-10000")).out) as { found: boolean };
    expect(typeof users.found).toBe("boolean");
    // Without the key directory the master key is not found, and nothing is read.
    const missing = await runCli("dsar", "--db", db, "--subject", "user-10000");
    expect(missing.code).toBe(2);
    const erased = JSON.parse((await runCli("erase", "--db", db, "--keys", keys, "--subject", "user-10001", "--json")).out) as { status: string };
    expect(["erased", "unknown_subject"]).toContain(erased.status);
    expect((await runCli("verify", "--db", db, "--keys", keys)).code).toBe(0);
    t.cleanup();
  });
});
