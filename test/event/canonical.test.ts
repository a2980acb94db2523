import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalize } from "../../src/event/canonical.js";
import { AitrailError } from "../../src/errors.js";

describe("RFC 8785 canonical JSON", () => {
  it("sorts keys by UTF-16 code units, recursively", () => {
    expect(canonicalize({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
    // "\u20ac" (euro) sorts after "\r" and before "\ud83d\ude00" in UTF-16 order
    expect(canonicalize({ "\ud83d\ude00": 1, "\u20ac": 2, "\r": 3, "1": 4 })).toBe('{"\\r":3,"1":4,"€":2,"😀":1}');
  });

  it("formats numbers the ECMAScript way (RFC 8785 appendix B samples)", () => {
    const samples: [number, string][] = [
      [0, "0"],
      [-0, "0"],
      [1e21, "1e+21"],
      [1e-7, "1e-7"],
      [333333333.3333333, "333333333.3333333"],
      [4.5, "4.5"],
      [0.000001, "0.000001"],
      [9007199254740991, "9007199254740991"],
      [-1.5e-300, "-1.5e-300"],
    ];
    for (const [n, s] of samples) expect(canonicalize(n)).toBe(s);
  });

  it("escapes strings minimally", () => {
    expect(canonicalize("a\u0001\n\"\\/é")).toBe('"a\\u0001\\n\\"\\\\/é"');
  });

  it("rejects values with no JSON form with a coded error", () => {
    for (const bad of [NaN, Infinity, () => 1, 10n]) {
      expect(() => canonicalize({ x: bad })).toThrow(AitrailError);
    }
    try {
      canonicalize({ a: { b: NaN } });
    } catch (e) {
      expect((e as AitrailError).code).toBe("INVALID_EVENT");
      expect((e as AitrailError).message).toContain("$.a.b");
    }
  });

  it("round-trips: parse(canonical(x)) is x, and canonical form is a fixed point", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const c = canonicalize(value);
        const parsed: unknown = JSON.parse(c);
        expect(canonicalize(parsed)).toBe(c);
        expect(parsed).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 500 },
    );
  });

  it("does not depend on key insertion order", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        expect(canonicalize(reversed)).toBe(canonicalize(obj));
      }),
      { numRuns: 300 },
    );
  });
});
