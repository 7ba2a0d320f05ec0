// `relay install` as data: preflight, Docker Engine + Compose v2, nginx, certbot, services on.
// A pure function of the detected OS and the flags; every step has a check so a re-run of a
// provisioned host reports unchanged.
import { ConfigError } from '../shared/errors.js';
import { preflightSteps, UFW_ALLOWS_WEB, type OsInfo, type PreflightOptions } from './preflight.js';
import type { Step } from './step.js';

export type DockerSource = 'official' | 'distro';
export const DOCKER_SOURCES: readonly DockerSource[] = ['official', 'distro'];

export interface InstallOptions {
  os: OsInfo;
  dockerSource: DockerSource;
  preflight?: PreflightOptions;
}

// Never stop on a question (dpkg conffile prompts, debconf, needrestart's "restart services?" on
// Ubuntu 22.04+), and wait for a dpkg lock held by someone else instead of failing at once.
export const APT_GET =
  'NEEDRESTART_MODE=a DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold';

/** Refreshes the package lists unless they are less than an hour old (a fresh VPS has none). */
export const APT_UPDATE_IF_STALE =
  `[ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -60 -print -quit 2>/dev/null)" ] || ${APT_GET} update`;

export const DOCKER_KEYRING = '/etc/apt/keyrings/docker.asc';
export const DOCKER_SOURCES_LIST = '/etc/apt/sources.list.d/docker.list';
/** The fingerprint Docker publishes for its apt signing key (docs.docker.com/engine/install). */
export const DOCKER_KEY_FINGERPRINT = '9DC858229FC7DD38854AE2D88D81803C0EBFCD88';
export const OFFICIAL_DOCKER_PACKAGES = ['docker-ce', 'docker-ce-cli', 'containerd.io', 'docker-buildx-plugin', 'docker-compose-plugin'];

function installed(packages: string[]): string {
  // dpkg -s exits 0 for a package that was removed but left its config; require "install ok installed".
  return `[ "$(dpkg-query -W -f='\${Status}\\n' ${packages.join(' ')} 2>/dev/null | grep -c '^install ok installed$')" -eq ${packages.length} ]`;
}

const COMPOSE_V2 = 'docker compose version >/dev/null 2>&1';

/**
 * Exits 0 when `file` holds exactly one OpenPGP key and its fingerprint is `fingerprint`: a file
 * that adds a second key would make apt trust that one too. gpg gets a throwaway home.
 */
export function keyFingerprintCheck(file: string, fingerprint: string): string {
  return `[ "$(home=$(mktemp -d) && gpg --batch --homedir "$home" --show-keys --with-colons ${file} 2>/dev/null | awk -F: '$1 == "pub" { primary = 1; next } primary && $1 == "fpr" { print $10; primary = 0 }'; rm -rf "$home")" = ${fingerprint} ]`;
}

const spaced = (fingerprint: string) => fingerprint.replace(/(.{4})(?!$)/g, '$1 ');

// Fetched to a temporary file; it becomes the keyring only once its fingerprint is Docker's.
function fetchDockerKey(url: string): string {
  return `key=$(mktemp); trap 'rm -f "$key"' EXIT
curl -fsSL ${url} -o "$key"
if ! ${keyFingerprintCheck('"$key"', DOCKER_KEY_FINGERPRINT)}; then
  echo "the key served at ${url} is not the fingerprint Docker publishes (${spaced(DOCKER_KEY_FINGERPRINT)}); it was not trusted" >&2
  exit 1
fi
install -m 0644 "$key" ${DOCKER_KEYRING}`;
}

function officialDockerSteps(os: OsInfo): Step[] {
  const repo = `https://download.docker.com/linux/${os.id}`;
  return [
    {
      id: 'docker.repository',
      title: `Add Docker's apt repository (${os.id} ${os.codename})`,
      check: `test -s ${DOCKER_KEYRING} && ${keyFingerprintCheck(DOCKER_KEYRING, DOCKER_KEY_FINGERPRINT)}`,
      files: [
        {
          path: DOCKER_SOURCES_LIST,
          content: `deb [signed-by=${DOCKER_KEYRING}] ${repo} ${os.codename} stable\n`,
          mode: '0644',
          owner: 'root:root',
        },
      ],
      apply: [
        APT_UPDATE_IF_STALE,
        `${APT_GET} install -y --no-install-recommends ca-certificates curl gpg`,
        'install -m 0755 -d /etc/apt/keyrings',
        fetchDockerKey(`${repo}/gpg`),
        `${APT_GET} update`,
      ],
      fix: `The host must reach download.docker.com over HTTPS and get Docker's own key (fingerprint ${spaced(DOCKER_KEY_FINGERPRINT)}); a different key means something between the host and Docker altered it (a proxy, DNS). Without that use \`--docker-source distro\`.`,
    },
    {
      id: 'docker.install',
      title: 'Install Docker Engine and Compose v2 (docker-ce)',
      check: `${installed(OFFICIAL_DOCKER_PACKAGES)} && ${COMPOSE_V2}`,
      apply: [`${APT_GET} install -y ${OFFICIAL_DOCKER_PACKAGES.join(' ')}`],
      fix: 'If apt reports conflicts with docker.io or podman-docker, remove those packages first (or use `--docker-source distro`).',
    },
  ];
}

// The distribution's Compose v2 goes by different names: Ubuntu's docker-compose-v2, Debian 13's
// docker-compose (2.x). Debian 12's docker-compose is the old Python 1.x: accept only a 2.x
// candidate. Decided on the host from `apt-cache policy` so the plan stays the same everywhere.
const PICK_DISTRO_COMPOSE = `compose=
for p in docker-compose-v2 docker-compose; do
  if apt-cache policy "$p" 2>/dev/null | grep -qE 'Candidate: ([0-9]+:)?2\\.'; then compose=$p; break; fi
done
if [ -z "$compose" ]; then echo "this distribution's archive has no Docker Compose v2 package (docker-compose-v2, or docker-compose 2.x)" >&2; exit 1; fi
# BuildKit's buildx, where packaged: without it compose falls back to the legacy builder.
buildx=
if apt-cache policy docker-buildx 2>/dev/null | grep -qE 'Candidate: [0-9]'; then buildx=docker-buildx; fi
${APT_GET} install -y docker.io "$compose" $buildx`;

function distroDockerSteps(os: OsInfo): Step[] {
  if (os.id === 'debian' && os.versionId === '12') {
    throw new ConfigError(`${os.prettyName} ships no Docker Compose v2 package, so --docker-source distro cannot work there.`, {
      fix: "Use --docker-source official (Docker's apt repository, the default).",
    });
  }
  return [
    {
      id: 'docker.install',
      title: `Install Docker Engine and Compose v2 (${os.id} ${os.codename} packages)`,
      check: `${installed(['docker.io'])} && ${COMPOSE_V2}`,
      apply: [APT_UPDATE_IF_STALE, PICK_DISTRO_COMPOSE],
      fix: 'Check that the host reaches its distribution mirror (`apt-get update` on the host).',
    },
  ];
}

// Provider images often ship ufw active with only SSH allowed: the CA's HTTP-01 check and every
// client would be dropped. Only an allow rule is added: ufw is never enabled, disabled or reset.
const UFW_STEP: Step = {
  id: 'firewall.ufw',
  title: 'Allow 80,443/tcp in ufw when it is active (other rules untouched)',
  check: UFW_ALLOWS_WEB,
  apply: ['ufw allow 80,443/tcp comment relay'],
  fix: 'Look at `sudo ufw status verbose` on the host; relay only adds `allow 80,443/tcp`.',
};

export function buildInstallPlan(options: InstallOptions): Step[] {
  const { os, dockerSource } = options;
  if (!DOCKER_SOURCES.includes(dockerSource)) {
    throw new ConfigError(`--docker-source must be one of ${DOCKER_SOURCES.join(', ')}; got "${dockerSource}"`);
  }
  return [
    ...preflightSteps(options.preflight),
    UFW_STEP,
    ...(dockerSource === 'official' ? officialDockerSteps(os) : distroDockerSteps(os)),
    {
      id: 'nginx.install',
      title: 'Install nginx and certbot',
      check: installed(['nginx', 'certbot']),
      apply: [APT_UPDATE_IF_STALE, `${APT_GET} install -y nginx certbot`],
    },
    {
      id: 'services.enable',
      title: 'Enable and start Docker and nginx',
      check: 'systemctl is-enabled --quiet docker && systemctl is-active --quiet docker && systemctl is-enabled --quiet nginx && systemctl is-active --quiet nginx',
      apply: ['systemctl enable --now docker', 'systemctl enable --now nginx'],
      fix: 'Look at `systemctl status docker nginx` and `journalctl -u docker -u nginx` on the host.',
    },
  ];
}

/** The --docker-source flag, checked. */
export function parseDockerSource(text: string): DockerSource {
  if (!(DOCKER_SOURCES as readonly string[]).includes(text)) {
    throw new ConfigError(`--docker-source must be one of ${DOCKER_SOURCES.join(', ')}; got "${text}"`);
  }
  return text as DockerSource;
}
