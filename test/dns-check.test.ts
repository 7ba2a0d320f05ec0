// `relay cert` checks DNS before it asks the CA: against a real DNS server on loopback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDomainPointsAtHost, DnsMismatchError, resolveDomain } from '../src/dns-check.js';
import { startTestDns, type TestDns } from './support/challtestsrv.js';
import { hasSystemComponent } from './support/system-component.js';

const hasDns = hasSystemComponent('pebble-challtestsrv', 'pebble');
let dns: TestDns;
beforeAll(async () => {
  if (hasDns) dns = await startTestDns();
});
afterAll(() => dns?.stop());

describe.skipIf(!hasDns)('the DNS preflight of relay cert', () => {
  it('passes when the records point at the host', async () => {
    await dns.setA('good.relay.test', ['127.0.0.2']);
    const records = await resolveDomain('good.relay.test', dns.server);
    expect(records).toEqual({ v4: ['127.0.0.2'], v6: [] });
    expect(() => checkDomainPointsAtHost('good.relay.test', records, ['127.0.0.2', '172.17.0.2'])).not.toThrow();
  });

  it('names the addresses on both sides when they differ', async () => {
    await dns.setA('moved.relay.test', ['127.0.0.9']);
    const records = await resolveDomain('moved.relay.test', dns.server);
    const error = (() => {
      try {
        checkDomainPointsAtHost('moved.relay.test', records, ['127.0.0.2']);
      } catch (caught) {
        return caught as DnsMismatchError;
      }
    })();
    expect(error).toBeInstanceOf(DnsMismatchError);
    expect(error?.message).toBe('DNS for moved.relay.test points to 127.0.0.9, not this host (127.0.0.2).');
    expect(error?.fix).toContain('Update the A record of moved.relay.test to 127.0.0.2');
  });

  it('refuses a stray AAAA record', async () => {
    await dns.setA('dual.relay.test', ['127.0.0.2']);
    await dns.setAAAA('dual.relay.test', ['fd00::9']);
    const records = await resolveDomain('dual.relay.test', dns.server);
    expect(() => checkDomainPointsAtHost('dual.relay.test', records, ['127.0.0.2'])).toThrow(/fd00::9/);
  });

  it('says so when there is no record at all', async () => {
    const records = await resolveDomain('missing.relay.test', dns.server);
    expect(() => checkDomainPointsAtHost('missing.relay.test', records, ['127.0.0.2'])).toThrow('missing.relay.test has no A or AAAA record.');
  });
});
