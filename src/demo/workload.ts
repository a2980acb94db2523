/**
 * A realistic, reproducible workload of AI-call audit events: users with sessions, purposes
 * under a legal basis, providers and models, token counts, some failures. The same seed
 * gives the same users, purposes, providers, models, tokens, statuses and costs.
 */
import type { AuditEventInput } from "../event/schema.js";
import { SeededRandom } from "./random.js";

export interface WorkloadCall {
  auditContext: {
    userId: string;
    sessionId: string;
    action: string;
    purpose: string;
    dataClassification: string;
    legalBasis: string;
    ip: string;
    userAgent: string;
    patientId?: string;
    phiAccessed?: boolean;
    disclosure?: boolean;
  };
  provider: string;
  model: string;
  prompt: string;
  /** Tokens the call consumes (the local provider server derives the same counts). */
  inputTokens: number;
  outputTokens: number;
  /** An HTTP status the call should fail with, or undefined for success. */
  failWith?: number;
}

const PURPOSES = [
  { action: "customer-feedback-analysis", purpose: "Business intelligence", legalBasis: "legitimate_interests", cls: "internal" },
  { action: "support-reply-draft", purpose: "customer-support", legalBasis: "contract", cls: "confidential" },
  { action: "personalized-recommendations", purpose: "personalized-recommendations", legalBasis: "consent", cls: "internal" },
  { action: "chart-summarization", purpose: "treatment", legalBasis: "vital_interests", cls: "restricted" },
  { action: "fraud-screening", purpose: "fraud-prevention", legalBasis: "legal_obligation", cls: "confidential" },
] as const;

export const WORKLOAD_MODELS = [
  { provider: "openai", model: "gpt-4o" },
  { provider: "openai", model: "gpt-4o-mini" },
  { provider: "anthropic", model: "claude-3-5-sonnet-20241022" },
  { provider: "mistral", model: "mistral-large-latest" },
  { provider: "google", model: "gemini-1.5-pro" },
] as const;

const AGENTS = [
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15",
  "aitrail-demo/1.0 (server)",
];

const PROMPTS = [
  "Analyze customer feedback",
  "Summarize patient chart",
  "Draft a reply to the customer about the late delivery",
  "Recommend three products for this shopper",
  "Is this transaction pattern suspicious?",
];

export function* workload(count: number, seed: number | string = 1): Generator<WorkloadCall> {
  const rng = new SeededRandom(seed);
  const userCount = Math.max(3, Math.min(500, Math.ceil(count / 20)));
  const users = Array.from({ length: userCount }, (_, i) => ({
    id: `user-${String(10000 + i)}`,
    ip: `10.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`,
    agent: rng.pick(AGENTS),
    sessions: 0,
  }));
  for (let i = 0; i < count; i++) {
    const user = rng.pick(users);
    if (user.sessions === 0 || rng.chance(0.1)) user.sessions += 1;
    const p = rng.pick(PURPOSES);
    const m = rng.pick(WORKLOAD_MODELS);
    const prompt = `${rng.pick(PROMPTS)} #${rng.int(1, 9999)}`;
    const clinical = p.purpose === "treatment";
    const roll = rng.next();
    const failWith = roll < 0.02 ? 500 : roll < 0.04 ? 429 : undefined;
    yield {
      auditContext: {
        userId: user.id,
        sessionId: `sess-${user.id.slice(5)}-${user.sessions}`,
        action: p.action,
        purpose: p.purpose,
        dataClassification: p.cls,
        legalBasis: p.legalBasis,
        ip: user.ip,
        userAgent: user.agent,
        ...(clinical ? { patientId: `patient-${rng.int(100, 999)}`, phiAccessed: true, disclosure: rng.chance(0.1) } : {}),
      },
      provider: m.provider,
      model: m.model,
      prompt,
      inputTokens: rng.int(20, 2000),
      outputTokens: rng.int(10, 800),
      ...(failWith ? { failWith } : {}),
    };
  }
}

/** US dollars per million tokens (input, output): list prices for the workload's models. */
const PRICES: Record<string, [number, number]> = {
  "gpt-4o": [2.5, 10],
  "gpt-4o-mini": [0.15, 0.6],
  "claude-3-5-sonnet-20241022": [3, 15],
  "mistral-large-latest": [2, 6],
  "gemini-1.5-pro": [1.25, 5],
};

/** The call as an audit event, without making it (synthetic mode, and the load generator). */
export function syntheticEvent(call: WorkloadCall, latency: number): AuditEventInput {
  const price = PRICES[call.model];
  const failed = call.failWith !== undefined;
  const inTok = call.inputTokens;
  const outTok = failed ? 0 : call.outputTokens;
  const cost = price ? Math.round(((inTok * price[0] + outTok * price[1]) / 1e6) * 1e9) / 1e9 : null;
  return {
    type: "ai.generate",
    ...call.auditContext,
    provider: call.provider,
    model: call.model,
    status: failed ? "error" : "success",
    latency,
    cost: failed ? 0 : cost,
    ...(cost === null ? { costUnknown: true } : {}),
    tokens: { input: failed ? 0 : inTok, output: outTok, total: failed ? 0 : inTok + outTok },
    ...(failed
      ? { errorCode: String(call.failWith), errorMessage: call.failWith === 429 ? "Rate limit exceeded" : "Internal server error" }
      : {}),
  };
}
