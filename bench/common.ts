/**
 * Shared by the benchmarks: flags, statistics, the machine and commit a number was measured on, memory of a process
 * from /proc, and the two output forms every bench prints (a JSON summary, a Markdown table row).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..');

/** --name=value / --name value / --flag; unknown flags are an error (a typo must not silently run the default). */
export function parseFlags<T extends Record<string, string | number | boolean>>(argv: readonly string[], defaults: T, help: string): T {
  const out: Record<string, string | number | boolean> = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(help.trim() + '\n');
      process.exit(0);
    }
    const m = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/.exec(arg);
    if (!m) throw new Error(`unexpected argument ${JSON.stringify(arg)}; run with --help`);
    const key = m[1].replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (!(key in defaults)) throw new Error(`unknown flag --${m[1]}; run with --help`);
    const def = defaults[key];
    let value: string;
    if (m[2] !== undefined) value = m[2];
    else if (typeof def === 'boolean') value = 'true';
    else if (i + 1 < argv.length) value = argv[++i];
    else throw new Error(`flag --${m[1]} needs a value`);
    if (typeof def === 'number') {
      const n = Number(value);
      if (!Number.isFinite(n) || n < 0) throw new Error(`--${m[1]}=${value}: expected a non-negative number`);
      out[key] = n;
    } else if (typeof def === 'boolean') {
      if (value !== 'true' && value !== 'false') throw new Error(`--${m[1]}=${value}: expected true or false`);
      out[key] = value === 'true';
    } else {
      out[key] = value;
    }
  }
  return out as T;
}

/** Nearest-rank percentile (p in 0..100) of a non-empty sample. */
export function percentile(values: readonly number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * s.length));
  return s[Math.min(rank, s.length) - 1];
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export interface Summary {
  n: number;
  min: number;
  median: number;
  p95: number;
  max: number;
  mean: number;
}

export function summarize(values: readonly number[]): Summary {
  return {
    n: values.length,
    min: round(Math.min(...values)),
    median: round(median(values)),
    p95: round(percentile(values, 95)),
    max: round(Math.max(...values)),
    mean: round(values.reduce((a, b) => a + b, 0) / values.length),
  };
}

export function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export const MiB = 1024 * 1024;

export function loadAverage(): string {
  return os.loadavg().map((l) => l.toFixed(2)).join(' ');
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trimEnd();
  } catch {
    return '';
  }
}

export interface Environment {
  date: string;
  commit: string;
  /** Files under src/ that differ from the commit (the working tree is shared while others work). */
  dirtySrc: string[];
  node: string;
  cpus: number;
  cpuModel: string;
  memTotalMiB: number;
  /** 1, 5 and 15 minute load averages when the bench started. */
  loadAtStart: string;
  command: string;
}

export function environment(): Environment {
  const dirty = git(['status', '--porcelain', '--', 'src', 'crds']);
  return {
    date: new Date().toISOString(),
    commit: git(['rev-parse', '--short', 'HEAD']),
    dirtySrc: dirty ? dirty.split('\n').map((l) => l.slice(3)) : [],
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memTotalMiB: Math.round(os.totalmem() / MiB),
    loadAtStart: loadAverage(),
    command: commandLine(),
  };
}

function commandLine(): string {
  const script = path.relative(ROOT, process.argv[1] ?? '');
  return ['tsx', script, ...process.argv.slice(2)].join(' ');
}

export interface ProcMemory {
  /** Resident set size now (VmRSS), bytes. */
  rss: number;
  /** Peak resident set size since the process started (VmHWM), bytes. */
  hwm: number;
}

/** VmRSS and VmHWM of a process from /proc/<pid>/status; undefined once it has exited. */
export function procMemory(pid: number): ProcMemory | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kb = (field: string) => {
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : NaN;
  };
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** Samples a process's memory every `intervalMs` and keeps the highest RSS seen (VmHWM is the kernel's own peak). */
export class MemorySampler {
  private timer?: NodeJS.Timeout;
  maxRss = 0;
  samples = 0;
  last?: ProcMemory;

  constructor(private readonly pid: number, private readonly intervalMs = 250) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  sample(): ProcMemory | undefined {
    const m = procMemory(this.pid);
    if (m) {
      this.last = m;
      this.samples++;
      if (m.rss > this.maxRss) this.maxRss = m.rss;
    }
    return m;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.sample();
  }
}

/** Prints the two outputs every bench ends with: the JSON summary (one line, for machines) and a Markdown row. */
export function report(name: string, summary: Record<string, unknown>, markdownRow: string): void {
  process.stdout.write(`\n### ${name}: JSON summary\n`);
  process.stdout.write(JSON.stringify(summary) + '\n');
  process.stdout.write(`\n### ${name}: Markdown row\n`);
  process.stdout.write(markdownRow + '\n');
}

export function mib(bytes: number): number {
  return round(bytes / MiB, 1);
}

export function seconds(ms: number): number {
  return round(ms / 1000, 2);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The two low bytes of `i` (0-65535), as the last two octets of an IPv4 address for the i-th of many objects. */
export function lowOctets(i: number): [number, number] {
  return [Math.floor(i / 256) % 256, i % 256];
}
