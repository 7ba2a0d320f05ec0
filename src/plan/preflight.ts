// What `relay install` makes sure of before it changes anything: a supported OS, cloud-init and
// apt done with their own work, enough disk. The OS is detected by one read-only command and
// parsed here; the waits and the disk check are steps like any other (a re-run reports them
// unchanged), so --dry-run shows them too.
import { parseDotenv } from '../shared/env-local.js';
import { ConfigError } from '../shared/errors.js';
import type { Step } from './step.js';

/** Read-only: run over the Host (no sudo needed) and give the output to parseOsRelease. */
export const READ_OS_RELEASE = 'cat /etc/os-release';

export type OsId = 'ubuntu' | 'debian';

export interface OsInfo {
  id: OsId;
  /** '22.04', '24.04', '12', '13'. */
  versionId: string;
  /** 'jammy', 'noble', 'bookworm', 'trixie': the suite Docker's apt repository is keyed on. */
  codename: string;
  /** 'Debian GNU/Linux 13 (trixie)', for messages. */
  prettyName: string;
}

export const SUPPORTED_OS: ReadonlyArray<{ id: OsId; versionId: string; codename: string }> = [
  { id: 'ubuntu', versionId: '22.04', codename: 'jammy' },
  { id: 'ubuntu', versionId: '24.04', codename: 'noble' },
  { id: 'debian', versionId: '12', codename: 'bookworm' },
  { id: 'debian', versionId: '13', codename: 'trixie' },
];

const SUPPORTED_NAMES = 'Ubuntu 22.04, Ubuntu 24.04, Debian 12, Debian 13';

/** Parses /etc/os-release; refuses, by name, anything but the supported releases. */
export function parseOsRelease(text: string): OsInfo {
  // os-release is shell-style KEY=value, which the dotenv parser reads.
  const fields = parseDotenv(text);
  const id = fields.ID ?? '';
  const versionId = fields.VERSION_ID ?? '';
  const prettyName = fields.PRETTY_NAME ?? (`${fields.NAME ?? id} ${versionId}`.trim() || 'an unknown OS');
  const supported = SUPPORTED_OS.find((os) => os.id === id && os.versionId === versionId);
  if (!supported) {
    throw new ConfigError(`${prettyName} is not supported: relay installs on ${SUPPORTED_NAMES}.`, {
      fix: `Create the server from one of these images (${SUPPORTED_NAMES}) and run \`relay install\` again.`,
    });
  }
  // Point releases and derivatives keep the release's codename; fall back to the known one.
  const codename = fields.VERSION_CODENAME || fields.UBUNTU_CODENAME || supported.codename;
  return { id: supported.id, versionId, codename, prettyName };
}

export interface PreflightOptions {
  /** Longest wait for cloud-init to finish its first boot, in seconds. */
  cloudInitTimeoutSec?: number;
  /** Longest wait for another apt/dpkg run (unattended-upgrades on a fresh VPS) to finish. */
  aptLockTimeoutSec?: number;
  /** Free space needed on / and on /var (Docker's images live in /var/lib/docker), in MiB. */
  minFreeRootMiB?: number;
  minFreeVarMiB?: number;
}

export const PREFLIGHT_DEFAULTS: Required<PreflightOptions> = {
  cloudInitTimeoutSec: 900,
  aptLockTimeoutSec: 600,
  minFreeRootMiB: 1024,
  minFreeVarMiB: 2048,
};

// Processes that hold the dpkg/apt locks. dpkg's locks are fcntl locks, which `flock` cannot
// see, so look for the processes themselves.
const APT_BUSY = "pgrep -x 'apt|apt-get|aptitude|dpkg|unattended-upgr|unattended-upgrade' >/dev/null 2>&1";
// cloud-init absent, or finished (done, error, degraded, disabled): nothing to wait for.
const CLOUD_INIT_SETTLED =
  "! command -v cloud-init >/dev/null 2>&1 || ! cloud-init status 2>/dev/null | grep -qE '^status: (running|not started)'";

function freeMiB(path: string): string {
  return `$(( $(df -Pk ${path} | awk 'NR==2 {print $4}') / 1024 ))`;
}

export function preflightSteps(options: PreflightOptions = {}): Step[] {
  const o = { ...PREFLIGHT_DEFAULTS, ...options };
  return [
    {
      id: 'preflight.cloud-init',
      title: 'Wait for cloud-init to finish first boot',
      check: CLOUD_INIT_SETTLED,
      apply: [
        // status --wait exits 2 for "done with recoverable errors": apt can still run then.
        `rc=0; timeout ${o.cloudInitTimeoutSec} cloud-init status --wait >/dev/null || rc=$?
if [ "$rc" -eq 124 ]; then echo "cloud-init was still running after ${o.cloudInitTimeoutSec}s" >&2; exit 1; fi
exit 0`,
      ],
      fix: 'Check `cloud-init status --long` on the host; when it reports done, run `relay install` again.',
    },
    {
      id: 'preflight.apt-lock',
      title: 'Wait for other apt/dpkg runs to finish',
      check: `! ${APT_BUSY}`,
      apply: [
        `waited=0
while ${APT_BUSY}; do
  if [ "$waited" -ge ${o.aptLockTimeoutSec} ]; then echo "apt/dpkg was still busy after ${o.aptLockTimeoutSec}s:" >&2; pgrep -a -x 'apt|apt-get|aptitude|dpkg|unattended-upgr|unattended-upgrade' >&2; exit 1; fi
  sleep 5; waited=$((waited + 5))
done`,
      ],
      fix: 'Another package manager run holds the dpkg lock (often unattended-upgrades on first boot): wait for it, then run `relay install` again.',
    },
    {
      id: 'preflight.disk',
      title: `Check free disk space (/ >= ${o.minFreeRootMiB} MiB, /var >= ${o.minFreeVarMiB} MiB)`,
      check: `[ ${freeMiB('/')} -ge ${o.minFreeRootMiB} ] && [ ${freeMiB('/var')} -ge ${o.minFreeVarMiB} ]`,
      apply: [
        `echo "not enough free disk space: / has ${freeMiB('/')} MiB (needs ${o.minFreeRootMiB}), /var has ${freeMiB('/var')} MiB (needs ${o.minFreeVarMiB})" >&2; exit 1`,
      ],
      fix: 'Free disk space on the host (or resize its disk), then run `relay install` again.',
    },
  ];
}

/**
 * Passes when ufw is absent or inactive, or allows 80 and 443 from anywhere (port lists, or the
 * "Nginx Full" profile). Reads `ufw status` only.
 */
export const UFW_ALLOWS_WEB = `! command -v ufw >/dev/null 2>&1 || ! ufw status | grep -q '^Status: active' || ufw status | awk -F'  +' '
  $2 ~ /^ALLOW( IN)?$/ && $3 ~ /^Anywhere/ {
    to = $1; sub(/ \\(v6\\)$/, "", to)
    if (to == "Nginx Full") { http = 1; https = 1 }
    if (to ~ /^[0-9,]+(\\/tcp)?$/) { sub(/\\/tcp$/, "", to); n = split(to, ports, ","); for (i = 1; i <= n; i++) { if (ports[i] == "80") http = 1; if (ports[i] == "443") https = 1 } }
  }
  END { exit !(http && https) }'`;

/** Read-only, as root: the INPUT chain, and a line when an active ufw does not allow 80 and 443. */
export const READ_FIREWALL = `iptables -S INPUT 2>/dev/null; ${UFW_ALLOWS_WEB} || echo 'ufw: active without 80,443/tcp'`;

const CLOUD_FIREWALL_FIX = 'Open port 80/tcp to the internet (cloud firewall or security group, `ufw allow 80/tcp`): the CA checks the domain over plain HTTP.';

const acceptsWeb = (rule: string) => / -j ACCEPT\b/.test(rule) && /--dports? (?:[0-9,:]*,)?80(?:[,: ]|$)/.test(rule);

/**
 * The fix line for "port 80 does not answer from here", from READ_FIREWALL's output: a catch-all
 * REJECT/DROP in INPUT with no accept for 80 before it (Oracle Cloud's Ubuntu), an active ufw
 * without 80/443, or else the cloud's own firewall.
 */
export function port80BlockedFix(firewall: string): string {
  const rules = firewall.split('\n').filter((line) => line.startsWith('-A INPUT '));
  const catchAll = rules.findIndex((rule) => /^-A INPUT -j (REJECT|DROP)\b/.test(rule));
  if (catchAll !== -1 && !rules.slice(0, catchAll).some(acceptsWeb)) {
    return `The host's iptables INPUT chain ends in \`${rules[catchAll]}\` (Oracle Cloud's Ubuntu images ship it in /etc/iptables/rules.v4), so port 80 is refused before nginx: on the host run \`sudo iptables -I INPUT ${catchAll + 1} -p tcp -m multiport --dports 80,443 -j ACCEPT && sudo netfilter-persistent save\`, open 80/443 in the cloud's security list too, then run \`relay cert\` again.`;
  }
  if (firewall.includes('ufw: active without 80,443/tcp')) {
    return 'ufw is active on the host: run `sudo ufw allow 80,443/tcp` (or `relay install`, which does only that), then run `relay cert` again.';
  }
  return CLOUD_FIREWALL_FIX;
}
