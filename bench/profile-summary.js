// Reads a V8 .cpuprofile (from `node --cpu-prof`) and lists where the self time went.
//   node bench/profile-summary.js bench/out/profile/CPU.*.cpuprofile [--top 25]
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';

/**
 * @param {string} file
 * @param {number} top
 * @returns {{totalMs: number, functions: {name: string, where: string, selfMs: number, percent: number}[], byArea: Record<string, number>}}
 */
export function summarizeProfile(file, top = 25) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const functions = new Map();
  const byArea = {};
  let total = 0;
  for (const [id, us] of selfUs) {
    const { callFrame } = byId.get(id);
    const where = !callFrame.url
      ? ''
      : callFrame.url.includes('relay-server.mjs')
        ? `${moduleAt(callFrame.url, callFrame.lineNumber)} (bundle:${callFrame.lineNumber + 1})`
        : `${callFrame.url.replace(/^file:\/\/.*\//, '')}:${callFrame.lineNumber + 1}`;
    const key = `${callFrame.functionName || '(anonymous)'} ${where}`;
    const entry = functions.get(key) ?? { name: callFrame.functionName || '(anonymous)', where, selfMs: 0 };
    entry.selfMs += us / 1000;
    functions.set(key, entry);
    byArea[area(callFrame)] = (byArea[area(callFrame)] ?? 0) + us / 1000;
    total += us / 1000;
  }
  const sorted = [...functions.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, top);
  for (const entry of sorted) entry.percent = (100 * entry.selfMs) / total;
  for (const key of Object.keys(byArea)) byArea[key] = Math.round((1000 * byArea[key]) / total) / 10;
  return { totalMs: total, functions: sorted, byArea };
}

/** esbuild marks each module in a bundle with a `// path` line: map bundle lines back to modules. */
const bundleMaps = new Map();
function moduleAt(url, line) {
  if (!bundleMaps.has(url)) {
    const marks = [];
    try {
      readFileSync(new URL(url), 'utf8').split('\n').forEach((text, index) => {
        const match = /^\/\/ ((?:node_modules|src)\/\S+)$/.exec(text);
        if (match) marks.push([index, match[1]]);
      });
    } catch {}
    bundleMaps.set(url, marks);
  }
  let found = 'bundle';
  for (const [at, path] of bundleMaps.get(url)) {
    if (at > line) break;
    found = path;
  }
  return found;
}

/** Coarse buckets: what part of the stack the time is in. */
function area({ url, functionName, lineNumber }) {
  if (!url) return functionName.startsWith('(') ? functionName : 'native';
  if (url.includes('relay-server.mjs')) {
    const module = moduleAt(url, lineNumber);
    return module.startsWith('node_modules/') ? `bundled ${module.split('/').slice(1, 2).join('/')}` : `relay ${module}`;
  }
  if (url.startsWith('node:')) return url.split('/').slice(0, 3).join('/');
  return basename(url);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
  for (const file of positionals) {
    const summary = summarizeProfile(file, Number(values.top));
    console.log(`${file}: ${Math.round(summary.totalMs)} ms sampled`);
    console.log(summary.byArea);
    for (const f of summary.functions) console.log(`${f.percent.toFixed(1).padStart(5)}%  ${f.name}  ${f.where}`);
  }
}
