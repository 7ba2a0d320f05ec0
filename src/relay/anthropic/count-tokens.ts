// POST /v1/messages/count_tokens, answered on the relay: the request is translated as for
// /v1/messages and counted with the o200k_base tokenizer (every current OpenAI chat model's) and
// OpenAI's chat and function-definition overheads, as gpt-tokenizer implements them.
import type { ChatCompletionFunctionDefinition, ChatMessage } from 'gpt-tokenizer/GptEncoding';
import type { ChatCompletionBody } from './request.js';

/**
 * What an image counts for: its size is not decoded here, so each counts as OpenAI charges a
 * 1024x1024 image in high detail (85 base + 4 tiles of 170).
 */
export const IMAGE_TOKENS = 765;

type Counter = (request: {
  messages: ChatMessage[];
  functions?: ChatCompletionFunctionDefinition[];
  function_call?: 'none' | 'auto' | { name: string };
}) => number;

let counter: Promise<Counter> | undefined;

/** The tokenizer's tables are large (3 MB of code, ~60 MB in memory once built): loaded on first use, in the image from its own file (scripts/build.js). */
function loadCounter(): Promise<Counter> {
  counter ??= import('gpt-tokenizer/model/gpt-4o').then((tokenizer) => tokenizer.countChatCompletionTokens as Counter);
  return counter;
}

/** The chat completion as the tokenizer's chat shape, and how many images it carries. */
function countable(body: ChatCompletionBody): { request: Parameters<Counter>[0]; images: number } {
  let images = 0;
  const messages: ChatMessage[] = [];
  for (const message of body.messages) {
    if (message.role === 'assistant') {
      const calls = message.tool_calls ?? [];
      messages.push({ role: 'assistant', content: message.content ?? '', ...(calls[0] ? { function_call: calls[0].function } : {}) });
      for (const call of calls.slice(1)) messages.push({ role: 'assistant', content: '', function_call: call.function });
    } else if (typeof message.content === 'string') {
      messages.push({ role: message.role, content: message.content });
    } else {
      images += message.content.filter((part) => part.type === 'image_url').length;
      messages.push({ role: message.role, content: message.content.map((part) => (part.type === 'text' ? part.text : '')).join('') });
    }
  }
  const functions = body.tools?.map((tool) => tool.function as unknown as ChatCompletionFunctionDefinition);
  const choice = body.tool_choice;
  const functionCall = choice === 'none' ? 'none' : typeof choice === 'object' ? { name: choice.function.name } : undefined;
  return { request: { messages, ...(functions ? { functions } : {}), ...(functionCall ? { function_call: functionCall } : {}) }, images };
}

export async function countInputTokens(body: ChatCompletionBody): Promise<number> {
  const count = await loadCounter();
  const { request, images } = countable(body);
  return count(request) + images * IMAGE_TOKENS;
}
