// Which updates of a Merchant or Cart need a reconcile: its own status writes coming back must not, or a failing
// object is retried at once instead of with backoff; the runner's failed records must.
import { describe, expect, it } from 'vitest';
import type { Owner } from '../../../operator/api/v1alpha1/types.ts';
import { ownerChange, ownerFactsOf } from '../../../operator/runtime/owner-events.ts';
import { merchantFixture } from '../../support/fixtures.ts';

function withStatus(owner: Owner, status: Owner['status'], changes: Partial<Owner['metadata']> = {}): Owner {
  return { ...owner, metadata: { ...owner.metadata, ...changes }, status };
}

describe('ownerChange', () => {
  const merchant = merchantFixture();
  const reconciled = withStatus(merchant, {
    observedGeneration: 1,
    conditions: [{ type: 'Ready', status: 'True', reason: 'Reconciled', message: 'ok', lastTransitionTime: 'x' }],
    services: [{ name: 'inventory', schedule: '0 */2 * * *', failedRecords: { count: 2 } }],
  });

  it('is none for a status write of the operator (conditions, times, observedGeneration)', () => {
    const failing = withStatus(merchant, {
      observedGeneration: 1,
      conditions: [
        { type: 'Ready', status: 'False', reason: 'ApplyFailed', message: 'could not', lastTransitionTime: 'y' },
      ],
      services: [
        {
          name: 'inventory',
          schedule: '0 */2 * * *',
          nextRunTime: '2026-11-27T14:00:00Z',
          failedRecords: { count: 2 },
        },
      ],
    });
    expect(ownerChange(ownerFactsOf(reconciled), ownerFactsOf(failing))).toBe('none');
  });

  it('is runner when the runner reports anything (failed records, a run result, fields the operator does not know)', () => {
    const more = withStatus(merchant, {
      ...reconciled.status,
      services: [{ name: 'inventory', schedule: '0 */2 * * *', failedRecords: { count: 3 } }],
    });
    expect(ownerChange(ownerFactsOf(reconciled), ownerFactsOf(more))).toBe('runner');
    const ran = withStatus(merchant, {
      ...reconciled.status,
      services: [
        {
          name: 'inventory',
          schedule: '0 */2 * * *',
          failedRecords: { count: 2 },
          lastResult: { time: 't', outcome: 'Succeeded', processed: 4, failed: 0 },
        },
      ],
    });
    expect(ownerChange(ownerFactsOf(reconciled), ownerFactsOf(ran))).toBe('runner');
    // A field the runner may report that this operator version does not know of.
    const unknownField = { name: 'inventory', schedule: '0 */2 * * *', failedRecords: { count: 2 }, backlog: 5 };
    const reportedMore = withStatus(merchant, {
      ...reconciled.status,
      services: [unknownField],
    });
    expect(ownerChange(ownerFactsOf(reconciled), ownerFactsOf(reportedMore))).toBe('runner');
  });

  it('is runner for a new run-now or retry-now request, and none for other annotations', () => {
    const annotated = (annotations: Record<string, string>) => ({
      ...reconciled,
      metadata: { ...reconciled.metadata, annotations },
    });
    const requested = annotated({ 'switchyard.dev/run-requested-at': '2026-11-29T12:00:00Z' });
    expect(ownerChange(ownerFactsOf(reconciled), ownerFactsOf(requested))).toBe('runner');
    const retried = annotated({ 'switchyard.dev/retry-requested-at': 'once more' });
    expect(ownerChange(ownerFactsOf(reconciled), ownerFactsOf(retried))).toBe('runner');
    const narrowed = annotated({
      'switchyard.dev/run-requested-at': '2026-11-29T12:00:00Z',
      'switchyard.dev/run-services': 'inventory',
    });
    expect(ownerChange(ownerFactsOf(requested), ownerFactsOf(narrowed))).toBe('runner');
    const tracked = annotated({ 'argocd.argoproj.io/tracking-id': 'shops:switchyard.dev/Merchant:shops/acme' });
    expect(ownerChange(ownerFactsOf(reconciled), ownerFactsOf(tracked))).toBe('none');
  });

  it('is spec for a new generation, a deletion starting, and the object appearing or going', () => {
    expect(
      ownerChange(ownerFactsOf(reconciled), ownerFactsOf(withStatus(merchant, reconciled.status, { generation: 2 }))),
    ).toBe('spec');
    const deleting = withStatus(merchant, reconciled.status, { deletionTimestamp: '2026-11-27T12:00:00Z' });
    expect(ownerChange(ownerFactsOf(reconciled), ownerFactsOf(deleting))).toBe('spec');
    expect(ownerChange(undefined, ownerFactsOf(reconciled))).toBe('spec');
    expect(ownerChange(ownerFactsOf(reconciled), undefined)).toBe('spec');
  });
});
