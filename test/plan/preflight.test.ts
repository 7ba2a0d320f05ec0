// The port-80 preflight names what blocks it on the host (issue 15, point 17): provider images
// with an iptables REJECT rule (Oracle Cloud's Ubuntu) and an active ufw without 80/443.
import { describe, expect, it } from 'vitest';
import { port80BlockedFix, READ_FIREWALL, UFW_ALLOWS_WEB } from '../../src/plan/preflight.js';

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
