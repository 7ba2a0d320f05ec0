// `relay deploy` as data: the app directory, the token registry (RELAY_TOKEN's hash as "default"),
// the bundle + Dockerfile + compose.yaml + .env, the container built and started only when one of
// those changed, the boot unit, the nginx vhost (validated before reload, restored if rejected), and
// a real request through nginx at the end. Pure: the bundle, the template texts, the .env and
// tokens.json texts and the token are passed in.
import { createHash } from 'node:crypto';
import { APP_DIR_MARKER, checkAppDir } from '../app-dir.js';
import { ConfigError } from '../shared/errors.js';
import type { FileSpec } from '../host/host.js';
import { shellQuote } from '../host/shell.js';
import { renderTemplate } from '../templates.js';
import { CONTAINER_HEALTHY, CONTAINER_NAME, DEPLOY_HASH_LABEL, composeCommand, waitHealthyCommand } from './operate.js';
import type { Step } from './step.js';

export const DEFAULT_BASE_IMAGE = 'node:24-alpine';
export const CONTAINER_PORT = 3001;
export const ACME_ROOT = '/var/www/relay-acme';
export const NGINX_SITE = '/etc/nginx/sites-available/relay.conf';
export const NGINX_ENABLED = '/etc/nginx/sites-enabled/relay.conf';
export const SYSTEMD_UNIT = '/etc/systemd/system/relay.service';
export const NGINX_PROXY_SNIPPET = '/etc/nginx/snippets/relay-proxy.conf';

/** The template texts, as loadTemplate returns them; passed in so the plan does no I/O. */
export interface DeployTemplates {
  nginx: string;
  /** The HTTPS vhost, used once a certificate exists (`relay cert`). */
  nginxTls: string;
  /** The proxy settings the vhosts include. */
  nginxProxy: string;
  /** Port 80 of a domain waiting for its certificate: ACME challenges and /health only. */
  nginxTlsPending: string;
  compose: string;
  dockerfile: string;
  systemd: string;
}

export interface DeployInput {
  appDir: string;
  /** nginx server_name: the domain, or else the host's address. */
  serverName: string;
  baseImage: string;
  /** relay's package version: the image tag and its version label. */
  version: string;
  bundle: RelayBundle;
  /** The host's .env, from renderDeployEnv. */
  envFile: string;
  /** The host's tokens.json, RELAY_TOKEN's hash as "default" (default-token.ts). */
  tokensFile: string;
  /** RELAY_TOKEN itself, from the operator's env file: the verification sends it, on stdin only. */
  token: string;
  templates: DeployTemplates;
  /** Serve HTTPS with the certificate in `certDir` (set once `relay cert` obtained one). */
  tls?: TlsSettings;
  /** HTTPS is wanted but has no certificate yet: port 80 serves no API meanwhile. Ignored with `tls`. */
  tlsPending?: boolean;
  /** Loopback port the container is published on (nginx's upstream). */
  hostPort?: number;
  /** RELAY_SHUTDOWN_GRACE in seconds; Docker's stop_grace_period is 15s more. */
  shutdownGraceSec?: number;
  healthTimeoutSec?: number;
}

/** The relay as built by `npm run build`: the entry point and the bundle it starts. */
export interface RelayBundle {
  /** dist/relay-server.mjs */
  entry: Buffer;
  /** dist/relay-core.cjs */
  core: Buffer;
  /** dist/relay-tokenizer.cjs, loaded by the bundle on the first count_tokens */
  tokenizer: Buffer;
}

export interface TlsSettings {
  certDir: string;
  /** Send Strict-Transport-Security (opt-in: browsers then refuse plain HTTP for a year). */
  hsts: boolean;
}

export interface RenderedApp {
  dockerfile: string;
  compose: string;
  nginx: string;
  systemd: string;
  /** sha256 over everything the container is made of; a label on the container. */
  deployHash: string;
}

const SERVER_NAME = /^(?:[A-Za-z0-9_*](?:[A-Za-z0-9_.*-]*[A-Za-z0-9_])?|\[[0-9A-Fa-f:.]+\])$/;
// Image references: [registry/]name[:tag][@digest], lower-case path components.
const IMAGE_REF = /^[a-z0-9][a-z0-9._\/:@-]*$/i;

function validate(input: DeployInput): void {
  if (!SERVER_NAME.test(input.serverName)) {
    throw new ConfigError(`"${input.serverName}" cannot be an nginx server_name.`, { fix: 'Pass --domain relay.example.com (or an IP address).' });
  }
  if (!IMAGE_REF.test(input.baseImage)) {
    throw new ConfigError(`--base-image "${input.baseImage}" is not an image reference.`, { fix: `Use a reference such as ${DEFAULT_BASE_IMAGE}.` });
  }
  checkAppDir(input.appDir);
}

/** Renders the four templates; the compose file carries the hash of all the container's inputs. */
export function renderApp(input: DeployInput): RenderedApp {
  validate(input);
  const grace = input.shutdownGraceSec ?? 30;
  const dockerfile = renderTemplate(input.templates.dockerfile, {
    appDir: input.appDir,
    baseImage: input.baseImage,
    version: input.version,
    containerPort: String(CONTAINER_PORT),
  });
  const composeVars = {
    appDir: input.appDir,
    version: input.version,
    hostPort: String(input.hostPort ?? CONTAINER_PORT),
    containerPort: String(CONTAINER_PORT),
    shutdownGrace: `${grace}s`,
    stopGracePeriod: `${grace + 15}s`,
  };
  const hash = createHash('sha256');
  // tokens.json is not part of it: the running relay re-reads it, so a rotated token needs no new container.
  const { entry, core, tokenizer } = input.bundle;
  for (const part of [entry, core, tokenizer, dockerfile, input.envFile, renderTemplate(input.templates.compose, { ...composeVars, deployHash: '' })]) {
    hash.update(createHash('sha256').update(part).digest());
  }
  const deployHash = hash.digest('hex');
  return {
    dockerfile,
    compose: renderTemplate(input.templates.compose, { ...composeVars, deployHash }),
    nginx: renderVhost(input),
    systemd: renderTemplate(input.templates.systemd, { appDir: input.appDir, stopTimeout: `${grace + 45}s` }),
    deployHash,
  };
}

/** What the nginx vhost is made of: a subset of DeployInput, so `relay cert` needs no bundle. */
export interface VhostInput {
  appDir: string;
  serverName: string;
  templates: Pick<DeployTemplates, 'nginx' | 'nginxTls' | 'nginxProxy' | 'nginxTlsPending'>;
  tls?: TlsSettings;
  tlsPending?: boolean;
  hostPort?: number;
}

type VhostMode = 'http' | 'https' | 'tls-pending';

function vhostMode(input: Pick<VhostInput, 'tls' | 'tlsPending'>): VhostMode {
  if (input.tls) return 'https';
  return input.tlsPending ? 'tls-pending' : 'http';
}

function renderVhost(input: VhostInput): string {
  const vars = { serverName: input.serverName, upstreamPort: String(input.hostPort ?? CONTAINER_PORT), acmeRoot: ACME_ROOT };
  if (!input.tls) return renderTemplate(input.tlsPending ? input.templates.nginxTlsPending : input.templates.nginx, vars);
  return renderTemplate(input.templates.nginxTls, {
    ...vars,
    certDir: input.tls.certDir,
    hstsDirective: input.tls.hsts ? 'add_header Strict-Transport-Security "max-age=31536000" always;' : '# (HSTS off)',
  });
}

const rootFile = (path: string, content: string | Buffer, mode = '0644'): FileSpec => ({ path, content, mode, owner: 'root:root' });

/** Staged copy of the vhost in the app dir; the live one is replaced only after `nginx -t`. */
export function stagedVhostPath(appDir: string): string {
  return `${appDir}/nginx/relay.conf`;
}

// $1 staged vhost, $2 live vhost, $3 sites-enabled link, $4 backup of the live one.
const INSTALL_VHOST = `if [ -e "$2" ]; then cp -p "$2" "$4"; else rm -f "$4"; fi
install -m 0644 -o root -g root "$1" "$2"
ln -sfn "$2" "$3"
if ! nginx -t; then
  if [ -e "$4" ]; then cp -p "$4" "$2"; else rm -f "$2" "$3"; fi
  echo "nginx -t rejected the new relay vhost; the previous one is back in place and nginx was not reloaded" >&2
  exit 1
fi
systemctl reload-or-restart nginx`;

/** Installs the staged vhost as the live one; restores the previous one if `nginx -t` rejects it. */
export function installVhostCommand(staged: string): string {
  return `sh -c ${shellQuote(INSTALL_VHOST)} install-vhost ${shellQuote(staged)} ${NGINX_SITE} ${NGINX_ENABLED} ${shellQuote(`${staged}.previous`)}`;
}

/** Reads the token the step gets on stdin into $token, where verifyThroughNginxCommand expects it. */
const READ_TOKEN = 'IFS= read -r token';

/**
 * A real request through nginx: /health must answer 200, and /v1/models with the token must not
 * be 401. The token, in $token (READ_TOKEN), reaches curl through a pipe (`--config -`) from the
 * shell's printf builtin: never argv, never a file. While HTTPS is pending, port 80 must refuse
 * /v1 (503) and the token is checked on loopback.
 */
export function verifyThroughNginxCommand(serverName: string, mode: VhostMode = 'http', upstreamPort = CONTAINER_PORT): string {
  const host = shellQuote(`Host: ${serverName}`);
  // With HTTPS, port 80 only redirects: ask nginx on 443 with the right SNI. -k because this host
  // need not trust a private CA; \`relay cert\` checks the chain from the operator's machine.
  const base = mode === 'https' ? `https://${serverName}` : 'http://127.0.0.1';
  const via = mode === 'https' ? ` -k --resolve ${shellQuote(`${serverName}:443:127.0.0.1`)}` : '';
  const pendingCheck = `code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 -H ${host} http://127.0.0.1/v1/models) || code=000
if [ "$code" != 503 ]; then echo "GET /v1/models on port 80 answered $code, not 503: the API must not be served over plain HTTP" >&2; exit 1; fi
`;
  const tokenTarget = mode === 'tls-pending' ? ` http://127.0.0.1:${upstreamPort}/v1/models` : `${via} -H ${host} ${base}/v1/models`;
  return `code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10${via} -H ${host} ${base}/health) || code=000
if [ "$code" != 200 ]; then echo "GET /health through nginx answered $code, not 200" >&2; exit 1; fi
${mode === 'tls-pending' ? pendingCheck : ''}body=$(mktemp); trap 'rm -f "$body"' EXIT
code=$(printf 'header = "Authorization: Bearer %s"\\n' "$token" \\
  | curl -sS -o "$body" -w '%{http_code}' --max-time 60 --config -${tokenTarget}) || code=000
case "$code" in
  401) if grep -q 'relay token' "$body"; then echo "the relay refused its own RELAY_TOKEN (401)" >&2; else echo "the upstream refused OPENAI_API_KEY (401): check the key in your .env.local" >&2; fi; exit 1 ;;
  000) echo "GET /v1/models through nginx got no answer" >&2; exit 1 ;;
esac
exit 0`;
}

/** Repeats `check` (quietly) until it passes; at the deadline runs it once more to show why not. */
function pollCommand(check: string, timeoutSec: number): string {
  return `waited=0
until (
${check}
) 2>/dev/null; do
  if [ "$waited" -ge ${timeoutSec} ]; then (
${check}
); exit 1; fi
  sleep 2; waited=$((waited + 2))
done`;
}

/** The nginx vhost (HTTP, or HTTPS with `input.tls`), validated by `nginx -t` before it goes live. */
export function vhostStep(input: VhostInput): Step {
  const staged = stagedVhostPath(input.appDir);
  const note = { http: '', https: ' (HTTPS)', 'tls-pending': ' (port 80: ACME and /health only, until HTTPS)' }[vhostMode(input)];
  return {
    id: 'nginx.vhost',
    title: `Configure the nginx vhost for ${input.serverName}${note}`,
    check: `cmp -s ${shellQuote(staged)} ${NGINX_SITE} && [ "$(readlink ${NGINX_ENABLED})" = ${NGINX_SITE} ]`,
    files: [rootFile(staged, renderVhost(input)), rootFile(NGINX_PROXY_SNIPPET, input.templates.nginxProxy)],
    apply: [installVhostCommand(staged)],
    fix: 'Run `sudo nginx -t` on the host to see what nginx rejects.',
  };
}

export function buildDeployPlan(input: DeployInput): Step[] {
  const app = renderApp(input);
  const dir = input.appDir;
  const q = shellQuote;
  const mode = vhostMode(input);
  const verify = verifyThroughNginxCommand(input.serverName, mode, input.hostPort ?? CONTAINER_PORT);
  return [
    {
      id: 'app.dir',
      title: `Create the app directory ${dir}`,
      check: `[ "$(stat -c '%U:%G %a' ${q(dir)} 2>/dev/null)" = 'root:root 755' ]`,
      // The marker tells a later deploy that this directory is relay's (see app-dir.ts).
      files: [rootFile(`${dir}/${APP_DIR_MARKER}`, 'This directory was created by relay (`relay deploy`); relay manages everything in it.\n')],
      apply: [`install -d -m 0755 -o root -g root ${q(dir)}`],
    },
    {
      id: 'tokens.registry',
      title: `Register RELAY_TOKEN as the "default" token in ${dir}/tokens.json (its hash only)`,
      // Before the .env without RELAY_TOKEN goes up: a relay running from an old host's .env
      // takes the same token from the registry first (SIGHUP; none runs on a first deploy).
      files: [rootFile(`${dir}/tokens.json`, input.tokensFile, '0600')],
      apply: [`docker kill --signal HUP ${CONTAINER_NAME} >/dev/null 2>&1 || true`],
    },
    {
      id: 'app.env',
      title: `Write the relay's environment to ${dir}/.env (root-only; no token)`,
      // In the deploy hash: a change the container must see rebuilds it below. Rewritten on its own,
      // an old host's RELAY_TOKEN lines go without restarting the container (and failing requests).
      files: [rootFile(`${dir}/.env`, input.envFile, '0600')],
      apply: [],
    },
    {
      id: 'app.container',
      title: 'Upload the relay and build and start its container',
      // Up to date when the running container was made from exactly these files.
      check: `[ "$(docker inspect -f '{{index .Config.Labels "${DEPLOY_HASH_LABEL}"}} {{.State.Running}}' ${CONTAINER_NAME} 2>/dev/null)" = '${app.deployHash} true' ]`,
      files: [
        rootFile(`${dir}/relay-server.mjs`, input.bundle.entry),
        rootFile(`${dir}/relay-core.cjs`, input.bundle.core),
        rootFile(`${dir}/relay-tokenizer.cjs`, input.bundle.tokenizer),
        rootFile(`${dir}/Dockerfile`, app.dockerfile),
        rootFile(`${dir}/compose.yaml`, app.compose),
      ],
      apply: [
        composeCommand(dir, 'build'),
        composeCommand(dir, 'up -d --remove-orphans'),
        // The tag moved to the new build: drop relay's untagged old images, nothing else.
        'docker image prune -f --filter label=org.opencontainers.image.title=relay >/dev/null',
      ],
      fix: `Look at the build output above; on the host, \`sudo ${composeCommand(dir, 'logs relay')}\` shows why the container stops.`,
    },
    {
      id: 'app.healthy',
      title: 'Wait until the relay container is healthy',
      check: CONTAINER_HEALTHY,
      apply: [waitHealthyCommand(input.healthTimeoutSec ?? 120)],
      fix: 'The container did not pass its healthcheck: `relay logs -n 100` shows why.',
    },
    {
      id: 'systemd.unit',
      title: 'Install the relay.service boot unit',
      check: 'systemctl is-enabled --quiet relay.service',
      files: [rootFile(SYSTEMD_UNIT, app.systemd)],
      apply: ['systemctl daemon-reload', 'systemctl enable relay.service', 'systemctl start relay.service'],
    },
    {
      id: 'nginx.acme-root',
      title: `Create the ACME webroot ${ACME_ROOT}`,
      check: `test -d ${ACME_ROOT}`,
      apply: [`install -d -m 0755 -o root -g root ${ACME_ROOT}`],
    },
    vhostStep(input),
    {
      id: 'verify.nginx',
      title: mode === 'tls-pending'
        ? `Verify port 80 (Host: ${input.serverName}) serves /health and refuses the API until HTTPS`
        : `Verify a request through nginx (Host: ${input.serverName})`,
      check: `${READ_TOKEN}\n${verify}`,
      // Right after a reload the old workers may still answer for a moment: poll, do not sleep.
      apply: [`${READ_TOKEN}\n${pollCommand(verify, 30)}`],
      stdin: `${input.token}\n`,
      fix: input.tls
        ? `On the host, \`curl -vk --resolve ${input.serverName}:443:127.0.0.1 https://${input.serverName}/health\` and \`sudo nginx -T\` show what answers instead.`
        : `On the host, \`curl -v -H "Host: ${input.serverName}" http://127.0.0.1/health\` and \`sudo nginx -T\` show what answers instead.`,
    },
  ];
}
