// Which proxy the relay takes for its upstream, read as undici and curl read the variables.
import { describe, expect, it } from 'vitest';
import { bypassesProxy, outboundProxyFor } from '../../src/relay/outbound-proxy.js';
import { hasUrlCredentials, redactUrlCredentials } from '../../src/shared/url-credentials.js';

describe('outbound proxy settings', () => {
  it('takes HTTPS_PROXY for an https upstream, falling back to HTTP_PROXY; lower case first', () => {
    expect(outboundProxyFor('https://api.openai.com', { HTTPS_PROXY: 'http://p:3128' })?.label).toBe('http://p:3128');
    expect(outboundProxyFor('https://api.openai.com', { HTTP_PROXY: 'http://p:8080' })?.label).toBe('http://p:8080');
    expect(outboundProxyFor('https://api.openai.com', { https_proxy: 'http://lower:1', HTTPS_PROXY: 'http://upper:2' })?.label).toBe('http://lower:1');
    expect(outboundProxyFor('http://10.0.0.2:8000', { HTTPS_PROXY: 'http://p:3128' })).toBeUndefined();
    expect(outboundProxyFor('https://api.openai.com', {})).toBeUndefined();
  });

  it('keeps credentials out of the label and sends them as Proxy-Authorization', () => {
    const proxy = outboundProxyFor('https://api.openai.com', { HTTPS_PROXY: 'http://us%40er:p%3Ass@p:3128' });
    expect(proxy?.label).toBe('http://p:3128');
    expect(proxy?.authorization).toBe(`Basic ${Buffer.from('us@er:p:ss').toString('base64')}`);
  });

  it('goes direct to what NO_PROXY lists: a host, its subdomains, a port, or *', () => {
    expect(bypassesProxy('localhost,.openai.com', 'api.openai.com', 443)).toBe(true);
    expect(bypassesProxy('openai.com', 'api.openai.com', 443)).toBe(true);
    expect(bypassesProxy('*.openai.com', 'api.openai.com', 443)).toBe(true);
    expect(bypassesProxy('notopenai.com', 'api.openai.com', 443)).toBe(false);
    expect(bypassesProxy('api.openai.com:8443', 'api.openai.com', 443)).toBe(false);
    expect(bypassesProxy('127.0.0.1:8000', '127.0.0.1', 8000)).toBe(true);
    expect(bypassesProxy('[::1]:8000', '[::1]', 8000)).toBe(true);
    expect(bypassesProxy('::1', '[::1]', 8000)).toBe(true);
    expect(bypassesProxy(' * ', 'anything', 1)).toBe(true);
    expect(outboundProxyFor('https://api.openai.com', { HTTPS_PROXY: 'http://p:3128', no_proxy: 'api.openai.com' })).toBeUndefined();
  });

  it('refuses a proxy that is not an http(s) URL, without echoing it', () => {
    expect(() => outboundProxyFor('https://api.openai.com', { HTTPS_PROXY: 'socks5://u:secret@p:1080' })).toThrow(/HTTPS_PROXY must be an http/);
    expect(() => outboundProxyFor('https://api.openai.com', { HTTPS_PROXY: 'not a url secret' })).toThrow(/^HTTPS_PROXY is not a URL\.$/);
  });

  it("redacts a URL's user:password wherever it is shown", () => {
    expect(redactUrlCredentials('HTTPS_PROXY=http://u:pw@p:3128\nREDIS_URL=redis://:pw@r:6379\nNO_PROXY=a,b')).toBe(
      'HTTPS_PROXY=http://***@p:3128\nREDIS_URL=redis://***@r:6379\nNO_PROXY=a,b',
    );
    expect(hasUrlCredentials('http://p:3128')).toBe(false);
    expect(hasUrlCredentials('http://u@p:3128')).toBe(true);
  });
});
