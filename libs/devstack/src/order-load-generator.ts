// CreateOrder load in its own process, so the load never shares an event loop with the apps it
// measures: `node dist/libs/devstack/order-load-generator.js '<json OrderLoadPlan>'` creates
// orders at a fixed arrival rate, each with a request id of its own that every retry of it sends
// again, and prints one JSON OrderLoadReport line.
import { Metadata, credentials, status as Status, type ServiceError } from '@grpc/grpc-js';
import { orderV1 } from '@switchyard/proto';

export interface OrderLoadPlan {
  /**
   * OrderService addresses, host:port (the gateway's, or replicas'): order n goes to
   * targets[n % length] first, and each retry to the next, so a dead replica's orders move on.
   */
  targets: string[];
  userIds: string[];
  /** Orders started per second, whether or not earlier ones have answered (open loop). */
  ratePerSecond: number;
  orders: number;
  /** Request ids are `<requestIdPrefix>-<n>`: unique per plan, the same on every retry. */
  requestIdPrefix: string;
  /** Deadline of each attempt. */
  attemptDeadlineMs: number;
  /** An order still failing this long after its first attempt is given up (reported as failed). */
  giveUpAfterMs: number;
}

export interface CreatedOrder {
  requestId: string;
  orderId: string;
  userId: string;
  totalCents: number;
}

export interface OrderLoadReport {
  /** Orders that got an OK answer, on whichever attempt. */
  created: CreatedOrder[];
  /** Orders given up, by the status of their last attempt. */
  failed: Record<string, number>;
  attempts: number;
  /** Failed attempts that were retried, by status name. */
  retriedOn: Record<string, number>;
  /** Orders answered OK only after a retry. */
  retriedOrders: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Epoch ms of the first order's intended start. */
  startedAt: number;
}

/** Order n's items: totals vary from order to order (and so from user to user). */
export function itemsOf(n: number): orderV1.OrderItem[] {
  const items = [{ sku: `sku-${n % 7}`, quantity: 1 + (n % 3), unitPriceCents: 100 + ((n * 37) % 900) }];
  if (n % 4 === 0) items.push({ sku: 'extra', quantity: 2, unitPriceCents: 25 + (n % 50) });
  return items;
}

// Retries back off, so a struggling replica is not met with a storm of them.
const BACKOFF_MS = [100, 250, 500, 1000, 2000];

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export async function generateOrderLoad(plan: OrderLoadPlan): Promise<OrderLoadReport> {
  const clients = plan.targets.map((target) => new orderV1.OrderServiceClient(target, credentials.createInsecure(), { 'grpc.enable_channelz': 0 }));
  await Promise.all(clients.map((client) => new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 5000, (error) => (error ? reject(error) : resolve())))));
  const created: CreatedOrder[] = [];
  const failed: Record<string, number> = {};
  const retriedOn: Record<string, number> = {};
  const latencies: number[] = [];
  let attempts = 0;
  let retriedOrders = 0;
  const intervalMs = 1000 / plan.ratePerSecond;
  const origin = performance.now();
  const startedAt = Date.now();

  let started = 0;
  let answered = 0;
  const attempt = (client: orderV1.OrderServiceClient, request: orderV1.CreateOrderRequest) =>
    new Promise<{ order?: orderV1.Order; error?: ServiceError }>((resolve) => {
      attempts += 1;
      client.createOrder(request, new Metadata(), { deadline: Date.now() + plan.attemptDeadlineMs }, (error, response) => resolve(error ? { error } : { order: response!.order }));
    });

  // Any failure is retried with the same request id: the one create it stands for is either
  // committed (the retry answers that order) or not (the retry makes it).
  const createOne = async (n: number) => {
    const intendedAt = n * intervalMs;
    const request: orderV1.CreateOrderRequest = { userId: plan.userIds[n % plan.userIds.length], items: itemsOf(n), requestId: `${plan.requestIdPrefix}-${n}` };
    started += 1;
    for (let tries = 0; ; tries += 1) {
      const { order, error } = await attempt(clients[(n + tries) % clients.length], request);
      if (order) {
        answered += 1;
        latencies.push(performance.now() - origin - intendedAt);
        if (tries > 0) retriedOrders += 1;
        created.push({ requestId: request.requestId, orderId: order.id, userId: order.userId, totalCents: order.totalCents });
        return;
      }
      const name = Status[error!.code] ?? String(error!.code);
      if (performance.now() - origin - intendedAt > plan.giveUpAfterMs) {
        answered += 1;
        failed[name] = (failed[name] ?? 0) + 1;
        return;
      }
      retriedOn[name] = (retriedOn[name] ?? 0) + 1;
      await new Promise((resolve) => setTimeout(resolve, BACKOFF_MS[Math.min(tries, BACKOFF_MS.length - 1)]));
    }
  };

  // Progress on stderr, which the caller shows if this process fails or overruns.
  const progress = setInterval(() => {
    const seconds = ((performance.now() - origin) / 1000).toFixed(0);
    process.stderr.write(`${seconds} s: ${started} started, ${answered} done (${created.length} OK), ${attempts} attempts, retried on ${JSON.stringify(retriedOn)}\n`);
  }, 5000);
  const running: Promise<void>[] = [];
  await new Promise<void>((resolve) => {
    let next = 0;
    // Each tick starts every order whose time has come, so a late timer sends a burst rather than
    // quietly lowering the rate.
    const tick = () => {
      const now = performance.now() - origin;
      while (next < plan.orders && next * intervalMs <= now) running.push(createOne(next++));
      if (next < plan.orders) setTimeout(tick, Math.max(0, next * intervalMs - (performance.now() - origin)));
      else resolve();
    };
    tick();
  });
  await Promise.all(running);
  clearInterval(progress);
  clients.forEach((client) => client.close());
  latencies.sort((a, b) => a - b);
  return { created, failed, attempts, retriedOn, retriedOrders, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), maxMs: latencies.at(-1) ?? 0, startedAt };
}

if (require.main === module) {
  const plan = JSON.parse(process.argv[2] ?? '{}') as OrderLoadPlan;
  generateOrderLoad(plan).then(
    (report) => process.stdout.write(`${JSON.stringify(report)}\n`),
    (error: Error) => {
      process.stderr.write(`order load generator failed: ${error.message}\n`);
      process.exit(1);
    },
  );
}
