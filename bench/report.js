// The terminal view of bench results: one table per scenario, then the goals.

const fmt = (v, digits = 2) => (typeof v !== 'number' || Number.isNaN(v) ? '-' : Math.abs(v) >= 1000 ? Math.round(v).toLocaleString('en-US') : v.toFixed(digits));
const signed = (v, digits = 2) => (typeof v !== 'number' ? '-' : `${v >= 0 ? '+' : ''}${v.toFixed(digits)}`);

/** @param {string[]} header @param {string[][]} rows */
function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function failedRow(name, result, columns) {
  return [name, ...Array(columns - 2).fill('-'), `FAILED: ${(result.error ?? result.note ?? '').slice(0, 70)}`];
}

const views = {
  1: (s) =>
    table(
      ['contender', 'req/s', 'p50 ms', 'p99 ms', 'added p50', 'added p99', 'note'],
      Object.entries(s.contenders).map(([name, r]) =>
        r.failed ? failedRow(name, r, 7) : [name, fmt(r.rps, 0), fmt(r.p50_ms), fmt(r.p99_ms), signed(r.added_p50_ms), signed(r.added_p99_ms), r.note ?? ''],
      ),
    ),
  2: (s) =>
    table(
      ['contender', 'p50 ms', 'p99 ms', 'p99.9 ms', 'added p50', 'added p99', 'note'],
      Object.entries(s.contenders).map(([name, r]) =>
        r.failed ? failedRow(name, r, 7) : [name, fmt(r.p50_ms, 3), fmt(r.p99_ms, 3), fmt(r.p999_ms, 3), signed(r.added_p50_ms, 3), signed(r.added_p99_ms, 3), r.note ?? ''],
      ),
    ),
  3: (s) =>
    table(
      ['contender', 'streams/s', 'p50 ms', 'p99 ms', 'coalesced reads', 'max events/read', 'chunk p99 ms', 'added chunk p99', 'note'],
      Object.entries(s.contenders).map(([name, r]) =>
        r.failed
          ? failedRow(name, r, 9)
          : [name, fmt(r.rps, 0), fmt(r.p50_ms), fmt(r.p99_ms), String(r.coalesced_reads ?? '-'), String(r.max_events_per_read ?? '-'), fmt(r.chunk_delay_p99_ms, 3), signed(r.added_chunk_delay_p99_ms, 3), r.note ?? ''],
      ),
    ),
  4: (s) =>
    Object.entries(s.sizes)
      .map(
        ([size, block]) =>
          `${size} concurrent streams, a chunk every ${block.settings.spacingMs} ms:\n` +
          table(
            ['contender', 'completed', 'RSS MB', 'idle RSS MB', 'chunk p50 ms', 'chunk p99 ms', 'added p50', 'added p99', 'note'],
            Object.entries(block.contenders).map(([name, r]) =>
              r.failed
                ? failedRow(name, r, 9)
                : [name, `${r.streams_completed}/${size}`, fmt(r.rss_mb, 1), fmt(r.rss_idle_mb, 1), fmt(r.chunk_delay_p50_ms, 3), fmt(r.chunk_delay_p99_ms, 3), signed(r.added_chunk_delay_p50_ms, 3), signed(r.added_chunk_delay_p99_ms, 3), (r.note ?? '').slice(0, 90)],
            ),
          ),
      )
      .join('\n\n'),
  5: (s) =>
    table(
      ['contender', 'MB/s', 'seconds', 'RSS before MB', 'RSS peak MB', 'increase MB', 'second upload MB', 'note'],
      Object.entries(s.contenders).map(([name, r]) =>
        r.failed ? failedRow(name, r, 8) : [name, fmt(r.mb_per_s, 0), fmt(r.ms / 1000), fmt(r.rss_before_mb, 1), fmt(r.rss_peak_mb, 1), fmt(r.rss_increase_mb, 1), fmt(r.second_upload_rss_increase_mb, 1), r.note ?? ''],
      ),
    ),
  6: (s) =>
    table(
      ['contender', 'median ms', 'min ms', 'max ms'],
      Object.entries(s.contenders).map(([name, r]) => (r.failed ? failedRow(name, r, 4) : [name, fmt(r.cold_start_ms, 1), fmt(r.min_ms, 1), fmt(r.max_ms, 1)])),
    ),
};

export function printResults(results) {
  const goals = [];
  for (const [id, s] of Object.entries(results.scenarios)) {
    const steal = typeof s.steal_percent === 'number' ? ` (CPU stolen by the hypervisor meanwhile: ${s.steal_percent.toFixed(1)}%)` : '';
    console.log(`\n### ${id}. ${s.title}${steal}\n`);
    console.log(views[id](s));
    const ratioLines = Object.entries(s.ratios ?? {})
      .filter(([, v]) => typeof v === 'number')
      .map(([k, v]) => `${k} = ${v.toFixed(2)}`);
    if (ratioLines.length) console.log(`\n${ratioLines.join('; ')}`);
    goals.push(...(s.goals ?? []));
  }
  if (goals.length) {
    console.log('\n### goals (relay)\n');
    console.log(
      table(
        ['goal', 'value', 'met'],
        goals.map((g) => [g.goal, typeof g.value === 'number' ? g.value.toFixed(3) : 'n/a', g.not_judged ? `not judged: ${g.not_judged}` : g.met === null ? 'n/a' : g.met ? 'yes' : 'NO']),
      ),
    );
  }
  if (results.profile) {
    const p = results.profile;
    const what = p.scenario === '3' ? 'scenario 3, SSE streams of 20 chunks' : 'scenario 1, JSON';
    console.log(`\n### CPU profile of the relay under ${what} (${fmt(p.load?.rps, 0)} requests/s while profiled)\n`);
    console.log(table(['area', '% self time'], Object.entries(p.byArea).sort((a, b) => b[1] - a[1]).slice(0, 15).map(([k, v]) => [k, v.toFixed(1)])));
    console.log();
    console.log(table(['function', 'where', '% self'], p.functions.map((f) => [f.name, f.where, f.percent.toFixed(1)])));
    console.log(`\nprofile: ${p.file} (open in Chrome DevTools > Performance, or speedscope)`);
  }
}
