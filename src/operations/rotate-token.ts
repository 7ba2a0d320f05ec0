// `relay rotate-token`: a new value for a token of the host's registry (tokens.json), RELAY_TOKEN
// ("default") or a named one, the same edit as `relay token rotate`: live on the running relay
// without a restart (it re-reads the file; SIGHUP makes that immediate), the old value valid for --grace.
import { RelayError } from '../shared/errors.js';
import type { Host } from '../host/host.js';
import type { Step } from '../plan/step.js';
import { endpointAgent, probe, type RelayEndpoint } from '../relay-endpoint.js';
import { DEFAULT_TOKEN_NAME, sha256Hex } from '../shared/tokens-file.js';
import { planTokenRotate, readHostTokens } from './tokens.js';

export interface Rotation {
  steps: Step[];
  /** The value being replaced, when the operator holds it (RELAY_TOKEN in .env.local); only it can be checked. */
  oldToken: string | undefined;
  newToken: string;
  /** End of the grace period, when the old token stops working; undefined: at once. */
  oldValidUntil: Date | undefined;
}

/** Rotates `name` (default: RELAY_TOKEN) in the host's tokens.json; `localToken` is the value the operator holds. */
export async function prepareRotation(host: Host, appDir: string, graceMs: number, now = Date.now(), localToken?: string, name = DEFAULT_TOKEN_NAME): Promise<Rotation> {
  const file = await readHostTokens(host, appDir);
  const entry = file.tokens.find((other) => other.name === name);
  if (entry === undefined && name === DEFAULT_TOKEN_NAME) {
    throw new RelayError(`${host.label} has no "default" token in ${appDir}/tokens.json (nothing deployed, or deployed before the token registry).`, {
      fix: 'Run `relay deploy` first: it registers RELAY_TOKEN there (a host deployed earlier keeps its token).',
    });
  }
  const change = planTokenRotate(appDir, file, name, graceMs, now);
  return {
    steps: change.steps,
    oldToken: localToken !== undefined && entry !== undefined && sha256Hex(localToken) === entry.sha256 ? localToken : undefined,
    newToken: change.token!,
    oldValidUntil: graceMs > 0 ? new Date(now + graceMs) : undefined,
  };
}

/**
 * Through nginx, as clients see it: the new token is accepted, and the old one is refused (or,
 * during a grace period, still accepted). Polls briefly: the reload is asynchronous.
 */
export async function verifyRotation(endpoint: RelayEndpoint, rotation: Rotation, timeoutMs = 20_000): Promise<void> {
  const agent = endpointAgent(endpoint);
  const accepted = async (token: string) => (await probe(endpoint, '/v1/models', token, agent)).status !== 401;
  const deadline = Date.now() + timeoutMs;
  try {
    const oldShouldWork = rotation.oldValidUntil !== undefined;
    const { oldToken } = rotation;
    for (;;) {
      const [newOk, oldOk] = [await accepted(rotation.newToken), oldToken === undefined ? oldShouldWork : await accepted(oldToken)];
      if (newOk && oldOk === oldShouldWork) return;
      if (Date.now() > deadline) {
        throw new RelayError(
          newOk
            ? `The relay still accepts the old token through ${endpoint.origin}.`
            : `The relay does not accept the new token through ${endpoint.origin} yet.`,
          { fix: 'The host\'s tokens.json holds the new token\'s hash: `relay restart` applies it with a restart.' },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } finally {
    await agent.close();
  }
}
