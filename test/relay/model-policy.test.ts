// The model allow-list as pure functions: RELAY_MODELS read into names and aliases, and the
// upstream's model list filtered to it.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/shared/errors.js';
import { filterModelList, parseModelPolicy, resolveModel } from '../../src/relay/models.js';

describe('RELAY_MODELS: allowed models and aliases', () => {
  it.each([undefined, '', ' , '])('%j sets no policy', (text) => {
    expect(parseModelPolicy(text)).toBeUndefined();
  });

  it('maps an allowed model to itself and an alias to its target, trimmed', () => {
    expect(parseModelPolicy(' gpt-4o-mini , fast = gpt-4o-mini ,gpt-4o')).toEqual({
      names: new Map([
        ['gpt-4o-mini', 'gpt-4o-mini'],
        ['fast', 'gpt-4o-mini'],
        ['gpt-4o', 'gpt-4o'],
      ]),
    });
  });

  it.each(['=gpt-4o', 'fast=', 'fast= ', 'a=b=c'])('refuses %j with a fix', (entry) => {
    let error: unknown;
    try {
      parseModelPolicy(`gpt-4o,${entry}`);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe(`RELAY_MODELS: cannot read "${entry.trim()}".`);
    expect((error as ConfigError).fix).toBe('List models and aliases comma-separated, e.g. RELAY_MODELS=gpt-4o-mini,fast=gpt-4o-mini');
  });

  it('resolves a name a client sends to the upstream model, or to nothing', () => {
    const policy = parseModelPolicy('gpt-4o-mini,fast=gpt-4o-mini')!;
    expect(resolveModel(policy, 'fast')).toBe('gpt-4o-mini');
    expect(resolveModel(policy, 'gpt-4o-mini')).toBe('gpt-4o-mini');
    expect(resolveModel(policy, 'gpt-4o')).toBeUndefined();
  });
});

describe('model list: the upstream list filtered to the allow-list, aliases as models', () => {
  it('lists allowed models and aliases in policy order, with the upstream fields, and drops the rest', () => {
    const upstream = [
      { id: 'gpt-4o', object: 'model', created: 1, owned_by: 'openai' },
      { id: 'gpt-4o-mini', object: 'model', created: 2, owned_by: 'openai' },
      { id: 'o3', object: 'model', created: 3, owned_by: 'openai' },
    ];
    expect(filterModelList(parseModelPolicy('fast=gpt-4o-mini,gpt-4o,missing')!, upstream)).toEqual([
      { id: 'fast', object: 'model', created: 2, owned_by: 'openai' },
      { id: 'gpt-4o', object: 'model', created: 1, owned_by: 'openai' },
    ]);
    expect(upstream[1]).toEqual({ id: 'gpt-4o-mini', object: 'model', created: 2, owned_by: 'openai' });
  });
});
