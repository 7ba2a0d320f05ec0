// Tests run the real relay and CLI as processes, so they need a fresh bundle first.
import { execFileSync } from 'node:child_process';

export default function buildOnce(): void {
  execFileSync(process.execPath, ['scripts/build.js'], { stdio: 'inherit' });
}
