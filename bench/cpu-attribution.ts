/**
 * Where a piece of work spends its CPU, by package: V8's sampling profiler (node:inspector, in process) around one
 * call, each sample charged to the innermost frame that belongs to a known package (so YAML's stringify called by
 * cdk8s is YAML's, and a cdk8s-plus `toJson_*` converter is cdk8s-plus's), garbage collection to its own line.
 * A diagnosis beside a bench's figures, never one of them: the profiler slows what it watches.
 */
import { Session } from 'node:inspector/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Milliseconds of sampled CPU time per owner, largest first, and their total. */
export interface Attribution {
  readonly totalMs: number;
  readonly byOwner: Record<string, number>;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/**
 * The owner of a script: a folder of the repository (`src/`, `imports/`) or a package under node_modules (its name).
 * Undefined for Node's own scripts (`node:…`), which are charged to their caller.
 */
function ownerOfScript(url: string, root: string, ownFolders: Record<string, string>): string | undefined {
  if (!url || url.startsWith('node:')) return undefined;
  const file = url.startsWith('file:') ? fileURLToPath(url) : url;
  // The innermost node_modules: cdk8s bundles its own copy of yaml (node_modules/cdk8s/node_modules/yaml).
  const packages = [...file.matchAll(/[/\\]node_modules[/\\]((?:@[^/\\]+[/\\])?[^/\\]+)(?=[/\\])/g)];
  if (packages.length > 0) return packages[packages.length - 1][1].replace(/\\/g, '/');
  const relative = path.relative(root, file);
  if (relative.startsWith('..') || path.isAbsolute(relative)) return undefined;
  const folder = relative.split(path.sep)[0];
  return ownFolders[folder] ?? relative;
}

/** Samples in the inspector session's own calls (stopping the profiler serializes the profile): not the work's. */
const PROFILER = 'the profiler';

/** Charges each sample of `profile` to an owner: the innermost frame with one; V8's pseudo-frames by their name. */
export function attribute(profile: Profile, root: string, ownFolders: Record<string, string>): Attribution {
  const byId = new Map(profile.nodes.map(n => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  const ownerOfNode = new Map<number, string>();
  const ownerOf = (id: number): string => {
    const known = ownerOfNode.get(id);
    if (known !== undefined) return known;
    const node = byId.get(id)!;
    const name = node.callFrame.functionName;
    let owner: string;
    if (name === '(garbage collector)') {owner = 'garbage collector';} else if (name === '(program)' || name === '(idle)' || name === '(root)') {owner = 'V8 and Node';} else {
      const parent = parentOf.get(id);
      owner = ownerOfScript(node.callFrame.url, root, ownFolders) ?? (parent === undefined ? 'V8 and Node' : ownerOf(parent));
    }
    ownerOfNode.set(id, owner);
    return owner;
  };
  const totals = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const owner = ownerOf(id);
    if (owner === PROFILER) return;
    total += ms;
    totals.set(owner, (totals.get(owner) ?? 0) + ms);
  });
  const byOwner = Object.fromEntries([...totals].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, Math.round(v)]));
  return { totalMs: Math.round(total), byOwner };
}

/** Runs `work` under the sampling profiler (100 µs interval) and attributes its samples. */
export async function profileByOwner(work: () => void, root: string, ownFolders: Record<string, string>): Promise<Attribution> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
    work();
    const { profile } = await session.post('Profiler.stop') as unknown as { profile: Profile };
    return attribute(profile, root, ownFolders);
  } finally {
    session.disconnect();
  }
}

/** The mean of several runs' attributions, per owner. */
export function averageAttribution(runs: readonly Attribution[]): Attribution {
  const sums = new Map<string, number>();
  for (const run of runs) for (const [owner, ms] of Object.entries(run.byOwner)) sums.set(owner, (sums.get(owner) ?? 0) + ms);
  const mean = (ms: number) => Math.round(ms / runs.length);
  return {
    totalMs: mean(runs.reduce((sum, run) => sum + run.totalMs, 0)),
    byOwner: Object.fromEntries([...sums].sort((a, b) => b[1] - a[1]).map(([owner, ms]) => [owner, mean(ms)])),
  };
}
