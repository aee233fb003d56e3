// Writes a runner's report to its Merchant's or Cart's /status with server-side apply: one PATCH per report, and
// before the first report that did not succeed, one dry-run PATCH to read the last success it must keep.
import { randomBytes } from 'node:crypto';
import { ownerApiVersion, ownerGroup, ownerStatusPath } from '../../api/owner-paths.ts';
import { runnerFieldManager } from '../../api/runner-contract.ts';
import type { ServiceName } from '../../api/v1alpha1/services.ts';
import type { OwnerRef } from '../config.ts';
import type { KubernetesApi } from './in-cluster-api.ts';
import type { RunFailure, StatusReporter } from './reporter.ts';
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

/** The manager of the dry-run read: not the service's, whose apply of the bare entry would drop its fields. */
function readerFieldManagerFor(service: ServiceName): string {
  return `${runnerFieldManagerFor(service)}.read`;
}

/**
 * The service's lastSuccessTime as the owner's status holds it. The runner's Role grants only patch (the operator
 * gives it nothing more), and every PATCH answers with the object: an apply of the bare entry, dry-run, under a manager
 * of its own, changes nothing and reads it.
 */
async function readLastSuccessTime(
  api: KubernetesApi,
  owner: OwnerRef,
  service: ServiceName,
): Promise<string | undefined> {
  const query = new URLSearchParams({ fieldManager: readerFieldManagerFor(service), dryRun: 'All' });
  const path = `${ownerStatusPath(owner.kind, owner.namespace, owner.name)}?${query.toString()}`;
  const stored = (await api.request('PATCH', path, {
    body: JSON.stringify({
      apiVersion: ownerApiVersion,
      kind: owner.kind,
      metadata: { name: owner.name, namespace: owner.namespace },
      status: { services: [{ name: service }] },
    }),
    contentType: applyPatchContentType,
  })) as { status?: { services?: { name?: string; lastSuccessTime?: unknown }[] } } | undefined;
  const time = stored?.status?.services?.find((entry) => entry.name === service)?.lastSuccessTime;
  return typeof time === 'string' ? time : undefined;
}

/** MicroTime as the API server parses it: RFC 3339 with exactly six fractional digits. */
function microTime(time: Date): string {
  return time.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** The Warning Event of a run that could not do its work, as events.k8s.io/v1 has it. */
export function runFailedEvent(owner: OwnerRef, failure: RunFailure, now: Date, instance: string) {
  const what = failure.mode === 'run' ? 'run' : 'cleanup run';
  return {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    // <object>.<unique>, as client-go names its Events (generateName must end in a letter or digit).
    metadata: {
      name: `${owner.name}.${now.getTime().toString(36)}${randomBytes(3).toString('hex')}`,
      namespace: owner.namespace,
    },
    eventTime: microTime(now),
    reportingController: `${ownerGroup}/${runnerFieldManager}`,
    reportingInstance: instance,
    action: failure.mode === 'run' ? 'Run' : 'Cleanup',
    reason: failure.mode === 'run' ? 'RunFailed' : 'CleanupFailed',
    type: 'Warning',
    note: `The ${failure.service} ${what} could not do its work: ${failure.message}`.slice(0, 1024),
    regarding: { apiVersion: ownerApiVersion, kind: owner.kind, name: owner.name, namespace: owner.namespace },
  };
}

/**
 * A report without lastSuccessTime (a failure, or a Disabled service's count) would erase the one in status, since an
 * apply drops what its manager left out; it carries the last one forward instead: as this process last wrote it, or,
 * before its first write (an interval run, a watcher that just started), as the status holds it. If that read fails,
 * the report goes without: reporting the failure matters more.
 */
export function createKubernetesStatusReporter(api: KubernetesApi): StatusReporter {
  /** What each owner's service has in status as lastSuccessTime, after this process's last write. */
  const written = new Map<string, string | undefined>();
  return {
    async report(owner, report) {
      const key = `${owner.kind}/${owner.namespace}/${owner.name}/${report.name}`;
      let lastSuccessTime = report.lastSuccessTime ?? written.get(key);
      if (lastSuccessTime === undefined && !written.has(key)) {
        lastSuccessTime = await readLastSuccessTime(api, owner, report.name).catch(() => undefined);
      }
      const query = new URLSearchParams({ fieldManager: runnerFieldManagerFor(report.name), force: 'true' });
      const carried = lastSuccessTime === undefined ? report : { ...report, lastSuccessTime };
      await api.request('PATCH', `${ownerStatusPath(owner.kind, owner.namespace, owner.name)}?${query.toString()}`, {
        body: JSON.stringify(statusApplyBody(owner, ownerApiVersion, carried)),
        contentType: applyPatchContentType,
      });
      written.set(key, lastSuccessTime);
    },
    async runFailed(owner, failure) {
      await api.request('POST', `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(owner.namespace)}/events`, {
        body: JSON.stringify(runFailedEvent(owner, failure, new Date(), process.env.HOSTNAME ?? runnerFieldManager)),
      });
    },
  };
}
