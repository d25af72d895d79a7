// deploy/k8s rendered by `kubectl kustomize` (a real child process), each object checked against
// the Kubernetes schemas offline, and the promises the manifests make checked on what they render.
// No cluster: whether the pods start and drain as intended is not tested here.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { APPS, readComposeEnvironment } from './compose-environment';
import { schemaProblems } from './kubernetes-schema-check.test-support';
import { findKubectl, kubectlCommand, renderKustomization, type KubernetesObject } from './kustomize-render.test-support';
import {
  appManifests,
  appPortProblems,
  disruptionBudgetProblems,
  drainProblems,
  imageTagProblems,
  networkPolicyProblems,
  podSecurityProblems,
  probeProblems,
  registryAddressProblems,
  secretProblems,
  servicePortProblems,
} from './manifest-invariants.test-support';

const workspaceRoot = resolve(__dirname, '../../..');
const overlayDirectory = (overlay: string) => join(workspaceRoot, 'deploy/k8s/overlays', overlay);
const RENDER_TIMEOUT_MS = 180_000;

const composeEnvironment = readComposeEnvironment(workspaceRoot);
const composeCommands = (parse(readFileSync(join(workspaceRoot, 'docker-compose.yml'), 'utf8')) as { services: Record<string, { command?: string[] }> }).services;
/** The Secrets docs/kubernetes.md tells the operator to create. */
const documentedSecrets = new Set([...readFileSync(join(workspaceRoot, 'docs/kubernetes.md'), 'utf8').matchAll(/create secret generic ([a-z0-9-]+)/g)].map((match) => match[1]));

const kubectl = findKubectl();
const kubectlRequired = process.env.SWITCHYARD_REQUIRE_KUBECTL === '1' || Boolean(process.env.SWITCHYARD_KUBECTL);
if (!kubectl && !kubectlRequired) {
  console.log(`skipped: the Kubernetes manifest checks need kubectl ("${kubectlCommand()}" cannot be run); install kubectl or Debian's kubernetes-client package, or set SWITCHYARD_REQUIRE_KUBECTL=1 to make this a failure`);
}

describe('kubectl for the Kubernetes manifest checks', () => {
  (kubectl || kubectlRequired ? it : it.skip)('can be run', () => {
    if (!kubectl) {
      throw new Error(
        `"${kubectlCommand()}" cannot be run, and ${process.env.SWITCHYARD_KUBECTL ? 'SWITCHYARD_KUBECTL names it' : 'SWITCHYARD_REQUIRE_KUBECTL=1'}: install kubectl, or on Debian the kubernetes-client package (apt-get install kubernetes-client)`,
      );
    }
    console.log(`rendering with ${kubectl.command}: ${kubectl.version}`);
  });
});

const withKubectl = kubectl ? describe : describe.skip;

withKubectl.each(['local', 'production'])('deploy/k8s/overlays/%s, rendered by kubectl kustomize', (overlay) => {
  let objects: KubernetesObject[];
  let apps: ReturnType<typeof appManifests>;

  beforeAll(async () => {
    objects = await renderKustomization(kubectl!, overlayDirectory(overlay));
    apps = appManifests(objects);
  }, RENDER_TIMEOUT_MS);

  it('holds the four apps, the 3-member etcd, and their Services and budgets, in the switchyard namespace', () => {
    const names = new Set(objects.map((object) => `${object.kind} ${object.metadata.name}`));
    for (const app of APPS) for (const kind of ['Deployment', 'Service', 'PodDisruptionBudget']) expect(names).toContain(`${kind} ${app}`);
    for (const kind of ['StatefulSet', 'Service', 'PodDisruptionBudget']) expect(names).toContain(`${kind} etcd`);
    const etcd = objects.find((object) => object.kind === 'StatefulSet' && object.metadata.name === 'etcd') as { spec?: { replicas?: number } } | undefined;
    expect(etcd?.spec?.replicas).toBe(3);
    expect(objects.filter((object) => object.kind !== 'Namespace' && object.metadata.namespace !== 'switchyard').map((object) => `${object.kind} ${object.metadata.name}`)).toEqual([]);
  });

  it('is valid against the Kubernetes API schemas', () => {
    expect(schemaProblems(objects)).toEqual([]);
  });

  it("gives each app an environment the app's own configuration loader accepts", () => {
    expect(apps.problems).toEqual([]);
  });

  it('probes every app (readiness, liveness, startup) with grpc.health.v1 on its gRPC port', () => {
    expect(probeProblems(apps.apps)).toEqual([]);
  });

  it('gives every app a grace period longer than its preStop, drain, shutdown and final export', () => {
    expect(drainProblems(apps.apps)).toEqual([]);
  });

  it("keeps each app's ports, its Prometheus annotations and docker-compose.yml's ports the same, and advertises the pod IP", () => {
    expect(appPortProblems(apps.apps, composeEnvironment)).toEqual([]);
  });

  it('points every app at registry Services that exist, and the registry at the etcd members', () => {
    expect(registryAddressProblems(apps.apps, objects)).toEqual([]);
  });

  it('has every Service select one workload and reach its container ports', () => {
    expect(servicePortProblems(objects)).toEqual([]);
  });

  it('has every NetworkPolicy select one workload, on ports it declares, from pods that exist', () => {
    expect(networkPolicyProblems(objects)).toEqual([]);
  });

  it('lets only the gateway and order reach user, and only the gateway reach order, on their gRPC ports', () => {
    const allowedFrom = (name: string) =>
      ((objects.find((object) => object.kind === 'NetworkPolicy' && object.metadata.name === name) as { spec?: { ingress?: { from?: { podSelector?: { matchLabels?: Record<string, string> } }[]; ports?: { port: string }[] }[] } } | undefined)?.spec?.ingress ?? [])
        .filter((rule) => rule.ports?.some((port) => port.port === 'grpc'))
        .flatMap((rule) => (rule.from ?? [{}]).map((peer) => peer.podSelector?.matchLabels?.['app.kubernetes.io/name'] ?? 'anyone'));
    expect(allowedFrom('user')).toEqual(['gateway', 'order']);
    expect(allowedFrom('order')).toEqual(['gateway']);
  });

  it('has a PodDisruptionBudget for every workload of several replicas', () => {
    expect(disruptionBudgetProblems(objects)).toEqual([]);
  });

  it('runs every pod as non-root on a read-only root filesystem, with resource requests', () => {
    expect(podSecurityProblems(objects)).toEqual([]);
  });

  it('commits no Secret and no secret value, and every Secret it references is documented', () => {
    expect(documentedSecrets.size).toBeGreaterThan(0);
    expect(secretProblems(objects, documentedSecrets)).toEqual([]);
  });

  it('runs each app with the command docker-compose.yml runs it with', () => {
    for (const { app, container } of apps.apps) expect([app, container.command]).toEqual([app, composeCommands[app].command]);
  });

  it("runs each app with docker-compose.yml's NODE_OPTIONS (V8 settings such as the registry's young generation)", () => {
    for (const { app, environment } of apps.apps) expect([app, environment.values.NODE_OPTIONS]).toEqual([app, composeEnvironment[app].NODE_OPTIONS]);
  });

  if (overlay === 'production') {
    it('runs released image tags, never latest', () => {
      expect(imageTagProblems(objects)).toEqual([]);
    });
  } else {
    it('runs the images built locally from deploy/Dockerfile, switchyard/<app>:latest, and never pulls them', () => {
      for (const { app, container } of apps.apps) expect([app, container.image, container.imagePullPolicy]).toEqual([app, `switchyard/${app}:latest`, 'Never']);
    });
  }
});

/** Lookups into a copy of the render, loosely typed, for the checks below to break. */
type Mutable = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const find = (objects: KubernetesObject[], kind: string, name: string): Mutable => {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in the render`);
  return found;
};
const containerOf = (objects: KubernetesObject[], name: string): Mutable => find(objects, 'Deployment', name).spec.template.spec.containers[0];
const envOf = (objects: KubernetesObject[], deployment: string, variable: string): Mutable => {
  const entry = containerOf(objects, deployment).env.find((candidate: { name: string }) => candidate.name === variable);
  if (!entry) throw new Error(`Deployment ${deployment} sets no ${variable}`);
  return entry;
};

withKubectl('the manifest checks, on a broken copy of the production render', () => {
  let rendered: KubernetesObject[];
  beforeAll(async () => {
    rendered = await renderKustomization(kubectl!, overlayDirectory('production'));
  }, RENDER_TIMEOUT_MS);
  const broken = (breakIt: (objects: KubernetesObject[]) => void): KubernetesObject[] => {
    const copy = structuredClone(rendered);
    breakIt(copy);
    return copy;
  };

  it('pass on the render as it is', () => {
    expect(schemaProblems(rendered)).toEqual([]);
    expect(appManifests(rendered).problems).toEqual([]);
  });

  it('report a field of the wrong type', () => {
    const objects = broken((copy) => (find(copy, 'Deployment', 'user').spec.replicas = 'three'));
    expect(schemaProblems(objects)).toEqual(['Deployment user: data/spec/replicas must be integer']);
  });

  it('report a probe that is not grpc.health.v1 on the gRPC port', () => {
    const objects = broken((copy) => {
      containerOf(copy, 'user').readinessProbe = { tcpSocket: { port: 50052 } };
      containerOf(copy, 'order').livenessProbe.grpc.port = 9463;
    });
    const problems = probeProblems(appManifests(objects).apps);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^Deployment user: readinessProbe must be a grpc probe on the gRPC port 50052/);
    expect(problems[1]).toMatch(/^Deployment order: livenessProbe must be a grpc probe on the gRPC port 50053/);
  });

  it('report a grace period shorter than the drain, counting the preStop sleep', () => {
    const objects = broken((copy) => {
      find(copy, 'Deployment', 'gateway').spec.template.spec.terminationGracePeriodSeconds = 20;
      envOf(copy, 'user', 'SHUTDOWN_TIMEOUT_MS').value = '30000';
    });
    const problems = drainProblems(appManifests(objects).apps);
    expect(problems).toEqual([
      expect.stringMatching(/^Deployment user: terminationGracePeriodSeconds 20 must exceed preStop 0 ms \+ DRAIN_DELAY_MS 2000 \+ SHUTDOWN_TIMEOUT_MS 30000/),
      expect.stringMatching(/^Deployment user: the liveness probe gives up after 30000 ms/),
      expect.stringMatching(/^Deployment gateway: terminationGracePeriodSeconds 20 must exceed preStop 5000 ms \+ DRAIN_DELAY_MS 2000 \+ SHUTDOWN_TIMEOUT_MS 10000/),
    ]);
  });

  it('report a workload without a disruption budget', () => {
    const objects = broken((copy) => copy.splice(copy.indexOf(find(copy, 'PodDisruptionBudget', 'order') as KubernetesObject), 1));
    expect(disruptionBudgetProblems(objects)).toEqual(['Deployment order: 0 PodDisruptionBudgets select its pods; it needs one']);
  });

  it('report a committed Secret, a literal secret value and an undocumented Secret', () => {
    const objects = broken((copy) => {
      copy.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'switchyard-registry-token', namespace: 'switchyard' }, stringData: { token: 'committed' } });
      Object.assign(envOf(copy, 'registry', 'REGISTRY_TOKEN'), { value: 'committed', valueFrom: undefined });
      envOf(copy, 'user', 'DATABASE_URL').valueFrom.secretKeyRef.name = 'somewhere-else';
      envOf(copy, 'order', 'DATABASE_URL').value = 'postgres://order:hunter2@db:5432/orders';
      delete envOf(copy, 'order', 'DATABASE_URL').valueFrom;
    });
    expect(secretProblems(objects, documentedSecrets)).toEqual([
      'Secret switchyard-registry-token: Secrets are created by the operator, never committed',
      expect.stringMatching(/^Deployment order, container order: DATABASE_URL has a literal value/),
      expect.stringMatching(/^Deployment registry, container registry: REGISTRY_TOKEN has a literal value/),
      expect.stringMatching(/^Deployment user, container user: DATABASE_URL comes from Secret "somewhere-else", which docs\/kubernetes.md does not/),
    ]);
  });

  it('report a REGISTRY_ADDRESS entry that is not a registry Service', () => {
    const objects = broken((copy) => (find(copy, 'ConfigMap', find(copy, 'Deployment', 'user').spec.template.spec.containers[0].envFrom[0].configMapRef.name).data.REGISTRY_ADDRESS = 'registry:50051,registri:50051,user:50052'));
    const problems = registryAddressProblems(appManifests(objects).apps, objects);
    // The ConfigMap is shared: user, order and gateway each report both entries.
    expect(problems).toHaveLength(6);
    expect(problems[0]).toBe('Deployment user: REGISTRY_ADDRESS entry "registri:50051" is not host:port of a Service in the manifests');
    expect(problems[1]).toBe('Deployment user: REGISTRY_ADDRESS entry "user:50052" names Service user, which does not select the registry\'s pods');
  });

  it('report a NetworkPolicy port or peer that matches nothing', () => {
    const objects = broken((copy) => {
      find(copy, 'NetworkPolicy', 'user').spec.ingress[0].ports[0].port = 'gprc';
      find(copy, 'NetworkPolicy', 'order').spec.ingress[0].from[0].podSelector.matchLabels['app.kubernetes.io/name'] = 'gatway';
    });
    expect(networkPolicyProblems(objects)).toEqual([
      'NetworkPolicy order: lets in pods labelled {"app.kubernetes.io/name":"gatway","app.kubernetes.io/part-of":"switchyard"}, which no workload has',
      'NetworkPolicy user: allows port gprc, which no container of Deployment user declares',
    ]);
  });

  it('report a Service port that reaches another container port, and an ADVERTISE_ADDRESS that is not the pod IP', () => {
    const objects = broken((copy) => {
      find(copy, 'Service', 'user').spec.ports[0].targetPort = 'metrics';
      envOf(copy, 'order', 'ADVERTISE_ADDRESS').value = 'order:50053';
    });
    expect(servicePortProblems(objects)).toEqual(['Service user: port 50052 reaches container port 9462; keep them the same']);
    expect(appPortProblems(appManifests(objects).apps, composeEnvironment)).toEqual([expect.stringMatching(/^Deployment order: ADVERTISE_ADDRESS must be the pod IP and GRPC_PORT/)]);
  });

  it('report an image tagged latest or not tagged', () => {
    const objects = broken((copy) => {
      containerOf(copy, 'user').image = 'switchyard/user:latest';
      containerOf(copy, 'order').image = 'registry.example.com:5000/switchyard/order';
    });
    expect(imageTagProblems(objects)).toEqual([
      expect.stringMatching(/^Deployment order, container order: image "registry.example.com:5000\/switchyard\/order" must name a released tag, not no tag/),
      expect.stringMatching(/^Deployment user, container user: image "switchyard\/user:latest" must name a released tag, not latest/),
    ]);
  });
});
