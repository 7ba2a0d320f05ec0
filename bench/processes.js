// Runs what bench/contenders.js plans: start a process in its own process group, wait until it
// serves, read its memory, stop it. Every process started here is tracked so that a failure or
// Ctrl-C stops it too.
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';

/** @type {Set<import('node:child_process').ChildProcess>} */
const running = new Set();

/** A port free on 127.0.0.1 right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts a plan's process, its output going to `logFile`.
 * @param {import('./contenders.js').Plan} plan
 * @param {string} dir
 */
export function startPlan(plan, dir) {
  mkdirSync(dir, { recursive: true });
  for (const file of plan.files) writeFileSync(file.path, file.content);
  const log = openSync(`${dir}/output.log`, 'a');
  const child = spawn(plan.command, plan.args, {
    env: { ...process.env, ...plan.env },
    // stdin stays a pipe: our Node children exit when it closes, i.e. when the bench is gone.
    stdio: ['pipe', log, log],
    detached: true,
  });
  closeSync(log);
  return track(child);
}

/** @param {import('node:child_process').ChildProcess} child */
function track(child) {
  running.add(child);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  exited.then(() => running.delete(child));
  return {
    child,
    pid: /** @type {number} */ (child.pid),
    exited,
    /** SIGTERM to the whole group, SIGKILL if it lingers. */
    async stop(graceMs = 3000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      killGroup(child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      // Workers of a group whose leader is gone (nginx workers, cluster workers).
      killGroup(child, 'SIGKILL');
    },
  };
}

function killGroup(child, signal) {
  try {
    process.kill(-(/** @type {number} */ (child.pid)), signal);
  } catch {}
}

/** Stops every process this module started (on failure or Ctrl-C). */
export function killAll() {
  for (const child of running) killGroup(child, 'SIGKILL');
}

/**
 * Runs a client script to completion and returns the JSON lines it printed.
 * @param {string} command @param {string[]} args
 * @param {{env?: Record<string,string>, timeoutMs: number, onLine?: (line: any) => void}} options
 */
export async function runClient(command, args, { env = {}, timeoutMs, onLine }) {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  const handle = track(child);
  const lines = [];
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  createInterface({ input: child.stdout }).on('line', (text) => {
    const json = text.startsWith('BENCH_JSON ') ? text.slice(11) : text;
    if (!json.startsWith('{')) return;
    try {
      const value = JSON.parse(json);
      lines.push(value);
      onLine?.(value);
    } catch {}
  });
  const timer = setTimeout(() => handle.stop(1000), timeoutMs);
  const { code } = await handle.exited;
  clearTimeout(timer);
  if (lines.length === 0) throw new Error(`${command} ${args.slice(0, 3).join(' ')} printed no result (exit ${code}): ${stderr.trim().slice(-500)}`);
  return lines;
}

/**
 * POSTs a small chat completion through the contender until one succeeds.
 * @returns {Promise<number>} ms from `since` to that first 200.
 */
export async function waitServing(port, headers, { since = performance.now(), timeoutMs = 15_000, pollMs = 1 } = {}) {
  const deadline = since + timeoutMs;
  for (;;) {
    const status = await chatOnce(port, headers).catch(() => 0);
    if (status === 200) return performance.now() - since;
    if (performance.now() > deadline) throw new Error(`nothing served on port ${port} within ${timeoutMs} ms (last status ${status})`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

const PROBE = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });

/** @returns {Promise<number>} the status code */
export function chatOnce(port, headers) {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/v1/chat/completions', method: 'POST', agent: false, headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(PROBE) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(/** @type {number} */ (res.statusCode)));
      },
    );
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.end(PROBE);
  });
}

/** The process and all its descendants. */
function family(pid) {
  const pids = [pid];
  for (let i = 0; i < pids.length; i++) {
    try {
      for (const task of readFileSync(`/proc/${pids[i]}/task/${pids[i]}/children`, 'utf8').trim().split(/\s+/)) {
        if (task) pids.push(Number(task));
      }
    } catch {}
  }
  return pids;
}

/**
 * The machine's CPU time so far, in ticks, from /proc/stat: all of it, and the part a hypervisor
 * gave to other guests ("steal"). On a shared VM, steal during a scenario makes its numbers noisy.
 * @returns {{totalTicks: number, stealTicks: number}}
 */
export function machineCpu() {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal; guest time is already counted in user.
  return { totalTicks: fields.slice(0, 8).reduce((a, b) => a + b, 0), stealTicks: fields[7] ?? 0 };
}

/** Percent of the machine's CPU time stolen between two machineCpu() readings. */
export function stealPercent(from, to) {
  const total = to.totalTicks - from.totalTicks;
  return total > 0 ? (100 * (to.stealTicks - from.stealTicks)) / total : 0;
}

/**
 * Resident memory of a process and its descendants, in MB: current (VmRSS) and peak (VmHWM).
 * @returns {{rssMb: number, hwmMb: number, processes: number}}
 */
export function memoryOf(pid) {
  let rss = 0;
  let hwm = 0;
  let processes = 0;
  for (const p of family(pid)) {
    try {
      const status = readFileSync(`/proc/${p}/status`, 'utf8');
      rss += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      hwm += Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
      processes++;
    } catch {}
  }
  return { rssMb: rss / 1024, hwmMb: hwm / 1024, processes };
}

/** Samples memoryOf(pid) every `everyMs` until stopped; returns the highest RSS seen. */
export function sampleMemory(pid, everyMs) {
  let peak = memoryOf(pid);
  const timer = setInterval(() => {
    const now = memoryOf(pid);
    if (now.rssMb > peak.rssMb) peak = now;
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      const last = memoryOf(pid);
      return { peakRssMb: Math.max(peak.rssMb, last.rssMb), hwmMb: last.hwmMb, processes: last.processes };
    },
  };
}

/** The soft limit on open files of this process, from /proc. */
export function openFileLimit() {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  const [soft, hard] = (line ?? '').replace('Max open files', '').trim().split(/\s+/);
  return { soft: Number(soft), hard: Number(hard) };
}
