import { randomBytes } from 'node:crypto';
import { Metadata } from '@grpc/grpc-js';
import type { RegistryAccess } from '../registry-access';

export const SESSION_COOKIE = 'switchyard_dashboard';

export interface DashboardSessionsOptions {
  /** The registry's token rules: a token that may read through gRPC may read the dashboard. */
  access: RegistryAccess;
  /** How long a sign-in lasts. Default 12 hours. */
  ttlMs?: number;
  /** Sessions kept at once; the oldest goes first. Default 1000. */
  maxSessions?: number;
  now?: () => number;
}

/**
 * Sign-ins of the dashboard in token mode. A browser's EventSource cannot send an authorization
 * header and a token must never sit in a URL, so the token is POSTed once and answered with a
 * random session id in an HttpOnly, SameSite=Strict cookie; the token itself is never stored.
 * Sessions live in memory: a restarted registry asks for the token again.
 */
export class DashboardSessions {
  private readonly sessions = new Map<string, number>();
  private readonly ttlMs: number;
  private readonly maxSessions: number;
  private readonly now: () => number;

  constructor(private readonly options: DashboardSessionsOptions) {
    this.ttlMs = options.ttlMs ?? 12 * 60 * 60 * 1000;
    this.maxSessions = options.maxSessions ?? 1000;
    this.now = options.now ?? Date.now;
  }

  /** A new session id when `token` may read the registry; undefined when it is refused. */
  signIn(token: string, peer: string): string | undefined {
    if (!this.mayRead(token, peer)) return undefined;
    const id = randomBytes(32).toString('base64url');
    if (this.sessions.size >= this.maxSessions) this.sessions.delete(this.sessions.keys().next().value!);
    this.sessions.set(id, this.now() + this.ttlMs);
    return id;
  }

  signOut(id: string | undefined): void {
    if (id !== undefined) this.sessions.delete(id);
  }

  isSignedIn(id: string | undefined): boolean {
    if (id === undefined) return false;
    const expiresAt = this.sessions.get(id);
    if (expiresAt === undefined) return false;
    if (expiresAt <= this.now()) {
      this.sessions.delete(id);
      return false;
    }
    return true;
  }

  get maxAgeSeconds(): number {
    return Math.floor(this.ttlMs / 1000);
  }

  private mayRead(token: string, peer: string): boolean {
    if (token === '') return false;
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${token}`);
    try {
      const caller = this.options.access({ metadata, peer });
      return caller.authenticated && caller.mayRead;
    } catch {
      // A refused token (UnauthenticatedError): the page says so, the reason stays here.
      return false;
    }
  }
}

/** The session id in a Cookie header, if any. */
export function sessionIdFrom(cookieHeader: string | undefined): string | undefined {
  for (const part of (cookieHeader ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === SESSION_COOKIE) return value.join('=');
  }
  return undefined;
}
