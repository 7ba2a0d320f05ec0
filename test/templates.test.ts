import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/shared/errors.js';
import { loadTemplate, renderTemplate } from '../src/templates.js';

describe('renderTemplate', () => {
  it('fills every placeholder, with or without inner spaces, and ignores unused vars', () => {
    expect(renderTemplate('server_name {{serverName}};\nlisten {{ port }}; # {{serverName}}', { serverName: 'relay.example.com', port: 443, unused: 'x' })).toBe(
      'server_name relay.example.com;\nlisten 443; # relay.example.com',
    );
  });

  it('keeps an empty string as a value', () => {
    expect(renderTemplate('hash={{deployHash}}', { deployHash: '' })).toBe('hash=');
  });

  it('names every placeholder that has no value', () => {
    const error = (() => {
      try {
        renderTemplate('{{a}} {{serverName}} {{appDir}} {{serverName}}', { a: '1' });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe('template needs a value for {{serverName}}, {{appDir}}');
  });

  it('does not read values from the object prototype', () => {
    expect(() => renderTemplate('{{toString}}', {})).toThrow('{{toString}}');
  });

  it('inserts values literally, even ones that look like placeholders or $ patterns', () => {
    expect(renderTemplate('{{a}}', { a: '$& {{b}}' })).toBe('$& {{b}}');
  });
});

describe('loadTemplate', () => {
  it('reads templates shipped in the package', () => {
    expect(loadTemplate('nginx/relay.conf')).toContain('{{serverName}}');
  });

  it('refuses names outside templates/ and explains a missing one', () => {
    expect(() => loadTemplate('../package.json')).toThrow(ConfigError);
    expect(() => loadTemplate('nginx/nope.conf')).toThrow(/template "nginx\/nope.conf" is missing/);
  });
});
