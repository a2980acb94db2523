export { startProviderServer, LOCAL_MODELS, type ProviderServer, type ProviderServerOptions } from "./server.js";
export { answerFor, countTokens, countPromptTokens, type Answer, type ChatMessageIn } from "./answers.js";
export { parseFailure, HTTP_FAILURES, type FailureKind, type HttpFailure } from "./failures.js";
