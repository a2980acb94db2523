/**
 * A quick accept for the common, valid event: plain checks of every field, no zod. It never
 * rejects: anything it is not sure of (an unknown key, a value out of range, a field it does
 * not check by hand such as `details`) goes to the zod schema, which accepts it or lists every
 * bad field. So the errors are always zod's, and an event it accepts is one zod accepts with
 * the same result (a property test holds the two together).
 */
import { EVENT_TYPES, FRAMEWORKS, LIMITS, LONE_SURROGATE, STATUSES } from "./schema.js";
import { EVENT_ID_PATTERN } from "./ids.js";

type Check = (v: unknown) => boolean;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const CUSTOM_TYPE = /^custom\.[a-z0-9_.-]{1,64}$/;
// What z.iso.datetime({ offset: false, precision: 3 }) accepts, narrowed to real calendar
// dates below; anything else goes to zod.
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/;

const ident =
  (max: number = LIMITS.identifier): Check =>
  (v) =>
    typeof v === "string" && v.length >= 1 && v.length <= max && !CONTROL.test(v) && !LONE_SURROGATE.test(v);
const text =
  (max: number): Check =>
  (v) =>
    typeof v === "string" && v.length <= max;
const bool: Check = (v) => typeof v === "boolean";
const range =
  (min: number, max: number): Check =>
  (v) =>
    typeof v === "number" && v >= min && v <= max;
const count: Check = (v) => Number.isSafeInteger(v) && (v as number) >= 0;
const oneOf = (values: readonly string[]): Check => {
  const set = new Set(values);
  return (v) => typeof v === "string" && set.has(v);
};

function plain(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

const arrayOf =
  (item: Check, max: number): Check =>
  (v) => {
    if (!Array.isArray(v) || v.length > max) return false;
    for (let i = 0; i < v.length; i++) if (!item(v[i])) return false;
    return true;
  };

const TOKEN_KEYS: Record<string, boolean> = { input: true, output: true, total: true, cachedInput: false, reasoning: false };
const tokens: Check = (v) => {
  if (!plain(v)) return false;
  let required = 0;
  for (const key in v) {
    const needed = TOKEN_KEYS[key];
    if (needed === undefined || !Object.hasOwn(TOKEN_KEYS, key)) return false;
    const n = v[key];
    if (n === undefined) {
      if (needed) return false;
      continue;
    }
    if (!count(n)) return false;
    if (needed) required += 1;
  }
  return required === 3;
};

function realDate(v: unknown): boolean {
  if (typeof v !== "string") return false;
  const m = TIMESTAMP.exec(v);
  if (!m) return false;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  const days = [31, year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
  return day <= days;
}

/** The auditContext fields (the brief's who and why). */
function contextChecks(): Record<string, Check> {
  return {
    userId: ident(),
    sessionId: ident(),
    action: ident(),
    purpose: ident(),
    dataClassification: ident(64),
    ip: ident(64),
    userAgent: ident(LIMITS.text),
    consentId: ident(),
    legalBasis: ident(64),
    dataCategory: ident(),
    retention: ident(64),
    processors: arrayOf(ident(), 64),
    patientId: ident(),
    phiAccessed: bool,
    disclosure: bool,
    authorization: ident(),
  };
}


/** Fields of an event as handed in. `details` and `protection` are left to zod. */
function inputChecks(context: Record<string, Check>): Record<string, Check> {
  const knownType = oneOf(EVENT_TYPES);
  return {
    ...context,
    type: (v) => knownType(v) || (typeof v === "string" && CUSTOM_TYPE.test(v)),
    provider: ident(128),
    model: ident(256),
    status: oneOf(STATUSES),
    latency: range(0, 1e9),
    cost: (v) => v === null || range(0, 1e9)(v),
    costUnknown: bool,
    tokens,
    errorCode: ident(128),
    errorMessage: (v) => text(LIMITS.errorMessage)(v) && !LONE_SURROGATE.test(v as string),
    prompt: text(LIMITS.content),
    response: text(LIMITS.content),
    frameworks: arrayOf(oneOf(FRAMEWORKS), 8),
    eventId: (v) => typeof v === "string" && EVENT_ID_PATTERN.test(v),
    timestamp: realDate,
  };
}

// Built on first use: schema.ts imports this module, and its constants are not there yet
// while the import graph is being evaluated.
let tables: { context: Record<string, Check>; input: Record<string, Check> } | undefined;
function checks(): { context: Record<string, Check>; input: Record<string, Check> } {
  if (!tables) {
    const context = contextChecks();
    tables = { context, input: inputChecks(context) };
  }
  return tables;
}

/** A copy that no later change to the caller's object can reach (arrays and tokens are copied). */
function own(v: unknown): unknown {
  if (Array.isArray(v)) return v.slice();
  if (typeof v === "object" && v !== null) return { ...v };
  return v;
}

function accept(input: unknown, fields: Record<string, Check>, required: string | null): Record<string, unknown> | undefined {
  if (!plain(input)) return undefined;
  const out: Record<string, unknown> = {};
  for (const key in input) {
    if (!Object.hasOwn(fields, key)) return undefined;
    const v = input[key];
    if (v === undefined) continue;
    if (!fields[key]!(v)) return undefined;
    out[key] = own(v);
  }
  if (required !== null && out[required] === undefined) return undefined;
  return out;
}

/** The event's fields when every one is plainly valid; undefined sends the event to zod. */
export function quickAcceptEvent(input: unknown): Record<string, unknown> | undefined {
  return accept(input, checks().input, "type");
}

/** The auditContext when every field is plainly valid; undefined sends it to zod. */
export function quickAcceptContext(input: unknown): Record<string, unknown> | undefined {
  return accept(input, checks().context, null);
}
