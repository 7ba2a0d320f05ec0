// The relay's own metric holders: exact Prometheus text 0.0.4 that a real parser reads back.
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createCounter, createGauge, createHistogram, PROMETHEUS_CONTENT_TYPE, renderFamilies } from '../../src/relay/access/prometheus-text.js';

type Family = { name: string; help: string; type: string; metrics: Array<{ labels?: Record<string, string>; value?: string; buckets?: Record<string, string>; count?: string; sum?: string }> };
const parse = (text: string) => parsePrometheusTextFormat(text) as Family[];

describe('escaping', () => {
  it('escapes backslash, double quote and newline in label values, and backslash and newline in HELP', () => {
    const counter = createCounter({ name: 'odd_total', help: 'Path C:\\relay\nsecond line "quoted"', labelNames: ['token'] });
    counter.inc(1, 'a"b\\c\nd');
    expect(counter.render()).toBe(['# HELP odd_total Path C:\\\\relay\\nsecond line "quoted"', '# TYPE odd_total counter', 'odd_total{token="a\\"b\\\\c\\nd"} 1'].join('\n'));
    const [family] = parse(renderFamilies([counter]));
    expect(family!.metrics).toEqual([{ labels: { token: 'a"b\\c\nd' }, value: '1' }]);
  });
});

describe('counters', () => {
  it('renders every label set it has seen, each with its own total', () => {
    const counter = createCounter({ name: 'relay_requests_total', help: 'Requests.', labelNames: ['token', 'status_class'] });
    counter.inc(1, 'alice', '2xx');
    counter.inc(1, 'bob', '4xx');
    counter.inc(1, 'alice', '5xx');
    counter.inc(2, 'alice', '2xx');
    expect(counter.render()).toBe(
      [
        '# HELP relay_requests_total Requests.',
        '# TYPE relay_requests_total counter',
        'relay_requests_total{token="alice",status_class="2xx"} 3',
        'relay_requests_total{token="bob",status_class="4xx"} 1',
        'relay_requests_total{token="alice",status_class="5xx"} 1',
      ].join('\n'),
    );
  });

  it('keeps label sets apart even when their values join to the same text', () => {
    const counter = createCounter({ name: 'pairs_total', help: 'Pairs.', labelNames: ['a', 'b'] });
    counter.inc(1, 'ab', 'c');
    counter.inc(1, 'a', 'bc');
    expect(parse(renderFamilies([counter]))[0]!.metrics).toEqual([
      { labels: { a: 'ab', b: 'c' }, value: '1' },
      { labels: { a: 'a', b: 'bc' }, value: '1' },
    ]);
  });

  it('keeps three-label sets apart that share their first values, in the order first seen', () => {
    const counter = createCounter({ name: 'tokens_total', help: 'Tokens.', labelNames: ['token', 'model', 'kind'] });
    counter.inc(3, 'alice', 'gpt-a', 'prompt');
    counter.inc(5, 'alice', 'gpt-a', 'completion');
    counter.inc(7, 'alice', 'gpt-b', 'prompt');
    counter.inc(11, 'bob', 'gpt-a', 'prompt');
    counter.inc(1, 'alice', 'gpt-a', 'prompt');
    expect(parse(renderFamilies([counter]))[0]!.metrics).toEqual([
      { labels: { token: 'alice', model: 'gpt-a', kind: 'prompt' }, value: '4' },
      { labels: { token: 'alice', model: 'gpt-a', kind: 'completion' }, value: '5' },
      { labels: { token: 'alice', model: 'gpt-b', kind: 'prompt' }, value: '7' },
      { labels: { token: 'bob', model: 'gpt-a', kind: 'prompt' }, value: '11' },
    ]);
  });

  it('reads 0 without labels before anything happens, and never goes down', () => {
    const counter = createCounter({ name: 'errors_total', help: 'Errors.' });
    expect(counter.render()).toBe('# HELP errors_total Errors.\n# TYPE errors_total counter\nerrors_total 0');
    counter.inc(2);
    counter.inc(-1);
    counter.inc(Number.NaN);
    expect(counter.render().split('\n').at(-1)).toBe('errors_total 2');
  });

  it('shows a labelled counter with no label set yet as HELP and TYPE only', () => {
    expect(createCounter({ name: 'none_total', help: 'None.', labelNames: ['kind'] }).render()).toBe('# HELP none_total None.\n# TYPE none_total counter');
  });
});

describe('gauges', () => {
  it('goes up and down', () => {
    const gauge = createGauge({ name: 'streams_in_flight', help: 'Streams.' });
    gauge.inc();
    gauge.inc();
    gauge.dec();
    expect(gauge.render()).toBe('# HELP streams_in_flight Streams.\n# TYPE streams_in_flight gauge\nstreams_in_flight 1');
  });
});

describe('histograms', () => {
  it('renders cumulative buckets (a bound counts values equal to it), +Inf, _sum and _count', () => {
    const histogram = createHistogram({ name: 'latency_seconds', help: 'Latency.', buckets: [1, 10, 100] });
    for (const value of [0.5, 1, 2, 20, 200]) histogram.observe(value);
    expect(histogram.render()).toBe(
      [
        '# HELP latency_seconds Latency.',
        '# TYPE latency_seconds histogram',
        'latency_seconds_bucket{le="1"} 2',
        'latency_seconds_bucket{le="10"} 3',
        'latency_seconds_bucket{le="100"} 4',
        'latency_seconds_bucket{le="+Inf"} 5',
        'latency_seconds_sum 223.5',
        'latency_seconds_count 5',
      ].join('\n'),
    );
    expect(parse(renderFamilies([histogram]))[0]!.metrics).toEqual([{ buckets: { '1': '2', '10': '3', '100': '4', '+Inf': '5' }, sum: '223.5', count: '5' }]);
  });

  it('keeps one set of buckets per label set, with le after the labels', () => {
    const histogram = createHistogram({ name: 'duration_seconds', help: 'Duration.', labelNames: ['status_class'], buckets: [0.5, 0.05] });
    histogram.observe(0.03125, '2xx');
    histogram.observe(3, '5xx');
    histogram.observe(0.25, '2xx');
    const text = histogram.render();
    expect(text).toContain('duration_seconds_bucket{status_class="2xx",le="0.05"} 1\nduration_seconds_bucket{status_class="2xx",le="0.5"} 2\nduration_seconds_bucket{status_class="2xx",le="+Inf"} 2');
    expect(text).toContain('duration_seconds_bucket{status_class="5xx",le="0.5"} 0\nduration_seconds_bucket{status_class="5xx",le="+Inf"} 1\nduration_seconds_sum{status_class="5xx"} 3\nduration_seconds_count{status_class="5xx"} 1');
    expect(text).toContain('duration_seconds_sum{status_class="2xx"} 0.28125\nduration_seconds_count{status_class="2xx"} 2');
  });

  it('reads 0 in every bucket without labels before any observation, and ignores NaN', () => {
    const histogram = createHistogram({ name: 'ttfb_seconds', help: 'TTFB.', buckets: [1] });
    histogram.observe(Number.NaN);
    expect(histogram.render()).toBe('# HELP ttfb_seconds TTFB.\n# TYPE ttfb_seconds histogram\nttfb_seconds_bucket{le="1"} 0\nttfb_seconds_bucket{le="+Inf"} 0\nttfb_seconds_sum 0\nttfb_seconds_count 0');
  });

  it('refuses le as a label name', () => {
    expect(() => createHistogram({ name: 'h', help: 'H.', labelNames: ['le'], buckets: [1] })).toThrow(/invalid label name "le"/);
  });
});

describe('a scrape', () => {
  it('is families separated by a blank line, ending in a newline, with the content type prom-client sends', () => {
    const gauge = createGauge({ name: 'g', help: 'G.' });
    const counter = createCounter({ name: 'c_total', help: 'C.' });
    expect(renderFamilies([gauge, counter])).toBe('# HELP g G.\n# TYPE g gauge\ng 0\n\n# HELP c_total C.\n# TYPE c_total counter\nc_total 0\n');
    expect(PROMETHEUS_CONTENT_TYPE).toBe(new Registry().contentType);
  });
});
