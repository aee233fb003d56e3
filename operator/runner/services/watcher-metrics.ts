// The watcher's Prometheus metrics, served at /metrics beside its probes. Written as the text exposition format
// (prometheus.io/docs/instrumenting/exposition_formats) by hand: prom-client adds about 8 MiB RSS to a watcher pod,
// paid once per Merchant, for a dozen series. Names follow the operator's: `switchyard_watcher_*` for ours,
// Node.js's standard `process_*` and `nodejs_*` for the process, so that stock Node.js dashboards work.
import { readdirSync } from 'node:fs';

/** One delivery service of the watcher: the Merchant or Cart it serves, and the service. */
export interface ServiceLabels {
  readonly kind: string;
  readonly name: string;
  readonly service: string;
}

export const deliveryOutcomes = ['delivered', 'failed_transient', 'failed_permanent'] as const;
export type DeliveryOutcomeLabel = (typeof deliveryOutcomes)[number];

/** From a write's one request (a local call or a fast destination) to a slow destination near its timeout. */
export const writeDurationBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const;

type Labels = Readonly<Record<string, string>>;

const escapeLabelValue = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

function labelText(labels: Labels): string {
  const pairs = Object.entries(labels).map(([name, value]) => `${name}="${escapeLabelValue(value)}"`);
  return pairs.length === 0 ? '' : `{${pairs.join(',')}}`;
}

/** Samples of one metric, by their label text; insertion order is exposition order. */
class Family {
  readonly samples = new Map<string, number>();
  readonly name: string;
  readonly type: 'counter' | 'gauge';
  readonly help: string;
  constructor(name: string, type: 'counter' | 'gauge', help: string) {
    this.name = name;
    this.type = type;
    this.help = help;
  }
  add(labels: Labels, by: number): void {
    const key = labelText(labels);
    this.samples.set(key, (this.samples.get(key) ?? 0) + by);
  }
  set(labels: Labels, value: number): void {
    this.samples.set(labelText(labels), value);
  }
  render(): string {
    const lines = [...this.samples].map(([labels, value]) => `${this.name}${labels} ${value}`);
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`, ...lines].join('\n');
  }
}

class HistogramFamily {
  readonly #series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  readonly name: string;
  readonly help: string;
  readonly buckets: readonly number[];
  constructor(name: string, help: string, buckets: readonly number[]) {
    this.name = name;
    this.help = help;
    this.buckets = buckets;
  }
  #seriesOf(labels: Labels) {
    const key = labelText(labels);
    let series = this.#series.get(key);
    if (!series) {
      series = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.#series.set(key, series);
    }
    return series;
  }
  start(labels: Labels): void {
    this.#seriesOf(labels);
  }
  observe(labels: Labels, value: number): void {
    const series = this.#seriesOf(labels);
    this.buckets.forEach((bound, index) => {
      if (value <= bound) series.counts[index]! += 1;
    });
    series.sum += value;
    series.count += 1;
  }
  render(): string {
    const lines = [...this.#series.values()].flatMap(({ labels, counts, sum, count }) => [
      ...this.buckets.map(
        (bound, index) => `${this.name}_bucket${labelText({ ...labels, le: String(bound) })} ${counts[index]}`,
      ),
      `${this.name}_bucket${labelText({ ...labels, le: '+Inf' })} ${count}`,
      `${this.name}_sum${labelText(labels)} ${sum}`,
      `${this.name}_count${labelText(labels)} ${count}`,
    ]);
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`, ...lines].join('\n');
  }
}

/** Open file descriptors, where /proc says (Linux); undefined elsewhere. */
function openFileDescriptors(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return undefined;
  }
}

/** The process metrics of prom-client's defaults that a Node.js dashboard reads first, under the same names. */
function processFamilies(startTimeSeconds: number): Family[] {
  const cpu = process.cpuUsage();
  const memory = process.memoryUsage();
  const family = (name: string, type: 'counter' | 'gauge', help: string, value: number) => {
    const metric = new Family(name, type, help);
    metric.set({}, value);
    return metric;
  };
  const fds = openFileDescriptors();
  return [
    family('process_cpu_user_seconds_total', 'counter', 'User CPU time spent in seconds.', cpu.user / 1e6),
    family('process_cpu_system_seconds_total', 'counter', 'System CPU time spent in seconds.', cpu.system / 1e6),
    family(
      'process_cpu_seconds_total',
      'counter',
      'Total user and system CPU time spent in seconds.',
      (cpu.user + cpu.system) / 1e6,
    ),
    family(
      'process_start_time_seconds',
      'gauge',
      'Start time of the process since unix epoch in seconds.',
      startTimeSeconds,
    ),
    family('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.', memory.rss),
    ...(fds === undefined ? [] : [family('process_open_fds', 'gauge', 'Number of open file descriptors.', fds)]),
    family('nodejs_heap_size_total_bytes', 'gauge', 'Process heap size from Node.js in bytes.', memory.heapTotal),
    family('nodejs_heap_size_used_bytes', 'gauge', 'Process heap size used from Node.js in bytes.', memory.heapUsed),
    family('nodejs_external_memory_bytes', 'gauge', 'Node.js external memory size in bytes.', memory.external),
  ];
}

export class WatcherMetrics {
  readonly #startTimeSeconds = Math.round(Date.now() / 1000 - process.uptime());
  readonly #deliveries = new Family(
    'switchyard_watcher_deliveries_total',
    'counter',
    'Records the watcher sent to a destination, by outcome: delivered, failed_transient (retried later) or failed_permanent (refused as it is).',
  );
  readonly #passes = new Family(
    'switchyard_watcher_passes_total',
    'counter',
    'Passes over the records waiting for a delivery service, by result: completed, or failed (the hub store or the destination could not be worked with; retried).',
  );
  readonly #writeDuration = new HistogramFamily(
    'switchyard_watcher_write_duration_seconds',
    'Time of one write of a record to its destination: one request, up to the request timeout.',
    writeDurationBuckets,
  );
  readonly #pending = new Family(
    'switchyard_watcher_pending_records',
    'gauge',
    'Records waiting for a delivery service after its last pass.',
  );

  /** Starts a sending service's series at 0, so that `rate()` and `increase()` see its first delivery. */
  track(labels: ServiceLabels): void {
    for (const outcome of deliveryOutcomes) this.#deliveries.add({ ...labels, outcome }, 0);
    for (const result of ['completed', 'failed']) this.#passes.add({ ...labels, result }, 0);
    this.#writeDuration.start({ ...labels });
  }

  recordDelivery(labels: ServiceLabels, outcome: DeliveryOutcomeLabel, seconds: number): void {
    this.#deliveries.add({ ...labels, outcome }, 1);
    this.#writeDuration.observe({ ...labels }, seconds);
  }

  recordPass(labels: ServiceLabels, completed: boolean): void {
    this.#passes.add({ ...labels, result: completed ? 'completed' : 'failed' }, 1);
  }

  setPending(labels: ServiceLabels, pending: number): void {
    this.#pending.set({ ...labels }, pending);
  }

  /** The exposition of every metric, as of now. */
  render(): string {
    const families = [this.#deliveries, this.#passes, this.#writeDuration, this.#pending];
    return `${[...families, ...processFamilies(this.#startTimeSeconds)].map((family) => family.render()).join('\n')}\n`;
  }
}

export const expositionContentType = 'text/plain; version=0.0.4; charset=utf-8';
