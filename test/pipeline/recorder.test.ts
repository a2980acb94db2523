/**
 * The Recorder against a real SQLite file, on both append paths: the store's append thread
 * (the entry's columns are derived there, from the record) and the caller's thread.
 */
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Recorder } from "../../src/pipeline/recorder.js";
import { columnsOf } from "../../src/store/columns.js";
import { SqliteStore } from "../../src/store/sqlite/store.js";
import { verifyStore } from "../../src/store/verify.js";
import type { AuditEvent } from "../../src/event/schema.js";
import { tempDir } from "../helpers/tmp.js";
import { evtId } from "../store/fixtures.js";

const tmp = tempDir("aitrail-recorder-");
afterAll(() => tmp.cleanup());
let n = 0;

for (const appendThread of [true, false]) {
  describe(`Recorder on SQLite (${appendThread ? "append thread" : "inline appends"})`, () => {
    async function open() {
      const store = new SqliteStore({ path: path.join(tmp.dir, `r${n++}.db`), appendThread });
      await store.open();
      return { store, recorder: new Recorder({ store }) };
    }

    it("stores each event's columns as derived from its stored record, with the leaf hash the caller is told", async () => {
      const { store, recorder } = await open();
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

    it("records an event id again only with the same content: the same entry comes back; other content is INVALID_EVENT and nothing is written", async () => {
      const { store, recorder } = await open();
      const event = { type: "ai.generate" as const, eventId: evtId(1, 77), timestamp: "2026-01-02T03:04:05.000Z", userId: "u-1", status: "success" as const };
      const first = await recorder.record(event);
      const again = await recorder.record({ ...event });
      expect(again.seq).toBe(first.seq);
      expect(again.leafHash).toEqual(first.leafHash);
      await expect(recorder.record({ ...event, status: "error" })).rejects.toMatchObject({ code: "INVALID_EVENT", details: { eventId: event.eventId, seq: first.seq } });
      expect((await store.head()).size).toBe(1);
      expect(JSON.parse((await store.getByEventId(event.eventId))!.canonical)).toMatchObject({ status: "success" });
      await recorder.close();
      await store.close();
    });
  });
}
