// Uploads one large multipart file (as the SDKs send to /v1/files), streamed from a small
// reused buffer so the client itself stays small, and reports the time it took.
//
//   node bench/upload-client.js --port PORT --mb 100 --headers '{"authorization":"Bearer x"}'
import { request } from 'node:http';
import { parseArgs } from 'node:util';

const { values: opts } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    path: { type: 'string', default: '/v1/files' },
    mb: { type: 'string', default: '100' },
    headers: { type: 'string', default: '{}' },
    'timeout-ms': { type: 'string', default: '120000' },
  },
});

const boundary = 'relaybenchboundary7MA4YWxkTrZu0gW';
const head = Buffer.from(
  `--${boundary}\r\ncontent-disposition: form-data; name="purpose"\r\n\r\nbatch\r\n` +
    `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="bench.jsonl"\r\ncontent-type: application/octet-stream\r\n\r\n`,
);
const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
const fileBytes = Number(opts.mb) * 1024 * 1024;
const piece = Buffer.alloc(256 * 1024, 'x');
const total = head.length + fileBytes + tail.length;

const startedAt = performance.now();
const req = request(
  {
    host: opts.host,
    port: Number(opts.port),
    path: opts.path,
    method: 'POST',
    headers: { ...JSON.parse(opts.headers ?? '{}'), 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': total },
  },
  (res) => {
    const parts = [];
    res.on('data', (chunk) => parts.push(chunk));
    res.on('end', () => {
      const ms = performance.now() - startedAt;
      let upstreamBytes;
      try {
        upstreamBytes = JSON.parse(Buffer.concat(parts).toString('utf8')).bytes;
      } catch {}
      const result = { status: res.statusCode, sent_bytes: total, upstream_bytes: upstreamBytes, ms, mb_per_s: total / 1024 / 1024 / (ms / 1000) };
      process.stdout.write(`${JSON.stringify(result)}\n`);
      process.exit(0);
    });
  },
);
req.on('error', (error) => {
  process.stdout.write(`${JSON.stringify({ status: 0, error: error.code ?? String(error), ms: performance.now() - startedAt })}\n`);
  process.exit(0);
});

let written = 0;
function pump() {
  while (written < fileBytes) {
    const n = Math.min(piece.length, fileBytes - written);
    written += n;
    if (!req.write(n === piece.length ? piece : piece.subarray(0, n))) {
      req.once('drain', pump);
      return;
    }
  }
  req.end(tail);
}
req.write(head);
pump();

setTimeout(() => {
  process.stdout.write(`${JSON.stringify({ status: 0, error: 'timeout', ms: performance.now() - startedAt })}\n`);
  process.exit(0);
}, Number(opts['timeout-ms']));
