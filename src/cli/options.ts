import { InvalidArgumentError } from 'commander';

/** Commander parsers that turn bad flag values into one clear line. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a non-negative integer');
  return n;
}

export function finiteNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('must be a number');
  return n;
}

export function oneOf<T extends string>(...allowed: T[]): (value: string) => T {
  return (value: string) => {
    if (!(allowed as string[]).includes(value))
      throw new InvalidArgumentError(`must be one of ${allowed.join(', ')}`);
    return value as T;
  };
}

/** A finite number within [min, max] (either bound open with `open`), e.g. rates, betas, weights. */
export function numberIn(
  min: number,
  max = Infinity,
  { openMin = false, openMax = false } = {},
): (value: string) => number {
  const range = `${openMin ? '(' : '['}${min}, ${max === Infinity ? 'inf)' : `${max}${openMax ? ')' : ']'}`}`;
  return (value: string) => {
    const n = finiteNumber(value);
    const low = openMin ? n > min : n >= min;
    const high = openMax ? n < max : n <= max;
    if (!low || !high) throw new InvalidArgumentError(`must be in ${range}`);
    return n;
  };
}

export const positiveNumber = numberIn(0, Infinity, { openMin: true });
export const nonNegativeNumber = numberIn(0);

/** "lo,hi" with 0 < lo <= hi <= 1 (RandomResizedCrop's area range). */
export function scaleRange(value: string): [number, number] {
  const parts = value.split(',').map(Number);
  if (parts.length !== 2 || parts.some((x) => !(x > 0 && x <= 1)) || parts[0] > parts[1])
    throw new InvalidArgumentError('must be "lo,hi" with 0 < lo <= hi <= 1');
  return [parts[0], parts[1]];
}
