import path from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Recorder } from "../../src/pipeline/recorder.js";
import { SqliteStore } from "../../src/store/sqlite/store.js";
import { verifyStore } from "../../src/store/verify.js";
import { AitrailError } from "../../src/errors.js";
import { tempDir } from "../helpers/tmp.js";
import { eventLike } from "./arbitraries.js";
import { RUNS } from "./budget.js";

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir("aitrail-fuzz-");
});
afterAll(() => tmp.cleanup());

describe("fuzz: whatever the Recorder accepts, a real SQLite ledger stores exactly and verifies", () => {
  it("random batches of random events: accepted ones are stored as recorded, the ledger verifies", async () => {
    let file = 0;
    let stored = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(eventLike, { minLength: 1, maxLength: 12 }), async (inputs) => {
        const store = new SqliteStore({ path: path.join(tmp.dir, `r${file++}.db`) });
        await store.open();
        try {
          const recorder = new Recorder({ store, level: "detailed" });
          const results = await Promise.allSettled(inputs.map((i) => recorder.record(i as never)));
          await recorder.close();
          for (const r of results) {
            if (r.status === "rejected" && !AitrailError.isInstance(r.reason, "INVALID_EVENT")) throw r.reason;
          }
          const accepted = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
          // An eventId given twice is stored once (idempotent append): the calls share its seq.
          const ids = new Set(accepted.map((a) => a.eventId));
          stored += ids.size;
          for (const a of accepted) {
            const back = await store.getByEventId(a.eventId);
            expect(back?.seq).toBe(a.seq);
            const same = accepted.filter((x) => x.eventId === a.eventId).map((x) => JSON.parse(JSON.stringify(x.event)) as unknown);
            expect(same).toContainEqual(JSON.parse(back!.canonical));
          }
          const v = await verifyStore(store);
          expect(v).toMatchObject({ ok: true, events: ids.size, firstBadSeq: null });
        } finally {
          await store.close();
        }
      }),
      { numRuns: Math.max(10, Math.round(RUNS / 20)) },
    );
    expect(stored).toBeGreaterThan(0);
  });
});
