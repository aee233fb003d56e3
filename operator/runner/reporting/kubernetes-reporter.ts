// Writes a runner's report to its Merchant's or Cart's /status with server-side apply: one PATCH per report.
import { ownerApiVersion, ownerStatusPath } from '../../api/owner-paths.ts';
import { runnerFieldManager } from '../../api/runner-contract.ts';
import type { ServiceName } from '../../api/v1alpha1/services.ts';
import type { KubernetesApi } from './in-cluster-api.ts';
import type { StatusReporter } from './reporter.ts';
import { statusApplyBody } from './status-report.ts';

/** Server-side apply takes YAML; JSON is YAML. */
export const applyPatchContentType = 'application/apply-patch+yaml';

/**
 * One field manager per service. An apply drops every field its manager owned and left out, so the runners of one
 * Merchant (three services, each applying only its own list entry) would erase each other under a shared manager.
 */
export function runnerFieldManagerFor(service: ServiceName): string {
  return `${runnerFieldManager}/${service}`;
}

export function createKubernetesStatusReporter(api: KubernetesApi): StatusReporter {
  return {
    async report(owner, report) {
      const query = new URLSearchParams({ fieldManager: runnerFieldManagerFor(report.name), force: 'true' });
      await api.request('PATCH', `${ownerStatusPath(owner.kind, owner.namespace, owner.name)}?${query.toString()}`, {
        body: JSON.stringify(statusApplyBody(owner, ownerApiVersion, report)),
        contentType: applyPatchContentType,
      });
    },
  };
}
