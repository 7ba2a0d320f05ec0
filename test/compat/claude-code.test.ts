// The real Claude Code CLI (@anthropic-ai/claude-code, headless `claude -p`) through `relay serve`
// over a fake OpenAI upstream: the scripted model asks for the Read tool, Claude Code reads the file
// on this machine and sends the result back through the relay, the model answers with it.
// Claude Code talks only to loopback: everything else it might try goes to a proxy that refuses it.
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODELS } from '../support/fake-openai.js';
import { eventually } from '../support/relay-process.js';
import { startRelayStack, type RelayStack } from '../support/relay-stack.js';

const CLAUDE = fileURLToPath(new URL('../../node_modules/.bin/claude', import.meta.url));
const SECRET_LINE = `The launch code is PELICAN-${randomBytes(4).toString('hex')}.`;

let stack: RelayStack;
let refusing: Server;
const offLoopback: string[] = [];
let home: string;
let work: string;

beforeAll(async () => {
  stack = await startRelayStack({ RELAY_ANTHROPIC_MODELS: `opus=${MODELS.scripted},sonnet=${MODELS.scripted},haiku=${MODELS.scripted}` });
  // Anything Claude Code tries to reach past loopback comes here, is written down and refused.
  refusing = createServer((req, res) => {
    offLoopback.push(`${req.method} ${req.url}`);
    res.writeHead(403).end();
  });
  refusing.on('connect', (req, socket) => {
    socket.on('error', () => {});
    offLoopback.push(`CONNECT ${req.url}`);
    socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
  });
  await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
  home = await mkdtemp(join(tmpdir(), 'relay-claude-home-'));
  work = await mkdtemp(join(tmpdir(), 'relay-claude-work-'));
  await writeFile(join(work, 'notes.txt'), `${SECRET_LINE}\n`);
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await new Promise((resolve) => refusing?.close(resolve));
});

/** Claude Code's environment: only what is given here, every off-loopback address through the refusing proxy. */
function claudeEnv(extra: Record<string, string>): Record<string, string | undefined> {
  const proxy = `http://127.0.0.1:${(refusing.address() as AddressInfo).port}`;
  return {
    HOME: home,
    PATH: process.env.PATH,
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_AUTOUPDATER: '1',
    DISABLE_ERROR_REPORTING: '1',
    HTTPS_PROXY: proxy,
    HTTP_PROXY: proxy,
    NO_PROXY: '127.0.0.1,localhost',
    ...extra,
  };
}

describe('Claude Code through the relay', () => {
  it('(the guard) sends what is not for loopback to the refusing proxy, e.g. without ANTHROPIC_BASE_URL', async () => {
    offLoopback.length = 0;
    const run = execa(CLAUDE, ['-p', 'hi', '--output-format', 'json'], {
      cwd: work,
      env: claudeEnv({ ANTHROPIC_AUTH_TOKEN: 'not-a-real-token' }),
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
    });
    try {
      await eventually(() => offLoopback.length > 0, 60_000);
    } finally {
      run.kill();
      await run;
    }
    expect(offLoopback).toContain('CONNECT api.anthropic.com:443');
  }, 90_000);

  it('runs a tool through the relay and prints the final answer', async () => {
    offLoopback.length = 0;
    const run = await execa(CLAUDE, ['-p', `call Read with {"file_path":"${join(work, 'notes.txt')}"}`, '--output-format', 'json', '--allowedTools', 'Read'], {
      cwd: work,
      env: claudeEnv({ ANTHROPIC_BASE_URL: stack.relay.url, ANTHROPIC_AUTH_TOKEN: stack.token }),
      extendEnv: false,
      reject: false,
      timeout: 120_000,
      stdin: 'ignore',
    });
    const context = `exit ${run.exitCode}\nstdout: ${run.stdout.slice(0, 3000)}\nstderr: ${run.stderr.slice(0, 3000)}\nrelay: ${stack.relay.output().slice(-3000)}`;
    expect(run.exitCode, context).toBe(0);
    const result = JSON.parse(run.stdout) as { type: string; subtype: string; is_error: boolean; result: string; num_turns: number };
    expect(result, context).toMatchObject({ type: 'result', subtype: 'success', is_error: false });
    // The model's last answer quotes what Claude Code's Read tool returned: the file, read on this machine.
    expect(result.result).toContain('Tool said:');
    expect(result.result).toContain(SECRET_LINE);

    // Two model turns went upstream for the task: the tool call, then the answer to its result.
    const turns = stack.upstream.chatBodies.filter((body) => JSON.stringify(body.messages).includes('call Read with'));
    expect(turns.length).toBeGreaterThanOrEqual(2);
    const last = turns.at(-1)!.messages as Array<{ role: string; content: unknown; tool_calls?: Array<{ function: { name: string } }> }>;
    expect(last.some((message) => message.role === 'assistant' && message.tool_calls?.[0]?.function.name === 'Read')).toBe(true);
    expect(last.some((message) => message.role === 'tool' && String(message.content).includes(SECRET_LINE))).toBe(true);

    // Claude Code's requests were served as Anthropic ones, under the relay token's name.
    const served = stack.relay.logLines().filter((line) => line.msg === 'request' && line.path === '/v1/messages');
    expect(served.length).toBeGreaterThanOrEqual(2);
    expect(served.every((line) => line.token === 'default' && line.status === 200)).toBe(true);
    // Nothing went past loopback, and neither the token nor the key reached the logs or the upstream.
    expect(offLoopback).toEqual([]);
    expect(stack.relay.output()).not.toContain(stack.token);
    expect(JSON.stringify(stack.upstream.seen)).not.toContain(stack.token);
  }, 180_000);
});
