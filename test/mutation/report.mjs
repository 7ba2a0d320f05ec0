// Turns Stryker's JSON report into test/mutation/REPORT.md: the score, per file, and every surviving
// mutant by file. The last step of `npm run test:mutation`: one run over the whole scope.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { EQUIVALENT } from './equivalent.mjs';

const run = JSON.parse(readFileSync('reports/mutation/mutation.json', 'utf8'));
const git = (...args) => execFileSync('git', args, { encoding: 'utf8' }).trim();
// The run measured the work tree: name the commit, and say when its code or tests differed from it (the report's own scripts aside).
const commit = git('rev-parse', '--short', 'HEAD');
const measured = ['src', 'test', 'stryker.config.mjs', 'vitest.config.ts', ':!test/mutation/*.mjs', ':!test/mutation/*.md'];
const changed = git('status', '--porcelain', '--', ...measured) !== '';

const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);
const keyOf = (path, m) => `${path}:${m.location.start.line}:${m.location.start.column} ${m.mutatorName}`;
// Two mutants can share a place and mutator (two regex changes): such an entry names the replacement too.
const equivalentOf = (path, m) => EQUIVALENT[`${keyOf(path, m)} → ${m.replacement}`] ?? EQUIVALENT[keyOf(path, m)];
const score = (mutants) => {
  const detected = mutants.filter((m) => DETECTED.has(m.status)).length;
  const valid = detected + mutants.filter((m) => UNDETECTED.has(m.status)).length;
  return { detected, valid, percent: valid === 0 ? 100 : (100 * detected) / valid };
};

const files = Object.entries(run.files).sort(([a], [b]) => a.localeCompare(b));
const all = score(files.flatMap(([, file]) => file.mutants));
const undetected = files.flatMap(([path, file]) => file.mutants.filter((m) => UNDETECTED.has(m.status)).map((m) => equivalentOf(path, m)));
const equivalentCount = undetected.filter(Boolean).length;
const unjudged = undetected.length - equivalentCount;
const lines = [
  '# Mutation score of the pure core',
  '',
  `Made by \`npm run test:mutation\` on ${new Date().toISOString().slice(0, 10)} at commit ${commit}${changed ? ' with uncommitted changes' : ''}:` +
    ' one run over the whole scope.',
  ...(run.config.incremental
    ? [
        `Incremental (Stryker's incremental mode): a mutant whose code and covering tests are unchanged since the previous run keeps that run's`,
        `result (${run.config.incrementalFile}, on the machine that ran it); every other mutant is tested anew. Delete that file for a full run.`,
      ]
    : []),
  'Scope and settings: stryker.config.mjs (static mutants ignored; see the comment there).',
  '',
  `**Score: ${all.percent.toFixed(1)}%** (${all.detected} of ${all.valid} mutants detected;` +
    ` ${equivalentCount} of the rest judged equivalent, ${unjudged} not yet judged; below).`,
  '',
  '| file | score | detected / valid |',
  '| --- | ---: | ---: |',
  ...files.map(([path, file]) => {
    const s = score(file.mutants);
    return `| ${path} | ${s.percent.toFixed(1)}% | ${s.detected} / ${s.valid} |`;
  }),
  '',
  '## Reading it',
  '',
  '- "valid" counts survivors and mutants no fast-lane test reaches (NoCoverage).',
  '- Static mutants (module-level tables such as the hop-by-hop header set) are ignored by this run;',
  '  the behaviour tests of issue 20 cover those tables through a real relay.',
  '- A survivor marked **equivalent** was judged to change no behaviour (reason beside it, kept in',
  '  test/mutation/equivalent.mjs); every other survivor is a missing test.',
  '',
  '## Surviving mutants by file',
  '',
];
for (const [path, file] of files) {
  const survivors = file.mutants.filter((m) => UNDETECTED.has(m.status));
  if (survivors.length === 0) continue;
  lines.push(`### ${path}`, '');
  for (const m of survivors.sort((a, b) => a.location.start.line - b.location.start.line || a.location.start.column - b.location.start.column)) {
    const replacement = String(m.replacement ?? '')
      .replace(/\s+/g, ' ')
      .slice(0, 100);
    const equivalent = equivalentOf(path, m);
    lines.push(
      `- line ${m.location.start.line}:${m.location.start.column}: ${m.mutatorName}${m.status === 'NoCoverage' ? ' (no test reaches it)' : ''} → \`${replacement.replace(/`/g, "'")}\`${equivalent ? ` — **equivalent**: ${equivalent}` : ''}`,
    );
  }
  lines.push('');
}
// An entry whose survivor was killed or moved judges nothing any more: shown, to be removed.
const judged = new Set(
  files.flatMap(([path, file]) =>
    file.mutants.filter((m) => UNDETECTED.has(m.status)).flatMap((m) => [keyOf(path, m), `${keyOf(path, m)} → ${m.replacement}`]),
  ),
);
const stale = Object.keys(EQUIVALENT).filter((key) => !judged.has(key));
if (stale.length > 0) lines.push('## Equivalence entries that match no survivor (remove them from equivalent.mjs)', '', ...stale.map((key) => `- ${key}`), '');
writeFileSync('test/mutation/REPORT.md', `${lines.join('\n')}\n`);
console.log(`score ${all.percent.toFixed(1)}%: test/mutation/REPORT.md written`);
