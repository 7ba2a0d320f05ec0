// Remote commands for operating a deployed relay (logs, restart, status) and for waiting on its
// health: pure builders of shell text, plus the parser of the status report. Run as root.
import { parseDotenv } from '../shared/env-local.js';
import { shellQuote } from '../host/shell.js';
import type { Step } from './step.js';

export const DEFAULT_APP_DIR = '/opt/relay';
/** compose.yaml sets container_name, so plain `docker` commands can name it. */
export const CONTAINER_NAME = 'relay';
export const IMAGE_VERSION_LABEL = 'org.opencontainers.image.version';
export const DEPLOY_HASH_LABEL = 'relay.deploy-hash';

export function composeCommand(appDir: string, args: string): string {
  return `docker compose -f ${shellQuote(`${appDir}/compose.yaml`)} ${args}`;
}

// Health when the image has a healthcheck, else the plain state ("running", "exited").
const HEALTH_FORMAT = '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}';

/** Polls the container's health until "healthy"; on timeout prints its last log lines and fails. */
export function waitHealthyCommand(timeoutSec = 120): string {
  return `waited=0
while :; do
  s=$(docker inspect -f '${HEALTH_FORMAT}' ${CONTAINER_NAME} 2>/dev/null || echo missing)
  [ "$s" = healthy ] && exit 0
  if [ "$waited" -ge ${timeoutSec} ]; then
    echo "the relay container is not healthy after ${timeoutSec}s (state: $s); its last log lines:" >&2
    docker logs --tail 30 ${CONTAINER_NAME} >&2 2>&1
    exit 1
  fi
  sleep 2; waited=$((waited + 2))
done`;
}

export const CONTAINER_HEALTHY = `[ "$(docker inspect -f '${HEALTH_FORMAT}' ${CONTAINER_NAME} 2>/dev/null)" = healthy ]`;

export interface LogsOptions {
  follow?: boolean;
  /** Docker's --since: '10m', '2h', an RFC 3339 time. */
  since?: string;
  /** Number of lines from the end; undefined means Docker's default (all). */
  tail?: number;
}

export function logsCommand(options: LogsOptions = {}): string {
  const args = ['docker', 'logs'];
  if (options.tail !== undefined) args.push('--tail', String(options.tail));
  if (options.since !== undefined) args.push('--since', shellQuote(options.since));
  if (options.follow) args.push('--follow');
  args.push(CONTAINER_NAME);
  return args.join(' ');
}

/** `relay restart` as a step, for --dry-run and for the executor: restart, then wait until healthy. */
export function restartSteps(appDir: string, healthTimeoutSec = 120): Step[] {
  return [
    {
      id: 'relay.restart',
      title: 'Restart the relay container and wait until healthy',
      apply: [composeCommand(appDir, 'restart relay'), waitHealthyCommand(healthTimeoutSec)],
      fix: `Look at \`relay logs -n 100\`, or \`sudo ${composeCommand(appDir, 'ps')}\` on the host.`,
    },
  ];
}

/**
 * One read-only script printing `key=value` lines. It reads no token: the host keeps only hashes,
 * and the fingerprint comes from tokens.json (operations/tokens.ts).
 */
export function statusCommand(options: { appDir: string; domain?: string }): string {
  const lines = [
    `c=${CONTAINER_NAME}`,
    `echo "container.state=$(docker inspect -f '{{.State.Status}}' "$c" 2>/dev/null || echo missing)"`,
    `echo "container.health=$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$c" 2>/dev/null)"`,
    `echo "container.startedAt=$(docker inspect -f '{{.State.StartedAt}}' "$c" 2>/dev/null)"`,
    `echo "container.restarts=$(docker inspect -f '{{.RestartCount}}' "$c" 2>/dev/null)"`,
    `img=$(docker inspect -f '{{.Image}}' "$c" 2>/dev/null)`,
    'echo "image.id=$img"',
    `[ -n "$img" ] && echo "image.version=$(docker image inspect -f '{{index .Config.Labels "${IMAGE_VERSION_LABEL}"}}' "$img" 2>/dev/null)"`,
    'echo "nginx.active=$(systemctl is-active nginx 2>/dev/null)"',
    'echo "relay.service=$(systemctl is-enabled relay.service 2>/dev/null)"',
  ];
  if (options.domain) {
    const cert = shellQuote(`/etc/letsencrypt/live/${options.domain}/cert.pem`);
    lines.push(`[ -f ${cert} ] && echo "cert.notAfter=$(openssl x509 -enddate -noout -in ${cert} | cut -d= -f2)"`);
  }
  lines.push('exit 0');
  return lines.join('\n');
}

export interface RelayStatus {
  container: { state: string; health: string; startedAt?: string; restarts?: number };
  image: { id?: string; version?: string };
  nginx: { active: boolean; state: string };
  systemdUnit: string;
  cert?: { notAfter: string; daysLeft: number };
}

/** Parses statusCommand's output; `now` is passed in so the cert's days-left is testable. */
export function parseStatus(stdout: string, now: Date = new Date()): RelayStatus {
  const kv = parseDotenv(stdout);
  const get = (key: string) => (kv[key] || undefined);
  const status: RelayStatus = {
    container: { state: get('container.state') ?? 'missing', health: get('container.health') ?? 'none' },
    image: {},
    nginx: { active: get('nginx.active') === 'active', state: get('nginx.active') ?? 'unknown' },
    systemdUnit: get('relay.service') ?? 'missing',
  };
  const startedAt = get('container.startedAt');
  if (startedAt) status.container.startedAt = startedAt;
  const restarts = get('container.restarts');
  if (restarts !== undefined && /^\d+$/.test(restarts)) status.container.restarts = Number(restarts);
  const imageId = get('image.id');
  if (imageId) status.image.id = imageId;
  const version = get('image.version');
  if (version && version !== '<no value>') status.image.version = version;
  const notAfter = get('cert.notAfter');
  if (notAfter) {
    const ms = Date.parse(notAfter);
    status.cert = { notAfter: Number.isNaN(ms) ? notAfter : new Date(ms).toISOString(), daysLeft: Number.isNaN(ms) ? NaN : Math.floor((ms - now.getTime()) / 86_400_000) };
  }
  return status;
}
