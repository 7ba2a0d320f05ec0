import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/shared/errors.js';
import { formatTarget, parseTarget } from '../../src/host/target.js';

describe('--host [user@]host[:port]', () => {
  it.each([
    ['203.0.113.7', { host: '203.0.113.7' }],
    ['root@203.0.113.7', { user: 'root', host: '203.0.113.7' }],
    ['ops@relay.example.com:2222', { user: 'ops', host: 'relay.example.com', port: 2222 }],
    ['myvps', { host: 'myvps' }],
    ['[2001:db8::7]', { host: '2001:db8::7' }],
    ['root@[2001:db8::7]:22', { user: 'root', host: '2001:db8::7', port: 22 }],
    ['2001:db8::7', { host: '2001:db8::7' }],
    ['  deploy_user@host-1.example  ', { user: 'deploy_user', host: 'host-1.example' }],
  ])('parses %s', (text, expected) => {
    expect(parseTarget(text)).toEqual(expected);
  });

  it.each(['', 'root@', '@host', 'host:', 'host:0', 'host:70000', 'host:22x', 'ro ot@host', 'host name', '[2001:db8::7', '[2001:db8::7]x', '[nothex]:22', 'host;rm -rf /', '-oProxyCommand=x'])(
    'rejects %j with a ConfigError that shows the form',
    (text) => {
      expect(() => parseTarget(text)).toThrow(ConfigError);
      try {
        parseTarget(text);
      } catch (error) {
        expect((error as ConfigError).fix).toContain('[user@]host[:port]');
      }
    },
  );

  it('formats back what it parses', () => {
    for (const text of ['203.0.113.7', 'ops@relay.example.com:2222', 'root@[2001:db8::7]:2222', '[2001:db8::7]']) {
      expect(formatTarget(parseTarget(text))).toBe(text);
    }
  });
});
