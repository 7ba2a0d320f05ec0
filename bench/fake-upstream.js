// A fast fake OpenAI API for the bench: small JSON and SSE chat completions, and an upload sink.
// Every SSE event carries its send time ("t", wall-clock ms with µs precision) so a client can
// tell how long the hop(s) in between held it.
//
//   node bench/fake-upstream.js --port 0 --workers 2 --key sk-server
// prints one line `{"ready":true,"port":N}` on stdout once every worker listens.
//
// The stream shape is chosen per request through the model name, the one field every contender
// forwards untouched: "fake-c20-s10" = 20 chunks, 10 ms apart (s0 = back to back).
import cluster from 'node:cluster';
import { fstatSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const { values: opts } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    workers: { type: 'string', default: '1' },
    key: { type: 'string', default: 'sk-bench-server-key' },
  },
});

/** Wall-clock ms with sub-ms precision, comparable across processes on one machine. */
const wallNow = () => performance.timeOrigin + performance.now();

const COMPLETION = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'fake',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from the fake upstream.' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 9, completion_tokens: 7, total_tokens: 16 },
});
const UNAUTHORIZED = JSON.stringify({ error: { message: 'bad key', type: 'invalid_request_error', code: 'invalid_api_key', param: null } });

/** @param {string} model */
function streamShape(model) {
  const match = /-c(\d+)-s(\d+(?:\.\d+)?)/.exec(model);
  return match ? { chunks: Math.min(Number(match[1]), 100_000), spacingMs: Number(match[2]) } : { chunks: 20, spacingMs: 0 };
}

/**
 * @param {import('node:http').ServerResponse} res
 * @param {{chunks: number, spacingMs: number}} shape
 */
function sendStream(res, shape) {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-request-id': 'req_bench' });
  let sent = 0;
  let timer;
  const event = () =>
    `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"fake","choices":[{"index":0,"delta":{"content":"tok${sent} "},"finish_reason":null}],"i":${sent},"t":${wallNow().toFixed(3)}}\n\n`;
  const next = () => {
    if (res.destroyed) return;
    if (sent === shape.chunks) {
      res.end('data: [DONE]\n\n');
      return;
    }
    res.write(event());
    sent++;
    if (shape.spacingMs > 0) timer = setTimeout(next, shape.spacingMs);
    else next();
  };
  res.on('close', () => clearTimeout(timer));
  // The first event goes out with the headers; the rest follow at the requested spacing.
  next();
}

function serve() {
  const expected = `Bearer ${opts.key}`;
  const server = createServer({ keepAliveTimeout: 120_000, requestTimeout: 0 }, (req, res) => {
    if (req.headers.authorization !== expected) {
      // Proves the contender swapped the client's token for the server key.
      req.resume();
      res.writeHead(401, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(UNAUTHORIZED) });
      res.end(UNAUTHORIZED);
      return;
    }
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'POST' && (path === '/v1/files' || path.startsWith('/v1/uploads'))) {
      let bytes = 0;
      req.on('data', (chunk) => (bytes += chunk.length));
      req.on('end', () => {
        const body = JSON.stringify({ id: 'file-bench', object: 'file', bytes, purpose: 'batch' });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
      return;
    }
    if (req.method === 'POST' && path === '/v1/chat/completions') {
      const parts = [];
      req.on('data', (chunk) => parts.push(chunk));
      req.on('end', () => {
        let body;
        try {
          body = JSON.parse(Buffer.concat(parts).toString('utf8'));
        } catch {
          res.writeHead(400, { 'content-type': 'application/json' });
          res.end('{"error":{"message":"bad json"}}');
          return;
        }
        if (body.stream === true) {
          sendStream(res, streamShape(String(body.model ?? '')));
        } else {
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(COMPLETION), 'x-request-id': 'req_bench' });
          res.end(COMPLETION);
        }
      });
      return;
    }
    req.resume();
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"error":{"message":"not found"}}');
  });
  // Large enough for the 10,000-stream ramp.
  server.listen({ port: Number(opts.port), host: opts.host, backlog: 4096 }, () => {
    process.send?.({ listening: server.address().port });
  });
}

const workers = Math.max(1, Number(opts.workers));
if (cluster.isWorker) {
  serve();
} else {
  // Workers share one listening socket, handed out round-robin by the primary; port 0 in a
  // cluster resolves to one port for all of them.
  let ready = 0;
  for (let i = 0; i < workers; i++) {
    cluster.fork().on('message', (msg) => {
      if (msg?.listening === undefined) return;
      if (++ready === workers) process.stdout.write(`${JSON.stringify({ ready: true, port: msg.listening, pid: process.pid })}\n`);
    });
  }
  const stop = () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // A closed stdin pipe means the bench that started us is gone (only a pipe: reading a
  // terminal or /dev/zero would never end, or spin).
  if (fstatSync(0).isFIFO()) process.stdin.on('end', stop).on('error', stop).resume();
}
