/**
 * Deterministic answers and token counts for the local test provider.
 *
 * The same messages and model always give the same answer and the same usage. Token counts
 * come from a small, documented rule (not a real tokenizer): each run of letters or digits
 * counts one token per started 4 characters, each other non-space character counts one.
 * A chat prompt adds 4 tokens per message and 3 for the reply primer, as OpenAI's chat
 * format does.
 *
 * A few fixtures reproduce the product documentation's figures exactly: the quick-start
 * prompt "Analyze customer feedback" reports 150 input and 320 output tokens.
 */
import { createHash } from "node:crypto";

export interface ChatMessageIn {
  role: string;
  content: string;
}

export interface Answer {
  text: string;
  promptTokens: number;
  completionTokens: number;
  finishReason: "stop" | "length";
}

const WORD = /[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu;

/** Tokens in a piece of text under the server's counting rule. */
export function countTokens(text: string): number {
  let n = 0;
  for (const m of text.matchAll(WORD)) {
    const piece = m[0];
    n += /^[\p{L}\p{N}]/u.test(piece) ? Math.ceil(piece.length / 4) : 1;
  }
  return n;
}

/** Input tokens of a chat prompt: content tokens + 4 per message + 3. */
export function countPromptTokens(messages: readonly ChatMessageIn[]): number {
  let n = 3;
  for (const m of messages) n += 4 + countTokens(m.content);
  return n;
}

interface Fixture {
  text: string;
  promptTokens: number;
  completionTokens: number;
}

/** Prompts (last user message, trimmed) whose answers match the documentation's figures. */
const FIXTURES: ReadonlyMap<string, Fixture> = new Map([
  [
    "Analyze customer feedback",
    {
      text:
        "Customer feedback analysis: overall sentiment is positive (68%), with praise for delivery speed " +
        "and support responsiveness. Recurring complaints concern pricing transparency and the mobile " +
        "checkout flow. Recommended actions: publish a clear pricing page, fix the checkout timeout, " +
        "and follow up with customers who reported billing issues.",
      promptTokens: 150,
      completionTokens: 320,
    },
  ],
]);

const OPENERS = [
  "Here is a summary",
  "In short",
  "The main points are these",
  "Based on the input",
  "After reviewing the request",
  "To answer briefly",
];
const CLAIMS = [
  "the request concerns",
  "the key topic is",
  "the text focuses on",
  "the central question is about",
  "the input mainly discusses",
];
const FOLLOW = [
  "Further detail can be provided on request.",
  "No sensitive data was needed for this answer.",
  "The result is deterministic for the same input.",
  "Consider reviewing the source material for context.",
  "This answer was produced by the local test provider.",
  "The findings are consistent across repeated calls.",
];

function pick<T>(list: readonly T[], byte: number): T {
  return list[byte % list.length] as T;
}

function topicOf(text: string): string {
  const words = text.replace(/\s+/g, " ").trim().split(" ").filter(Boolean).slice(0, 8).join(" ");
  return words.length > 0 ? words.replace(/[.?!]+$/, "") : "an empty prompt";
}

/** Truncates text to at most `max` tokens under the counting rule. */
function truncateToTokens(text: string, max: number): string {
  let n = 0;
  let end = 0;
  for (const m of text.matchAll(WORD)) {
    const piece = m[0];
    const cost = /^[\p{L}\p{N}]/u.test(piece) ? Math.ceil(piece.length / 4) : 1;
    if (n + cost > max) break;
    n += cost;
    end = (m.index ?? 0) + piece.length;
  }
  return text.slice(0, end);
}

/** The deterministic answer to a chat request. */
export function answerFor(model: string, messages: readonly ChatMessageIn[], maxTokens?: number): Answer {
  const lastUser = [...messages].reverse().find((m) => m.role === "user")?.content.trim() ?? "";
  const fixture = FIXTURES.get(lastUser);
  if (fixture && (maxTokens === undefined || maxTokens >= fixture.completionTokens)) {
    return { text: fixture.text, promptTokens: fixture.promptTokens, completionTokens: fixture.completionTokens, finishReason: "stop" };
  }
  const digest = createHash("sha256").update(model).update("\u0000").update(JSON.stringify(messages)).digest();
  const sentences = [`${pick(OPENERS, digest[0] ?? 0)}: ${pick(CLAIMS, digest[1] ?? 0)} "${topicOf(lastUser)}".`];
  const extra = 1 + ((digest[2] ?? 0) % 3);
  const first = digest[3] ?? 0;
  for (let i = 0; i < extra; i++) sentences.push(pick(FOLLOW, first + i));
  let text = sentences.join(" ");
  let finishReason: Answer["finishReason"] = "stop";
  if (maxTokens !== undefined && countTokens(text) > maxTokens) {
    text = truncateToTokens(text, maxTokens);
    finishReason = "length";
  }
  return { text, promptTokens: countPromptTokens(messages), completionTokens: countTokens(text), finishReason };
}

/** Splits an answer into stream chunks of a few words each, preserving the text exactly. */
export function chunksOf(text: string, wordsPerChunk = 3): string[] {
  const parts = text.match(/\S+\s*/g) ?? [];
  const chunks: string[] = [];
  for (let i = 0; i < parts.length; i += wordsPerChunk) chunks.push(parts.slice(i, i + wordsPerChunk).join(""));
  const leading = /^\s*/.exec(text)?.[0] ?? "";
  if (leading && chunks.length > 0) chunks[0] = leading + chunks[0];
  return chunks.length > 0 ? chunks : [text];
}
