// A real 3-member etcd cluster on free loopback ports, with temporary data directories, whose
// members can be SIGKILLed and restarted. Needs etcd (Debian: etcd-server).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from './eventually';
import { freePort } from './free-port';

/** The etcd binary: /usr/bin/etcd, or `etcd` on PATH; undefined when neither exists. */
export function findEtcd(): string | undefined {
  for (const candidate of ['/usr/bin/etcd', 'etcd']) {
    if (spawnSync(candidate, ['--version'], { stdio: 'ignore' }).status === 0) return candidate;
  }
  return undefined;
}

/**
 * `describe` when etcd is installed. Without it the suite fails when SWITCHYARD_REQUIRE_ETCD=1
 * (CI installs it), and otherwise is skipped with a message saying so.
 */
export function describeWithEtcd(name: string, body: (etcd: string) => void): void {
  const etcd = findEtcd();
  if (etcd) {
    describe(name, () => body(etcd));
    return;
  }
  const missing = 'etcd is not installed (neither /usr/bin/etcd nor etcd on PATH): install etcd-server (apt-get install etcd-server)';
  if (process.env.SWITCHYARD_REQUIRE_ETCD === '1') {
    describe(name, () => {
      it('needs etcd', () => {
        throw new Error(`${missing}; SWITCHYARD_REQUIRE_ETCD=1 requires these tests to run`);
      });
    });
    return;
  }
  // The one place a skipped suite can say why.
  console.warn(`skipping "${name}": ${missing}, or set SWITCHYARD_REQUIRE_ETCD=1 to make this a failure`);
  describe.skip(name, () => body(''));
}

interface Member {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  process?: ChildProcess;
  output: string;
}

export interface EtcdCluster {
  /** Client URLs of the members, http://127.0.0.1:port each. */
  readonly endpoints: string[];
  /** SIGKILLs member `index` and waits until it is gone. */
  kill(index: number): Promise<void>;
  /** Starts member `index` again on its data directory and waits until it is healthy. */
  restart(index: number): Promise<void>;
  /** What the members wrote, for failure messages. */
  output(): string;
  /** SIGKILLs every member and removes the data directories. */
  stop(): Promise<void>;
}

/** Starts a 3-member cluster and resolves once every member reports healthy. */
export async function startEtcdCluster(etcd: string, size = 3): Promise<EtcdCluster> {
  const root = mkdtempSync(join(tmpdir(), 'switchyard-etcd-'));
  const members: Member[] = [];
  for (let i = 0; i < size; i += 1) {
    members.push({
      name: `m${i}`,
      clientUrl: `http://127.0.0.1:${await freePort()}`,
      peerUrl: `http://127.0.0.1:${await freePort()}`,
      dataDir: join(root, `m${i}`),
      output: '',
    });
  }
  const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  const token = `switchyard-test-${process.pid}-${Date.now()}`;

  const launch = (member: Member) => {
    const child = spawn(
      etcd,
      [
        '--name', member.name,
        '--data-dir', member.dataDir,
        '--listen-client-urls', member.clientUrl,
        '--advertise-client-urls', member.clientUrl,
        '--listen-peer-urls', member.peerUrl,
        '--initial-advertise-peer-urls', member.peerUrl,
        '--initial-cluster', initialCluster,
        '--initial-cluster-token', token,
        '--initial-cluster-state', 'new',
        '--logger', 'zap',
        '--log-level', 'warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const keep = (chunk: Buffer) => void (member.output = (member.output + chunk.toString()).slice(-10_000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    member.process = child;
  };
  const healthy = async (member: Member) => {
    const response = await fetch(`${member.clientUrl}/health`, { signal: AbortSignal.timeout(2000) });
    return response.ok && ((await response.json()) as { health?: string }).health === 'true';
  };
  const output = () => members.map((m) => `--- ${m.name} (${m.clientUrl})\n${m.output}`).join('\n');
  const kill = async (index: number) => {
    const child = members[index].process;
    members[index].process = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGKILL');
    await exited;
  };
  const stop = async () => {
    await Promise.all(members.map((_, index) => kill(index)));
    rmSync(root, { recursive: true, force: true });
  };

  try {
    for (const member of members) launch(member);
    // A member is healthy once the cluster has a leader and it can serve a quorum read.
    await eventually(async () => (await Promise.all(members.map(healthy))).every(Boolean), 30_000, 'the etcd cluster to be healthy');
  } catch (error) {
    const log = output();
    await stop();
    throw new Error(`${String(error)}\n${log}`);
  }
  return {
    endpoints: members.map((m) => m.clientUrl),
    kill,
    async restart(index: number) {
      await kill(index);
      launch(members[index]);
      await eventually(() => healthy(members[index]), 30_000, `etcd member ${members[index].name} to be healthy again`);
    },
    output,
    stop,
  };
}
