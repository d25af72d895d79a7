import type { userV1 } from '@switchyard/proto';

/** The in-memory users every unary variant serves, and the ids the load generator asks for. */
export const FIXTURE_USER_COUNT = 1000;

export function fixtureUserIds(count = FIXTURE_USER_COUNT): string[] {
  return Array.from({ length: count }, (_, i) => `user-${String(i).padStart(4, '0')}`);
}

/**
 * The GetUser handler both the baseline and Switchyard serve: a map lookup, so what is measured is
 * the stack around it. `notFound` makes each stack's own error for an unknown id (it imports
 * nothing, so the baseline process loads no Switchyard code).
 */
export function createFixtureGetUser(notFound: (id: string) => Error): (request: userV1.GetUserRequest) => Promise<userV1.GetUserResponse> {
  const created = new Date('2024-01-01T00:00:00Z');
  const users = new Map<string, userV1.User>(
    fixtureUserIds().map((id, i) => [id, { id, name: `User ${i}`, email: `user${i}@example.com`, createTime: created, orderCount: 0, totalSpentCents: 0 }]),
  );
  return async (request) => {
    const user = users.get(request.id);
    if (!user) throw notFound(request.id);
    return { user };
  };
}
