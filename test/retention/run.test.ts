/**
 * Retention runs on real stores (SQLite file and the real PostgreSQL): archive, verify,
 * record, delete; holds; chained archives; tampered archives; a crash between steps.
 */
import fs from "node:fs";
import path from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import type { AuditEventInput } from "../../src/event/schema.js";
import { signCheckpoint } from "../../src/ledger/checkpoint.js";
import { toHex } from "../../src/ledger/hash.js";
import { signerFromSeed } from "../../src/ledger/note.js";
import { rootAt } from "../../src/ledger/tree.js";
import { verifyArchive, verifyArchiveDir } from "../../src/retention/archive.js";
import { listHolds } from "../../src/retention/holds.js";
import { directRecorder, placeHold, planRetention, releaseHold, runRetention, setPolicy, type RetentionStore } from "../../src/retention/run.js";
import { readAnchor } from "../../src/store/anchor.js";
import { PostgresStore } from "../../src/store/postgres/store.js";
import { SqliteStore } from "../../src/store/sqlite/store.js";
import { verifyStore } from "../../src/store/verify.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { evtId, prepare } from "../store/fixtures.js";
import { describePg, dropSchemas, newSchema, urlFor } from "../store/pg.js";

const NOW = new Date("2025-06-01T00:00:00.000Z");
const DAY = 86_400_000;

/** One event a week for ~3 years up to NOW; some users, a patient, tags. */
function history(ns = 40): AuditEventInput[] {
  const out: AuditEventInput[] = [];
  for (let k = 0; k < 156; k++) {
    out.push({
      type: "ai.generate",
      eventId: evtId(k, ns),
      timestamp: new Date(NOW.getTime() - (156 - k) * 7 * DAY).toISOString(),
      userId: k === 20 ? "u-held" : `u-${k % 4}`,
      purpose: k % 3 === 0 ? "marketing" : "support",
      provider: "openai",
      status: "success",
      cost: 0.001,
      ...(k === 60 ? { patientId: "p-9", phiAccessed: true } : {}),
    });
  }
  return out;
}

type Open = () => Promise<{ store: RetentionStore; reopen: () => Promise<RetentionStore> }>;

function defineRetention(name: string, open: Open): void {
  describe(`${name}: retention`, () => {
    const tmp = tempDir();
    afterAll(() => tmp.cleanup());
    let n = 0;
    const archiveDir = () => path.join(tmp.dir, `archive-${n++}`);

    async function seeded(): Promise<{ store: RetentionStore; reopen: () => Promise<RetentionStore>; events: ReturnType<typeof prepare>[] }> {
      const o = await open();
      const events = history().map(prepare);
      await o.store.append(events);
      return { ...o, events };
    }

    it("needs a policy", async () => {
      const { store } = await seeded();
      await expect(planRetention({ store, now: NOW })).rejects.toMatchObject({ code: "INVALID_CONFIG" });
      await store.close();
    });

    it("a dry run plans without writing; a run archives, verifies, records the purge and deletes only the expired prefix", async () => {
      const { store, reopen, events } = await seeded();
      await setPolicy(store, { frameworks: ["SOC2"], gdprPurposes: { marketing: "30d" } });
      const sizeBefore = (await store.head()).size;
      const dir = archiveDir();
      const cutoff = new Date(NOW.getTime() - 365 * DAY).toISOString();
      // The expired prefix stops at the PHI event (HIPAA keeps it six years): seq 60.
      const expectedTo = events.findIndex((e) => e.event.timestamp > cutoff || e.event.phiAccessed);
      expect(expectedTo).toBe(60);

      const dry = await runRetention({ store, archiveDir: dir, now: NOW, dryRun: true });
      expect(dry).toMatchObject({ dryRun: true, fromSeq: 0, toSeq: 60, count: 60, deleted: 0, archive: null, stoppedAt: { seq: 60, reason: "retained" } });
      expect(dry.stoppedAt!.detail).toContain("HIPAA 6y");
      expect(dry.rules).toEqual({ "SOC2 365d": 60 });
      expect(fs.existsSync(dir)).toBe(false);
      expect((await store.head()).size).toBe(sizeBefore);

      const report = await runRetention({ store, archiveDir: dir, now: NOW });
      expect(report).toMatchObject({ dryRun: false, fromSeq: 0, toSeq: 60, count: 60, deleted: 60 });
      expect(report.archive!.path).toBe(path.join(dir, "ledger-000000000000-000000000059"));
      // The archive verifies on its own.
      const set = await verifyArchiveDir(dir);
      expect(set.ok).toBe(true);
      expect(set.archives[0]).toMatchObject({ fromSeq: 0, toSeq: 60, count: 60, checkpoint: "none" });
      // The live ledger starts at the anchor and verifies from it.
      const anchor = await readAnchor(store);
      expect(anchor.seq).toBe(60);
      expect(toHex(anchor.chainHash)).toBe(set.archives[0]!.manifest!.endChainHash);
      expect(await store.getByEventId(events[59]!.eventId)).toBeNull();
      expect(await store.getByEventId(events[60]!.eventId)).not.toBeNull();
      // The purge is itself a ledger event naming the anchor and the archive.
      const purge = await store.getByEventId(report.purgeEventId!);
      const details = (JSON.parse(purge!.canonical) as { details: Record<string, unknown> }).details;
      expect(details).toMatchObject({ anchor: { seq: 60, chainHash: toHex(anchor.chainHash) }, archive: { fromSeq: 0, toSeq: 60, count: 60, manifestSha256: report.archive!.manifestSha256 } });
      expect(purge!.seq).toBe(sizeBefore);
      await store.close();
      const again = await reopen();
      expect(await verifyStore(again)).toMatchObject({ ok: true, fromSeq: 60, events: sizeBefore + 1 - 60 });
      // Nothing more is due now.
      expect((await runRetention({ store: again, archiveDir: dir, now: NOW })).count).toBe(0);
      await again.close();
    });

    it("a legal hold placed while a run is under way stops its purge: nothing is deleted, and the next run respects the hold", async () => {
      const { store } = await seeded();
      await setPolicy(store, { frameworks: ["EU_AI_ACT"] });
      const dir = archiveDir();
      const planned = await planRetention({ store, now: NOW });
      expect(planned.count).toBeGreaterThan(0);
      const sizeBefore = (await store.head()).size;
      const direct = directRecorder(store, () => NOW);
      let hold: Awaited<ReturnType<typeof placeHold>> | undefined;
      // The hold lands after the plan, the archive and the pre-check: only the purge's own check can see it.
      const placingRecord: typeof direct = async (input) => {
        hold = await placeHold(store, { kind: "range", from: "2000-01-01T00:00:00.000Z", to: "2100-01-01T00:00:00.000Z", reason: "late matter" }, { record: direct });
        return direct(input);
      };
      const refused = await runRetention({ store, archiveDir: dir, now: NOW, record: placingRecord }).then(
        () => null,
        (err: unknown) => err,
      );
      expect(refused).toMatchObject({ code: "LEGAL_HOLD", details: { holds: [hold!.id] } });
      expect(await readAnchor(store)).toMatchObject({ seq: 0 });
      // Everything is still there (plus the hold's event and the purge event that did not take effect).
      expect((await store.head()).size).toBe(sizeBefore + 2);
      expect(await store.getByEventId(evtId(0, 40))).not.toBeNull();
      expect(await verifyStore(store)).toMatchObject({ ok: true, fromSeq: 0 });
      // The next run sees the hold and stops at the first entry.
      const next = await runRetention({ store, archiveDir: dir, now: NOW });
      expect(next).toMatchObject({ count: 0, stoppedAt: { seq: 0, reason: "legal-hold" } });
      await store.close();
    });

    it("legal holds placed and released at the same time are all kept or all gone (no lost update)", async () => {
      const { store } = await seeded();
      const placed = await Promise.all(Array.from({ length: 12 }, (_, i) => placeHold(store, { kind: "user", userId: `u-${i}`, reason: `matter ${i}` })));
      expect((await listHolds(store)).map((h) => h.id).sort()).toEqual(placed.map((h) => h.id).sort());
      await Promise.all(placed.slice(0, 6).map((h) => releaseHold(store, h.id)));
      expect((await listHolds(store)).map((h) => h.id).sort()).toEqual(placed.slice(6).map((h) => h.id).sort());
      await store.close();
    });

    it("legal holds by user, patient and time range stop the purge; released, the next run archives the rest and the archives chain", async () => {
      const { store, events } = await seeded();
      await setPolicy(store, { frameworks: ["EU_AI_ACT"] });
      const dir = archiveDir();
      const userHold = await placeHold(store, { kind: "user", userId: "u-held", reason: "case 2025-17" }, { now: NOW });
      let report = await runRetention({ store, archiveDir: dir, now: NOW });
      expect(report).toMatchObject({ toSeq: 20, count: 20, stoppedAt: { seq: 20, reason: "legal-hold" } });
      expect(report.stoppedAt!.detail).toContain(userHold.id);
      const rangeHold = await placeHold(store, { kind: "range", from: events[30]!.event.timestamp, to: events[31]!.event.timestamp, reason: "audit" });
      await releaseHold(store, userHold.id);
      report = await runRetention({ store, archiveDir: dir, now: NOW });
      expect(report).toMatchObject({ fromSeq: 20, toSeq: 30, stoppedAt: { seq: 30, reason: "legal-hold" } });
      await releaseHold(store, rangeHold.id);
      const patientHold = await placeHold(store, { kind: "patient", patientId: "p-9", reason: "litigation" });
      report = await runRetention({ store, archiveDir: dir, now: NOW });
      // The PHI event is kept six years by HIPAA anyway; the report names that first.
      expect(report).toMatchObject({ fromSeq: 30, toSeq: 60, stoppedAt: { seq: 60, reason: "retained" } });
      // Seven years later HIPAA has run out, and the patient hold alone keeps it.
      const later = new Date(NOW.getTime() + 7 * 365 * DAY);
      expect(await planRetention({ store, now: later })).toMatchObject({ fromSeq: 60, toSeq: 60, stoppedAt: { seq: 60, reason: "legal-hold" } });
      expect((await planRetention({ store, now: later })).stoppedAt!.detail).toContain(patientHold.id);
      expect((await listHolds(store)).map((h) => h.kind)).toEqual(["patient"]);
      await expect(releaseHold(store, "hold_nope")).rejects.toMatchObject({ code: "NOT_FOUND" });
      await expect(placeHold(store, { kind: "user", userId: "x", reason: " " })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
      // Hold events in the ledger carry no subject identifier.
      const holdEvents = await store.findEvents({ type: "custom.retention.hold", limit: 10 });
      expect(holdEvents.length).toBe(5);
      for (const e of holdEvents) expect(e.canonical).not.toMatch(/u-held|p-9/);

      const set = await verifyArchiveDir(dir);
      expect(set.ok).toBe(true);
      expect(set.archives.map((a) => [a.fromSeq, a.toSeq])).toEqual([
        [0, 20],
        [20, 30],
        [30, 60],
      ]);
      expect(await verifyStore(store)).toMatchObject({ ok: true, fromSeq: 60 });
      // An archive missing from the middle breaks the chain of archives.
      fs.rmSync(set.archives[1]!.path, { recursive: true });
      expect(await verifyArchiveDir(dir)).toMatchObject({ ok: false });
      await store.close();
    });

    it("carries a signed checkpoint that covers the range, with a consistency proof checked against the key", async () => {
      const { store } = await seeded();
      await setPolicy(store, { frameworks: ["PCI_DSS"] });
      const signer = signerFromSeed("aitrail.test/ret", new Uint8Array(32).fill(7));
      const size = (await store.head()).size;
      const root = await rootAt(store, size);
      await store.putCheckpoint({ treeSize: size, rootHash: root, note: signCheckpoint({ origin: "aitrail.test/ret", treeSize: size, rootHash: root }, signer), createdAt: NOW.toISOString() });
      const dir = archiveDir();
      const report = await runRetention({ store, archiveDir: dir, now: NOW });
      expect(report.count).toBeGreaterThan(0);
      expect(report.archive!.checkpoint).toBe("proof-only");
      expect(await verifyArchive(report.archive!.path, { trusted: [signer.verifierKey] })).toMatchObject({ ok: true, checkpoint: "verified" });
      const other = signerFromSeed("aitrail.test/ret", new Uint8Array(32).fill(8));
      expect((await verifyArchive(report.archive!.path, { trusted: [other.verifierKey] })).ok).toBe(false);
      // The CLI verifies it the same way.
      const pub = path.join(tmp.dir, `ret-${n}.pub`);
      fs.writeFileSync(pub, `${signer.verifierKey}\n`);
      const cli = await runCli("verify", "--archive", dir, "--public-key", pub, "--json");
      expect(cli.code).toBe(0);
      expect(JSON.parse(cli.out)).toMatchObject({ ok: true, archives: [{ checkpoint: "verified" }] });
      await store.close();
    });

    it("detects a tampered archive: an edited record, a forged manifest", async () => {
      const { store } = await seeded();
      await setPolicy(store, { frameworks: ["SOC2"] });
      const dir = archiveDir();
      const { archive } = await runRetention({ store, archiveDir: dir, now: NOW });
      await store.close();
      const seg = path.join(archive!.path, "segment.jsonl.gz");
      const man = path.join(archive!.path, "manifest.json");
      const original = fs.readFileSync(seg);
      // Edit a record and fix up the segment hash: the chain catches it.
      const edited = gzipSync(Buffer.from(gunzipSync(original).toString("utf8").replace('\\"cost\\":0.001', '\\"cost\\":0.002')));
      fs.writeFileSync(seg, edited);
      const m = JSON.parse(fs.readFileSync(man, "utf8")) as { segment: { sha256: string }; endChainHash: string };
      const sha = (await import("node:crypto")).createHash("sha256").update(edited).digest("hex");
      fs.writeFileSync(man, JSON.stringify({ ...m, segment: { ...m.segment, sha256: sha } }));
      const r = await verifyArchive(archive!.path);
      expect(r.ok).toBe(false);
      expect(r.problem).toMatch(/entry 0: chain hash does not match/);
      const cli = await runCli("verify", "--archive", dir);
      expect(cli.code).toBe(1);
      expect(cli.out).toContain("FAILED");
      // Only the manifest's hash changed: the segment no longer matches.
      fs.writeFileSync(seg, original);
      expect((await verifyArchive(archive!.path)).problem).toMatch(/segment SHA-256/);
      fs.writeFileSync(man, JSON.stringify({ ...m, endChainHash: "0".repeat(64) }));
      expect((await verifyArchive(archive!.path)).problem).toMatch(/endChainHash/);
    });

    it("a crash after archiving deletes nothing; the rerun reuses the archive", async () => {
      const { store } = await seeded();
      await setPolicy(store, { frameworks: ["SOC2"] });
      const dir = archiveDir();
      const size = (await store.head()).size;
      await expect(
        runRetention({
          store,
          archiveDir: dir,
          now: NOW,
          record: () => Promise.reject(new Error("process killed")),
        }),
      ).rejects.toThrow("process killed");
      expect((await store.head()).size).toBe(size);
      expect((await readAnchor(store)).seq).toBe(0);
      expect(await verifyStore(store)).toMatchObject({ ok: true, fromSeq: 0, events: size });
      const archived = fs.readdirSync(dir);
      expect(archived).toEqual(["ledger-000000000000-000000000059"]);
      const report = await runRetention({ store, archiveDir: dir, now: NOW });
      expect(report).toMatchObject({ toSeq: 60, deleted: 60 });
      expect(fs.readdirSync(dir)).toEqual(archived);
      expect(await verifyStore(store)).toMatchObject({ ok: true, fromSeq: 60 });
      await store.close();
    });
  });
}

const sqliteTmp = tempDir();
afterAll(() => sqliteTmp.cleanup());
let files = 0;
defineRetention("sqlite", async () => {
  const file = path.join(sqliteTmp.dir, `r${files++}.db`);
  const open = async () => {
    const s = new SqliteStore({ path: file });
    await s.open();
    return s;
  };
  return { store: await open(), reopen: open };
});

describePg("postgres", () => {
  afterAll(dropSchemas);
  defineRetention("postgres", async () => {
    const url = urlFor(newSchema("ret"));
    const open = async () => {
      const s = new PostgresStore({ connectionString: url });
      await s.open();
      return s;
    };
    return { store: await open(), reopen: open };
  });
});
