/**
 * The end-to-end path an auditor follows: demo, checkpoint, export the public key, prove
 * one event, and verify the bundle elsewhere with nothing but the public key.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";

let tmp: ReturnType<typeof tempDir>;
let db: string;
beforeAll(async () => {
  tmp = tempDir("aitrail-ledger-cli-");
  db = path.join(tmp.dir, "audit.db");
  const demo = await runCli("demo", "--db", db, "--events", "120", "--seed", "5");
  expect(demo.code).toBe(0);
});
afterAll(() => tmp.cleanup());

async function someEventId(): Promise<string> {
  const r = await runCli("query", "events", "--db", db, "--limit", "50", "--json");
  const events = JSON.parse(r.out) as { eventId: string; seq: number }[];
  return events.find((e) => e.seq === 77)!.eventId;
}

describe("aitrail checkpoint / keys / prove / verify-bundle", () => {
  it("demo ends with a signed checkpoint in the witness file", () => {
    const witness = fs.readFileSync(`${db}.witness`, "utf8").trim().split("\n");
    expect(witness).toHaveLength(1);
    expect(JSON.parse(witness[0]!)).toMatchObject({ treeSize: 120 });
  });

  it("checkpoint prints a signed C2SP checkpoint note and keeps it in the database and the witness file", async () => {
    const r = await runCli("checkpoint", "--db", db);
    expect(r.code).toBe(0);
    const [origin, size, root, blank, sig] = r.out.split("\n");
    expect(origin).toMatch(/^aitrail\.local\/[0-9a-f]{16}$/);
    expect(size).toBe("120");
    expect(Buffer.from(root!, "base64")).toHaveLength(32);
    expect(blank).toBe("");
    expect(sig!.startsWith(`\u2014 ${origin} `)).toBe(true);
    // The same checkpoint again: the tree did not grow.
    expect((await runCli("checkpoint", "--db", db)).out).toBe(r.out);
    const witness = fs.readFileSync(`${db}.witness`, "utf8").trim().split("\n");
    expect(witness).toHaveLength(1);
    expect((JSON.parse(witness[0]!) as { note: string }).note).toBe(r.out);
    expect(fs.existsSync(path.join(tmp.dir, ".aitrail", "ledger.key"))).toBe(true);
  });

  it("keys export-public prints the verifier key matching the checkpoint signature", async () => {
    const r = await runCli("keys", "export-public", "--db", db);
    expect(r.code).toBe(0);
    const vkey = r.out.trim();
    const cp = (await runCli("checkpoint", "--db", db)).out;
    expect(vkey.startsWith(`${cp.split("\n")[0]}+`)).toBe(true);
    expect(vkey).toMatch(/^[^+\s]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$/);
  });

  it("prove writes a bundle that verify-bundle accepts with only the public key; tampering exits 1", async () => {
    const eventId = await someEventId();
    const proof = await runCli("prove", eventId, "--db", db);
    expect(proof.code).toBe(0);
    const bundle = JSON.parse(proof.out) as Record<string, unknown>;
    // Reads are recorded as audit.read events: the listing that found the id (seq 120), then the
    // export itself, before the checkpoint (seq 121): 120 + 2.
    expect(bundle).toMatchObject({ format: "aitrail-evidence/1", eventId, leafIndex: 77, treeSize: 122 });
    expect((bundle.inclusionProof as string[]).length).toBe(7); // ceil(log2 122)
    const reads = JSON.parse((await runCli("query", "events", "--db", db, "--type", "audit.read", "--json")).out) as Record<string, unknown>[];
    expect(reads.map((r) => r.action)).toEqual(["evidence-export", "query.events"]);
    expect(reads[0]).toMatchObject({ action: "evidence-export", details: { scope: "evidence-bundle", eventId, leafIndex: 77 } });

    // The auditor's machine: the bundle and the public key, no database, no key directory.
    const auditor = tempDir("aitrail-auditor-");
    try {
      const bundleFile = path.join(auditor.dir, "bundle.json");
      fs.writeFileSync(bundleFile, proof.out);
      const pubFile = path.join(auditor.dir, "aitrail.pub");
      fs.writeFileSync(pubFile, (await runCli("keys", "export-public", "--db", db)).out);

      const ok = await runCli("verify-bundle", bundleFile, "--public-key", pubFile);
      expect(ok.code).toBe(0);
      expect(ok.out).toContain(`VALID: event ${eventId} is entry 77`);
      const okWithKeyString = await runCli("verify-bundle", bundleFile, "--public-key", fs.readFileSync(pubFile, "utf8").trim(), "--json");
      expect(JSON.parse(okWithKeyString.out)).toMatchObject({ ok: true, eventId, leafIndex: 77, treeSize: 122 });

      const tampered = path.join(auditor.dir, "tampered.json");
      fs.writeFileSync(tampered, JSON.stringify({ ...bundle, record: (bundle.record as string).replace(/"latency":\d+/, '"latency":1') }));
      const bad = await runCli("verify-bundle", tampered, "--public-key", pubFile);
      expect(bad.code).toBe(1);
      expect(bad.out).toMatch(/^INVALID: INTEGRITY_VIOLATION: /);

      const otherKey = path.join(auditor.dir, "other.pub");
      fs.writeFileSync(otherKey, "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k\n");
      const wrongKey = await runCli("verify-bundle", bundleFile, "--public-key", otherKey);
      expect(wrongKey.code).toBe(1);
      expect(wrongKey.out).toMatch(/^INVALID: BAD_SIGNATURE: /);

      const garbage = path.join(auditor.dir, "garbage.json");
      fs.writeFileSync(garbage, "{not json");
      expect(await runCli("verify-bundle", garbage, "--public-key", pubFile)).toMatchObject({ code: 1, out: expect.stringMatching(/^INVALID: MALFORMED_PROOF/) });

      const badKey = await runCli("verify-bundle", bundleFile, "--public-key", "nonsense+key");
      expect(badKey.code).toBe(2);
      expect(badKey.err).toContain("MALFORMED_KEY");
    } finally {
      auditor.cleanup();
    }
  });

  it("prove of an unknown event is NOT_FOUND (exit 2)", async () => {
    const r = await runCli("prove", "evt_01J00000000000000000000000", "--db", db);
    expect(r.code).toBe(2);
    expect(r.err).toContain("NOT_FOUND");
  });

  it("after more events, prove signs a new checkpoint covering them", async () => {
    const other = path.join(tmp.dir, "grow.db");
    await runCli("demo", "--db", other, "--events", "10", "--seed", "8");
    await runCli("checkpoint", "--db", other);
    await runCli("demo", "--db", other, "--events", "5", "--seed", "9");
    const r = await runCli("query", "events", "--db", other, "--limit", "1", "--json");
    const [newest] = JSON.parse(r.out) as { eventId: string }[];
    const out = path.join(tmp.dir, "grow-bundle.json");
    const r2 = await runCli("prove", newest!.eventId, "--db", other, "--out", out, "--reader", "auditor@example.com");
    expect(r2.err).toContain("export recorded as evt_");
    if (process.platform !== "win32") expect(fs.statSync(out).mode & 0o777).toBe(0o600);
    const bundle = JSON.parse(fs.readFileSync(out, "utf8")) as { treeSize: number; leafIndex: number };
    // 15 calls, the audited listing (seq 15), the audited export (seq 16).
    expect(bundle).toMatchObject({ treeSize: 17, leafIndex: 14 });
  });

  it("keys rotate keeps old checkpoints verifiable through keys list", async () => {
    const other = path.join(tmp.dir, "rot.db");
    await runCli("demo", "--db", other, "--events", "4", "--seed", "2");
    const keysDir = path.join(tmp.dir, "rot-keys");
    await runCli("checkpoint", "--db", other, "--keys", keysDir);
    const before = (await runCli("keys", "export-public", "--db", other, "--keys", keysDir)).out.trim();
    const rotated = await runCli("keys", "rotate", "--db", other, "--keys", keysDir);
    expect(rotated.code).toBe(0);
    const after = rotated.out.trim();
    expect(after).not.toBe(before);
    const list = (await runCli("keys", "list", "--db", other, "--keys", keysDir)).out.trim().split("\n");
    expect(list).toEqual([before, after]);
  });
});
