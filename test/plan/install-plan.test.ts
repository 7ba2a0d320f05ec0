import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { buildInstallPlan, DOCKER_KEYRING, DOCKER_SOURCES_LIST } from '../../src/plan/install-plan.js';
import { parseOsRelease, type OsInfo } from '../../src/plan/preflight.js';

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
  const steps = buildInstallPlan({ os: parseOsRelease(TRIXIE), dockerSource: 'distro' });

  it('runs preflight, Docker, nginx+certbot, services, in that order', () => {
    expect(steps.map((s) => s.id)).toEqual([
      'preflight.cloud-init',
      'preflight.apt-lock',
      'preflight.disk',
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
      expect(command).toContain('DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600');
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
  const steps = buildInstallPlan({ os: parseOsRelease(NOBLE), dockerSource: 'official' });

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
    expect(repo.check).toBe('test -s /etc/apt/keyrings/docker.asc');
    expect(repo.apply).toContain('curl -fsSL https://download.docker.com/linux/ubuntu/gpg -o /etc/apt/keyrings/docker.asc');
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
