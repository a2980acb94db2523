import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Recorder } from "../../src/pipeline/recorder.js";
import { SqliteStore } from "../../src/store/sqlite/store.js";
import { verifyStore } from "../../src/store/verify.js";
import { ERASED, LocalKeyProvider, openPrivacy } from "../../src/privacy/index.js";
import type { Privacy } from "../../src/privacy/index.js";
import { tempDir } from "../helpers/tmp.js";

let tmp: ReturnType<typeof tempDir>;
let file: string;
let store: SqliteStore;
let privacy: Privacy;
let recorder: Recorder;
const master = randomBytes(32);

const USER = "user-12345";
const SECRETS = [USER, "sess-abc-789", "203.0.113.77", "Mozilla/5.0 (Secret Browser)", "jane.doe@example.com", "patient-777"];

/** Every byte of the database files: the main file, the WAL and the shared-memory index. */
function fileBytes(): Buffer {
  const parts = [file, `${file}-wal`, `${file}-shm`, `${file}-journal`].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f));
  return Buffer.concat(parts);
}

async function open(): Promise<void> {
  store = new SqliteStore({ path: file });
  await store.open();
  privacy = await openPrivacy({ store, provider: new LocalKeyProvider(master) });
  recorder = new Recorder({ store, level: "detailed", protect: privacy.protect });
}

async function close(): Promise<void> {
  await recorder.close();
  privacy.close();
  await store.close();
}

beforeEach(async () => {
  tmp = tempDir();
  file = path.join(tmp.dir, "trail.db");
  await open();
});
afterEach(async () => {
  await close().catch(() => undefined);
  tmp.cleanup();
});

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function recordSome(): Promise<void> {
  for (let i = 0; i < 20; i++) {
    await recorder.record({
      type: "ai.generate",
      userId: USER,
      sessionId: "sess-abc-789",
      ip: "203.0.113.77",
      userAgent: "Mozilla/5.0 (Secret Browser)",
      patientId: i % 5 === 0 ? "patient-777" : undefined,
      action: "summarize",
      purpose: "support",
      provider: "openai",
      model: "gpt-4o",
      status: "success",
      prompt: `Summarize the ticket from jane.doe@example.com (#${i})`,
      response: "Summary: customer jane.doe@example.com wants a refund.",
    });
    await recorder.record({ type: "ai.generate", userId: `someone-else-${i}`, provider: "openai", model: "gpt-4o", status: "success" });
  }
}

describe("privacy on a real SQLite file", () => {
  it("no raw identifier or content PII ever reaches the database files", async () => {
    await recordSome();
    await recorder.flush();
    const bytes = fileBytes();
    for (const s of SECRETS) expect(bytes.includes(Buffer.from(s)), s).toBe(false);
    await close();
    const after = fileBytes();
    for (const s of SECRETS) expect(after.includes(Buffer.from(s)), s).toBe(false);
    await open();
  });

  it("queries by the raw identifier go through the pseudonym", async () => {
    await recordSome();
    const psn = await privacy.pseudonymFor("user", USER);
    expect(psn).toMatch(/^psn_/);
    const mine = await store.findEvents({ userId: psn!, limit: 1000 });
    expect(mine).toHaveLength(20);
    const revealed = await privacy.protector.reveal(JSON.parse(mine[0]!.canonical));
    expect(revealed.userId).toBe(USER);
    expect(revealed.prompt).toMatch(/^Summarize the ticket from \[EMAIL\]/);
  });

  it("erasure: verify stays green, nothing in the files links the identifier to an event, fields read [erased]", async () => {
    await recordSome();
    const psn = (await privacy.pseudonymFor("user", USER))!;
    const ref = privacy.keyring.subjectRef("user", USER);
    const key = (await privacy.keyStore.get(ref))!;
    // Before: the link (ref -> keyId, wrapped salt) is in the files.
    await recorder.flush();
    const before = fileBytes();
    expect(before.includes(Buffer.from(ref))).toBe(true);
    expect(before.includes(Buffer.from(key.wrapped))).toBe(true);

    const report = await privacy.erase({ subject: USER, reference: "DSR-1" }, (input) => recorder.record(input));
    expect(report.status).toBe("erased");
    if (report.status !== "erased") return;
    expect(report.keyId).toBe(key.keyId);
    await recorder.flush();

    const verify = await verifyStore(store);
    expect(verify).toMatchObject({ ok: true, events: 41 });

    const tomb = await store.getByEventId(report.tombstoneEventId);
    const tombstone = JSON.parse(tomb!.canonical);
    expect(tombstone).toMatchObject({ type: "subject.erased", details: { keyId: key.keyId, subjectKind: "user", reference: "DSR-1" } });
    expect(tombstone.userId).toBeUndefined();

    // Reading back: the subject's fields are [erased]; the patient (another subject) is still readable.
    const rows = await store.findEvents({ userId: psn, limit: 1000 });
    expect(rows).toHaveLength(20);
    for (const row of rows) {
      const r = await privacy.protector.revealReport(JSON.parse(row.canonical));
      expect(r.event.userId).toBe(ERASED);
      expect(r.event.ip).toBe(ERASED);
      expect(r.event.prompt).toBe(ERASED);
      if (r.event.patientId !== undefined) expect(r.event.patientId).toBe("patient-777");
    }
    // A query by the raw identifier finds nothing.
    expect(await privacy.pseudonymFor("user", USER)).toBeNull();

    // The bytes: neither the lookup ref nor the wrapped key survive, in the file or the WAL.
    expect(report.checkpoint).toEqual({ complete: true, remainingFrames: 0 });
    const after = fileBytes();
    expect(after.includes(Buffer.from(ref))).toBe(false);
    expect(after.includes(Buffer.from(key.wrapped))).toBe(false);
    for (const s of SECRETS) expect(after.includes(Buffer.from(s)), s).toBe(false);
    await close();
    const closed = fileBytes();
    expect(closed.includes(Buffer.from(ref))).toBe(false);
    expect(closed.includes(Buffer.from(key.wrapped))).toBe(false);

    // Even with the master key, the raw identifier leads to nothing.
    await open();
    expect(await privacy.pseudonymFor("user", USER)).toBeNull();
    expect(await privacy.keyring.find("user", USER)).toBeNull();
    expect((await verifyStore(store)).ok).toBe(true);
  });

  it("erasing an unknown subject changes nothing and records no tombstone", async () => {
    await recordSome();
    const head = await store.head();
    const report = await privacy.erase({ subject: "nobody" }, (input) => recorder.record(input));
    expect(report.status).toBe("unknown_subject");
    await recorder.flush();
    expect((await store.head()).size).toBe(head.size);
  });

  it("a wrong master key is refused before anything is read or written", async () => {
    await recordSome();
    await recorder.flush();
    const head = await store.head();
    const keysBefore = await privacy.keyStore.list();
    await expect(openPrivacy({ store, provider: new LocalKeyProvider(randomBytes(32)) })).rejects.toMatchObject({
      code: "WRONG_MASTER_KEY",
    });
    expect(await privacy.keyStore.list()).toEqual(keysBefore);
    expect((await store.head()).size).toBe(head.size);
  });

  it("master key rotation rewraps subject keys and leaves events (and verify) untouched", async () => {
    await recordSome();
    await recorder.flush();
    const before = await all(store.scan());
    const next = new LocalKeyProvider(randomBytes(32));
    const result = await privacy.keyring.rotate(next);
    expect(result.rewrapped).toBe((await privacy.keyStore.list()).length);
    const after = await all(store.scan());
    expect(after.map((e) => e.canonical)).toEqual(before.map((e) => e.canonical));
    expect((await verifyStore(store)).ok).toBe(true);
    const rotated = await openPrivacy({ store, provider: next });
    const psn = (await rotated.pseudonymFor("user", USER))!;
    const [row] = await store.findEvents({ userId: psn, limit: 1 });
    expect((await rotated.protector.reveal(JSON.parse(row!.canonical))).userId).toBe(USER);
    rotated.close();
  });

  it("the subject_keys table exists through the store's migrations", () => {
    const db = new Database(file, { readonly: true });
    const cols = db.prepare("PRAGMA table_info(subject_keys)").all() as { name: string }[];
    db.close();
    expect(cols.map((c) => c.name)).toEqual(["subject_ref", "key_id", "kind", "master_key_id", "wrapped", "created_at"]);
  });
});
