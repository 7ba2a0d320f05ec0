// The parts of RELAY_DUMP on their own: the setting, the line's marker, and the taps on a real
// node:http exchange (a late reader, a compressed answer, a body over the cap). The redactor and the
// body's copy and description are pure: redact.test.ts and dump-body.test.ts, in the fast lane.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/shared/errors.js';
import { loadRelayConfig } from '../../src/relay/config.js';
import { createDumper } from '../../src/relay/dump.js';
import { DEFAULT_DUMP_MAX_BODY, type DumpConfig, parseDump } from '../../src/shared/dump-settings.js';
import { jsonLogger } from '../../src/relay/log.js';
import { isDumpLine } from '../../src/shared/dump-line.js';
import { createRedactor } from '../../src/relay/redact.js';

describe('RELAY_DUMP', () => {
  it('is off unless set to headers or bodies; the cap is 64 KiB unless RELAY_DUMP_MAX_BODY says otherwise', () => {
    expect(parseDump(undefined, undefined)).toBeUndefined();
    expect(parseDump('off', '100')).toBeUndefined();
    expect(parseDump(' Headers ', undefined)).toEqual({ mode: 'headers', maxBodyBytes: DEFAULT_DUMP_MAX_BODY });
    expect(parseDump('bodies', '1024')).toEqual({ mode: 'bodies', maxBodyBytes: 1024 });
    expect(DEFAULT_DUMP_MAX_BODY).toBe(65_536);
    expect(loadRelayConfig({ OPENAI_API_KEY: 'sk-x', RELAY_DUMP: 'bodies' }).dump).toEqual({ mode: 'bodies', maxBodyBytes: 65_536 });
  });

  it('refuses any other value at start, with the way to fix it', () => {
    for (const [mode, max] of [
      ['on', undefined],
      ['yes', undefined],
      ['body', undefined],
      ['bodies', '0'],
      ['bodies', '64k'],
      ['bodies', String(2 * 1024 * 1024)],
    ]) {
      let error: unknown;
      try {
        loadRelayConfig({ OPENAI_API_KEY: 'sk-x', RELAY_DUMP: mode, RELAY_DUMP_MAX_BODY: max });
      } catch (thrown) {
        error = thrown;
      }
      expect(error, `${mode} ${max}`).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).toMatch(
        mode === 'bodies' ? /^RELAY_DUMP_MAX_BODY must be a whole number of bytes/ : /^RELAY_DUMP must be off, headers or bodies; got "/,
      );
      expect((error as ConfigError).fix).toMatch(/RELAY_DUMP/);
    }
  });
});

describe('the dump line', () => {
  it('is marked by its msg, so `relay logs --dump` can pick it out', () => {
    const dumped: string[] = [];
    jsonLogger((text) => dumped.push(text)).dump({ method: 'GET', path: '/v1/models', request: { headers: { a: '"msg":"dump"' } } });
    const line = dumped[0]!;
    expect(JSON.parse(line)).toEqual({
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      level: 'info',
      msg: 'dump',
      method: 'GET',
      path: '/v1/models',
      request: { headers: { a: '"msg":"dump"' } },
    });
    expect(isDumpLine(line)).toBe(true);
    const lines: string[] = [];
    const logger = jsonLogger((text) => lines.push(text));
    logger.request({
      method: 'GET',
      path: '/v1/x","msg":"dump',
      token: undefined,
      status: 200,
      outcome: 'ok',
      durationMs: 1,
      ttfbMs: 1,
      bytesIn: 0,
      bytesOut: 0,
      requestId: undefined,
    });
    logger.info('dump');
    logger.warn('RELAY_DUMP=bodies: on');
    logger.dump({});
    expect(lines.map(isDumpLine)).toEqual([false, true, false, true]);
    expect(JSON.parse(lines[3]!)).toMatchObject({ msg: 'dump' });
  });
});

describe('the taps on a real exchange', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  /** A server that dumps each exchange and answers with `respond`; resolves with the parsed dump lines. */
  async function exchange(
    config: DumpConfig,
    respond: (req: IncomingMessage, res: ServerResponse) => void,
    send: { method?: string; headers?: Record<string, string>; body?: Buffer },
  ) {
    const lines: Array<Record<string, any>> = [];
    const logger = jsonLogger((line) => lines.push(JSON.parse(line)));
    const dumper = createDumper(
      config,
      createRedactor(() => ['tap-secret-value']),
      logger,
    );
    server = createServer((req, res) => {
      const dump = dumper.start(req, res);
      res.once('close', () => dump.finish({ status: res.statusCode, token: 'alice', outcome: 'ok', durationMs: 1 }));
      respond(req, res);
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve, reject) => {
      const req = request({ port, host: '127.0.0.1', method: send.method ?? 'POST', path: '/v1/x', headers: send.headers }, (res) => {
        res.resume();
        res.once('end', resolve);
      });
      req.once('error', reject);
      req.end(send.body);
    });
    const deadline = Date.now() + 5000;
    while (lines.filter((line) => line.msg === 'dump').length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    return { warning: lines[0]!, dump: lines.find((line) => line.msg === 'dump')! };
  }

  it('sees the whole request body even when the reader starts late (after an asynchronous step)', async () => {
    const body = Buffer.from(JSON.stringify({ model: 'm', note: 'tap-secret-value' }));
    let read = '';
    const { dump } = await exchange(
      { mode: 'bodies', maxBodyBytes: 1024 },
      (req, res) => {
        setTimeout(() => {
          req.on('data', (chunk: Buffer) => (read += chunk));
          req.on('end', () => res.end('ok'));
        }, 50);
      },
      { headers: { 'content-type': 'application/json' }, body },
    );
    expect(read).toBe(body.toString());
    expect(dump.request.body).toEqual({ model: 'm', note: '[redacted]' });
    expect(dump.response).toMatchObject({ body_bytes: 2, body: 'ok' });
  });

  it('with headers only: no body is copied', async () => {
    const { warning, dump } = await exchange(
      { mode: 'headers', maxBodyBytes: 1024 },
      (req, res) => {
        req.resume();
        req.on('end', () => res.writeHead(201, { 'x-answer': 'yes', 'set-cookie': 'a=b' }).end('done'));
      },
      { body: Buffer.from('hello') },
    );
    expect(warning).toMatchObject({
      level: 'warn',
      msg: 'RELAY_DUMP=headers: every request and answer is written to the log (secrets redacted). Turn it off when done: RELAY_DUMP=off.',
    });
    expect(dump).toMatchObject({ method: 'POST', path: '/v1/x', status: 201, token: 'alice' });
    expect(dump.response.headers).toEqual({ 'x-answer': 'yes', 'set-cookie': '[redacted]' });
    expect(dump.request.body).toBeUndefined();
    expect(dump.response.body).toBeUndefined();
  });

  it('shows a compressed answer decoded, and stops decoding at the cap (a small body that inflates to megabytes)', async () => {
    const answer = gzipSync(JSON.stringify({ ok: true, echo: 'tap-secret-value' }));
    const { dump } = await exchange(
      { mode: 'bodies', maxBodyBytes: 4096 },
      (_req, res) => res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end(answer),
      { method: 'GET' },
    );
    expect(dump.response.body).toEqual({ ok: true, echo: '[redacted]' });
    expect(dump.response.body_bytes).toBe(answer.length);

    server!.close();
    const bomb = gzipSync(Buffer.alloc(20 * 1024 * 1024, 'lorem '));
    const { dump: cut } = await exchange(
      { mode: 'bodies', maxBodyBytes: 4096 },
      (_req, res) => res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' }).end(bomb),
      { method: 'GET' },
    );
    expect(bomb.length).toBeLessThan(4096 * 8);
    expect(cut.response.body).toMatch(/^(lorem )+$/);
    expect(cut.response.body.length).toBeGreaterThan(4000);
    expect(cut.response.body.length).toBeLessThanOrEqual(4096);
    expect(cut.response.note).toMatch(/^cut at 4096 bytes once decoded \(gzip\)/);
  });

  it('does not show a body that is not text', async () => {
    const { dump } = await exchange(
      { mode: 'bodies', maxBodyBytes: 1024 },
      (_req, res) => res.writeHead(200, { 'content-type': 'audio/mpeg' }).end(Buffer.alloc(3000)),
      { method: 'GET' },
    );
    expect(dump.response).toMatchObject({ body_bytes: 3000, note: 'not shown: audio/mpeg is not text' });
    expect(dump.response.body).toBeUndefined();
  });
});
