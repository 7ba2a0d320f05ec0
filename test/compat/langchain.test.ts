// LangChain's ChatOpenAI pointed at the relay: configuration.baseURL + the relay token as apiKey.
import { ChatOpenAI } from '@langchain/openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODELS } from '../support/fake-openai.js';
import { startRelayStack, type RelayStack } from '../support/relay-stack.js';

let stack: RelayStack;
const chat = (model: string) => new ChatOpenAI({ model, apiKey: stack.token, configuration: { baseURL: `${stack.relay.url}/v1` }, maxRetries: 0 });

beforeAll(async () => {
  stack = await startRelayStack();
});

afterAll(() => stack?.stop());

describe('LangChain ChatOpenAI', () => {
  it('invoke', async () => {
    const answer = await chat('gpt-fake').invoke('hi');
    expect(answer.content).toBe('Hello from the fake upstream.');
    expect(stack.upstream.seen.at(-1)?.headers.authorization).toBe(`Bearer ${stack.key}`);
  });

  it('stream, chunk by chunk', async () => {
    const parts: string[] = [];
    for await (const chunk of await chat(MODELS.paced).stream('count')) if (typeof chunk.content === 'string' && chunk.content) parts.push(chunk.content);
    expect(parts).toEqual(['part0 ', 'part1 ', 'part2 ', 'part3 ', 'part4 ']);
  });

  it('tool calls come back parsed', async () => {
    const model = chat(MODELS.toolCall).bindTools([{ type: 'function', function: { name: 'get_weather', description: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }]);
    const answer = await model.invoke('weather in Paris?');
    expect(answer.tool_calls).toMatchObject([{ name: 'get_weather', args: { city: 'Paris' } }]);
  });

  it('never logs the key or the token', () => {
    expect(stack.relay.output()).not.toContain(stack.key);
    expect(stack.relay.output()).not.toContain(stack.token);
  });
});
