import fs from "node:fs";
import os from "node:os";
/**
 * `aitrail query ...` end to end on real stores: the same demo seed gives the same
 * cost-by-user on SQLite and PostgreSQL; every subcommand prints table, JSON and CSV.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Recorder } from "../../src/pipeline/recorder.js";
import { openStore } from "../../src/store/open.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { describePg, dropSchemas, newSchema, urlFor } from "../store/pg.js";

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const sqlite = `sqlite:${path.join(tmp.dir, "demo.db")}`;

beforeAll(async () => {
  const r = await runCli("demo", "--store", sqlite, "--events", "600", "--seed", "42", "--plain", "--json");
  expect(r.code).toBe(0);
});

describe("aitrail query on SQLite", () => {
  it("cost-by-user --json prints the brief's shape, most expensive first", async () => {
    const r = await runCli("query", "cost-by-user", "--store", sqlite, "--json");
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.out) as { userId: string; totalRequests: number; totalCost: number; avgLatency: number; totalTokens: number }[];
    expect(rows.length).toBeGreaterThan(5);
    expect(Object.keys(rows[0]!)).toEqual(["userId", "totalRequests", "totalCost", "avgLatency", "totalTokens"]);
    expect(rows.reduce((s, x) => s + x.totalRequests, 0)).toBe(600);
    for (let i = 1; i < rows.length; i++) expect(rows[i - 1]!.totalCost).toBeGreaterThanOrEqual(rows[i]!.totalCost);
  });

  it("every subcommand answers in table, JSON and CSV", async () => {
    for (const args of [["cost-by-user"], ["anomalies", "--threshold", "1"], ["error-rate"], ["compliance", "--framework", "GDPR"], ["consent", "--limit", "5"], ["events", "--limit", "3"]]) {
      const table = await runCli("query", ...args, "--store", sqlite);
      expect(table.code, args.join(" ")).toBe(0);
      const json = await runCli("query", ...args, "--store", sqlite, "--json");
      expect(json.code).toBe(0);
      expect(() => JSON.parse(json.out) as unknown).not.toThrow();
      const csv = await runCli("query", ...args, "--store", sqlite, "--csv");
      expect(csv.code).toBe(0);
    }
    const errorRate = JSON.parse((await runCli("query", "error-rate", "--store", sqlite, "--json")).out) as { provider: string; errorRate: number }[];
    expect(errorRate.map((r) => r.provider).sort()).toEqual(["anthropic", "google", "mistral", "openai"]);
    const anomalies = JSON.parse((await runCli("query", "anomalies", "--store", sqlite, "--threshold", "0", "--json")).out) as unknown[];
    expect(anomalies.length).toBeGreaterThan(0);
    const table = (await runCli("query", "error-rate", "--store", sqlite)).out.split("\n");
    expect(table[0]).toMatch(/^provider\s+totalRequests\s+errors\s+errorRate$/);
  });

  it("CSV neutralises formulas that came from the trail", async () => {
    const db = `sqlite:${path.join(tmp.dir, "inject.db")}`;
    const store = await openStore(db);
    const recorder = new Recorder({ store });
    await recorder.record({ type: "ai.generate", userId: "=HYPERLINK(\"http://x\",\"y\")", errorMessage: "\r=cmd|' /C calc'!A0", status: "error", provider: "+p", cost: 0.01 });
    await recorder.close();
    await store.close();
    const cost = await runCli("query", "cost-by-user", "--store", db, "--csv");
    expect(cost.out.split("\r\n")[1]).toBe(`"'=HYPERLINK(""http://x"",""y"")",1,0.01,,0`);
    const events = await runCli("query", "events", "--store", db, "--csv");
    expect(events.out).toContain(`"'\r=cmd|' /C calc'!A0"`);
    expect(events.out).toContain(",'+p,");
  });

  it("rejects bad arguments with code 2", async () => {
    for (const args of [["anomalies", "--window", "soon"], ["compliance", "--framework", "SOX"], ["cost-by-user", "--since", "yesterday"], ["error-rate", "--json", "--csv"]]) {
      const r = await runCli("query", ...args, "--store", sqlite);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.err).toMatch(/INVALID_ARGUMENT/);
    }
    expect(await runCli("query")).toMatchObject({ code: 2, err: expect.stringContaining("needs a subcommand") as unknown });
    const missing = await runCli("query", "cost-by-user", "--db", path.join(tmp.dir, "nope.db"));
    expect(missing.code).toBe(2);
    expect(missing.err).toContain("NOT_FOUND");
  });
});

describePg("aitrail demo and query on PostgreSQL", () => {
  afterAll(dropSchemas);
  it("the same seed gives the same cost-by-user (and the ledger verifies) on SQLite and PostgreSQL", async () => {
    const pg = urlFor(newSchema("cli"));
    // A PostgreSQL ledger has no file to keep its keys beside: give it a key directory of its own.
    const keys = fs.mkdtempSync(path.join(os.tmpdir(), "aitrail-pg-keys-"));
    const demo = await runCli("demo", "--store", pg, "--keys", keys, "--events", "600", "--seed", "42", "--plain", "--json");
    expect(demo.code).toBe(0);
    const onPg = await runCli("query", "cost-by-user", "--store", pg, "--json");
    const onSqlite = await runCli("query", "cost-by-user", "--store", sqlite, "--json");
    expect(onPg.code).toBe(0);
    // Real calls: latency is measured, so it differs between runs; everything else is the workload's.
    const withoutLatency = (out: string) => (JSON.parse(out) as Record<string, unknown>[]).map(({ avgLatency: _l, ...rest }) => rest);
    expect(withoutLatency(onPg.out)).toEqual(withoutLatency(onSqlite.out));
    expect(withoutLatency(onPg.out).length).toBeGreaterThan(5);
    expect(await runCli("verify", "--store", pg, "--keys", keys, "--json")).toMatchObject({ code: 0 });
    fs.rmSync(keys, { recursive: true, force: true });
    for (const sub of ["error-rate", "anomalies"]) {
      const a = await runCli("query", sub, "--store", pg, "--json", ...(sub === "anomalies" ? ["--threshold", "0"] : []));
      const b = await runCli("query", sub, "--store", sqlite, "--json", ...(sub === "anomalies" ? ["--threshold", "0"] : []));
      expect(a.out, sub).toBe(b.out);
    }
  });
});
