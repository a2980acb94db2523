import { describe, expect, it } from "vitest";
import { parseEventInput, type AuditEventInput } from "../../src/event/schema.js";
import { addPeriod, FRAMEWORK_MINIMUMS, parsePeriod, parsePolicy, retentionFor } from "../../src/retention/policy.js";

const ev = (input: Partial<AuditEventInput>) => parseEventInput({ type: "ai.generate", timestamp: "2020-02-29T12:00:00.000Z", ...input });

describe("retention periods and framework minimums", () => {
  it("has the legal minimums, HIPAA at six calendar years (not 2555 days)", () => {
    expect(FRAMEWORK_MINIMUMS.HIPAA.period).toEqual({ years: 6 });
    expect(FRAMEWORK_MINIMUMS.HIPAA.citation).toContain("164.316(b)(2)(i)");
    expect(FRAMEWORK_MINIMUMS.SOC2.period).toEqual({ days: 365 });
    expect(FRAMEWORK_MINIMUMS.EU_AI_ACT.period).toEqual({ months: 6 });
    expect(FRAMEWORK_MINIMUMS.EU_AI_ACT.citation).toMatch(/19\(1\).*26\(6\)/);
    expect(FRAMEWORK_MINIMUMS.PCI_DSS.period).toEqual({ months: 12 });
    expect(FRAMEWORK_MINIMUMS.PCI_DSS.citation).toContain("10.5.1");
  });

  it("parses the brief's and short period forms", () => {
    expect(parsePeriod("30-days")).toEqual({ days: 30 });
    expect(parsePeriod("365d")).toEqual({ days: 365 });
    expect(parsePeriod("2w")).toEqual({ days: 14 });
    expect(parsePeriod("6mo")).toEqual({ months: 6 });
    expect(parsePeriod("12 months")).toEqual({ months: 12 });
    expect(parsePeriod("6y")).toEqual({ years: 6 });
    for (const bad of ["", "30", "0d", "-5d", "5 fortnights", "6m"]) expect(() => parsePeriod(bad), bad).toThrow(/retention period|longer than 0/);
  });

  it("adds calendar months and years in UTC", () => {
    expect(addPeriod(new Date("2020-02-29T12:00:00.000Z"), { years: 6 }).toISOString()).toBe("2026-03-01T12:00:00.000Z");
    expect(addPeriod(new Date("2024-08-31T00:00:00.000Z"), { months: 6 }).toISOString()).toBe("2025-03-03T00:00:00.000Z");
    expect(addPeriod(new Date("2024-01-01T00:00:00.000Z"), { days: 365 }).toISOString()).toBe("2024-12-31T00:00:00.000Z");
  });
});

describe("which rule keeps an event", () => {
  const policy = parsePolicy({ frameworks: ["SOC2"], gdprPurposes: { marketing: "30d", "fraud-prevention": "3y" } });

  it("the longest applicable minimum wins", () => {
    // GDPR says 30 days for marketing, SOC 2 keeps it a year.
    expect(retentionFor(ev({ purpose: "marketing" }), policy)).toMatchObject({ basis: "SOC2 365d", until: new Date("2021-02-28T12:00:00.000Z") });
    expect(retentionFor(ev({ purpose: "marketing" }), policy).applied).toEqual(["SOC2 365d", 'GDPR purpose "marketing" 30d']);
    // A purpose period longer than SOC 2's wins.
    expect(retentionFor(ev({ purpose: "fraud-prevention" }), policy).basis).toBe('GDPR purpose "fraud-prevention" 3y');
    // An event that touched PHI carries HIPAA's six years, whatever the ledger's frameworks.
    expect(retentionFor(ev({ phiAccessed: true }), policy)).toMatchObject({ basis: "HIPAA 6y", until: new Date("2026-03-01T12:00:00.000Z") });
    expect(retentionFor(ev({ patientId: "p-1" }), policy).basis).toBe("HIPAA 6y");
    // Framework tags on the event apply too.
    expect(retentionFor(ev({ frameworks: ["PCI_DSS"] }), parsePolicy({ frameworks: ["EU_AI_ACT"] })).basis).toBe("PCI_DSS 12mo");
  });

  it("keeps an event no rule covers, unless a default period is set", () => {
    const gdprOnly = parsePolicy({ frameworks: ["GDPR"], gdprPurposes: { marketing: "30d" } });
    expect(retentionFor(ev({ purpose: "support" }), gdprOnly)).toEqual({ until: null, basis: null, applied: [] });
    expect(retentionFor(ev({ purpose: "support" }), { ...gdprOnly, defaultPeriod: "90d" }).basis).toBe("default 90d");
  });

  it("rejects a policy that would shorten a legal minimum, or leaves GDPR without periods, listing every problem", () => {
    expect(() => parsePolicy({ frameworks: ["HIPAA"], overrides: { HIPAA: "2555d", PCI_DSS: "3mo" } })).toThrow(/PCI_DSS: 3mo is shorter than the PCI_DSS minimum 12mo/);
    expect(() => parsePolicy({ frameworks: ["GDPR"] })).toThrow(/GDPR needs a period per purpose/);
    expect(() => parsePolicy({ frameworks: ["SOX"], gdprPurposes: { x: "soon" } })).toThrow(/frameworks.0/);
    expect(() => parsePolicy({ frameworks: ["SOC2"], extra: 1 })).toThrow(/INVALID|Unrecognized|unrecognized/i);
    // HIPAA override longer than the minimum is allowed.
    expect(parsePolicy({ frameworks: ["HIPAA"], overrides: { HIPAA: "7y" } }).overrides).toEqual({ HIPAA: "7y" });
  });
});
