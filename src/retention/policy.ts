/**
 * Retention policies: how long an audit event must be kept, per framework, and when it may
 * go. Every framework sets a minimum; the longest applicable minimum wins. GDPR sets no
 * minimum of its own: storage limitation (Art. 5(1)(e)) asks for a period per purpose, which
 * the policy configures; a longer minimum from another framework still wins.
 *
 * Defaults and where they come from (see docs/retention.md):
 *   SOC2       365 days   AICPA TSC CC7.2/CC7.3 evidence over the audit period (customary 1 year)
 *   HIPAA      6 years    45 CFR 164.316(b)(2)(i) (not the 2555 days / 7 years often quoted)
 *   EU_AI_ACT  6 months   Regulation (EU) 2024/1689 Art. 19(1) (providers), Art. 26(6) (deployers)
 *   PCI_DSS    12 months  PCI DSS v4.0 requirement 10.5.1
 *   GDPR       per purpose (no default)
 */
import { z } from "zod";
import { AitrailError } from "../errors.js";
import type { AuditEvent } from "../event/schema.js";

export const RETENTION_FRAMEWORKS = ["SOC2", "HIPAA", "EU_AI_ACT", "PCI_DSS", "GDPR"] as const;
export type RetentionFramework = (typeof RETENTION_FRAMEWORKS)[number];

/** A calendar period: months and years follow the calendar (a leap year keeps its extra day). */
export interface Period {
  days?: number;
  months?: number;
  years?: number;
}

export interface FrameworkMinimum {
  period: Period;
  citation: string;
}

export const FRAMEWORK_MINIMUMS: Record<Exclude<RetentionFramework, "GDPR">, FrameworkMinimum> = {
  SOC2: { period: { days: 365 }, citation: "AICPA Trust Services Criteria CC7.2/CC7.3: evidence over the audit period (one year)" },
  HIPAA: { period: { years: 6 }, citation: "45 CFR 164.316(b)(2)(i): six years from creation or last effective date" },
  EU_AI_ACT: { period: { months: 6 }, citation: "Regulation (EU) 2024/1689 Art. 19(1) and Art. 26(6): at least six months" },
  PCI_DSS: { period: { months: 12 }, citation: "PCI DSS v4.0 10.5.1: audit log history for at least 12 months" },
};

/** The stored policy. */
export interface RetentionPolicy {
  /** Frameworks that apply to every event of this ledger. */
  frameworks: RetentionFramework[];
  /** GDPR storage limitation: a period per purpose (the event's `purpose`). */
  gdprPurposes: Record<string, string>;
  /** Events no framework or purpose covers: kept this long; absent = kept (never purged). */
  defaultPeriod?: string;
  /** Overrides of framework minimums; may only lengthen them. */
  overrides?: Partial<Record<Exclude<RetentionFramework, "GDPR">, string>>;
}

const PERIOD_PATTERN = /^(\d{1,5})\s*(-?\s*)(d|day|days|w|week|weeks|mo|month|months|y|year|years)$/i;

/** "30d", "30-days", "6mo", "12 months", "6y" -> Period. */
export function parsePeriod(text: string, name = "period"): Period {
  const m = PERIOD_PATTERN.exec(String(text).trim());
  if (!m) throw new AitrailError("INVALID_CONFIG", `${name}: "${text}" is not a retention period; use e.g. 30d, 6mo, 6y, "365-days"`);
  const n = Number(m[1]);
  if (n <= 0) throw new AitrailError("INVALID_CONFIG", `${name}: a retention period must be longer than 0`);
  const unit = m[3]!.toLowerCase();
  if (unit.startsWith("d")) return { days: n };
  if (unit.startsWith("w")) return { days: 7 * n };
  if (unit.startsWith("m")) return { months: n };
  return { years: n };
}

export function formatPeriod(p: Period): string {
  if (p.years) return `${p.years}y`;
  if (p.months) return `${p.months}mo`;
  return `${p.days ?? 0}d`;
}

/** The moment `p` after `from` (UTC calendar arithmetic). */
export function addPeriod(from: Date, p: Period): Date {
  const d = new Date(from.getTime());
  if (p.years) d.setUTCFullYear(d.getUTCFullYear() + p.years);
  if (p.months) d.setUTCMonth(d.getUTCMonth() + p.months);
  if (p.days) d.setUTCDate(d.getUTCDate() + p.days);
  return d;
}

const policySchema = z
  .object({
    frameworks: z.array(z.enum(RETENTION_FRAMEWORKS)).max(8).default([]),
    gdprPurposes: z.record(z.string().min(1).max(512), z.string()).default({}),
    defaultPeriod: z.string().optional(),
    overrides: z.partialRecord(z.enum(["SOC2", "HIPAA", "EU_AI_ACT", "PCI_DSS"]), z.string()).optional(),
  })
  .strict();

/** Validates a policy, listing every bad field; overrides may not shorten a legal minimum. */
export function parsePolicy(input: unknown): RetentionPolicy {
  const r = policySchema.safeParse(input);
  if (!r.success) {
    const list = r.error.issues.map((i) => `${i.path.join(".") || "(policy)"}: ${i.message}`).join("; ");
    throw new AitrailError("INVALID_CONFIG", `invalid retention policy: ${list}`);
  }
  const p = r.data;
  const problems: string[] = [];
  const check = (name: string, text: string) => {
    try {
      parsePeriod(text, name);
    } catch (err) {
      problems.push((err as Error).message);
    }
  };
  for (const [purpose, text] of Object.entries(p.gdprPurposes)) check(`gdprPurposes.${purpose}`, text);
  if (p.defaultPeriod !== undefined) check("defaultPeriod", p.defaultPeriod);
  for (const [fw, text] of Object.entries(p.overrides ?? {})) {
    check(`overrides.${fw}`, text);
    if (problems.length === 0) {
      const min = FRAMEWORK_MINIMUMS[fw as keyof typeof FRAMEWORK_MINIMUMS];
      const epoch = new Date(Date.UTC(2001, 0, 1));
      if (addPeriod(epoch, parsePeriod(text)) < addPeriod(epoch, min.period)) {
        problems.push(`overrides.${fw}: ${text} is shorter than the ${fw} minimum ${formatPeriod(min.period)} (${min.citation})`);
      }
    }
  }
  if (p.frameworks.includes("GDPR") && Object.keys(p.gdprPurposes).length === 0 && p.defaultPeriod === undefined) {
    problems.push("frameworks: GDPR needs a period per purpose (gdprPurposes) or a defaultPeriod (storage limitation, Art. 5(1)(e))");
  }
  if (problems.length) throw new AitrailError("INVALID_CONFIG", `invalid retention policy: ${problems.join("; ")}`);
  return p;
}

export interface RetentionDecision {
  /** When the event may go; null: kept (no rule covers it). */
  until: Date | null;
  /** The rule that set `until` (the longest), and every rule that applied. */
  basis: string | null;
  applied: string[];
}

/**
 * How long one event must be kept. Applies: the ledger's frameworks, the frameworks the event
 * is tagged with, HIPAA for an event that touched PHI (phiAccessed or a patientId), and the
 * GDPR period of its purpose. No rule: the default period, else kept.
 */
export function retentionFor(event: AuditEvent, policy: RetentionPolicy): RetentionDecision {
  const at = new Date(event.timestamp);
  const rules: { name: string; until: Date }[] = [];
  const frameworks = new Set<string>([...policy.frameworks, ...(event.frameworks ?? [])]);
  if (event.phiAccessed === true || event.patientId !== undefined) frameworks.add("HIPAA");
  for (const fw of frameworks) {
    if (fw === "GDPR") continue;
    const min = FRAMEWORK_MINIMUMS[fw as keyof typeof FRAMEWORK_MINIMUMS];
    if (!min) continue;
    const override = policy.overrides?.[fw as keyof typeof FRAMEWORK_MINIMUMS];
    const period = override ? parsePeriod(override) : min.period;
    rules.push({ name: `${fw} ${formatPeriod(period)}`, until: addPeriod(at, period) });
  }
  const purposePeriod = event.purpose !== undefined ? policy.gdprPurposes[event.purpose] : undefined;
  if (purposePeriod !== undefined) rules.push({ name: `GDPR purpose "${event.purpose}" ${purposePeriod}`, until: addPeriod(at, parsePeriod(purposePeriod)) });
  if (rules.length === 0 && policy.defaultPeriod !== undefined) {
    rules.push({ name: `default ${policy.defaultPeriod}`, until: addPeriod(at, parsePeriod(policy.defaultPeriod)) });
  }
  if (rules.length === 0) return { until: null, basis: null, applied: [] };
  const longest = rules.reduce((a, b) => (b.until > a.until ? b : a));
  return { until: longest.until, basis: longest.name, applied: rules.map((r) => r.name) };
}
