// An Anthropic Messages request -> an OpenAI chat completion request, as a pure function. What has
// no counterpart upstream is refused with a message that says so (documents) or left out where
// clients send it routinely and expect no effect from it (cache_control, server tools, thinking
// blocks of earlier turns).
import { createHash } from 'node:crypto';
import type { OpenAIToolCall } from '../chat-completion.js';
import { AnthropicFailure } from './errors.js';

export interface AnthropicTextBlock {
  type: 'text';
  text: string;
}

export interface AnthropicImageBlock {
  type: 'image';
  source: { type: 'base64'; media_type: string; data: string } | { type: 'url'; url: string };
}

export interface AnthropicToolUseBlock {
  type: 'tool_use';
  id: string;
  name: string;
  input: unknown;
}

export interface AnthropicToolResultBlock {
  type: 'tool_result';
  tool_use_id: string;
  content?: string | Array<AnthropicTextBlock | AnthropicImageBlock>;
  is_error?: boolean;
}

export type AnthropicBlock =
  | AnthropicTextBlock
  | AnthropicImageBlock
  | AnthropicToolUseBlock
  | AnthropicToolResultBlock
  | { type: string; [key: string]: unknown };

export interface AnthropicMessage {
  /** "system": a system message between turns, as Claude Code sends them. */
  role: 'user' | 'assistant' | 'system';
  content: string | AnthropicBlock[];
}

export interface AnthropicTool {
  type?: string;
  name: string;
  description?: string;
  input_schema?: Record<string, unknown>;
}

export interface AnthropicRequest {
  model?: string;
  system?: string | AnthropicTextBlock[];
  messages?: AnthropicMessage[];
  tools?: AnthropicTool[];
  tool_choice?: { type: 'auto' | 'any' | 'tool' | 'none'; name?: string; disable_parallel_tool_use?: boolean };
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  stop_sequences?: string[];
  stream?: boolean;
  metadata?: { user_id?: string };
  thinking?: { type: 'enabled' | 'disabled' | 'adaptive' | 'between_tools'; budget_tokens?: number };
  output_config?: { effort?: 'low' | 'medium' | 'high' | 'xhigh' | 'max' | null; format?: { type: 'json_schema'; schema: Record<string, unknown> } | null };
}

type OpenAIPart = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } };

export type OpenAIMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string | OpenAIPart[] }
  | { role: 'assistant'; content: string | null; tool_calls?: OpenAIToolCall[] }
  | { role: 'tool'; tool_call_id: string; content: string };

export interface OpenAIFunctionTool {
  type: 'function';
  function: { name: string; description?: string; parameters: Record<string, unknown> };
}

export interface ChatCompletionBody {
  model: string;
  messages: OpenAIMessage[];
  max_completion_tokens?: number;
  temperature?: number;
  top_p?: number;
  stop?: string[];
  user?: string;
  tools?: OpenAIFunctionTool[];
  tool_choice?: 'auto' | 'required' | 'none' | { type: 'function'; function: { name: string } };
  parallel_tool_calls?: boolean;
  reasoning_effort?: 'low' | 'medium' | 'high';
  response_format?: { type: 'json_schema'; json_schema: { name: string; schema: Record<string, unknown>; strict: boolean } };
  stream?: boolean;
  stream_options?: { include_usage: boolean };
}

const invalid = (message: string) => new AnthropicFailure(400, message);

/** Models that take a reasoning effort and refuse sampling settings (o-series, gpt-5 family). */
export function isReasoningModel(model: string): boolean {
  return /^(o\d|gpt-5)/.test(model) && !model.includes('-chat');
}

/**
 * Anthropic's effort (output_config.effort), else its thinking budget, as an OpenAI reasoning effort;
 * undefined leaves the upstream's default.
 */
export function reasoningEffort(request: Pick<AnthropicRequest, 'thinking' | 'output_config'>): 'low' | 'medium' | 'high' | undefined {
  const effort = request.output_config?.effort;
  if (effort) return effort === 'low' || effort === 'medium' ? effort : 'high';
  const thinking = request.thinking;
  if (!thinking || thinking.type === 'disabled') return undefined;
  const budget = thinking.budget_tokens;
  if (budget === undefined) return 'medium';
  if (budget >= 16_000) return 'high';
  return budget >= 4_000 ? 'medium' : 'low';
}

function imageUrl(block: AnthropicImageBlock): string {
  const source = block.source;
  if (source?.type === 'base64') return `data:${source.media_type};base64,${source.data}`;
  if (source?.type === 'url') return source.url;
  throw invalid('image: only base64 and url sources are translated on this relay.');
}

function refuseUnsupported(block: { type: string }): never {
  if (block.type === 'document') throw invalid('document blocks (PDFs, text documents) are not translated by this relay: send the text as a text block.');
  throw invalid(`content blocks of type "${String(block.type).slice(0, 50)}" are not translated by this relay.`);
}

function text(blocks: AnthropicBlock[]): string {
  return blocks.map((block) => (block.type === 'text' ? (block as AnthropicTextBlock).text : '')).join('');
}

/** A tool result: its text becomes the tool message; its images follow in a user message. */
function toolResult(block: AnthropicToolResultBlock): { message: OpenAIMessage; images: OpenAIPart[] } {
  const content = block.content ?? '';
  if (typeof content === 'string') return { message: { role: 'tool', tool_call_id: block.tool_use_id, content }, images: [] };
  const images: OpenAIPart[] = [];
  for (const part of content) {
    if (part.type === 'image') images.push({ type: 'image_url', image_url: { url: imageUrl(part) } });
    else if (part.type !== 'text') refuseUnsupported(part);
  }
  return { message: { role: 'tool', tool_call_id: block.tool_use_id, content: text(content) }, images };
}

function userMessages(content: string | AnthropicBlock[]): OpenAIMessage[] {
  if (typeof content === 'string') return [{ role: 'user', content }];
  // OpenAI wants tool results right after the assistant's calls, before anything else the user says.
  const tools: OpenAIMessage[] = [];
  const parts: OpenAIPart[] = [];
  for (const block of content) {
    if (block.type === 'text') parts.push({ type: 'text', text: (block as AnthropicTextBlock).text });
    else if (block.type === 'image') parts.push({ type: 'image_url', image_url: { url: imageUrl(block as AnthropicImageBlock) } });
    else if (block.type === 'tool_result') {
      const { message, images } = toolResult(block as AnthropicToolResultBlock);
      tools.push(message);
      parts.push(...images);
    } else refuseUnsupported(block);
  }
  if (parts.length === 0) return tools;
  const onlyText = parts.every((part) => part.type === 'text');
  return [...tools, { role: 'user', content: onlyText ? parts.map((part) => (part as { text: string }).text).join('\n\n') : parts }];
}

function assistantMessage(content: string | AnthropicBlock[]): OpenAIMessage {
  if (typeof content === 'string') return { role: 'assistant', content };
  const calls: OpenAIToolCall[] = [];
  const texts: string[] = [];
  for (const block of content) {
    if (block.type === 'text') texts.push((block as AnthropicTextBlock).text);
    else if (block.type === 'tool_use') {
      const use = block as AnthropicToolUseBlock;
      calls.push({ id: use.id, type: 'function', function: { name: use.name, arguments: JSON.stringify(use.input ?? {}) } });
    } else if (block.type !== 'thinking' && block.type !== 'redacted_thinking') refuseUnsupported(block);
    // Thinking blocks of earlier turns have no OpenAI counterpart: left out.
  }
  return { role: 'assistant', content: texts.length > 0 ? texts.join('') : null, ...(calls.length > 0 ? { tool_calls: calls } : {}) };
}

function systemText(system: AnthropicRequest['system']): string | undefined {
  if (system === undefined) return undefined;
  const joined = typeof system === 'string' ? system : system.map((block) => block.text).join('\n\n');
  return joined === '' ? undefined : joined;
}

/**
 * OpenAI's end-user id is short; Claude Code sends a JSON object of ids as its user_id. A long one
 * goes as its SHA-256: the same user still maps to the same id.
 */
export function endUser(userId: string): string {
  return userId.length <= 64 ? userId : createHash('sha256').update(userId).digest('hex');
}

/** Client tools only: server tools (web search, code execution...) run at Anthropic and are left out. */
function functionTools(tools: AnthropicTool[] | undefined): OpenAIFunctionTool[] {
  return (tools ?? [])
    .filter((tool) => tool.type === undefined || tool.type === 'custom')
    .map((tool) => ({
      type: 'function',
      function: {
        name: tool.name,
        ...(tool.description ? { description: tool.description } : {}),
        parameters: tool.input_schema ?? { type: 'object', properties: {} },
      },
    }));
}

function toolChoice(choice: AnthropicRequest['tool_choice']): ChatCompletionBody['tool_choice'] {
  if (choice === undefined) return undefined;
  if (choice.type === 'any') return 'required';
  if (choice.type === 'none') return 'none';
  if (choice.type === 'tool') {
    if (!choice.name) throw invalid('tool_choice.name: required when tool_choice.type is "tool".');
    return { type: 'function', function: { name: choice.name } };
  }
  return 'auto';
}

/** The chat messages of a request: system first, then each turn. */
function chatMessages(request: AnthropicRequest): OpenAIMessage[] {
  if (!Array.isArray(request.messages) || request.messages.length === 0) throw invalid('messages: at least one message is required.');
  const messages: OpenAIMessage[] = [];
  const system = systemText(request.system);
  if (system !== undefined) messages.push({ role: 'system', content: system });
  for (const message of request.messages) {
    if (message.role === 'user') messages.push(...userMessages(message.content));
    else if (message.role === 'assistant') messages.push(assistantMessage(message.content));
    else if (message.role === 'system')
      messages.push({ role: 'system', content: typeof message.content === 'string' ? message.content : text(message.content) });
    else throw invalid(`messages: role must be "user", "assistant" or "system", not "${String(message.role).slice(0, 20)}".`);
  }
  return messages;
}

/** `upstreamModel`: the OpenAI model chosen for the request (see models.ts). */
export function chatCompletionRequest(request: AnthropicRequest, upstreamModel: string): ChatCompletionBody {
  if (typeof request.max_tokens !== 'number' || request.max_tokens < 1) throw invalid('max_tokens: a positive number is required.');
  const reasoning = isReasoningModel(upstreamModel);
  const tools = functionTools(request.tools);
  const body: ChatCompletionBody = { model: upstreamModel, messages: chatMessages(request), max_completion_tokens: request.max_tokens };
  // Reasoning models accept only their default sampling: the settings are dropped, not refused.
  if (!reasoning && request.temperature !== undefined) body.temperature = request.temperature;
  if (!reasoning && request.top_p !== undefined) body.top_p = request.top_p;
  if (request.stop_sequences?.length) body.stop = request.stop_sequences;
  if (request.metadata?.user_id) body.user = endUser(request.metadata.user_id);
  if (tools.length > 0) {
    body.tools = tools;
    const choice = toolChoice(request.tool_choice);
    if (choice !== undefined) body.tool_choice = choice;
    if (request.tool_choice?.disable_parallel_tool_use) body.parallel_tool_calls = false;
  }
  const effort = reasoning ? reasoningEffort(request) : undefined;
  if (effort !== undefined) body.reasoning_effort = effort;
  const format = request.output_config?.format;
  if (format?.type === 'json_schema') body.response_format = { type: 'json_schema', json_schema: { name: 'output', schema: format.schema, strict: true } };
  if (request.stream) {
    body.stream = true;
    // The usage Anthropic clients read at the end of a stream, and that the relay accounts.
    body.stream_options = { include_usage: true };
  }
  return body;
}
