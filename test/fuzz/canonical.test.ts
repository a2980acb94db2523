import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalize } from "../../src/event/canonical.js";
import { AitrailError } from "../../src/errors.js";
import { RUNS } from "./budget.js";

/** RFC 8785 written out the plain way, as the oracle: sort keys, ECMAScript strings and numbers. */
function reference(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string" || typeof value === "boolean") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error("no form");
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => reference(v === undefined ? null : v)).join(",")}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort((a, b) => {
      // UTF-16 code unit order, spelled out.
      for (let i = 0; i < Math.min(a.length, b.length); i++) {
        const d = a.charCodeAt(i) - b.charCodeAt(i);
        if (d !== 0) return d;
      }
      return a.length - b.length;
    });
  return `{${keys.map((k) => `${JSON.stringify(k)}:${reference(obj[k])}`).join(",")}}`;
}

/** The same value with every object's keys inserted in sorted order (the pipeline's shape). */
function sortedCopy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedCopy);
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value).sort()) {
    Object.defineProperty(out, k, { value: sortedCopy((value as Record<string, unknown>)[k]), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

// Strings of any UTF-16 code units, lone surrogates and control characters included.
const anyString = fc.string({ unit: "binary", maxLength: 40 });
const key = fc.oneof(anyString, fc.constantFrom("0", "1", "10", "2", "9", "01", "-1", "4294967295", "__proto__", "toJSON", "a", "b", "é", "😀"));
const number = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), fc.constantFrom(0, -0, 1e21, 1e-7, 5e-324, Number.MAX_VALUE, 2 ** 53));
const { value: jsonish } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    anyString,
    number,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(key, tie("value"), { maxKeys: 6 }),
  ),
}));

describe("fuzz: RFC 8785 canonical JSON", () => {
  it("equals the plain reference on any JSON value, in any key order (both internal paths)", () => {
    fc.assert(
      fc.property(jsonish, (value) => {
        const expected = reference(value);
        expect(canonicalize(value)).toBe(expected);
        expect(canonicalize(sortedCopy(value))).toBe(expected);
      }),
      { numRuns: RUNS },
    );
  });

  it("round-trips: parsing the canonical form gives the value back, and it is a fixed point", () => {
    fc.assert(
      fc.property(jsonish, (value) => {
        const c = canonicalize(value);
        const parsed: unknown = JSON.parse(c);
        expect(parsed).toEqual(JSON.parse(JSON.stringify(value)));
        expect(canonicalize(parsed)).toBe(c);
      }),
      { numRuns: RUNS },
    );
  });

  it("numbers are ECMAScript's shortest round-trip form", () => {
    fc.assert(
      fc.property(number, (n) => {
        const c = canonicalize(n);
        expect(c).toBe(JSON.stringify(n));
        expect(Number(c)).toBe(n === 0 ? 0 : n);
      }),
      { numRuns: RUNS },
    );
  });

  it("a value with no JSON form anywhere is INVALID_EVENT naming its path, never another error", () => {
    const bad = fc.constantFrom<unknown>(NaN, Infinity, -Infinity, () => 1, 10n, Symbol("s"));
    fc.assert(
      fc.property(jsonish, bad, fc.array(fc.nat(5), { maxLength: 4 }), (value, poison, path) => {
        // Plant the bad value at a path inside (or as) the value.
        const root: { v: unknown } = { v: structuredClone(value) };
        let holder: Record<string, unknown> = root;
        let slot = "v";
        for (const step of path) {
          const here = holder[slot];
          if (typeof here !== "object" || here === null) break;
          const keys = Object.keys(here);
          if (keys.length === 0) break;
          holder = here as Record<string, unknown>;
          slot = keys[step % keys.length]!;
        }
        holder[slot] = poison;
        let thrown: unknown = null;
        try {
          canonicalize(root);
        } catch (e) {
          thrown = e;
        }
        expect(AitrailError.isInstance(thrown, "INVALID_EVENT")).toBe(true);
        expect((thrown as AitrailError).message).toContain("$.v");
      }),
      { numRuns: RUNS },
    );
  });
});
