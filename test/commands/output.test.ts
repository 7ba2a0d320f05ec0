// How commands show things, each written once: a new secret (shown once, only on a terminal) and a table.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { tokenDestination } from '../../src/commands/new-token.js';
import { printSecretOnce, printTable, terminalMayShowSecret } from '../../src/commands/output.js';
import { ConfigError } from '../../src/shared/errors.js';
import { tokenFingerprint } from '../../src/shared/token.js';

/** A stream that keeps what is written to it, colours stripped. */
function capture(): { out: Writable; text: () => string } {
  let text = '';
  const out = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  });
  return { out, text: () => text.replace(/\x1b\[[0-9;]*m/g, '') };
}

const SECRET = 'f'.repeat(64);

describe('a new secret', () => {
  it('on a terminal: shown once, with its fingerprint and where it is kept', () => {
    const { out, text } = capture();
    printSecretOnce({ label: 'RELAY_TOKEN generated', value: SECRET, kept: 'saved to .env.local (mode 600)', show: true }, out);
    expect(text()).toBe(`RELAY_TOKEN generated (${tokenFingerprint(SECRET)}), shown once; saved to .env.local (mode 600):\n  ${SECRET}\n`);
  });

  it('anywhere else: only its fingerprint and where it is kept, never the value', () => {
    const { out, text } = capture();
    printSecretOnce({ label: 'New token "ci-bot"', value: SECRET, kept: 'saved to ci.env as RELAY_TOKEN_CI_BOT (mode 600)', show: false }, out);
    expect(text()).toBe(`New token "ci-bot" (${tokenFingerprint(SECRET)}); saved to ci.env as RELAY_TOKEN_CI_BOT (mode 600)\n`);
    expect(text()).not.toContain(SECRET);
  });

  it('is shown only when stdout is a terminal and not only the fingerprint was asked for', () => {
    const tty = (value: boolean | undefined) => Object.defineProperty(process.stdout, 'isTTY', { value, configurable: true });
    const before = process.stdout.isTTY;
    try {
      tty(true);
      expect(terminalMayShowSecret()).toBe(true);
      expect(terminalMayShowSecret(true)).toBe(false);
      tty(undefined);
      expect(terminalMayShowSecret()).toBe(false);
    } finally {
      tty(before);
    }
  });

  it('without a terminal must go to --save or --print, or nothing changes', () => {
    expect(() => tokenDestination('ci-bot', {}, false)).toThrow(ConfigError);
    expect(() => tokenDestination('ci-bot', {}, false)).toThrow(/not a terminal.*nothing was changed/);
    expect(tokenDestination('ci-bot', { print: true }, false)).toEqual({ name: 'ci-bot', print: true, show: false });
    const saved = { name: 'ci-bot', print: false, show: false, save: { file: 'ci.env', variable: 'RELAY_TOKEN_CI_BOT' } };
    expect(tokenDestination('ci-bot', { save: 'ci.env' }, false)).toEqual(saved);
    // On a terminal it is shown, unless stdout carries it alone (--print).
    expect(tokenDestination('ci-bot', {}, true).show).toBe(true);
    expect(tokenDestination('ci-bot', { print: true }, true).show).toBe(false);
  });
});

describe('a table', () => {
  it('lines up its columns two spaces apart, numbers to the right, no trailing blanks', () => {
    const { out, text } = capture();
    printTable(
      [
        ['TOKEN', 'MODEL', 'REQUESTS'],
        ['ci-bot', 'gpt-4o-mini', '7'],
        ['default', '-', '1234'],
      ],
      { alignRight: [2], out },
    );
    expect(text()).toBe('TOKEN    MODEL        REQUESTS\nci-bot   gpt-4o-mini         7\ndefault  -' + ' '.repeat(16) + '1234\n');
  });

  it('shows what a client or a host sent without its control characters', () => {
    const { out, text } = capture();
    printTable(
      [
        ['MODEL', 'N'],
        ['gpt\x1b]0;pwned\x07-4o\x1b[2J', '1'],
      ],
      { out },
    );
    expect(text()).toBe('MODEL   N\ngpt-4o  1\n');
  });
});
