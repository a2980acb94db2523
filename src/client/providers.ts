/**
 * Provider registry on the Vercel AI SDK: one real HTTP client per configured provider.
 * openai and azure use the Chat Completions API unless `config.api` is "responses".
 */
import { createAnthropic } from "@ai-sdk/anthropic";
import { createAzure } from "@ai-sdk/azure";
import { createGoogleGenerativeAI } from "@ai-sdk/google";
import { createMistral } from "@ai-sdk/mistral";
import { createOpenAI } from "@ai-sdk/openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import type { LanguageModelV3 } from "@ai-sdk/provider";
import { AitrailError } from "../errors.js";
import type { ProviderKind, ResolvedProvider } from "./config.js";

/** Used when a call names no model and the provider config has no defaultModel. */
export const DEFAULT_MODELS: Readonly<Partial<Record<ProviderKind, string>>> = {
  openai: "gpt-4o",
  anthropic: "claude-sonnet-4-5",
  mistral: "mistral-large-latest",
  google: "gemini-2.5-flash",
};

/** Price dataset provider id for each kind (openai-compatible has none unless priceAs says). */
const DATASET_ID: Readonly<Partial<Record<ProviderKind, string>>> = {
  openai: "openai",
  anthropic: "anthropic",
  mistral: "mistral",
  google: "google",
  azure: "azure",
};

type ModelFactory = (modelId: string) => LanguageModelV3;

function factoryFor(p: ResolvedProvider): ModelFactory {
  const common = {
    ...(p.apiKey !== undefined ? { apiKey: p.apiKey } : {}),
    ...(p.baseURL !== undefined ? { baseURL: p.baseURL } : {}),
    ...(p.headers !== undefined ? { headers: p.headers } : {}),
  };
  switch (p.kind) {
    case "openai": {
      const client = createOpenAI({
        ...common,
        ...(p.organization !== undefined ? { organization: p.organization } : {}),
        ...(p.project !== undefined ? { project: p.project } : {}),
      });
      return p.api === "responses" ? (id) => client.responses(id) : (id) => client.chat(id);
    }
    case "azure": {
      const client = createAzure({
        ...common,
        ...(p.resourceName !== undefined ? { resourceName: p.resourceName } : {}),
        ...(p.apiVersion !== undefined ? { apiVersion: p.apiVersion } : {}),
      });
      return p.api === "responses" ? (id) => client.responses(id) : (id) => client.chat(id);
    }
    case "anthropic": {
      const client = createAnthropic(common);
      return (id) => client(id);
    }
    case "mistral": {
      const client = createMistral(common);
      return (id) => client(id);
    }
    case "google": {
      const client = createGoogleGenerativeAI(common);
      return (id) => client(id);
    }
    case "openai-compatible": {
      const client = createOpenAICompatible({
        name: p.name,
        baseURL: p.baseURL ?? "",
        includeUsage: true,
        ...(p.apiKey !== undefined ? { apiKey: p.apiKey } : {}),
        ...(p.headers !== undefined ? { headers: p.headers } : {}),
      });
      return (id) => client.chatModel(id);
    }
  }
}

export interface ResolvedModel {
  provider: ResolvedProvider;
  modelId: string;
  model: LanguageModelV3;
  /** Price dataset provider id, if the model can be priced from the dataset. */
  priceAs: string | undefined;
}

export class ProviderRegistry {
  readonly #providers = new Map<string, { config: ResolvedProvider; factory: ModelFactory; models: Map<string, LanguageModelV3> }>();
  readonly #first: string;

  constructor(providers: readonly ResolvedProvider[]) {
    for (const p of providers) this.#providers.set(p.name, { config: p, factory: factoryFor(p), models: new Map() });
    this.#first = providers[0]!.name;
  }

  get names(): string[] {
    return [...this.#providers.keys()];
  }

  /** API keys, so that error messages can be stripped of them. */
  secrets(): string[] {
    return [...this.#providers.values()].flatMap((p) => (p.config.apiKey ? [p.config.apiKey] : []));
  }

  resolve(providerName: string | undefined, modelId: string | undefined): ResolvedModel {
    const name = providerName ?? this.#first;
    const entry = this.#providers.get(name);
    if (!entry) {
      throw new AitrailError("UNKNOWN_PROVIDER", `provider "${name}" is not configured; configured: ${this.names.join(", ")}`, {
        details: { provider: name, configured: this.names },
      });
    }
    const id = modelId ?? entry.config.defaultModel ?? DEFAULT_MODELS[entry.config.kind];
    if (!id) {
      throw new AitrailError("INVALID_ARGUMENT", `model: required for provider "${name}" (set it on the call or as providers[].config.defaultModel)`, {
        details: { provider: name },
      });
    }
    let model = entry.models.get(id);
    if (!model) {
      model = entry.factory(id);
      entry.models.set(id, model);
    }
    return { provider: entry.config, modelId: id, model, priceAs: entry.config.priceAs ?? DATASET_ID[entry.config.kind] };
  }
}
