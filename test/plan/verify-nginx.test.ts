// The deploy's last step, run for real by /bin/sh against a fake curl: what it asks nginx, how the
// operator's token travels (stdin, never argv nor a file), and the error line for each way a relay can fail to answer.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyThroughNginxCommand } from '../../src/plan/deploy-plan.js';

// The fake curl logs its argv (one line, fields split by |) and its stdin, writes BODY to -o, and
// answers HEALTH for /health, MODELS for the token request, PLAIN for /v1 without a token; 000 fails.
const FAKE_CURL = `#!/bin/sh
printf '%s|' "$@" >> "$DIR/argv"; echo >> "$DIR/argv"
out=/dev/null; url=; token=
while [ $# -gt 0 ]; do
  case "$1" in
    -o) out=$2; shift ;;
    -w|-H|--max-time|--resolve) shift ;;
    --config) token=1; cat >> "$DIR/stdin"; shift ;;
    http*) url=$1 ;;
  esac
  shift
done
case "$url" in
  */health) code=$HEALTH ;;
  *) if [ -n "$token" ]; then code=$MODELS; else code=$PLAIN; fi ;;
esac
[ "$code" = 000 ] && exit 7
printf '%s' "$BODY" > "$out"
printf '%s' "$code"
`;

function verify(mode: 'http' | 'https' | 'tls-pending', answers: { HEALTH?: string; MODELS?: string; PLAIN?: string; BODY?: string } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'relay-verify-'));
  writeFileSync(join(dir, 'curl'), FAKE_CURL, { mode: 0o755 });
  // The token arrives as the deploy step sends it: a line on stdin, read into $token.
  const run = spawnSync('sh', ['-c', `IFS= read -r token\n${verifyThroughNginxCommand('relay.example.com', mode, 8080)}`], {
    encoding: 'utf8',
    input: 'the-token\n',
    env: { PATH: `${dir}:/usr/bin:/bin`, DIR: dir, HEALTH: '200', MODELS: '200', PLAIN: '503', BODY: '{}', ...answers },
  });
  const read = (name: string) => {
    try {
      return readFileSync(join(dir, name), 'utf8');
    } catch {
      return '';
    }
  };
  return { status: run.status, stderr: run.stderr, argv: read('argv').trim().split('\n'), stdin: read('stdin') };
}

describe('verify through nginx: /health answers 200 and the token is accepted', () => {
  it('asks nginx on port 80 with the Host header, sending the token it was given on stdin', () => {
    expect(verify('http')).toEqual({
      status: 0,
      stderr: '',
      argv: [
        "-sS|-o|/dev/null|-w|%{http_code}|--max-time|10|-H|Host: relay.example.com|http://127.0.0.1/health|",
        expect.stringMatching(/^-sS\|-o\|\/tmp\/[^|]+\|-w\|%\{http_code\}\|--max-time\|60\|--config\|-\|-H\|Host: relay\.example\.com\|http:\/\/127\.0\.0\.1\/v1\/models\|$/),
      ],
      stdin: 'header = "Authorization: Bearer the-token"\n',
    });
  });

  it('with HTTPS, asks nginx on 443 with the server name resolved to loopback', () => {
    const run = verify('https');
    expect(run.status).toBe(0);
    expect(run.argv[0]).toBe('-sS|-o|/dev/null|-w|%{http_code}|--max-time|10|-k|--resolve|relay.example.com:443:127.0.0.1|-H|Host: relay.example.com|https://relay.example.com/health|');
    expect(run.argv[1]).toMatch(/\|--config\|-\|-k\|--resolve\|relay\.example\.com:443:127\.0\.0\.1\|-H\|Host: relay\.example\.com\|https:\/\/relay\.example\.com\/v1\/models\|$/);
  });

  it('while HTTPS is pending, requires port 80 to refuse /v1 and checks the token on loopback', () => {
    const run = verify('tls-pending');
    expect(run.status).toBe(0);
    expect(run.argv.slice(0, 2)).toEqual([
      '-sS|-o|/dev/null|-w|%{http_code}|--max-time|10|-H|Host: relay.example.com|http://127.0.0.1/health|',
      '-sS|-o|/dev/null|-w|%{http_code}|--max-time|10|-H|Host: relay.example.com|http://127.0.0.1/v1/models|',
    ]);
    expect(run.argv[2]).toMatch(/\|--config\|-\|http:\/\/127\.0\.0\.1:8080\/v1\/models\|$/);
    expect(run.stdin).toBe('header = "Authorization: Bearer the-token"\n');
  });
});

describe('verify through nginx: one error line for each failure', () => {
  it.each([
    ['http', { HEALTH: '502' }, 'GET /health through nginx answered 502, not 200\n'],
    ['http', { HEALTH: '000' }, 'GET /health through nginx answered 000, not 200\n'],
    ['tls-pending', { PLAIN: '200' }, 'GET /v1/models on port 80 answered 200, not 503: the API must not be served over plain HTTP\n'],
    ['tls-pending', { PLAIN: '000' }, 'GET /v1/models on port 80 answered 000, not 503: the API must not be served over plain HTTP\n'],
    ['http', { MODELS: '401', BODY: '{"error":{"message":"Missing or invalid relay token."}}' }, 'the relay refused its own RELAY_TOKEN (401)\n'],
    ['http', { MODELS: '401', BODY: '{"error":{"message":"Incorrect API key provided"}}' }, 'the upstream refused OPENAI_API_KEY (401): check the key in your .env.local\n'],
    ['https', { MODELS: '000' }, 'GET /v1/models through nginx got no answer\n'],
  ] as const)('%s %j: %s', (mode, answers, stderr) => {
    const run = verify(mode, answers);
    expect([run.status, run.stderr]).toEqual([1, stderr]);
  });

  it('passes on any answer but 401 or none: the upstream may refuse /v1/models for other reasons', () => {
    expect(verify('http', { MODELS: '403' }).status).toBe(0);
  });
});
