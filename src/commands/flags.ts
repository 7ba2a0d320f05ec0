// Every flag whose value needs checking, each kind defined once: a commander Option whose argParser
// refuses a bad value while argv is parsed, so no action runs and nothing connects (issues 15.9, 17.5).
import { isIP } from 'node:net';
import { InvalidArgumentError, Option } from 'commander';
import { APP_DIR_FIX, appDirRefusal } from '../app-dir.js';
import { checkDomainName } from '../dns-check.js';
import { acmeServerFor } from '../plan/cert-plan.js';
import { DOCKER_SOURCES, type DockerSource } from '../plan/install-plan.js';
import { DEFAULT_APP_DIR } from '../plan/operate.js';
import type { ProjectSettings } from '../project-file.js';
import { parseDuration } from '../shared/duration.js';
import { RelayError } from '../shared/errors.js';
import { wholeNumber } from '../shared/whole-number.js';

/**
 * A flag value refused by its argParser. commander prints "error: option ... is invalid. <message>";
 * the fix rides on the message's second line, and printCommanderError turns both into error + fix.
 */
export class InvalidFlagError extends InvalidArgumentError {
  constructor(message: string, fix: string) {
    super(`${message}\n${fix}`);
  }
}

/** `--app-dir <path>`: a system directory or a path that is not plain is refused before any action. */
export function appDirOption(): Option {
  return new Option('--app-dir <path>', `where the relay lives on the host (default: from relay.json, else ${DEFAULT_APP_DIR})`).argParser((path: string) => {
    const refusal = appDirRefusal(path);
    if (refusal !== undefined) throw new InvalidFlagError(`${path} ${refusal}`, APP_DIR_FIX);
    return path;
  });
}

/** --app-dir, else relay.json's appDir, else the default; the first two were checked when read. */
export function chooseAppDir(flag: string | undefined, project: ProjectSettings): string {
  return flag ?? project.appDir ?? DEFAULT_APP_DIR;
}

/** An option taking a whole number in min..max, e.g. `--rpm <n>`; `example` is a good value. */
export function wholeNumberOption(flags: string, description: string, range: { min: number; max?: number; example: number }): Option {
  const option = new Option(flags, description);
  const expected = range.max === undefined ? `a whole number of at least ${range.min}` : `a whole number from ${range.min} to ${range.max}`;
  return option.argParser((text: string) => {
    const n = wholeNumber(text, range.min, range.max);
    if (n === undefined) throw new InvalidFlagError(`It must be ${expected}.`, `pass a value such as ${option.long} ${range.example}`);
    return n;
  });
}

const DURATION_FORM = 'a duration such as 30s, 10m, 2h or 30d (a bare number is seconds)';

/** `--env-file <path>`: the operator's dotenv file (OPENAI_API_KEY, RELAY_TOKEN), .env.local unless given. */
export function envFileOption(description: string): Option {
  return new Option('--env-file <path>', description).default('.env.local');
}

/** `--grace <duration>` of a token rotation: how long the old value keeps working (default 0: not at all). */
export function graceOption(description: string): Option {
  return durationOption('--grace <duration>', description, { example: '10m' }).default(0);
}

/** An option taking a duration, parsed to milliseconds, e.g. `--grace <duration>`; `positive`: 0 is refused. */
export function durationOption(flags: string, description: string, range: { example: string; positive?: boolean }): Option {
  const option = new Option(flags, description);
  return option.argParser((text: string) => {
    const ms = parsed(() => parseDuration(text, option.long!));
    if (ms === undefined || (range.positive && ms === 0)) {
      const form = range.positive ? `${DURATION_FORM}, longer than 0` : DURATION_FORM;
      throw new InvalidFlagError(`It must be ${form}.`, `pass a value such as ${option.long} ${range.example}`);
    }
    return ms;
  });
}

// What docker's --since takes besides a duration: an RFC 3339 date or time (no zone: the host's).
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?(?:Z|[+-]\d{2}:\d{2})?$/;

/**
 * `--since <when>` of `relay logs`: a duration back from now (sent to docker in seconds, which it
 * reads, unlike "30d") or a date/time such as 2025-01-31T12:00:00Z (sent as written).
 */
export function sinceTimeOption(description: string): Option {
  return new Option('--since <when>', description).argParser((text: string) => {
    const ms = parsed(() => parseDuration(text, '--since'));
    if (ms !== undefined) return `${Math.ceil(ms / 1_000)}s`;
    const date = DATE_TIME.exec(text);
    // Date.parse rolls 2025-02-30 over to March; a day that is not in its month is refused instead.
    const day = date && new Date(Date.UTC(Number(date[1]), Number(date[2]) - 1, Number(date[3])));
    if (day && !Number.isNaN(Date.parse(text)) && day.getUTCDate() === Number(date[3])) return text;
    throw new InvalidFlagError(
      `It must be ${DURATION_FORM}, or a time such as 2025-01-31T12:00:00Z.`,
      'pass a value such as --since 10m or --since 2025-01-31T12:00:00Z',
    );
  });
}

/** `--domain <name>`: a domain name, refused as `checkDomainName` refuses it. */
export function domainOption(description: string): Option {
  return new Option('--domain <name>', description).argParser((text: string) => refusedAsFlag(() => checkDomainName(text)));
}

/** `--resolver <ip[:port]>`: a DNS server as Resolver.setServers takes it. */
export function resolverOption(description: string): Option {
  return new Option('--resolver <ip[:port]>', description).argParser((text: string) => {
    const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
    const [address, port] = bracketed ? [bracketed[1]!, bracketed[2]] : isIP(text) === 6 ? [text, undefined] : (text.split(':', 2) as [string, string | undefined]);
    if (isIP(address) === 0 || (port !== undefined && wholeNumber(port, 1, 65_535) === undefined)) {
      const fix = 'pass a DNS server as ip[:port], e.g. --resolver 1.1.1.1 or --resolver [2606:4700:4700::1111]:53';
      throw new InvalidFlagError('It must be an IP address, with an optional port.', fix);
    }
    return text;
  });
}

/** `--acme-server <url>`: another CA's ACME directory, an https:// URL as acmeServerFor takes it. */
export function acmeServerOption(description: string): Option {
  return new Option('--acme-server <url>', description).argParser((text: string) => {
    if (parsed(() => acmeServerFor({ acmeServer: text })) === undefined) {
      const fix = "pass the CA's directory URL, e.g. --acme-server https://acme.example/directory";
      throw new InvalidFlagError('It must be the https:// URL of an ACME directory.', fix);
    }
    return text;
  });
}

/** `--docker-source <source>`: where Docker comes from on the host. */
export function dockerSourceOption(description: string): Option {
  return new Option('--docker-source <source>', description).default('official').argParser((text: string): DockerSource => {
    if (!(DOCKER_SOURCES as readonly string[]).includes(text)) {
      const fix = "pass --docker-source official (Docker's apt repository) or --docker-source distro";
      throw new InvalidFlagError(`It must be one of ${DOCKER_SOURCES.join(', ')}.`, fix);
    }
    return text as DockerSource;
  });
}

/** What `check` returns, or undefined when it refuses the value with a RelayError. */
function parsed<T>(check: () => T): T | undefined {
  try {
    return check();
  } catch (error) {
    if (error instanceof RelayError) return undefined;
    throw error;
  }
}

/** What `check` returns; its RelayError (message and fix) becomes commander's refusal of the flag. */
function refusedAsFlag<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof RelayError) throw new InvalidFlagError(error.message, error.fix ?? 'run the command with --help: it lists its options, with examples');
    throw error;
  }
}
