// `--host [user@]host[:port]`: what the operator types, split into its parts.
import { ConfigError } from '../shared/errors.js';
import { wholeNumber } from '../shared/whole-number.js';

export interface Target {
  user?: string;
  host: string;
  port?: number;
}

const USER = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
// A DNS name, an IPv4 address or an ssh_config alias; IPv6 is handled apart.
const NAME = /^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;
const IPV6 = /^[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?$/;

const TARGET_FIX = 'use --host [user@]host[:port], e.g. root@203.0.113.7, ops@relay.example.com:2222 or root@[2001:db8::7]:22';

export function parseTarget(text: string): Target {
  const input = text.trim();
  const fail = (why: string): never => {
    throw new ConfigError(`--host "${text}" is not a valid target: ${why}`, { fix: TARGET_FIX });
  };
  if (input === '') fail('it is empty');

  let rest = input;
  let user: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at !== -1) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
    if (!USER.test(user)) fail(`"${user}" is not a user name`);
  }

  let host: string;
  let portText: string | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close === -1) fail('"[" without a closing "]"');
    host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) fail(`unexpected "${after}" after "]"`);
      portText = after.slice(1);
    }
    if (!IPV6.test(host) || !host.includes(':')) fail(`"${host}" is not an IPv6 address`);
  } else if ((rest.match(/:/g) ?? []).length > 1) {
    // Several colons and no brackets: a bare IPv6 address, which cannot carry a port.
    host = rest;
    if (!IPV6.test(host)) fail(`"${host}" is not an IPv6 address`);
  } else {
    const colon = rest.indexOf(':');
    host = colon === -1 ? rest : rest.slice(0, colon);
    if (colon !== -1) portText = rest.slice(colon + 1);
    if (!NAME.test(host)) fail(host === '' ? 'the host is missing' : `"${host}" is not a host name or address`);
  }

  const target: Target = { host };
  if (user !== undefined) target.user = user;
  if (portText !== undefined) {
    const port = wholeNumber(portText, 1, 65_535);
    if (port === undefined) fail(`the port must be a whole number from 1 to 65535; got "${portText}"`);
    target.port = port;
  }
  return target;
}

/** The inverse of parseTarget, for messages and for the project file. */
export function formatTarget(target: Target): string {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  const user = target.user === undefined ? '' : `${target.user}@`;
  return target.port === undefined ? `${user}${host}` : `${user}${host}:${target.port}`;
}
