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

/** Thrown inside the fast path; canonicalize() turns it into a coded error naming the path. */
const NO_FORM = new Error("no canonical JSON form");

function write(value: unknown): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) throw NO_FORM;
      return JSON.stringify(value);
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
      const keys = Object.keys(obj).sort();
      let out = "{";
      for (const key of keys) {
        const v = obj[key];
        if (v === undefined) continue;
        if (out.length > 1) out += ",";
        out += JSON.stringify(key) + ":" + write(v);
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
