import type { App } from './compose-environment';

/** The apps `--replicas` may scale: the ones compose scales too. */
export const SCALABLE_APPS = ['user', 'order'] as const;
export const MAX_REPLICAS = 16;

const FORMAT = 'expected <app>=<count>[,<app>=<count>...], e.g. user=2,order=2';

/** A bad --replicas: npm start prints the message and exits 2. */
export class ReplicasOptionError extends Error {
  override name = 'ReplicasOptionError';
}

/** `user=2,order=3` as counts by app; throws a ReplicasOptionError naming `source` and the bad entry. */
export function parseReplicaCounts(text: string, source = '--replicas'): Partial<Record<App, number>> {
  const fail = (message: string) => {
    throw new ReplicasOptionError(`${source}=${JSON.stringify(text)}: ${message}`);
  };
  const counts: Partial<Record<App, number>> = {};
  const entries = text.split(',').map((entry) => entry.trim());
  if (text.trim() === '' || entries.some((entry) => entry === '')) fail(FORMAT);
  for (const entry of entries) {
    const match = /^([a-z][a-z0-9-]*)=(\S+)$/.exec(entry);
    if (!match) fail(`"${entry}": ${FORMAT}`);
    const [, app, count] = match!;
    if (app === 'registry' || app === 'gateway') {
      fail(`"${entry}": only ${SCALABLE_APPS.join(' and ')} run replicas here (the registry keeps its instances in one process's memory; the gateway is the one door, on fixed ports)`);
    }
    if (!(SCALABLE_APPS as readonly string[]).includes(app)) fail(`"${entry}": no app named ${JSON.stringify(app)}; replicas apply to ${SCALABLE_APPS.join(' and ')}`);
    if (!/^\d+$/.test(count) || Number(count) < 1 || Number(count) > MAX_REPLICAS) fail(`"${entry}": the count must be a whole number from 1 to ${MAX_REPLICAS}`);
    if (counts[app as App] !== undefined) fail(`${app} is given twice`);
    counts[app as App] = Number(count);
  }
  return counts;
}

/**
 * The --replicas of npm start's command line: `npm start -- --replicas user=2` (or
 * `--replicas=user=2`) passes it as arguments; `npm start --replicas=user=2` makes it npm's
 * config, npm_config_replicas; and `npm start --replicas user=2` sets npm_config_replicas=true
 * and passes `user=2` as an argument. Any other argument is an error. Unset: no replicas.
 */
export function replicasFromCommandLine(argv: readonly string[], env: Record<string, string | undefined>): Partial<Record<App, number>> {
  let value: { text: string; source: string } | undefined;
  const rest = [...argv];
  while (rest.length > 0) {
    const argument = rest.shift()!;
    if (argument.startsWith('--replicas=')) value = { text: argument.slice('--replicas='.length), source: '--replicas' };
    else if (argument === '--replicas') {
      if (rest.length === 0 || rest[0].startsWith('-')) throw new ReplicasOptionError(`--replicas needs a value: ${FORMAT}`);
      value = { text: rest.shift()!, source: '--replicas' };
    } else if (env.npm_config_replicas === 'true' && value === undefined && !argument.startsWith('-')) value = { text: argument, source: '--replicas' };
    else throw new ReplicasOptionError(`unknown argument ${JSON.stringify(argument)}: the one option is --replicas <app>=<count>,... (${FORMAT})`);
  }
  if (value === undefined && env.npm_config_replicas !== undefined && env.npm_config_replicas !== '') {
    if (env.npm_config_replicas === 'true') throw new ReplicasOptionError(`--replicas needs a value: ${FORMAT}`);
    value = { text: env.npm_config_replicas, source: 'npm_config_replicas' };
  }
  return value === undefined ? {} : parseReplicaCounts(value.text, value.source);
}
