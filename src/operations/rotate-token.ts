// `relay rotate-token`: a new token in the host's .env, picked up by the running relay without a
// restart (it re-reads the file; SIGHUP makes that immediate), the old one valid for --grace.
import { hostDeployEnv, renderDeployEnv, type DeployEnv } from '../deploy-env.js';
import { RelayError } from '../shared/errors.js';
import type { Host } from '../host/host.js';
import type { Step } from '../plan/step.js';
import { CONTAINER_NAME } from '../plan/operate.js';
import { endpointAgent, probe, type RelayEndpoint } from '../relay-endpoint.js';
import { generateRelayToken } from '../shared/token.js';
import { readHostFile } from './deploy.js';

export interface Rotation {
  steps: Step[];
  oldToken: string;
  newToken: string;
  /** End of the grace period, when the old token stops working; undefined: at once. */
  oldValidUntil: Date | undefined;
}

/** The host's .env with a new RELAY_TOKEN; with a grace period the old one stays as PREVIOUS. */
export function rotatedEnv(existing: DeployEnv, newToken: string, graceMs: number, now: number): DeployEnv {
  const { RELAY_TOKEN_PREVIOUS: _p, RELAY_TOKEN_PREVIOUS_UNTIL: _u, ...rest } = existing;
  if (graceMs <= 0) return { ...rest, RELAY_TOKEN: newToken };
  return { ...rest, RELAY_TOKEN: newToken, RELAY_TOKEN_PREVIOUS: existing.RELAY_TOKEN, RELAY_TOKEN_PREVIOUS_UNTIL: new Date(now + graceMs).toISOString() };
}

export function rotationSteps(appDir: string, envText: string): Step[] {
  return [
    {
      id: 'token.env',
      title: `Write the new token to ${appDir}/.env`,
      files: [{ path: `${appDir}/.env`, content: envText, mode: '0600', owner: 'root:root' }],
      apply: [],
    },
    {
      id: 'token.reload',
      title: 'Tell the running relay to re-read its tokens (no restart)',
      // The relay watches the file too; the signal makes the switch immediate and certain.
      apply: [`docker kill --signal HUP ${CONTAINER_NAME} >/dev/null`],
      fix: 'Is the relay running? `relay status` shows it; `relay restart` applies the new token with a restart.',
    },
  ];
}

export async function prepareRotation(host: Host, appDir: string, graceMs: number, now = Date.now()): Promise<Rotation> {
  const text = await readHostFile(host, `${appDir}/.env`);
  const current = text === undefined ? undefined : hostDeployEnv(text);
  if (current === undefined) {
    throw new RelayError(`${host.label} has no relay deployed in ${appDir} (no .env with a token).`, { fix: 'Run `relay deploy` (or `relay init`) first.' });
  }
  const newToken = generateRelayToken();
  const next = rotatedEnv(current, newToken, graceMs, now);
  return {
    steps: rotationSteps(appDir, renderDeployEnv(next)),
    oldToken: current.RELAY_TOKEN,
    newToken,
    oldValidUntil: next.RELAY_TOKEN_PREVIOUS_UNTIL ? new Date(next.RELAY_TOKEN_PREVIOUS_UNTIL) : undefined,
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
    for (;;) {
      const [newOk, oldOk] = [await accepted(rotation.newToken), await accepted(rotation.oldToken)];
      if (newOk && oldOk === oldShouldWork) return;
      if (Date.now() > deadline) {
        throw new RelayError(
          newOk
            ? `The relay still accepts the old token through ${endpoint.origin}.`
            : `The relay does not accept the new token through ${endpoint.origin} yet.`,
          { fix: 'The host\'s .env holds the new token: `relay restart` applies it with a restart.' },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } finally {
    await agent.close();
  }
}
