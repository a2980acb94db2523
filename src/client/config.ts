/**
 * AITrail options: the brief's shapes (`providers`, `auditLog`, `compliance`), validated once
 * with zod. Every bad option is listed in one INVALID_CONFIG error that names the option and,
 * for API keys, the environment variable that could supply it. The result is frozen.
 */
import { FRAMEWORKS, type Framework } from "../event/schema.js";
import { z } from "zod";
import { AitrailError } from "../errors.js";
import { fieldSelection, LEVELS, type AuditLevel } from "../event/levels.js";
import type { AuditEvent } from "../event/schema.js";
import { priceOverridesSchema, type PriceOverrides } from "../pricing/index.js";
import type { AuditAlert } from "./audit-writer.js";
import type { AuditLogEvent } from "./log-view.js";
import type { ConsentChecker, PolicyAllowed, PolicyConfig, PolicyTarget } from "../consent/policy.js";
import type { AuditContext, AuditEventInput } from "../event/schema.js";
import type { RecorderPort } from "./recorder-port.js";

/** What the trail needs of a policy: the consent module's PolicyEnforcer has this shape. */
export interface PolicyPort {
  enforce(context: AuditContext, target: PolicyTarget, record: (event: AuditEventInput) => Promise<unknown>): Promise<PolicyAllowed>;
}

export const PROVIDER_KINDS = ["openai", "anthropic", "mistral", "google", "azure", "openai-compatible"] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];


/** Environment variables that supply a provider's API key when `config.apiKey` is absent. */
export const API_KEY_ENV: Readonly<Record<ProviderKind, string>> = {
  openai: "OPENAI_API_KEY",
  anthropic: "ANTHROPIC_API_KEY",
  mistral: "MISTRAL_API_KEY",
  google: "GOOGLE_GENERATIVE_AI_API_KEY",
  azure: "AZURE_API_KEY",
  "openai-compatible": "OPENAI_COMPATIBLE_API_KEY",
};

const fn = <T extends (...args: never[]) => unknown>() =>
  z.custom<T>((v) => typeof v === "function", { message: "must be a function" });

const name = z.string().min(1, "must not be empty").max(128, "must be at most 128 characters").regex(/^[A-Za-z0-9_.-]+$/, "may contain only letters, digits, '_', '.' and '-'");

const providerConfigSchema = z
  .object({
    apiKey: z.string().min(1, "must not be empty").optional(),
    baseURL: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional(),
    headers: z.record(z.string(), z.string()).optional(),
    /** openai */
    organization: z.string().optional(),
    project: z.string().optional(),
    /** openai and azure: "chat" (chat completions, default) or "responses". */
    api: z.enum(["chat", "responses"]).optional(),
    /** azure */
    resourceName: z.string().optional(),
    apiVersion: z.string().optional(),
    /** Model used when a call names none. */
    defaultModel: z.string().min(1).optional(),
    /** Price this provider's models as another provider's (e.g. an OpenAI proxy: "openai"). */
    priceAs: z.string().min(1).optional(),
    /** Where this provider processes data ("EU", "US", "EU-FR"), checked against compliance.dataResidency. */
    region: z.string().min(1).max(32).optional(),
  })
  .strict();

const providerSchema = z
  .object({
    name,
    /** The client to use; defaults to `name` when that is one of the known kinds. */
    type: z.enum(PROVIDER_KINDS).optional(),
    config: providerConfigSchema.optional(),
  })
  .strict();

const storageSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("sqlite"), path: z.string().min(1).optional(), encryption: z.string().optional(), integrityCheck: z.string().optional() }).strict(),
  z.object({ type: z.literal("memory"), encryption: z.string().optional(), integrityCheck: z.string().optional() }).strict(),
  z.object({ type: z.literal("postgres"), connectionString: z.string().min(1), schema: z.string().optional(), encryption: z.string().optional(), integrityCheck: z.string().optional() }).strict(),
  /** The brief's "append-only" storage: every aitrail store is append-only; this is the default SQLite file. */
  z.object({ type: z.literal("append-only"), path: z.string().min(1).optional(), encryption: z.string().optional(), integrityCheck: z.string().optional() }).strict(),
]);

const auditLogSchema = z
  .object({
    enabled: z.boolean().optional(),
    level: z.enum(LEVELS).optional(),
    includeFields: z.array(z.string()).optional(),
    onLog: fn<(event: AuditLogEvent) => unknown>().optional(),
    storage: storageSchema.optional(),
    /** Where the master key and the checkpoint signing key live; default `.aitrail/` beside the SQLite file (or in the working directory). */
    keyDir: z.string().min(1).optional(),
    /** Signed checkpoints (RFC 9162 tree heads); false turns them off. */
    checkpoints: z
      .union([
        z.literal(false),
        z
          .object({
            everyEvents: z.number().int().min(0).optional(),
            everySeconds: z.number().min(0).optional(),
            /** Witness file every checkpoint is appended to; null for none. Default `<db>.witness` for SQLite. */
            witnessFile: z.string().min(1).nullable().optional(),
          })
          .strict(),
      ])
      .optional(),
    /** Open mode's durable spool while the store is down; false for none. Default `<db>.spool`, or `./aitrail.spool`. */
    spoolPath: z.union([z.string().min(1), z.literal(false)]).optional(),
  })
  .strict();

const complianceSection = z.record(z.string(), z.union([z.boolean(), z.string(), z.number()]));
/** compliance.gdpr: the brief's flags, plus the registered purposes (GDPR Art. 30 processing activities). */
const gdprSection = z
  .object({ consentTracking: z.boolean().optional(), purposes: z.array(z.record(z.string(), z.unknown())).optional() })
  .catchall(z.union([z.boolean(), z.string(), z.number()]));

const complianceSchema = z
  .object({
    framework: z.union([z.enum(FRAMEWORKS), z.array(z.enum(FRAMEWORKS)).min(1)]).optional(),
    dataResidency: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    enableAuditLog: z.boolean().optional(),
    gdpr: gdprSection.optional(),
    hipaa: complianceSection.optional(),
    soc2: complianceSection.optional(),
  })
  .strict();

const policySchema = z.custom<PolicyPort>(
  (v) => typeof v === "object" && v !== null && typeof (v as { enforce?: unknown }).enforce === "function",
  { message: "must be an object with an enforce(context, target, record) method (a PolicyEnforcer)" },
);
const consentSchema = z.custom<ConsentChecker>(
  (v) => typeof v === "object" && v !== null && typeof (v as { checkConsent?: unknown }).checkConsent === "function",
  { message: "must be an object with a checkConsent(userId, purpose) method (a ConsentManager)" },
);

const recorderSchema = z.custom<RecorderPort>(
  (v) => typeof v === "object" && v !== null && typeof (v as { record?: unknown }).record === "function",
  { message: "must be an object with a record(event) method" },
);

export const trailOptionsSchema = z
  .object({
    providers: z.array(providerSchema).min(1, "at least one provider is required"),
    auditLog: auditLogSchema.optional(),
    compliance: complianceSchema.optional(),
    failMode: z.enum(["open", "closed"]).optional(),
    onAlert: fn<(alert: AuditAlert) => unknown>().optional(),
    pricing: z.object({ overrides: priceOverridesSchema.optional() }).strict().optional(),
    /** Where events go instead of `auditLog.storage` (a Recorder shared with other components). */
    recorder: recorderSchema.optional(),
    /** Checked before every provider call; default one built from compliance (dataResidency, gdpr.consentTracking, gdpr.purposes). */
    policy: policySchema.optional(),
    /** Consent records for compliance.gdpr.consentTracking (a ConsentManager). */
    consent: consentSchema.optional(),
    /** Steps of the stored form (pseudonyms, encryption, redaction); given to the Recorder this trail opens. */
    protect: fn<(event: AuditEvent) => AuditEvent | Promise<AuditEvent>>().optional(),
    /** Open mode's in-memory spool of events that could not be written yet. */
    spool: z
      .object({
        maxEvents: z.number().int().min(1).max(10_000_000).optional(),
        retryMs: z.number().int().min(10).max(3_600_000).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type TrailOptions = z.input<typeof trailOptionsSchema>;

export interface ResolvedProvider {
  name: string;
  kind: ProviderKind;
  apiKey: string | undefined;
  baseURL: string | undefined;
  headers: Record<string, string> | undefined;
  organization: string | undefined;
  project: string | undefined;
  api: "chat" | "responses";
  resourceName: string | undefined;
  apiVersion: string | undefined;
  defaultModel: string | undefined;
  priceAs: string | undefined;
  region: string | undefined;
}

export type ResolvedStorage =
  | { type: "sqlite"; path: string }
  | { type: "memory" }
  | { type: "postgres"; connectionString: string; schema?: string };

export interface ResolvedConfig {
  providers: readonly ResolvedProvider[];
  audit: {
    enabled: boolean;
    level: AuditLevel;
    includeFields: readonly string[] | undefined;
    onLog: ((event: AuditLogEvent) => unknown) | undefined;
    storage: ResolvedStorage;
    /**
     * The brief's `encryption` key: identifiers pseudonymised, personal fields encrypted at rest
     * (the privacy step). On by default; `encryption: "none"` stores plain columns.
     */
    encryption: "AES-256-GCM" | undefined;
    keyDir: string | undefined;
    checkpoints: false | { everyEvents?: number; everySeconds?: number; witnessFile?: string | null };
    spoolPath: string | false | undefined;
  };
  frameworks: readonly Framework[];
  dataResidency: string | undefined;
  /** What the default policy checks; undefined when compliance asks for no check. */
  policyConfig: PolicyConfig | undefined;
  policy: PolicyPort | undefined;
  consent: ConsentChecker | undefined;
  failMode: "open" | "closed";
  onAlert: ((alert: AuditAlert) => unknown) | undefined;
  priceOverrides: PriceOverrides;
  recorder: RecorderPort | undefined;
  protect: ((event: AuditEvent) => AuditEvent | Promise<AuditEvent>) | undefined;
  spool: { maxEvents: number; retryMs: number };
}

export const DEFAULT_DB_PATH = "./aitrail.db";

function pathOf(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || "(options)";
}

function fail(problems: string[]): never {
  throw new AitrailError("INVALID_CONFIG", `invalid AITrail options: ${problems.join("; ")}`, { details: { problems } });
}

const ENCRYPTION = new Map<string, "AES-256-GCM" | undefined>([
  ["AES-256", "AES-256-GCM"],
  ["AES-256-GCM", "AES-256-GCM"],
  ["none", undefined],
]);

function policyConfigOf(c: z.infer<typeof complianceSchema> | undefined): PolicyConfig | undefined {
  const consentTracking = c?.gdpr?.consentTracking === true;
  const purposes = c?.gdpr?.purposes;
  if (!consentTracking && c?.dataResidency === undefined && purposes === undefined) return undefined;
  return {
    ...(consentTracking ? { consentTracking } : {}),
    ...(c?.dataResidency !== undefined ? { dataResidency: c.dataResidency } : {}),
    ...(purposes !== undefined ? { purposes: purposes as unknown as NonNullable<PolicyConfig["purposes"]> } : {}),
  };
}

/** Resolves each provider entry that has the right shape (shape errors are reported elsewhere). */
function resolveProviders(raw: unknown, env: NodeJS.ProcessEnv, problems: string[]): ResolvedProvider[] {
  if (!Array.isArray(raw)) return [];
  const seen = new Set<string>();
  const providers: ResolvedProvider[] = [];
  raw.forEach((entry: unknown, i) => {
    const parsed = providerSchema.safeParse(entry);
    if (!parsed.success) return;
    const p = parsed.data;
    const at = `providers[${i}]`;
    if (seen.has(p.name)) problems.push(`${at}.name: duplicate provider name "${p.name}"`);
    seen.add(p.name);
    const kind = p.type ?? ((PROVIDER_KINDS as readonly string[]).includes(p.name) ? (p.name as ProviderKind) : undefined);
    if (!kind) {
      problems.push(`${at}.type: required when name is not one of ${PROVIDER_KINDS.join(", ")}`);
      return;
    }
    const c = p.config ?? {};
    const envName = API_KEY_ENV[kind];
    const apiKey = c.apiKey ?? (env[envName] || undefined);
    if (apiKey === undefined && kind !== "openai-compatible") {
      problems.push(`${at}.config.apiKey: missing for provider "${p.name}"; pass it or set ${envName}`);
    }
    if (kind === "openai-compatible" && !c.baseURL) problems.push(`${at}.config.baseURL: required for an openai-compatible provider (e.g. http://localhost:11434/v1)`);
    const resourceName = c.resourceName ?? (kind === "azure" ? env.AZURE_RESOURCE_NAME || undefined : undefined);
    if (kind === "azure" && !resourceName && !c.baseURL) {
      problems.push(`${at}.config.resourceName: required for azure unless baseURL is given; pass it or set AZURE_RESOURCE_NAME`);
    }
    providers.push({
      name: p.name,
      kind,
      apiKey,
      baseURL: c.baseURL,
      headers: c.headers,
      organization: c.organization,
      project: c.project,
      api: c.api ?? "chat",
      resourceName,
      apiVersion: c.apiVersion,
      defaultModel: c.defaultModel,
      priceAs: c.priceAs,
      region: c.region,
    });
  });
  return providers;
}

/** Validates AITrail options; throws INVALID_CONFIG listing every problem. */
export function resolveConfig(options: unknown, env: NodeJS.ProcessEnv = process.env): Readonly<ResolvedConfig> {
  const parsed = trailOptionsSchema.safeParse(options);
  const problems: string[] = parsed.success
    ? []
    : parsed.error.issues.map((i) => {
        const where = pathOf(i.path);
        return i.code === "unrecognized_keys" ? `${where}: unknown option(s) ${i.keys.join(", ")}` : `${where}: ${i.message}`;
      });
  const providers = resolveProviders(options && typeof options === "object" ? (options as { providers?: unknown }).providers : undefined, env, problems);
  if (!parsed.success) fail(problems);
  const o = parsed.data;

  const al = o.auditLog ?? {};
  const level = al.level ?? "standard";
  try {
    fieldSelection(level, al.includeFields);
  } catch (err) {
    problems.push(AitrailError.isInstance(err) ? err.message : String(err));
  }
  const st = al.storage ?? { type: "sqlite" as const };
  let storage: ResolvedStorage;
  if (st.type === "sqlite" || st.type === "append-only") storage = { type: "sqlite", path: st.path ?? DEFAULT_DB_PATH };
  else if (st.type === "memory") storage = { type: "memory" };
  else storage = { type: "postgres", connectionString: st.connectionString, ...(st.schema ? { schema: st.schema } : {}) };
  let encryption: "AES-256-GCM" | undefined = "AES-256-GCM";
  if (st.encryption !== undefined) {
    if (!ENCRYPTION.has(st.encryption)) problems.push(`auditLog.storage.encryption: must be one of ${[...ENCRYPTION.keys()].join(", ")}`);
    else encryption = ENCRYPTION.get(st.encryption);
  }
  if (st.integrityCheck !== undefined && st.integrityCheck !== "SHA-256") {
    problems.push(`auditLog.storage.integrityCheck: must be "SHA-256" (the ledger hashes every record with SHA-256, RFC 9162)`);
  }

  const fw = o.compliance?.framework;
  const frameworks: Framework[] = fw === undefined ? [] : Array.isArray(fw) ? [...new Set(fw)] : [fw];
  const enabled = al.enabled ?? o.compliance?.enableAuditLog ?? true;
  if (!enabled && frameworks.includes("HIPAA")) {
    problems.push("auditLog.enabled: cannot be false under compliance.framework HIPAA (audit controls are required, 45 CFR 164.312(b))");
  }
  const failMode = o.failMode ?? (frameworks.includes("HIPAA") ? "closed" : "open");
  if (!enabled && o.failMode === "closed") problems.push('failMode: "closed" needs auditLog.enabled true');

  if (problems.length > 0) fail(problems);

  const config: ResolvedConfig = {
    providers: Object.freeze(providers.map((p) => Object.freeze(p))),
    audit: Object.freeze({ enabled, level, includeFields: al.includeFields ? Object.freeze([...al.includeFields]) : undefined, onLog: al.onLog, storage, encryption, keyDir: al.keyDir, checkpoints: al.checkpoints ?? {}, spoolPath: al.spoolPath }),
    frameworks: Object.freeze(frameworks),
    dataResidency: Array.isArray(o.compliance?.dataResidency) ? o.compliance.dataResidency.join(",") : o.compliance?.dataResidency,
    policyConfig: policyConfigOf(o.compliance),
    policy: o.policy,
    consent: o.consent,
    failMode,
    onAlert: o.onAlert,
    priceOverrides: Object.freeze({ ...(o.pricing?.overrides ?? {}) }),
    recorder: o.recorder,
    protect: o.protect,
    spool: { maxEvents: o.spool?.maxEvents ?? 100_000, retryMs: o.spool?.retryMs ?? 1000 },
  };
  return Object.freeze(config);
}
