// "Is the child as we want it?" The API server adds defaults and other managers' fields to every object, so the
// question is whether every field we set has our value; only then can a write be skipped.

export function isSubset(desired: unknown, observed: unknown): boolean {
  if (desired === undefined) return true;
  if (Array.isArray(desired)) {
    return (
      Array.isArray(observed) &&
      observed.length === desired.length &&
      desired.every((item, index) => isSubset(item, observed[index]))
    );
  }
  if (desired !== null && typeof desired === 'object') {
    if (observed === null || typeof observed !== 'object' || Array.isArray(observed)) return false;
    const observedRecord = observed as Record<string, unknown>;
    return Object.entries(desired).every(([key, value]) => isSubset(value, observedRecord[key]));
  }
  return desired === observed;
}

/** Deep equality of JSON values, regardless of key order; an absent key equals an undefined one. */
export function isSameJson(left: unknown, right: unknown): boolean {
  return isSubset(left, right) && isSubset(right, left);
}
