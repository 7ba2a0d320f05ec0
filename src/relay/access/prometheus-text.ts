// Counters, a gauge and histograms that render Prometheus text exposition format 0.0.4, and no
// more. Recording sits on the relay's hot path (several calls per request), so it is a Map lookup
// and an add: a series' label text is rendered once, when the series is first seen.

/** The same value prom-client's Registry sends: metrics.ts appends that registry's text to ours. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * Label names, fixed at creation. At most three: the relay needs no more, and fixed parameters keep
 * every record call free of a rest-parameter array.
 */
type LabelNames = readonly [] | readonly [string] | readonly [string, string] | readonly [string, string, string];
/** One value per label name, in the same order. */
type LabelValues<Names extends LabelNames> = { [K in keyof Names]: string };

interface MetricOptions<Names extends LabelNames> {
  name: string;
  help: string;
  labelNames?: Names;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A sample value as the format spells it: NaN, +Inf and -Inf are words. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function checkNames(name: string, labelNames: readonly string[], reserved: readonly string[] = []): void {
  if (!METRIC_NAME.test(name)) throw new Error(`Invalid metric name: ${JSON.stringify(name)}`);
  if (labelNames.length > 3) throw new Error(`${name}: at most three labels`);
  for (const label of labelNames) {
    if (!LABEL_NAME.test(label) || label.startsWith('__') || reserved.includes(label)) throw new Error(`${name}: invalid label name ${JSON.stringify(label)}`);
  }
  if (new Set(labelNames).size !== labelNames.length) throw new Error(`${name}: duplicate label names`);
}

/** `token="alice",model="gpt-a"`: the inside of a series' braces. */
function labelPairs(labelNames: readonly string[], values: readonly (string | undefined)[]): string {
  return labelNames.map((label, i) => `${label}="${escapeLabelValue(values[i] ?? '')}"`).join(',');
}

/** `{token="alice"}` after a sample's name; nothing at all for a series without labels. */
function braced(pairs: string): string {
  return pairs === '' ? '' : `{${pairs}}`;
}

type Values = readonly [string | undefined, string | undefined, string | undefined];

interface SeriesTable<S> {
  /** The series of these label values, created on first sight. */
  find(a: string | undefined, b: string | undefined, c: string | undefined): S;
  /** Every series, in the order first seen. */
  readonly all: readonly S[];
}

/**
 * Series by label values, one Map level per label: a lookup builds no key string (joining the
 * values was an allocation per record). Without labels the one series exists from the start, so
 * it reads 0 before anything happens.
 */
function seriesTable<S>(labelCount: number, create: (values: Values) => S): SeriesTable<S> {
  const all: S[] = [];
  const made = (values: Values) => {
    const series = create(values);
    all.push(series);
    return series;
  };
  const only = labelCount === 0 ? made([undefined, undefined, undefined]) : undefined;
  const root = new Map<string, unknown>();
  const level = (map: Map<string, unknown>, value: string | undefined): Map<string, unknown> => {
    let next = map.get(value ?? '') as Map<string, unknown> | undefined;
    if (next === undefined) map.set(value ?? '', (next = new Map()));
    return next;
  };
  return {
    all,
    find(a, b, c) {
      if (only !== undefined) return only;
      const map = labelCount === 1 ? root : labelCount === 2 ? level(root, a) : level(level(root, a), b);
      const last = labelCount === 1 ? a : labelCount === 2 ? b : c;
      let series = map.get(last ?? '') as S | undefined;
      if (series === undefined) map.set(last ?? '', (series = made([a, b, c])));
      return series;
    },
  };
}

function header(name: string, help: string, type: string): string {
  return `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}`;
}

interface CounterSeries {
  /** `{token="alice"}`, or '' without labels. */
  readonly labelText: string;
  value: number;
}

export interface Counter<Names extends LabelNames> {
  /** Adds `amount` (>= 0) to the series of these label values, creating it at 0 first. */
  inc(amount: number, ...labelValues: LabelValues<Names>): void;
  render(): string;
}

export function createCounter<const Names extends LabelNames = readonly []>(options: MetricOptions<Names>): Counter<Names> {
  const { name, help } = options;
  const labelNames: readonly string[] = options.labelNames ?? [];
  checkNames(name, labelNames);
  const series = seriesTable<CounterSeries>(labelNames.length, (values) => ({ labelText: braced(labelPairs(labelNames, values)), value: 0 }));

  function inc(amount: number, a?: string, b?: string, c?: string): void {
    // A counter only goes up; a negative or NaN amount would break every rate() over it.
    if (!(amount >= 0)) return;
    series.find(a, b, c).value += amount;
  }

  return {
    inc: inc as Counter<Names>['inc'],
    render() {
      let text = header(name, help, 'counter');
      for (const { labelText, value } of series.all) text += `\n${name}${labelText} ${formatValue(value)}`;
      return text;
    },
  };
}

export interface Gauge {
  inc(amount?: number): void;
  dec(amount?: number): void;
  render(): string;
}

/** Without labels: the relay has one gauge, streams in flight. */
export function createGauge(options: { name: string; help: string }): Gauge {
  const { name, help } = options;
  checkNames(name, []);
  let value = 0;
  return {
    inc: (amount = 1) => void (value += amount),
    dec: (amount = 1) => void (value -= amount),
    render: () => `${header(name, help, 'gauge')}\n${name} ${formatValue(value)}`,
  };
}

interface HistogramSeries {
  /** `{status_class="2xx"}`, or '' without labels: for `_sum` and `_count`. */
  readonly labelText: string;
  /** `status_class="2xx",`, or '' without labels: `le` follows it in `_bucket` lines. */
  readonly bucketLabelPrefix: string;
  /** Observations per bucket, not cumulative; the last slot counts those above every bound. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

export interface Histogram<Names extends LabelNames> {
  observe(value: number, ...labelValues: LabelValues<Names>): void;
  render(): string;
}

export function createHistogram<const Names extends LabelNames = readonly []>(options: MetricOptions<Names> & { buckets: readonly number[] }): Histogram<Names> {
  const { name, help } = options;
  const labelNames: readonly string[] = options.labelNames ?? [];
  checkNames(name, labelNames, ['le']);
  const bounds = [...options.buckets].sort((x, y) => x - y);
  if (bounds.some((bound, i) => !Number.isFinite(bound) || bound === bounds[i - 1])) throw new Error(`${name}: buckets must be finite and distinct`);
  const boundCount = bounds.length;
  const leLabels = bounds.map((bound) => `le="${formatValue(bound)}"}`);
  const series = seriesTable<HistogramSeries>(labelNames.length, (values) => {
    const pairs = labelPairs(labelNames, values);
    return {
      labelText: braced(pairs),
      bucketLabelPrefix: pairs === '' ? '' : `${pairs},`,
      counts: new Float64Array(boundCount + 1),
      sum: 0,
      count: 0,
    };
  });

  function observe(value: number, a?: string, b?: string, c?: string): void {
    // NaN would turn _sum into NaN for good.
    if (Number.isNaN(value)) return;
    const found = series.find(a, b, c);
    // A bucket counts values up to and including its bound.
    let bucket = 0;
    while (bucket < boundCount && value > bounds[bucket]!) bucket++;
    found.counts[bucket]!++;
    found.sum += value;
    found.count++;
  }

  return {
    observe: observe as Histogram<Names>['observe'],
    render() {
      let text = header(name, help, 'histogram');
      for (const { labelText, bucketLabelPrefix, counts, sum, count } of series.all) {
        let cumulative = 0;
        for (let i = 0; i < boundCount; i++) {
          cumulative += counts[i]!;
          text += `\n${name}_bucket{${bucketLabelPrefix}${leLabels[i]} ${formatValue(cumulative)}`;
        }
        text += `\n${name}_bucket{${bucketLabelPrefix}le="+Inf"} ${formatValue(count)}`;
        text += `\n${name}_sum${labelText} ${formatValue(sum)}`;
        text += `\n${name}_count${labelText} ${formatValue(count)}`;
      }
      return text;
    },
  };
}

/** Metric families in the order given, separated by a blank line like prom-client's, ending in a newline. */
export function renderFamilies(families: readonly { render(): string }[]): string {
  return `${families.map((family) => family.render()).join('\n\n')}\n`;
}
