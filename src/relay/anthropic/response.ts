// An OpenAI chat completion -> an Anthropic message, as pure functions: content blocks, stop reason
// and usage. The stream translator (stream.ts) uses the same stop reason and usage tables.
import { toolInput, type ChatCompletion, type OpenAIUsage } from '../chat-completion.js';

export type StopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'refusal';

export interface AnthropicUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

export type AnthropicContent = { type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: unknown };

export interface AnthropicMessageAnswer {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: AnthropicContent[];
  stop_reason: StopReason;
  stop_sequence: string | null;
  usage: AnthropicUsage;
}

/**
 * OpenAI's finish_reason as Anthropic's stop_reason. OpenAI reports a matched stop sequence as a
 * plain "stop", so stop_sequence is only known when the upstream names the sequence (`matched`).
 */
export function stopReason(finish: string | null | undefined, matched?: string | null): { stop_reason: StopReason; stop_sequence: string | null } {
  if (finish === 'length') return { stop_reason: 'max_tokens', stop_sequence: null };
  if (finish === 'tool_calls' || finish === 'function_call') return { stop_reason: 'tool_use', stop_sequence: null };
  if (finish === 'content_filter') return { stop_reason: 'refusal', stop_sequence: null };
  if (typeof matched === 'string' && matched !== '') return { stop_reason: 'stop_sequence', stop_sequence: matched };
  return { stop_reason: 'end_turn', stop_sequence: null };
}

/** Anthropic counts cache reads apart from input tokens; OpenAI counts them inside prompt_tokens. */
export function anthropicUsage(usage: OpenAIUsage | null | undefined): AnthropicUsage {
  const cached = usage?.prompt_tokens_details?.cached_tokens ?? 0;
  return {
    input_tokens: Math.max(0, (usage?.prompt_tokens ?? 0) - cached),
    output_tokens: usage?.completion_tokens ?? 0,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cached,
  };
}

/** `model`: the name the client asked for, which Anthropic answers echo. */
export function anthropicMessage(completion: ChatCompletion, id: string, model: string, stopSequences: string[] = []): AnthropicMessageAnswer {
  const choice = completion.choices?.[0];
  const content: AnthropicContent[] = [];
  const text = choice?.message?.content || choice?.message?.refusal;
  if (text) content.push({ type: 'text', text });
  for (const call of choice?.message?.tool_calls ?? []) {
    content.push({ type: 'tool_use', id: call.id, name: call.function.name, input: toolInput(call.function.arguments) });
  }
  const matched = typeof choice?.stop_reason === 'string' && stopSequences.includes(choice.stop_reason) ? choice.stop_reason : null;
  return { id, type: 'message', role: 'assistant', model, content, ...stopReason(choice?.finish_reason, matched), usage: anthropicUsage(completion.usage) };
}
