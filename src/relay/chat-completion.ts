// OpenAI's chat completion as the API translations (anthropic/, ollama/) read it, whole or in
// stream chunks. Every field is optional: what an upstream leaves out is read as absent.

export interface OpenAIToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface OpenAIUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number } | null;
}

interface Choice {
  finish_reason?: string | null;
  /** vLLM and some other OpenAI-compatible servers name the stop sequence that matched; OpenAI does not. */
  stop_reason?: string | number | null;
}

export interface ChatCompletion {
  choices?: Array<Choice & { message?: { content?: string | null; refusal?: string | null; tool_calls?: OpenAIToolCall[] } }>;
  usage?: OpenAIUsage | null;
}

/** A tool call arrives in pieces: its id and name first, then fragments of its arguments. */
interface ChunkToolCall {
  index?: number;
  id?: string;
  function?: { name?: string; arguments?: string };
}

export interface ChatChunk {
  choices?: Array<Choice & { delta?: { content?: string | null; refusal?: string | null; tool_calls?: ChunkToolCall[] } }>;
  usage?: OpenAIUsage | null;
}

/** A tool call's arguments as the object both APIs send; `{}` when they are not JSON. */
export function toolInput(args: string | undefined): unknown {
  if (!args) return {};
  try {
    return JSON.parse(args);
  } catch {
    return {};
  }
}
