import { describe, expect, it } from "vitest";
import type { AitrailError } from "../../src/errors.js";
import { EVENT_ID_PATTERN, parseAuditContext, parseEventInput, fieldSelection, minimize } from "../../src/event/index.js";

const briefEvent = {
  type: "ai.generate" as const,
  userId: "user-12345",
  sessionId: "sess-abc-789",
  action: "customer-feedback-analysis",
  purpose: "Business intelligence",
  dataClassification: "internal",
  provider: "openai",
  model: "gpt-4o",
  status: "success" as const,
  latency: 1243,
  cost: 0.0045,
  tokens: { input: 150, output: 320, total: 470 },
  ip: "192.168.1.100",
  userAgent: "Mozilla/5.0...",
};

function codeOf(fn: () => unknown): { code: string; problems: { field: string }[] } {
  try {
    fn();
  } catch (e) {
    const err = e as AitrailError;
    return { code: err.code, problems: (err.details?.problems ?? []) as { field: string }[] };
  }
  throw new Error("expected an error");
}

describe("audit event v1", () => {
  it("accepts the brief's Audit Log Output and fills id and timestamp", () => {
    const now = new Date("2025-01-15T14:32:11.234Z");
    const e = parseEventInput(briefEvent, now);
    expect(e.v).toBe(1);
    expect(e.eventId).toMatch(EVENT_ID_PATTERN);
    expect(e.timestamp).toBe("2025-01-15T14:32:11.234Z");
    expect(e.tokens).toEqual({ input: 150, output: 320, total: 470 });
  });

  it("ids are time-sortable and unique", () => {
    const ids = Array.from({ length: 1000 }, () => parseEventInput({ type: "ai.generate" }).eventId);
    expect(new Set(ids).size).toBe(1000);
    expect([...ids].sort()).toEqual(ids);
  });

  it("lists every bad field in one INVALID_EVENT error", () => {
    const r = codeOf(() =>
      parseEventInput({ ...briefEvent, latency: -1, status: "maybe", tokens: { input: 1.5, output: 1, total: 2 }, userId: "", colour: "red" }),
    );
    expect(r.code).toBe("INVALID_EVENT");
    const fields = r.problems.map((p) => p.field);
    expect(fields).toEqual(expect.arrayContaining(["latency", "status", "tokens.input", "userId"]));
    expect(JSON.stringify(r.problems)).toContain("colour");
  });

  it("rejects control characters in identifiers (log and CSV injection)", () => {
    const r = codeOf(() => parseEventInput({ ...briefEvent, userId: "alice\nFAKE LOG LINE", userAgent: "x\u0000y" }));
    expect(r.code).toBe("INVALID_EVENT");
    expect(r.problems.map((p) => p.field)).toEqual(expect.arrayContaining(["userId", "userAgent"]));
  });

  it("rejects oversized content and unknown event types", () => {
    expect(codeOf(() => parseEventInput({ type: "ai.generate", prompt: "x".repeat(4 * 1024 * 1024 + 1) })).code).toBe("INVALID_EVENT");
    expect(codeOf(() => parseEventInput({ type: "drop table" })).code).toBe("INVALID_EVENT");
    expect(parseEventInput({ type: "custom.model_review" }).type).toBe("custom.model_review");
  });

  it("validates auditContext and names the auditContext fields", () => {
    expect(parseAuditContext({ userId: "u1", phiAccessed: true })).toEqual({ userId: "u1", phiAccessed: true });
    const r = codeOf(() => parseAuditContext({ userId: 42, phiAccessed: "yes", extra: 1 }));
    expect(r.code).toBe("INVALID_EVENT");
    expect(r.problems.map((p) => p.field)).toEqual(expect.arrayContaining(["auditContext.userId", "auditContext.phiAccessed"]));
  });
});

describe("levels and includeFields", () => {
  const full = parseEventInput({ ...briefEvent, prompt: "hello", response: "world", errorMessage: "none", consentId: "c-1" });

  it("minimal keeps who, what and outcome only", () => {
    const m = minimize(full, fieldSelection("minimal"));
    expect(Object.keys(m).sort()).toEqual(["action", "eventId", "model", "provider", "status", "timestamp", "type", "userId", "v"]);
  });

  it("standard adds why, where and how much; detailed adds content", () => {
    const s = minimize(full, fieldSelection("standard"));
    expect(s).toMatchObject({ purpose: "Business intelligence", ip: "192.168.1.100", cost: 0.0045, consentId: "c-1" });
    expect(s.prompt).toBeUndefined();
    const d = minimize(full, fieldSelection("detailed"));
    expect(d).toMatchObject({ prompt: "hello", response: "world" });
  });

  it("includeFields narrows a level and never drops the envelope", () => {
    const n = minimize(full, fieldSelection("detailed", ["userId", "tokens", "prompt"]));
    expect(Object.keys(n).sort()).toEqual(["eventId", "prompt", "timestamp", "tokens", "type", "userId", "v"]);
    const narrowedBelowLevel = minimize(full, fieldSelection("minimal", ["userId", "prompt"]));
    expect(narrowedBelowLevel.prompt).toBeUndefined();
  });

  it("unknown includeFields are a config error naming them", () => {
    expect(() => fieldSelection("standard", ["userId", "shoeSize"])).toThrow(/shoeSize/);
    try {
      fieldSelection("standard", ["shoeSize"]);
    } catch (e) {
      expect((e as AitrailError).code).toBe("INVALID_CONFIG");
    }
  });
});

describe("timestamps", () => {
  it("accepts UTC with milliseconds and refuses year 0000, which PostgreSQL cannot store", () => {
    expect(parseEventInput({ type: "ai.generate", timestamp: "2025-01-15T14:32:11.234Z" }).timestamp).toBe("2025-01-15T14:32:11.234Z");
    for (const bad of ["0000-01-01T00:00:00.000Z", "2025-01-15T14:32:11Z", "2025-01-15T14:32:11.234+01:00"]) {
      expect(() => parseEventInput({ type: "ai.generate", timestamp: bad })).toThrow(expect.objectContaining({ code: "INVALID_EVENT" }));
    }
  });
});
