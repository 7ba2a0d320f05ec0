// Everything `relay deploy` (and `relay init`) needs to know before it can build the deploy plan:
// the bundle and templates on this machine, the token registry and TLS state on the host, RELAY_TOKEN
// from the operator's env file. No printing.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { appDirOwnerCheckCommand, appDirOwnerError } from '../app-dir.js';
import { buildDeployEnv, parseHostEnv, readLocalApiKey, relaySettings, renderDeployEnv } from '../deploy-env.js';
import { readEnvFileValue } from '../shared/env-local.js';
import { ConfigError, RelayError } from '../shared/errors.js';
import type { Host } from '../host/host.js';
import { shellQuote } from '../host/shell.js';
import { certDir } from '../plan/cert-plan.js';
import { buildDeployPlan, NGINX_SITE, type DeployTemplates, type RelayBundle, type TlsSettings } from '../plan/deploy-plan.js';
import type { Step } from '../plan/step.js';
import { emptyTokensFile, parseTokensFile, renderTokensFile } from '../shared/tokens-file.js';
import { RELAY_VERSION } from '../shared/version.js';
import { chooseDefaultToken, type DefaultTokenChoice } from './default-token.js';
import { generateSettings } from '../setting-sources.js';
import { loadTemplate } from '../templates.js';

export interface DeploySettings {
  appDir: string;
  serverName: string;
  baseImage: string;
  openaiBaseUrl?: string;
  /** Local file holding OPENAI_API_KEY (only that line goes to the host) and RELAY_TOKEN (only its hash does). */
  envFile: string;
  rotateToken?: boolean;
  /** `--set KEY=VALUE` relay settings and `--unset KEY`; others already on the host are kept. */
  set?: string[];
  unset?: string[];
  /** `--generate KEY`: a random secret for each KEY the host's .env does not hold yet. */
  generate?: string[];
  /**
   * HTTPS is about to be set up (`relay init` with a domain): until then port 80 serves no API.
   * Unset: whatever the live vhost does (a vhost waiting for its certificate keeps waiting).
   */
  tlsPending?: boolean;
}

export interface PreparedDeploy {
  steps: Step[];
  /** RELAY_TOKEN: unless 'kept', the command saves it to the env file before the host changes. */
  token: DefaultTokenChoice;
  tls: TlsSettings | undefined;
  /** Port 80 serves only ACME challenges and /health until a certificate is in place. */
  tlsPending: boolean;
  /** Secrets `--generate` made for this deploy, by name: the command saves them before the host changes. */
  generated: Record<string, string>;
}

/** dist/relay-server.mjs, relay-core.cjs and relay-tokenizer.cjs sit next to dist/cli.js, which this module is bundled into. */
export async function readBundle(): Promise<RelayBundle> {
  const [entry, core, tokenizer] = await Promise.all([
    readDistFile('./relay-server.mjs'),
    readDistFile('./relay-core.cjs'),
    readDistFile('./relay-tokenizer.cjs'),
  ]);
  return { entry, core, tokenizer };
}

async function readDistFile(name: string): Promise<Buffer> {
  const path = fileURLToPath(new URL(name, import.meta.url));
  try {
    return await readFile(path);
  } catch (error) {
    throw new ConfigError(`The relay bundle ${path} is missing.`, { fix: 'Run `npm run build` first.', cause: error });
  }
}

export function loadDeployTemplates(): DeployTemplates {
  return {
    nginx: loadTemplate('nginx/relay.conf'),
    nginxTls: loadTemplate('nginx/relay-tls.conf'),
    nginxProxy: loadTemplate('nginx/relay-proxy.conf'),
    nginxTlsPending: loadTemplate('nginx/relay-tls-pending.conf'),
    compose: loadTemplate('compose/compose.yaml'),
    dockerfile: loadTemplate('compose/Dockerfile'),
    systemd: loadTemplate('systemd/relay.service'),
  };
}

/** Stand-ins for --dry-run, which neither reads the host's tokens nor shows the key. */
export const DRY_RUN_SECRETS = {
  apiKey: '<OPENAI_API_KEY-from-env-file>',
  token: '<RELAY_TOKEN-kept-or-generated>',
  tokensFile: '<the host\'s tokens.json, with the hash of RELAY_TOKEN as "default">\n',
};

/** Builds the plan from placeholders, without touching any host: for --dry-run. */
export async function dryRunDeployPlan(settings: DeploySettings, placeholders = DRY_RUN_SECRETS): Promise<Step[]> {
  const envFile = renderDeployEnv({ ...buildDeployEnv({ apiKey: placeholders.apiKey, ...baseUrl(settings) }), settings: settingsFor(undefined, settings).settings });
  return buildDeployPlan({ ...planBase(settings), bundle: await readBundle(), envFile, tokensFile: placeholders.tokensFile, token: placeholders.token, templates: loadDeployTemplates() });
}

/**
 * Every deploy input checked without the host, by rendering the plan: the key in the env file (its
 * characters too), --set, --unset, --generate, the base URL and image.
 */
export async function checkDeployInputs(settings: DeploySettings): Promise<void> {
  await dryRunDeployPlan(settings, { ...DRY_RUN_SECRETS, apiKey: await readLocalApiKey(settings.envFile) });
}

export async function prepareDeploy(host: Host, settings: DeploySettings): Promise<PreparedDeploy> {
  const apiKey = await readLocalApiKey(settings.envFile);
  const bundle = await readBundle();
  await requireInstalled(host);
  await requireRelayAppDir(host, settings.appDir);
  const existing = await readHostFile(host, `${settings.appDir}/.env`);
  const tokensPath = `${settings.appDir}/tokens.json`;
  const tokensText = await readHostFile(host, tokensPath);
  const tokens = tokensText === undefined ? emptyTokensFile() : parseTokensFile(tokensText, `${host.label}:${tokensPath}`);
  const localToken = (await readEnvFileValue(settings.envFile, 'RELAY_TOKEN'))?.trim() || undefined;
  const token = chooseDefaultToken({
    tokens,
    ...(existing === undefined ? {} : { hostEnvText: existing }),
    ...(localToken === undefined ? {} : { localToken }),
    rotate: settings.rotateToken ?? false,
    now: Date.now(),
  });
  // Unchanged: the very bytes on the host, so a re-deploy writes nothing and signals no one.
  const tokensFile = token.tokens === tokens && tokensText !== undefined ? tokensText : renderTokensFile(token.tokens);
  // The upstream already on the host stays unless --openai-base-url names another.
  const keptBaseUrl = existing === undefined ? undefined : parseHostEnv(existing).OPENAI_BASE_URL;
  const upstream = settings.openaiBaseUrl ?? keptBaseUrl;
  const chosen = settingsFor(existing, settings);
  const envFile = renderDeployEnv({ ...buildDeployEnv({ apiKey, ...(upstream === undefined ? {} : { baseUrl: upstream }) }), settings: chosen.settings });
  const tls = await currentTls(host, settings.serverName);
  // A vhost still waiting for its certificate stays so: a later deploy must not open /v1 on port 80.
  const tlsPending = !tls && (settings.tlsPending ?? (await liveVhostAwaitsCertificate(host)));
  const steps = buildDeployPlan({ ...planBase(settings), bundle, envFile, tokensFile, token: token.token, templates: loadDeployTemplates(), tls, tlsPending });
  const generated = Object.fromEntries(chosen.generated.map((name) => [name, chosen.settings[name]!]));
  return { steps, token, tls, tlsPending, generated };
}

/** The host's settings, then --set/--unset over them, then a secret for each --generate still missing. */
function settingsFor(existing: string | undefined, settings: DeploySettings) {
  return generateSettings(settings.generate ?? [], relaySettings(existing, settings.set, settings.unset));
}

function planBase(settings: DeploySettings) {
  return { appDir: settings.appDir, serverName: settings.serverName, baseImage: settings.baseImage, version: RELAY_VERSION };
}

function baseUrl(settings: DeploySettings): { baseUrl?: string } {
  return settings.openaiBaseUrl === undefined ? {} : { baseUrl: settings.openaiBaseUrl };
}

/** Before any change: the app directory is absent (relay creates it) or relay's own. */
export async function requireRelayAppDir(host: Host, appDir: string): Promise<void> {
  const check = await host.run(appDirOwnerCheckCommand(appDir), { sudo: true });
  const refusal = appDirOwnerError(appDir, host.label, check.code);
  if (refusal) throw refusal;
}

async function requireInstalled(host: Host): Promise<void> {
  const probe = await host.run('command -v docker >/dev/null && docker compose version >/dev/null 2>&1 && command -v nginx >/dev/null', { sudo: true });
  if (probe.code !== 0) {
    throw new RelayError(`${host.label} has no Docker Compose v2 or no nginx yet.`, { fix: 'Run `relay install` first.' });
  }
}

/** A root-only file on the host, read into memory (it may hold the token); undefined if absent. Never printed. */
export async function readHostFile(host: Host, path: string): Promise<string | undefined> {
  const file = shellQuote(path);
  const result = await host.run(`if [ -f ${file} ]; then cat ${file}; else exit 3; fi`, { sudo: true });
  if (result.code === 3) return undefined;
  if (result.code !== 0) throw new RelayError(`could not read ${path} on ${host.label}: ${result.stderr.trim()}`);
  return result.stdout;
}

/** The live vhost is the one that waits for a certificate (relay-tls-pending.conf). */
async function liveVhostAwaitsCertificate(host: Host): Promise<boolean> {
  const probe = await host.run(`grep -qF 'the API is served over HTTPS only' ${NGINX_SITE}`, { sudo: true });
  return probe.code === 0;
}

/**
 * Once `relay cert` has obtained a certificate the vhost serves HTTPS; a later deploy keeps it so
 * (and keeps HSTS if the live vhost sends it) instead of falling back to plain HTTP.
 */
export async function currentTls(host: Host, serverName: string): Promise<TlsSettings | undefined> {
  const dir = certDir(serverName);
  const probe = await host.run(
    `test -s ${shellQuote(`${dir}/fullchain.pem`)} || exit 3; grep -q Strict-Transport-Security ${NGINX_SITE} 2>/dev/null && echo hsts; exit 0`,
    { sudo: true },
  );
  if (probe.code !== 0) return undefined;
  return { certDir: dir, hsts: probe.stdout.includes('hsts') };
}
