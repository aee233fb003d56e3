// Stable slots from a seed: the same seed picks the same slot in every process and release, and different seeds
// spread evenly. SHA-256 rather than a fast non-cryptographic hash because its output is uniform even for seeds that
// differ in one character (tenant UIDs), and it ships with Node.
import { createHash } from 'node:crypto';

const bytesPerSlot = 6; // 48 bits: the modulo bias for slot counts below 10^4 is under 10^-10.
const digestBytes = 32;

/**
 * Picks one integer in [0, size) for each size, from consecutive 48-bit pieces of the SHA-256 of the key parts.
 * Parts are joined with NUL so that ('a/b', 'c') and ('a', 'b/c') never collide.
 */
export function pickStableSlots(keyParts: readonly string[], sizes: readonly number[]): number[] {
  if (sizes.length * bytesPerSlot > digestBytes) {
    throw new RangeError(`at most ${Math.floor(digestBytes / bytesPerSlot)} slots per key`);
  }
  const digest = createHash('sha256').update(keyParts.join('\0')).digest();
  return sizes.map((size, index) => {
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`slot count must be a positive integer, got ${size}`);
    }
    return digest.readUIntBE(index * bytesPerSlot, bytesPerSlot) % size;
  });
}
