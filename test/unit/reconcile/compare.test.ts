import { describe, expect, it } from 'vitest';
import { isSameJson, isSubset } from '../../../operator/reconcile/compare.ts';

describe('isSubset', () => {
  it.each([
    ['server defaults added', { a: 1, b: { c: 'x' } }, { a: 1, b: { c: 'x', d: 2 }, e: [] }, true],
    ['a value changed', { a: 1 }, { a: 2 }, false],
    ['a field removed', { a: 1, b: 2 }, { a: 1 }, false],
    ['list elements compared in order', { l: [{ n: 1 }, { n: 2 }] }, { l: [{ n: 1, x: 0 }, { n: 2 }] }, true],
    ['an element added by hand', { l: [{ n: 1 }] }, { l: [{ n: 1 }, { n: 2 }] }, false],
    ['undefined is absent', { a: undefined }, {}, true],
    ['object versus scalar', { a: { b: 1 } }, { a: 'b' }, false],
  ])('%s', (_name, desired, observed, expected) => {
    expect(isSubset(desired, observed)).toBe(expected);
  });

  it('isSameJson ignores key order but not extra keys', () => {
    expect(isSameJson({ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 })).toBe(true);
    expect(isSameJson({ a: 1 }, { a: 1, b: 2 })).toBe(false);
  });
});
