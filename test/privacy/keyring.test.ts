import { mkdtempSync, readFileSync, statSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  Keyring,
  LocalKeyProvider,
  MemorySubjectKeyStore,
  loadLocalKeyProvider,
  parseMasterKey,
  MASTER_KEY_ENV,
} from "../../src/privacy/index.js";

const provider = () => new LocalKeyProvider(randomBytes(32));

describe("master key loading", () => {
  it("reads AITRAIL_MASTER_KEY as hex or base64, the same key either way", () => {
    const key = randomBytes(32);
    const a = loadLocalKeyProvider({ env: { [MASTER_KEY_ENV]: key.toString("hex") } });
    const b = loadLocalKeyProvider({ env: { [MASTER_KEY_ENV]: key.toString("base64") } });
    const c = loadLocalKeyProvider({ env: { [MASTER_KEY_ENV]: key.toString("base64url") } });
    expect(a.keyId).toBe(b.keyId);
    expect(b.keyId).toBe(c.keyId);
    expect(a.keyId).toMatch(/^mk_[0-9a-f]{16}$/);
  });

  it("rejects a malformed key without echoing it", () => {
    const secret = "deadbeef".repeat(7);
    try {
      parseMasterKey(secret, MASTER_KEY_ENV);
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ code: "MALFORMED_KEY" });
      expect(String((err as Error).message)).not.toContain(secret);
      expect((err as Error).message).toContain(MASTER_KEY_ENV);
    }
  });

  it("creates master.key on first use with mode 0600 and reads it back", () => {
    const dir = join(mkdtempSync(join(tmpdir(), "aitrail-key-")), "keys");
    const first = loadLocalKeyProvider({ keyDir: dir, env: {} });
    const file = join(dir, "master.key");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(Buffer.from(readFileSync(file, "utf8").trim(), "base64")).toHaveLength(32);
    const again = loadLocalKeyProvider({ keyDir: dir, env: {} });
    expect(again.keyId).toBe(first.keyId);
  });

  it("refuses a key file others can read, and a missing one when told not to create", () => {
    const dir = mkdtempSync(join(tmpdir(), "aitrail-key-"));
    expect(() => loadLocalKeyProvider({ keyDir: dir, env: {}, create: false })).toThrow(/does not exist/);
    writeFileSync(join(dir, "master.key"), randomBytes(32).toString("hex"));
    chmodSync(join(dir, "master.key"), 0o644);
    expect(() => loadLocalKeyProvider({ keyDir: dir, env: {} })).toThrow(/chmod 600/);
  });

  it("with neither env nor key directory: KEY_ERROR naming the variable", () => {
    expect(() => loadLocalKeyProvider({ env: {} })).toThrow(/AITRAIL_MASTER_KEY/);
  });
});

describe("keyring", () => {
  it("gives one key per subject, stable across opens, and never stores the identifier", async () => {
    const store = new MemorySubjectKeyStore();
    const p = provider();
    const ring = await Keyring.open({ provider: p, store });
    const k1 = await ring.obtain("user", "user-12345");
    const k2 = await ring.obtain("user", "user-12345");
    const other = await ring.obtain("user", "user-99");
    const patient = await ring.obtain("patient", "user-12345");
    expect(k1.keyId).toBe(k2.keyId);
    expect(other.keyId).not.toBe(k1.keyId);
    expect(patient.keyId).not.toBe(k1.keyId);
    expect(k1.dataKey).toHaveLength(32);
    expect(k1.salt).toHaveLength(32);

    const reopened = await Keyring.open({ provider: p, store });
    const k3 = await reopened.find("user", "user-12345");
    expect(k3?.keyId).toBe(k1.keyId);
    expect(Buffer.compare(k3!.dataKey, k1.dataKey)).toBe(0);

    const dump = JSON.stringify(await store.list());
    expect(dump).not.toContain("user-12345");
    expect(dump).not.toContain(k1.dataKey.toString("base64url"));
    expect(ring.subjectRef("user", "user-12345")).not.toContain("user-12345");
  });

  it("concurrent first uses share one key", async () => {
    const ring = await Keyring.open({ provider: provider(), store: new MemorySubjectKeyStore() });
    const keys = await Promise.all(Array.from({ length: 20 }, () => ring.obtain("user", "u1")));
    expect(new Set(keys.map((k) => k.keyId)).size).toBe(1);
  });

  it("a wrong master key is WRONG_MASTER_KEY and writes nothing", async () => {
    const store = new MemorySubjectKeyStore();
    const ring = await Keyring.open({ provider: provider(), store });
    await ring.obtain("user", "u1");
    const before = JSON.stringify(await store.list());
    await expect(Keyring.open({ provider: provider(), store })).rejects.toMatchObject({ code: "WRONG_MASTER_KEY" });
    expect(JSON.stringify(await store.list())).toBe(before);
  });

  it("a tampered wrapped key is WRONG_MASTER_KEY (the tag does not verify)", async () => {
    const store = new MemorySubjectKeyStore();
    const p = provider();
    const ring = await Keyring.open({ provider: p, store });
    const key = await ring.obtain("user", "u1");
    const entry = (await store.getByKeyId(key.keyId))!;
    const bytes = Buffer.from(entry.wrapped.wrapped, "base64url");
    bytes[20] = bytes[20]! ^ 1;
    await store.replace(entry.subjectRef, { ...entry.wrapped, wrapped: bytes.toString("base64url") });
    const fresh = await Keyring.open({ provider: p, store });
    await expect(fresh.byKeyId(key.keyId)).rejects.toMatchObject({ code: "WRONG_MASTER_KEY" });
  });

  it("a wrapped key moved to another subject does not open (context bound)", async () => {
    const store = new MemorySubjectKeyStore();
    const p = provider();
    const ring = await Keyring.open({ provider: p, store });
    const a = await ring.obtain("user", "a");
    const b = await ring.obtain("user", "b");
    const entryA = (await store.getByKeyId(a.keyId))!;
    const refB = ring.subjectRef("user", "b");
    await store.delete(refB);
    await store.putIfAbsent(refB, entryA.wrapped);
    const fresh = await Keyring.open({ provider: p, store });
    await expect(fresh.find("user", "b")).rejects.toMatchObject({ code: "WRONG_MASTER_KEY" });
    expect(b.keyId).not.toBe(a.keyId);
  });

  it("erase destroys the key; an unknown subject is a clear no-op", async () => {
    const store = new MemorySubjectKeyStore();
    const ring = await Keyring.open({ provider: provider(), store });
    const key = await ring.obtain("user", "u1");
    expect(await ring.erase("user", "u1")).toEqual({ erased: true, kind: "user", keyId: key.keyId });
    expect(await ring.find("user", "u1")).toBeNull();
    expect(await ring.byKeyId(key.keyId)).toBeNull();
    expect(await ring.erase("user", "u1")).toEqual({ erased: false, kind: "user" });
    expect(await ring.erase("user", "never-seen")).toEqual({ erased: false, kind: "user" });
    // A later event for the same identifier gets a new, unrelated key.
    expect((await ring.obtain("user", "u1")).keyId).not.toBe(key.keyId);
  });

  it("an erasure made through another keyring is honoured at once", async () => {
    const store = new MemorySubjectKeyStore();
    const p = provider();
    const a = await Keyring.open({ provider: p, store });
    const b = await Keyring.open({ provider: p, store });
    const key = await a.obtain("user", "u1");
    expect((await a.byKeyId(key.keyId))?.keyId).toBe(key.keyId);
    await b.erase("user", "u1");
    expect(await a.byKeyId(key.keyId)).toBeNull();
  });

  it("rotation rewraps every record, keeps key ids and keys, and the old master key stops working", async () => {
    const store = new MemorySubjectKeyStore();
    const oldKey = provider();
    const newKey = provider();
    const ring = await Keyring.open({ provider: oldKey, store });
    const k = await ring.obtain("user", "u1");
    await ring.obtain("patient", "p1");
    const result = await ring.rotate(newKey);
    expect(result).toEqual({ from: [oldKey.keyId], to: newKey.keyId, rewrapped: 3, unchanged: 0, vanished: 0 });
    expect((await store.list()).every((e) => e.wrapped.masterKeyId === newKey.keyId)).toBe(true);

    const rotated = await Keyring.open({ provider: newKey, store });
    const again = await rotated.find("user", "u1");
    expect(again?.keyId).toBe(k.keyId);
    expect(Buffer.compare(again!.dataKey, k.dataKey)).toBe(0);
    expect(rotated.subjectRef("user", "u1")).toBe(ring.subjectRef("user", "u1"));
    await expect(Keyring.open({ provider: oldKey, store })).rejects.toMatchObject({ code: "WRONG_MASTER_KEY" });
    // Rotating again to the same key changes nothing.
    expect(await rotated.rotate(newKey)).toMatchObject({ rewrapped: 0, unchanged: 3 });
  });

  it("a rotation cut short resumes with the old key among previousProviders", async () => {
    const store = new MemorySubjectKeyStore();
    const oldKey = provider();
    const newKey = provider();
    const ring = await Keyring.open({ provider: oldKey, store });
    const k = await ring.obtain("user", "u1");
    // Simulate a half-done rotation: only the index record was rewrapped.
    const partial = await Keyring.open({ provider: oldKey, store });
    const index = (await store.get("index"))!;
    const ctx = Buffer.from(`aitrail/subject-key/v1\u0000index\u0000${index.keyId}\u0000index`);
    const secret = await oldKey.unwrap(Buffer.from(index.wrapped, "base64url"), ctx);
    await store.replace("index", { ...index, masterKeyId: newKey.keyId, wrapped: Buffer.from(await newKey.wrap(secret, ctx)).toString("base64url") });
    partial.close();

    await expect(Keyring.open({ provider: newKey, store }).then((r) => r.find("user", "u1"))).rejects.toMatchObject({
      code: "WRONG_MASTER_KEY",
    });
    const resumed = await Keyring.open({ provider: newKey, store, previousProviders: [oldKey] });
    expect((await resumed.find("user", "u1"))?.keyId).toBe(k.keyId);
    expect(await resumed.rotate(newKey)).toMatchObject({ rewrapped: 1, unchanged: 1 });
    const clean = await Keyring.open({ provider: newKey, store });
    expect((await clean.find("user", "u1"))?.keyId).toBe(k.keyId);
  });

  it("rejects the reserved kind and empty identifiers, and refuses use after close", async () => {
    const ring = await Keyring.open({ provider: provider(), store: new MemorySubjectKeyStore() });
    expect(() => ring.subjectRef("index", "x")).toThrow(/reserved/);
    expect(() => ring.subjectRef("user", "")).toThrow(/non-empty/);
    ring.close();
    await expect(ring.obtain("user", "u")).rejects.toMatchObject({ code: "KEY_ERROR" });
  });
});

describe("keyring during a key store outage", () => {
  it("keys already in memory keep protecting; a new subject fails with the store's error", async () => {
    const store = new MemorySubjectKeyStore();
    const ring = await Keyring.open({ provider: provider(), store });
    const known = await ring.obtain("user", "u1");
    const down = new Error("database is down");
    store.get = () => Promise.reject(down);
    expect((await ring.obtain("user", "u1")).keyId).toBe(known.keyId);
    await expect(ring.obtain("user", "u2")).rejects.toBe(down);
  });
});
