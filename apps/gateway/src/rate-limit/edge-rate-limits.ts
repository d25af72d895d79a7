import type { Metadata } from '@grpc/grpc-js';
import { ConfigError, type Logger, type ServerMiddleware } from '@switchyard/runtime';
import { clientAddresses } from './client-address';
import { memoryTokenBuckets } from './memory-token-buckets';
import type { RateLimitConfig } from './rate-limit-config';
import { rateLimitMiddleware } from './rate-limit-middleware';
import { checkRuleMethods, RateLimitRulesError, type RateLimitRules } from './rate-limit-rules';
import { redisTokenBuckets } from './redis-token-buckets';
import { watchRulesFile } from './rules-file-watch';

export interface EdgeRateLimits {
  /** Goes first in the gateway's middleware, before auth: takes client-address headers off calls. */
  clientAddressMiddleware: ServerMiddleware;
  /** Goes after auth, which sets the subject. */
  rateLimitMiddleware: ServerMiddleware;
  /** For the HTTP face: names the HTTP client's address on its loopback call. */
  stampClientAddress(metadata: Metadata, address: string): void;
  close(): Promise<void>;
}

/**
 * The gateway's rate limits from RATE_LIMITS / RATE_LIMITS_FILE, in memory or in Redis
 * (REDIS_URL). A rule for a method not in `servedMethods` is a ConfigError at start, and makes a
 * reloaded file be refused.
 */
export function edgeRateLimits(config: RateLimitConfig, logger: Logger, servedMethods: Iterable<string>): EdgeRateLimits {
  const served = new Set(servedMethods);
  const check = (rules: RateLimitRules) => checkRuleMethods(rules, served);
  if (config.rules) {
    try {
      check(config.rules);
    } catch (error) {
      if (!(error instanceof RateLimitRulesError)) throw error;
      throw new ConfigError(`invalid configuration:\n  ${config.rulesFile ? 'RATE_LIMITS_FILE' : 'RATE_LIMITS'}: ${error.message}\nName methods as /package.Service/Method (grpcurl list shows them) and start again.`);
    }
  }
  const addresses = clientAddresses();
  const watch = config.rulesFile && config.rules ? watchRulesFile(config.rulesFile, config.rules, { logger, check }) : undefined;
  const rules = watch ? () => watch.current() : () => config.rules;
  let lastConnectionError = '';
  const buckets = config.redisUrl && config.rules
    ? redisTokenBuckets({
        url: config.redisUrl,
        keyPrefix: config.redisKeyPrefix,
        timeoutMs: config.redisTimeoutMs,
        // ioredis reports every reconnect attempt; the checks that fail are counted and logged by the middleware.
        onConnectionError: (error) => {
          if (error.message !== lastConnectionError) logger.warn({ reason: error.message }, 'rate limit Redis connection failed');
          lastConnectionError = error.message;
        },
      })
    : memoryTokenBuckets();
  if (!config.rules) logger.info('no rate limits (RATE_LIMITS and RATE_LIMITS_FILE are unset)');
  else logger.info({ rules: config.rules, file: config.rulesFile, store: config.redisUrl ? 'redis' : 'memory', on_redis_failure: config.redisUrl ? config.onRedisFailure : undefined }, 'rate limits on');
  return {
    clientAddressMiddleware: addresses.middleware,
    rateLimitMiddleware: rateLimitMiddleware({ rules, buckets, addressOf: addresses.of, onStoreFailure: config.onRedisFailure, logger }),
    stampClientAddress: addresses.stamp,
    close: async () => {
      watch?.close();
      await buckets.close();
    },
  };
}
