/**
 * The trail as a user runs it with defaults on a real SQLite file: protection on, signed
 * checkpoints with a witness file, consent, subject access, erasure, health, and the
 * ledger still verifying with the CLI at the end.
 */
import fs from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AITrail } from "../../src/client/index.js";
import type { ProviderServer } from "../../src/provider-server/index.js";
import { runCli } from "../helpers/cli.js";
import { KEY, type tempDir, withLocalProvider } from "./helpers.js";

let server: ProviderServer;
let tmp: ReturnType<typeof tempDir>;
withLocalProvider((s, t) => {
  server = s;
  tmp = t;
});

describe("AITrail defaults on SQLite", () => {
  it("protects, checkpoints, answers subject access, erases, and still verifies", async () => {
    const db = join(tmp.dir, "trail.db");
    const trail = new AITrail({
      providers: [{ name: "openai", config: { apiKey: KEY, baseURL: server.baseURL } }],
      auditLog: { level: "detailed", storage: { type: "sqlite", path: db } },
      failMode: "closed",
    });
    const ctx = { userId: "alice-7731", sessionId: "sess-alice-1", ip: "203.0.113.77", userAgent: "AliceBrowser/1.0", action: "support", purpose: "customer-support" };
    const first = await trail.generate({ input: { text: "My email is alice.secret@example.com, help me" }, provider: "openai", model: "gpt-4o", auditContext: ctx });
    await trail.generate({ input: { text: "Analyze customer feedback" }, provider: "openai", model: "gpt-4o", auditContext: { ...ctx, userId: "bob-1" } });
    expect(first.eventId).toMatch(/^evt_/);

    const health = await trail.health();
    expect(health).toMatchObject({ status: "ok", failMode: "closed", storeAvailable: true });
    expect(health.committed).toBeGreaterThanOrEqual(2);

    const cp = await trail.checkpoint();
    expect(cp.treeSize).toBeGreaterThanOrEqual(2);
    expect(cp.note).toContain("\n\u2014 ");
    expect(fs.readFileSync(`${db}.witness`, "utf8")).toContain(String(cp.treeSize));

    const report = await trail.subjectAccess("alice-7731", { reader: "dpo@example.com", format: "json" });
    expect(report.found).toBe(true);
    expect(report.events.filter((e) => e.type === "ai.generate")).toHaveLength(1);
    expect(report.events[0]).toMatchObject({ userId: "alice-7731", ip: "203.0.113.77", userAgent: "AliceBrowser/1.0" });
    // The prompt is stored redacted: the e-mail address never reaches the trail.
    expect(report.events[0]!.prompt).not.toContain("alice.secret@example.com");
    expect(report.readEventId).toMatch(/^evt_/);

    // The brief's query API on the trail: raw ids in, decrypted events out, every answer an audited read.
    const q = await trail.query({ reader: "analyst@example.com" });
    const activity = await q.getUserActivity("alice-7731");
    const calls = activity.filter((e) => e.type === "ai.generate");
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ userId: "alice-7731", ip: "203.0.113.77" });
    expect(await q.getUserActivity("nobody-at-all")).toEqual([]);
    const costs = await q.getCostByUser(new Date(Date.now() - 3_600_000), new Date());
    expect(costs).toHaveLength(2);
    expect(costs.every((c) => c.userId?.startsWith("psn_"))).toBe(true);
    // No framework was configured for the calls; the subject access reading is a GDPR act and is tagged so.
    const gdpr = (await q.getComplianceReport("GDPR", 1)).events;
    expect(gdpr.map((e) => e.type)).toEqual(["audit.read"]);
    expect(gdpr[0]!.frameworks).toContain("GDPR");

    await trail.close();
    const bytes = fs.readFileSync(db);
    for (const raw of ["alice-7731", "203.0.113.77", "AliceBrowser", "alice.secret@example.com"]) expect(bytes.includes(Buffer.from(raw))).toBe(false);

    const reopened = new AITrail({
      providers: [{ name: "openai", config: { apiKey: KEY, baseURL: server.baseURL } }],
      auditLog: { level: "detailed", storage: { type: "sqlite", path: db } },
      failMode: "closed",
    });
    const erased = await reopened.erase("alice-7731", { reference: "ticket-42" });
    expect(erased.status).toBe("erased");
    const again = await reopened.erase("alice-7731");
    expect(again.status).toBe("unknown_subject");
    const after = await reopened.subjectAccess("alice-7731", { reader: "dpo@example.com" });
    expect(after.found).toBe(false);
    expect(after.events).toHaveLength(0);
    const bob = await reopened.subjectAccess("bob-1", { reader: "dpo@example.com" });
    expect(bob.found).toBe(true);
    await reopened.close();

    const readEvents = JSON.parse((await runCli("query", "events", "--db", db, "--type", "audit.read", "--limit", "50", "--json")).out) as { action: string; details: { reader?: string } }[];
    expect(readEvents.filter((r) => r.details.reader === "analyst@example.com").map((r) => r.action).sort()).toEqual(
      ["query.compliance", "query.cost-by-user", "query.user-activity", "query.user-activity"].sort(),
    );
    const v = await runCli("verify", "--db", db, "--json");
    expect(v.code).toBe(0);
    expect(JSON.parse(v.out)).toMatchObject({ ok: true, merkle: { witnessedSize: expect.any(Number) as number } });
  });

  it("plain columns only when asked: encryption none stores identifiers as given", async () => {
    const db = join(tmp.dir, "plain.db");
    const trail = new AITrail({
      providers: [{ name: "openai", config: { apiKey: KEY, baseURL: server.baseURL } }],
      auditLog: { storage: { type: "sqlite", path: db, encryption: "none" }, checkpoints: false },
    });
    await trail.generate({ input: { text: "hi" }, provider: "openai", model: "gpt-4o", auditContext: { userId: "carol-plain" } });
    await trail.close();
    expect(fs.readFileSync(db).includes(Buffer.from("carol-plain"))).toBe(true);
    expect(fs.existsSync(`${db}.witness`)).toBe(false);
    const plain = new AITrail({ providers: [{ name: "openai", config: { apiKey: KEY, baseURL: server.baseURL } }], auditLog: { storage: { type: "sqlite", path: db, encryption: "none" } } });
    await expect(plain.erase("carol-plain")).rejects.toMatchObject({ code: "INVALID_CONFIG" });
    await plain.close();
  });
});
