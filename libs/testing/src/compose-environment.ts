import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

interface ComposeFile {
  services: Record<string, { environment?: Record<string, string | number> | string[] } | null>;
}

/**
 * A value as compose reads it with no variables set: `${NAME:-default}` takes its default. The
 * caller's own variables are layered on later, as the shell wins in compose.
 */
const withDefaults = (value: string) => value.replace(/\$\{[A-Za-z_][A-Za-z0-9_]*:-([^}]*)\}/g, '$1');

/**
 * The `environment:` docker-compose.yml gives each of its services, as strings, with
 * `${NAME:-default}` read as its default; a variable left empty is left out, as the apps treat
 * empty as unset. The one reader of the compose file for the local stack, the tests and the bench.
 */
export function composeServiceEnvironments(workspaceRoot: string): Record<string, Record<string, string>> {
  const compose = parse(readFileSync(join(workspaceRoot, 'docker-compose.yml'), 'utf8')) as ComposeFile;
  const result: Record<string, Record<string, string>> = {};
  for (const [service, definition] of Object.entries(compose.services)) {
    const environment = definition?.environment ?? {};
    const entries: [string, string][] = Array.isArray(environment)
      ? environment.map((entry) => entry.split(/=(.*)/s).slice(0, 2) as [string, string])
      : Object.entries(environment).map(([key, value]) => [key, String(value)]);
    result[service] = Object.fromEntries(entries.map(([key, value]) => [key, withDefaults(value ?? '')]).filter(([, value]) => value !== ''));
  }
  return result;
}

/**
 * The NODE_OPTIONS docker-compose.yml runs `app` with, as an environment to add to its process
 * (empty when it sets none): tests and the bench run the built apps with the V8 settings they
 * ship with.
 */
export function composeNodeOptions(workspaceRoot: string, app: string): Record<string, string> {
  const environment = composeServiceEnvironments(workspaceRoot)[app];
  if (!environment) throw new Error(`docker-compose.yml has no service "${app}"`);
  return environment.NODE_OPTIONS === undefined ? {} : { NODE_OPTIONS: environment.NODE_OPTIONS };
}
