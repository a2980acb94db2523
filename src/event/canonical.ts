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
  const out: string[] = [];
  write(value, out, "$");
  return out.join("");
}

const encoder = new TextEncoder();

export function canonicalBytes(value: unknown): Uint8Array {
  return encoder.encode(canonicalize(value));
}

function compareUtf16(a: string, b: string): number {
  // JS string comparison already compares UTF-16 code units.
  return a < b ? -1 : a > b ? 1 : 0;
}

function write(value: unknown, out: string[], path: string): void {
  if (value === null) {
    out.push("null");
    return;
  }
  switch (typeof value) {
    case "boolean":
      out.push(value ? "true" : "false");
      return;
    case "number":
      if (!Number.isFinite(value)) {
        throw new AitrailError("INVALID_EVENT", `${path}: ${value} has no canonical JSON form`, { details: { path } });
      }
      out.push(JSON.stringify(value));
      return;
    case "string":
      out.push(JSON.stringify(value));
      return;
    case "object": {
      if (Array.isArray(value)) {
        out.push("[");
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out.push(",");
          const item: unknown = value[i];
          write(item === undefined ? null : item, out, `${path}[${i}]`);
        }
        out.push("]");
        return;
      }
      if (value instanceof Date) {
        out.push(JSON.stringify(value.toISOString()));
        return;
      }
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort(compareUtf16);
      out.push("{");
      let first = true;
      for (const key of keys) {
        if (!first) out.push(",");
        first = false;
        out.push(JSON.stringify(key), ":");
        write(obj[key], out, `${path}.${key}`);
      }
      out.push("}");
      return;
    }
    default:
      throw new AitrailError("INVALID_EVENT", `${path}: a ${typeof value} has no canonical JSON form`, { details: { path } });
  }
}
