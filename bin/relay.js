#!/usr/bin/env -S node --
// `--` ends Node's own options: Node scans all of argv for --env-file, which is relay's flag too.
const [major] = process.versions.node.split('.').map(Number);
if (major < 22) {
  process.stderr.write(`relay needs Node.js 22 or newer; this is ${process.version}. Install a current Node (https://nodejs.org) and run it again.\n`);
  process.exit(1);
}
await import('../dist/cli.js');
