import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Recorder } from "../../src/pipeline/recorder.js";
import { SqliteStore } from "../../src/store/sqlite/store.js";
import { verifyStore } from "../../src/store/verify.js";
import { LocalKeyProvider, openPrivacy } from "../../src/privacy/index.js";
import type { Privacy } from "../../src/privacy/index.js";
import { ConsentManager, PolicyEnforcer, PurposeRegistry } from "../../src/consent/index.js";
import { tempDir } from "../helpers/tmp.js";

let tmp: ReturnType<typeof tempDir>;
let file: string;
let store: SqliteStore;
let privacy: Privacy;
let recorder: Recorder;
let consent: ConsentManager;

const TEXT = "I agree that my support tickets are analysed by an AI model to suggest replies.";
const USER = "user-12345";

beforeEach(async () => {
  tmp = tempDir();
  file = path.join(tmp.dir, "trail.db");
  store = new SqliteStore({ path: file });
  await store.open();
  privacy = await openPrivacy({ store, provider: new LocalKeyProvider(randomBytes(32)) });
  recorder = new Recorder({ store, protect: privacy.protect });
  consent = new ConsentManager({ record: (e) => recorder.record(e), store, privacy: privacy.protector });
});
afterEach(async () => {
  await recorder.close();
  privacy.close();
  await store.close();
  tmp.cleanup();
});

const grant = (extra: Record<string, unknown> = {}) =>
  consent.recordConsent({
    userId: USER,
    purpose: "support-replies",
    ipAddress: "198.51.100.7",
    userAgent: "Mozilla/5.0 (Consent Form)",
    consentText: TEXT,
    granted: true,
    ...extra,
  });

describe("ConsentManager on a real SQLite trail", () => {
  it("records, checks, revokes; every decision is a ledger event and the trail verifies", async () => {
    expect(await consent.checkConsent(USER, "support-replies")).toBeNull();
    const id = await grant({ consentVersion: "v3" });
    expect(id).toMatch(/^consent-[0-9A-HJKMNP-TV-Z]{26}$/);

    const active = await consent.checkConsent(USER, "support-replies");
    expect(active).toMatchObject({
      consentId: id,
      userId: USER,
      purpose: "support-replies",
      ipAddress: "198.51.100.7",
      userAgent: "Mozilla/5.0 (Consent Form)",
      consentText: TEXT,
      consentVersion: "v3",
      granted: true,
      revoked: false,
    });
    expect(active!.timestamp).toBeInstanceOf(Date);
    expect(active!.consentTextHash).toMatch(/^[0-9a-f]{64}$/);
    expect(await consent.checkConsent(USER, "marketing")).toBeNull();
    expect(await consent.checkConsent("user-other", "support-replies")).toBeNull();

    await consent.revokeConsent(id);
    expect(await consent.checkConsent(USER, "support-replies")).toBeNull();
    await consent.revokeConsent(id); // idempotent: no second event

    const types = (await store.findEvents({ limit: 100, order: "asc" })).map((e) => e.columns.type);
    expect(types).toEqual(["consent.granted", "consent.revoked"]);
    expect((await verifyStore(store)).ok).toBe(true);

    const history = await consent.history(USER);
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ consentId: id, granted: true, revoked: true });
    expect(history[0]!.revokedAt).toBeInstanceOf(Date);

    // Neither the identifier nor the consent's ip reaches the file.
    await recorder.flush();
    const bytes = Buffer.concat([file, `${file}-wal`].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f)));
    expect(bytes.includes(Buffer.from(USER))).toBe(false);
    expect(bytes.includes(Buffer.from("198.51.100.7"))).toBe(false);
  });

  it("the newest decision for a purpose governs", async () => {
    const first = await grant();
    const declined = await grant({ granted: false });
    expect(await consent.checkConsent(USER, "support-replies")).toBeNull();
    const again = await grant();
    expect((await consent.checkConsent(USER, "support-replies"))?.consentId).toBe(again);
    const history = await consent.history(USER);
    expect(history.map((h) => [h.consentId, h.granted])).toEqual([
      [first, true],
      [declined, false],
      [again, true],
    ]);
  });

  it("missing or malformed fields are INVALID_CONSENT listing them; nothing is recorded", async () => {
    try {
      await consent.recordConsent({ userId: "", purpose: undefined, granted: "yes" } as never);
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ code: "INVALID_CONSENT" });
      const fields = ((err as { details: { problems: { field: string }[] } }).details.problems).map((p) => p.field);
      expect(fields).toEqual(["userId", "purpose", "consentText", "granted"]);
    }
    await expect(consent.checkConsent(USER, "")).rejects.toMatchObject({ code: "INVALID_CONSENT" });
    await expect(consent.revokeConsent("consent-xyz-789")).rejects.toMatchObject({ code: "INVALID_CONSENT" });
    await expect(consent.revokeConsent("consent-01J0000000000000000000000Z")).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect((await store.head()).size).toBe(0);
  });

  it("with a registry, consent is only recorded for registered purposes", async () => {
    const registered = new ConsentManager({
      record: (e) => recorder.record(e),
      store,
      privacy: privacy.protector,
      purposes: new PurposeRegistry([{ purpose: "support-replies", legalBasis: "consent", retention: "30-days" }]),
    });
    await expect(registered.recordConsent({ userId: USER, purpose: "marketing", consentText: TEXT, granted: true })).rejects.toMatchObject({
      code: "PURPOSE_NOT_REGISTERED",
    });
    expect(await registered.recordConsent({ userId: USER, purpose: "support-replies", consentText: TEXT, granted: true })).toMatch(/^consent-/);
  });

  it("erasing the user erases their consent records too", async () => {
    const id = await grant();
    await privacy.erase({ subject: USER }, (e) => recorder.record(e));
    expect(await consent.checkConsent(USER, "support-replies")).toBeNull();
    expect(await consent.history(USER)).toEqual([]);
    await expect(consent.revokeConsent(id)).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect((await verifyStore(store)).ok).toBe(true);
  });

  it("works with protection off (plain identifiers)", async () => {
    const plainRecorder = new Recorder({ store });
    const m = new ConsentManager({ record: (e) => plainRecorder.record(e), store, privacy: null });
    const id = await m.recordConsent({ userId: "u-plain", purpose: "p", consentText: TEXT, granted: true });
    expect((await m.checkConsent("u-plain", "p"))?.consentId).toBe(id);
    const [row] = await store.findEvents({ userId: "u-plain", limit: 1 });
    expect(row?.columns.user_id).toBe("u-plain");
    await plainRecorder.close();
  });
});

describe("policy enforcement before the provider call", () => {
  const purposes = [
    { purpose: "support-replies", legalBasis: "consent", dataCategories: ["support tickets"], recipients: ["openai"], retention: "30-days" },
    { purpose: "fraud-screening", legalBasis: "legitimate_interests", retention: "1-year" },
  ];

  async function run(policy: PolicyEnforcer, ctx: Record<string, unknown>, target = { provider: "mistral", model: "mistral-large", region: "EU" }) {
    let providerCalls = 0;
    try {
      await policy.enforce(ctx, target, (e) => recorder.record(e));
      providerCalls += 1; // the call would happen here
      return { providerCalls, code: null as string | null };
    } catch (err) {
      return { providerCalls, code: (err as { code: string }).code, err };
    }
  }

  it("consent refused, granted, revoked and refused again; the provider is never called when refused", async () => {
    const policy = new PolicyEnforcer({ consentTracking: true, purposes, dataResidency: "EU" }, consent);
    const ctx = { userId: USER, purpose: "support-replies" };

    const refused = await run(policy, ctx);
    expect(refused).toMatchObject({ providerCalls: 0, code: "CONSENT_REQUIRED" });

    const id = await grant();
    const allowed = await run(policy, ctx);
    expect(allowed).toMatchObject({ providerCalls: 1, code: null });
    const decision = await policy.evaluate(ctx, { provider: "mistral", region: "EU" });
    expect(decision).toMatchObject({ allowed: true, legalBasis: "consent", consentId: id });

    await consent.revokeConsent(id);
    const refusedAgain = await run(policy, ctx);
    expect(refusedAgain).toMatchObject({ providerCalls: 0, code: "CONSENT_REQUIRED" });

    const denials = await store.findEvents({ type: "policy.denied", limit: 10, order: "asc" });
    expect(denials).toHaveLength(2);
    const denial = await privacy.protector.reveal(JSON.parse(denials[0]!.canonical));
    expect(denial).toMatchObject({ userId: USER, purpose: "support-replies", status: "denied", errorCode: "CONSENT_REQUIRED", provider: "mistral" });
    expect(denial.errorMessage).not.toContain(USER);
    expect((await verifyStore(store)).ok).toBe(true);
  });

  it("a consentId that is not the active one is refused", async () => {
    const policy = new PolicyEnforcer({ consentTracking: true }, consent);
    const old = await grant();
    await consent.revokeConsent(old);
    await grant();
    expect(await run(policy, { userId: USER, purpose: "support-replies", consentId: old })).toMatchObject({ providerCalls: 0, code: "CONSENT_REQUIRED" });
  });

  it("unregistered purpose, invalid or contradicting legal basis, residency", async () => {
    const policy = new PolicyEnforcer({ consentTracking: true, purposes, dataResidency: ["EU", "CH"] }, consent);
    expect(await run(policy, { userId: USER, purpose: "marketing" })).toMatchObject({ providerCalls: 0, code: "PURPOSE_NOT_REGISTERED" });
    expect(await run(policy, { userId: USER })).toMatchObject({ providerCalls: 0, code: "PURPOSE_NOT_REGISTERED" });
    expect(await run(policy, { userId: USER, purpose: "fraud-screening", legalBasis: "because-we-can" })).toMatchObject({
      providerCalls: 0,
      code: "INVALID_LEGAL_BASIS",
    });
    expect(await run(policy, { userId: USER, purpose: "fraud-screening", legalBasis: "consent" })).toMatchObject({
      providerCalls: 0,
      code: "INVALID_LEGAL_BASIS",
    });
    // Legitimate interests: no consent needed.
    expect(await run(policy, { userId: USER, purpose: "fraud-screening", legalBasis: "Art. 6(1)(f)" })).toMatchObject({ providerCalls: 1 });
    expect(await run(policy, { userId: USER, purpose: "fraud-screening" }, { provider: "openai", model: "gpt-4o", region: "US" })).toMatchObject({
      providerCalls: 0,
      code: "RESIDENCY_VIOLATION",
    });
    expect(await run(policy, { userId: USER, purpose: "fraud-screening" }, { provider: "openai", model: "gpt-4o" } as never)).toMatchObject({
      providerCalls: 0,
      code: "RESIDENCY_VIOLATION",
    });
    expect(await run(policy, { userId: USER, purpose: "fraud-screening" }, { provider: "mistral", model: "m", region: "eu-fr" })).toMatchObject({
      providerCalls: 1,
    });
    expect(await run(policy, { userId: USER, purpose: "fraud-screening" }, { provider: "x", model: "m", region: "CH" })).toMatchObject({ providerCalls: 1 });
    const denials = await store.findEvents({ type: "policy.denied", limit: 10, order: "asc" });
    expect(denials.map((d) => d.columns.error_code)).toEqual([
      "PURPOSE_NOT_REGISTERED",
      "PURPOSE_NOT_REGISTERED",
      "INVALID_LEGAL_BASIS",
      "INVALID_LEGAL_BASIS",
      "RESIDENCY_VIOLATION",
      "RESIDENCY_VIOLATION",
    ]);
  });

  it("without consent tracking, calls without a legal basis pass; an invalid one still fails", async () => {
    const policy = new PolicyEnforcer({}, null);
    expect(await run(policy, { userId: USER })).toMatchObject({ providerCalls: 1 });
    expect(await run(policy, { legalBasis: "vibes" })).toMatchObject({ providerCalls: 0, code: "INVALID_LEGAL_BASIS" });
  });

  it("bad configuration is refused up front", () => {
    expect(() => new PolicyEnforcer({ consentTracking: true }, null)).toThrow(/consent manager/);
    expect(() => new PolicyEnforcer({ dataResidency: [] }, null)).toThrow(/dataResidency/);
    try {
      new PurposeRegistry([{ purpose: "a", legalBasis: "nope", retention: "1d" }, { purpose: "", legalBasis: "consent" } as never]);
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ code: "INVALID_LEGAL_BASIS" });
      expect((err as Error).message).toContain("compliance.gdpr.purposes[0].legalBasis");
      expect((err as Error).message).toContain("compliance.gdpr.purposes[1].purpose");
      expect((err as Error).message).toContain("compliance.gdpr.purposes[1].retention");
    }
    expect(() => new PurposeRegistry([{ purpose: "a", legalBasis: "consent", retention: "1d" }, { purpose: "a", legalBasis: "consent", retention: "1d" }])).toThrow(
      /registered twice/,
    );
  });
});
