/**
 * RFC 8785 JSON Canonicalization Scheme (JCS).
 *
 * Object keys are sorted by UTF-16 code units, numbers use the ECMAScript
 * shortest round-trip form (what JSON.stringify emits for finite numbers),
 * strings use JSON.stringify escaping. Non-finite numbers, functions, symbols
 * and bigints are rejected: they have no canonical JSON form.
 */
import { AitrailError } from "../errors.js";

export function canonicalize(value: unknown): string {
  // Events built by the pipeline have their keys in order already: then the engine's own
  // JSON.stringify (one native pass, one flat string) is exactly the canonical form.
  if (inOrder(value, 0)) return JSON.stringify(value);
  try {
    return write(value);
  } catch (err) {
    if (err !== NO_FORM) throw err;
    const bad = findBad(value, "$");
    throw new AitrailError("INVALID_EVENT", `${bad?.path ?? "$"}: ${bad?.what ?? "a value"} has no canonical JSON form`, {
      details: { path: bad?.path ?? "$" },
    });
  }
}

const encoder = new TextEncoder();

export function canonicalBytes(value: unknown): Uint8Array {
  return encoder.encode(canonicalize(value));
}

const MAX_DEPTH = 64;

/**
 * True when JSON.stringify(value) is the canonical form: only plain objects whose keys
 * already come in UTF-16 order (and for-in order is JSON.stringify's order: integer-like keys
 * first, numerically, which this check rejects when that is not also string order), arrays,
 * strings, finite numbers, booleans and null. Anything else (a Date, a class instance, NaN,
 * a function, a hole in an array) goes the general way.
 */
function inOrder(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value);
    case "object": {
      if (value === null) return true;
      if (depth > MAX_DEPTH) return false;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          if (item === undefined || !inOrder(item, depth + 1)) return false;
        }
        return true;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      const obj = value as Record<string, unknown>;
      let previous: string | null = null;
      for (const key in obj) {
        if (!Object.hasOwn(obj, key)) return false;
        if (previous !== null && !(previous < key)) return false;
        previous = key;
        const v = obj[key];
        if (v !== undefined && !inOrder(v, depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

/** Thrown inside the fast path; canonicalize() turns it into a coded error naming the path. */
const NO_FORM = new Error("no canonical JSON form");

// A string needs JSON.stringify's escaping only when it holds a quote, a backslash, a control
// character or a surrogate (lone surrogates are escaped; pairs go the slow way too, which is
// still correct). Everything else is emitted as is: the common case costs one regex test.
// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

function quote(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

/** Events built by the pipeline already have their keys in order; checking is cheaper than sorting. */
function isSorted(keys: string[]): boolean {
  for (let i = 1; i < keys.length; i++) if (keys[i - 1]! > keys[i]!) return false;
  return true;
}

function write(value: unknown): string {
  switch (typeof value) {
    case "string":
      return quote(value);
    case "number":
      if (!Number.isFinite(value)) throw NO_FORM;
      // String(n) is the ECMAScript shortest round-trip form, as JSON.stringify (and -0 is "0").
      return String(value);
    case "boolean":
      return value ? "true" : "false";
    case "object": {
      if (value === null) return "null";
      if (Array.isArray(value)) {
        let out = "[";
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ",";
          const item: unknown = value[i];
          out += write(item === undefined ? null : item);
        }
        return out + "]";
      }
      if (value instanceof Date) return JSON.stringify(value.toISOString());
      const obj = value as Record<string, unknown>;
      // The default sort compares UTF-16 code units, as RFC 8785 section 3.2.3 asks.
      const keys = Object.keys(obj);
      if (!isSorted(keys)) keys.sort();
      let out = "{";
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        const v = obj[key];
        if (v === undefined) continue;
        if (out.length > 1) out += ",";
        out += quote(key) + ":" + write(v);
      }
      return out + "}";
    }
    default:
      throw NO_FORM;
  }
}

/** Slow path for the error message: where is the value with no JSON form? */
function findBad(value: unknown, path: string): { path: string; what: string } | null {
  if (typeof value === "number") return Number.isFinite(value) ? null : { path, what: String(value) };
  if (typeof value === "bigint" || typeof value === "function" || typeof value === "symbol") return { path, what: `a ${typeof value}` };
  if (typeof value !== "object" || value === null || value instanceof Date) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const r = findBad(value[i], `${path}[${i}]`);
      if (r) return r;
    }
    return null;
  }
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const r = v === undefined ? null : findBad(v, `${path}.${k}`);
    if (r) return r;
  }
  return null;
}
