import { chmod, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AitrailError } from "../../src/errors.js";
import { openCheckpoint, signCheckpoint } from "../../src/ledger/checkpoint.js";
import { defaultKeyDir, KeyDirectory, readVerifierKeys } from "../../src/ledger/keys.js";
import { parseVerifierKey } from "../../src/ledger/note.js";

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), "aitrail-keys-"));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const mode = async (p: string): Promise<number> => (await stat(p)).mode & 0o777;
const posix = process.platform !== "win32";

describe("key directory", () => {
  it("defaults to .aitrail beside the database", () => {
    expect(defaultKeyDir("/var/lib/app/audit.db")).toBe("/var/lib/app/.aitrail");
  });

  it("creates a key on first use with 0600 files, and loads the same key afterwards", async () => {
    const dir = join(tmp, ".aitrail");
    const keys = new KeyDirectory(dir);
    expect(await keys.load()).toBeNull();
    const s1 = await keys.signer("aitrail.local/abc");
    expect(s1.name).toBe("aitrail.local/abc");
    const s2 = await new KeyDirectory(dir).signer("ignored.when/exists");
    expect(s2.verifierKey).toBe(s1.verifierKey);
    expect(await keys.exportPublic()).toBe(s1.verifierKey);
    expect((await readFile(join(dir, "ledger.pub"), "utf8")).trim()).toBe(s1.verifierKey);
    if (posix) {
      expect(await mode(dir)).toBe(0o700);
      for (const f of ["ledger.key", "ledger.pub", "verifiers"]) expect(await mode(join(dir, f))).toBe(0o600);
    }
  });

  it("concurrent first use ends with one key", async () => {
    const dir = join(tmp, "k");
    const signers = await Promise.all(Array.from({ length: 6 }, () => new KeyDirectory(dir).signer("log.example/a")));
    expect(new Set(signers.map((s) => s.verifierKey)).size).toBe(1);
    expect(await new KeyDirectory(dir).verifierKeys()).toHaveLength(1);
  });

  it("rotation keeps old checkpoints verifiable with the listed verifier keys", async () => {
    const keys = new KeyDirectory(join(tmp, "k"));
    const old = await keys.signer("log.example/a");
    const oldNote = signCheckpoint({ origin: "log.example/a", treeSize: 1, rootHash: new Uint8Array(32) }, old);
    const { signer: fresh, retired } = await keys.rotate();
    expect(retired?.text).toBe(old.verifierKey);
    expect(fresh.verifierKey).not.toBe(old.verifierKey);
    expect(fresh.name).toBe("log.example/a");
    expect(await keys.exportPublic()).toBe(fresh.verifierKey);
    const listed = await keys.verifierKeys();
    expect(listed.map((k) => k.text)).toEqual([old.verifierKey, fresh.verifierKey]);
    expect(openCheckpoint(oldNote, listed).treeSize).toBe(1);
    // The new key alone does not verify the old checkpoint.
    expect(() => openCheckpoint(oldNote, [fresh.verifierKey])).toThrow(expect.objectContaining({ code: "BAD_SIGNATURE" }));
    // The old private key is gone.
    expect((await keys.load())?.verifierKey).toBe(fresh.verifierKey);
  });

  it.runIf(posix)("refuses a signing key readable by others, without printing it", async () => {
    const dir = join(tmp, "k");
    await new KeyDirectory(dir).signer("log.example/a");
    const file = join(dir, "ledger.key");
    const secret = (await readFile(file, "utf8")).trim().split("+").slice(4).join("+");
    await chmod(file, 0o644);
    const err = await new KeyDirectory(dir).load().catch((e: unknown) => e);
    expect(AitrailError.isInstance(err, "KEY_ERROR")).toBe(true);
    expect((err as Error).message).toContain("chmod 600");
    expect((err as Error).message).not.toContain(secret);
  });

  it("a corrupt signing key is KEY_ERROR and its content is not in the message", async () => {
    const dir = join(tmp, "k");
    await new KeyDirectory(dir).signer("log.example/a");
    const file = join(dir, "ledger.key");
    const original = await readFile(file, "utf8");
    const secret = original.trim().split("+").slice(4).join("+");
    await writeFile(file, original.replace("PRIVATE+KEY", "PRIVATE+KEX"), { mode: 0o600 });
    const err = await new KeyDirectory(dir).load().catch((e: unknown) => e);
    expect(AitrailError.isInstance(err, "KEY_ERROR")).toBe(true);
    expect(JSON.stringify((err as AitrailError).toJSON())).not.toContain(secret);
  });

  it("exportPublic before any key exists is KEY_ERROR", async () => {
    await expect(new KeyDirectory(join(tmp, "none")).exportPublic()).rejects.toMatchObject({ code: "KEY_ERROR" });
  });
});

describe("readVerifierKeys (--public-key)", () => {
  it("accepts a key string or a file of keys with comments", async () => {
    const keys = new KeyDirectory(join(tmp, "k"));
    const a = await keys.signer("log.example/a");
    const b = (await keys.rotate()).signer;
    expect((await readVerifierKeys(a.verifierKey)).map((k) => k.text)).toEqual([a.verifierKey]);
    const file = join(tmp, "trusted.txt");
    await writeFile(file, `# aitrail ledger keys\n${a.verifierKey}\n\n${b.verifierKey}\n`);
    expect((await readVerifierKeys(file)).map((k) => k.text)).toEqual([a.verifierKey, b.verifierKey]);
    expect((await readVerifierKeys(join(tmp, "k", "verifiers"))).length).toBe(2);
    expect(parseVerifierKey((await readFile(join(tmp, "k", "ledger.pub"), "utf8")).trim()).text).toBe(b.verifierKey);
  });

  it("a missing file, a bad line or an empty file is MALFORMED_KEY", async () => {
    await expect(readVerifierKeys(join(tmp, "missing"))).rejects.toMatchObject({ code: "MALFORMED_KEY" });
    const bad = join(tmp, "bad.txt");
    await writeFile(bad, "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2X\n");
    await expect(readVerifierKeys(bad)).rejects.toMatchObject({ code: "MALFORMED_KEY", message: expect.stringContaining("line 1") });
    const empty = join(tmp, "empty.txt");
    await writeFile(empty, "# nothing\n");
    await expect(readVerifierKeys(empty)).rejects.toMatchObject({ code: "MALFORMED_KEY" });
  });
});
