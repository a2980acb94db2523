import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { canonicalize } from "../../src/event/canonical.js";
import { parseEvent, parseEventInput } from "../../src/event/schema.js";
import type { AuditEvent } from "../../src/event/schema.js";
import {
  ERASED,
  Keyring,
  LocalKeyProvider,
  MemorySubjectKeyStore,
  PROTECTION_SCHEME,
  Protector,
  Redactor,
  eraseSubject,
} from "../../src/privacy/index.js";

async function setup() {
  const store = new MemorySubjectKeyStore();
  const provider = new LocalKeyProvider(randomBytes(32));
  const keyring = await Keyring.open({ provider, store });
  const protector = new Protector({ keyring, redactor: new Redactor() });
  return { store, provider, keyring, protector };
}

const call = (extra: Record<string, unknown> = {}): AuditEvent =>
  parseEventInput({
    type: "ai.generate",
    userId: "user-12345",
    sessionId: "sess-abc-789",
    ip: "192.168.1.100",
    userAgent: "Mozilla/5.0 (X11)",
    action: "customer-feedback-analysis",
    purpose: "Business intelligence",
    provider: "openai",
    model: "gpt-4o",
    status: "success",
    prompt: "Reply to jane@example.com about card 4111 1111 1111 1111",
    response: "Done. Call +1 (415) 555-2671.",
    ...extra,
  });

const RAW = ["user-12345", "sess-abc-789", "192.168.1.100", "Mozilla/5.0", "jane@example.com", "4111", "555-2671"];

describe("protect", () => {
  it("replaces identifiers by pseudonyms, encrypts originals and content, keeps the rest", async () => {
    const { protector } = await setup();
    const event = call();
    const stored = await protector.protect(event);
    const text = canonicalize(stored);
    for (const raw of RAW) expect(text).not.toContain(raw);
    expect(stored.userId).toMatch(/^psn_[A-Za-z0-9_-]{22}$/);
    expect(stored.sessionId).toMatch(/^psn_/);
    expect(stored.ip).toMatch(/^psn_/);
    expect(stored.userAgent).toMatch(/^psn_/);
    expect(stored.prompt).toBeUndefined();
    expect(stored.response).toBeUndefined();
    expect(stored.action).toBe("customer-feedback-analysis");
    expect(stored.model).toBe("gpt-4o");
    expect(stored.protection?.scheme).toBe(PROTECTION_SCHEME);
    expect(Object.keys(stored.protection!.subjects!)).toEqual(["user"]);
    // One ciphertext per subject; its key lists the fields it holds.
    expect(Object.keys(stored.protection!.fields)).toEqual(["ip,prompt,response,sessionId,userAgent,userId"]);
    expect(Object.values(stored.protection!.fields)[0]).toMatch(/^user:[A-Za-z0-9_-]+$/);
    expect(stored.protection?.redactions).toEqual({ EMAIL: 1, CARD: 1, PHONE: 1 });
    // The stored form is a valid event.
    expect(parseEvent(JSON.parse(JSON.stringify(stored)))).toEqual(stored);
  });

  it("pseudonyms are stable per subject and differ between subjects and fields", async () => {
    const { protector } = await setup();
    const a = await protector.protect(call());
    const b = await protector.protect(call());
    const c = await protector.protect(call({ userId: "user-99" }));
    expect(a.userId).toBe(b.userId);
    expect(a.ip).toBe(b.ip);
    expect(c.userId).not.toBe(a.userId);
    expect(c.ip).not.toBe(a.ip); // same ip, other user: other salt
    expect(Object.values(a.protection!.fields)[0]).not.toBe(Object.values(b.protection!.fields)[0]); // random nonces
  });

  it("a patient is a subject of its own", async () => {
    const { protector } = await setup();
    const stored = await protector.protect(
      parseEventInput({ type: "ai.generate", userId: "dr-smith-456", patientId: "patient-123", phiAccessed: true }),
    );
    expect(stored.protection!.subjects).toEqual({
      user: expect.stringMatching(/^sk_/),
      patient: expect.stringMatching(/^sk_/),
    });
    expect(stored.protection!.subjects!.user).not.toBe(stored.protection!.subjects!.patient);
    expect(stored.protection!.fields.patientId).toMatch(/^patient:/);
    expect(await protector.pseudonymFor("patient", "patient-123")).toBe(stored.patientId);
  });

  it("reveal restores every field (content redacted) and reports what it decrypted", async () => {
    const { protector } = await setup();
    const event = call();
    const report = await protector.revealReport(await protector.protect(event));
    expect(report.event).toEqual({
      ...event,
      prompt: "Reply to [EMAIL] about card [CARD]",
      response: "Done. Call [PHONE].",
    });
    expect(report.decrypted.sort()).toEqual(["ip", "prompt", "response", "sessionId", "userAgent", "userId"]);
    expect(report.erased).toEqual([]);
  });

  it("without a redactor content is kept whole but still encrypted", async () => {
    const { keyring } = await setup();
    const protector = new Protector({ keyring, redactor: null });
    const stored = await protector.protect(call());
    expect(canonicalize(stored)).not.toContain("jane@example.com");
    expect((await protector.reveal(stored)).prompt).toContain("jane@example.com");
  });

  it("a ciphertext moved to another event or field list does not open; unknown field names are refused", async () => {
    const { protector } = await setup();
    const a = await protector.protect(call());
    const b = await protector.protect(call());
    const list = "ip,prompt,response,sessionId,userAgent,userId";
    const moved = { ...b, protection: { ...b.protection!, fields: { [list]: a.protection!.fields[list]! } } };
    await expect(protector.reveal(moved)).rejects.toMatchObject({ code: "INTEGRITY_VIOLATION" });
    const relabelled = { ...a, protection: { ...a.protection!, fields: { "ip,prompt,response,sessionId,userId,userAgent": a.protection!.fields[list]! } } };
    await expect(protector.reveal(relabelled)).rejects.toMatchObject({ code: "INTEGRITY_VIOLATION" });
    const hostile = JSON.parse(JSON.stringify(a).replace(`"${list}"`, '"__proto__"'));
    expect(Object.keys(hostile.protection.fields)).toEqual(["__proto__"]);
    await expect(protector.reveal(hostile)).rejects.toMatchObject({ code: "STORE_CORRUPT" });
  });

  it("without a userId the session is the subject; with no identifier content goes under the anonymous subject", async () => {
    const { protector } = await setup();
    const session = await protector.protect(parseEventInput({ type: "ai.generate", sessionId: "s-1", ip: "10.0.0.1" }));
    expect(Object.keys(session.protection!.subjects!)).toEqual(["session"]);
    expect(await protector.pseudonymFor("session", "s-1")).toBe(session.sessionId);
    const anon = await protector.protect(parseEventInput({ type: "ai.generate", prompt: "hello a@b.io" }));
    expect(Object.keys(anon.protection!.subjects!)).toEqual(["anonymous"]);
    expect((await protector.reveal(anon)).prompt).toBe("hello [EMAIL]");
  });

  it("events with nothing personal are unchanged; errorMessage is redacted in place", async () => {
    const { protector } = await setup();
    const plain = parseEventInput({ type: "ai.generate", provider: "openai", model: "gpt-4o", status: "success" });
    expect(await protector.protect(plain)).toBe(plain);
    const failed = await protector.protect(
      parseEventInput({ type: "ai.generate", status: "error", errorMessage: "bad input from bob@corp.io" }),
    );
    expect(failed.errorMessage).toBe("bad input from [EMAIL]");
    expect(failed.protection?.redactions).toEqual({ EMAIL: 1 });
  });

  it("refuses an event that already carries protection", async () => {
    const { protector } = await setup();
    const stored = await protector.protect(call());
    await expect(protector.protect(stored)).rejects.toMatchObject({ code: "INVALID_EVENT" });
  });

  it("pseudonymFor maps a raw identifier to the stored pseudonym, null when unknown", async () => {
    const { protector } = await setup();
    const stored = await protector.protect(call());
    expect(await protector.pseudonymFor("user", "user-12345")).toBe(stored.userId);
    expect(await protector.pseudonymFor("ip", "192.168.1.100", { kind: "user", identifier: "user-12345" })).toBe(stored.ip);
    expect(await protector.pseudonymFor("user", "nobody")).toBeNull();
  });
});

describe("erasure", () => {
  it("destroys the subject's key: fields read [erased], the stored event is untouched, others are unaffected", async () => {
    const { protector, keyring, store } = await setup();
    const mine = await protector.protect(call({ patientId: "patient-1" }));
    const theirs = await protector.protect(call({ userId: "user-99" }));
    const before = canonicalize(mine);

    const result = await eraseSubject(keyring, { subject: "user-12345", reference: "DSR-2025-001" });
    expect(result.status).toBe("erased");
    if (result.status !== "erased") return;
    expect(result.keyId).toBe(mine.protection!.subjects!.user);
    expect(result.tombstone).toMatchObject({
      type: "subject.erased",
      details: { subjectKind: "user", keyId: result.keyId, method: "crypto-shredding", reference: "DSR-2025-001" },
    });
    const tomb = canonicalize(result.tombstone);
    expect(tomb).not.toContain("user-12345");
    expect(tomb).not.toContain(mine.userId!);
    expect(result.tombstone.userId).toBeUndefined();
    // The tombstone is a valid event input.
    expect(parseEventInput(result.tombstone).type).toBe("subject.erased");

    expect(canonicalize(mine)).toBe(before);
    const report = await protector.revealReport(mine);
    expect(report.event.userId).toBe(ERASED);
    expect(report.event.ip).toBe(ERASED);
    expect(report.event.prompt).toBe(ERASED);
    expect(report.event.patientId).toBe("patient-1"); // the patient is another subject
    expect(report.erased.sort()).toEqual(["ip", "prompt", "response", "sessionId", "userAgent", "userId"]);
    expect((await protector.reveal(theirs)).userId).toBe("user-99");

    expect(await protector.pseudonymFor("user", "user-12345")).toBeNull();
    const dump = JSON.stringify(await store.list());
    expect(dump).not.toContain(result.keyId);
  });

  it("erasing an unknown subject: clear result, no tombstone", async () => {
    const { keyring } = await setup();
    const result = await eraseSubject(keyring, { subject: "never-seen" });
    expect(result).toEqual({ status: "unknown_subject", kind: "user", message: expect.stringContaining("nothing was changed") });
    expect("tombstone" in result).toBe(false);
  });

  it("rejects bad requests", async () => {
    const { keyring } = await setup();
    await expect(eraseSubject(keyring, { subject: "" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(eraseSubject(keyring, { subject: "u", kind: "index" as "user" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(eraseSubject(keyring, { subject: "u", reference: "erase John Smith" })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
  });

  it("a wrong master key decrypts nothing", async () => {
    const { protector, store } = await setup();
    const stored = await protector.protect(call());
    await expect(Keyring.open({ provider: new LocalKeyProvider(randomBytes(32)), store })).rejects.toMatchObject({
      code: "WRONG_MASTER_KEY",
    });
    expect(stored.protection).toBeDefined();
  });
});
