// Ollama's API shapes <-> OpenAI chat completions, as pure functions. Only what Ollama clients
// (the ollama npm client, Copilot's Ollama provider, Open WebUI) send and read is mapped.
import { createHash } from 'node:crypto';
import { toolInput, type OpenAIToolCall, type OpenAIUsage } from '../chat-completion.js';

export interface OllamaToolCall {
  function: { name: string; arguments: Record<string, unknown> };
}

export interface OllamaMessage {
  role: string;
  content?: string;
  images?: string[];
  tool_calls?: OllamaToolCall[];
  tool_name?: string;
}

export interface OllamaOptions {
  temperature?: number;
  top_p?: number;
  seed?: number;
  num_predict?: number;
  stop?: string | string[];
  presence_penalty?: number;
  frequency_penalty?: number;
}

export interface OllamaChatRequest {
  model?: string;
  messages?: OllamaMessage[];
  stream?: boolean;
  format?: 'json' | Record<string, unknown> | '';
  options?: OllamaOptions;
  tools?: unknown[];
}

export interface OllamaGenerateRequest {
  model?: string;
  prompt?: string;
  system?: string;
  images?: string[];
  stream?: boolean;
  format?: OllamaChatRequest['format'];
  options?: OllamaOptions;
}

/** /api/embed (`input`) and the older /api/embeddings (`prompt`). */
export interface OllamaEmbedRequest {
  model?: string;
  input?: unknown;
  prompt?: unknown;
  dimensions?: number;
}

export interface OpenAIEmbeddings {
  data?: Array<{ index: number; embedding: number[] }>;
  usage?: { prompt_tokens?: number };
}

type OpenAIContent = string | Array<{ type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } }>;

interface OpenAIMessage {
  role: string;
  content: OpenAIContent | null;
  tool_calls?: OpenAIToolCall[];
  tool_call_id?: string;
}

/** Ollama sends images as bare base64; OpenAI wants a data URL with the right type. */
export function imageDataUrl(base64: string): string {
  const type = base64.startsWith('/9j/') ? 'image/jpeg' : base64.startsWith('R0lGOD') ? 'image/gif' : base64.startsWith('UklGR') ? 'image/webp' : 'image/png';
  return `data:${type};base64,${base64}`;
}

/** Ollama's implicit tag: "gpt-4o:latest" is "gpt-4o". */
export function modelName(name: string): string {
  return name.endsWith(':latest') ? name.slice(0, -':latest'.length) : name;
}

function toOpenAIMessages(messages: OllamaMessage[]): OpenAIMessage[] {
  // Ollama tool results carry no call id; OpenAI needs one, so calls are numbered and answered in order.
  const unanswered: Array<{ id: string; name: string }> = [];
  let calls = 0;
  return messages.map((message) => {
    const text = message.content ?? '';
    const content: OpenAIContent = message.images?.length
      ? [...(text ? [{ type: 'text' as const, text }] : []), ...message.images.map((image) => ({ type: 'image_url' as const, image_url: { url: imageDataUrl(image) } }))]
      : text;
    if (message.role === 'assistant' && message.tool_calls?.length) {
      const toolCalls = message.tool_calls.map((call) => {
        const id = `call_${calls++}`;
        unanswered.push({ id, name: call.function.name });
        return { id, type: 'function' as const, function: { name: call.function.name, arguments: JSON.stringify(call.function.arguments ?? {}) } };
      });
      return { role: 'assistant', content: text || null, tool_calls: toolCalls };
    }
    if (message.role === 'tool') {
      const at = Math.max(0, unanswered.findIndex((call) => message.tool_name === undefined || call.name === message.tool_name));
      const answered = unanswered.splice(at, 1)[0];
      return { role: 'tool', content: text, tool_call_id: answered?.id ?? `call_${calls++}` };
    }
    return { role: message.role, content };
  });
}

function sampling(options: OllamaOptions | undefined, format: OllamaChatRequest['format']): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  // The options OpenAI takes under the same name.
  for (const name of ['temperature', 'top_p', 'seed', 'presence_penalty', 'frequency_penalty', 'stop'] as const) {
    if (options?.[name] !== undefined) out[name] = options[name];
  }
  if (options?.num_predict !== undefined && options.num_predict > 0) out.max_completion_tokens = options.num_predict;
  if (format === 'json') out.response_format = { type: 'json_object' };
  else if (format && typeof format === 'object') out.response_format = { type: 'json_schema', json_schema: { name: 'response', schema: format } };
  return out;
}

function streaming(stream: boolean): Record<string, unknown> {
  return stream ? { stream: true, stream_options: { include_usage: true } } : { stream: false };
}

export function chatRequest(body: OllamaChatRequest, model: string, stream: boolean): Record<string, unknown> {
  return {
    model,
    messages: toOpenAIMessages(body.messages ?? []),
    ...(body.tools?.length ? { tools: body.tools } : {}),
    ...sampling(body.options, body.format),
    ...streaming(stream),
  };
}

export function generateRequest(body: OllamaGenerateRequest, model: string, stream: boolean): Record<string, unknown> {
  const messages: OllamaMessage[] = [];
  if (body.system) messages.push({ role: 'system', content: body.system });
  messages.push({ role: 'user', content: body.prompt ?? '', images: body.images });
  return { model, messages: toOpenAIMessages(messages), ...sampling(body.options, body.format), ...streaming(stream) };
}

export function embeddingsRequest(inputs: string[], model: string, dimensions: number | undefined): Record<string, unknown> {
  return { model, input: inputs, encoding_format: 'float', ...(typeof dimensions === 'number' ? { dimensions } : {}) };
}

/** The vectors in input order (OpenAI numbers them with `index`). */
export function embeddingsFromOpenAI(result: OpenAIEmbeddings): number[][] {
  return [...(result.data ?? [])].sort((a, b) => a.index - b.index).map((item) => item.embedding);
}

export function toolCallsFromOpenAI(calls: Array<{ function?: { name?: string; arguments?: string } }> | undefined): OllamaToolCall[] | undefined {
  if (!calls?.length) return undefined;
  return calls.map((call) => ({ function: { name: call.function?.name ?? '', arguments: toolInput(call.function?.arguments) as Record<string, unknown> } }));
}

/** OpenAI's finish_reason in Ollama's words (tool calls end with "stop" there). */
export function doneReason(finishReason: string | null | undefined): string {
  return finishReason === 'length' ? 'length' : 'stop';
}

/** The counters Ollama puts on its last message; durations are nanoseconds. */
export function doneStats(usage: OpenAIUsage | null | undefined, elapsedMs: number): Record<string, number> {
  const ns = Math.round(elapsedMs * 1e6);
  return {
    total_duration: ns,
    load_duration: 0,
    prompt_eval_count: usage?.prompt_tokens ?? 0,
    prompt_eval_duration: 0,
    eval_count: usage?.completion_tokens ?? 0,
    eval_duration: ns,
  };
}

interface OpenAIModel {
  id: string;
  created?: number;
  owned_by?: string;
}

function details() {
  return { parent_model: '', format: 'openai', family: 'openai', families: ['openai'], parameter_size: '', quantization_level: '' };
}

export function tagFromModel(model: OpenAIModel) {
  return {
    name: model.id,
    model: model.id,
    modified_at: new Date((model.created ?? 0) * 1000).toISOString(),
    size: 0,
    digest: createHash('sha256').update(model.id).digest('hex'),
    details: details(),
  };
}

/** Context length is not in OpenAI's model list; 128k is right for the current chat models. */
const CONTEXT_LENGTH = 128_000;

export function showFromModel(name: string, model: OpenAIModel) {
  const embedding = /embedding/i.test(model.id);
  return {
    license: '',
    modelfile: `# Served by relay from the OpenAI API\nFROM ${name}\n`,
    parameters: '',
    template: '{{ .Prompt }}',
    details: details(),
    model_info: { 'general.architecture': 'openai', 'general.basename': name, 'openai.context_length': CONTEXT_LENGTH },
    capabilities: embedding ? ['embedding'] : ['completion', 'tools', 'vision'],
    modified_at: new Date((model.created ?? 0) * 1000).toISOString(),
  };
}
