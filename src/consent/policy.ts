/**
 * Policy enforcement before a provider call (pipeline step 2). The AI client calls
 * `enforce` with the call's auditContext and the provider it is about to call; a refusal is
 * recorded as a `policy.denied` event and thrown, and the provider is never called.
 *
 * Checks, in order:
 *   INVALID_LEGAL_BASIS     auditContext.legalBasis is not one of Art. 6(1)'s six, or
 *                           contradicts the basis registered for the purpose
 *   PURPOSE_NOT_REGISTERED  a purpose registry is configured and the purpose is not in it
 *   RESIDENCY_VIOLATION     compliance.dataResidency is set and the provider's declared
 *                           processing region is outside it (or undeclared)
 *   CONSENT_REQUIRED        consent tracking is on, the call rests on consent (the default
 *                           then) and the user has no active consent for the purpose
 *
 * Messages never contain the user's identifier: they are stored in the denial event.
 */
import { AitrailError } from "../errors.js";
import type { AuditContext, AuditEventInput } from "../event/schema.js";
import { LEGAL_BASES, articleOf, normalizeLegalBasis } from "./legal-basis.js";
import type { LegalBasis } from "./legal-basis.js";
import type { ConsentRecord } from "./manager.js";
import { PurposeRegistry } from "./purposes.js";
import type { ProcessingActivity, ProcessingActivityInput } from "./purposes.js";

export interface PolicyConfig {
  /** compliance.gdpr.consentTracking */
  consentTracking?: boolean;
  /** compliance.gdpr.purposes (the Art. 30 processing activities). */
  purposes?: PurposeRegistry | readonly ProcessingActivityInput[];
  /** compliance.dataResidency: allowed processing regions, e.g. "EU" or ["EU", "CH"]. */
  dataResidency?: string | readonly string[];
}

/** The provider a call is about to reach. */
export interface PolicyTarget {
  provider: string;
  model?: string;
  /** The provider's declared processing region (its config), e.g. "EU", "US", "EU-FR". */
  region?: string;
}

export interface ConsentChecker {
  checkConsent(userId: string, purpose: string): Promise<ConsentRecord | null>;
}

export interface PolicyAllowed {
  allowed: true;
  /** The basis the call rests on (given, registered, or "consent" under consent tracking). */
  legalBasis?: LegalBasis;
  /** The active consent, when the call rests on consent. */
  consentId?: string;
  activity?: ProcessingActivity;
}

export interface PolicyDenied {
  allowed: false;
  error: AitrailError;
  /** The `policy.denied` event to record. */
  event: AuditEventInput;
}

export type PolicyDecision = PolicyAllowed | PolicyDenied;

/** Region names compared case-insensitively; "EU" allows "EU" and sub-regions like "EU-FR". */
function regionAllowed(region: string, allowed: readonly string[]): boolean {
  const r = region.trim().toUpperCase();
  return allowed.some((a) => r === a || r.startsWith(`${a}-`));
}

export class PolicyEnforcer {
  readonly #consentTracking: boolean;
  readonly #registry: PurposeRegistry | undefined;
  readonly #residency: readonly string[] | undefined;
  readonly #consent: ConsentChecker | null;

  constructor(config: PolicyConfig, consent: ConsentChecker | null) {
    this.#consentTracking = config.consentTracking === true;
    if (this.#consentTracking && !consent) {
      throw new AitrailError("INVALID_CONFIG", "compliance.gdpr.consentTracking is on but no consent manager was given");
    }
    const purposes = config.purposes;
    this.#registry = purposes === undefined ? undefined : purposes instanceof PurposeRegistry ? purposes : new PurposeRegistry(purposes);
    if (config.dataResidency !== undefined) {
      const list = (typeof config.dataResidency === "string" ? [config.dataResidency] : [...config.dataResidency]).map((r) => r.trim().toUpperCase());
      if (list.length === 0 || list.some((r) => !/^[A-Z0-9][A-Z0-9-]{0,31}$/.test(r))) {
        throw new AitrailError("INVALID_CONFIG", "compliance.dataResidency: give one or more region names such as \"EU\"", {
          details: { option: "compliance.dataResidency" },
        });
      }
      this.#residency = list;
    }
    this.#consent = consent;
  }

  get registry(): PurposeRegistry | undefined {
    return this.#registry;
  }

  /** Decides without recording anything. */
  async evaluate(context: AuditContext, target: PolicyTarget): Promise<PolicyDecision> {
    const deny = (code: "INVALID_LEGAL_BASIS" | "PURPOSE_NOT_REGISTERED" | "RESIDENCY_VIOLATION" | "CONSENT_REQUIRED", message: string, details: Record<string, unknown> = {}): PolicyDenied => {
      const error = new AitrailError(code, message, { details: { rule: code, ...details } });
      return { allowed: false, error, event: denialEvent(context, target, error) };
    };

    let given: LegalBasis | undefined;
    if (context.legalBasis !== undefined) {
      const basis = normalizeLegalBasis(context.legalBasis);
      if (!basis) {
        return deny(
          "INVALID_LEGAL_BASIS",
          `auditContext.legalBasis "${context.legalBasis}" is not a lawful basis of GDPR Art. 6(1); use one of ${LEGAL_BASES.join(", ")}`,
          { legalBasis: context.legalBasis },
        );
      }
      given = basis;
    }

    let activity: ProcessingActivity | undefined;
    if (this.#registry) {
      try {
        activity = this.#registry.require(context.purpose);
      } catch (err) {
        if (AitrailError.isInstance(err, "PURPOSE_NOT_REGISTERED")) return deny("PURPOSE_NOT_REGISTERED", err.message, err.details ?? {});
        throw err;
      }
      if (given && given !== activity.legalBasis) {
        return deny(
          "INVALID_LEGAL_BASIS",
          `purpose "${activity.purpose}" is registered under ${activity.legalBasis} (${articleOf(activity.legalBasis)}), not ${given}`,
          { legalBasis: given, registered: activity.legalBasis, purpose: activity.purpose },
        );
      }
    }

    if (this.#residency) {
      if (!target.region) {
        return deny(
          "RESIDENCY_VIOLATION",
          `compliance.dataResidency is ${this.#residency.join(", ")} but provider "${target.provider}" declares no processing region; set its region`,
          { provider: target.provider, allowed: this.#residency },
        );
      }
      if (!regionAllowed(target.region, this.#residency)) {
        return deny(
          "RESIDENCY_VIOLATION",
          `provider "${target.provider}" processes in ${target.region}, outside the allowed region(s) ${this.#residency.join(", ")}`,
          { provider: target.provider, region: target.region, allowed: this.#residency },
        );
      }
    }

    const basis = given ?? activity?.legalBasis ?? (this.#consentTracking ? "consent" : undefined);
    if (this.#consentTracking && basis === "consent") {
      if (!context.userId) return deny("CONSENT_REQUIRED", "the call rests on consent but auditContext.userId is missing: consent is per user");
      if (!context.purpose) return deny("CONSENT_REQUIRED", "the call rests on consent but auditContext.purpose is missing: consent is per purpose");
      const active = await this.#consent!.checkConsent(context.userId, context.purpose);
      if (!active) {
        return deny("CONSENT_REQUIRED", `no active consent of this user for purpose "${context.purpose}" (GDPR Art. 6(1)(a), Art. 7)`, {
          purpose: context.purpose,
        });
      }
      if (context.consentId !== undefined && context.consentId !== active.consentId) {
        return deny("CONSENT_REQUIRED", `consent ${context.consentId} is not this user's active consent for purpose "${context.purpose}"`, {
          purpose: context.purpose,
          consentId: context.consentId,
        });
      }
      return { allowed: true, legalBasis: basis, consentId: active.consentId, ...(activity ? { activity } : {}) };
    }
    return { allowed: true, ...(basis ? { legalBasis: basis } : {}), ...(activity ? { activity } : {}) };
  }

  /**
   * Decides; on a refusal records the `policy.denied` event through `record` and throws the
   * coded error (whether or not the denial could be recorded; details.recorded says which).
   */
  async enforce(context: AuditContext, target: PolicyTarget, record: (event: AuditEventInput) => Promise<unknown>): Promise<PolicyAllowed> {
    const decision = await this.evaluate(context, target);
    if (decision.allowed) return decision;
    let recorded = true;
    let recordError: unknown;
    try {
      await record(decision.event);
    } catch (err) {
      recorded = false;
      recordError = err;
    }
    const e = decision.error;
    throw new AitrailError(e.code, e.message, {
      details: { ...e.details, recorded },
      ...(recordError !== undefined ? { cause: recordError } : {}),
    });
  }
}

function denialEvent(context: AuditContext, target: PolicyTarget, error: AitrailError): AuditEventInput {
  return {
    ...context,
    type: "policy.denied",
    provider: target.provider,
    ...(target.model ? { model: target.model } : {}),
    status: "denied",
    errorCode: error.code,
    errorMessage: error.message,
    frameworks: ["GDPR"],
    details: { rule: error.code, ...(target.region ? { region: target.region } : {}) },
  };
}
