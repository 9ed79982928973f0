/**
 * Prometheus metrics, named as controller-runtime names them so that existing dashboards and alerts (e.g. on
 * controller_runtime_reconcile_errors_total or workqueue_depth) work unchanged. One registry per Metrics instance, so
 * tests can run several runtimes in one process.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { QueueMetricsSink, WorkQueue } from './runtime/queue';

// controller-runtime's reconcile_time buckets (pkg/internal/controller/metrics).
const RECONCILE_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25, 1.5, 1.75, 2.0,
  2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];
// client-go workqueue: ExponentialBuckets(10e-9, 10, 12), 10 ns .. 1000 s.
const WORKQUEUE_BUCKETS = Array.from({ length: 12 }, (_, i) => 1e-8 * Math.pow(10, i));

export interface MetricsOptions {
  /** process_* and nodejs_* metrics (memory, CPU, event loop lag). Default true. */
  readonly defaultMetrics?: boolean;
}

export class Metrics {
  readonly registry = new Registry();

  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileErrors: Counter<'controller'>;
  readonly reconcileTime: Histogram<'controller'>;
  readonly activeWorkers: Gauge<'controller'>;
  readonly maxConcurrentReconciles: Gauge<'controller'>;

  readonly workqueueDepth: Gauge<'name'>;
  readonly workqueueAdds: Counter<'name'>;
  readonly workqueueQueueDuration: Histogram<'name'>;
  readonly workqueueWorkDuration: Histogram<'name'>;
  readonly workqueueRetries: Counter<'name'>;

  readonly armRequests: Counter<'method' | 'resource_type' | 'code'>;
  readonly leaderStatus: Gauge<'name'>;
  readonly kubeRequests: Counter<'method' | 'code'>;
  readonly informerLists: Counter<'resource' | 'reason'>;
  readonly informerWatches: Counter<'resource' | 'outcome'>;
  readonly informerObjects: Gauge<'resource'>;

  private readonly queues = new Set<WorkQueue>();

  constructor(opts: MetricsOptions = {}) {
    const registers = [this.registry];
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });

    this.reconcileTotal = new Counter({
      name: 'controller_runtime_reconcile_total',
      help: 'Total number of reconciliations per controller',
      labelNames: ['controller', 'result'],
      registers,
    });
    this.reconcileErrors = new Counter({
      name: 'controller_runtime_reconcile_errors_total',
      help: 'Total number of reconciliation errors per controller',
      labelNames: ['controller'],
      registers,
    });
    this.reconcileTime = new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller',
      labelNames: ['controller'],
      buckets: RECONCILE_BUCKETS,
      registers,
    });
    this.activeWorkers = new Gauge({
      name: 'controller_runtime_active_workers',
      help: 'Number of currently used workers per controller',
      labelNames: ['controller'],
      registers,
    });
    this.maxConcurrentReconciles = new Gauge({
      name: 'controller_runtime_max_concurrent_reconciles',
      help: 'Maximum number of concurrent reconciles per controller',
      labelNames: ['controller'],
      registers,
    });

    this.workqueueDepth = new Gauge({
      name: 'workqueue_depth',
      help: 'Current depth of workqueue',
      labelNames: ['name'],
      registers,
    });
    this.workqueueAdds = new Counter({
      name: 'workqueue_adds_total',
      help: 'Total number of adds handled by workqueue',
      labelNames: ['name'],
      registers,
    });
    this.workqueueQueueDuration = new Histogram({
      name: 'workqueue_queue_duration_seconds',
      help: 'How long in seconds an item stays in workqueue before being requested',
      labelNames: ['name'],
      buckets: WORKQUEUE_BUCKETS,
      registers,
    });
    this.workqueueWorkDuration = new Histogram({
      name: 'workqueue_work_duration_seconds',
      help: 'How long in seconds processing an item from workqueue takes',
      labelNames: ['name'],
      buckets: WORKQUEUE_BUCKETS,
      registers,
    });
    this.workqueueRetries = new Counter({
      name: 'workqueue_retries_total',
      help: 'Total number of retries handled by workqueue',
      labelNames: ['name'],
      registers,
    });
    const queues = this.queues;
    new Gauge({
      name: 'workqueue_unfinished_work_seconds',
      help:
        'How many seconds of work has been done that is in progress and hasn\'t been observed by work_duration. ' +
        'Large values indicate stuck threads. One can deduce the number of stuck threads by observing the rate at which this increases.',
      labelNames: ['name'],
      registers,
      collect() {
        for (const q of queues) this.set({ name: q.name }, q.unfinishedWorkSeconds());
      },
    });
    new Gauge({
      name: 'workqueue_longest_running_processor_seconds',
      help: 'How many seconds has the longest running processor for workqueue been running.',
      labelNames: ['name'],
      registers,
      collect() {
        for (const q of queues) this.set({ name: q.name }, q.longestRunningProcessorSeconds());
      },
    });

    this.armRequests = new Counter({
      name: 'cdk8s_azure_arm_requests_total',
      help: 'Azure Resource Manager responses by HTTP method, resource type and status code',
      labelNames: ['method', 'resource_type', 'code'],
      registers,
    });
    this.leaderStatus = new Gauge({
      name: 'leader_election_master_status',
      help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. \'name\' is the string used to identify the lease.',
      labelNames: ['name'],
      registers,
    });
    this.kubeRequests = new Counter({
      name: 'rest_client_requests_total',
      help: 'Number of Kubernetes API requests, partitioned by method and status code (code="<error>" for transport errors)',
      labelNames: ['method', 'code'],
      registers,
    });
    this.informerLists = new Counter({
      name: 'cdk8s_azure_informer_lists_total',
      help: 'Full LISTs per watched resource, by reason (initial, gone: the watch resourceVersion expired, error: after a failed list)',
      labelNames: ['resource', 'reason'],
      registers,
    });
    this.informerWatches = new Counter({
      name: 'cdk8s_azure_informer_watches_total',
      help: 'Ended WATCH requests per watched resource, by outcome (timeout: normal server-side end, gone, error)',
      labelNames: ['resource', 'outcome'],
      registers,
    });
    this.informerObjects = new Gauge({
      name: 'cdk8s_azure_informer_cached_objects',
      help: 'Objects in each informer\'s cache (Secrets: only those labelled as ours)',
      labelNames: ['resource'],
      registers,
    });
  }

  /** Wires a work queue into the workqueue_* metrics. */
  queueSink(name: string): QueueMetricsSink {
    const l = { name };
    // Materialize the series at 0 so dashboards see the queue before its first add.
    this.workqueueDepth.set(l, 0);
    this.workqueueAdds.inc(l, 0);
    this.workqueueRetries.inc(l, 0);
    return {
      depth: (n) => this.workqueueDepth.set(l, n),
      added: () => this.workqueueAdds.inc(l),
      retried: () => this.workqueueRetries.inc(l),
      queued: (s) => this.workqueueQueueDuration.observe(l, s),
      worked: (s) => this.workqueueWorkDuration.observe(l, s),
    };
  }

  registerQueue(queue: WorkQueue): void {
    this.queues.add(queue);
  }

  /** ControllerEnvironment.onArmResponse. */
  readonly onArmResponse = (method: string, resourceType: string, status: number): void => {
    this.armRequests.inc({ method: method.toUpperCase(), resource_type: resourceType, code: String(status) });
  };

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
