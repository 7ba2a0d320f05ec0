import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/shared/errors.js';
import {
  APT_GET,
  APT_UPDATE_IF_STALE,
  buildInstallPlan,
  DOCKER_KEY_FINGERPRINT,
  DOCKER_KEYRING,
  DOCKER_SOURCES_LIST,
  keyFingerprintCheck,
  parseDockerSource,
} from '../../src/plan/install-plan.js';
import { describePlan } from '../../src/plan/render-plan.js';
import { parseOsRelease, UFW_ALLOWS_WEB, type OsInfo } from '../../src/plan/preflight.js';
import type { Step } from '../../src/plan/step.js';
import { hasSystemComponent } from '../support/system-component.js';

const TRIXIE = `PRETTY_NAME="Debian GNU/Linux 13 (trixie)"
NAME="Debian GNU/Linux"
VERSION_ID="13"
VERSION="13 (trixie)"
VERSION_CODENAME=trixie
ID=debian
`;
const NOBLE = `PRETTY_NAME="Ubuntu 24.04.1 LTS"
NAME="Ubuntu"
VERSION_ID="24.04"
VERSION_CODENAME=noble
ID=ubuntu
ID_LIKE=debian
UBUNTU_CODENAME=noble
`;
const BOOKWORM: OsInfo = { id: 'debian', versionId: '12', codename: 'bookworm', prettyName: 'Debian GNU/Linux 12 (bookworm)' };

const commandsOf = (steps: ReturnType<typeof buildInstallPlan>) => steps.flatMap((s) => [s.check ?? '', ...s.apply]);

describe('detecting the OS', () => {
  it('accepts Ubuntu 22.04/24.04 and Debian 12/13 with their codenames', () => {
    expect(parseOsRelease(TRIXIE)).toEqual({ id: 'debian', versionId: '13', codename: 'trixie', prettyName: 'Debian GNU/Linux 13 (trixie)' });
    expect(parseOsRelease(NOBLE)).toMatchObject({ id: 'ubuntu', versionId: '24.04', codename: 'noble' });
    expect(parseOsRelease('ID=ubuntu\nVERSION_ID="22.04"\n')).toMatchObject({ codename: 'jammy' });
    expect(parseOsRelease('ID=debian\nVERSION_ID="12"\n')).toMatchObject({ codename: 'bookworm' });
  });

  it('refuses anything else by name', () => {
    expect(() => parseOsRelease('PRETTY_NAME="Ubuntu 20.04.6 LTS"\nID=ubuntu\nVERSION_ID="20.04"\n')).toThrow(
      /Ubuntu 20\.04\.6 LTS is not supported: relay installs on Ubuntu 22\.04, Ubuntu 24\.04, Debian 12, Debian 13/,
    );
    expect(() => parseOsRelease('PRETTY_NAME="Rocky Linux 9.4"\nID="rocky"\nVERSION_ID="9.4"\n')).toThrow(ConfigError);
    expect(() => parseOsRelease('')).toThrow(/an unknown OS is not supported/);
  });
});

describe('relay install on Debian 13 with --docker-source distro', () => {
  // Built in each test, not once per file: a mutation run sees each test build its own plan.
  let steps: Step[];
  beforeEach(() => {
    steps = buildInstallPlan({ os: parseOsRelease(TRIXIE), dockerSource: 'distro' });
  });

  it('runs preflight, Docker, nginx+certbot, services, in that order', () => {
    expect(steps.map((s) => s.id)).toEqual([
      'preflight.cloud-init',
      'preflight.apt-lock',
      'preflight.disk',
      'firewall.ufw',
      'docker.install',
      'nginx.install',
      'services.enable',
    ]);
  });

  it('gives every step a check, so a re-run of a provisioned host reports unchanged', () => {
    for (const step of steps) expect(step.check, step.id).toBeTruthy();
  });

  it("installs the distribution's docker.io and a Compose v2 package chosen with apt-cache policy", () => {
    const docker = steps.find((s) => s.id === 'docker.install')!;
    expect(docker.check).toBe(
      `[ "$(dpkg-query -W -f='\${Status}\\n' docker.io 2>/dev/null | grep -c '^install ok installed$')" -eq 1 ] && docker compose version >/dev/null 2>&1`,
    );
    const script = docker.apply.join('\n');
    expect(script).toContain('for p in docker-compose-v2 docker-compose; do');
    expect(script).toContain(`grep -qE 'Candidate: ([0-9]+:)?2\\.'`);
    expect(script).toMatch(/apt-get .* install -y docker\.io "\$compose" \$buildx/);
    expect(script).not.toContain('download.docker.com');
  });

  it('is made of commands /bin/sh can parse', () => {
    const all = [...steps, ...buildInstallPlan({ os: parseOsRelease(NOBLE), dockerSource: 'official' })];
    for (const command of commandsOf(all)) {
      expect(spawnSync('sh', ['-n', '-c', command], { encoding: 'utf8' }).stderr, command).toBe('');
    }
  });

  it('installs nginx and certbot and enables the services', () => {
    expect(steps.find((s) => s.id === 'nginx.install')!.apply.at(-1)).toMatch(/apt-get .* install -y nginx certbot$/);
    expect(steps.find((s) => s.id === 'services.enable')!.apply).toEqual(['systemctl enable --now docker', 'systemctl enable --now nginx']);
  });

  it('never asks a question and waits for the dpkg lock', () => {
    for (const command of commandsOf(steps).filter((c) => /apt-get .*install/.test(c))) {
      expect(command).toContain('NEEDRESTART_MODE=a DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600');
      expect(command).toMatch(/install -y/);
    }
  });

  it('waits, bounded, for cloud-init and other apt runs, and checks disk space on / and /var', () => {
    const [cloudInit, aptLock, disk] = steps;
    expect(cloudInit!.check).toContain('cloud-init status');
    expect(cloudInit!.apply[0]).toContain('timeout 900 cloud-init status --wait');
    expect(aptLock!.apply[0]).toContain('if [ "$waited" -ge 600 ]');
    expect(disk!.check).toBe(
      "[ $(( $(df -Pk / | awk 'NR==2 {print $4}') / 1024 )) -ge 1024 ] && [ $(( $(df -Pk /var | awk 'NR==2 {print $4}') / 1024 )) -ge 2048 ]",
    );
    expect(disk!.fix).toMatch(/Free disk space/);
  });
});

describe("relay install with Docker's official repository (the default)", () => {
  // Built in each test, not once per file: a mutation run sees each test build its own plan.
  let steps: Step[];
  beforeEach(() => {
    steps = buildInstallPlan({ os: parseOsRelease(NOBLE), dockerSource: 'official' });
  });

  it('writes the keyring and a deb line for the codename', () => {
    const repo = steps.find((s) => s.id === 'docker.repository')!;
    expect(repo.files).toEqual([
      {
        path: DOCKER_SOURCES_LIST,
        content: `deb [signed-by=${DOCKER_KEYRING}] https://download.docker.com/linux/ubuntu noble stable\n`,
        mode: '0644',
        owner: 'root:root',
      },
    ]);
    expect(repo.apply).toContain('install -m 0755 -d /etc/apt/keyrings');
  });

  it('installs docker-ce, its CLI, containerd, buildx and the compose plugin', () => {
    const docker = steps.find((s) => s.id === 'docker.install')!;
    expect(docker.apply).toEqual([
      expect.stringMatching(/install -y docker-ce docker-ce-cli containerd\.io docker-buildx-plugin docker-compose-plugin$/),
    ]);
    expect(docker.check).toContain('-eq 5 ] && docker compose version');
  });

  it('uses the debian path of the repository on Debian', () => {
    const repo = buildInstallPlan({ os: BOOKWORM, dockerSource: 'official' }).find((s) => s.id === 'docker.repository')!;
    expect(repo.files![0]!.content).toBe(`deb [signed-by=${DOCKER_KEYRING}] https://download.docker.com/linux/debian bookworm stable\n`);
  });
});

describe('relay install refuses what cannot work', () => {
  it('Debian 12 has no Compose v2 package: --docker-source distro is refused with the fix', () => {
    expect(() => buildInstallPlan({ os: BOOKWORM, dockerSource: 'distro' })).toThrow(/Debian GNU\/Linux 12 \(bookworm\) ships no Docker Compose v2/);
  });

  it('an unknown --docker-source is a config error', () => {
    expect(() => buildInstallPlan({ os: BOOKWORM, dockerSource: 'snap' as never })).toThrow(/--docker-source must be one of official, distro/);
  });
});

describe('relay install never stops on a question (issue 15, point 18)', () => {
  const all = [...buildInstallPlan({ os: parseOsRelease(NOBLE), dockerSource: 'official' }), ...buildInstallPlan({ os: parseOsRelease(TRIXIE), dockerSource: 'distro' })];

  it("runs every apt-get with needrestart's automatic mode beside debconf's non-interactive frontend", () => {
    const aptCommands = commandsOf(all).filter((c) => /apt-get /.test(c));
    expect(aptCommands.length).toBeGreaterThan(3);
    for (const command of aptCommands) {
      for (const line of command.split('\n').filter((l) => /apt-get /.test(l) && !/apt-cache/.test(l))) {
        expect(line, line).toContain('NEEDRESTART_MODE=a DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600');
      }
    }
  });
});

describe("Docker's apt key is trusted only with Docker's published fingerprint (issue 15, point 12)", () => {
  const repo = buildInstallPlan({ os: parseOsRelease(NOBLE), dockerSource: 'official' }).find((s) => s.id === 'docker.repository')!;

  it('checks the fingerprint of the key in place, so a re-run re-checks it', () => {
    expect(DOCKER_KEY_FINGERPRINT).toBe('9DC858229FC7DD38854AE2D88D81803C0EBFCD88');
    expect(repo.check).toBe(`test -s ${DOCKER_KEYRING} && ${keyFingerprintCheck(DOCKER_KEYRING, DOCKER_KEY_FINGERPRINT)}`);
  });

  it('downloads to a temporary file and installs it as the keyring only after the fingerprint matched', () => {
    const script = repo.apply.join('\n');
    expect(script).not.toContain(`-o ${DOCKER_KEYRING}`);
    expect(script).toContain(`curl -fsSL https://download.docker.com/linux/ubuntu/gpg -o "$key"`);
    expect(script.indexOf(keyFingerprintCheck('"$key"', DOCKER_KEY_FINGERPRINT))).toBeLessThan(script.indexOf(`install -m 0644 "$key" ${DOCKER_KEYRING}`));
    expect(script).toContain('not the fingerprint Docker publishes (9DC8 5822 9FC7 DD38 854A E2D8 8D81 803C 0EBF CD88)');
    expect(repo.fix).toContain('--docker-source distro');
  });

  describe.skipIf(!hasSystemComponent('gpg', 'gnupg'))('the fingerprint check, run against real keys with gpg', () => {
    let dir: string;
    let fingerprintOf: (file: string) => string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'relay-gpg-'));
      const home = join(dir, 'home');
      await mkdir(home, { mode: 0o700 });
      const gpg = (...args: string[]) => execFileSync('gpg', ['--batch', '--homedir', home, '--pinentry-mode', 'loopback', '--passphrase', '', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      for (const name of ['one', 'two']) {
        gpg('--quick-generate-key', `${name} <${name}@relay.test>`, 'ed25519', 'sign', 'never');
        writeFileSync(join(dir, `${name}.asc`), gpg('--armor', '--export', `${name}@relay.test`));
      }
      writeFileSync(join(dir, 'both.asc'), readFileSync(join(dir, 'one.asc'), 'utf8') + readFileSync(join(dir, 'two.asc'), 'utf8'));
      fingerprintOf = (file) => /^fpr:+([0-9A-F]{40}):/m.exec(gpg('--show-keys', '--with-colons', file))![1]!;
    }, 60_000);
    afterAll(() => rm(dir, { recursive: true, force: true }));

    const check = (file: string, fingerprint: string) => spawnSync('sh', ['-c', keyFingerprintCheck(file, fingerprint)]).status;

    it('passes for the key with that fingerprint', () => {
      expect(check(join(dir, 'one.asc'), fingerprintOf(join(dir, 'one.asc')))).toBe(0);
    });

    it("fails for another key, for a file that adds a second key, and for a file that is not a key", () => {
      const one = fingerprintOf(join(dir, 'one.asc'));
      expect(check(join(dir, 'two.asc'), one)).not.toBe(0);
      expect(check(join(dir, 'both.asc'), one)).not.toBe(0);
      writeFileSync(join(dir, 'page.html'), '<html>captive portal</html>\n');
      expect(check(join(dir, 'page.html'), one)).not.toBe(0);
      expect(check(join(dir, 'one.asc'), DOCKER_KEY_FINGERPRINT)).not.toBe(0);
    });
  });
});

describe('an active ufw is opened for 80 and 443, and nothing else (issue 15, point 17)', () => {
  const steps = buildInstallPlan({ os: parseOsRelease(TRIXIE), dockerSource: 'distro' });
  const ufw = steps.find((s) => s.id === 'firewall.ufw')!;

  it('is a step of the plan, so --dry-run shows it', () => {
    expect(describePlan(steps)).toContain('Allow 80,443/tcp in ufw when it is active (other rules untouched) [firewall.ufw]');
  });

  it('passes when ufw is absent or inactive, or already allows both ports', () => {
    expect(ufw.check).toBe(UFW_ALLOWS_WEB);
    expect(ufw.check).toContain('! command -v ufw >/dev/null 2>&1');
    expect(ufw.check).toContain("ufw status | grep -q '^Status: active'");
  });

  it('only adds the allow rule: never enables, disables, resets or deletes', () => {
    expect(ufw.apply).toEqual(['ufw allow 80,443/tcp comment relay']);
    expect(commandsOf(steps).join('\n')).not.toMatch(/ufw (enable|disable|reset|delete|--force)/);
  });

  it('sees a rule for both ports as allowed, and a rule for one port as not', () => {
    const status = (rules: string) => `Status: active\n\nTo                         Action      From\n--                         ------      ----\n${rules}`;
    const allowed = (rules: string) => spawnSync('sh', ['-c', `ufw() { printf '%s' "$STATUS"; }\ncommand() { return 0; }\n${UFW_ALLOWS_WEB}`], { env: { ...process.env, STATUS: status(rules) } }).status === 0;
    expect(allowed('22/tcp                     ALLOW       Anywhere\n')).toBe(false);
    expect(allowed('22/tcp                     ALLOW       Anywhere\n80/tcp                     ALLOW       Anywhere\n')).toBe(false);
    expect(allowed('80,443/tcp                 ALLOW       Anywhere                   # relay\n')).toBe(true);
    expect(allowed('80/tcp                     ALLOW       Anywhere\n443                        ALLOW       Anywhere\n')).toBe(true);
    expect(allowed('Nginx Full                 ALLOW       Anywhere\n')).toBe(true);
  });
});

describe('relay install, step by step: titles, checks, commands and fixes an operator reads', () => {
  const NOBLE_OS = parseOsRelease(NOBLE);
  const tail = (steps: ReturnType<typeof buildInstallPlan>) => steps.filter((s) => !s.id.startsWith('preflight.'));

  it("official: Docker's repository, docker-ce, nginx and certbot, services on", () => {
    const steps = tail(buildInstallPlan({ os: NOBLE_OS, dockerSource: 'official' }));
    const repo = steps.find((s) => s.id === 'docker.repository')!;
    expect(steps.map(({ id, title }) => [id, title])).toEqual([
      ['firewall.ufw', 'Allow 80,443/tcp in ufw when it is active (other rules untouched)'],
      ['docker.repository', "Add Docker's apt repository (ubuntu noble)"],
      ['docker.install', 'Install Docker Engine and Compose v2 (docker-ce)'],
      ['nginx.install', 'Install nginx and certbot'],
      ['services.enable', 'Enable and start Docker and nginx'],
    ]);
    expect(repo.check).toBe(`test -s ${DOCKER_KEYRING} && ${keyFingerprintCheck(DOCKER_KEYRING, DOCKER_KEY_FINGERPRINT)}`);
    expect(repo.apply).toEqual([
      APT_UPDATE_IF_STALE,
      `${APT_GET} install -y --no-install-recommends ca-certificates curl gpg`,
      'install -m 0755 -d /etc/apt/keyrings',
      `key=$(mktemp); trap 'rm -f "$key"' EXIT
curl -fsSL https://download.docker.com/linux/ubuntu/gpg -o "$key"
if ! ${keyFingerprintCheck('"$key"', DOCKER_KEY_FINGERPRINT)}; then
  echo "the key served at https://download.docker.com/linux/ubuntu/gpg is not the fingerprint Docker publishes (9DC8 5822 9FC7 DD38 854A E2D8 8D81 803C 0EBF CD88); it was not trusted" >&2
  exit 1
fi
install -m 0644 "$key" /etc/apt/keyrings/docker.asc`,
      `${APT_GET} update`,
    ]);
    expect(repo.fix).toBe(
      "The host must reach download.docker.com over HTTPS and get Docker's own key (fingerprint 9DC8 5822 9FC7 DD38 854A E2D8 8D81 803C 0EBF CD88); a different key means something between the host and Docker altered it (a proxy, DNS). Without that use `--docker-source distro`.",
    );
    expect(steps.find((s) => s.id === 'docker.install')).toEqual({
      id: 'docker.install',
      title: 'Install Docker Engine and Compose v2 (docker-ce)',
      check: `[ "$(dpkg-query -W -f='\${Status}\\n' docker-ce docker-ce-cli containerd.io docker-buildx-plugin docker-compose-plugin 2>/dev/null | grep -c '^install ok installed$')" -eq 5 ] && docker compose version >/dev/null 2>&1`,
      apply: [`${APT_GET} install -y docker-ce docker-ce-cli containerd.io docker-buildx-plugin docker-compose-plugin`],
      fix: 'If apt reports conflicts with docker.io or podman-docker, remove those packages first (or use `--docker-source distro`).',
    });
    expect(steps.find((s) => s.id === 'nginx.install')).toEqual({
      id: 'nginx.install',
      title: 'Install nginx and certbot',
      check: `[ "$(dpkg-query -W -f='\${Status}\\n' nginx certbot 2>/dev/null | grep -c '^install ok installed$')" -eq 2 ]`,
      apply: [APT_UPDATE_IF_STALE, `${APT_GET} install -y nginx certbot`],
    });
    expect(steps.find((s) => s.id === 'services.enable')).toEqual({
      id: 'services.enable',
      title: 'Enable and start Docker and nginx',
      check: 'systemctl is-enabled --quiet docker && systemctl is-active --quiet docker && systemctl is-enabled --quiet nginx && systemctl is-active --quiet nginx',
      apply: ['systemctl enable --now docker', 'systemctl enable --now nginx'],
      fix: 'Look at `systemctl status docker nginx` and `journalctl -u docker -u nginx` on the host.',
    });
    expect(steps[0]).toEqual({
      id: 'firewall.ufw',
      title: 'Allow 80,443/tcp in ufw when it is active (other rules untouched)',
      check: UFW_ALLOWS_WEB,
      apply: ['ufw allow 80,443/tcp comment relay'],
      fix: 'Look at `sudo ufw status verbose` on the host; relay only adds `allow 80,443/tcp`.',
    });
  });

  it('distro: the docker.io step names the distribution and says what to check', () => {
    const docker = buildInstallPlan({ os: parseOsRelease(TRIXIE), dockerSource: 'distro' }).find((s) => s.id === 'docker.install')!;
    expect(docker.title).toBe('Install Docker Engine and Compose v2 (debian trixie packages)');
    expect(docker.apply[0]).toBe(APT_UPDATE_IF_STALE);
    expect(docker.fix).toBe('Check that the host reaches its distribution mirror (`apt-get update` on the host).');
  });

  it('distro is refused on Debian 12 only, with the fix; Debian 13 and Ubuntu get a plan', () => {
    let error: unknown;
    try {
      buildInstallPlan({ os: BOOKWORM, dockerSource: 'distro' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).fix).toBe("Use --docker-source official (Docker's apt repository, the default).");
    expect(() => buildInstallPlan({ os: { ...BOOKWORM, versionId: '13' }, dockerSource: 'distro' })).not.toThrow();
    expect(() => buildInstallPlan({ os: { ...BOOKWORM, id: 'ubuntu' }, dockerSource: 'distro' })).not.toThrow();
  });

  it('reads --docker-source, refusing anything else by name', () => {
    expect(parseDockerSource('official')).toBe('official');
    expect(parseDockerSource('distro')).toBe('distro');
    expect(() => parseDockerSource('snap')).toThrow(new ConfigError('--docker-source must be one of official, distro; got "snap"'));
  });
});

describe("distro Compose v2 is chosen on the host from apt-cache policy (run with a fake apt)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'relay-distro-compose-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  // apt-cache answers from `candidates` (package -> version); apt-get prints what it was asked to install.
  const pick = async (name: string, candidates: Record<string, string>) => {
    const bin = join(dir, name);
    await mkdir(bin);
    const cases = Object.entries(candidates).map(([pkg, version]) => `  ${pkg}) echo "  Candidate: ${version}";;`).join('\n');
    writeFileSync(join(bin, 'apt-cache'), `#!/bin/sh\ncase "$2" in\n${cases}\n  *) echo "  Candidate: (none)";;\nesac\n`, { mode: 0o755 });
    writeFileSync(join(bin, 'apt-get'), '#!/bin/sh\nshift 6\necho "$@"\n', { mode: 0o755 });
    const docker = buildInstallPlan({ os: parseOsRelease(NOBLE), dockerSource: 'distro' }).find((s) => s.id === 'docker.install')!;
    return spawnSync('sh', ['-c', docker.apply[1]!], { encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin` } });
  };

  it("takes Ubuntu's docker-compose-v2, and buildx when packaged", async () => {
    const run = await pick('ubuntu', { 'docker-compose-v2': '2.24.6+ds1-0ubuntu1', 'docker-compose': '1.29.2-6', 'docker-buildx': '0.12.1-0ubuntu1' });
    expect([run.status, run.stdout]).toEqual([0, 'install -y docker.io docker-compose-v2 docker-buildx\n']);
  });

  it("takes Debian 13's docker-compose 2.x, with an epoch, and no buildx when none is packaged", async () => {
    const run = await pick('trixie', { 'docker-compose': '1:2.26.1-4' });
    expect([run.status, run.stdout]).toEqual([0, 'install -y docker.io docker-compose\n']);
  });

  it('refuses a Compose 1.x, saying why', async () => {
    const run = await pick('bookworm', { 'docker-compose': '1.29.2-3' });
    expect([run.status, run.stdout, run.stderr]).toEqual([1, '', "this distribution's archive has no Docker Compose v2 package (docker-compose-v2, or docker-compose 2.x)\n"]);
  });
});
