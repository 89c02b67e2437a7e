import parsePrometheusTextFormat, { type PrometheusFamily } from 'parse-prometheus-text-format';
import { expect } from 'vitest';

/**
 * One scrape of GET /metrics, read by a Prometheus text-format parser (parse-prometheus-text-format,
 * a port of the official Python client's parser: it throws on any malformed line).
 */
export type Scrape = {
  families: Map<string, PrometheusFamily>;
  /** Sum of the values of the family's series whose labels include `labels`: 0 when none does, as for a series not yet written. */
  value(name: string, labels?: Record<string, string>): number;
  /** The label sets of a histogram's series. */
  histogramSeries(name: string): Record<string, string>[];
  /** Observations in the histogram's series whose labels include `labels`. */
  observations(name: string, labels?: Record<string, string>): number;
  /** The `le` bounds of the histogram's first series matching `labels`, with their cumulative counts. */
  buckets(name: string, labels?: Record<string, string>): Record<string, number>;
};

export async function scrape(baseUrl: string, token?: string): Promise<Scrape> {
  const response = await fetch(`${baseUrl}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseScrape(await response.text());
}

type Sample = { labels: Record<string, string>; value: number };

export function parseScrape(text: string): Scrape {
  const families = new Map(parsePrometheusTextFormat(text).map((family) => [family.name, family]));
  for (const family of families.values()) {
    // A sample with no `# TYPE` line for its family is parsed as UNTYPED: prom-client always writes one.
    expect(family.type, `# TYPE of ${family.name}`).not.toBe('UNTYPED');
  }
  const matching = (samples: Sample[], labels: Record<string, string>) =>
    samples.filter((sample) => Object.entries(labels).every(([key, value]) => sample.labels[key] === value));
  const plain = (name: string): Sample[] =>
    (families.get(name)?.metrics ?? []).map((sample) => ({ labels: sample.labels ?? {}, value: Number(sample.value) }));

  // This parser folds a histogram's series into one when they carry labels, so a histogram's
  // `_bucket` and `_count` lines are also read on their own, each kind as a plain family.
  const histogramLines = (name: string, suffix: '_bucket' | '_count'): Sample[] => {
    const prefix = `${name}${suffix}`;
    const lines = text.split('\n').filter((line) => line.startsWith(`${prefix}{`) || line.startsWith(`${prefix} `));
    if (lines.length === 0) return [];
    const [family] = parsePrometheusTextFormat(`# TYPE ${prefix} untyped\n${lines.join('\n')}\n`);
    return family!.metrics.map((sample) => ({ labels: sample.labels ?? {}, value: Number(sample.value) }));
  };

  return {
    families,
    value: (name, labels = {}) => matching(plain(name), labels).reduce((sum, sample) => sum + sample.value, 0),
    histogramSeries: (name) => histogramLines(name, '_count').map((sample) => sample.labels),
    observations: (name, labels = {}) => matching(histogramLines(name, '_count'), labels).reduce((sum, sample) => sum + sample.value, 0),
    buckets: (name, labels = {}) => {
      const [first] = matching(histogramLines(name, '_count'), labels);
      if (!first) return {};
      const series = matching(histogramLines(name, '_bucket'), first.labels);
      return Object.fromEntries(series.map((sample) => [sample.labels.le!, sample.value]));
    },
  };
}
