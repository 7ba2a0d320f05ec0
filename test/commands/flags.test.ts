// The flags several commands share, defined once: a bad value is refused while argv is parsed,
// in the error + fix shape, before any action runs.
import { Command, CommanderError } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  acmeServerOption,
  appDirOption,
  chooseAppDir,
  dockerSourceOption,
  domainOption,
  durationOption,
  graceOption,
  resolverOption,
  sinceTimeOption,
  wholeNumberOption,
} from '../../src/commands/flags.js';
import { printCommanderError } from '../../src/commands/output.js';
import { wholeNumber } from '../../src/shared/whole-number.js';

/** Parses argv with `options` the way src/cli.ts does; returns the option values or what was printed. */
function parse(options: ReturnType<typeof appDirOption>[], argv: string[]): { values?: Record<string, unknown>; stderr?: string } {
  let stderr = '';
  const write = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  const command = new Command('relay').exitOverride().configureOutput({ outputError: (text) => printCommanderError(text) });
  for (const option of options) command.addOption(option);
  try {
    command.parse(argv, { from: 'user' });
    return { values: command.opts() };
  } catch (error) {
    expect(error).toBeInstanceOf(CommanderError);
    return { stderr };
  } finally {
    write.mockRestore();
  }
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('--app-dir', () => {
  it('takes a directory of its own', () => {
    expect(parse([appDirOption()], ['--app-dir', '/srv/relay']).values).toEqual({ appDir: '/srv/relay' });
  });

  it('refuses a system directory or a path that is not plain, as error and fix lines', () => {
    const refused = parse([appDirOption()], ['--app-dir', '/etc']).stderr!;
    expect(refused).toMatch(/^\S*error\S* option '--app-dir <path>' argument '\/etc' is invalid\. \/etc is a system directory: .+\n/);
    expect(refused).toMatch(/\n\S*fix\S* {3}choose .*\/opt\/relay.*\n$/);
    expect(parse([appDirOption()], ['--app-dir', '/opt/../etc']).stderr).toMatch(/must be a plain absolute path/);
  });

  it('falls back to relay.json, then to /opt/relay', () => {
    expect(chooseAppDir('/srv/a', { appDir: '/srv/b' })).toBe('/srv/a');
    expect(chooseAppDir(undefined, { appDir: '/srv/b' })).toBe('/srv/b');
    expect(chooseAppDir(undefined, {})).toBe('/opt/relay');
  });
});

describe('whole-number flags', () => {
  it('read digits only, within the range', () => {
    expect(wholeNumber('0', 0)).toBe(0);
    expect(wholeNumber('65535', 0, 65_535)).toBe(65_535);
    for (const text of ['', ' 1', '1.0', '1e3', '-1', '0x10', '65536', 'ten']) expect(wholeNumber(text, 0, 65_535), text).toBeUndefined();
    expect(wholeNumber('0', 1)).toBeUndefined();
  });

  it('parse to a number, and refuse anything else naming the range and an example', () => {
    const rpm = () => wholeNumberOption('--rpm <n>', 'requests per minute', { min: 1, example: 60 });
    expect(parse([rpm()], ['--rpm', '120']).values).toEqual({ rpm: 120 });
    const refused = parse([rpm()], ['--rpm', '0']).stderr!;
    expect(refused).toMatch(/error\S* option '--rpm <n>' argument '0' is invalid\. It must be a whole number of at least 1\.\n/);
    expect(refused).toMatch(/fix\S* {3}pass a value such as --rpm 60\n$/);
    const port = () => wholeNumberOption('-p, --port <port>', 'port', { min: 0, max: 65_535, example: 3001 });
    expect(parse([port()], ['-p', '70000']).stderr).toMatch(/from 0 to 65535\.\n.*such as --port 3001/);
  });
});

describe('duration flags', () => {
  it('parse to milliseconds; --grace is 0 unless given', () => {
    expect(parse([graceOption('grace')], ['--grace', '15m']).values).toEqual({ grace: 900_000 });
    expect(parse([graceOption('grace')], []).values).toEqual({ grace: 0 });
    const expires = () => durationOption('--expires <duration>', 'expires', { example: '30d', positive: true });
    expect(parse([expires()], ['--expires', '30d']).values).toEqual({ expires: 2_592_000_000 });
    expect(parse([expires()], ['--expires', '90']).values).toEqual({ expires: 90_000 });
  });

  it('refuse anything else, and 0 where it means nothing, naming the form and an example', () => {
    const refused = parse([graceOption('grace')], ['--grace', '5x']).stderr!;
    expect(refused).toMatch(/error\S* option '--grace <duration>' argument '5x' is invalid\. It must be a duration such as 30s, 10m, 2h or 30d .*\n/);
    expect(refused).toMatch(/fix\S* {3}pass a value such as --grace 10m\n$/);
    const expires = () => durationOption('--expires <duration>', 'expires', { example: '30d', positive: true });
    expect(parse([expires()], ['--expires', '0']).stderr).toMatch(/argument '0' is invalid\. .*longer than 0\.\n.*such as --expires 30d/);
    expect(parse([expires()], ['--expires', 'yesterday']).stderr).toMatch(/argument 'yesterday' is invalid/);
  });
});

describe('--since of relay logs', () => {
  it('sends a duration to docker in seconds, which it reads (it does not read "30d")', () => {
    expect(parse([sinceTimeOption('since')], ['--since', '10m']).values).toEqual({ since: '600s' });
    expect(parse([sinceTimeOption('since')], ['--since', '30d']).values).toEqual({ since: '2592000s' });
  });

  it('sends a date or time as written', () => {
    for (const time of ['2025-01-31', '2025-01-31T12:00:00Z', '2025-01-31T12:00', '2025-01-31T12:00:00.5+02:00']) {
      expect(parse([sinceTimeOption('since')], ['--since', time]).values, time).toEqual({ since: time });
    }
  });

  it('refuses what is neither, and days that are not in their month', () => {
    for (const text of ['3 weeks', 'yesterday', '2025-13-01', '2025-02-30', '2025-01-31T25:00', '31/01/2025', "10m'; reboot"]) {
      const refused = parse([sinceTimeOption('since')], ['--since', text]).stderr;
      expect(refused, text).toMatch(/error\S* option '--since <when>' argument .* is invalid\. .*\n\S*fix\S* {3}pass a value such as --since 10m/);
    }
  });
});

describe('--domain, --resolver and --docker-source', () => {
  it('take a domain name, and refuse anything else with the fix of the domain check', () => {
    expect(parse([domainOption('domain')], ['--domain', 'relay.example.com']).values).toEqual({ domain: 'relay.example.com' });
    const refused = parse([domainOption('domain')], ['--domain', 'relay.example.com;reboot']).stderr;
    expect(refused).toMatch(/is not a domain name\.\n\S*fix\S* {3}Pass the name whose A record points at the host/);
  });

  it('--resolver takes an IP address with an optional port, and nothing else', () => {
    for (const text of ['1.1.1.1', '127.0.0.1:5353', '2606:4700:4700::1111', '[2606:4700:4700::1111]:53']) {
      expect(parse([resolverOption('resolver')], ['--resolver', text]).values, text).toEqual({ resolver: text });
    }
    for (const text of ['bogus', '1.1.1', '1.1.1.1:0', '1.1.1.1:dns', '[::1]:70000']) {
      const refused = parse([resolverOption('resolver')], ['--resolver', text]).stderr;
      expect(refused, text).toMatch(/is invalid\. It must be an IP address.*\n\S*fix\S* {3}pass a DNS server/);
    }
  });

  it('--acme-server takes an https:// URL, and nothing else', () => {
    expect(parse([acmeServerOption('ca')], ['--acme-server', 'https://127.0.0.1:14000/dir']).values).toEqual({ acmeServer: 'https://127.0.0.1:14000/dir' });
    for (const text of ['http://ca.example/dir', 'ca.example/dir']) {
      const refused = parse([acmeServerOption('ca')], ['--acme-server', text]).stderr;
      expect(refused, text).toMatch(/It must be the https:\/\/ URL .*\n\S*fix\S* {3}pass the CA's directory URL/);
    }
  });

  it('take official (the default) or distro', () => {
    expect(parse([dockerSourceOption('source')], []).values).toEqual({ dockerSource: 'official' });
    expect(parse([dockerSourceOption('source')], ['--docker-source', 'distro']).values).toEqual({ dockerSource: 'distro' });
    const refused = parse([dockerSourceOption('source')], ['--docker-source', 'snap']).stderr;
    expect(refused).toMatch(/It must be one of official, distro\.\n\S*fix\S* {3}pass --docker-source official/);
  });
});

describe("commander's own refusals", () => {
  it('get a fix line too', () => {
    const unknown = parse([appDirOption()], ['--app-dri', '/srv/relay']).stderr!;
    expect(unknown).toMatch(/error\S* unknown option '--app-dri'\n\S*fix\S* {3}Did you mean --app-dir\?\n$/);
    const missing = parse([appDirOption()], ['--app-dir']).stderr!;
    expect(missing).toMatch(/error\S* option '--app-dir <path>' argument missing\n\S*fix\S* {3}run the command with --help/);
  });
});
