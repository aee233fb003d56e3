// Kubernetes resource quantities as the API server writes them back in a container's resources. It stores `1024Mi`
// as `1Gi` and `0.5` as `500m`, so a child built with the spelling the user configured would never match what the
// cluster holds, and the operator would apply it again at every reconcile. Configured quantities are therefore brought
// into that canonical form once, when the configuration is read: rounded up to thousandths, as the API server's
// defaults do to every resource list, then written as apimachinery's resource.Quantity does (CanonicalizeBytes).

/** The spellings the operator accepts: a plain or decimal number with a decimal (n … E) or binary (Ki … Ei) suffix. */
export const quantityPattern = /^([0-9]+)(?:\.([0-9]+))?([numkMGTPE]|[KMGTPE]i)?$/;

const binaryExponents: Readonly<Record<string, number>> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const decimalExponents: Readonly<Record<string, number>> = {
  n: -9,
  u: -6,
  m: -3,
  '': 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
const binarySuffixes = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];
const decimalSuffixes: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(decimalExponents).map(([suffix, exponent]) => [exponent, suffix]),
);

/** A non-negative quantity as `mantissa × 10^exponent`, in thousandths at most; binary when written with Ki … Ei. */
interface Parsed {
  mantissa: bigint;
  exponent: number;
  binary: boolean;
}

const ten = 10n;
const pow10 = (power: number) => ten ** BigInt(power);

function parse(text: string): Parsed {
  const match = quantityPattern.exec(text);
  if (!match) throw new RangeError(`"${text}" is not a Kubernetes quantity such as 100m or 128Mi`);
  const [, whole = '0', fraction = '', suffix = ''] = match;
  let mantissa = BigInt(whole + fraction);
  let exponent = -fraction.length;
  const binary = suffix in binaryExponents;
  if (binary) mantissa *= 1024n ** BigInt(binaryExponents[suffix]!);
  else exponent += decimalExponents[suffix]!;
  // Like the API server, round anything finer than a thousandth up, so that a tiny request stays a request.
  if (exponent < -3) {
    const divisor = pow10(-3 - exponent);
    mantissa = (mantissa + divisor - 1n) / divisor;
    exponent = -3;
  }
  return { mantissa, exponent, binary };
}

function decimalForm(mantissa: bigint, exponent: number): string {
  while (mantissa % ten === 0n) {
    mantissa /= ten;
    exponent += 1;
  }
  // The exponent down to a multiple of 3, then no further than E (10^18).
  const remainder = ((exponent % 3) + 3) % 3;
  mantissa *= pow10(remainder);
  exponent -= remainder;
  if (exponent > 18) {
    mantissa *= pow10(exponent - 18);
    exponent = 18;
  }
  return `${mantissa}${decimalSuffixes[exponent]}`;
}

/**
 * The form the API server stores in a container's resources: `1024Mi` → `1Gi`, `0.5` → `500m`, `1000m` → `1`,
 * `0.5Gi` → `512Mi`, `0.0001` → `1m`.
 */
export function canonicalQuantity(text: string): string {
  const { mantissa, exponent, binary } = parse(text);
  if (mantissa === 0n) return '0';
  // Binary quantities stay binary when they are a whole number of bytes, at least 1024; otherwise they are decimal.
  const wholeBytes = exponent >= 0 || mantissa % pow10(-exponent) === 0n;
  if (binary && wholeBytes) {
    let bytes = exponent >= 0 ? mantissa * pow10(exponent) : mantissa / pow10(-exponent);
    if (bytes >= 1024n) {
      let power = 0;
      while (bytes % 1024n === 0n && power < binarySuffixes.length - 1) {
        bytes /= 1024n;
        power += 1;
      }
      return `${bytes}${binarySuffixes[power]}`;
    }
  }
  return decimalForm(mantissa, exponent);
}

/** Negative, zero or positive as quantity `a` is less than, equal to or greater than `b`. */
export function compareQuantities(a: string, b: string): number {
  const left = parse(a);
  const right = parse(b);
  const exponent = Math.min(left.exponent, right.exponent);
  const scaled = (value: Parsed) => value.mantissa * pow10(value.exponent - exponent);
  const difference = scaled(left) - scaled(right);
  return difference === 0n ? 0 : difference < 0n ? -1 : 1;
}
