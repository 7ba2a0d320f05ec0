// A client cannot hold a socket open by trickling a body the relay will never use: a refused
// request closes its connection, and a body that stops arriving is given up on (RELAY_CLIENT_BODY_TIMEOUT).
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRelayStack, type RelayStack } from '../support/relay-stack.js';

let stack: RelayStack;

beforeAll(async () => {
  stack = await startRelayStack({ RELAY_CLIENT_BODY_TIMEOUT: '1s' });
});

afterAll(() => stack?.stop());

/** Sends `head` and a first body byte, then one byte every 200 ms; resolves when the relay closes the socket, or with closed: false at `deadlineMs`. */
function trickle(head: string, deadlineMs: number): Promise<{ answer: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(stack.relay.port, '127.0.0.1');
    let answer = '';
    const drip = setInterval(() => socket.write('x'), 200);
    const finish = (closed: boolean) => {
      clearInterval(drip);
      clearTimeout(deadline);
      socket.destroy();
      resolve({ answer, closed });
    };
    const deadline = setTimeout(() => finish(false), deadlineMs);
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => (answer += text));
    socket.on('end', () => finish(true));
    socket.on('error', () => finish(true));
    socket.write(`${head}x`);
  });
}

const post = (authorization: string) =>
  `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000000\r\n${authorization}\r\n\r\n`;

describe('client sockets', () => {
  it('closes the connection after refusing a request whose body is still coming, for each of a few sockets', async () => {
    const results = await Promise.all([1, 2, 3].map(() => trickle(post('x-nothing: 1'), 4_000)));
    for (const { answer, closed } of results) {
      expect(answer).toMatch(/^HTTP\/1\.1 401/);
      expect(answer.toLowerCase()).toContain('connection: close');
      expect(closed).toBe(true);
    }
  });

  it('gives up on a request body that stops arriving, after RELAY_CLIENT_BODY_TIMEOUT', async () => {
    const stalled = await new Promise<{ answer: string; closed: boolean }>((resolve) => {
      const socket = connect(stack.relay.port, '127.0.0.1');
      let answer = '';
      const deadline = setTimeout(() => {
        socket.destroy();
        resolve({ answer, closed: false });
      }, 5_000);
      socket.setEncoding('utf8');
      socket.on('data', (text: string) => (answer += text));
      socket.on('close', () => {
        clearTimeout(deadline);
        resolve({ answer, closed: true });
      });
      socket.write(`${post(`authorization: Bearer ${stack.token}`)}{"model":`);
    });
    expect(stalled.closed).toBe(true);
    expect(stalled.answer).toMatch(/^HTTP\/1\.1 408/);
  });
});
