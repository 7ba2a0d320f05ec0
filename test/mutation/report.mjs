// Turns Stryker's JSON report (reports/mutation/mutation.json) into test/mutation/REPORT.md: the
// score, per file, and every surviving mutant by file. The last step of `npm run test:mutation`.
import { readFileSync, writeFileSync } from 'node:fs';

const report = JSON.parse(readFileSync('reports/mutation/mutation.json', 'utf8'));
const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);
const score = (mutants) => {
  const detected = mutants.filter((m) => DETECTED.has(m.status)).length;
  const valid = detected + mutants.filter((m) => UNDETECTED.has(m.status)).length;
  return { detected, valid, percent: valid === 0 ? 100 : (100 * detected) / valid };
};

const files = Object.entries(report.files).sort(([a], [b]) => a.localeCompare(b));
const all = score(files.flatMap(([, file]) => file.mutants));
const lines = [
  '# Mutation score of the pure core',
  '',
  `Made by \`npm run test:mutation\` on ${new Date().toISOString().slice(0, 10)}.`,
  'Scope and settings: stryker.config.mjs (static mutants ignored; see the comment there).',
  '',
  `**Score: ${all.percent.toFixed(1)}%** (${all.detected} of ${all.valid} mutants detected).`,
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
  '- "valid" counts survivors and mutants no fast-lane test reaches (NoCoverage). The Ollama translator,',
  '  CORS and the model list have behaviour tests only through a running relay (test/compat), which',
  '  the fast lane does not run: most of their mutants are NoCoverage, not proven equivalent.',
  '- Static mutants (module-level tables such as the hop-by-hop header set) are ignored by this run;',
  '  the behaviour tests of issue 20 cover those tables through a real relay.',
  '- No survivor below has been classified as equivalent yet: each is either a missing unit test or',
  '  still to be judged. Target: 85% on these modules.',
  '',
  '## Surviving mutants by file',
  '',
];
for (const [path, file] of files) {
  const survivors = file.mutants.filter((m) => UNDETECTED.has(m.status));
  if (survivors.length === 0) continue;
  lines.push(`### ${path}`, '');
  for (const m of survivors.sort((a, b) => a.location.start.line - b.location.start.line)) {
    const replacement = String(m.replacement ?? '').replace(/\s+/g, ' ').slice(0, 100);
    lines.push(`- line ${m.location.start.line}: ${m.mutatorName}${m.status === 'NoCoverage' ? ' (no test reaches it)' : ''} → \`${replacement.replace(/`/g, "'")}\``);
  }
  lines.push('');
}
writeFileSync('test/mutation/REPORT.md', `${lines.join('\n')}\n`);
console.log(`score ${all.percent.toFixed(1)}%: test/mutation/REPORT.md written`);
