// A fake OpenAI API on loopback: the only thing tests mock, because the real one is off this machine.
// It records what reached it so tests can assert what the relay forwarded (and what it did not).
import { createHash } from 'node:crypto';
import { createServer as createHttpsServer } from 'node:https';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import busboy from 'busboy';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** Where the connection came from: the relay, or the proxy in between. */
  remoteAddress: string | undefined;
}

export interface Upload {
  filename: string;
  bytes: number;
  sha256: string;
}

/** One Realtime WebSocket session as the fake upstream saw it. */
export interface RealtimeSession {
  url: string;
  headers: IncomingHttpHeaders;
  protocol: string;
  /** Resolves with the close code the upstream saw when the session ended. */
  closed: Promise<number>;
  remoteAddress: string | undefined;
}

export interface FakeOpenAI {
  url: string;
  port: number;
  seen: SeenRequest[];
  /** JSON bodies of chat completion requests, in order. */
  chatBodies: Array<Record<string, unknown>>;
  realtime: RealtimeSession[];
  uploads: Upload[];
  /** Wall-clock ms at which each SSE chunk of the last paced stream was written. */
  chunkSentAt: number[];
  /** Bytes of the last GET /v1/files/big/content handed to its socket so far. */
  downloadSent: { bytes: number };
  /**
   * Writes the next chunk of the open gated stream (MODELS.gated), then its stop and [DONE] once
   * PACED_CHUNKS were written. Nothing is written until the test says so.
   */
  releaseChunk(): void;
  /** Resolves when a streaming response is cut by its client before it ended. */
  streamAborted(): Promise<number>;
  close(): Promise<void>;
}

/** Size of GET /v1/files/big/content. */
export const DOWNLOAD_MB = 64;

export const PACED_CHUNKS = 5;
export const PACE_MS = 200;

/** Models with special behaviour; any other model gets a normal answer. */
export const MODELS = {
  paced: 'paced-stream',
  endless: 'endless-stream',
  /** Streams PACED_CHUNKS chunks, each only when the test calls releaseChunk(): no clock involved. */
  gated: 'gated-stream',
  rateLimited: 'rate-limited',
  usageStream: 'usage-stream',
  /** Answers with a call to the tool `get_weather` ({"city":"Paris"}), streamed or not. */
  toolCall: 'tool-call',
  /**
   * Follows the script in the last user message: each `call NAME with {JSON}` in it becomes a tool
   * call (when a tool NAME is offered); after tool results it answers "Tool said: <their text>".
   * Streamed in small pieces, usage last, as OpenAI does.
   */
  scripted: 'scripted-tools',
  /** Streams one chunk, then the upstream connection is cut. */
  brokenStream: 'broken-stream',
  /** Answers the last user message back whole: in one SSE event when streamed. */
  echo: 'echo',
  /** Refuses with 401 and the Authorization it was sent in the message, as an upstream that echoes a bad key. */
  keyEcho: 'key-echo',
} as const;

/** `status-429` and the like answer with that HTTP status and an OpenAI error body. */
export const ERROR_MODEL = /^status-(\d{3})$/;

export interface FakeOpenAIOptions {
  /** What GET /v1/models lists (and /v1/models/{id} knows). */
  models?: string[];
  /** Serve HTTPS (HTTP/1.1) with this certificate and key instead of plain HTTP. */
  tls?: { cert: Buffer; key: Buffer };
}

function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'));
      } catch (error) {
        reject(error);
      }
    });
    req.on('error', reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': `req_${Math.random().toString(36).slice(2)}`, 'openai-processing-ms': '12', ...headers });
  res.end(JSON.stringify(body));
}

function completion(model: string, content: string) {
  return {
    id: 'chatcmpl-fake',
    object: 'chat.completion',
    created: 1_700_000_000,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, finish_reason: 'stop', logprobs: null }],
    usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 },
  };
}

function chunk(model: string, content: string, finish: string | null = null): string {
  const body = { id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 1_700_000_000, model, choices: [{ index: 0, delta: { content }, finish_reason: finish, logprobs: null }] };
  return `data: ${JSON.stringify(body)}\n\n`;
}

const TOOL_CALL = { id: 'call_fake', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } };

function toolCallStream(res: ServerResponse, model: string): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'x-request-id': 'req_tools' });
  const event = (delta: unknown, finish: string | null) =>
    `data: ${JSON.stringify({ id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 1_700_000_000, model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  res.write(event({ role: 'assistant', tool_calls: [{ index: 0, id: TOOL_CALL.id, type: 'function', function: { name: 'get_weather', arguments: '' } }] }, null));
  res.write(event({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }, null));
  res.write(event({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }, null));
  res.write(event({}, 'tool_calls'));
  res.end(`data: ${JSON.stringify({ id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 1_700_000_000, model, choices: [], usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 } })}\n\ndata: [DONE]\n\n`);
}

type ChatMessage = { role?: string; content?: string | Array<{ type?: string; text?: string }> | null };

function messageText(message: ChatMessage | undefined): string {
  const content = message?.content;
  if (typeof content === 'string') return content;
  return (content ?? []).map((part) => part.text ?? '').join('');
}

/** What the scripted model answers to a conversation: text, or tool calls. */
export function scriptedAnswer(body: Record<string, unknown>): { text: string } | { calls: Array<{ name: string; arguments: string }> } {
  const messages = (body.messages ?? []) as ChatMessage[];
  const trailingTools: ChatMessage[] = [];
  for (let i = messages.length - 1; i >= 0 && messages[i]!.role === 'tool'; i--) trailingTools.unshift(messages[i]!);
  if (trailingTools.length > 0) return { text: `Tool said: ${trailingTools.map(messageText).join(' | ')}` };
  const offered = new Set(((body.tools ?? []) as Array<{ function?: { name?: string } }>).map((tool) => tool.function?.name));
  const lastUser = [...messages].reverse().find((message) => message.role === 'user');
  const calls = [...messageText(lastUser).matchAll(/call (\w+) with (\{[^\n]*?\})(?=\s|$)/g)]
    .filter((match) => offered.has(match[1]))
    .map((match) => ({ name: match[1]!, arguments: match[2]! }));
  return calls.length > 0 ? { calls } : { text: 'Nothing to do.' };
}

function scriptedResponse(res: ServerResponse, body: Record<string, unknown>): void {
  const model = String(body.model);
  const answer = scriptedAnswer(body);
  const usage = { prompt_tokens: 120, completion_tokens: 30, total_tokens: 150, prompt_tokens_details: { cached_tokens: 20 } };
  const toolCalls = 'calls' in answer ? answer.calls.map((call, index) => ({ id: `call_script_${index}`, type: 'function', function: call })) : undefined;
  if (body.stream !== true) {
    const message = { role: 'assistant', content: 'text' in answer ? answer.text : null, refusal: null, ...(toolCalls ? { tool_calls: toolCalls } : {}) };
    json(res, 200, { id: 'chatcmpl-script', object: 'chat.completion', created: 1_700_000_000, model, choices: [{ index: 0, message, finish_reason: toolCalls ? 'tool_calls' : 'stop', logprobs: null }], usage });
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'x-request-id': 'req_script' });
  const event = (delta: unknown, finish: string | null = null) =>
    `data: ${JSON.stringify({ id: 'chatcmpl-script', object: 'chat.completion.chunk', created: 1_700_000_000, model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  const events = [event({ role: 'assistant', content: '' })];
  if ('text' in answer) {
    for (const piece of answer.text.match(/.{1,8}/gs) ?? []) events.push(event({ content: piece }));
  } else {
    toolCalls!.forEach((call, index) => {
      events.push(event({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } }] }));
      for (const piece of call.function.arguments.match(/.{1,10}/gs) ?? []) events.push(event({ tool_calls: [{ index, function: { arguments: piece } }] }));
    });
  }
  events.push(event({}, toolCalls ? 'tool_calls' : 'stop'));
  if ((body.stream_options as { include_usage?: boolean } | undefined)?.include_usage) {
    events.push(`data: ${JSON.stringify({ id: 'chatcmpl-script', object: 'chat.completion.chunk', created: 1_700_000_000, model, choices: [], usage })}\n\n`);
  }
  events.push('data: [DONE]\n\n');
  // Each event in its own write, a few ms apart: clients must see them arrive one by one.
  const next = () => {
    const piece = events.shift();
    if (piece === undefined || res.destroyed) return void res.end();
    res.write(piece);
    setTimeout(next, 5);
  };
  next();
}

/** A fake Realtime endpoint: greets with session.created, echoes text as an event and binary as is, closes on request. */
function acceptRealtime(ws: WebSocket, session: RealtimeSession): void {
  ws.send(JSON.stringify({ type: 'session.created', session: { url: session.url } }));
  ws.on('message', (data: RawData, isBinary: boolean) => {
    if (isBinary) {
      ws.send(data, { binary: true });
      return;
    }
    const event = JSON.parse(String(data)) as { type?: string; code?: number; reason?: string };
    if (event.type === 'test.close') ws.close(event.code, event.reason);
    else ws.send(JSON.stringify({ type: 'echo', event }));
  });
}

/**
 * Milliseconds from `hungUpAt` until the upstream saw its stream cut (`aborted`, from
 * streamAborted()), or Infinity when it still was not after `giveUpMs`: a missing abort fails the
 * test's own assertion, not its timeout.
 */
export async function msUntilUpstreamCut(aborted: Promise<number>, hungUpAt: number, giveUpMs = 3_000): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<number>((resolve) => (timer = setTimeout(resolve, giveUpMs, Number.POSITIVE_INFINITY)));
  const at = await Promise.race([aborted, gaveUp]);
  clearTimeout(timer);
  return at - hungUpAt;
}

export async function startFakeOpenAI(host = '127.0.0.1', options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const modelIds = options.models ?? ['gpt-fake'];
  const seen: SeenRequest[] = [];
  const chatBodies: Array<Record<string, unknown>> = [];
  const realtime: RealtimeSession[] = [];
  const uploads: Upload[] = [];
  const chunkSentAt: number[] = [];
  const downloadSent = { bytes: 0 };
  const abortWaiters: Array<(at: number) => void> = [];
  const sockets = new Set<import('node:net').Socket>();

  let releaseGated = () => {};

  const streamChat = (res: ServerResponse, model: string, includeUsage = false) => {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'x-request-id': 'req_stream' });
    res.flushHeaders();
    if (model === MODELS.gated) {
      let written = 0;
      releaseGated = () => {
        if (written < PACED_CHUNKS) res.write(chunk(model, `part${written++} `));
        else res.end(`${chunk(model, '', 'stop')}data: [DONE]\n\n`);
      };
      return;
    }
    let sent = 0;
    const total = model === MODELS.endless ? Number.POSITIVE_INFINITY : PACED_CHUNKS;
    if (model === MODELS.paced) chunkSentAt.length = 0;
    const timer = setInterval(() => {
      if (sent < total) {
        res.write(chunk(model, `part${sent} `));
        if (model === MODELS.paced) chunkSentAt.push(Date.now());
        sent++;
        return;
      }
      clearInterval(timer);
      res.write(chunk(model, '', 'stop'));
      // As OpenAI does with stream_options.include_usage: one last chunk with no choices and the usage.
      if (includeUsage) res.write(`data: ${JSON.stringify({ id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 1_700_000_000, model, choices: [], usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 } })}\n\n`);
      res.end('data: [DONE]\n\n');
    }, model === MODELS.endless ? 50 : PACE_MS);
    res.on('close', () => {
      clearInterval(timer);
      if (!res.writableFinished) for (const wake of abortWaiters.splice(0)) wake(Date.now());
    });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, remoteAddress: req.socket.remoteAddress });
    const path = (req.url ?? '').split('?')[0];
    try {
      if (req.method === 'GET' && path === '/v1/models') {
        json(res, 200, { object: 'list', data: modelIds.map((id) => ({ id, object: 'model', created: 1, owned_by: 'fake' })) }, {
          'x-ratelimit-limit-requests': '5000',
          'x-ratelimit-remaining-requests': '4999',
          // A hop-by-hop header the relay must not pass on.
          'keep-alive': 'timeout=5',
        });
      } else if (req.method === 'GET' && path?.startsWith('/v1/models/')) {
        const id = decodeURIComponent(path.slice('/v1/models/'.length));
        if (modelIds.includes(id)) json(res, 200, { id, object: 'model', created: 1, owned_by: 'fake' });
        else json(res, 404, { error: { message: `The model '${id}' does not exist`, type: 'invalid_request_error', code: 'model_not_found', param: 'model' } });
      } else if (req.method === 'POST' && path === '/v1/embeddings') {
        const body = await readJson(req);
        chatBodies.push(body);
        const inputs = Array.isArray(body.input) ? body.input : [body.input];
        const data = inputs.map((_, index) => ({ object: 'embedding', index, embedding: [index, 0.5, -0.25] }));
        json(res, 200, { object: 'list', data, model: body.model, usage: { prompt_tokens: 3 * inputs.length, total_tokens: 3 * inputs.length } });
      } else if (req.method === 'POST' && path === '/v1/chat/completions') {
        const body = await readJson(req);
        chatBodies.push(body);
        const model = String(body.model);
        const errorStatus = ERROR_MODEL.exec(model)?.[1];
        if (errorStatus !== undefined) {
          json(res, Number(errorStatus), { error: { message: `fake upstream error ${errorStatus}`, type: 'fake_error', code: 'fake', param: null } }, errorStatus === '429' ? { 'retry-after': '3' } : {});
        } else if (model === MODELS.scripted) {
          scriptedResponse(res, body);
        } else if (model === MODELS.toolCall && body.stream === true) {
          toolCallStream(res, model);
        } else if (model === MODELS.toolCall) {
          json(res, 200, { ...completion(model, ''), choices: [{ index: 0, message: { role: 'assistant', content: null, refusal: null, tool_calls: [TOOL_CALL] }, finish_reason: 'tool_calls', logprobs: null }] });
        } else if (model === MODELS.brokenStream) {
          res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
          res.write(chunk(model, 'part0 '));
          setTimeout(() => res.socket?.destroy(), 50);
        } else if (model === MODELS.echo && body.stream === true) {
          const text = messageText(((body.messages ?? []) as ChatMessage[]).at(-1));
          res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
          res.end(`${chunk(model, text)}${chunk(model, '', 'stop')}data: [DONE]\n\n`);
        } else if (model === MODELS.echo) {
          json(res, 200, completion(model, messageText(((body.messages ?? []) as ChatMessage[]).at(-1))));
        } else if (model === MODELS.keyEcho) {
          const message = `Incorrect API key provided: ${req.headers.authorization}`;
          json(res, 401, { error: { message, type: 'invalid_request_error', code: 'invalid_api_key', param: null } });
        } else if (model === MODELS.rateLimited) {
          json(res, 429, { error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded', param: null } }, { 'retry-after': '7' });
        } else if (body.stream === true) {
          streamChat(res, model, (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true);
        } else {
          json(res, 200, completion(model, 'Hello from the fake upstream.'));
        }
      } else if (req.method === 'POST' && path === '/v1/files') {
        const parser = busboy({ headers: req.headers });
        parser.on('file', (_field, file, info) => {
          const hash = createHash('sha256');
          let bytes = 0;
          file.on('data', (data: Buffer) => {
            bytes += data.length;
            hash.update(data);
          });
          file.on('end', () => uploads.push({ filename: info.filename ?? '', bytes, sha256: hash.digest('hex') }));
        });
        parser.on('close', () => {
          const upload = uploads.at(-1);
          json(res, 200, { id: 'file-fake', object: 'file', bytes: upload?.bytes ?? 0, created_at: 1, filename: upload?.filename ?? '', purpose: 'batch', status: 'processed', sha256: upload?.sha256 });
        });
        req.pipe(parser);
      } else if (req.method === 'GET' && path === '/v1/files/big/content') {
        // DOWNLOAD_MB of file content, written only as fast as the connection takes it.
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': DOWNLOAD_MB * 1024 * 1024 });
        const piece = Buffer.alloc(64 * 1024, 0x61);
        downloadSent.bytes = 0;
        const more = () => {
          while (downloadSent.bytes < DOWNLOAD_MB * 1024 * 1024) {
            downloadSent.bytes += piece.length;
            if (!res.write(piece)) return void res.once('drain', more);
          }
          res.end();
        };
        more();
      } else if (path === '/v1/hang') {
        // Never answers: for the relay's first-byte timeout.
      } else if (path?.startsWith('/v1/')) {
        // As api.openai.com's CDN does: a cookie the relay must not hand to its clients.
        json(res, 200, { echo: { method: req.method, url: req.url } }, { 'set-cookie': '__cf_bm=upstream-cookie; path=/; HttpOnly' });
      } else {
        json(res, 404, { error: { message: 'fake upstream: no such route', type: 'invalid_request_error', code: 'not_found', param: null } });
      }
    } catch (error) {
      json(res, 500, { error: { message: String(error), type: 'server_error', code: 'fake', param: null } });
    }
  };
  const server = options.tls ? createHttpsServer(options.tls, handle) : createServer(handle);
  const wss = new WebSocketServer({ noServer: true });
  // The CDN's cookie rides on the handshake answer too.
  wss.on('headers', (headers) => headers.push('Set-Cookie: __cf_bm=upstream-cookie; path=/; HttpOnly'));
  server.on('upgrade', (req, socket, head) => {
    if (!(req.url ?? '').startsWith('/v1/realtime')) {
      socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    if (!new URL(req.url ?? '', 'http://x').searchParams.get('model')) {
      const body = JSON.stringify({ error: { message: 'Missing required parameter: model', type: 'invalid_request_error', code: 'missing_model', param: 'model' } });
      socket.end(`HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      let closedWith: (code: number) => void = () => {};
      const session: RealtimeSession = { url: req.url ?? '', headers: req.headers, protocol: ws.protocol, closed: new Promise((resolve) => (closedWith = resolve)), remoteAddress: req.socket.remoteAddress };
      ws.on('close', (code) => closedWith(code));
      realtime.push(session);
      acceptRealtime(ws, session);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${options.tls ? 'https' : 'http'}://${host}:${port}`,
    port,
    seen,
    chatBodies,
    realtime,
    uploads,
    chunkSentAt,
    downloadSent,
    releaseChunk: () => releaseGated(),
    streamAborted: () => new Promise((resolve) => abortWaiters.push(resolve)),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        wss.close();
        server.close(() => resolve());
      }),
  };
}
