// Access and accounting assembled from the environment: the token registry (the tokens file, with
// RELAY_TOKEN as its "default"), the limiter (memory or REDIS_URL), the usage store (RELAY_DATA_DIR) and metrics.
// server.ts holds one Access and calls it per request; see the integration notes in each method.
import type { IncomingMessage } from 'node:http';
import type { Logger } from '../log.js';
import { decideAccess, type Admitted, type Rejected } from './access-mode.js';
import type { AccessConfig } from './config.js';
import { createMemoryLimiter, type Acquired, type Refused } from './limiter.js';
import { createRelayMetrics, type RelayMetrics } from './metrics.js';
import { createTokenRegistry, followTokensFile, type TokenRegistry } from './token-registry.js';
import type { UsageObservation } from './usage-tap.js';
import { openUsageStore } from './usage-store.js';

export interface Access {
  readonly registry: TokenRegistry;
  readonly metrics: RelayMetrics;
  /** Who the request is, what goes upstream, which limit applies; or why it is refused (401). */
  decide(req: IncomingMessage): Admitted | Rejected;
  /** Takes a slot for an admitted request; refusals are counted in metrics. */
  acquire(admitted: Admitted): Promise<Acquired | Refused>;
  /** Once per forwarded response, when it has ended: usage to the store (relay mode) and metrics. */
  account(admitted: Admitted, observation: UsageObservation, exchange: { bytesIn: number; failed: boolean }): void;
  /** Re-reads the tokens file (SIGHUP). */
  reloadTokens(): Promise<void>;
  close(): Promise<void>;
}

export async function createAccess(config: AccessConfig, base: { envToken: string | undefined }, logger: Logger): Promise<Access> {
  const registry = createTokenRegistry({ envToken: base.envToken });
  const follower = config.tokensFile === undefined ? undefined : await followTokensFile(config.tokensFile, registry, logger);
  const metrics = createRelayMetrics();
  // Loaded only with REDIS_URL: the Redis client costs ~10 MB of memory once evaluated.
  const limiter = config.redisUrl
    ? (await import('./redis-limiter.js')).createRedisLimiter({
        url: config.redisUrl,
        onError: (error, first) => {
          metrics.recordLimiterError();
          // One line per outage, not one per request.
          if (first) logger.warn('limiter store (Redis) failing: requests are let through unlimited', { error: error.message });
        },
      })
    : createMemoryLimiter();
  // Passthrough mode stores nothing.
  const usage = config.dataDir !== undefined && config.mode === 'relay' ? await openUsageStore(config.dataDir) : undefined;
  const context = { mode: config.mode, registry, passthroughLimits: config.passthroughLimits };

  return {
    registry,
    metrics,
    decide: (req) => decideAccess({ headers: req.headers, remoteAddress: req.socket.remoteAddress }, context),
    async acquire(admitted) {
      const answer = await limiter.acquire(admitted.limiterKey, admitted.limits);
      if (!answer.ok) metrics.recordRateLimited(admitted.name, answer.limit);
      return answer;
    },
    account(admitted, observation, exchange) {
      metrics.recordUsage(admitted.name, observation);
      if (!admitted.storeUsage || usage === undefined) return;
      usage.record({
        token: admitted.name,
        model: observation.model,
        at: Date.now(),
        error: exchange.failed || observation.status >= 400,
        usage: observation.usage,
        bytesIn: exchange.bytesIn,
        bytesOut: observation.bytes,
      });
    },
    reloadTokens: async () => {
      await follower?.reload();
    },
    async close() {
      follower?.close();
      usage?.close();
      await limiter.close();
    },
  };
}
