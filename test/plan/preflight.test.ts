// The port-80 preflight names what blocks it on the host (issue 15, point 17): provider images
// with an iptables REJECT rule (Oracle Cloud's Ubuntu) and an active ufw without 80/443.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/shared/errors.js';
import { parseOsRelease, port80BlockedFix, preflightSteps, READ_FIREWALL, UFW_ALLOWS_WEB } from '../../src/plan/preflight.js';

// `iptables -S INPUT` on Oracle Cloud's Ubuntu image, as shipped in /etc/iptables/rules.v4.
const ORACLE = `-P INPUT ACCEPT
-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p icmp -j ACCEPT
-A INPUT -i lo -j ACCEPT
-A INPUT -p udp -m udp --sport 123 -j ACCEPT
-A INPUT -p tcp -m state --state NEW -m tcp --dport 22 -j ACCEPT
-A INPUT -j REJECT --reject-with icmp-host-prohibited
`;
const CLOUD_FIREWALL = 'Open port 80/tcp to the internet (cloud firewall or security group, `ufw allow 80/tcp`): the CA checks the domain over plain HTTP.';

describe('the port-80 preflight fix line', () => {
  it('reads the firewall with one read-only command', () => {
    expect(READ_FIREWALL).toBe(`iptables -S INPUT 2>/dev/null; ${UFW_ALLOWS_WEB} || echo 'ufw: active without 80,443/tcp'`);
  });

  it("names the iptables REJECT rule of Oracle Cloud's Ubuntu image and how to open 80 and 443 before it", () => {
    expect(port80BlockedFix(ORACLE)).toBe(
      "The host's iptables INPUT chain ends in `-A INPUT -j REJECT --reject-with icmp-host-prohibited` (Oracle Cloud's Ubuntu images ship it in /etc/iptables/rules.v4), so port 80 is refused before nginx: on the host run `sudo iptables -I INPUT 6 -p tcp -m multiport --dports 80,443 -j ACCEPT && sudo netfilter-persistent save`, open 80/443 in the cloud's security list too, then run `relay cert` again.",
    );
  });

  it('also catches a catch-all DROP, and places the accept rule before it', () => {
    expect(port80BlockedFix('-P INPUT ACCEPT\n-A INPUT -i lo -j ACCEPT\n-A INPUT -j DROP\n')).toContain('ends in `-A INPUT -j DROP`');
    expect(port80BlockedFix('-P INPUT ACCEPT\n-A INPUT -i lo -j ACCEPT\n-A INPUT -j DROP\n')).toContain('sudo iptables -I INPUT 2 -p tcp');
  });

  it('blames nothing on the host when 80 is accepted before the REJECT, or nothing rejects', () => {
    const opened = ORACLE.replace('-A INPUT -j REJECT', '-A INPUT -p tcp -m state --state NEW -m tcp --dport 80 -j ACCEPT\n-A INPUT -j REJECT');
    expect(port80BlockedFix(opened)).toBe(CLOUD_FIREWALL);
    const multiport = ORACLE.replace('-A INPUT -j REJECT', '-A INPUT -p tcp -m multiport --dports 80,443 -j ACCEPT\n-A INPUT -j REJECT');
    expect(port80BlockedFix(multiport)).toBe(CLOUD_FIREWALL);
    expect(port80BlockedFix('-P INPUT ACCEPT\n')).toBe(CLOUD_FIREWALL);
    expect(port80BlockedFix('')).toBe(CLOUD_FIREWALL);
    // A REJECT limited to one port or source is not a catch-all.
    expect(port80BlockedFix('-P INPUT ACCEPT\n-A INPUT -s 203.0.113.0/24 -j REJECT\n-A INPUT -p tcp --dport 25 -j REJECT\n')).toBe(CLOUD_FIREWALL);
  });

  it('names an active ufw that does not allow 80 and 443', () => {
    expect(port80BlockedFix('-P INPUT DROP\n-A INPUT -j ufw-before-input\nufw: active without 80,443/tcp\n')).toBe(
      'ufw is active on the host: run `sudo ufw allow 80,443/tcp` (or `relay install`, which does only that), then run `relay cert` again.',
    );
  });
});

describe('the port-80 fix line: which rules accept port 80 before a catch-all', () => {
  const before = (rule: string) => port80BlockedFix(`-P INPUT ACCEPT\n${rule}\n-A INPUT -j REJECT --reject-with icmp-host-prohibited\n`);

  it.each(['-A INPUT -p tcp --dport 80 -j ACCEPT', '-A INPUT -p tcp -m multiport --dports 443,80 -j ACCEPT', '-A INPUT -p tcp -m multiport --dports 22,80:81 -j ACCEPT'])('%s opens port 80', (rule) => {
    expect(before(rule)).toBe(CLOUD_FIREWALL);
  });

  it.each(['-A INPUT -p tcp --dport 8080 -j ACCEPT', '-A INPUT -p tcp --dport 80 -j REJECT', '-A INPUT -p tcp -m multiport --dports 180,443 -j ACCEPT', '-A INPUT -p tcp --dport 22 -j ACCEPT --comment 80'])('%s does not', (rule) => {
    expect(before(rule)).toContain("The host's iptables INPUT chain ends in `-A INPUT -j REJECT --reject-with icmp-host-prohibited`");
  });

  it('counts a port-80 accept written before its -j, and none that comes after the catch-all', () => {
    expect(before('-A INPUT -j ACCEPT -p tcp --dport 80')).toBe(CLOUD_FIREWALL);
    expect(port80BlockedFix('-A INPUT -j REJECT\n-A INPUT -p tcp --dport 80 -j ACCEPT\n')).toContain('ends in `-A INPUT -j REJECT`');
  });

  it('reads rules only from lines of the INPUT chain, and a catch-all only as the whole target', () => {
    expect(port80BlockedFix('-A OUTPUT -j DROP\n-A INPUT -j DROPPED\n')).toBe(CLOUD_FIREWALL);
    expect(port80BlockedFix('-A INPUT -j ACCEPT --dport 80\n  -A INPUT -j REJECT\n')).toBe(CLOUD_FIREWALL);
  });
});

describe('detecting the OS: names and codenames', () => {
  it('names an unsupported OS by PRETTY_NAME, else NAME and version, else ID and version', () => {
    const refusal = (text: string) => {
      try {
        parseOsRelease(text);
      } catch (error) {
        return [error instanceof ConfigError, (error as ConfigError).message, (error as ConfigError).fix];
      }
      return undefined;
    };
    const fix = 'Create the server from one of these images (Ubuntu 22.04, Ubuntu 24.04, Debian 12, Debian 13) and run `relay install` again.';
    expect(refusal('NAME="Fedora Linux"\nID=fedora\nVERSION_ID=40\n')).toEqual([true, 'Fedora Linux 40 is not supported: relay installs on Ubuntu 22.04, Ubuntu 24.04, Debian 12, Debian 13.', fix]);
    expect(refusal('ID=alpine\nVERSION_ID=3.20\n')).toEqual([true, 'alpine 3.20 is not supported: relay installs on Ubuntu 22.04, Ubuntu 24.04, Debian 12, Debian 13.', fix]);
    expect(refusal('ID=debian\nVERSION_ID=24.04\n')?.[1]).toBe('debian 24.04 is not supported: relay installs on Ubuntu 22.04, Ubuntu 24.04, Debian 12, Debian 13.');
  });

  it("takes VERSION_CODENAME, else UBUNTU_CODENAME, else the release's own", () => {
    expect(parseOsRelease('ID=ubuntu\nVERSION_ID="24.04"\nVERSION_CODENAME=custom\nUBUNTU_CODENAME=noble\n').codename).toBe('custom');
    expect(parseOsRelease('ID=ubuntu\nVERSION_ID="24.04"\nVERSION_CODENAME=\nUBUNTU_CODENAME=noble-ish\n').codename).toBe('noble-ish');
    expect(parseOsRelease('ID=ubuntu\nVERSION_ID="24.04"\n')).toEqual({ id: 'ubuntu', versionId: '24.04', codename: 'noble', prettyName: 'ubuntu 24.04' });
    expect(parseOsRelease('NAME=Ubuntu\nID=ubuntu\nVERSION_ID="22.04"\n').prettyName).toBe('Ubuntu 22.04');
  });
});

describe('preflight: bounded waits and disk thresholds, as the operator reads them', () => {
  it('puts the chosen limits in titles, commands and messages', () => {
    const free = (path: string) => `$(( $(df -Pk ${path} | awk 'NR==2 {print $4}') / 1024 ))`;
    const busy = "pgrep -x 'apt|apt-get|aptitude|dpkg|unattended-upgr|unattended-upgrade' >/dev/null 2>&1";
    expect(preflightSteps({ cloudInitTimeoutSec: 60, aptLockTimeoutSec: 30, minFreeRootMiB: 100, minFreeVarMiB: 200 })).toEqual([
      {
        id: 'preflight.cloud-init',
        title: 'Wait for cloud-init to finish first boot',
        check: "! command -v cloud-init >/dev/null 2>&1 || ! cloud-init status 2>/dev/null | grep -qE '^status: (running|not started)'",
        apply: [
          'rc=0; timeout 60 cloud-init status --wait >/dev/null || rc=$?\nif [ "$rc" -eq 124 ]; then echo "cloud-init was still running after 60s" >&2; exit 1; fi\nexit 0',
        ],
        fix: 'Check `cloud-init status --long` on the host; when it reports done, run `relay install` again.',
      },
      {
        id: 'preflight.apt-lock',
        title: 'Wait for other apt/dpkg runs to finish',
        check: `! ${busy}`,
        apply: [
          `waited=0\nwhile ${busy}; do\n  if [ "$waited" -ge 30 ]; then echo "apt/dpkg was still busy after 30s:" >&2; pgrep -a -x 'apt|apt-get|aptitude|dpkg|unattended-upgr|unattended-upgrade' >&2; exit 1; fi\n  sleep 5; waited=$((waited + 5))\ndone`,
        ],
        fix: 'Another package manager run holds the dpkg lock (often unattended-upgrades on first boot): wait for it, then run `relay install` again.',
      },
      {
        id: 'preflight.disk',
        title: 'Check free disk space (/ >= 100 MiB, /var >= 200 MiB)',
        check: `[ ${free('/')} -ge 100 ] && [ ${free('/var')} -ge 200 ]`,
        apply: [`echo "not enough free disk space: / has ${free('/')} MiB (needs 100), /var has ${free('/var')} MiB (needs 200)" >&2; exit 1`],
        fix: 'Free disk space on the host (or resize its disk), then run `relay install` again.',
      },
    ]);
  });

  it('waits 15 min for cloud-init and 10 min for apt, and wants 1 GiB on / and 2 GiB on /var by default', () => {
    const [cloudInit, aptLock, disk] = preflightSteps();
    expect(cloudInit!.apply[0]).toContain('timeout 900 cloud-init');
    expect(aptLock!.apply[0]).toContain('-ge 600 ]');
    expect(disk!.title).toBe('Check free disk space (/ >= 1024 MiB, /var >= 2048 MiB)');
  });
});
