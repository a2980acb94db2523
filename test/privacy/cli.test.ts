import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConsentManager } from "../../src/consent/index.js";
import { defaultKeyDir } from "../../src/ledger/keys.js";
import { Recorder } from "../../src/pipeline/recorder.js";
import { openPrivacy } from "../../src/privacy/index.js";
import { SqliteStore } from "../../src/store/sqlite/store.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";

let tmp: ReturnType<typeof tempDir>;
let db: string;
const USER = "user-12345";

async function seed(file: string): Promise<string> {
  const store = new SqliteStore({ path: file });
  await store.open();
  const privacy = await openPrivacy({ store, keyDir: defaultKeyDir(file), env: {} });
  const recorder = new Recorder({ store, level: "detailed", protect: privacy.protect });
  const consent = new ConsentManager({ record: (e) => recorder.record(e), store, privacy: privacy.protector });
  const consentId = await consent.recordConsent({
    userId: USER,
    purpose: "support-replies",
    ipAddress: "198.51.100.7",
    consentText: "I agree.",
    granted: true,
  });
  for (let i = 0; i < 5; i++) {
    await recorder.record({
      type: "ai.generate",
      userId: USER,
      ip: "198.51.100.7",
      purpose: "support-replies",
      legalBasis: "consent",
      consentId,
      provider: "mistral",
      model: "mistral-large",
      status: "success",
      prompt: `<script>alert(${i})</script> from jane@example.com`,
      response: "ok",
    });
  }
  await recorder.record({ type: "ai.generate", userId: "user-other", provider: "openai", model: "gpt-4o", status: "success" });
  await recorder.close();
  privacy.close();
  await store.close();
  return consentId;
}

function bytes(file: string): Buffer {
  return Buffer.concat([file, `${file}-wal`].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f)));
}

beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

describe("aitrail dsar and aitrail erase", () => {
  let consentId = "";
  beforeAll(async () => {
    db = path.join(tmp.dir, "trail.db");
    consentId = await seed(db);
    expect(fs.statSync(path.join(defaultKeyDir(db), "master.key")).mode & 0o777).toBe(0o600);
  });

  it("dsar --format json: the subject's events decrypted, purposes, recipients, consents; the reading is recorded", async () => {
    const purposes = path.join(tmp.dir, "purposes.json");
    fs.writeFileSync(
      purposes,
      JSON.stringify({ purposes: [{ purpose: "support-replies", legalBasis: "consent", dataCategories: ["support tickets"], recipients: ["Mistral AI"], retention: "30-days" }] }),
    );
    const r = await runCli("dsar", "--db", db, "--subject", USER, "--purposes", purposes, "--reader", "dpo@example.org", "--controller", "Example GmbH");
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report).toMatchObject({
      reportType: "GDPR Art. 15 subject access",
      controller: "Example GmbH",
      subject: { kind: "user", identifier: USER },
      found: true,
      summary: { events: 6, byType: { "consent.granted": 1, "ai.generate": 5 }, erasedFields: 0 },
      legalBases: ["consent"],
      recipients: [{ recipient: "mistral", events: 5 }],
      retention: [{ purpose: "support-replies", retention: "30-days" }],
    });
    expect(report.purposes[0]).toMatchObject({ purpose: "support-replies", legalBasis: "consent", registered: true, recipients: ["Mistral AI"], events: 6 });
    expect(report.consents).toHaveLength(1);
    expect(report.consents[0]).toMatchObject({ consentId, granted: true, revoked: false, ipAddress: "198.51.100.7" });
    const calls = report.events.filter((e: { type: string }) => e.type === "ai.generate");
    expect(calls[0]).toMatchObject({ userId: USER, ip: "198.51.100.7", prompt: "<script>alert(0)</script> from [EMAIL]", response: "ok" });
    expect(calls[0].protection).toBeUndefined();

    const reads = JSON.parse((await runCli("query", "events", "--db", db, "--type", "audit.read", "--json")).out);
    expect(reads).toHaveLength(1);
    expect(reads[0].details).toMatchObject({ reader: "dpo@example.org", scope: "subject-access", events: 6, format: "json" });
    expect(reads[0].details.decryptedFields.userId).toBe(6);
    expect(reads[0].userId).toMatch(/^psn_/); // the read is tied to the subject, pseudonymously
  });

  it("dsar --format html --out: escaped, written with mode 0600", async () => {
    const out = path.join(tmp.dir, "dsar.html");
    const r = await runCli("dsar", "--db", db, "--subject", USER, "--format", "html", "--out", out);
    expect(r.code).toBe(0);
    expect(r.err).toContain("7 event(s)"); // the first reading is itself an event about the subject
    expect(fs.statSync(out).mode & 0o777).toBe(0o600);
    const html = fs.readFileSync(out, "utf8");
    expect(html).toContain("&lt;script&gt;alert(0)&lt;/script&gt;");
    expect(html).not.toContain("<script>");
    expect(html).toContain(USER);
  });

  it("query events --user takes the raw identifier and maps it to the pseudonym", async () => {
    const raw = JSON.parse((await runCli("query", "events", "--db", db, "--user", USER, "--type", "ai.generate", "--json")).out);
    expect(raw).toHaveLength(5);
    expect(raw[0].userId).toMatch(/^psn_/);
    const byPseudonym = JSON.parse((await runCli("query", "events", "--db", db, "--user", raw[0].userId, "--type", "ai.generate", "--json")).out);
    expect(byPseudonym).toHaveLength(5);
    expect(JSON.parse((await runCli("query", "events", "--db", db, "--user", "nobody", "--json")).out)).toEqual([]);
  });

  it("a wrong master key is refused: nothing decrypted, nothing written", async () => {
    const before = (await runCli("verify", "--db", db)).out;
    process.env.AITRAIL_MASTER_KEY = randomBytes(32).toString("hex");
    try {
      const r = await runCli("dsar", "--db", db, "--subject", USER);
      expect(r.code).toBe(2);
      expect(r.err).toContain("WRONG_MASTER_KEY");
      expect(r.out).toBe("");
      const e = await runCli("erase", "--db", db, "--subject", USER);
      expect(e.code).toBe(2);
      expect(e.err).toContain("WRONG_MASTER_KEY");
    } finally {
      delete process.env.AITRAIL_MASTER_KEY;
    }
    expect((await runCli("verify", "--db", db)).out.split(" in ")[0]).toBe(before.split(" in ")[0]);
  });

  it("erase: tombstone, verify green, the identifier links to nothing, dsar finds nothing; again: nothing erased", async () => {
    const r = await runCli("erase", "--db", db, "--subject", USER, "--reference", "DSR-42", "--json");
    expect(r.code).toBe(0);
    const result = JSON.parse(r.out);
    expect(result).toMatchObject({ status: "erased", kind: "user", checkpoint: { complete: true } });

    const verify = await runCli("verify", "--db", db);
    expect(verify.code).toBe(0);
    expect(verify.out).toMatch(/^OK: 14 events verified/); // 7 seeded, 2 subject-access readings, 4 audited queries, 1 tombstone

    const tomb = JSON.parse((await runCli("query", "events", "--db", db, "--type", "subject.erased", "--json")).out);
    expect(tomb).toHaveLength(1);
    expect(tomb[0].details).toMatchObject({ keyId: result.keyId, reference: "DSR-42", method: "crypto-shredding" });
    expect(JSON.stringify(tomb[0])).not.toContain(USER);

    const after = bytes(db);
    for (const s of [USER, "198.51.100.7", "jane@example.com"]) expect(after.includes(Buffer.from(s)), s).toBe(false);

    expect(JSON.parse((await runCli("query", "events", "--db", db, "--user", USER, "--json")).out)).toEqual([]);
    const dsar = JSON.parse((await runCli("dsar", "--db", db, "--subject", USER)).out);
    expect(dsar).toMatchObject({ found: false, summary: { events: 0 }, consents: [] });

    const again = await runCli("erase", "--db", db, "--subject", USER);
    expect(again.code).toBe(1);
    expect(again.out).toContain("nothing erased");
    expect((await runCli("verify", "--db", db)).code).toBe(0);
  });

  it("bad arguments are exit 2 with the code", async () => {
    expect((await runCli("erase", "--db", db, "--subject", USER, "--kind", "index")).err).toContain("INVALID_ARGUMENT");
    expect((await runCli("dsar", "--db", db, "--subject", USER, "--format", "xml")).err).toContain("INVALID_ARGUMENT");
    const missing = await runCli("erase", "--db", path.join(tmp.dir, "none.db"), "--subject", USER);
    expect(missing.code).toBe(2);
  });

  it("without a master key on disk the commands say so instead of creating one", async () => {
    fs.mkdirSync(path.join(tmp.dir, "fresh"));
    const fresh = path.join(tmp.dir, "fresh", "fresh.db");
    const store = new SqliteStore({ path: fresh });
    await store.open();
    await store.close();
    const r = await runCli("erase", "--db", fresh, "--subject", USER);
    expect(r.code).toBe(2);
    expect(r.err).toContain("KEY_ERROR");
    expect(fs.existsSync(path.join(defaultKeyDir(fresh), "master.key"))).toBe(false);
  });
});

describe("aitrail master-key rotate", () => {
  it("rewraps every subject key, replaces master.key, leaves events untouched; the old key no longer opens the trail", async () => {
    fs.mkdirSync(path.join(tmp.dir, "rot"));
    const file = path.join(tmp.dir, "rot", "trail.db");
    await seed(file);
    const keyDir = defaultKeyDir(file);
    const oldKey = fs.readFileSync(path.join(keyDir, "master.key"), "utf8");
    const before = JSON.parse((await runCli("query", "events", "--db", file, "--limit", "1000", "--json")).out);

    const r = await runCli("master-key", "rotate", "--db", file, "--json");
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const result = JSON.parse(r.out);
    expect(result).toMatchObject({ rewrapped: 3, unchanged: 0, vanished: 0 }); // index, user-12345, user-other
    expect(result.to).not.toBe(result.from);
    const newKey = fs.readFileSync(path.join(keyDir, "master.key"), "utf8");
    expect(newKey).not.toBe(oldKey);
    expect(fs.statSync(path.join(keyDir, "master.key")).mode & 0o777).toBe(0o600);
    expect(fs.existsSync(path.join(keyDir, "master.key.next"))).toBe(false);

    const after = JSON.parse((await runCli("query", "events", "--db", file, "--limit", "1000", "--json")).out);
    // New since: the audited read of the first listing, then the key.rotated event.
    expect(after.slice(2)).toEqual(before);
    expect(after[1]).toMatchObject({ type: "audit.read", action: "query.events" });
    expect(after[0]).toMatchObject({ type: "key.rotated", details: { key: "master", from: result.from, to: result.to } });
    expect((await runCli("verify", "--db", file)).code).toBe(0);

    const dsar = JSON.parse((await runCli("dsar", "--db", file, "--subject", USER)).out);
    expect(dsar.summary.events).toBe(6);
    expect(dsar.events[1].userId).toBe(USER);

    process.env.AITRAIL_MASTER_KEY = oldKey.trim();
    try {
      const old = await runCli("dsar", "--db", file, "--subject", USER);
      expect(old.err).toContain("WRONG_MASTER_KEY");
    } finally {
      delete process.env.AITRAIL_MASTER_KEY;
    }
  });

  it("a rotation cut short (master.key.next left behind) resumes", async () => {
    fs.mkdirSync(path.join(tmp.dir, "resume"));
    const file = path.join(tmp.dir, "resume", "trail.db");
    await seed(file);
    const keyDir = defaultKeyDir(file);
    const next = randomBytes(32).toString("base64");
    fs.writeFileSync(path.join(keyDir, "master.key.next"), `${next}\n`, { mode: 0o600 });
    const r = await runCli("master-key", "rotate", "--db", file, "--json");
    expect(r.code).toBe(0);
    expect(fs.readFileSync(path.join(keyDir, "master.key"), "utf8").trim()).toBe(next);
    expect(JSON.parse((await runCli("dsar", "--db", file, "--subject", USER)).out).events[1].userId).toBe(USER);
  });
});
