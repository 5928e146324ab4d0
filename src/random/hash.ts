/** A 32-bit finalizer (murmur3's): spreads every input bit over the output. */
export function mix32(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * A 32-bit hash of a list of integers (each taken modulo 2^53, negative ones as two's complement),
 * for seeding one generator per (seed, epoch, index) or (seed, step) from independent inputs.
 */
export function hashInts(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    const lo = p >>> 0;
    const hi = Math.floor(p / 4294967296) >>> 0;
    h = mix32((h ^ lo) + 0x9e3779b9);
    h = mix32((h ^ hi) + 0x7f4a7c15);
  }
  return h;
}
