// CPU time (user + sys, from /proc) one contender spends per request: a JSON chat completion, or
// an SSE stream of 20 events back to back. Saturation figures swing by 20-40% between rounds on
// a shared or virtual machine; CPU per request is what an A/B of two builds can still compare.
//
//   node bench/cpu-per-request.js [--contender relay|node-bare] [--kind sse|json] [--count 10000]
//
// Run it from each build's checkout (after `npm run build`), interleaved A B A B, several times.
import { spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';

const { values: opts } = parseArgs({
  options: {
    contender: { type: 'string', default: 'relay' },
    kind: { type: 'string', default: 'sse' },
    count: { type: 'string', default: '10000' },
  },
});
const root = join(import.meta.dirname, '..');
const count = Number(opts.count);
const token = 'bench-token-0123456789abcdef0123456789abcdef';

/** CPU ms used so far by a process (utime + stime; clock ticks of 10 ms). */
function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const upstream = spawn(process.execPath, [join(root, 'bench/fake-upstream.js'), '--port', '0', '--key', 'sk-bench'], { stdio: ['ignore', 'pipe', 'inherit'] });
const upstreamPort = await new Promise((resolve) => upstream.stdout.once('data', (data) => resolve(JSON.parse(String(data).split('\n')[0]).port)));
const port = 20_000 + Math.floor(Math.random() * 20_000);
const log = openSync(join(tmpdir(), `cpu-per-request-${opts.contender}.log`), 'w');
const script = opts.contender === 'relay' ? 'dist/relay-server.mjs' : 'bench/node-bare.js';
const proxy = spawn(process.execPath, [join(root, script)], {
  stdio: ['ignore', log, log],
  env: {
    ...process.env,
    OPENAI_API_KEY: 'sk-bench',
    RELAY_TOKEN: token,
    OPENAI_BASE_URL: `http://127.0.0.1:${upstreamPort}`,
    PORT: String(port),
    HOST: '127.0.0.1',
    NODE_OPTIONS: '--max-semi-space-size=8',
  },
});

const agent = new Agent({ connections: 32 });
const body = JSON.stringify({ model: opts.kind === 'sse' ? 'fake-c20-s0' : 'fake', stream: opts.kind === 'sse', messages: [{ role: 'user', content: 'hi' }] });
async function once() {
  const answer = await request(`http://127.0.0.1:${port}/v1/chat/completions`, {
    method: 'POST',
    dispatcher: agent,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
  });
  await answer.body.text();
  if (answer.statusCode !== 200) throw new Error(`HTTP ${answer.statusCode}`);
}
/** `n` requests over 32 keep-alive connections. */
async function run(n) {
  let left = n;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (left-- > 0) await once();
    }),
  );
}

for (let tries = 0; ; tries++) {
  try {
    await once();
    break;
  } catch (error) {
    if (tries > 200) throw error;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
await run(2_000); // warm-up: JIT and connection pools
const before = cpuMs(proxy.pid);
await run(count);
const used = cpuMs(proxy.pid) - before;
console.log(`${opts.contender} ${opts.kind}: ${((used * 1000) / count).toFixed(1)} us CPU per request (${used} ms over ${count})`);
proxy.kill();
upstream.kill();
await agent.close();
