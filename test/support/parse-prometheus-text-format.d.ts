/** The package ships no types; this is the output its README documents (prom2json's shape). */
declare module 'parse-prometheus-text-format' {
  export type PrometheusSample = {
    labels?: Record<string, string>;
    value?: string;
    buckets?: Record<string, string>;
    quantiles?: Record<string, string>;
    count?: string;
    sum?: string;
  };
  export type PrometheusFamily = {
    name: string;
    help: string;
    type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
    metrics: PrometheusSample[];
  };
  /** Throws on any line that is not valid in the Prometheus text format. */
  export default function parsePrometheusTextFormat(text: string): PrometheusFamily[];
}
