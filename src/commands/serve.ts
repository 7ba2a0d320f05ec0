// `relay serve`: the relay on this machine, no VPS needed.
import type { Command } from 'commander';
import { readEnvFileValue } from '../shared/env-local.js';
import { serveRelay } from '../relay/serve.js';
import { envFileOption, wholeNumberOption } from './flags.js';

interface ServeOptions {
  port?: number;
  host: string;
  envFile: string;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('Run the relay locally: forwards /v1/* to OPENAI_BASE_URL with the server-held OPENAI_API_KEY.')
    .addOption(wholeNumberOption('-p, --port <port>', 'port to listen on (default: $PORT or 3001)', { min: 0, max: 65_535, example: 3001 }))
    .option('--host <address>', 'address to listen on; 0.0.0.0 exposes it to your network', '127.0.0.1')
    .addOption(envFileOption('read OPENAI_API_KEY from this file when the environment lacks it (only that line)'))
    .addHelpText(
      'after',
      `
Environment:
  OPENAI_API_KEY               required; the key the relay calls OpenAI with
  RELAY_TOKEN                  the bearer token clients must send (OPENAI_RELAY_TOKEN works too), as
                               "default" unless RELAY_TOKENS_FILE has a "default" of its own (which wins);
                               with neither the relay is open and says so on every start
  OPENAI_BASE_URL              upstream, default https://api.openai.com (a trailing /v1 is fine)
  PORT                         default 3001
  RELAY_CONNECT_TIMEOUT        default 10s     RELAY_FIRST_BYTE_TIMEOUT  default 15m
  RELAY_IDLE_TIMEOUT           default 5m      RELAY_CLIENT_HEADER_TIMEOUT default 30s
  RELAY_CLIENT_BODY_TIMEOUT    default 60s: longest pause while a client sends a request body
  RELAY_SHUTDOWN_GRACE         default 30s: in-flight streams may finish after SIGTERM
  RELAY_PATH_PREFIX            serve the API under a prefix, e.g. /openai -> /openai/v1/...
  RELAY_CORS_ORIGINS           browser origins allowed to call the relay (comma list, or *); default none
  RELAY_MODELS                 allow-list and aliases, e.g. gpt-4o-mini,fast=gpt-4o-mini; others get 403
  RELAY_OLLAMA_PATH            serve an Ollama-compatible API under this secret path (off by default)
  RELAY_ANTHROPIC              on: serve the Anthropic Messages API (Claude Code) over OpenAI models
  RELAY_ANTHROPIC_MODELS       Claude families to OpenAI models, e.g. opus=gpt-5,sonnet=gpt-5,haiku=gpt-5-mini
  RELAY_OPENAI_ORGANIZATION    OpenAI-Organization sent with the key (clients' own are dropped)
  RELAY_OPENAI_PROJECT         OpenAI-Project sent with the key (clients' own are dropped)
  RELAY_DUMP                   headers or bodies: each exchange as a redacted JSON line in the log; default off
  RELAY_DUMP_MAX_BODY          bytes of each body a dump keeps, default 65536

Example:
  $ echo 'OPENAI_API_KEY=sk-...' > .env.local
  $ RELAY_TOKEN=$(openssl rand -hex 32) relay serve --port 3001
  $ curl http://127.0.0.1:3001/v1/models -H "Authorization: Bearer $RELAY_TOKEN"`,
    )
    .action(async (options: ServeOptions) => {
      const env = { ...process.env };
      if (!env.OPENAI_API_KEY) env.OPENAI_API_KEY = await readEnvFileValue(options.envFile, 'OPENAI_API_KEY');
      await serveRelay(env, { port: options.port, host: options.host });
    });
}
