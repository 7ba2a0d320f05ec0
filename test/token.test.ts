import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fingerprintFromSha256, generateRelayToken, tokenFingerprint } from '../src/shared/token.js';

describe('relay tokens', () => {
  it('are 32 random bytes as hex, different every time', () => {
    const a = generateRelayToken();
    const b = generateRelayToken();
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(b).not.toBe(a);
  });

  it('are identified by a short sha256 fingerprint that does not contain the token', () => {
    const token = 'a'.repeat(64);
    const fp = tokenFingerprint(token);
    expect(fp).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(fp).toBe(`sha256:${createHash('sha256').update(token).digest('hex').slice(0, 16)}`);
    expect(fp).not.toContain(token.slice(0, 8));
    expect(tokenFingerprint('b'.repeat(64))).not.toBe(fp);
  });

  it('fingerprint the same whether hashed here or by sha256sum on the host', () => {
    const token = generateRelayToken();
    const hostSide = `${createHash('sha256').update(token).digest('hex')}\n`;
    expect(fingerprintFromSha256(hostSide)).toBe(tokenFingerprint(token));
  });
});
