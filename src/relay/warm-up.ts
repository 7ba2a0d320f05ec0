// `node relay-server.mjs --warm-up`: the image build's step. It runs a relay on loopback in front
// of a stand-in upstream in this process and sends it one chat completion and one streamed one,
// so the code cache written at exit (start-with-code-cache.ts) holds the request path as well as
// the start-up: a started container answers its first request ~10-20 ms sooner (issue 7).
//
// Nothing leaves the process: no key, no OpenAI, no usage store, no log lines.
import { randomBytes } from 'node:crypto';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadRelayConfig } from './config.js';
import { jsonLogger } from './log.js';
import { startRelayServer } from './server.js';

const USAGE = { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 };

export async function warmUp(): Promise<void> {
  const upstream = createServer(answerLikeOpenAI);
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const token = randomBytes(16).toString('hex');
  const config = loadRelayConfig({
    OPENAI_API_KEY: 'sk-warm-up',
    RELAY_TOKEN: token,
    OPENAI_BASE_URL: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
    PORT: '0',
    HOST: '127.0.0.1',
  });
  // Lines are formatted as in service, and dropped.
  const relay = await startRelayServer(config, jsonLogger(() => {}));
  try {
    for (const stream of [false, true]) {
      await chat(relay.port, token, stream);
    }
  } finally {
    await relay.shutdown(0);
    await closeServer(upstream);
  }
}

function answerLikeOpenAI(req: IncomingMessage, res: ServerResponse): void {
  const pieces: Buffer[] = [];
  req.on('data', (piece: Buffer) => pieces.push(piece));
  req.on('end', () => {
    const { model = 'gpt-warm-up', stream = false } = JSON.parse(Buffer.concat(pieces).toString('utf8') || '{}') as { model?: string; stream?: boolean };
    const base = { id: 'chatcmpl-warm-up', created: Math.floor(Date.now() / 1000), model };
    if (!stream) {
      res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'req_warm_up' });
      res.end(JSON.stringify({ ...base, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: USAGE }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'x-request-id': 'req_warm_up' });
    const event = (fields: object) => `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', ...fields })}\n\n`;
    res.write(event({ choices: [{ index: 0, delta: { role: 'assistant', content: 'o' }, finish_reason: null }] }));
    res.write(event({ choices: [{ index: 0, delta: { content: 'k' }, finish_reason: 'stop' }] }));
    res.end(`${event({ choices: [], usage: USAGE })}data: [DONE]\n\n`);
  });
}

function chat(port: number, token: string, stream: boolean): Promise<void> {
  const body = JSON.stringify({ model: 'gpt-warm-up', stream, messages: [{ role: 'user', content: 'hi' }] });
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method: 'POST', path: '/v1/chat/completions', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`the relay answered ${res.statusCode}`))));
        res.on('error', reject);
      },
    );
    req.setTimeout(5_000, () => req.destroy(new Error('no answer within 5 s')));
    req.on('error', reject);
    req.end(body);
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
