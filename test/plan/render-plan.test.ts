// `--dry-run` output as pure text: each step numbered with its check, files and commands, and
// `--show-files` with every file in full except the bundle and hidden settings.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { describeFiles, describePlan } from '../../src/plan/render-plan.js';
import type { Step } from '../../src/plan/step.js';

const sha12 = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 12);

describe('dry run: each step numbered, with its check, files (never their content) and commands', () => {
  it('describes checks, files with line counts and digests, and multi-line commands', () => {
    const steps: Step[] = [
      {
        id: 'docker.install',
        title: 'Install Docker',
        check: 'command -v docker',
        apply: ['apt-get install -y docker.io', '  set -e\nsystemctl enable docker\nsystemctl start docker\n'],
      },
      {
        id: 'relay.env',
        title: 'Write the env file',
        files: [
          { path: '/opt/relay/.env', content: Buffer.from('OPENAI_API_KEY=sk-secret\nPORT=8080\n'), mode: '0600', owner: 'root:root' },
          { path: '/opt/relay/note', content: Buffer.from('one\ntwo'), mode: '0644', owner: 'relay:relay' },
          { path: '/opt/relay/empty', content: Buffer.from(''), mode: '0644', owner: 'root:root' },
        ],
        apply: [],
      },
    ];
    const text = describePlan(steps);
    expect(text).toBe(
      [
        '1. Install Docker [docker.install]',
        '   check: command -v docker',
        '   apply: apt-get install -y docker.io',
        '   apply: set -e',
        '          systemctl enable docker',
        '          systemctl start docker',
        '',
        '2. Write the env file [relay.env]',
        '   check: (decided by its files)',
        `   file:  /opt/relay/.env  0600 root:root  (2 lines, sha256 ${sha12('OPENAI_API_KEY=sk-secret\nPORT=8080\n')})`,
        `   file:  /opt/relay/note  0644 relay:relay  (2 lines, sha256 ${sha12('one\ntwo')})`,
        `   file:  /opt/relay/empty  0644 root:root  (0 lines, sha256 ${sha12('')})`,
        '   apply: (nothing besides its files)',
        '',
      ].join('\n'),
    );
    expect(text).not.toContain('sk-secret');
  });

  it('indents a multi-line check under its label', () => {
    expect(describePlan([{ id: 'a', title: 'A', check: 'test -f x &&\ntest -f y', apply: ['true'] }])).toBe(
      '1. A [a]\n   check: test -f x &&\n          test -f y\n   apply: true\n',
    );
  });
});

describe('dry run --show-files: every file in full, the bundle by size, hidden settings hidden', () => {
  const steps: Step[] = [
    {
      id: 'relay.files',
      title: 'Files',
      files: [
        { path: '/opt/relay/.env', content: Buffer.from('OPENAI_API_KEY=<your key>\nRELAY_TOKEN=abc\nPORT=8080\n'), mode: '0600', owner: 'root:root' },
        { path: '/opt/relay/compose.yaml', content: Buffer.from('services: {}'), mode: '0644', owner: 'root:root' },
        { path: '/opt/relay/relay-server.mjs', content: Buffer.from('x'.repeat(1234)), mode: '0644', owner: 'root:root' },
        { path: '/opt/relay/relay-core.cjs', content: Buffer.from('y'.repeat(56)), mode: '0644', owner: 'root:root' },
        { path: '/opt/relay/relay-tokenizer.cjs', content: Buffer.from('z'.repeat(78)), mode: '0644', owner: 'root:root' },
      ],
      apply: [],
    },
    { id: 'nothing', title: 'No files', apply: ['true'] },
    { id: 'empty', title: 'Empty file', files: [{ path: '/opt/relay/empty', content: Buffer.from(''), mode: '0600', owner: 'root:root' }], apply: [] },
  ];

  it('shows each file under a head line, ending every file in a newline', () => {
    expect(describeFiles(steps, { hiddenSettings: ['RELAY_TOKEN'] })).toBe(
      [
        '--- /opt/relay/.env  0600 root:root',
        'OPENAI_API_KEY=<your key>',
        'RELAY_TOKEN=<hidden>',
        'PORT=8080',
        '',
        '--- /opt/relay/compose.yaml  0644 root:root',
        'services: {}',
        '',
        '--- /opt/relay/relay-server.mjs  0644 root:root  (the relay bundle, 1234 bytes)',
        '',
        '--- /opt/relay/relay-core.cjs  0644 root:root  (the relay bundle, 56 bytes)',
        '',
        '--- /opt/relay/relay-tokenizer.cjs  0644 root:root  (the relay bundle, 78 bytes)',
        '',
        '--- /opt/relay/empty  0600 root:root',
        '',
      ].join('\n'),
    );
  });

  it("never shows a URL's credentials in the .env file, hidden settings or not", () => {
    const env: Step[] = [
      { id: 'e', title: 'E', files: [{ path: '/opt/relay/.env', content: Buffer.from('HTTPS_PROXY=http://user:pass@proxy.internal:3128\nPORT=8080\n'), mode: '0600', owner: 'root:root' }], apply: [] },
    ];
    expect(describeFiles(env)).toBe('--- /opt/relay/.env  0600 root:root\nHTTPS_PROXY=http://***@proxy.internal:3128\nPORT=8080\n');
  });

  it('hides nothing unless asked, and hides settings only in the .env file', () => {
    const withToken: Step[] = [
      {
        id: 'f',
        title: 'F',
        files: [
          { path: '/opt/relay/.env', content: Buffer.from('RELAY_TOKEN=abc\n'), mode: '0600', owner: 'root:root' },
          { path: '/opt/relay/other.env.txt', content: Buffer.from('RELAY_TOKEN=abc\n'), mode: '0600', owner: 'root:root' },
          { path: '/opt/relay/relay-server.mjs.map', content: Buffer.from('map\n'), mode: '0644', owner: 'root:root' },
        ],
        apply: [],
      },
    ];
    expect(describeFiles(withToken)).toBe(
      '--- /opt/relay/.env  0600 root:root\nRELAY_TOKEN=abc\n\n--- /opt/relay/other.env.txt  0600 root:root\nRELAY_TOKEN=abc\n\n--- /opt/relay/relay-server.mjs.map  0644 root:root\nmap\n',
    );
    expect(describeFiles(withToken, { hiddenSettings: ['RELAY_TOKEN'] })).toBe(
      '--- /opt/relay/.env  0600 root:root\nRELAY_TOKEN=<hidden>\n\n--- /opt/relay/other.env.txt  0600 root:root\nRELAY_TOKEN=abc\n\n--- /opt/relay/relay-server.mjs.map  0644 root:root\nmap\n',
    );
  });
});
