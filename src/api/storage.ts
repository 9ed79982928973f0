/**
 * Storage of a flexible server: the sizes Azure offers and the performance tiers of Premium SSD disks.
 */
import { checkOneOf } from './rules';
import type { Problem } from './problem';

/**
 * Sizes in GiB. 4095 is the largest size that still scales online, and autogrow does not cross from it to 4096:
 * growing past 4 TiB restarts the server.
 */
export const STORAGE_SIZES_GB: readonly number[] = [32, 64, 128, 256, 512, 1024, 2048, 4095, 4096, 8192, 16384, 32767];

/** Premium SSD performance tiers, slowest first. */
export const STORAGE_TIERS: readonly string[] = ['P4', 'P6', 'P10', 'P15', 'P20', 'P30', 'P40', 'P50', 'P60', 'P70', 'P80'];

const DEFAULT_TIER_OF_SIZE: ReadonlyMap<number, string> = new Map([
  [32, 'P4'], [64, 'P6'], [128, 'P10'], [256, 'P15'], [512, 'P20'], [1024, 'P30'], [2048, 'P40'],
  [4095, 'P50'], [4096, 'P50'], [8192, 'P60'], [16384, 'P70'], [32767, 'P80'],
]);

/** The tier Azure gives a disk of `sizeGB` when none is asked for; undefined for a size Azure does not offer. */
export function defaultStorageTier(sizeGB: number): string | undefined {
  return DEFAULT_TIER_OF_SIZE.get(sizeGB);
}

/** Problems with a size and an optional tier: the size must be offered, the tier known and not below the size's default. */
export function checkStorage(sizeGB: unknown, tier: unknown): Problem[] {
  const sizeProblem = checkOneOf('storage.sizeGB', sizeGB, STORAGE_SIZES_GB);
  const problems: Problem[] = sizeProblem ? [sizeProblem] : [];
  if (tier === undefined) {
    return problems;
  }
  const tierProblem = checkOneOf('storage.tier', tier, STORAGE_TIERS);
  if (tierProblem) {
    return [...problems, tierProblem];
  }
  const minimum = sizeProblem ? undefined : defaultStorageTier(sizeGB as number);
  if (minimum !== undefined && STORAGE_TIERS.indexOf(tier as string) < STORAGE_TIERS.indexOf(minimum)) {
    problems.push({
      field: 'storage.tier',
      value: tier,
      expected: `may not be below ${minimum}, the default tier of ${sizeGB} GiB; choose ${minimum} or higher, or leave it unset`,
    });
  }
  return problems;
}
