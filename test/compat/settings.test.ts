// The compatibility settings as the relay reads them from its environment.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/shared/errors.js';
import { loadRelayConfig } from '../../src/relay/config.js';
import { resolveModel } from '../../src/relay/models.js';
import { imageDataUrl, modelName } from '../../src/relay/ollama/translate.js';
import { stripPrefix } from '../../src/relay/paths.js';
import { splitSubprotocols } from '../../src/relay/realtime.js';

const load = (env: Record<string, string>) => loadRelayConfig({ OPENAI_API_KEY: 'sk-x', ...env });

describe('compatibility settings', () => {
  it('are all off by default', () => {
    expect(load({})).toMatchObject({ pathPrefix: '', cors: undefined, models: undefined, ollamaPath: undefined });
  });

  it('RELAY_PATH_PREFIX: a path, trailing slash ignored; only whole segments match', () => {
    expect(load({ RELAY_PATH_PREFIX: '/openai/' }).pathPrefix).toBe('/openai');
    for (const bad of ['openai', '/a/../b', '/a?b', '/a b']) expect(() => load({ RELAY_PATH_PREFIX: bad }), bad).toThrow(ConfigError);
    expect(stripPrefix('/openai/v1/models?x', '/openai')).toBe('/v1/models?x');
    expect(stripPrefix('/openaiv1/models', '/openai')).toBeUndefined();
    expect(stripPrefix('/v1/models', '')).toBe('/v1/models');
  });

  it('RELAY_CORS_ORIGINS: exact origins or *', () => {
    expect(load({ RELAY_CORS_ORIGINS: 'https://a.example, http://localhost:5173/' }).cors).toEqual({ anyOrigin: false, origins: new Set(['https://a.example', 'http://localhost:5173']) });
    expect(load({ RELAY_CORS_ORIGINS: '*' }).cors?.anyOrigin).toBe(true);
    expect(() => load({ RELAY_CORS_ORIGINS: 'https://a.example/app' })).toThrow(/not an origin/);
    expect(() => load({ RELAY_CORS_ORIGINS: 'a.example' })).toThrow(ConfigError);
  });

  it('RELAY_MODELS: models and alias=model', () => {
    const policy = load({ RELAY_MODELS: 'gpt-4o-mini, fast=gpt-4o-mini' }).models!;
    expect(resolveModel(policy, 'gpt-4o-mini')).toBe('gpt-4o-mini');
    expect(resolveModel(policy, 'fast')).toBe('gpt-4o-mini');
    expect(resolveModel(policy, 'gpt-4o')).toBeUndefined();
    for (const bad of ['a=b=c', '=x', 'x=']) expect(() => load({ RELAY_MODELS: bad }), bad).toThrow(/RELAY_MODELS/);
  });

  it('RELAY_OLLAMA_PATH: must end in a secret of 16+ characters', () => {
    expect(load({ RELAY_OLLAMA_PATH: '/ollama/0123456789abcdef/' }).ollamaPath).toBe('/ollama/0123456789abcdef');
    for (const bad of ['/ollama', '/short', '0123456789abcdef0', '/0123456789abcdef?x']) expect(() => load({ RELAY_OLLAMA_PATH: bad }), bad).toThrow(/RELAY_OLLAMA_PATH/);
  });
});

describe('small translations', () => {
  it('takes the relay token out of the WebSocket subprotocols', () => {
    expect(splitSubprotocols('realtime, openai-insecure-api-key.tok, openai-beta.realtime-v1')).toEqual({ token: 'tok', kept: ['realtime', 'openai-beta.realtime-v1'] });
    expect(splitSubprotocols(undefined)).toEqual({ token: undefined, kept: [] });
  });

  it("maps Ollama's bare names and base64 images", () => {
    expect(modelName('gpt-4o:latest')).toBe('gpt-4o');
    expect(modelName('gpt-4o:mini')).toBe('gpt-4o:mini');
    expect(imageDataUrl('/9j/4AAQ')).toBe('data:image/jpeg;base64,/9j/4AAQ');
    expect(imageDataUrl('iVBORw0')).toBe('data:image/png;base64,iVBORw0');
  });
});
