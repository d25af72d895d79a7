// Renders deploy/k8s overlays with `kubectl kustomize` (a real child process) for the manifest tests.
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';

/** What every rendered object has; the rest is read through kubernetes-models' interfaces. */
export interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export interface Kubectl {
  command: string;
  /** First line of `kubectl version --client`, for the test log. */
  version: string;
}

/** SWITCHYARD_KUBECTL names the kubectl to run (e.g. Debian's 1.20, whose kustomize is v2.0.3); else `kubectl` on PATH. */
export const kubectlCommand = (env: NodeJS.ProcessEnv = process.env): string => env.SWITCHYARD_KUBECTL || 'kubectl';

/** The kubectl to render with, or undefined when it cannot be run. */
export function findKubectl(command: string = kubectlCommand()): Kubectl | undefined {
  const probe = spawnSync(command, ['version', '--client'], { encoding: 'utf8', timeout: 60_000 });
  if (probe.error || probe.status !== 0) return undefined;
  return { command, version: probe.stdout.split('\n')[0].trim() };
}

const execFileAsync = promisify(execFile);

/** `kubectl kustomize <directory>`, parsed: one object per YAML document. */
export async function renderKustomization(kubectl: Kubectl, directory: string): Promise<KubernetesObject[]> {
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync(kubectl.command, ['kustomize', directory], { encoding: 'utf8', maxBuffer: 32 * 1024 * 1024, timeout: 120_000 }));
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    throw new Error(`${kubectl.command} kustomize ${directory} failed: ${stderr?.trim() || String(error)}`);
  }
  const objects: KubernetesObject[] = [];
  for (const document of parseAllDocuments(stdout)) {
    if (document.errors.length > 0) throw new Error(`${kubectl.command} kustomize ${directory} printed YAML that does not parse: ${document.errors[0].message}`);
    const object = document.toJS() as KubernetesObject | null;
    if (object !== null) objects.push(object);
  }
  return objects;
}
