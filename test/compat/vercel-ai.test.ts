// Vercel's AI SDK (`ai` with `@ai-sdk/openai`) pointed at the relay: baseURL + the relay token.
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, streamText } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODELS } from '../support/fake-openai.js';
import { startRelayStack, type RelayStack } from '../support/relay-stack.js';

let stack: RelayStack;
let openai: ReturnType<typeof createOpenAI>;

beforeAll(async () => {
  stack = await startRelayStack();
  openai = createOpenAI({ baseURL: `${stack.relay.url}/v1`, apiKey: stack.token });
});

afterAll(() => stack?.stop());

describe('Vercel AI SDK', () => {
  it('generateText', async () => {
    const { text, usage } = await generateText({ model: openai.chat('gpt-fake'), prompt: 'hi', maxRetries: 0 });
    expect(text).toBe('Hello from the fake upstream.');
    expect(usage.inputTokens).toBe(11);
    expect(stack.upstream.seen.at(-1)?.headers.authorization).toBe(`Bearer ${stack.key}`);
  });

  it('streamText, chunk by chunk', async () => {
    const result = streamText({ model: openai.chat(MODELS.paced), prompt: 'count', maxRetries: 0 });
    const parts: string[] = [];
    for await (const part of result.textStream) parts.push(part);
    expect(parts.join('')).toBe('part0 part1 part2 part3 part4 ');
    expect(parts.length).toBeGreaterThanOrEqual(5);
  });

  it('surfaces a bad token as the 401 the relay sent', async () => {
    const wrong = createOpenAI({ baseURL: `${stack.relay.url}/v1`, apiKey: 'not-the-token' });
    await expect(generateText({ model: wrong.chat('gpt-fake'), prompt: 'hi', maxRetries: 0 })).rejects.toMatchObject({ statusCode: 401 });
  });

  it('never logs the key or the token', () => {
    expect(stack.relay.output()).not.toContain(stack.key);
    expect(stack.relay.output()).not.toContain(stack.token);
  });
});
