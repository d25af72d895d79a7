import { Metadata, credentials, type ServiceError } from '@grpc/grpc-js';
import { userV1 } from '@switchyard/proto';
import { defineService, type ServerMiddleware } from '@switchyard/runtime';
import { startTestServer } from '@switchyard/testing';
import pino, { type Logger } from 'pino';
import { clientAddresses } from './client-address';
import { SUBJECT_METADATA } from '../auth/identity-metadata';
import { rateLimitMiddleware, type StoreFailureMode } from './rate-limit-middleware';
import type { RateLimitRules } from './rate-limit-rules';
import type { TokenBuckets } from './token-bucket';

/** Stands for the auth middleware: the subject a test names in `x-test-subject` becomes the verified one. */
const TEST_SUBJECT_HEADER = 'x-test-subject';
const testAuth: ServerMiddleware = (call, next) => {
  const [subject] = call.metadata.get(TEST_SUBJECT_HEADER);
  if (typeof subject === 'string') call.metadata.set(SUBJECT_METADATA, subject);
  return next();
};

const ada: userV1.User = { id: 'u1', name: 'Ada', email: 'ada@example.com', createTime: new Date('2026-01-01T00:00:00Z'), orderCount: 0, totalSpentCents: 0 };

export interface Answer {
  code: number;
  details: string;
  trailers: Record<string, string>;
}

export interface LimitedServer {
  address: string;
  /** Metadata each handler saw, last call last. */
  seen: Metadata[];
  /** GetUser with a deadline of `deadlineMs` (default 10 s). */
  getUser(metadata?: Record<string, string>, deadlineMs?: number): Promise<Answer>;
  listUsers(metadata?: Record<string, string>): Promise<Answer>;
  stop(): void;
}

function answerOf(error: ServiceError | null): Answer {
  if (!error) return { code: 0, details: '', trailers: {} };
  const trailers = Object.fromEntries(Object.entries(error.metadata.getMap()).map(([key, value]) => [key, String(value)]));
  return { code: error.code, details: error.details, trailers };
}

function metadataOf(entries: Record<string, string>): Metadata {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(entries)) metadata.set(key, value);
  return metadata;
}

/**
 * A user service on a real port behind the gateway's middleware as main.ts orders it: client
 * addresses, (test) auth, rate limits; and a real client to call it.
 */
export async function startLimitedServer(options: {
  rules: RateLimitRules | undefined | (() => RateLimitRules | undefined);
  buckets: TokenBuckets;
  onStoreFailure?: StoreFailureMode;
  logger?: Logger;
  /** The auth middleware in the chain; default: the subject named in `x-test-subject` is the verified one. */
  auth?: ServerMiddleware;
}): Promise<LimitedServer> {
  const seen: Metadata[] = [];
  const service = defineService('switchyard.user.v1.UserService', userV1.UserServiceService, {
    async getUser(_request, call) {
      seen.push(call.metadata.clone());
      return { user: ada };
    },
    async listUsers(_request, call) {
      seen.push(call.metadata.clone());
      return { users: [], nextPageToken: '' };
    },
    async createUser() {
      throw new Error('not used');
    },
    async batchGetUsers() {
      throw new Error('not used');
    },
  });
  const addresses = clientAddresses();
  const rules = typeof options.rules === 'function' ? options.rules : () => options.rules as RateLimitRules | undefined;
  const limit = rateLimitMiddleware({
    rules,
    buckets: options.buckets,
    addressOf: addresses.of,
    onStoreFailure: options.onStoreFailure ?? 'open',
    logger: options.logger ?? pino({ level: 'silent' }),
  });
  const server = await startTestServer([service], [addresses.middleware, options.auth ?? testAuth, limit]);
  const client = new userV1.UserServiceClient(server.address, credentials.createInsecure());
  const deadline = (ms = 10_000) => new Date(Date.now() + ms);
  return {
    address: server.address,
    seen,
    getUser: (metadata = {}, deadlineMs?: number) =>
      new Promise((resolve) => client.getUser({ id: 'u1' }, metadataOf(metadata), { deadline: deadline(deadlineMs) }, (error) => resolve(answerOf(error)))),
    listUsers: (metadata = {}) => new Promise((resolve) => client.listUsers({ pageSize: 1, pageToken: '' }, metadataOf(metadata), { deadline: deadline() }, (error) => resolve(answerOf(error)))),
    stop: () => {
      client.close();
      server.stop();
    },
  };
}

/** Runs `total` calls, at most `concurrency` at a time; returns how many ended with each code. */
export async function callMany(total: number, concurrency: number, call: () => Promise<Answer>): Promise<Map<number, number>> {
  const codes = new Map<number, number>();
  let started = 0;
  const worker = async () => {
    while (started < total) {
      started += 1;
      const { code } = await call();
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return codes;
}
