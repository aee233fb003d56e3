import { describe, expect, it } from 'vitest';
import { computeConditions } from '../../../operator/reconcile/conditions.ts';

const t0 = new Date('2026-11-27T10:00:00.000Z');
const t1 = new Date('2026-11-27T10:05:00.000Z');

describe('computeConditions', () => {
  it('keeps only Ready when ready, with observedGeneration', () => {
    const conditions = computeConditions({ state: 'ready', reason: 'Reconciled', message: 'ok' }, 3, [], t0);
    expect(conditions).toEqual([
      {
        type: 'Ready',
        status: 'True',
        reason: 'Reconciled',
        message: 'ok',
        observedGeneration: 3,
        lastTransitionTime: '2026-11-27T10:00:00Z',
      },
    ]);
  });

  it('adds Stalled for a spec error and Reconciling while waiting, never both', () => {
    const stalled = computeConditions({ state: 'stalled', reason: 'InvalidSpec', message: 'bad' }, 1, [], t0);
    expect(stalled.map((c) => `${c.type}=${c.status}`)).toEqual(['Ready=False', 'Stalled=True']);
    const waiting = computeConditions({ state: 'progressing', reason: 'MerchantNotFound', message: 'x' }, 1, [], t0);
    expect(waiting.map((c) => `${c.type}=${c.status}`)).toEqual(['Ready=False', 'Reconciling=True']);
  });

  it('moves lastTransitionTime only when the status flips', () => {
    const first = computeConditions({ state: 'ready', reason: 'Reconciled', message: 'a' }, 1, [], t0);
    const same = computeConditions({ state: 'ready', reason: 'Reconciled', message: 'b' }, 2, first, t1);
    expect(same[0]!.lastTransitionTime).toBe('2026-11-27T10:00:00Z');
    const flipped = computeConditions({ state: 'stalled', reason: 'InvalidSpec', message: 'c' }, 2, same, t1);
    expect(flipped[0]!.lastTransitionTime).toBe('2026-11-27T10:05:00Z');
  });
});
