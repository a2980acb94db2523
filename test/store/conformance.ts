/**
 * The store conformance suite: every AuditStore behaviour, run against every backend
 * (test/store/sqlite.test.ts, test/store/postgres.test.ts). Tampering is done with plain SQL
 * on the real database, as an attacker with database access would.
 */
import { afterAll, describe, expect, it } from "vitest";
import { AitrailError } from "../../src/errors.js";
import { canonicalize } from "../../src/event/canonical.js";
import { chainHash, toHex, ZERO_HASH } from "../../src/ledger/hash.js";
import { MemoryTree } from "../../src/ledger/memory-tree.js";
import { rootFromLeafHashes } from "../../src/ledger/merkle.js";
import { rootAt } from "../../src/ledger/tree.js";
import { AuditQuery, compareIds } from "../../src/query/audit-query.js";
import { readAnchor } from "../../src/store/anchor.js";
import type { AuditStore, PreparedEntry, StoreAggregates, StoredEntry, StorePurge } from "../../src/store/types.js";
import { verifyStore } from "../../src/store/verify.js";
import { edgeEvents, evtId, NOW, plainEvents, prepare, queryDataset } from "./fixtures.js";

export type TestStore = AuditStore & StoreAggregates & StorePurge;

export interface OpenedStore {
  store: TestStore;
  /** Closes nothing; opens the same ledger again (a new connection / handle). */
  reopen: () => Promise<TestStore>;
  /** Runs SQL on the same database as an attacker would (append-only trigger off). Table names unqualified. */
  tamper: (statements: string[]) => Promise<void>;
}

/** The few statements whose syntax differs between backends. */
export interface Dialect {
  /** Moves the timestamp of one row by a second (same month). */
  shiftTimestamp(seq: number): string;
  /** Changes the consentId inside the audit_context JSON of one row. */
  forgeContext(seq: number): string;
  randomHash: string;
}

export interface Harness {
  name: string;
  dialect: Dialect;
  /** A new, empty, open store at a location of its own. */
  fresh(): Promise<OpenedStore>;
  /** Frees everything fresh() made. */
  cleanup(): Promise<void>;
}

async function all(store: AuditStore, options?: Parameters<AuditStore["scan"]>[0]): Promise<StoredEntry[]> {
  const out: StoredEntry[] = [];
  for await (const e of store.scan(options)) out.push(e);
  return out;
}

function reference(entries: readonly PreparedEntry[]): { tree: MemoryTree; chains: Uint8Array[] } {
  const tree = new MemoryTree();
  tree.append(entries.map((e) => e.leafHash));
  const chains: Uint8Array[] = [];
  let prev = ZERO_HASH;
  for (const e of entries) {
    prev = chainHash(prev, e.leafHash);
    chains.push(prev);
  }
  return { tree, chains };
}

const strip = (e: StoredEntry) => ({ seq: e.seq, eventId: e.eventId, canonical: e.canonical, leafHash: toHex(e.leafHash), chainHash: toHex(e.chainHash), columns: e.columns });

export function defineStoreConformance(harness: Harness): void {
  describe(`${harness.name}: AuditStore conformance`, () => {
    afterAll(async () => harness.cleanup());

    describe("append, seal, head", () => {
      it("starts empty, appends batches with contiguous seq and the reference chain and tree", async () => {
        const { store } = await harness.fresh();
        expect(await store.head()).toEqual({ size: 0, chainHash: ZERO_HASH });
        expect(await store.append([])).toEqual([]);
        const events = plainEvents(41);
        const batches = [1, 7, 33];
        let at = 0;
        const stored: StoredEntry[] = [];
        for (const b of batches) {
          stored.push(...(await store.append(events.slice(at, at + b))));
          at += b;
        }
        const ref = reference(events);
        expect(stored.map((s) => s.seq)).toEqual(events.map((_, i) => i));
        expect(stored.map((s) => toHex(s.chainHash))).toEqual(ref.chains.map(toHex));
        expect(stored.map((s) => s.eventId)).toEqual(events.map((e) => e.eventId));
        const head = await store.head();
        expect(head.size).toBe(41);
        expect(toHex(head.chainHash)).toBe(toHex(ref.chains[40]!));
        for (const n of [1, 2, 7, 8, 33, 40, 41]) {
          expect(toHex(await rootAt(store, n))).toBe(toHex(rootFromLeafHashes(events.slice(0, n).map((e) => e.leafHash))));
        }
        await store.close();
      });

      it("in-process concurrent appends stay contiguous and chained", async () => {
        const { store } = await harness.fresh();
        const events = plainEvents(200);
        const results = await Promise.all(Array.from({ length: 10 }, (_, i) => store.append(events.slice(i * 20, i * 20 + 20))));
        const seqs = results.flat().map((s) => s.seq).sort((a, b) => a - b);
        expect(seqs).toEqual(Array.from({ length: 200 }, (_, i) => i));
        // Each batch got a contiguous run.
        for (const r of results) expect(r.at(-1)!.seq - r[0]!.seq).toBe(19);
        expect(await verifyStore(store)).toMatchObject({ ok: true, events: 200 });
        await store.close();
      });

      it("is idempotent by eventId: a redelivered entry is not written again and the stored one comes back", async () => {
        const { store } = await harness.fresh();
        const events = plainEvents(10);
        const first = await store.append(events.slice(0, 6));
        const again = await store.append([events[2]!, events[6]!, events[2]!, events[7]!, events[0]!]);
        expect(again.map((s) => s.seq)).toEqual([2, 6, 2, 7, 0]);
        expect(strip(again[0]!)).toEqual(strip(first[2]!));
        expect((await store.head()).size).toBe(8);
        // A redelivery with other bytes under the same id (a retried protect step) keeps the first.
        const { v: _v, ...input } = events[1]!.event;
        const changed = prepare({ ...input, userId: "someone-else" });
        const [kept] = await store.append([changed]);
        expect(kept!.seq).toBe(1);
        expect(kept!.canonical).toBe(events[1]!.canonical);
        expect((await store.head()).size).toBe(8);
        expect(await verifyStore(store)).toMatchObject({ ok: true, events: 8 });
        await store.close();
      });
    });

    it("large batches (a backend may hand them to a writer thread) keep every guarantee: seal, idempotency, anchor", async () => {
      const { store } = await harness.fresh();
      const events = plainEvents(700, 21);
      const first = await store.append(events.slice(0, 300));
      expect(first.map((e) => e.seq)).toEqual(Array.from({ length: 300 }, (_, i) => i));
      // 100 redelivered and 150 new in one batch.
      const mixed = await store.append([...events.slice(200, 300), ...events.slice(300, 450)]);
      expect(mixed.map((e) => e.seq)).toEqual([...Array.from({ length: 100 }, (_, i) => 200 + i), ...Array.from({ length: 150 }, (_, i) => 300 + i)]);
      expect(strip(mixed[0]!)).toEqual(strip(first[200]!));
      const ref = reference(events.slice(0, 450));
      expect(toHex((await store.head()).chainHash)).toBe(toHex(ref.chains[449]!));
      await store.append([prepare({ type: "retention.purged", eventId: evtId(1, 22), timestamp: "2025-01-20T00:00:00.000Z", details: { anchor: { seq: 450, chainHash: toHex(ref.chains[449]!) } } })]);
      await store.purgePrefix({ seq: 450, chainHash: ref.chains[449]! });
      const after = await store.append(events.slice(450));
      expect(after[0]!.seq).toBe(451);
      expect(after.at(-1)!.seq).toBe(700);
      expect(await verifyStore(store)).toMatchObject({ ok: true, fromSeq: 450, events: 251 });
      expect(toHex(await rootAt(store, 701))).toBe(
        toHex(rootFromLeafHashes([...events.slice(0, 450).map((e) => e.leafHash), prepare({ type: "retention.purged", eventId: evtId(1, 22), timestamp: "2025-01-20T00:00:00.000Z", details: { anchor: { seq: 450, chainHash: toHex(ref.chains[449]!) } } }).leafHash, ...events.slice(450).map((e) => e.leafHash)])),
      );
      await store.close();
    });

    describe("reading back", () => {
      it("gives back every column exactly as columnsOf produced it (unicode, NUL, numbers, JSON, timestamps)", async () => {
        const { store } = await harness.fresh();
        const events = edgeEvents();
        await store.append(events);
        for (const e of events) {
          const got = await store.getByEventId(e.eventId);
          expect(got, e.eventId).not.toBeNull();
          expect(got!.columns).toEqual(e.columns);
          expect(got!.canonical).toBe(e.canonical);
          expect(toHex(got!.leafHash)).toBe(toHex(e.leafHash));
        }
        expect(await store.getByEventId(evtId(999, 9))).toBeNull();
        expect(await verifyStore(store)).toMatchObject({ ok: true, events: events.length });
        await store.close();
      });

      it("scans any seq range in order, across pages", async () => {
        const { store } = await harness.fresh();
        const events = plainEvents(50);
        const stored = await store.append(events);
        const want = stored.map(strip);
        expect((await all(store)).map(strip)).toEqual(want);
        expect((await all(store, { batchSize: 3 })).map(strip)).toEqual(want);
        expect((await all(store, { fromSeq: 10, toSeq: 17, batchSize: 2 })).map((e) => e.seq)).toEqual([10, 11, 12, 13, 14, 15, 16]);
        expect((await all(store, { fromSeq: 48 })).map((e) => e.seq)).toEqual([48, 49]);
        expect(await all(store, { fromSeq: 50 })).toEqual([]);
        expect(await all(store, { fromSeq: 5, toSeq: 5 })).toEqual([]);
        await store.close();
      });

      it("finds events by every filter, in either order, with limits and half-open time bounds", async () => {
        const { store } = await harness.fresh();
        const events = queryDataset();
        await store.append(events);
        const ids = async (f: Parameters<AuditStore["findEvents"]>[0]) => (await store.findEvents(f)).map((e) => e.seq);
        const expectIds = (pred: (e: (typeof events)[number]["event"]) => boolean, order: "asc" | "desc" = "desc", limit = 1000) => {
          const seqs = events.map((e, i) => [e.event, i] as const).filter(([e]) => pred(e)).map(([, i]) => i);
          return (order === "desc" ? seqs.reverse() : seqs).slice(0, limit);
        };
        expect(await ids({ userId: "u-a", limit: 1000 })).toEqual(expectIds((e) => e.userId === "u-a"));
        expect(await ids({ userId: "u-a", limit: 5, order: "asc" })).toEqual(expectIds((e) => e.userId === "u-a", "asc", 5));
        expect(await ids({ patientId: "p-1", limit: 1000 })).toEqual(expectIds((e) => e.patientId === "p-1"));
        expect(await ids({ type: "ai.stream", limit: 1000 })).toEqual(expectIds((e) => e.type === "ai.stream"));
        expect(await ids({ provider: "anthropic", status: "error", limit: 1000 })).toEqual(expectIds((e) => e.provider === "anthropic" && e.status === "error"));
        expect(await ids({ framework: "SOC2", limit: 1000 })).toEqual(expectIds((e) => e.frameworks?.includes("SOC2") ?? false));
        expect(await ids({ framework: "PCI_DSS", limit: 1000 })).toEqual([]);
        const t = events[20]!.event.timestamp;
        const u = events[40]!.event.timestamp;
        expect(await ids({ since: t, until: u, limit: 1000 })).toEqual(expectIds((e) => e.timestamp >= t && e.timestamp < u));
        expect(await ids({ limit: 3 })).toEqual(expectIds(() => true, "desc", 3));
        expect(await ids({ userId: "nobody" })).toEqual([]);
        await store.close();
      });

      it("finds a user's and a patient's events across a ledger of 10,000 entries, AI calls and the trail's own events alike", async () => {
        // Long enough that SQLite's block indexes (4096 seqs a block) walk three blocks.
        const { store } = await harness.fresh();
        const start = Date.parse("2025-02-01T00:00:00.000Z");
        const events = Array.from({ length: 10_000 }, (_, i) =>
          prepare({
            type: i % 997 === 0 ? "consent.granted" : i % 13 === 0 ? "policy.denied" : "ai.generate",
            eventId: evtId(i, 9),
            timestamp: new Date(start + i * 1000).toISOString(),
            // "u-rare" appears in the first and the last block only.
            userId: i === 7 || i === 9_990 ? "u-rare" : `u-${i % 37}`,
            ...(i % 5 === 0 ? { patientId: `p-${i % 11}` } : {}),
            provider: "openai",
          }),
        );
        for (let i = 0; i < events.length; i += 2000) await store.append(events.slice(i, i + 2000));
        const seqs = async (f: Parameters<AuditStore["findEvents"]>[0]) => (await store.findEvents(f)).map((e) => e.seq);
        const want = (pred: (e: (typeof events)[number]["event"]) => boolean, order: "asc" | "desc", limit: number) => {
          const all = events.flatMap((e, i) => (pred(e.event) ? [i] : []));
          return (order === "desc" ? all.reverse() : all).slice(0, limit);
        };
        for (const order of ["asc", "desc"] as const) {
          for (const limit of [1, 50, 1_000_000]) {
            expect(await seqs({ userId: "u-5", order, limit })).toEqual(want((e) => e.userId === "u-5", order, limit));
            expect(await seqs({ userId: "u-rare", order, limit })).toEqual(want((e) => e.userId === "u-rare", order, limit));
            expect(await seqs({ patientId: "p-3", order, limit })).toEqual(want((e) => e.patientId === "p-3", order, limit));
            expect(await seqs({ userId: "u-0", patientId: "p-0", order, limit })).toEqual(
              want((e) => e.userId === "u-0" && e.patientId === "p-0", order, limit),
            );
            expect(await seqs({ userId: "u-1", type: "policy.denied", order, limit })).toEqual(
              want((e) => e.userId === "u-1" && e.type === "policy.denied", order, limit),
            );
            expect(await seqs({ userId: "u-1", type: "ai.generate", order, limit })).toEqual(
              want((e) => e.userId === "u-1" && e.type === "ai.generate", order, limit),
            );
            expect(await seqs({ type: "consent.granted", order, limit })).toEqual(want((e) => e.type === "consent.granted", order, limit));
          }
        }
        const since = events[4000]!.event.timestamp;
        const until = events[8500]!.event.timestamp;
        expect(await seqs({ userId: "u-9", since, until, limit: 1_000_000 })).toEqual(
          want((e) => e.userId === "u-9" && e.timestamp >= since && e.timestamp < until, "desc", 1_000_000),
        );
        expect(await seqs({ userId: "u-404", limit: 10 })).toEqual([]);
        expect(await seqs({ userId: "u-5", limit: 0 })).toEqual([]);
        await store.close();
      }, 60_000);
    });

    describe("Merkle nodes, checkpoints, meta", () => {
      it("stores every completed subtree and rejects a missing node with STORE_CORRUPT", async () => {
        const { store } = await harness.fresh();
        const events = plainEvents(37);
        await store.append(events.slice(0, 5));
        await store.append(events.slice(5));
        const tree = reference(events).tree;
        const keys = [];
        for (let level = 0; 2 ** level <= 37; level++) for (let index = 0; (index + 1) * 2 ** level <= 37; index++) keys.push({ level, index });
        expect((await store.getNodes(keys)).map(toHex)).toEqual((await tree.getNodes(keys)).map(toHex));
        await expect(store.getNodes([{ level: 3, index: 4 }])).rejects.toMatchObject({ code: "STORE_CORRUPT" });
        await expect(store.getNodes([{ level: 0, index: 37 }])).rejects.toMatchObject({ code: "STORE_CORRUPT" });
        expect(await store.getNodes([])).toEqual([]);
        await store.close();
      });

      it("keeps checkpoints in tree-size order; a duplicate size is ignored", async () => {
        const { store } = await harness.fresh();
        expect(await store.latestCheckpoint()).toBeNull();
        const cp = (n: number) => ({ treeSize: n, rootHash: new Uint8Array(32).fill(n), note: `origin\n${n}\nroot\n\n— sig ${n}\n`, createdAt: `2025-01-0${n}T00:00:00.000Z` });
        await store.putCheckpoint(cp(5));
        await store.putCheckpoint(cp(2));
        await store.putCheckpoint({ ...cp(5), note: "other" });
        const list = await store.listCheckpoints();
        expect(list.map((c) => c.treeSize)).toEqual([2, 5]);
        expect(list[1]).toEqual(cp(5));
        expect(await store.latestCheckpoint()).toEqual(cp(5));
        await store.close();
      });

      it("keeps meta values", async () => {
        const { store } = await harness.fresh();
        expect(await store.getMeta("origin")).toBeNull();
        await store.setMeta("origin", "a");
        await store.setMeta("origin", "b ü \n x");
        expect(await store.getMeta("origin")).toBe("b ü \n x");
        await store.close();
      });

      it("updateMeta changes a value as one step: concurrent changes from two connections are all kept", async () => {
        const { store, reopen } = await harness.fresh();
        const other = await reopen();
        const add = (s: TestStore, item: string) => s.updateMeta("list", (current) => JSON.stringify([...(JSON.parse(current ?? "[]") as string[]), item]));
        await Promise.all(Array.from({ length: 20 }, (_, i) => add(i % 2 ? other : store, `item-${i}`)));
        const list = JSON.parse((await store.getMeta("list"))!) as string[];
        expect([...list].sort()).toEqual(Array.from({ length: 20 }, (_, i) => `item-${i}`).sort());
        // An update that throws writes nothing and rejects with its own error.
        await expect(
          store.updateMeta("list", () => {
            throw new AitrailError("NOT_FOUND", "refused");
          }),
        ).rejects.toMatchObject({ code: "NOT_FOUND" });
        expect(JSON.parse((await other.getMeta("list"))!)).toHaveLength(20);
        expect(await store.updateMeta("fresh", (current) => `was ${String(current)}`)).toBe("was null");
        await other.close();
        await store.close();
      });

      it("reopens with everything in place and keeps appending on the same chain", async () => {
        const { store, reopen } = await harness.fresh();
        const events = plainEvents(30);
        await store.append(events.slice(0, 20));
        await store.setMeta("k", "v");
        const head = await store.head();
        await store.close();
        const again = await reopen();
        expect(await again.head()).toEqual(head);
        expect(await again.getMeta("k")).toBe("v");
        await again.append(events.slice(20));
        expect(await verifyStore(again)).toMatchObject({ ok: true, events: 30 });
        expect(toHex(await rootAt(again, 30))).toBe(toHex(rootFromLeafHashes(events.map((e) => e.leafHash))));
        await again.close();
      });
    });

    describe("verify and tampering", () => {
      // 120 entries; targets are chosen for the fields they carry.
      const N = 120;
      async function ledger(): Promise<OpenedStore & { events: ReturnType<typeof plainEvents> }> {
        const opened = await harness.fresh();
        const events = plainEvents(N, 5);
        await opened.store.append(events.slice(0, 50));
        await opened.store.append(events.slice(50));
        return { ...opened, events };
      }
      async function verdict(o: OpenedStore, statements: string[]) {
        await o.tamper(statements);
        const r = await verifyStore(o.store);
        await o.store.close();
        return r;
      }

      it("passes on an untouched ledger", async () => {
        const o = await ledger();
        expect(await verifyStore(o.store)).toMatchObject({ ok: true, events: N, fromSeq: 0, firstBadSeq: null });
        await o.store.close();
      });

      const columnEdits: [string, (d: Dialect) => string][] = [
        ["user_id", () => "UPDATE audit_logs SET user_id = 'someone-else' WHERE seq = 57"],
        ["cost", () => "UPDATE audit_logs SET cost = cost + 1 WHERE seq = 57"],
        ["latency", () => "UPDATE audit_logs SET latency = latency + 0.5 WHERE seq = 57"],
        ["status", () => "UPDATE audit_logs SET status = CASE status WHEN 'success' THEN 'error' ELSE 'success' END WHERE seq = 57"],
        ["timestamp", (d) => d.shiftTimestamp(57)],
        ["total_tokens", () => "UPDATE audit_logs SET total_tokens = total_tokens + 1 WHERE seq = 57"],
        ["audit_context", (d) => d.forgeContext(57)],
        ["provider", () => "UPDATE audit_logs SET provider = NULL WHERE seq = 57"],
      ];
      for (const [column, sql] of columnEdits) {
        it(`detects an edited ${column} column at its seq`, async () => {
          const r = await verdict(await ledger(), [sql(harness.dialect)]);
          expect(r).toMatchObject({ ok: false, firstBadSeq: 57, problem: "modified" });
          expect(r.detail).toContain(column);
        });
      }

      it("detects an edited record", async () => {
        const r = await verdict(await ledger(), [`UPDATE audit_logs SET record = replace(record, '"latency":', '"latency":9') WHERE seq = 88`]);
        expect(r).toMatchObject({ ok: false, firstBadSeq: 88, problem: "modified" });
      });

      it("detects a deleted record", async () => {
        expect(await verdict(await ledger(), ["DELETE FROM audit_logs WHERE seq = 33"])).toMatchObject({ ok: false, firstBadSeq: 33, problem: "missing" });
      });

      it("detects swapped records", async () => {
        const swap = (a: number, b: number) => [
          `UPDATE audit_logs SET seq = -1 WHERE seq = ${a}`,
          `UPDATE audit_logs SET seq = ${a} WHERE seq = ${b}`,
          `UPDATE audit_logs SET seq = ${b} WHERE seq = -1`,
        ];
        expect(await verdict(await ledger(), swap(10, 90))).toMatchObject({ ok: false, firstBadSeq: 10, problem: "reordered" });
        expect(await verdict(await ledger(), swap(40, 41))).toMatchObject({ ok: false, firstBadSeq: 40, problem: "reordered" });
      });

      it("detects an inserted record with renumbered seqs", async () => {
        const forged = evtId(7777, 7);
        const cols =
          "event_id, timestamp, type, user_id, session_id, action, purpose, provider, model, status, latency, cost, input_tokens, output_tokens, total_tokens, ip, user_agent, patient_id, error_code, error_message, audit_context, compliance_data";
        const r = await verdict(await ledger(), [
          "UPDATE audit_logs SET seq = seq + 100000 WHERE seq >= 70",
          "UPDATE audit_logs SET seq = seq - 100000 + 1 WHERE seq >= 100000",
          `INSERT INTO audit_logs (seq, ${cols}, record, leaf_hash, chain_hash)
             SELECT 70, '${forged}', ${cols.replace("event_id, ", "")}, replace(record, event_id, '${forged}'), leaf_hash, chain_hash FROM audit_logs WHERE seq = 5`,
        ]);
        expect(r).toMatchObject({ ok: false, firstBadSeq: 70 });
        expect(["inserted", "modified"]).toContain(r.problem);
      });

      it("detects a rewritten chain link", async () => {
        const r = await verdict(await ledger(), [`UPDATE audit_logs SET chain_hash = ${harness.dialect.randomHash} WHERE seq = 119`]);
        expect(r).toMatchObject({ ok: false, firstBadSeq: 119 });
      });

      it("detects a deleted prefix dressed up with a forged anchor", async () => {
        const o = await ledger();
        const all120 = await all(o.store);
        await o.store.setMeta("ledger.anchor", JSON.stringify({ seq: 30, chainHash: toHex(all120[29]!.chainHash) }));
        const r = await verdict(o, ["DELETE FROM audit_logs WHERE seq < 30"]);
        expect(r).toMatchObject({ ok: false, firstBadSeq: 0, problem: "missing", fromSeq: 30 });
      });
    });

    describe("retention purge of a prefix", () => {
      it("removes entries below the anchor, keeps head, roots and proofs, and verifies from the attested anchor", async () => {
        const { store, reopen } = await harness.fresh();
        const events = plainEvents(60, 6);
        await store.append(events.slice(0, 45));
        const before = await all(store);
        const anchor = { seq: 31, chainHash: before[30]!.chainHash };
        // The anchor must be named by a retention.purged event before the prefix goes.
        await store.append([prepare({ type: "retention.purged", eventId: evtId(1, 60), timestamp: "2025-02-01T00:00:00.000Z", details: { anchor: { seq: 31, chainHash: toHex(anchor.chainHash) } } })]);
        await expect(store.purgePrefix({ seq: 31, chainHash: new Uint8Array(32) })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
        await expect(store.purgePrefix({ seq: 47, chainHash: anchor.chainHash })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
        const headBefore = await store.head();
        const rootBefore = await rootAt(store, 46);
        // A guard sees its meta value inside the purge; what it throws cancels the purge.
        await store.setMeta("purge.guard", "held");
        const seen: (string | null)[] = [];
        const refuse = (value: string | null) => {
          seen.push(value);
          throw new AitrailError("LEGAL_HOLD", "held");
        };
        await expect(store.purgePrefix(anchor, { metaKey: "purge.guard", check: refuse })).rejects.toMatchObject({ code: "LEGAL_HOLD" });
        expect(seen).toEqual(["held"]);
        expect(await all(store)).toHaveLength(46);
        expect(await readAnchor(store)).toMatchObject({ seq: 0 });
        expect(await store.purgePrefix(anchor, { metaKey: "purge.none", check: (v) => void seen.push(v) })).toEqual({ deleted: 31 });
        expect(seen).toEqual(["held", null]);
        expect(await store.head()).toEqual(headBefore);
        expect(await readAnchor(store)).toEqual(anchor);
        expect((await all(store)).map((e) => e.seq)).toEqual(Array.from({ length: 15 }, (_, i) => 31 + i));
        expect(await store.getByEventId(events[3]!.eventId)).toBeNull();
        expect(toHex(await rootAt(store, 46))).toBe(toHex(rootBefore));
        expect(toHex(await rootAt(store, 31))).toBe(toHex(rootFromLeafHashes(events.slice(0, 31).map((e) => e.leafHash))));
        expect(await verifyStore(store)).toMatchObject({ ok: true, fromSeq: 31, events: 15 });
        // Appending continues the chain; a purge cannot go backwards.
        await store.append(events.slice(45));
        await expect(store.purgePrefix({ seq: 10, chainHash: before[9]!.chainHash })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
        expect(await store.purgePrefix(anchor)).toEqual({ deleted: 0 });
        await store.close();
        const again = await reopen();
        expect(await verifyStore(again)).toMatchObject({ ok: true, fromSeq: 31, events: 30 });
        expect((await again.head()).size).toBe(61);
        await again.close();
      });

      it("a ledger whose every row went keeps its head at the anchor", async () => {
        const { store } = await harness.fresh();
        const events = plainEvents(8, 8);
        const stored = await store.append(events);
        await store.purgePrefix({ seq: 8, chainHash: stored[7]!.chainHash });
        expect(await store.head()).toEqual({ size: 8, chainHash: stored[7]!.chainHash });
        const next = await store.append(plainEvents(2, 9));
        expect(next.map((e) => e.seq)).toEqual([8, 9]);
        expect(toHex(next[0]!.chainHash)).toBe(toHex(chainHash(stored[7]!.chainHash, next[0]!.leafHash)));
        await store.close();
      });
    });

    describe("query API", () => {
      it("answers the brief's queries exactly as an independent computation over the same events", async () => {
        const { store } = await harness.fresh();
        const events = queryDataset();
        await store.append(events.slice(0, 30));
        await store.append(events.slice(30));
        const q = new AuditQuery(store, { clock: () => NOW });
        const evs = events.map((e, seq) => ({ ...e.event, seq }));
        const ai = evs.filter((e) => e.type.startsWith("ai."));
        const r9 = (x: number) => Number(x.toFixed(9));

        // getUserActivity
        const act = await q.getUserActivity("u-b", 5);
        expect(act.map((e) => e.seq)).toEqual(evs.filter((e) => e.userId === "u-b").map((e) => e.seq).reverse().slice(0, 5));
        expect(act[0]).toEqual(evs.filter((e) => e.userId === "u-b").at(-1));

        // getCostByUser over an inclusive window
        const start = new Date(NOW.getTime() - 30 * 86_400_000);
        const end = new Date(evs[40]!.timestamp);
        const inWin = ai.filter((e) => e.timestamp >= start.toISOString() && e.timestamp <= end.toISOString());
        const byUser = new Map<string | null, typeof inWin>();
        for (const e of inWin) byUser.set(e.userId ?? null, [...(byUser.get(e.userId ?? null) ?? []), e]);
        const expectedCost = [...byUser].map(([userId, list]) => {
          const lat = list.filter((e) => e.latency !== undefined);
          return {
            userId,
            totalRequests: list.length,
            totalCost: r9(list.reduce((s, e) => s + (e.cost ?? 0), 0)),
            avgLatency: lat.length ? Number((lat.reduce((s, e) => s + e.latency!, 0) / lat.length).toFixed(3)) : null,
            totalTokens: list.reduce((s, e) => s + (e.tokens?.total ?? 0), 0),
          };
        });
        expectedCost.sort((a, b) => b.totalCost - a.totalCost || compareIds(a.userId, b.userId));
        const cost = await q.getCostByUser(start, end);
        expect(cost).toEqual(expectedCost);
        expect(cost.length).toBeGreaterThan(2);
        expect(Object.keys(cost[0]!)).toEqual(["userId", "totalRequests", "totalCost", "avgLatency", "totalTokens"]);

        // detectAnomalies: only the heavy user makes more than 10 calls in the last hour
        const anomalies = await q.detectAnomalies(10);
        expect(anomalies).toEqual([{ userId: "u-heavy", requestsPerHour: 12, avgCostPerRequest: 0.0001 }]);
        expect(await q.detectAnomalies(12)).toEqual([]);

        // errorRateByProvider over 24h
        const day = ai.filter((e) => e.timestamp >= new Date(NOW.getTime() - 86_400_000).toISOString());
        const providers = [...new Set(day.map((e) => e.provider ?? null))].map((provider) => {
          const list = day.filter((e) => (e.provider ?? null) === provider);
          const errors = list.filter((e) => e.status === "error").length;
          return { provider, totalRequests: list.length, errors, errorRate: Number(((100 * errors) / list.length).toFixed(2)) };
        });
        providers.sort((a, b) => b.errorRate - a.errorRate || compareIds(a.provider, b.provider));
        expect(await q.errorRateByProvider("24h")).toEqual(providers);

        // getComplianceReport
        const hipaa = await q.getComplianceReport("HIPAA", 30);
        const since30 = new Date(NOW.getTime() - 30 * 86_400_000).toISOString();
        expect(hipaa.events.map((e) => e.seq)).toEqual(evs.filter((e) => e.frameworks?.includes("HIPAA") && e.timestamp >= since30).map((e) => e.seq).reverse());
        expect(hipaa.truncated).toBe(false);
        expect((await q.getComplianceReport("GDPR", 90, { limit: 2 })).truncated).toBe(true);
        await expect(q.getComplianceReport("SOX", 30)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });

        // consentTracking: granted, revoked after, revoked before (the refusal), unknown consent, none named
        const consent = await q.consentTracking(90, { limit: 1000 });
        const uses = evs.filter((e) => (e.type.startsWith("ai.") || e.type === "policy.denied") && e.timestamp >= new Date(NOW.getTime() - 90 * 86_400_000).toISOString());
        expect(consent.map((c) => c.seq)).toEqual(uses.map((e) => e.seq).reverse());
        const bySeq = new Map(consent.map((c) => [c.seq, c]));
        const grantedB = evs.find((e) => e.type === "consent.granted" && e.consentId === "c-b")!.timestamp;
        const revokedB = evs.find((e) => e.type === "consent.revoked")!.timestamp;
        for (const e of uses) {
          const row = bySeq.get(e.seq)!;
          expect(row.consentId).toBe(e.consentId ?? null);
          if (e.consentId === "c-b") {
            expect(row).toMatchObject({ granted: true, revoked: true, grantedAt: grantedB, revokedAt: revokedB, validAtCall: e.timestamp < revokedB });
          } else if (e.consentId === "c-a") {
            expect(row).toMatchObject({ granted: true, revoked: false, validAtCall: true });
          } else if (e.consentId === "c-none") {
            expect(row).toMatchObject({ granted: false, revoked: false, validAtCall: false });
          } else {
            expect(row).toMatchObject({ granted: null, revoked: null, validAtCall: null });
          }
        }
        expect(consent.find((c) => c.type === "policy.denied")).toMatchObject({ validAtCall: false, revoked: true });
        await store.close();
      });

      it("has the brief's defaults and rejects bad arguments with INVALID_ARGUMENT", async () => {
        const { store } = await harness.fresh();
        await store.append(queryDataset());
        const q = new AuditQuery(store, { clock: () => NOW });
        expect((await q.getUserActivity("u-a")).length).toBe(21);
        await expect(q.getUserActivity("")).rejects.toBeInstanceOf(AitrailError);
        await expect(q.getCostByUser("yesterday", new Date())).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
        await expect(q.errorRateByProvider("soon")).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
        await expect(q.detectAnomalies(-1)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
        expect(canonicalize(await q.getCostByUser("2000-01-01", "2000-01-02"))).toBe("[]");
        await store.close();
      });
    });
  });
}
