import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

interface ComposeFile {
  services: Record<string, { environment?: Record<string, string | number> }>;
}

/**
 * The NODE_OPTIONS docker-compose.yml runs `app` with, as an environment to add to its process
 * (empty when it sets none): tests and the bench run the built apps with the V8 settings they
 * ship with.
 */
export function composeNodeOptions(workspaceRoot: string, app: string): Record<string, string> {
  const compose = parse(readFileSync(join(workspaceRoot, 'docker-compose.yml'), 'utf8')) as ComposeFile;
  const service = compose.services[app];
  if (!service) throw new Error(`docker-compose.yml has no service "${app}"`);
  const nodeOptions = service.environment?.NODE_OPTIONS;
  return nodeOptions === undefined || nodeOptions === '' ? {} : { NODE_OPTIONS: String(nodeOptions) };
}
