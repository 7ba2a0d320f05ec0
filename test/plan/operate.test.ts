// Operating a deployed relay: the exact shell text of logs, restart, status and the health wait,
// and the status report parsed back.
import { describe, expect, it } from 'vitest';
import { CONTAINER_HEALTHY, composeCommand, parseStatus, restartSteps, statusCommand, waitHealthyCommand } from '../../src/plan/operate.js';

const HEALTH = '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}';

describe('waiting for the relay container to be healthy', () => {
  it('polls every 2 s and, on timeout, prints the state and the last 30 log lines and fails', () => {
    expect(waitHealthyCommand(60)).toBe(`waited=0
while :; do
  s=$(docker inspect -f '${HEALTH}' relay 2>/dev/null || echo missing)
  [ "$s" = healthy ] && exit 0
  if [ "$waited" -ge 60 ]; then
    echo "the relay container is not healthy after 60s (state: $s); its last log lines:" >&2
    docker logs --tail 30 relay >&2 2>&1
    exit 1
  fi
  sleep 2; waited=$((waited + 2))
done`);
  });

  it('waits 120 s unless told otherwise', () => {
    expect(waitHealthyCommand()).toBe(waitHealthyCommand(120));
  });

  it('checks health once, for a step that is done when the container is healthy', () => {
    expect(CONTAINER_HEALTHY).toBe(`[ "$(docker inspect -f '${HEALTH}' relay 2>/dev/null)" = healthy ]`);
  });
});

describe('relay restart', () => {
  it('restarts through compose in the app directory, quoted, then waits as long as asked', () => {
    expect(restartSteps('/srv/my relay', 30)).toEqual([
      {
        id: 'relay.restart',
        title: 'Restart the relay container and wait until healthy',
        apply: ["docker compose -f '/srv/my relay/compose.yaml' restart relay", waitHealthyCommand(30)],
        fix: "Look at `relay logs -n 100`, or `sudo docker compose -f '/srv/my relay/compose.yaml' ps` on the host.",
      },
    ]);
    expect(restartSteps('/opt/relay')[0]!.apply[1]).toBe(waitHealthyCommand(120));
    expect(composeCommand('/opt/relay', 'ps')).toBe('docker compose -f /opt/relay/compose.yaml ps');
  });
});

describe('relay status: the script', () => {
  it('prints one key=value line per fact, read-only, and always succeeds', () => {
    expect(statusCommand({ appDir: '/opt/relay' }).split('\n')).toEqual([
      'c=relay',
      `echo "container.state=$(docker inspect -f '{{.State.Status}}' "$c" 2>/dev/null || echo missing)"`,
      `echo "container.health=$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$c" 2>/dev/null)"`,
      `echo "container.startedAt=$(docker inspect -f '{{.State.StartedAt}}' "$c" 2>/dev/null)"`,
      `echo "container.restarts=$(docker inspect -f '{{.RestartCount}}' "$c" 2>/dev/null)"`,
      `img=$(docker inspect -f '{{.Image}}' "$c" 2>/dev/null)`,
      'echo "image.id=$img"',
      `[ -n "$img" ] && echo "image.version=$(docker image inspect -f '{{index .Config.Labels "org.opencontainers.image.version"}}' "$img" 2>/dev/null)"`,
      'echo "nginx.active=$(systemctl is-active nginx 2>/dev/null)"',
      'echo "relay.service=$(systemctl is-enabled relay.service 2>/dev/null)"',
      'exit 0',
    ]);
  });

  it("adds the certificate's end date when there is a domain", () => {
    const lines = statusCommand({ appDir: '/opt/relay', domain: 'relay.example.com' }).split('\n');
    expect(lines.slice(-2)).toEqual([
      '[ -f /etc/letsencrypt/live/relay.example.com/cert.pem ] && echo "cert.notAfter=$(openssl x509 -enddate -noout -in /etc/letsencrypt/live/relay.example.com/cert.pem | cut -d= -f2)"',
      'exit 0',
    ]);
  });
});

describe('relay status: the report read back', () => {
  const now = new Date('2025-03-01T12:00:00Z');

  it('reads an empty report as a relay that is not there', () => {
    expect(parseStatus('', now)).toStrictEqual({
      container: { state: 'missing', health: 'none' },
      image: {},
      nginx: { active: false, state: 'unknown' },
      systemdUnit: 'missing',
    });
  });

  it('counts restarts only when the count is a number', () => {
    expect(parseStatus('container.restarts=12\n', now).container.restarts).toBe(12);
    expect(parseStatus('container.restarts=3x\n', now).container).toStrictEqual({ state: 'missing', health: 'none' });
    expect(parseStatus('container.restarts=x3\n', now).container).toStrictEqual({ state: 'missing', health: 'none' });
  });

  it('leaves out an image version the image has no label for', () => {
    expect(parseStatus('image.id=sha256:abc\nimage.version=<no value>\n', now).image).toStrictEqual({ id: 'sha256:abc' });
  });

  it('keeps an end date it cannot read as it is, with no days left to count', () => {
    expect(parseStatus('cert.notAfter=someday\n', now).cert).toStrictEqual({ notAfter: 'someday', daysLeft: NaN });
    expect(parseStatus('cert.notAfter=Mar  2 11:00:00 2025 GMT\n', now).cert).toStrictEqual({ notAfter: '2025-03-02T11:00:00.000Z', daysLeft: 0 });
  });

  it('holds no token line: the fingerprint comes from tokens.json\'s "default" hash', () => {
    expect(parseStatus('token.sha256=ab\n', now)).not.toHaveProperty('tokenFingerprint');
  });
});
