import { describe, expect, it } from 'vitest';
import { canonicalQuantity, compareQuantities } from '../../../operator/quantity.ts';

describe('canonicalQuantity', () => {
  // What kube-apiserver 1.34 stores for each in a container's resources (checked with kubectl create --dry-run=server).
  it.each([
    ['1024Mi', '1Gi'],
    ['1024Ki', '1Mi'],
    ['2048Mi', '2Gi'],
    ['1536Mi', '1536Mi'],
    ['0.5Gi', '512Mi'],
    ['1.5Mi', '1536Ki'],
    ['64Mi', '64Mi'],
    ['1Gi', '1Gi'],
    ['0.5Ki', '512'],
    ['0.3Ki', '307200m'],
    ['0.5', '500m'],
    ['0.25', '250m'],
    ['1.5', '1500m'],
    ['1000m', '1'],
    ['2000m', '2'],
    ['500m', '500m'],
    ['50m', '50m'],
    ['1', '1'],
    ['1000', '1k'],
    ['1500', '1500'],
    ['120000', '120k'],
    // Resource lists are rounded up to thousandths.
    ['0.0001', '1m'],
    ['0.5m', '1m'],
    ['1.5m', '2m'],
    ['0.0000000001', '1m'],
    ['1000u', '1m'],
    ['1500000n', '2m'],
    ['1G', '1G'],
    ['1000M', '1G'],
    ['1500M', '1500M'],
    ['2Ti', '2Ti'],
    ['1024Gi', '1Ti'],
    ['0', '0'],
    ['0Mi', '0'],
    ['0.0', '0'],
  ])('%s → %s', (input, canonical) => {
    expect(canonicalQuantity(input)).toBe(canonical);
    // Canonical forms are their own canonical form.
    expect(canonicalQuantity(canonical)).toBe(canonical);
  });

  it('refuses what is not a quantity', () => {
    expect(() => canonicalQuantity('lots')).toThrowError(/not a Kubernetes quantity/);
  });
});

describe('compareQuantities', () => {
  it('compares values, whatever the spelling', () => {
    expect(compareQuantities('1024Mi', '1Gi')).toBe(0);
    expect(compareQuantities('0.5', '500m')).toBe(0);
    expect(compareQuantities('501m', '0.5')).toBe(1);
    expect(compareQuantities('64Mi', '256Mi')).toBe(-1);
    expect(compareQuantities('1Gi', '1000Mi')).toBe(1);
  });
});
