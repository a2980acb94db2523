/**
 * The purpose registry: the controller's processing activities (GDPR Art. 30(1)), one per
 * purpose, each with its legal basis, data categories, recipients and retention. A call
 * names its purpose; a purpose missing from the registry is PURPOSE_NOT_REGISTERED.
 */
import { z } from "zod";
import { AitrailError } from "../errors.js";
import { LEGAL_BASES, normalizeLegalBasis } from "./legal-basis.js";
import type { LegalBasis } from "./legal-basis.js";

export interface ProcessingActivity {
  purpose: string;
  legalBasis: LegalBasis;
  description?: string;
  /** Categories of personal data (Art. 30(1)(c)), e.g. "behavioral-data". */
  dataCategories: string[];
  /** Categories of data subjects (Art. 30(1)(c)), e.g. "customers". */
  dataSubjects: string[];
  /** Recipients (Art. 30(1)(d)), e.g. the AI providers that receive prompts. */
  recipients: string[];
  /** Transfers to third countries (Art. 30(1)(e)), e.g. "US (SCCs)". */
  transfers: string[];
  /** Time limit for erasure (Art. 30(1)(f)), e.g. "30-days". */
  retention: string;
}

const text = (max: number) => z.string().trim().min(1, "must not be empty").max(max, `must be at most ${max} characters`);
const list = z.array(text(256)).max(256);

const activitySchema = z
  .object({
    purpose: text(256),
    legalBasis: z.string(),
    description: text(4096).optional(),
    dataCategories: z.union([text(256).transform((s) => [s]), list]).default([]),
    dataSubjects: z.union([text(256).transform((s) => [s]), list]).default([]),
    recipients: z.union([text(256).transform((s) => [s]), list]).default([]),
    transfers: z.union([text(256).transform((s) => [s]), list]).default([]),
    retention: text(64),
  })
  .strict();

export type ProcessingActivityInput = z.input<typeof activitySchema>;

/**
 * Validates the registry, listing every bad field. An unknown legal basis makes the error
 * INVALID_LEGAL_BASIS; other problems INVALID_CONFIG.
 */
export function parsePurposes(input: unknown, option = "compliance.gdpr.purposes"): ProcessingActivity[] {
  const problems: { field: string; message: string }[] = [];
  if (!Array.isArray(input)) {
    throw new AitrailError("INVALID_CONFIG", `${option}: must be a list of processing activities`, { details: { option } });
  }
  const out: ProcessingActivity[] = [];
  const seen = new Set<string>();
  let badBasis = false;
  input.forEach((item, i) => {
    const r = activitySchema.safeParse(item);
    if (!r.success) {
      for (const issue of r.error.issues) {
        const field = `${option}[${i}]${issue.path.length ? `.${issue.path.join(".")}` : ""}`;
        problems.push({ field, message: issue.code === "unrecognized_keys" ? `unknown field(s): ${issue.keys.join(", ")}` : issue.message });
      }
    }
    const basis = normalizeLegalBasis((item as { legalBasis?: unknown } | null)?.legalBasis);
    if (!basis) {
      badBasis = true;
      problems.push({ field: `${option}[${i}].legalBasis`, message: `must be one of Art. 6(1)'s bases: ${LEGAL_BASES.join(", ")}` });
    }
    if (r.success && basis) {
      if (seen.has(r.data.purpose)) problems.push({ field: `${option}[${i}].purpose`, message: `"${r.data.purpose}" is registered twice` });
      seen.add(r.data.purpose);
      const { description, ...rest } = r.data;
      out.push({ ...rest, legalBasis: basis, ...(description !== undefined ? { description } : {}) });
    }
  });
  if (problems.length) {
    throw new AitrailError(
      badBasis ? "INVALID_LEGAL_BASIS" : "INVALID_CONFIG",
      `invalid ${option}: ${problems.map((p) => `${p.field}: ${p.message}`).join("; ")}`,
      { details: { option, problems } },
    );
  }
  return out;
}

export class PurposeRegistry {
  readonly #byPurpose: ReadonlyMap<string, ProcessingActivity>;

  constructor(activities: readonly ProcessingActivityInput[] | readonly ProcessingActivity[] = []) {
    const parsed = parsePurposes(activities);
    this.#byPurpose = new Map(parsed.map((a) => [a.purpose, Object.freeze(a)]));
  }

  get size(): number {
    return this.#byPurpose.size;
  }

  get(purpose: string): ProcessingActivity | undefined {
    return this.#byPurpose.get(purpose);
  }

  has(purpose: string): boolean {
    return this.#byPurpose.has(purpose);
  }

  /** The Art. 30 record of processing activities. */
  list(): ProcessingActivity[] {
    return [...this.#byPurpose.values()];
  }

  /** Throws PURPOSE_NOT_REGISTERED unless the purpose is registered. */
  require(purpose: string | undefined): ProcessingActivity {
    const activity = purpose === undefined ? undefined : this.#byPurpose.get(purpose);
    if (!activity) {
      const known = [...this.#byPurpose.keys()];
      throw new AitrailError(
        "PURPOSE_NOT_REGISTERED",
        purpose === undefined
          ? `auditContext.purpose is required: every call must name a registered purpose (${known.join(", ")})`
          : `purpose "${purpose}" is not in the registry (compliance.gdpr.purposes); registered: ${known.join(", ") || "none"}`,
        { details: { purpose: purpose ?? null, registered: known } },
      );
    }
    return activity;
  }
}
