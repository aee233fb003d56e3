// Writes a runner's report to its Merchant's or Cart's /status with server-side apply.
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { runnerFieldManager } from '../../api/runner-environment.ts';
import { group, version } from '../../api/v1alpha1/types.ts';
import type { ServiceName } from '../../api/v1alpha1/services.ts';
import type { StatusReporter } from './reporter.ts';
import { statusApplyBody } from './status-report.ts';

/**
 * One field manager per service. An apply drops every field its manager owned and left out, so the runners of one
 * Merchant (three services, each applying only its own list entry) would erase each other under a shared manager.
 */
export function runnerFieldManagerFor(service: ServiceName): string {
  return `${runnerFieldManager}/${service}`;
}

export function createKubernetesStatusReporter(kubeConfig: KubeConfig): StatusReporter {
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  return {
    async report(owner, report) {
      await api.patchNamespacedCustomObjectStatus(
        {
          group,
          version,
          namespace: owner.namespace,
          plural: owner.kind === 'Merchant' ? 'merchants' : 'carts',
          name: owner.name,
          body: statusApplyBody(owner, `${group}/${version}`, report),
          fieldManager: runnerFieldManagerFor(report.name),
          force: true,
        },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
      );
    },
  };
}
