import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AITrail, demoProviders, runDemoCalls } from "../../src/client/index.js";
import { workload } from "../../src/demo/workload.js";
import { startProviderServer, type ProviderServer } from "../../src/provider-server/index.js";
import { tempDir } from "./helpers.js";

let server: ProviderServer;
let tmp: ReturnType<typeof tempDir>;
beforeAll(async () => {
  server = await startProviderServer();
  tmp = tempDir();
});
afterAll(async () => {
  await server.close();
  tmp.cleanup();
});

async function demo(file: string, seed: number) {
  const trail = new AITrail({ providers: demoProviders(server), auditLog: { storage: { type: "sqlite", path: file, encryption: "none" } }, failMode: "closed" });
  let progress = 0;
  const summary = await runDemoCalls({ trail, calls: workload(120, seed), concurrency: 8, onProgress: (n) => (progress = n) });
  await trail.close();
  const db = new Database(file, { readonly: true });
  const rows = db.prepare("SELECT user_id, provider, model, status, error_code, input_tokens, output_tokens, cost FROM audit_logs").all() as Record<string, unknown>[];
  db.close();
  return { summary, rows, progress };
}

const key = (r: Record<string, unknown>) => JSON.stringify(r);

describe("runDemoCalls", () => {
  it("records every workload call made over HTTP, failures included, reproducibly by seed", async () => {
    const a = await demo(join(tmp.dir, "a.db"), 7);
    expect(a.summary.calls).toBe(120);
    expect(a.progress).toBe(120);
    expect(a.rows).toHaveLength(120);
    expect(a.summary.failed).toBeGreaterThan(0);
    expect(a.summary.failed).toBe(a.rows.filter((r) => r.status === "error").length);
    expect(a.summary.succeeded + a.summary.failed).toBe(120);
    expect(new Set(a.rows.map((r) => r.provider))).toEqual(new Set(["openai", "anthropic", "mistral", "google"]));
    for (const r of a.rows.filter((x) => x.status === "success")) {
      expect(r.input_tokens).toBeGreaterThan(0);
      expect(r.cost).toBeGreaterThan(0);
    }
    const sum = a.rows.reduce((s, r) => s + ((r.cost as number | null) ?? 0), 0);
    expect(a.summary.totalCost).toBeCloseTo(sum, 9);

    const b = await demo(join(tmp.dir, "b.db"), 7);
    expect(b.rows.map(key).sort()).toEqual(a.rows.map(key).sort());
    const c = await demo(join(tmp.dir, "c.db"), 8);
    expect(c.rows.map(key).sort()).not.toEqual(a.rows.map(key).sort());
  });
});
