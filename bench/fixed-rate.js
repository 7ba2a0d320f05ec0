// Open-loop load at a fixed rate over keep-alive connections (wrk2 is not packaged here).
// Latency is measured from each request's *scheduled* send time, so a stall in the server
// shows up in every request it delayed (no coordinated omission).
//
//   node bench/fixed-rate.js --url http://127.0.0.1:PORT/v1/chat/completions --rate 500 \
//     --duration-ms 10000 --warmup-ms 2000 --body '{...}' --headers '{"authorization":"Bearer x"}'
// prints one JSON line with the latency summary (ms).
import { Agent, request } from 'node:http';
import { parseArgs } from 'node:util';
import { summarize } from './stats.js';

const { values: opts } = parseArgs({
  options: {
    url: { type: 'string' },
    rate: { type: 'string', default: '500' },
    'duration-ms': { type: 'string', default: '10000' },
    'warmup-ms': { type: 'string', default: '2000' },
    connections: { type: 'string', default: '64' },
    body: { type: 'string', default: '{}' },
    headers: { type: 'string', default: '{}' },
  },
});

const url = new URL(opts.url ?? '');
const rate = Number(opts.rate);
const intervalMs = 1000 / rate;
const warmupMs = Number(opts['warmup-ms']);
const durationMs = Number(opts['duration-ms']);
const body = Buffer.from(opts.body ?? '{}');
const headers = { ...JSON.parse(opts.headers ?? '{}'), 'content-type': 'application/json', 'content-length': body.length };
// Requests beyond `connections` in flight wait in the agent's queue; that wait counts as latency.
const agent = new Agent({ keepAlive: true, maxSockets: Number(opts.connections) });

const total = Math.round(((warmupMs + durationMs) / 1000) * rate);
const warmupCount = Math.round((warmupMs / 1000) * rate);
const fromSchedule = new Float64Array(total - warmupCount);
const service = new Float64Array(total - warmupCount);
let recorded = 0;
let completed = 0;
let failed = 0;
const statuses = {};
let maxLateMs = 0;

const start = performance.now() + 50;
let next = 0;

function fire(index) {
  const scheduledAt = start + index * intervalMs;
  const sentAt = performance.now();
  maxLateMs = Math.max(maxLateMs, sentAt - scheduledAt);
  const req = request(
    { host: url.hostname, port: url.port, path: url.pathname + url.search, method: 'POST', headers, agent },
    (res) => {
      res.resume();
      res.on('end', () => {
        const endAt = performance.now();
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        if (res.statusCode !== 200) failed++;
        else if (index >= warmupCount) {
          fromSchedule[recorded] = endAt - scheduledAt;
          service[recorded] = endAt - sentAt;
          recorded++;
        }
        done();
      });
    },
  );
  req.on('error', () => {
    failed++;
    done();
  });
  req.end(body);
}

function done() {
  if (++completed === total) finish();
}

function tick() {
  const now = performance.now();
  while (next < total && start + next * intervalMs <= now) fire(next++);
  if (next < total) setTimeout(tick, Math.max(0, start + next * intervalMs - performance.now()));
}

let finished = false;
function finish() {
  if (finished) return;
  finished = true;
  const measured = total - warmupCount;
  process.stdout.write(
    `${JSON.stringify({
      rate,
      sent: next,
      measured,
      recorded,
      failed,
      statuses,
      max_late_send_ms: maxLateMs,
      latency_ms: summarize(fromSchedule.subarray(0, recorded)),
      service_ms: summarize(service.subarray(0, recorded)),
    })}\n`,
  );
  agent.destroy();
  process.exit(0);
}

// Bounded: whatever is still outstanding well after the last send is counted as failed.
setTimeout(() => {
  failed += total - completed;
  finish();
}, warmupMs + durationMs + 15_000).unref();
setTimeout(tick, 50);
