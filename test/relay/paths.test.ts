import { describe, expect, it } from 'vitest';
import { isForwardable } from '../../src/relay/paths.js';

describe('which targets are forwarded', () => {
  it.each(['/v1/models', '/v1/chat/completions', '/v1/files?purpose=batch', '/v1/a/b%2Fc', '/v1/threads/x/runs?order=..'])('forwards %s', (target) => {
    expect(isForwardable(target)).toBe(true);
  });

  it.each(['/', '/v1', '/v2/models', 'http://evil/v1/models', '//evil/v1/x', '/v1/../x', '/v1/%2e%2E/x', '/v1/./x', '/v1/a\\..\\b', '/v1/x#frag'])('refuses %s', (target) => {
    expect(isForwardable(target)).toBe(false);
  });
});
