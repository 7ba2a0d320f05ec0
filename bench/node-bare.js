// The floor for a Node relay: node:http in front of undici with the relay's job and nothing else.
// It checks the token, swaps in the server key and forwards; no log, metrics, limits or usage.
// It makes the relay's transport choices, so the gap between the two is what the relay's
// features cost:
// - a body up to 64 KB with a declared length is read whole and sent as one Buffer;
// - larger bodies stream;
// - each upstream read is written to the client as it comes.
//
//   OPENAI_API_KEY=sk-.. RELAY_TOKEN=.. OPENAI_BASE_URL=http://127.0.0.1:9000 PORT=3001 node bench/node-bare.js
import { createServer } from 'node:http';
import { Agent } from 'undici';

const SMALL_BODY = 64 * 1024;
const origin = process.env.OPENAI_BASE_URL ?? '';
const upstreamAuthorization = `Bearer ${process.env.OPENAI_API_KEY}`;
const clientAuthorization = `Bearer ${process.env.RELAY_TOKEN}`;
const agent = new Agent({ keepAliveTimeout: 30_000, allowH2: true });

/** Request headers for the upstream: the client's, minus hop-by-hop ones, with the server key. */
function upstreamHeaders(req) {
  const headers = { ...req.headers, authorization: upstreamAuthorization };
  delete headers.host;
  delete headers.connection;
  delete headers['keep-alive'];
  return headers;
}

function forward(req, res, body) {
  agent.dispatch(
    { origin, path: req.url, method: req.method, headers: upstreamHeaders(req), body },
    {
      onRequestStart() {},
      onResponseStart(_controller, status, headers) {
        delete headers.connection;
        delete headers['keep-alive'];
        delete headers['transfer-encoding'];
        res.writeHead(status, headers);
      },
      onResponseData(_controller, chunk) {
        res.write(chunk);
      },
      onResponseEnd() {
        res.end();
      },
      onResponseError(_controller, error) {
        if (res.headersSent) res.destroy(error);
        else {
          res.writeHead(502, { 'content-type': 'application/json' });
          res.end('{"error":{"message":"upstream failed","type":"relay_error"}}');
        }
      },
    },
  );
}

createServer({ requestTimeout: 0, keepAliveTimeout: 65_000 }, (req, res) => {
  if (req.headers.authorization !== clientAuthorization) {
    req.resume();
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end('{"error":{"message":"Missing or invalid relay token","type":"invalid_request_error"}}');
    return;
  }
  const length = Number(req.headers['content-length']);
  if (!(length > 0 && length <= SMALL_BODY)) {
    forward(req, res, req.method === 'GET' || req.method === 'HEAD' ? undefined : req);
    return;
  }
  const pieces = [];
  req.on('data', (piece) => pieces.push(piece));
  req.on('end', () => forward(req, res, pieces.length === 1 ? pieces[0] : Buffer.concat(pieces)));
}).listen(Number(process.env.PORT ?? 3001), process.env.HOST ?? '127.0.0.1');

// A clean exit on a signal, so that --cpu-prof writes its profile.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
