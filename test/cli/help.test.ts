// Every command's --help ends with examples an operator can paste (issue 17.5): the real CLI,
// each command and subcommand found in the help it prints, so a new command cannot skip them.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli-run.js';

/** The command names listed under "Commands:" in a help text, without commander's own `help`. */
function commandsIn(help: string): string[] {
  const section = help.split('\nCommands:\n')[1]?.split('\n\n')[0] ?? '';
  return [...section.matchAll(/^ {2}([a-z-]+)/gm)].map((match) => match[1]!).filter((name) => name !== 'help');
}

describe('--help', { timeout: 120_000 }, () => {
  it('of every command and subcommand shows examples', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'relay-help-'));
    const help = async (path: string[]) => (await runCli([...path, '--help'], { cwd })).stdout;
    const top = commandsIn(await help([]));
    expect(top).toEqual(expect.arrayContaining(['init', 'install', 'deploy', 'cert', 'logs', 'restart', 'rotate-token', 'token', 'usage', 'status', 'serve']));
    const paths = (await Promise.all(top.map(async (name) => [[name], ...commandsIn(await help([name])).map((sub) => [name, sub])]))).flat();
    expect(paths).toContainEqual(['token', 'add']);
    const texts = await Promise.all(paths.map(async (path) => ({ path: path.join(' '), text: await help(path) })));
    for (const { path, text } of texts) expect(text, `relay ${path} --help`).toMatch(/\nExamples?:\n( {2}\$ .+\n)+/);
  });
});
