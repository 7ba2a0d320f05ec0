// What each contender is: how to start it on loopback in front of the fake upstream, and what a
// client must send it. Pure data from the settings; bench/processes.js runs it.
import { join } from 'node:path';

export const CONTENDERS = ['direct', 'nginx', 'relay', 'node-bare', 'portkey'];
/** Run only when named in --only: variants of a contender, not part of the full run. */
export const OPT_IN_CONTENDERS = ['relay-dump'];

/**
 * @typedef {object} Settings
 * @property {string} root        the repository root
 * @property {string} dir         a private temp dir for this contender's files and logs
 * @property {number} port        where the contender listens
 * @property {number} upstreamPort
 * @property {string} token       the relay token clients present
 * @property {string} serverKey   the key the upstream accepts
 * @property {string} node        path of the node binary
 * @property {number} upstreamWorkers
 * @property {string[]} [nodeFlags] extra flags for node contenders (e.g. --cpu-prof)
 * @property {string} compileCacheDir  NODE_COMPILE_CACHE for node contenders, one per contender and run
 *
 * @typedef {object} Plan
 * @property {string} name
 * @property {string} command
 * @property {string[]} args
 * @property {Record<string, string>} env
 * @property {{path: string, content: string}[]} files
 * @property {number} port
 * @property {Record<string, string>} clientHeaders
 * @property {string} note         what differs from "check a token, swap the key, forward"
 * @property {string[]} [prepareArgs] run once (same command and env) before the first start in a
 *                                    run, as the contender's image build does
 */

/**
 * The relay's environment, which bench/node-bare.js reads too: the key, the token, the upstream,
 * where to listen, and what the relay's image sets (templates/compose/Dockerfile).
 * @param {Settings} s
 */
function relayEnv(s) {
  return {
    OPENAI_API_KEY: s.serverKey,
    RELAY_TOKEN: s.token,
    OPENAI_BASE_URL: `http://127.0.0.1:${s.upstreamPort}`,
    PORT: String(s.port),
    HOST: '127.0.0.1',
    // Every node contender gets its own compile cache, as the image has one.
    NODE_COMPILE_CACHE: s.compileCacheDir,
    // The image's young-generation cap.
    NODE_OPTIONS: '--max-semi-space-size=8',
  };
}

/** @param {string} name @param {Settings} s @returns {Plan} */
export function contenderPlan(name, s) {
  const bearer = (value) => `Bearer ${value}`;
  switch (name) {
    case 'direct':
      // The baseline: the fake upstream itself, a fresh one for cold start, shared otherwise.
      return {
        name,
        command: s.node,
        args: [join(s.root, 'bench/fake-upstream.js'), '--port', String(s.port), '--workers', String(s.upstreamWorkers), '--key', s.serverKey],
        env: { NODE_COMPILE_CACHE: s.compileCacheDir },
        files: [],
        port: s.port,
        clientHeaders: { authorization: bearer(s.serverKey) },
        note: 'no hop: the client talks to the fake upstream with the server key',
      };
    case 'nginx':
      return {
        name,
        command: '/usr/sbin/nginx',
        args: ['-p', s.dir, '-c', join(s.dir, 'nginx.conf'), '-e', join(s.dir, 'error.log')],
        env: {},
        files: [{ path: join(s.dir, 'nginx.conf'), content: nginxConf(s) }],
        port: s.port,
        clientHeaders: { authorization: bearer(s.token) },
        note: 'map on $http_authorization, proxy_set_header Authorization, keepalive upstream, buffering off',
      };
    case 'relay':
      return {
        name,
        command: s.node,
        args: [...(s.nodeFlags ?? []), join(s.root, 'dist/relay-server.mjs')],
        env: { ...relayEnv(s), RELAY_SHUTDOWN_GRACE: '1s' },
        // The image build's step: Node leaves its compiled bundle in NODE_COMPILE_CACHE.
        prepareArgs: [join(s.root, 'dist/relay-server.mjs'), '--version'],
        files: [],
        port: s.port,
        clientHeaders: { authorization: bearer(s.token) },
        note: 'node dist/relay-server.mjs, one process, NODE_OPTIONS as in its image, logs one JSON line per request (to a file here)',
      };
    case 'relay-dump': {
      // The relay with RELAY_DUMP=bodies: what the dump costs (per-chunk delay against 'relay').
      const relay = contenderPlan('relay', s);
      const note = 'the relay with RELAY_DUMP=bodies (each exchange and its bodies up to 64 KiB as a redacted log line)';
      return { ...relay, name, env: { ...relay.env, RELAY_DUMP: 'bodies' }, note };
    }
    case 'node-bare':
      return {
        name,
        command: s.node,
        args: [...(s.nodeFlags ?? []), join(s.root, 'bench/node-bare.js')],
        env: relayEnv(s),
        files: [],
        port: s.port,
        clientHeaders: { authorization: bearer(s.token) },
        note: 'bench/node-bare.js: node:http + undici with the relay transport choices and no features (the Node floor); undici unbundled',
      };
    case 'portkey':
      return {
        name,
        command: s.node,
        args: [...(s.nodeFlags ?? []), join(s.root, 'node_modules/@portkey-ai/gateway/build/start-server.js'), `--port=${s.port}`, '--headless'],
        env: { NODE_ENV: 'production', NODE_COMPILE_CACHE: s.compileCacheDir },
        files: [],
        port: s.port,
        // The open-source gateway has no client-token check of its own: the client sends the key.
        clientHeaders: {
          authorization: bearer(s.serverKey),
          'x-portkey-provider': 'openai',
          'x-portkey-custom-host': `http://127.0.0.1:${s.upstreamPort}/v1`,
        },
        note: 'no token check (the OSS gateway has none): the client sends the key, the gateway forwards it to the custom host',
      };
    default:
      throw new Error(`unknown contender "${name}": use ${[...CONTENDERS, ...OPT_IN_CONTENDERS].join(', ')}`);
  }
}

/** @param {Settings} s */
export function nginxConf(s) {
  const temp = (kind) => `${kind}_temp_path ${join(s.dir, kind)};`;
  return `# Written by bench/contenders.js: nginx doing the relay's job, as an operator would configure it.
daemon off;
master_process on;
worker_processes auto;
pid ${join(s.dir, 'nginx.pid')};
error_log ${join(s.dir, 'error.log')} warn;
# Two fds per stream (client + upstream); capped by the hard limit the bench runs under.
worker_rlimit_nofile 20000;
events {
    worker_connections 16384;
}
http {
    access_log off;
    ${temp('client_body')}
    ${temp('proxy')}
    ${temp('fastcgi')}
    ${temp('uwsgi')}
    ${temp('scgi')}

    # The token check: only this exact header passes.
    map $http_authorization $relay_token_ok {
        default 0;
        "Bearer ${s.token}" 1;
    }

    upstream openai {
        server 127.0.0.1:${s.upstreamPort};
        # Reuse upstream connections, like the relay's undici pool.
        keepalive 256;
    }

    server {
        listen 127.0.0.1:${s.port} backlog=4096;

        location = /health {
            default_type application/json;
            return 200 '{"status":"ok"}';
        }

        location /v1/ {
            if ($relay_token_ok = 0) {
                return 401 '{"error":{"message":"Missing or invalid relay token","type":"invalid_request_error","code":"invalid_api_key","param":null}}';
            }
            proxy_pass http://openai;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Authorization "Bearer ${s.serverKey}";
            # Stream both ways: SSE out as it comes, uploads up without spooling to disk.
            proxy_buffering off;
            proxy_request_buffering off;
            client_max_body_size 0;
            proxy_read_timeout 600s;
            proxy_send_timeout 600s;
        }
    }
}
`;
}
