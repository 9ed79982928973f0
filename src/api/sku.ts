/**
 * Compute tiers and the SKU series Azure sells in each. The check is by series (the name's shape), not by size:
 * sizes differ by region and Azure answers an unavailable one clearly at create, while a SKU of the wrong tier or an
 * unknown series is a mistake worth catching at synth.
 */
import { checkOneOf, checkStringRule, SKU_NAME } from './rules';
import type { Problem } from './problem';

export const COMPUTE_TIERS = ['Burstable', 'GeneralPurpose', 'MemoryOptimized'] as const;
export type ComputeTierName = typeof COMPUTE_TIERS[number];

/** A VM series of flexible servers: its name, the shape of its SKU names, and one example. */
export interface SkuSeries {
  readonly series: string;
  readonly pattern: RegExp;
  readonly example: string;
}

function series(name: string, pattern: RegExp, example: string): SkuSeries {
  return { series: name, pattern, example };
}

/** The series each tier sells. E20ads_v5 (20 vCores) is an Eadsv5 size like any other. */
export const SKU_SERIES_BY_TIER: Readonly<Record<ComputeTierName, readonly SkuSeries[]>> = {
  Burstable: [
    series('B', /^Standard_B[0-9]+m?s$/, 'Standard_B1ms'),
  ],
  GeneralPurpose: [
    series('Dsv3', /^Standard_D[0-9]+s_v3$/, 'Standard_D2s_v3'),
    series('Ddsv4', /^Standard_D[0-9]+ds_v4$/, 'Standard_D2ds_v4'),
    series('Ddsv5', /^Standard_D[0-9]+ds_v5$/, 'Standard_D2ds_v5'),
    series('Dadsv5', /^Standard_D[0-9]+ads_v5$/, 'Standard_D2ads_v5'),
    series('Ddsv6', /^Standard_D[0-9]+ds_v6$/, 'Standard_D2ds_v6'),
    series('Dadsv6', /^Standard_D[0-9]+ads_v6$/, 'Standard_D2ads_v6'),
  ],
  MemoryOptimized: [
    series('Esv3', /^Standard_E[0-9]+s_v3$/, 'Standard_E2s_v3'),
    series('Edsv4', /^Standard_E[0-9]+ds_v4$/, 'Standard_E2ds_v4'),
    series('Edsv5', /^Standard_E[0-9]+ds_v5$/, 'Standard_E2ds_v5'),
    series('Eadsv5', /^Standard_E[0-9]+ads_v5$/, 'Standard_E20ads_v5'),
    series('Edsv6', /^Standard_E[0-9]+ds_v6$/, 'Standard_E2ds_v6'),
    series('Eadsv6', /^Standard_E[0-9]+ads_v6$/, 'Standard_E2ads_v6'),
  ],
};

/** The SKU name prefix of each tier: what the CRD's CEL rules can check. */
export const SKU_PREFIX_BY_TIER: Readonly<Record<ComputeTierName, string>> = {
  Burstable: 'Standard_B',
  GeneralPurpose: 'Standard_D',
  MemoryOptimized: 'Standard_E',
};

/** The tier whose series `name` belongs to, or undefined when no tier sells it. */
export function skuTier(name: string): ComputeTierName | undefined {
  return COMPUTE_TIERS.find(tier => SKU_SERIES_BY_TIER[tier].some(s => s.pattern.test(name)));
}

/** High availability needs a standby, which the Burstable tier does not offer. */
export function tierSupportsHighAvailability(tier: string): boolean {
  return tier !== 'Burstable';
}

/** Problems with a tier and SKU name: a known tier, a well-formed name, of a series that tier sells. */
export function checkSku(tier: unknown, name: unknown): Problem[] {
  const tierProblem = checkOneOf('sku.tier', tier, COMPUTE_TIERS);
  const nameProblem = checkStringRule('sku.name', name, SKU_NAME);
  if (tierProblem || nameProblem) {
    return [tierProblem, nameProblem].filter((p): p is Problem => p !== undefined);
  }
  const skuName = name as string;
  const wanted = tier as ComputeTierName;
  const actual = skuTier(skuName);
  if (actual === wanted) {
    return [];
  }
  const offered = SKU_SERIES_BY_TIER[wanted].map(s => `${s.series} (${s.example})`).join(', ');
  const expected = actual !== undefined
    ? `is a ${actual} SKU, not ${wanted}: set sku.tier to ${actual}, or choose a ${wanted} SKU: ${offered}`
    : `is not a SKU of a series Azure sells for ${wanted}: ${offered}`;
  return [{ field: 'sku.name', value: name, expected }];
}
