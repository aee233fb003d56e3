// Whether a merchant's watcher serves an object's Automatic services yet: its Deployment has rolled out completely
// (no pod of an older template left, the new one available) and its template names this object's target as wanted.
import type { V1Deployment } from '@kubernetes/client-node';
import { runnerEnv, type WatchTarget } from '../api/runner-contract.ts';
import { isSameJson } from './compare.ts';
import { watchTargetOf, type WatchSource } from './desired.ts';

/** The targets a watcher Deployment's pod template gives its runner; empty when it names none readably. */
export function targetsOf(deployment: V1Deployment): WatchTarget[] {
  const variable = deployment.spec?.template.spec?.containers[0]?.env?.find(
    (entry) => entry.name === runnerEnv.watchTargets,
  );
  try {
    const parsed: unknown = JSON.parse(variable?.value ?? '[]');
    return Array.isArray(parsed) ? (parsed as WatchTarget[]) : [];
  } catch {
    return [];
  }
}

/** The rollout of the Deployment's current template is complete: every pod runs it, and it is available. */
export function isRolledOut(deployment: V1Deployment): boolean {
  const wanted = deployment.spec?.replicas ?? 1;
  const status = deployment.status;
  if (!status || (status.observedGeneration ?? 0) < (deployment.metadata?.generation ?? 0)) return false;
  const updated = status.updatedReplicas ?? 0;
  return updated >= wanted && (status.replicas ?? 0) === updated && (status.availableReplicas ?? 0) >= wanted;
}

export function watcherServes(watcher: V1Deployment | undefined, source: WatchSource): boolean {
  return watcher !== undefined && isRolledOut(watcher) && watcherTargets(watcher, source);
}

/** The Deployment's template already asks its runner to serve this source (whether or not it has rolled out). */
export function watcherTargets(watcher: V1Deployment, source: WatchSource): boolean {
  const wanted = watchTargetOf(source);
  return targetsOf(watcher).some((target) => isSameJson(target, wanted));
}
