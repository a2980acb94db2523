/** Arbitraries for the fuzz suite: values near every edge the event schema draws. */
import fc from "fast-check";
import { EVENT_TYPES } from "../../src/event/schema.js";

// Values near every edge the schema draws: empty, at and over the length limits, control
// characters, lone surrogates, negative, fractional, huge, wrong types.
export const text = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: "binary", maxLength: 20 }),
  fc.constantFrom("", "a\nb", "a\u0000b", "x\u007f", "\ud800", "é😀", "a".repeat(64), "a".repeat(65), "a".repeat(512), "a".repeat(513)),
);
export const num = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(0, -0, -1, 1e9, 1e9 + 1, 2 ** 53 - 1, 2 ** 53, NaN, Infinity, 0.5));
export const junk = fc.oneof(text, num, fc.boolean(), fc.constant(null), fc.constant(undefined), fc.array(text, { maxLength: 3 }), fc.object({ maxDepth: 1 }));
const timestamp = fc.oneof(
  { weight: 3, arbitrary: fc.date({ min: new Date("0001-01-01T00:00:00Z"), max: new Date("9999-12-31T23:59:59Z"), noInvalidDate: true }).map((d) => d.toISOString()) },
  fc.constantFrom("2024-02-29T10:00:00.000Z", "2023-02-29T10:00:00.000Z", "2024-13-01T00:00:00.000Z", "2024-04-31T00:00:00.000Z", "2024-01-01T24:00:00.000Z", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00.000+01:00", "1900-02-29T00:00:00.000Z", "2000-02-29T00:00:00.000Z"),
);
const tokens = fc.oneof(
  { weight: 6, arbitrary: fc.record({ input: fc.nat(), output: fc.nat(), total: fc.nat() }) },
  fc.record({ input: num, output: num, total: num, cachedInput: fc.option(num, { nil: undefined }), reasoning: fc.option(num, { nil: undefined }) }, { requiredKeys: [] }),
  fc.record({ input: fc.nat(), output: fc.nat(), total: fc.nat(), extra: fc.nat() }),
  junk,
);
export const ident = fc.oneof({ weight: 4, arbitrary: fc.constantFrom("user-1", "sess-9", "openai", "gpt-4o", "consent", "Business intelligence") }, { weight: 1, arbitrary: text });
export const maybe = <T>(arb: fc.Arbitrary<T>) => fc.oneof({ weight: 30, arbitrary: arb }, { weight: 1, arbitrary: junk });

const fields = fc.record<Record<string, unknown>>(
  {
    type: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...EVENT_TYPES) }, fc.constantFrom("custom.x", "custom.a.b_c-1", "custom.", "custom.X", "other"), text),
    userId: maybe(ident),
    sessionId: maybe(ident),
    action: maybe(ident),
    purpose: maybe(ident),
    dataClassification: maybe(ident),
    ip: maybe(ident),
    userAgent: maybe(ident),
    consentId: maybe(ident),
    legalBasis: maybe(ident),
    retention: maybe(ident),
    processors: maybe(fc.array(ident, { maxLength: 3 })),
    patientId: maybe(ident),
    phiAccessed: maybe(fc.boolean()),
    disclosure: maybe(fc.boolean()),
    provider: maybe(ident),
    model: maybe(ident),
    status: maybe(fc.constantFrom("success", "error", "cancelled", "denied", "ok")),
    latency: maybe(fc.oneof({ weight: 4, arbitrary: fc.double({ min: 0, max: 1e9, noNaN: true }) }, num)),
    cost: maybe(fc.oneof({ weight: 4, arbitrary: fc.double({ min: 0, max: 1e9, noNaN: true }) }, num, fc.constant(null))),
    costUnknown: maybe(fc.boolean()),
    tokens,
    errorCode: maybe(ident),
    errorMessage: maybe(text),
    prompt: maybe(text),
    frameworks: maybe(fc.array(fc.constantFrom("GDPR", "HIPAA", "SOC2", "EU_AI_ACT", "PCI_DSS", "GDPR", "HIPAA", "ISO"), { maxLength: 3 })),
    eventId: maybe(
      fc.oneof(
        { weight: 4, arbitrary: fc.constant("evt_01ARZ3NDEKTSV4RRFFQ69G5FAV") },
        fc.constantFrom("evt_01arz3ndektsv4rrffq69g5fav", "evt_01ARZ3NDEKTSV4RRFFQ69G5FA", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "evt_01ARZ3NDEKTSV4RRFFQ69G5FAI"),
      ),
    ),
    timestamp: maybe(timestamp),
  },
  { requiredKeys: [] },
);
// Now and then a key the quick path leaves to zod (details), or one nobody knows.
const extra = fc.oneof(
  { weight: 8, arbitrary: fc.constant({}) },
  fc.record({ details: fc.oneof(fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 3 }), junk) }),
  fc.record({ bogus: junk }),
);
export const eventLike = fc.tuple(fields, extra).map(([f, x]) => ({ ...f, ...x }));

