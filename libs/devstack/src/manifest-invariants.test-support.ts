// What the manifests in deploy/k8s must keep true beyond their schemas: probes, drain timing,
// disruption budgets, ports, registry addresses, secrets and image tags. Each check returns one
// line per problem, naming the object.
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import type { IService } from 'kubernetes-models/v1/Service';
import { FINAL_EXPORT_TIMEOUT_MS, loadServiceConfig, type ServiceConfig } from '@switchyard/runtime';
import { APPS, type App } from './compose-environment';
import { containerEnvironment, SAMPLE_POD_IP, type ContainerEnvironment } from './container-environment.test-support';
import { objectName } from './kubernetes-schema-check.test-support';
import type { KubernetesObject } from './kustomize-render.test-support';

/** Time past the app's own shutdown steps that the grace period must leave, for a loaded node. */
export const GRACE_MARGIN_MS = 2000;

/** Variables whose values are secrets (docs/configuration.md marks them); never literal in a manifest, except a URL without a password. */
const SECRET_VARIABLES = ['REGISTRY_TOKEN', 'REGISTRY_TOKENS', 'AUTH_JWT_SECRET', 'DATABASE_URL', 'REDIS_URL', 'POSTGRES_PASSWORD'];

type Workload = (IDeployment | IStatefulSet) & KubernetesObject;

const workloads = (objects: readonly KubernetesObject[]): Workload[] => objects.filter((object): object is Workload => object.kind === 'Deployment' || object.kind === 'StatefulSet');
const services = (objects: readonly KubernetesObject[]) => objects.filter((object): object is IService & KubernetesObject => object.kind === 'Service');
const containersOf = (workload: Workload): IContainer[] => workload.spec?.template.spec?.containers ?? [];
const podLabels = (workload: Workload): Record<string, string> => workload.spec?.template.metadata?.labels ?? {};
const selects = (selector: Record<string, string> | undefined, labels: Record<string, string>) =>
  selector !== undefined && Object.keys(selector).length > 0 && Object.entries(selector).every(([key, value]) => labels[key] === value);
/** A pod name as the workload would make it, for $(POD_NAME)-style samples. */
const samplePodName = (workload: Workload) => (workload.kind === 'StatefulSet' ? `${workload.metadata.name}-0` : `${workload.metadata.name}-7d4b9c-x2x7q`);

export interface AppManifest {
  app: App;
  deployment: Workload;
  container: IContainer;
  environment: ContainerEnvironment;
  /** The app's own reading of the environment (defaults included); undefined when it refuses it. */
  config: ServiceConfig | undefined;
}

/** Each app's Deployment and container, with its environment read as the app reads it. */
export function appManifests(objects: readonly KubernetesObject[]): { apps: AppManifest[]; problems: string[] } {
  const apps: AppManifest[] = [];
  const problems: string[] = [];
  for (const app of APPS) {
    const deployment = workloads(objects).find((workload) => workload.kind === 'Deployment' && workload.metadata.name === app);
    const container = deployment && containersOf(deployment).find((candidate) => candidate.name === app);
    if (!deployment || !container) {
      problems.push(`Deployment ${app}: missing, or without a container named ${app}`);
      continue;
    }
    const environment = containerEnvironment(container, samplePodName(deployment), objects);
    problems.push(...environment.problems.map((problem) => `Deployment ${app}, ${problem}`));
    let config: ServiceConfig | undefined;
    try {
      config = loadServiceConfig(app, environment.values);
    } catch (error) {
      problems.push(`Deployment ${app}: the app would refuse its environment: ${(error as Error).message}`);
    }
    apps.push({ app, deployment, container, environment, config });
  }
  return { apps, problems };
}

const containerPort = (container: IContainer, name: string) => container.ports?.find((port) => port.name === name)?.containerPort;

/** Readiness, liveness (and startup, when present) are grpc.health.v1 probes on the app's gRPC port. */
export function probeProblems(apps: readonly AppManifest[]): string[] {
  const problems: string[] = [];
  for (const { app, container, config } of apps) {
    if (!config) continue;
    const probes: [string, IProbe | undefined][] = [
      ['readinessProbe', container.readinessProbe],
      ['livenessProbe', container.livenessProbe],
    ];
    if (container.startupProbe) probes.push(['startupProbe', container.startupProbe]);
    for (const [kind, probe] of probes) {
      if (probe?.grpc?.port !== config.grpcPort) {
        problems.push(`Deployment ${app}: ${kind} must be a grpc probe on the gRPC port ${config.grpcPort} (GRPC_PORT), got ${JSON.stringify(probe ?? null)}`);
      }
    }
  }
  return problems;
}

/** The sleep of a preStop hook, in ms: `sleep N` as exec, or the sleep action. */
function preStopMs(container: IContainer): number | string {
  const hook = container.lifecycle?.preStop;
  if (!hook) return 0;
  if (hook.sleep) return hook.sleep.seconds * 1000;
  const command = hook.exec?.command ?? [];
  if (command.length === 2 && command[0] === 'sleep' && /^\d+$/.test(command[1])) return Number(command[1]) * 1000;
  return `a preStop hook whose duration this check cannot tell (${JSON.stringify(hook)}); use ["sleep", "<seconds>"]`;
}

/**
 * SIGTERM comes after the preStop hook, and the app then drains (DRAIN_DELAY_MS, for the apps that
 * register: the registry does not), lets calls finish (SHUTDOWN_TIMEOUT_MS) and flushes its spans
 * (FINAL_EXPORT_TIMEOUT_MS): the grace period must cover it all, and the liveness probe must not
 * give up on a pod that is draining.
 */
export function drainProblems(apps: readonly AppManifest[]): string[] {
  const problems: string[] = [];
  for (const { app, deployment, container, config } of apps) {
    if (!config) continue;
    const hookMs = preStopMs(container);
    if (typeof hookMs === 'string') {
      problems.push(`Deployment ${app}: ${hookMs}`);
      continue;
    }
    const drainMs = app === 'registry' ? 0 : config.drainDelayMs;
    const stoppingMs = drainMs + config.shutdownTimeoutMs + FINAL_EXPORT_TIMEOUT_MS;
    const graceMs = (deployment.spec?.template.spec?.terminationGracePeriodSeconds ?? 30) * 1000;
    const neededMs = hookMs + stoppingMs + GRACE_MARGIN_MS;
    if (graceMs <= neededMs) {
      problems.push(
        `Deployment ${app}: terminationGracePeriodSeconds ${graceMs / 1000} must exceed preStop ${hookMs} ms + DRAIN_DELAY_MS ${drainMs} + SHUTDOWN_TIMEOUT_MS ${config.shutdownTimeoutMs} + final export ${FINAL_EXPORT_TIMEOUT_MS} + margin ${GRACE_MARGIN_MS} = ${neededMs} ms`,
      );
    }
    const liveness = container.livenessProbe;
    const livenessWindowMs = (liveness?.periodSeconds ?? 10) * (liveness?.failureThreshold ?? 3) * 1000;
    if (liveness && livenessWindowMs <= stoppingMs) {
      problems.push(`Deployment ${app}: the liveness probe gives up after ${livenessWindowMs} ms (periodSeconds x failureThreshold), within the ${stoppingMs} ms a draining pod answers NOT_SERVING`);
    }
  }
  return problems;
}

/**
 * The ports the app reads (GRPC_PORT, METRICS_PORT, HTTP_PORT) are the container's named ports,
 * Prometheus' annotation, and docker-compose.yml's; the apps that register advertise the pod IP
 * and their gRPC port.
 */
export function appPortProblems(apps: readonly AppManifest[], composeEnvironment: Record<App, Record<string, string>>): string[] {
  const problems: string[] = [];
  for (const { app, deployment, container, environment, config } of apps) {
    if (!config) continue;
    const ports: [string, string, number | undefined][] = [
      ['grpc', 'GRPC_PORT', config.grpcPort],
      ['metrics', 'METRICS_PORT', config.metricsPort],
    ];
    if (app === 'gateway') ports.push(['http', 'HTTP_PORT', Number(environment.values.HTTP_PORT ?? 8080)]);
    for (const [name, variable, port] of ports) {
      if (port === undefined) problems.push(`Deployment ${app}: ${variable} is not set`);
      else if (containerPort(container, name) !== port) problems.push(`Deployment ${app}: container port "${name}" is ${containerPort(container, name)}, ${variable} is ${port}`);
      const composed = composeEnvironment[app][variable];
      if (composed !== undefined && Number(composed) !== port) problems.push(`Deployment ${app}: ${variable} is ${port}, docker-compose.yml says ${composed}`);
    }
    const annotations = deployment.spec?.template.metadata?.annotations ?? {};
    if (annotations['prometheus.io/scrape'] !== 'true' || annotations['prometheus.io/port'] !== String(config.metricsPort)) {
      problems.push(`Deployment ${app}: the pod needs prometheus.io/scrape "true" and prometheus.io/port "${config.metricsPort}" (METRICS_PORT), got ${JSON.stringify(annotations)}`);
    }
    if (app !== 'registry' && config.advertiseAddress !== `${SAMPLE_POD_IP}:${config.grpcPort}`) {
      problems.push(`Deployment ${app}: ADVERTISE_ADDRESS must be the pod IP and GRPC_PORT ($(POD_IP):${config.grpcPort} with POD_IP from status.podIP), got ${JSON.stringify(config.advertiseAddress)}`);
    }
  }
  return problems;
}

/** The Service a DNS name names from inside the namespace: `svc`, `svc.ns`, `svc.ns.svc[.cluster.local]`. */
function serviceNamed(objects: readonly KubernetesObject[], host: string) {
  const [name, namespace, ...rest] = host.split('.');
  const suffixOk = rest.length === 0 || rest.join('.') === 'svc' || rest.join('.') === 'svc.cluster.local';
  return services(objects).find((service) => service.metadata.name === name && suffixOk && (namespace === undefined || namespace === service.metadata.namespace));
}

/** `host:port` (with or without a `dns:///` scheme), or undefined when the address is another form. */
function hostAndPort(address: string): { host: string; port: number } | undefined {
  const match = /^(?:dns:\/\/\/)?([A-Za-z0-9.-]+):(\d+)$/.exec(address.trim());
  return match ? { host: match[1], port: Number(match[2]) } : undefined;
}

/**
 * Every address in REGISTRY_ADDRESS (a comma-separated list) is a Service that selects the
 * registry's pods on the registry's gRPC port; every ETCD_ENDPOINTS entry is a member of the etcd
 * StatefulSet under its headless Service.
 */
export function registryAddressProblems(apps: readonly AppManifest[], objects: readonly KubernetesObject[]): string[] {
  const problems: string[] = [];
  const registry = apps.find((manifest) => manifest.app === 'registry');
  // The container's port, which appPortProblems ties to GRPC_PORT: known even when the config is refused.
  const registryPort = registry && containerPort(registry.container, 'grpc');
  for (const { app, environment } of apps) {
    if (app === 'registry') continue;
    const setting = environment.values.REGISTRY_ADDRESS;
    if (setting === undefined) {
      problems.push(`Deployment ${app}: REGISTRY_ADDRESS is not set`);
      continue;
    }
    for (const address of setting.split(',')) {
      const target = hostAndPort(address);
      const service = target && serviceNamed(objects, target.host);
      if (!target || !service || !registry) {
        problems.push(`Deployment ${app}: REGISTRY_ADDRESS entry "${address}" is not host:port of a Service in the manifests`);
      } else if (!selects(service.spec?.selector, podLabels(registry.deployment))) {
        problems.push(`Deployment ${app}: REGISTRY_ADDRESS entry "${address}" names Service ${service.metadata.name}, which does not select the registry's pods`);
      } else if (!service.spec?.ports?.some((port) => port.port === target.port) || target.port !== registryPort) {
        problems.push(`Deployment ${app}: REGISTRY_ADDRESS entry "${address}" uses port ${target.port}; the registry serves on ${registryPort} and Service ${service.metadata.name} must expose it`);
      }
    }
  }

  const endpoints = registry?.environment.values.ETCD_ENDPOINTS;
  if (registry && registry.environment.values.REGISTRY_STORE === 'etcd') {
    const etcd = workloads(objects).find((workload) => workload.kind === 'StatefulSet' && workload.metadata.name === 'etcd') as (IStatefulSet & KubernetesObject) | undefined;
    for (const endpoint of (endpoints ?? '').split(',')) {
      const match = /^http:\/\/([a-z0-9-]+)-(\d+)\.([a-z0-9-]+):(\d+)$/.exec(endpoint.trim());
      const service = match && services(objects).find((candidate) => candidate.metadata.name === match[3]);
      const fits =
        match && etcd && service && match[1] === etcd.metadata.name && etcd.spec?.serviceName === service.metadata.name && Number(match[2]) < (etcd.spec?.replicas ?? 1) &&
        service.spec?.clusterIP === 'None' && service.spec?.ports?.some((port) => port.port === Number(match[4]));
      if (!fits) problems.push(`Deployment registry: ETCD_ENDPOINTS entry "${endpoint}" is not http://etcd-<n>.<headless Service>:<client port> of a member of the etcd StatefulSet`);
    }
  }
  return problems;
}

/**
 * Each Service selects the pods of exactly one workload, and each of its ports reaches a container
 * port of the same number (clients dial the port the app listens on, as in docker-compose.yml).
 */
export function servicePortProblems(objects: readonly KubernetesObject[]): string[] {
  const problems: string[] = [];
  for (const service of services(objects)) {
    const selected = workloads(objects).filter((workload) => selects(service.spec?.selector, podLabels(workload)));
    if (selected.length !== 1) {
      problems.push(`${objectName(service)}: its selector ${JSON.stringify(service.spec?.selector ?? {})} matches ${selected.length} workloads; it must match one`);
      continue;
    }
    const ports = containersOf(selected[0]).flatMap((container) => container.ports ?? []);
    for (const port of service.spec?.ports ?? []) {
      const target = port.targetPort ?? port.port;
      const reached = ports.find((candidate) => (typeof target === 'string' ? candidate.name === target : candidate.containerPort === target));
      if (!reached) problems.push(`${objectName(service)}: port ${port.name ?? port.port} targets ${target}, which no container of ${objectName(selected[0])} declares`);
      else if (reached.containerPort !== port.port) problems.push(`${objectName(service)}: port ${port.port} reaches container port ${reached.containerPort}; keep them the same`);
    }
  }
  return problems;
}

/**
 * Each NetworkPolicy selects one workload, allows ports that workload declares (a port name that
 * matches nothing allows nothing, silently), and lets in pods that exist.
 */
export function networkPolicyProblems(objects: readonly KubernetesObject[]): string[] {
  const problems: string[] = [];
  for (const policy of objects.filter((object): object is INetworkPolicy & KubernetesObject => object.kind === 'NetworkPolicy')) {
    const selected = workloads(objects).filter((workload) => selects(policy.spec?.podSelector?.matchLabels, podLabels(workload)));
    if (selected.length !== 1) {
      problems.push(`${objectName(policy)}: its podSelector matches ${selected.length} workloads; it must match one`);
      continue;
    }
    const ports = containersOf(selected[0]).flatMap((container) => container.ports ?? []);
    for (const rule of policy.spec?.ingress ?? []) {
      for (const { port } of rule.ports ?? []) {
        if (!ports.some((candidate) => (typeof port === 'string' ? candidate.name === port : candidate.containerPort === port))) {
          problems.push(`${objectName(policy)}: allows port ${port}, which no container of ${objectName(selected[0])} declares`);
        }
      }
      for (const peer of rule.from ?? []) {
        if (peer.podSelector && !workloads(objects).some((workload) => selects(peer.podSelector?.matchLabels, podLabels(workload)))) {
          problems.push(`${objectName(policy)}: lets in pods labelled ${JSON.stringify(peer.podSelector.matchLabels ?? {})}, which no workload has`);
        }
      }
    }
  }
  return problems;
}

/** Every workload of more than one replica has a PodDisruptionBudget over its pods that still lets a node drain. */
export function disruptionBudgetProblems(objects: readonly KubernetesObject[]): string[] {
  const budgets = objects.filter((object): object is IPodDisruptionBudget & KubernetesObject => object.kind === 'PodDisruptionBudget');
  const problems: string[] = [];
  for (const workload of workloads(objects)) {
    const replicas = workload.spec?.replicas ?? 1;
    // One replica: a budget either blocks every node drain or protects nothing.
    if (replicas < 2) continue;
    const covering = budgets.filter((budget) => selects(budget.spec?.selector?.matchLabels, podLabels(workload)));
    if (covering.length !== 1) {
      problems.push(`${objectName(workload)}: ${covering.length} PodDisruptionBudgets select its pods; it needs one`);
      continue;
    }
    const { maxUnavailable, minAvailable } = covering[0].spec ?? {};
    const allowed = typeof maxUnavailable === 'number' ? maxUnavailable : typeof minAvailable === 'number' ? replicas - minAvailable : undefined;
    if (allowed === undefined || allowed < 1 || allowed >= replicas) {
      problems.push(`${objectName(workload)}: PodDisruptionBudget ${covering[0].metadata.name} must let between 1 and ${replicas - 1} of ${replicas} pods go at once (a whole-number maxUnavailable or minAvailable)`);
    }
  }
  return problems;
}

/** Pods run as non-root, on a read-only root filesystem, without privilege escalation, with resource requests. */
export function podSecurityProblems(objects: readonly KubernetesObject[]): string[] {
  const problems: string[] = [];
  for (const workload of workloads(objects)) {
    const pod = workload.spec?.template.spec;
    for (const container of containersOf(workload)) {
      const where = `${objectName(workload)}, container ${container.name}`;
      const security = container.securityContext ?? {};
      if ((security.runAsNonRoot ?? pod?.securityContext?.runAsNonRoot) !== true) problems.push(`${where}: runAsNonRoot must be true`);
      if ((security.runAsUser ?? pod?.securityContext?.runAsUser) === undefined) problems.push(`${where}: set runAsUser (a numeric user lets the kubelet check runAsNonRoot)`);
      if (security.readOnlyRootFilesystem !== true) problems.push(`${where}: readOnlyRootFilesystem must be true (mount an emptyDir where it writes)`);
      if (security.allowPrivilegeEscalation !== false) problems.push(`${where}: allowPrivilegeEscalation must be false`);
      if (!container.resources?.requests?.cpu || !container.resources?.requests?.memory || !container.resources?.limits?.memory) {
        problems.push(`${where}: set requests.cpu, requests.memory and limits.memory`);
      }
    }
  }
  return problems;
}

/** A URL with a password in it (userinfo, or ?password=). */
const hasPassword = (url: string) => /^[a-z]+:\/\/[^/@]*:[^/@]*@/i.test(url) || /[?&]password=/i.test(url);

/**
 * No Secret objects and no secret values in the manifests: secret variables come from Secrets the
 * operator creates, each of them named in the documentation (`documentedSecrets`).
 */
export function secretProblems(objects: readonly KubernetesObject[], documentedSecrets: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  for (const object of objects) {
    if (object.kind === 'Secret') problems.push(`${objectName(object)}: Secrets are created by the operator, never committed`);
    if (object.kind === 'ConfigMap') {
      for (const [key, value] of Object.entries((object.data ?? {}) as Record<string, string>)) {
        if (SECRET_VARIABLES.includes(key) && !(key.endsWith('_URL') && !hasPassword(value))) problems.push(`${objectName(object)}: ${key} is a secret; take it from a Secret`);
      }
    }
  }
  for (const workload of workloads(objects)) {
    for (const container of containersOf(workload)) {
      const environment = containerEnvironment(container, samplePodName(workload), objects);
      for (const name of environment.literals) {
        const value = environment.values[name] ?? '';
        const secret = SECRET_VARIABLES.includes(name) && !(name.endsWith('_URL') && !hasPassword(value));
        if (secret) problems.push(`${objectName(workload)}, container ${container.name}: ${name} has a literal value; take it from a Secret`);
      }
      for (const [name, reference] of Object.entries(environment.fromSecrets)) {
        if (!documentedSecrets.has(reference.secret)) problems.push(`${objectName(workload)}, container ${container.name}: ${name} comes from Secret "${reference.secret}", which docs/kubernetes.md does not tell the operator to create`);
      }
    }
  }
  return problems;
}

/** Every image has a released tag (or a digest): not `latest`, not untagged. */
export function imageTagProblems(objects: readonly KubernetesObject[]): string[] {
  const problems: string[] = [];
  for (const workload of workloads(objects)) {
    for (const container of [...containersOf(workload), ...(workload.spec?.template.spec?.initContainers ?? [])]) {
      const image = container.image ?? '';
      if (image.includes('@sha256:')) continue;
      const lastPart = image.slice(image.lastIndexOf('/') + 1);
      const tag = lastPart.includes(':') ? lastPart.slice(lastPart.indexOf(':') + 1) : undefined;
      if (tag === undefined || tag === 'latest') problems.push(`${objectName(workload)}, container ${container.name}: image "${image}" must name a released tag, not ${tag ?? 'no tag (latest)'}`);
    }
  }
  return problems;
}
