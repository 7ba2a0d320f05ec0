// Opens many concurrent SSE chat-completion streams over raw sockets and reports, per event,
// the delay from the upstream's send time ("t" in the event) to its arrival here, and how many
// events arrived in one socket read (more than one means something in between coalesced them).
//
//   node bench/stream-client.js --port PORT --streams 1000 --chunks 60 --spacing-ms 100 \
//     --ramp-ms 2000 --headers '{"authorization":"Bearer x"}'
// prints `{"phase":"open",...}` once every stream has its headers, then one summary JSON line.
import { connect } from 'node:net';
import { parseArgs } from 'node:util';
import { summarize, wallNow } from './stats.js';

const { values: opts } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    path: { type: 'string', default: '/v1/chat/completions' },
    streams: { type: 'string', default: '100' },
    chunks: { type: 'string', default: '20' },
    'spacing-ms': { type: 'string', default: '10' },
    'ramp-ms': { type: 'string', default: '0' },
    // Events sent before this many ms after the last stream opened are not measured.
    'settle-ms': { type: 'string', default: '0' },
    'timeout-ms': { type: 'string', default: '60000' },
    headers: { type: 'string', default: '{}' },
  },
});

const streams = Number(opts.streams);
const chunks = Number(opts.chunks);
const spacingMs = Number(opts['spacing-ms']);
const rampMs = Number(opts['ramp-ms']);
const settleMs = Number(opts['settle-ms']);
const body = JSON.stringify({ model: `fake-c${chunks}-s${spacingMs}`, stream: true, messages: [{ role: 'user', content: 'hi' }] });
const extra = Object.entries(JSON.parse(opts.headers ?? '{}')).map(([name, value]) => `${name}: ${value}\r\n`).join('');
const requestText =
  `POST ${opts.path} HTTP/1.1\r\nhost: ${opts.host}:${opts.port}\r\ncontent-type: application/json\r\n` +
  `content-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;

const delays = [];
const errors = {};
const statuses = {};
let connected = 0;
let withHeaders = 0;
let completed = 0;
let closed = 0;
let noResponse = 0;
let events = 0;
let readsWithEvents = 0;
let readsCoalesced = 0;
let maxEventsPerRead = 0;
let measureFrom = Infinity;
const sockets = new Set();

const countError = (kind) => (errors[kind] = (errors[kind] ?? 0) + 1);

function openStream() {
  const socket = connect({ host: opts.host, port: Number(opts.port), noDelay: true });
  sockets.add(socket);
  let head = '';
  let inBody = false;
  let chunked = false;
  // Chunked decoding state: bytes left in the current chunk, or -1 while reading a size line.
  let left = -1;
  let sizeLine = '';
  let skipCrlf = 0;
  let sse = '';
  let done = false;

  const finish = () => {
    if (done) return;
    done = true;
    socket.destroy();
  };

  /** @param {string} text decoded body text; returns the number of complete events in it. */
  const onBody = (text, arrivedAt) => {
    sse += text;
    let count = 0;
    let end;
    while ((end = sse.indexOf('\n\n')) !== -1) {
      const event = sse.slice(0, end);
      sse = sse.slice(end + 2);
      if (event.startsWith('data: [DONE]')) {
        completed++;
        finish();
        continue;
      }
      count++;
      events++;
      const t = /"t":(\d+(?:\.\d+)?)/.exec(event);
      if (t) {
        const sentAt = Number(t[1]);
        if (sentAt >= measureFrom) delays.push(arrivedAt - sentAt);
      }
    }
    return count;
  };

  const dechunk = (text) => {
    let out = '';
    let i = 0;
    while (i < text.length) {
      if (skipCrlf > 0) {
        const n = Math.min(skipCrlf, text.length - i);
        skipCrlf -= n;
        i += n;
      } else if (left === -1) {
        const nl = text.indexOf('\r\n', i);
        if (nl === -1) {
          sizeLine += text.slice(i);
          break;
        }
        sizeLine += text.slice(i, nl);
        i = nl + 2;
        left = parseInt(sizeLine, 16);
        sizeLine = '';
        if (left === 0) {
          finish();
          break;
        }
      } else {
        const n = Math.min(left, text.length - i);
        out += text.slice(i, i + n);
        left -= n;
        i += n;
        if (left === 0) {
          left = -1;
          skipCrlf = 2;
        }
      }
    }
    return out;
  };

  socket.setEncoding('latin1');
  socket.on('connect', () => {
    connected++;
    socket.write(requestText);
  });
  socket.on('data', (data) => {
    const arrivedAt = wallNow();
    let text = data;
    if (!inBody) {
      head += text;
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      const status = Number(head.slice(9, 12));
      statuses[status] = (statuses[status] ?? 0) + 1;
      chunked = /\r\ntransfer-encoding:[ \t]*chunked/i.test(head.slice(0, end + 2));
      text = head.slice(end + 4);
      head = '';
      inBody = true;
      withHeaders++;
      if (withHeaders + noResponse === streams) announceOpen();
      if (status !== 200) {
        countError(`status_${status}`);
        finish();
        return;
      }
    }
    const count = onBody(chunked ? dechunk(text) : text, arrivedAt);
    if (count > 0) {
      readsWithEvents++;
      if (count > 1) readsCoalesced++;
      if (count > maxEventsPerRead) maxEventsPerRead = count;
    }
  });
  socket.on('error', (error) => countError(error.code ?? 'error'));
  socket.on('close', () => {
    sockets.delete(socket);
    if (!done && inBody) countError('cut');
    if (!inBody && !done) {
      countError('no_response');
      if (withHeaders + ++noResponse === streams) announceOpen();
    }
    if (++closed === streams) report();
  });
}

let openAnnounced = false;
function announceOpen() {
  if (openAnnounced) return;
  openAnnounced = true;
  measureFrom = wallNow() + settleMs;
  process.stdout.write(`${JSON.stringify({ phase: 'open', at: wallNow(), open: withHeaders })}\n`);
}

let reported = false;
function report() {
  if (reported) return;
  reported = true;
  process.stdout.write(
    `${JSON.stringify({
      streams,
      chunks,
      spacing_ms: spacingMs,
      connected,
      with_headers: withHeaders,
      completed,
      statuses,
      errors,
      events,
      delay_ms: summarize(delays),
      reads_with_events: readsWithEvents,
      reads_coalesced: readsCoalesced,
      max_events_per_read: maxEventsPerRead,
    })}\n`,
  );
  process.exit(0);
}

// Opens the streams evenly over the ramp, so the listen backlogs never overflow.
const perTick = rampMs > 0 ? Math.max(1, Math.ceil((streams * 10) / rampMs)) : streams;
let opened = 0;
const ramp = setInterval(() => {
  for (let i = 0; i < perTick && opened < streams; i++, opened++) openStream();
  if (opened === streams) clearInterval(ramp);
}, 10);

// Bounded: whatever has not finished by then is cut and counted.
setTimeout(() => {
  clearInterval(ramp);
  // If not every stream got its headers, measure from now on whatever did.
  announceOpen();
  for (const socket of sockets) socket.destroy();
  setTimeout(report, 500);
}, Number(opts['timeout-ms']));
