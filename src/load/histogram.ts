/**
 * A latency histogram with fixed memory: logarithmic buckets 1% wide from 1 microsecond to
 * about 3 hours, so a run of any length keeps the same few kilobytes and percentiles stay
 * within 1% of the true value.
 */
const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);
const BUCKETS = 2400;

export class LatencyHistogram {
  readonly #counts = new Float64Array(BUCKETS);
  #count = 0;
  #max = 0;
  #sum = 0;

  /** Adds one sample, in milliseconds. */
  add(ms: number): void {
    const us = Math.max(1, ms * 1000);
    const i = Math.min(BUCKETS - 1, Math.floor(Math.log(us) / LOG_GROWTH));
    this.#counts[i]! += 1;
    this.#count += 1;
    this.#sum += ms;
    if (ms > this.#max) this.#max = ms;
  }

  get count(): number {
    return this.#count;
  }

  get max(): number {
    return this.#max;
  }

  get mean(): number {
    return this.#count ? this.#sum / this.#count : 0;
  }

  /** The q-quantile (0..1) in milliseconds: the upper edge of the bucket holding it. */
  quantile(q: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) return Math.min(this.#max, GROWTH ** (i + 1) / 1000);
    }
    return this.#max;
  }
}
