import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AITrail, type AuditAlert, type AuditLogEvent } from "../../src/client/index.js";
import { AitrailError } from "../../src/errors.js";
import type { ProviderServer } from "../../src/provider-server/index.js";
import { KEY, breakableStore, countEvents, readEvent, recorderOn, type tempDir, withLocalProvider } from "./helpers.js";

let server: ProviderServer;
let tmp: ReturnType<typeof tempDir>;

withLocalProvider((s, t) => {
  server = s;
  tmp = t;
});

let n = 0;
const dbPath = () => join(tmp.dir, `failmode-${++n}.db`);

function openai() {
  return [{ name: "openai", config: { apiKey: KEY, baseURL: server.baseURL } }];
}

describe("failMode closed", () => {
  it("is the default under HIPAA, open otherwise", () => {
    const hipaa = new AITrail({ providers: openai(), compliance: { framework: "HIPAA" }, auditLog: { storage: { type: "memory" } } });
    const gdpr = new AITrail({ providers: openai(), compliance: { framework: "GDPR" }, auditLog: { storage: { type: "memory" } } });
    const none = new AITrail({ providers: openai(), auditLog: { storage: { type: "memory" } } });
    expect([hipaa.failMode, gdpr.failMode, none.failMode]).toEqual(["closed", "open", "open"]);
  });

  it("returns no result when the store fails: the provider was called, generate rejects with AUDIT_WRITE_FAILED", async () => {
    const path = dbPath();
    const broken = await breakableStore(path);
    const recorder = recorderOn(broken.store);
    const alerts: AuditAlert[] = [];
    const trail = new AITrail({ providers: openai(), compliance: { framework: "HIPAA" }, recorder, onAlert: (a) => void alerts.push(a) });
    expect(trail.failMode).toBe("closed");

    const ok = await trail.generate({ input: { text: "Summarize patient chart" }, auditContext: { userId: "dr-smith-456", patientId: "patient-123", phiAccessed: true } });
    expect(ok.eventId).not.toBeNull();

    broken.failing = true;
    const before = server.requests;
    const err = await trail.generate({ input: { text: "Summarize patient chart" }, auditContext: { userId: "dr-smith-456", patientId: "patient-123" } }).catch((e: unknown) => e);
    expect(server.requests).toBe(before + 1);
    expect(AitrailError.isInstance(err, "AUDIT_WRITE_FAILED")).toBe(true);
    expect((err as AitrailError).message).toMatch(/not committed/);

    // Streams in closed mode: the reader's loop ends in AUDIT_WRITE_FAILED, and so does result.
    const s = trail.stream({ input: { text: "Summarize patient chart" } });
    const streamErr = await (async () => {
      for await (const _ of s) void _;
    })().catch((e: unknown) => e);
    expect(AitrailError.isInstance(streamErr, "AUDIT_WRITE_FAILED")).toBe(true);
    expect(AitrailError.isInstance(await s.result.catch((e: unknown) => e), "AUDIT_WRITE_FAILED")).toBe(true);

    // A provider error whose event cannot be written also surfaces as AUDIT_WRITE_FAILED.
    const both = await trail.generate({ input: { text: "x" }, model: "fail-500", maxRetries: 0 }).catch((e: unknown) => e);
    expect(AitrailError.isInstance(both, "AUDIT_WRITE_FAILED")).toBe(true);
    expect((both as AitrailError).details).toMatchObject({ providerError: { errorCode: "500" } });

    expect(alerts).toEqual([]);
    broken.failing = false;
    await recorder.close();
    await broken.close();
    expect(await countEvents(path)).toBe(1);
  });

  it("does not call the provider when the store cannot be opened (AUDIT_UNAVAILABLE)", async () => {
    const notADir = join(tmp.dir, "plain-file");
    writeFileSync(notADir, "not a directory");
    const trail = new AITrail({ providers: openai(), failMode: "closed", auditLog: { storage: { type: "sqlite", path: join(notADir, "x.db") } } });
    const before = server.requests;
    const err = await trail.generate({ input: { text: "x" } }).catch((e: unknown) => e);
    expect(AitrailError.isInstance(err, "AUDIT_UNAVAILABLE")).toBe(true);
    const s = trail.stream({ input: { text: "x" } });
    expect(AitrailError.isInstance(await s.result.catch((e: unknown) => e), "AUDIT_UNAVAILABLE")).toBe(true);
    expect(server.requests).toBe(before);
    await trail.close();
  });
});

describe("failMode open", () => {
  it("returns the result when the store fails, alerts, spools the event and commits it once the store recovers", async () => {
    const path = dbPath();
    const broken = await breakableStore(path);
    const recorder = recorderOn(broken.store);
    const alerts: AuditAlert[] = [];
    const logs: AuditLogEvent[] = [];
    const trail = new AITrail({
      providers: openai(),
      recorder,
      failMode: "open",
      onAlert: (a) => void alerts.push(a),
      auditLog: { level: "detailed", onLog: (e) => void logs.push(e) },
      spool: { retryMs: 60_000 },
    });
    broken.failing = true;
    const result = await trail.generate({ input: { text: "Analyze customer feedback" }, auditContext: { userId: "user-12345" } });
    expect(result.content).toMatch(/^Customer feedback analysis/);
    expect(result.cost).toBe(0.003575);

    await trail.flush();
    expect(trail.spooled).toBe(1);
    expect(alerts.map((a) => a.kind)).toContain("audit_write_failed");
    expect(alerts.find((a) => a.kind === "audit_write_failed")).toMatchObject({ eventId: result.eventId, spooled: 1 });
    expect(logs).toMatchObject([{ eventId: result.eventId, audit: "spooled" }]);
    expect(await readEvent(path, result.eventId!)).toBeNull();

    broken.failing = false;
    await trail.flush();
    expect(trail.spooled).toBe(0);
    expect(alerts.at(-1)!.kind).toBe("audit_recovered");
    const stored = await readEvent(path, result.eventId!);
    expect(stored).toMatchObject({ eventId: result.eventId, status: "success", userId: "user-12345", cost: 0.003575, tokens: { input: 150, output: 320, total: 470 } });
    await trail.close();
    await recorder.close();
    await broken.close();
  });

  it("retries the spool by itself with backoff", async () => {
    const path = dbPath();
    const broken = await breakableStore(path);
    const recorder = recorderOn(broken.store);
    const recovered = new Promise<void>((resolve) => {
      const trail = new AITrail({
        providers: openai(),
        recorder,
        failMode: "open",
        spool: { retryMs: 20 },
        onAlert: (a) => {
          if (a.kind === "audit_write_failed") broken.failing = false;
          if (a.kind === "audit_recovered") resolve();
        },
      });
      broken.failing = true;
      void trail.generate({ input: { text: "hello" } });
    });
    await recovered;
    expect(await countEvents(path)).toBe(1);
    await recorder.close();
    await broken.close();
  });

  it("refuses to close quietly while events are still spooled", async () => {
    const path = dbPath();
    const broken = await breakableStore(path);
    const recorder = recorderOn(broken.store);
    const trail = new AITrail({ providers: openai(), recorder, failMode: "open", onAlert: () => undefined, spool: { retryMs: 60_000 } });
    broken.failing = true;
    const r = await trail.generate({ input: { text: "hello" } });
    const err = await trail.close().catch((e: unknown) => e);
    expect(AitrailError.isInstance(err, "AUDIT_WRITE_FAILED")).toBe(true);
    expect((err as AitrailError).details).toMatchObject({ count: 1, eventIds: [r.eventId] });
    await recorder.close();
    await broken.close();
  });

  it("hands the event to onAlert when the spool is full", async () => {
    const path = dbPath();
    const broken = await breakableStore(path);
    const recorder = recorderOn(broken.store);
    const alerts: AuditAlert[] = [];
    const trail = new AITrail({ providers: openai(), recorder, failMode: "open", onAlert: (a) => void alerts.push(a), spool: { maxEvents: 1, retryMs: 60_000 } });
    broken.failing = true;
    await trail.generate({ input: { text: "one" } });
    const second = await trail.generate({ input: { text: "two" }, auditContext: { userId: "u-2" } });
    await trail.flush();
    const overflow = alerts.find((a) => a.kind === "spool_overflow");
    expect(overflow?.event).toMatchObject({ eventId: second.eventId, userId: "u-2", status: "success" });
    broken.failing = false;
    await trail.close();
    expect(await countEvents(path)).toBe(1);
    await recorder.close();
    await broken.close();
  });

  it("reports a failing onLog through onAlert without failing the call", async () => {
    const alerts: AuditAlert[] = [];
    const trail = new AITrail({
      providers: openai(),
      auditLog: { storage: { type: "memory" }, onLog: () => Promise.reject(new Error("log sink down")) },
      onAlert: (a) => void alerts.push(a),
    });
    const r = await trail.generate({ input: { text: "hello" } });
    await trail.flush();
    expect(alerts).toMatchObject([{ kind: "on_log_failed", eventId: r.eventId }]);
    await trail.close();
  });
});
