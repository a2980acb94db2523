/**
 * The six lawful bases of GDPR Art. 6(1). Anything else is not a legal basis.
 * Spellings people use (legal_obligation, legitimateInterests, "Art. 6(1)(f)") are accepted
 * and normalised to the kebab-case names below.
 */
export const LEGAL_BASES = [
  "consent", // (a)
  "contract", // (b)
  "legal-obligation", // (c)
  "vital-interests", // (d)
  "public-task", // (e)
  "legitimate-interests", // (f)
] as const;
export type LegalBasis = (typeof LEGAL_BASES)[number];

const ALIASES: Record<string, LegalBasis> = {
  consent: "consent",
  contract: "contract",
  legalobligation: "legal-obligation",
  vitalinterest: "vital-interests",
  vitalinterests: "vital-interests",
  publictask: "public-task",
  publicinterest: "public-task",
  legitimateinterest: "legitimate-interests",
  legitimateinterests: "legitimate-interests",
};

const LETTERS: Record<string, LegalBasis> = { a: "consent", b: "contract", c: "legal-obligation", d: "vital-interests", e: "public-task", f: "legitimate-interests" };

/** The Art. 6(1) basis a string names, or null when it names none. */
export function normalizeLegalBasis(value: unknown): LegalBasis | null {
  if (typeof value !== "string") return null;
  const key = value.toLowerCase().replace(/[^a-z0-9]/g, "");
  const alias = ALIASES[key];
  if (alias) return alias;
  const article = /^(?:art(?:icle)?)?61([a-f])$/.exec(key);
  return article ? (LETTERS[article[1]!] ?? null) : null;
}

/** The Art. 6(1) point a basis rests on, e.g. "Art. 6(1)(a)". */
export function articleOf(basis: LegalBasis): string {
  return `Art. 6(1)(${"abcdef"[LEGAL_BASES.indexOf(basis)]})`;
}
