// Percentiles over recorded samples. Samples are kept whole (at most a few hundred thousand
// numbers per run), so the percentiles are exact, not bucketed.

/**
 * @param {ArrayLike<number>} samples
 * @returns {{count: number, p50: number, p90: number, p99: number, p999: number, max: number, mean: number} | undefined}
 */
export function summarize(samples) {
  const count = samples.length;
  if (count === 0) return undefined;
  const sorted = Float64Array.from(samples).sort();
  const at = (p) => sorted[Math.min(count - 1, Math.max(0, Math.ceil((p / 100) * count) - 1))];
  let sum = 0;
  for (let i = 0; i < count; i++) sum += sorted[i];
  return { count, p50: at(50), p90: at(90), p99: at(99), p999: at(99.9), max: sorted[count - 1], mean: sum / count };
}

/** Wall-clock ms with sub-ms precision, comparable across processes on one machine. */
export const wallNow = () => performance.timeOrigin + performance.now();

/** @param {number[]} values */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
