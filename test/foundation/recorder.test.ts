import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AitrailError } from "../../src/errors.js";
import type { AuditEvent } from "../../src/event/schema.js";
import { Recorder } from "../../src/pipeline/recorder.js";
import { columnsOf } from "../../src/store/columns.js";
import { SqliteStore } from "../../src/store/sqlite/store.js";
import { verifyStore } from "../../src/store/verify.js";
import type { AuditStore, PreparedEntry, StoredEntry } from "../../src/store/types.js";
import { tempDir } from "../helpers/tmp.js";

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

async function openAt(file: string): Promise<SqliteStore> {
  const store = new SqliteStore({ path: file });
  await store.open();
  return store;
}

/** The store, except that its first append fails the way `fail` does (rejects or throws). */
function failingOnce(inner: AuditStore, fail: () => Promise<StoredEntry[]>): AuditStore {
  let failed = false;
  const store = Object.create(inner) as AuditStore;
  store.append = (entries: readonly PreparedEntry[]): Promise<StoredEntry[]> => {
    if (failed) return inner.append(entries);
    failed = true;
    return fail();
  };
  return store;
}

describe("Recorder on a real SQLite file", () => {
  it("gives contiguous seq from 0 and shares transactions under concurrency (group commit)", async () => {
    const store = await openAt(path.join(tmp.dir, "a.db"));
    const recorder = new Recorder({ store, maxBatch: 500 });
    const results = await Promise.all(
      Array.from({ length: 2000 }, (_, i) => recorder.record({ type: "ai.generate", userId: `u${i % 7}`, status: "success" })),
    );
    expect(results.map((r) => r.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    const stats = recorder.stats();
    expect(stats.committed).toBe(2000);
    // 2000 concurrent calls with batches of at most 500 need at least 4 and far fewer than 2000 transactions.
    expect(stats.batches).toBeGreaterThanOrEqual(4);
    expect(stats.batches).toBeLessThan(50);
    await recorder.close();
    await store.close();
  });

  it("resolves only after the event is durable: a second connection sees it at once", async () => {
    const file = path.join(tmp.dir, "b.db");
    const store = await openAt(file);
    const recorder = new Recorder({ store });
    const r = await recorder.record({ type: "ai.generate", userId: "alice" });
    const other = new Database(file, { readonly: true });
    const row = other.prepare("SELECT seq, user_id FROM audit_logs WHERE event_id = ?").get(r.eventId) as { seq: number; user_id: string };
    expect(row).toEqual({ seq: 0, user_id: "alice" });
    other.close();
    await store.close();
  });

  it("rejects an invalid event with INVALID_EVENT and writes nothing", async () => {
    const store = await openAt(path.join(tmp.dir, "c.db"));
    const recorder = new Recorder({ store });
    await recorder.record({ type: "ai.generate", userId: "ok" });
    await expect(recorder.record({ type: "ai.generate", latency: -5 } as never)).rejects.toMatchObject({ code: "INVALID_EVENT" });
    await recorder.flush();
    expect((await store.head()).size).toBe(1);
    await store.close();
  });

  it("continues the chain across reopen and across two writers on one file", async () => {
    const file = path.join(tmp.dir, "d.db");
    const s1 = await openAt(file);
    const s2 = await openAt(file);
    const r1 = new Recorder({ store: s1 });
    const r2 = new Recorder({ store: s2 });
    await Promise.all(
      Array.from({ length: 300 }, (_, i) => (i % 2 ? r1 : r2).record({ type: "ai.generate", userId: `w${i % 2}` })),
    );
    await s1.close();
    await s2.close();
    const s3 = await openAt(file);
    const r3 = new Recorder({ store: s3 });
    const last = await r3.record({ type: "ai.generate" });
    expect(last.seq).toBe(300);
    const v = await verifyStore(s3);
    expect(v).toMatchObject({ ok: true, events: 301 });
    await s3.close();
  });

  it("applies the level: minimal drops purpose and ip before anything is stored", async () => {
    const store = await openAt(path.join(tmp.dir, "e.db"));
    const recorder = new Recorder({ store, level: "minimal" });
    const r = await recorder.record({ type: "ai.generate", userId: "u", purpose: "marketing", ip: "10.0.0.1", provider: "openai" });
    const stored = await store.getByEventId(r.eventId);
    expect(stored!.canonical).not.toContain("marketing");
    expect(stored!.canonical).not.toContain("10.0.0.1");
    expect(stored!.columns.ip).toBeNull();
    expect(stored!.columns.provider).toBe("openai");
    await store.close();
  });

  it("a store failure rejects every caller of that batch with AUDIT_WRITE_FAILED; later batches still commit", async () => {
    const inner = await openAt(path.join(tmp.dir, "f.db"));
    const flaky = failingOnce(inner, () => Promise.reject(new Error("disk I/O error")));
    const recorder = new Recorder({ store: flaky });
    const settled = await Promise.allSettled([recorder.record({ type: "ai.generate" }), recorder.record({ type: "ai.generate" })]);
    // The first batch failed (both calls, or one when the store takes two batches in flight).
    const failed = settled.filter((f) => f.status === "rejected");
    expect(failed.length).toBeGreaterThanOrEqual(1);
    for (const f of failed) expect(AitrailError.isInstance(f.reason, "AUDIT_WRITE_FAILED")).toBe(true);
    const committed = settled.length - failed.length;
    const ok = await recorder.record({ type: "ai.generate" });
    expect(ok.seq).toBe(committed);
    expect(recorder.stats().lastError).toContain("disk I/O error");
    await inner.close();
  });

  it("a store whose append throws instead of rejecting fails that batch with AUDIT_WRITE_FAILED, and recording goes on", async () => {
    const inner = await openAt(path.join(tmp.dir, "throws.db"));
    const throwing = failingOnce(inner, () => {
      throw new Error("driver bug");
    });
    const recorder = new Recorder({ store: throwing });
    await expect(recorder.record({ type: "ai.generate" })).rejects.toMatchObject({ code: "AUDIT_WRITE_FAILED" });
    expect((await recorder.record({ type: "ai.generate" })).seq).toBe(0);
    await recorder.close();
    await inner.close();
  });

  it("applies back-pressure: the queue never holds more than maxQueue entries", async () => {
    const store = await openAt(path.join(tmp.dir, "g.db"));
    const recorder = new Recorder({ store, maxQueue: 50, maxBatch: 10 });
    let peak = 0;
    const all = Array.from({ length: 400 }, async () => {
      const p = recorder.record({ type: "ai.generate" });
      peak = Math.max(peak, recorder.stats().queued);
      return p;
    });
    await Promise.all(all);
    expect(peak).toBeLessThanOrEqual(50);
    expect((await store.head()).size).toBe(400);
    await store.close();
  });

  it("refuses events after close with RECORDER_CLOSED", async () => {
    const store = await openAt(path.join(tmp.dir, "h.db"));
    const recorder = new Recorder({ store });
    await recorder.close();
    await expect(recorder.record({ type: "ai.generate" })).rejects.toMatchObject({ code: "RECORDER_CLOSED" });
    await store.close();
  });
});

describe("levels apply to AI calls, not to the trail's own evidence", () => {
  it("keeps userId and purpose on consent and refusal events even when includeFields drops them", async () => {
    const t = tempDir();
    const store = new SqliteStore({ path: path.join(t.dir, "lv.db") });
    await store.open();
    const recorder = new Recorder({ store, level: "minimal", includeFields: ["model"] });
    const call = await recorder.record({ type: "ai.generate", userId: "u1", purpose: "p", model: "m" });
    const consent = await recorder.record({ type: "consent.granted", userId: "u1", purpose: "p" });
    const denied = await recorder.record({ type: "policy.denied", userId: "u1", purpose: "p", status: "denied" });
    expect(call.event.userId).toBeUndefined();
    expect(call.event.model).toBe("m");
    expect(consent.event).toMatchObject({ userId: "u1", purpose: "p" });
    expect(denied.event).toMatchObject({ userId: "u1", purpose: "p", status: "denied" });
    await store.close();
    t.cleanup();
  });
});

describe("eventId reuse and stored columns, on both append paths", () => {
  for (const appendThread of [true, false]) {
    const mode = appendThread ? "append thread" : "inline appends";

    it(`the same event again is accepted once; a different event under a used eventId is refused and nothing changes (${mode})`, async () => {
      const t = tempDir();
      const store = new SqliteStore({ path: path.join(t.dir, "dup.db"), appendThread });
      await store.open();
      const recorder = new Recorder({ store });
      const first = await recorder.record({ type: "ai.generate", userId: "u1", eventId: "evt_01JAAAAAAAAAAAAAAAAAAAAAAA", timestamp: "2025-01-15T14:32:11.234Z" });
      const again = await recorder.record({ type: "ai.generate", userId: "u1", eventId: "evt_01JAAAAAAAAAAAAAAAAAAAAAAA", timestamp: "2025-01-15T14:32:11.234Z" });
      expect(again.seq).toBe(first.seq);
      expect(again.leafHash).toEqual(first.leafHash);
      await expect(
        recorder.record({ type: "ai.generate", userId: "mallory", eventId: "evt_01JAAAAAAAAAAAAAAAAAAAAAAA", timestamp: "2025-01-15T14:32:11.234Z" }),
      ).rejects.toMatchObject({ code: "INVALID_EVENT", details: { eventId: "evt_01JAAAAAAAAAAAAAAAAAAAAAAA", seq: first.seq } });
      expect((await store.head()).size).toBe(1);
      expect((await store.getByEventId("evt_01JAAAAAAAAAAAAAAAAAAAAAAA"))!.columns.user_id).toBe("u1");
      await store.close();
      t.cleanup();
    });

    it(`stores each event's columns as derived from its stored record, with the hashes the caller is told (${mode})`, async () => {
      const store = new SqliteStore({ path: path.join(tmp.dir, "columns.db"), appendThread });
      await store.open();
      const recorder = new Recorder({ store });
      const recorded = await Promise.all(
        Array.from({ length: 300 }, (_, i) =>
          recorder.record({
            type: "ai.generate",
            userId: `u-${i % 7}`,
            provider: "openai",
            model: "gpt-4o",
            status: i % 10 === 0 ? "error" : "success",
            tokens: { input: i, output: 2 * i, total: 3 * i },
            cost: i / 1000,
            legalBasis: "contract",
            ...(i % 3 === 0 ? { patientId: `p-${i}`, phiAccessed: true, frameworks: ["HIPAA" as const] } : {}),
          }),
        ),
      );
      for (const r of recorded) {
        const stored = (await store.getByEventId(r.eventId))!;
        expect(stored.seq).toBe(r.seq);
        expect(stored.leafHash).toEqual(r.leafHash);
        expect(stored.chainHash).toEqual(r.chainHash);
        expect(stored.columns).toEqual(columnsOf(JSON.parse(stored.canonical) as AuditEvent));
        expect(stored.columns).toEqual(columnsOf(r.event));
      }
      expect(await verifyStore(store)).toMatchObject({ ok: true, events: 300 });
      await recorder.close();
      await store.close();
    });
  }
});
