/**
 * The durable spool on real files, and the Recorder using it when its (real SQLite) store
 * fails: events are acknowledged as spooled, delivered in order after recovery, once each.
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AitrailError } from "../../src/errors.js";
import { Recorder, type RecordedEvent, type RecorderAlert } from "../../src/pipeline/recorder.js";
import { Spool, type SpoolAlert } from "../../src/pipeline/spool.js";
import { SqliteStore } from "../../src/store/sqlite/store.js";
import type { AuditStore, PreparedEntry, StoredEntry } from "../../src/store/types.js";
import { verifyStore } from "../../src/store/verify.js";
import { tempDir } from "../helpers/tmp.js";

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

const rec = (i: number) => JSON.stringify({ i, text: `record ${i} ü 😀` });

describe("Spool", () => {
  it("keeps records in order across reopen and delivers them in batches", async () => {
    const file = path.join(tmp.dir, "s.spool");
    const spool = await Spool.open({ path: file });
    await spool.append([rec(0), rec(1)]);
    await spool.append([rec(2)]);
    expect(spool.depth).toBe(3);
    await spool.close();

    const again = await Spool.open({ path: file });
    expect(again.depth).toBe(3);
    const first = await again.peek(2);
    expect(first.records).toEqual([rec(0), rec(1)]);
    // Not committed yet: peek gives the same again.
    expect((await again.peek(2)).records).toEqual([rec(0), rec(1)]);
    await again.commit(first.endOffset);
    expect(again.depth).toBe(1);
    await again.append([rec(3)]);
    await again.close();

    const third = await Spool.open({ path: file });
    expect(third.depth).toBe(2);
    const rest = await third.peek(10);
    expect(rest.records).toEqual([rec(2), rec(3)]);
    await third.commit(rest.endOffset);
    expect(third.depth).toBe(0);
    expect(third.bytes).toBe(0);
    // Emptied: the file is truncated, not left to grow.
    expect(fs.statSync(file).size).toBe(0);
    await third.close();
  });

  it("cuts a torn last line (never acknowledged) and refuses a corrupt line before others", async () => {
    const file = path.join(tmp.dir, "t.spool");
    const spool = await Spool.open({ path: file });
    await spool.append([rec(0), rec(1)]);
    await spool.close();
    fs.appendFileSync(file, "0123456789abcdef {\"partial");
    const alerts: SpoolAlert[] = [];
    const reopened = await Spool.open({ path: file, onAlert: (a) => alerts.push(a) });
    expect(reopened.depth).toBe(2);
    expect(alerts.map((a) => a.kind)).toEqual(["spool_truncated"]);
    await reopened.append([rec(2)]);
    expect((await reopened.peek(10)).records).toEqual([rec(0), rec(1), rec(2)]);
    await reopened.close();

    const bytes = fs.readFileSync(file);
    bytes[20] = bytes[20] === 0x41 ? 0x42 : 0x41;
    fs.writeFileSync(file, bytes);
    await expect(Spool.open({ path: file })).rejects.toMatchObject({ code: "STORE_CORRUPT" });
  });

  it("is bounded: alerts as it fills, rejects with QUEUE_FULL when full, and recovers as it drains", async () => {
    const alerts: SpoolAlert[] = [];
    const line = Buffer.byteLength(`0123456789abcdef ${rec(0)}\n`);
    const spool = await Spool.open({ path: path.join(tmp.dir, "b.spool"), maxBytes: line * 10, onAlert: (a) => alerts.push(a) });
    for (let i = 0; i < 10; i++) await spool.append([rec(i)]);
    expect(alerts.filter((a) => a.kind === "spool_filling").length).toBe(3);
    await expect(spool.append([rec(10)])).rejects.toMatchObject({ code: "QUEUE_FULL" });
    expect(alerts.at(-1)!.kind).toBe("spool_full");
    expect(spool.depth).toBe(10);
    const b = await spool.peek(6);
    await spool.commit(b.endOffset);
    await spool.append([rec(10)]);
    expect(spool.depth).toBe(5);
    await spool.close();
  });
});

/** A real SQLite store that can be switched off, or made to lose the acknowledgement of a commit. */
class FlakyStore implements AuditStore {
  readonly kind = "sqlite" as const;
  down = false;
  loseAck = false;
  appends = 0;
  constructor(readonly inner: SqliteStore) {}
  get location() {
    return this.inner.location;
  }
  open() {
    return this.inner.open();
  }
  close() {
    return this.inner.close();
  }
  async append(entries: readonly PreparedEntry[]): Promise<StoredEntry[]> {
    this.appends += 1;
    if (this.down) throw new AitrailError("STORE_ERROR", "connection refused");
    const stored = await this.inner.append(entries);
    if (this.loseAck) throw new AitrailError("STORE_ERROR", "connection reset after commit");
    return stored;
  }
  head() {
    return this.inner.head();
  }
  scan(o?: Parameters<AuditStore["scan"]>[0]) {
    return this.inner.scan(o);
  }
  getByEventId(id: string) {
    return this.inner.getByEventId(id);
  }
  findEvents(f: Parameters<AuditStore["findEvents"]>[0]) {
    return this.inner.findEvents(f);
  }
  getNodes(k: Parameters<AuditStore["getNodes"]>[0]) {
    return this.inner.getNodes(k);
  }
  putCheckpoint(c: Parameters<AuditStore["putCheckpoint"]>[0]) {
    return this.inner.putCheckpoint(c);
  }
  listCheckpoints() {
    return this.inner.listCheckpoints();
  }
  latestCheckpoint() {
    return this.inner.latestCheckpoint();
  }
  getMeta(k: string) {
    return this.inner.getMeta(k);
  }
  setMeta(k: string, v: string) {
    return this.inner.setMeta(k, v);
  }
  updateMeta(k: string, update: (current: string | null) => string) {
    return this.inner.updateMeta(k, update);
  }
}

async function setup(extra: { retryMs?: number; maxRetryMs?: number } = {}) {
  const inner = new SqliteStore({ path: path.join(tmp.dir, "ledger.db") });
  await inner.open();
  const store = new FlakyStore(inner);
  const spool = await Spool.open({ path: path.join(tmp.dir, "ledger.spool") });
  const alerts: RecorderAlert[] = [];
  const committed: RecordedEvent[] = [];
  const recorder = new Recorder({ store, spool, failMode: "open", onAlert: (a) => alerts.push(a), retryMs: extra.retryMs ?? 60_000, ...(extra.maxRetryMs ? { maxRetryMs: extra.maxRetryMs } : {}) });
  recorder.onCommit((evs) => {
    committed.push(...evs);
  });
  return { inner, store, spool, recorder, alerts, committed };
}

const ev = (i: number) => ({ type: "ai.generate" as const, userId: `u${i % 3}`, sessionId: `s${i}`, status: "success" as const });

async function userOrder(store: AuditStore): Promise<string[]> {
  const out: string[] = [];
  for await (const e of store.scan()) out.push(e.columns.session_id!);
  return out;
}

describe("Recorder with a durable spool (open mode)", () => {
  it("acknowledges events as spooled while the store is down and delivers them in order, once, after recovery", async () => {
    const { inner, store, spool, recorder, alerts, committed } = await setup();
    await Promise.all([0, 1, 2].map((i) => recorder.record(ev(i))));
    store.down = true;
    const during = await Promise.all([3, 4, 5, 6].map((i) => recorder.record(ev(i))));
    expect(during.every((r) => r.spooled === true && r.seq === -1)).toBe(true);
    expect(alerts.map((a) => a.kind)).toEqual(["store_unavailable"]);
    let h = recorder.health();
    expect(h).toMatchObject({ status: "down", storeAvailable: false, failMode: "open", spool: { depth: 4 }, committed: 3 });
    expect(h.lastError).toContain("connection refused");
    expect(h.spool!.bytes).toBeGreaterThan(0);

    // Recovered: later events queue behind the spool, so the store still gets them in order.
    store.down = false;
    const later = recorder.record(ev(7));
    expect(await recorder.drainSpool()).toBe(0);
    expect((await later).seq).toBeGreaterThanOrEqual(3);
    await recorder.flush();
    expect(await userOrder(inner)).toEqual(["s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7"]);
    expect(committed.map((c) => c.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(alerts.map((a) => a.kind)).toEqual(["store_unavailable", "store_recovered", "spool_delivered"]);
    h = recorder.health();
    expect(h).toMatchObject({ status: "ok", storeAvailable: true, spool: { depth: 0, bytes: 0 }, committed: 8 });
    expect(await verifyStore(inner)).toMatchObject({ ok: true, events: 8 });
    await recorder.close();
    await spool.close();
    await inner.close();
  });

  it("a commit whose acknowledgement was lost is spooled, redelivered, and stored once", async () => {
    const { inner, store, spool, recorder } = await setup();
    store.loseAck = true;
    const r = await recorder.record(ev(0));
    expect(r.spooled).toBe(true);
    // It is in the store already, and in the spool.
    expect((await inner.head()).size).toBe(1);
    expect(spool.depth).toBe(1);
    store.loseAck = false;
    expect(await recorder.drainSpool()).toBe(0);
    await recorder.record(ev(1));
    expect(await userOrder(inner)).toEqual(["s0", "s1"]);
    expect(await verifyStore(inner)).toMatchObject({ ok: true, events: 2 });
    await recorder.close();
    await spool.close();
    await inner.close();
  });

  it("a new Recorder delivers what an earlier process left in the spool", async () => {
    const first = await setup();
    first.store.down = true;
    await Promise.all([0, 1, 2].map((i) => first.recorder.record(ev(i))));
    await first.recorder.close();
    await first.spool.close();
    first.store.down = false;

    const spool = await Spool.open({ path: path.join(tmp.dir, "ledger.spool") });
    expect(spool.depth).toBe(3);
    const recorder = new Recorder({ store: first.inner, spool, failMode: "open", retryMs: 10 });
    await expect.poll(() => spool.depth, { timeout: 5000 }).toBe(0);
    expect(await userOrder(first.inner)).toEqual(["s0", "s1", "s2"]);
    await recorder.close();
    await spool.close();
    await first.inner.close();
  });

  it("retries on its own with backoff once the store is back", async () => {
    // Backoff capped low, so a loaded machine cannot stretch the retry past the poll below.
    const { inner, store, spool, recorder } = await setup({ retryMs: 20, maxRetryMs: 200 });
    store.down = true;
    await recorder.record(ev(0));
    const attempts = store.appends;
    await expect.poll(() => store.appends, { timeout: 10_000 }).toBeGreaterThan(attempts + 1);
    store.down = false;
    await expect.poll(() => spool.depth, { timeout: 10_000 }).toBe(0);
    expect(recorder.health().status).toBe("ok");
    expect(await userOrder(inner)).toEqual(["s0"]);
    await recorder.close();
    await spool.close();
    await inner.close();
  });

  it("when the spool is full too, the calls reject with AUDIT_WRITE_FAILED and an alert fires", async () => {
    const inner = new SqliteStore({ path: path.join(tmp.dir, "full.db") });
    await inner.open();
    const store = new FlakyStore(inner);
    const spool = await Spool.open({ path: path.join(tmp.dir, "full.spool"), maxBytes: 200 });
    const alerts: RecorderAlert[] = [];
    const recorder = new Recorder({ store, spool, failMode: "open", onAlert: (a) => alerts.push(a), retryMs: 60_000 });
    store.down = true;
    await expect(recorder.record({ ...ev(0), errorMessage: "x".repeat(300) })).rejects.toMatchObject({ code: "AUDIT_WRITE_FAILED" });
    expect(alerts.map((a) => a.kind)).toEqual(["store_unavailable", "spool_full"]);
    expect(recorder.health().lastError).toMatch(/spool .* is full/);
    await recorder.close();
    await spool.close();
    await inner.close();
  });
});

describe("Recorder in closed mode", () => {
  it("fails the batch with AUDIT_WRITE_FAILED, then fails fast with AUDIT_UNAVAILABLE until the retry, then recovers", async () => {
    const inner = new SqliteStore({ path: path.join(tmp.dir, "closed.db") });
    await inner.open();
    const store = new FlakyStore(inner);
    const alerts: RecorderAlert[] = [];
    const recorder = new Recorder({ store, failMode: "closed", retryMs: 300, onAlert: (a) => alerts.push(a) });
    store.down = true;
    await expect(recorder.record(ev(0))).rejects.toMatchObject({ code: "AUDIT_WRITE_FAILED" });
    const attempts = store.appends;
    await expect(recorder.record(ev(1))).rejects.toMatchObject({ code: "AUDIT_UNAVAILABLE" });
    expect(store.appends).toBe(attempts);
    expect(recorder.health()).toMatchObject({ status: "down", failMode: "closed", spool: null });
    store.down = false;
    await expect.poll(async () => (await recorder.record(ev(2)).catch((e: AitrailError) => e)) as unknown, { timeout: 5000, interval: 100 }).toMatchObject({ seq: 0 });
    expect(alerts.map((a) => a.kind)).toEqual(["store_unavailable", "store_recovered"]);
    await recorder.close();
    await inner.close();
  });

  it("without a failMode keeps the original behaviour: no fail-fast, each batch tries the store", async () => {
    const inner = new SqliteStore({ path: path.join(tmp.dir, "plain.db") });
    await inner.open();
    const store = new FlakyStore(inner);
    const recorder = new Recorder({ store });
    store.down = true;
    await expect(recorder.record(ev(0))).rejects.toMatchObject({ code: "AUDIT_WRITE_FAILED" });
    await expect(recorder.record(ev(1))).rejects.toMatchObject({ code: "AUDIT_WRITE_FAILED" });
    store.down = false;
    expect((await recorder.record(ev(2))).seq).toBe(0);
    await recorder.close();
    await inner.close();
  });
});
