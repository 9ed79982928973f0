/**
 * Imported first by the cluster benchmarks, before anything loads test/cluster/cluster.ts (which reads
 * TESTCLUSTER_DIR once, at load): the benchmarks run on a control plane of their own, because any other reconciler
 * on a shared one (an end-to-end test watching all namespaces) would reconcile the benchmark's resources too, and
 * the numbers would be of two reconcilers. It lives outside the repository's .cluster/ so that
 * `npm run cluster:stop` does not remove it mid-run. `--shared-cluster` uses the default one (.cluster/) instead.
 */
import * as os from 'node:os';
import * as path from 'node:path';

export const SHARED_CLUSTER = process.argv.includes('--shared-cluster');

if (!SHARED_CLUSTER && !process.env.TESTCLUSTER_DIR) {
  process.env.TESTCLUSTER_DIR = path.join(os.tmpdir(), 'cdk8s-azure-bench-cluster');
}
