import { describe, expect, it } from 'vitest';
import { isForwardable, pathOnly, stripPrefix } from '../../src/relay/paths.js';

describe('which targets are forwarded', () => {
  it.each([
    '/v1/models',
    '/v1/chat/completions',
    '/v1/files?purpose=batch',
    '/v1/a/b%2Fc',
    '/v1/threads/x/runs?order=..',
    '/v1/files?after=/../x',
    '/v1/files?q=a\\b',
    '/v1/files/...',
  ])('forwards %s', (target) => {
    expect(isForwardable(target)).toBe(true);
  });

  it.each([
    '/',
    '/v1',
    '/v2/models',
    'http://evil/v1/models',
    '//evil/v1/x',
    '/v1/../x',
    '/v1/%2e%2E/x',
    '/v1/./x',
    '/v1/a\\..\\b',
    '/v1/a\\b',
    '/v1/x#frag',
    '/v1/..?a=b',
    '/v1/%2E%2e?x=1',
  ])('refuses %s', (target) => {
    expect(isForwardable(target)).toBe(false);
  });
});

describe('the path of a target, without its query', () => {
  it.each([
    ['/v1/models?limit=2', '/v1/models'],
    ['/v1/models', '/v1/models'],
    ['/v1/models?', '/v1/models'],
    ['/metrics?a=1?b=2', '/metrics'],
  ])('%s has the path %s', (target, path) => {
    expect(pathOnly(target)).toBe(path);
  });
});

describe('RELAY_PATH_PREFIX taken off a target', () => {
  it.each(['/v1/models', '*', 'http://other/v1/models'])('leaves %s as it is when there is no prefix (isForwardable judges it)', (target) => {
    expect(stripPrefix(target, '')).toBe(target);
  });

  it.each([
    ['/openai/v1/models', '/v1/models'],
    ['/openai/', '/'],
  ])('takes /openai off %s, leaving %s', (target, rest) => {
    expect(stripPrefix(target, '/openai')).toBe(rest);
  });

  it.each(['/openai', '/openaiv1/models', '/other/v1/models', '/v1/models'])('refuses %s, which is not under /openai/', (target) => {
    expect(stripPrefix(target, '/openai')).toBeUndefined();
  });
});
