import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalize } from "../../src/event/canonical.js";
import { quickAcceptContext, quickAcceptEvent } from "../../src/event/quick.js";
import { auditContextSchema, auditEventInputSchema, parseAuditContext, parseEventInput } from "../../src/event/schema.js";
import { AitrailError, errorMessage } from "../../src/errors.js";
import { eventLike, ident, junk, maybe } from "./arbitraries.js";
import { RUNS } from "./budget.js";

/** Drops undefined members so two results compare by content. */
function plainOf(value: unknown): unknown {
  return JSON.parse(canonicalize(value));
}

const contextLike = fc.record(
  {
    userId: maybe(ident),
    sessionId: maybe(ident),
    purpose: maybe(ident),
    legalBasis: maybe(ident),
    processors: maybe(fc.array(ident, { maxLength: 3 })),
    phiAccessed: maybe(fc.boolean()),
    extra: junk,
  },
  { requiredKeys: [] },
);

function throwsOnly(fn: () => unknown, code: "INVALID_EVENT"): void {
  try {
    fn();
  } catch (e) {
    if (!AitrailError.isInstance(e, code)) throw new Error(`expected AitrailError ${code}, got ${String(e)}`);
  }
}

export const __eventLike = eventLike;
describe("fuzz: event and auditContext validation", () => {
  it("the quick path accepts only what zod accepts, with the same result", () => {
    let quick = 0;
    fc.assert(
      fc.property(eventLike, (input) => {
        const fast = quickAcceptEvent(input);
        const zod = auditEventInputSchema.safeParse(input);
        if (fast !== undefined) {
          quick += 1;
          expect(zod.success).toBe(true);
          expect(plainOf(fast)).toEqual(plainOf(zod.data));
        }
      }),
      { numRuns: RUNS },
    );
    // The generator reaches the quick path often enough for the check to mean something.
    expect(quick).toBeGreaterThan(RUNS / 50);
  });

  it("the quick path takes the common valid events (so it is the path they take)", () => {
    fc.assert(
      fc.property(
        fc.record({ userId: fc.constantFrom("u1", "user-12345"), provider: fc.constantFrom("openai"), latency: fc.nat(10_000), tokens: fc.record({ input: fc.nat(), output: fc.nat(), total: fc.nat() }) }),
        (ctx) => {
          expect(quickAcceptEvent({ type: "ai.generate", status: "success", ...ctx })).toBeDefined();
        },
      ),
      { numRuns: Math.min(RUNS, 200) },
    );
  });

  it("parseEventInput accepts or throws INVALID_EVENT, never anything else, and zod decides", () => {
    fc.assert(
      fc.property(fc.oneof(eventLike, fc.anything()), (input) => {
        const zodOk = auditEventInputSchema.safeParse(input).success;
        let error: unknown = null;
        try {
          parseEventInput(input);
        } catch (e) {
          error = e;
        }
        if (error !== null) expect(AitrailError.isInstance(error, "INVALID_EVENT"), errorMessage(error)).toBe(true);
        expect(error === null).toBe(zodOk);
      }),
      { numRuns: RUNS },
    );
  });

  it("an accepted event always has a canonical form (it can be hashed and stored)", () => {
    fc.assert(
      fc.property(eventLike, (input) => {
        let event;
        try {
          event = parseEventInput(input);
        } catch {
          return;
        }
        expect(() => canonicalize(event)).not.toThrow();
      }),
      { numRuns: RUNS },
    );
  });

  it("auditContext: quick path agrees with zod; junk is INVALID_EVENT only", () => {
    fc.assert(
      fc.property(fc.oneof(contextLike, fc.anything()), (input) => {
        const fast = quickAcceptContext(input ?? {});
        const zod = auditContextSchema.safeParse(input ?? {});
        if (fast !== undefined) {
          expect(zod.success).toBe(true);
          expect(plainOf(fast)).toEqual(plainOf(zod.data));
        }
        throwsOnly(() => parseAuditContext(input), "INVALID_EVENT");
      }),
      { numRuns: RUNS },
    );
  });

  it("the quick path keeps no reference to the caller's arrays and tokens", () => {
    const input = { type: "ai.generate" as const, processors: ["openai"], tokens: { input: 1, output: 2, total: 3 } };
    const event = parseEventInput(input);
    input.processors.push("mallory");
    input.tokens.total = 99;
    expect(event.processors).toEqual(["openai"]);
    expect(event.tokens?.total).toBe(3);
  });
});
