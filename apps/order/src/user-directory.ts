/**
 * The order service's view of users. The service wires one over the UserService client; tests
 * pass a fake.
 */
export interface UserDirectory {
  /**
   * Resolves when the user exists. Rejects with NotFoundError('user', id) when it does not, and
   * with whatever went wrong (e.g. an UNAVAILABLE status) when it could not tell. Stops when
   * `signal` aborts.
   */
  assertUserExists(userId: string, signal: AbortSignal): Promise<void>;
}
