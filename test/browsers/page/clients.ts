// Runs inside the browser (bundled with esbuild): the real client libraries a web app would use,
// each asked once for a whole answer and once for a stream read through a ReadableStream.
import { createOpenAI } from '@ai-sdk/openai';
import Anthropic from '@anthropic-ai/sdk';
import { generateText, streamText } from 'ai';
import { Ollama } from 'ollama/browser';
import OpenAI from 'openai';

export interface Target {
  /** The relay's origin, e.g. http://127.0.0.1:8080 */
  relay: string;
  token: string;
  /** The relay's Ollama path, secret included. */
  ollamaPath: string;
  model: string;
  pacedModel: string;
  /** Claude names the relay maps (RELAY_ANTHROPIC_MODELS) to model and pacedModel. */
  claudeModel: string;
  pacedClaudeModel: string;
}

export type Outcome = { ok: true; text: string } | { ok: false; error: string };

async function readAll(stream: ReadableStream<string>): Promise<string> {
  const reader = stream.getReader();
  let text = '';
  for (let part = await reader.read(); !part.done; part = await reader.read()) text += part.value;
  return text;
}

const openai = (target: Target) => new OpenAI({ baseURL: `${target.relay}/v1`, apiKey: target.token, dangerouslyAllowBrowser: true, maxRetries: 0 });
const vercel = (target: Target) => createOpenAI({ baseURL: `${target.relay}/v1`, apiKey: target.token });
const anthropic = (target: Target) => new Anthropic({ baseURL: target.relay, apiKey: target.token, dangerouslyAllowBrowser: true, maxRetries: 0 });
const ollama = (target: Target) => new Ollama({ host: `${target.relay}${target.ollamaPath}` });
const ask = [{ role: 'user' as const, content: 'hi' }];

export const checks = {
  async 'openai json'(target: Target) {
    const answer = await openai(target).chat.completions.create({ model: target.model, messages: ask });
    return answer.choices[0]?.message.content ?? '';
  },
  async 'openai stream'(target: Target) {
    const stream = await openai(target).chat.completions.create({ model: target.pacedModel, messages: ask, stream: true });
    // The SDK's ReadableStream carries one JSON chunk per line.
    const lines = (await readAll(stream.toReadableStream().pipeThrough(new TextDecoderStream()))).split('\n').filter(Boolean);
    return lines.map((line) => (JSON.parse(line) as OpenAI.ChatCompletionChunk).choices[0]?.delta.content ?? '').join('');
  },
  async 'ai json'(target: Target) {
    return (await generateText({ model: vercel(target).chat(target.model), prompt: 'hi', maxRetries: 0 })).text;
  },
  async 'ai stream'(target: Target) {
    // streamText reports a failed request to onError and ends textStream empty instead of throwing.
    let failure: unknown;
    const result = streamText({ model: vercel(target).chat(target.pacedModel), prompt: 'hi', maxRetries: 0, onError: ({ error }) => (failure ??= error) });
    const text = await readAll(result.textStream);
    if (failure !== undefined) throw failure;
    return text;
  },
  async 'anthropic json'(target: Target) {
    const message = await anthropic(target).messages.create({ model: target.claudeModel, max_tokens: 100, messages: ask });
    return message.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
  },
  async 'anthropic stream'(target: Target) {
    const stream = await anthropic(target).messages.create({ model: target.pacedClaudeModel, max_tokens: 100, messages: ask, stream: true });
    // The SDK's ReadableStream carries one JSON event per line.
    const events = (await readAll(stream.toReadableStream().pipeThrough(new TextDecoderStream()))).split('\n').filter(Boolean);
    return events
      .map((line) => JSON.parse(line) as Anthropic.RawMessageStreamEvent)
      .map((event) => (event.type === 'content_block_delta' && event.delta.type === 'text_delta' ? event.delta.text : ''))
      .join('');
  },
  async 'ollama json'(target: Target) {
    return (await ollama(target).chat({ model: target.model, messages: ask })).message.content;
  },
  async 'ollama stream'(target: Target) {
    let text = '';
    for await (const part of await ollama(target).chat({ model: target.pacedModel, messages: ask, stream: true })) text += part.message.content;
    return text;
  },
  /** The first event of a Realtime session opened the way browsers must: the token as a subprotocol. */
  'realtime websocket'(target: Target) {
    return new Promise<string>((resolve, reject) => {
      const url = `${target.relay.replace(/^http/, 'ws')}/v1/realtime?model=gpt-realtime`;
      const socket = new WebSocket(url, ['realtime', `openai-insecure-api-key.${target.token}`]);
      socket.onmessage = (event) => {
        resolve(`${socket.protocol} ${(JSON.parse(String(event.data)) as { type: string }).type}`);
        socket.close();
      };
      socket.onclose = (event) => reject(new Error(`closed with ${event.code}`));
    });
  },
} satisfies Record<string, (target: Target) => Promise<string>>;

export type CheckName = keyof typeof checks;

async function run(name: CheckName, target: Target): Promise<Outcome> {
  try {
    return { ok: true, text: await checks[name](target) };
  } catch (error) {
    return { ok: false, error: String(error) };
  }
}

(globalThis as { relayCheck?: typeof run }).relayCheck = run;
