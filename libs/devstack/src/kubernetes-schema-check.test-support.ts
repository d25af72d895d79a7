// Every rendered object checked against the Kubernetes API's JSON schema, offline (kubernetes-models).
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import type { KubernetesObject } from './kustomize-render.test-support';

/**
 * validate() comes from @kubernetes-models/base, whose types sit behind package `exports` that
 * this workspace's `moduleResolution: node` does not read; the method is there at run time.
 */
type ModelClass = new (data: object) => { validate(): void };

/** The kinds deploy/k8s may contain; any other kind is reported, so nothing escapes validation. */
const MODELS: Record<string, ModelClass> = Object.fromEntries(
  [ConfigMap, Namespace, Secret, Service, Deployment, StatefulSet, PodDisruptionBudget, NetworkPolicy].map((model) => {
    const { apiVersion, kind } = model as unknown as { apiVersion: string; kind: string };
    return [`${apiVersion} ${kind}`, model as unknown as ModelClass];
  }),
);

export const objectName = (object: KubernetesObject): string => `${object.kind} ${object.metadata?.name ?? '(no name)'}`;

/** One line per object that the schema of its apiVersion and kind rejects (types, required fields, enums). */
export function schemaProblems(objects: readonly KubernetesObject[]): string[] {
  const problems: string[] = [];
  for (const object of objects) {
    const Model = MODELS[`${object.apiVersion} ${object.kind}`];
    if (!Model) {
      problems.push(`${objectName(object)}: no schema for ${object.apiVersion} ${object.kind} (add its kubernetes-models class to MODELS)`);
      continue;
    }
    try {
      new Model(object).validate();
    } catch (error) {
      problems.push(`${objectName(object)}: ${(error as Error).message}`);
    }
  }
  return problems;
}
