import { status as Status } from '@grpc/grpc-js';
import { gatewayV1, type orderV1, type userV1 } from '@switchyard/proto';
import { FieldViolations, MAX_ID_LENGTH, checkTextField, defineService, type ServiceRegistration } from '@switchyard/runtime';
import { toEdgeError } from './edge-errors';

/** What the gateway needs from the services behind it; main.ts wires them over gRPC. */
export interface UpstreamServices {
  getUser(userId: string): Promise<userV1.User>;
  listOrders(userId: string, pageSize: number): Promise<{ orders: orderV1.Order[]; nextPageToken: string }>;
}

const MAX_PAGE_SIZE = 100;

function validate(request: gatewayV1.GetUserWithOrdersRequest): void {
  const violations = new FieldViolations();
  if (request.userId.trim() === '') violations.add('user_id', 'is required');
  else checkTextField(violations, 'user_id', request.userId, { maxLength: MAX_ID_LENGTH });
  if (request.pageSize < 0 || request.pageSize > MAX_PAGE_SIZE) violations.add('page_size', `must be from 0 to ${MAX_PAGE_SIZE}`);
  violations.throwIfAny();
}

function describeFailure(source: string, error: unknown): gatewayV1.PartialFailure {
  const edge = toEdgeError(error);
  return { source, code: Status[edge.code] ?? String(edge.code), message: edge.details };
}

/**
 * GetUserWithOrders asks user and order at the same time under the caller's one deadline. The
 * user is the point of the call, so its failure fails the call (NOT_FOUND stays NOT_FOUND); a
 * failure of the orders is reported in partial_failures next to the user instead of hiding it.
 */
export function createGatewayService(upstream: UpstreamServices): ServiceRegistration {
  return defineService('switchyard.gateway.v1.GatewayService', gatewayV1.GatewayServiceService, {
    async getUserWithOrders(request) {
      validate(request);
      const [user, orders] = await Promise.allSettled([
        upstream.getUser(request.userId),
        upstream.listOrders(request.userId, request.pageSize),
      ]);
      if (user.status === 'rejected') throw toEdgeError(user.reason);
      if (orders.status === 'rejected') {
        return { user: user.value, orders: [], nextPageToken: '', partialFailures: [describeFailure('order', orders.reason)] };
      }
      return { user: user.value, orders: orders.value.orders, nextPageToken: orders.value.nextPageToken, partialFailures: [] };
    },
  });
}
