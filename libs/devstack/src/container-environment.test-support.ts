// A container's environment as the kubelet would build it from rendered manifests: envFrom first,
// then env in order, with $(VAR) expanded from what is already defined.
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { KubernetesObject } from './kustomize-render.test-support';

/** What the downward API would give a pod; any well-formed value serves to check the settings. */
export const SAMPLE_POD_IP = '10.244.1.7';

export interface SecretReference {
  secret: string;
  /** undefined for envFrom secretRef (every key of the Secret). */
  key: string | undefined;
  optional: boolean;
}

export interface ContainerEnvironment {
  /** Variables with a value known from the manifests. */
  values: Record<string, string>;
  /** Variables taken from Secrets, whose values are not in the manifests. */
  fromSecrets: Record<string, SecretReference>;
  /** Variables given as a literal `value:` in the manifest (not from a ConfigMap, Secret or the pod). */
  literals: Set<string>;
  problems: string[];
}

const FIELD_SAMPLES: Record<string, (podName: string) => string> = {
  'status.podIP': () => SAMPLE_POD_IP,
  'metadata.name': (podName) => podName,
  'metadata.namespace': () => 'switchyard',
};

export function containerEnvironment(container: IContainer, podName: string, objects: readonly KubernetesObject[]): ContainerEnvironment {
  const configMaps = new Map(objects.filter((object) => object.kind === 'ConfigMap').map((object) => [object.metadata.name, (object.data ?? {}) as Record<string, string>]));
  const result: ContainerEnvironment = { values: {}, fromSecrets: {}, literals: new Set(), problems: [] };
  const where = `container ${container.name}`;

  for (const source of container.envFrom ?? []) {
    if (source.configMapRef) {
      const data = configMaps.get(source.configMapRef.name ?? '');
      if (data) Object.assign(result.values, data);
      else if (!source.configMapRef.optional) result.problems.push(`${where}: envFrom names ConfigMap "${source.configMapRef.name}", which is not in the manifests`);
    }
    if (source.secretRef) result.problems.push(`${where}: envFrom takes all of Secret "${source.secretRef.name}"; name each variable with secretKeyRef so the manifests say which ones are secret`);
  }

  for (const variable of container.env ?? []) {
    const { name, value, valueFrom } = variable;
    delete result.fromSecrets[name];
    if (value !== undefined) {
      result.literals.add(name);
      // The kubelet leaves a reference to an undefined variable as it is; here that is a mistake.
      result.values[name] = value.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (reference, referenced: string) => {
        if (referenced in result.values) return result.values[referenced];
        result.problems.push(`${where}: ${name}=${JSON.stringify(value)} refers to ${reference}, which is not defined before it`);
        return reference;
      });
    } else if (valueFrom?.fieldRef) {
      const sample = FIELD_SAMPLES[valueFrom.fieldRef.fieldPath];
      if (sample) result.values[name] = sample(podName);
      else result.problems.push(`${where}: ${name} takes field ${valueFrom.fieldRef.fieldPath}, which this check has no sample of`);
    } else if (valueFrom?.configMapKeyRef) {
      const { name: configMap, key, optional } = valueFrom.configMapKeyRef;
      const data = configMaps.get(configMap ?? '');
      if (data?.[key] !== undefined) result.values[name] = data[key];
      else if (!optional) result.problems.push(`${where}: ${name} takes key "${key}" of ConfigMap "${configMap}", which is not in the manifests`);
    } else if (valueFrom?.secretKeyRef) {
      const { name: secret, key, optional } = valueFrom.secretKeyRef;
      delete result.values[name];
      result.literals.delete(name);
      result.fromSecrets[name] = { secret: secret ?? '', key, optional: optional ?? false };
    } else {
      result.problems.push(`${where}: ${name} has neither a value nor a source this check knows`);
    }
  }
  return result;
}
