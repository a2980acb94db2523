/**
 * The SQLite append thread: commits run on a worker's connection, so the caller's event loop
 * keeps turning during a commit, appends in flight commit in call order, and close() waits
 * for them.
 */
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Recorder } from "../../src/pipeline/recorder.js";
import { SqliteStore } from "../../src/store/sqlite/store.js";
import { verifyStore } from "../../src/store/verify.js";
import { tempDir } from "../helpers/tmp.js";
import { evtId, prepare } from "./fixtures.js";

const tmp = tempDir("aitrail-append-thread-");
afterAll(() => tmp.cleanup());
let n = 0;

function entries(count: number, namespace: number) {
  return Array.from({ length: count }, (_, i) =>
    prepare({ type: "ai.generate", eventId: evtId(i, namespace), timestamp: "2025-01-01T00:00:00.000Z", userId: `u${i % 7}`, provider: "openai", model: "gpt-4o", status: "success" }),
  );
}

async function open(appendThread?: boolean): Promise<{ store: SqliteStore; file: string }> {
  const file = path.join(tmp.dir, `t${n++}.db`);
  const store = new SqliteStore({ path: file, ...(appendThread === undefined ? {} : { appendThread }) });
  await store.open();
  return { store, file };
}

/** Counts event-loop turns (setImmediate callbacks) until the promise settles. */
async function turnsWhile<T>(p: Promise<T>): Promise<{ value: T; turns: number }> {
  let turns = 0;
  let done = false;
  const spin = () => {
    if (done) return;
    turns += 1;
    setImmediate(spin);
  };
  setImmediate(spin);
  const value = await p;
  done = true;
  return { value, turns };
}

describe("SQLite append thread", () => {
  it("is the default for a file, and the event loop keeps turning while a batch commits", async () => {
    const { store } = await open();
    expect(store.appendDepth).toBe(2);
    const batch = entries(3000, 1);
    const { value, turns } = await turnsWhile(store.append(batch));
    expect(value.map((s) => s.seq)).toEqual(batch.map((_, i) => i));
    // The commit ran elsewhere: this thread was free to run other callbacks meanwhile.
    expect(turns).toBeGreaterThan(0);
    await store.close();
  });

  it("inline appends (appendThread: false) hold the event loop for the whole commit", async () => {
    const { store } = await open(false);
    expect(store.appendDepth).toBe(1);
    const { value, turns } = await turnsWhile(store.append(entries(3000, 2)));
    expect(value).toHaveLength(3000);
    expect(turns).toBe(0);
    await store.close();
  });

  it("appends in flight together commit in call order, one chain", async () => {
    const { store } = await open();
    const all = entries(600, 3);
    const results = await Promise.all([0, 1, 2, 3, 4, 5].map((k) => store.append(all.slice(k * 100, k * 100 + 100))));
    expect(results.flat().map((s) => s.seq)).toEqual(all.map((_, i) => i));
    expect(await verifyStore(store)).toMatchObject({ ok: true, events: 600 });
    await store.close();
  });

  it("close() waits for appends in flight; the data is there after reopening", async () => {
    const { store, file } = await open();
    const all = entries(2000, 4);
    const pending = [store.append(all.slice(0, 1000)), store.append(all.slice(1000))];
    await store.close();
    const stored = (await Promise.all(pending)).flat();
    expect(stored.map((s) => s.seq)).toEqual(all.map((_, i) => i));
    const again = new SqliteStore({ path: file, mustExist: true, readonly: true });
    await again.open();
    expect((await again.head()).size).toBe(2000);
    expect(await verifyStore(again)).toMatchObject({ ok: true, events: 2000 });
    await again.close();
    await expect(store.append(all.slice(0, 1))).rejects.toMatchObject({ code: "STORE_ERROR" });
  });

  it("two threaded stores on one file in one process share one chain", async () => {
    const { store: a, file } = await open();
    const b = new SqliteStore({ path: file });
    await b.open();
    const all = entries(400, 5);
    const results = await Promise.all([0, 1, 2, 3].map((k) => (k % 2 ? b : a).append(all.slice(k * 100, k * 100 + 100))));
    const seqs = results.flat().map((s) => s.seq).sort((x, y) => x - y);
    expect(seqs).toEqual(all.map((_, i) => i));
    await b.close();
    expect(await verifyStore(a)).toMatchObject({ ok: true, events: 400 });
    await a.close();
  });

  it("a Recorder pipelines two batches on it, and every call resolves with its own committed seq", async () => {
    const { store } = await open();
    const recorder = new Recorder({ store, maxBatch: 100 });
    const inputs = Array.from({ length: 1000 }, (_, i) => ({ type: "ai.generate" as const, eventId: evtId(i, 6), userId: `u${i % 5}`, provider: "openai", model: "gpt-4o", status: "success" as const }));
    const recorded = await Promise.all(inputs.map((e) => recorder.record(e)));
    await recorder.close();
    expect(new Set(recorded.map((r) => r.seq)).size).toBe(1000);
    for (const r of recorded) expect((await store.getByEventId(r.eventId))!.seq).toBe(r.seq);
    expect(recorder.stats().batches).toBeGreaterThanOrEqual(10);
    expect(await verifyStore(store)).toMatchObject({ ok: true, events: 1000 });
    await store.close();
  });
});
