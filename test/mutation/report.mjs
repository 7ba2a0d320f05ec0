// Turns Stryker's JSON report into test/mutation/REPORT.md: the score, per file, and every surviving
// mutant by file. The last step of `npm run test:mutation`.
// `node test/mutation/report.mjs a.json b.json ...` merges runs made with --mutate on some files:
// a file's mutants come from the last report that has it (the REPORT.md says which).
import { readFileSync, writeFileSync } from 'node:fs';
import { EQUIVALENT } from './equivalent.mjs';

const sources = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['reports/mutation/mutation.json'];
const merged = {};
const from = {};
for (const source of sources) {
  for (const [path, file] of Object.entries(JSON.parse(readFileSync(source, 'utf8')).files)) {
    merged[path] = file;
    from[path] = source;
  }
}
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

const files = Object.entries(merged).sort(([a], [b]) => a.localeCompare(b));
const all = score(files.flatMap(([, file]) => file.mutants));
const equivalentCount = files.flatMap(([path, file]) => file.mutants.filter((m) => UNDETECTED.has(m.status) && equivalentOf(path, m))).length;
const lines = [
  '# Mutation score of the pure core',
  '',
  `Made by \`npm run test:mutation\` on ${new Date().toISOString().slice(0, 10)}${sources.length > 1 ? `, merged from ${sources.length} runs (see "from run" below)` : ''}.`,
  'Scope and settings: stryker.config.mjs (static mutants ignored; see the comment there).',
  '',
  `**Score: ${all.percent.toFixed(1)}%** (${all.detected} of ${all.valid} mutants detected; ${equivalentCount} of the rest judged equivalent, below).`,
  '',
  `| file | score | detected / valid |${sources.length > 1 ? ' from run |' : ''}`,
  `| --- | ---: | ---: |${sources.length > 1 ? ' --- |' : ''}`,
  ...files.map(([path, file]) => {
    const s = score(file.mutants);
    return `| ${path} | ${s.percent.toFixed(1)}% | ${s.detected} / ${s.valid} |${sources.length > 1 ? ` ${from[path].replace(/^.*\//, '')} |` : ''}`;
  }),
  '',
  '## Reading it',
  '',
  ...(sources.length > 1
    ? ['- Merged: each file\'s numbers come from the run named beside it; a file from an earlier run was not', '  re-measured after later changes to its module or tests.']
    : []),
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
    const replacement = String(m.replacement ?? '').replace(/\s+/g, ' ').slice(0, 100);
    const equivalent = equivalentOf(path, m);
    lines.push(
      `- line ${m.location.start.line}:${m.location.start.column}: ${m.mutatorName}${m.status === 'NoCoverage' ? ' (no test reaches it)' : ''} → \`${replacement.replace(/`/g, "'")}\`${equivalent ? ` — **equivalent**: ${equivalent}` : ''}`,
    );
  }
  lines.push('');
}
writeFileSync('test/mutation/REPORT.md', `${lines.join('\n')}\n`);
console.log(`score ${all.percent.toFixed(1)}%: test/mutation/REPORT.md written`);
