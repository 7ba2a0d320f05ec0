// A fake OpenAI upstream and a real `relay serve` in front of it, with sentinel key and token that
// tests assert never appear in anything the relay prints.
import { randomBytes } from 'node:crypto';
import { startFakeOpenAI, type FakeOpenAI, type FakeOpenAIOptions } from './fake-openai.js';
import { startRelayProcess, type RelayProcess } from './relay-process.js';

export interface RelayStack {
  upstream: FakeOpenAI;
  relay: RelayProcess;
  key: string;
  token: string;
  stop(): Promise<void>;
}

export async function startRelayStack(env: Record<string, string> = {}, upstreamOptions: FakeOpenAIOptions = {}): Promise<RelayStack> {
  const key = `sk-SENTINEL-KEY-${randomBytes(8).toString('hex')}`;
  const token = `SENTINEL-TOKEN-${randomBytes(8).toString('hex')}`;
  const upstream = await startFakeOpenAI('127.0.0.1', upstreamOptions);
  const relay = await startRelayProcess({ env: { OPENAI_API_KEY: key, RELAY_TOKEN: token, OPENAI_BASE_URL: `${upstream.url}/v1`, ...env } });
  return {
    upstream,
    relay,
    key,
    token,
    async stop() {
      await relay.stop();
      await upstream.close();
    },
  };
}
