/**
 * One real PostgreSQL instance behind an emulated flexible server: initdb with a hidden superuser (azuresu), the
 * server admin as a non-superuser member of azure_pg_admin (as Azure does), TLS with a certificate from the emulator
 * CA, pg_hba allowing hostssl + scram-sha-256 only. PostgreSQL refuses to run as root, so when the emulator is root
 * the binaries run as the `postgres` user (setpriv).
 */
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import * as net from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { allowListTriggerSql, installAllowList } from './extensions';

const run = promisify(execFile);

export const SUPERUSER = 'azuresu';
/** The port clients use: the wire-protocol front (pg-front.ts). */
export const PG_PORT = 5432;
/** The port of the real PostgreSQL behind the front (same address). */
export const PG_BACKEND_PORT = 5433;

export interface RunAs {
  uid: number;
  gid: number;
  user: string;
}

/** The account PostgreSQL runs as: `postgres` when we are root, else ourselves. */
export async function resolveRunAs(): Promise<RunAs | undefined> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const [{ stdout: uid }, { stdout: gid }] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()), user: 'postgres' };
}

/** SCRAM-SHA-256 verifier for a password, so the plain password never reaches the server (or its logs). */
export function scramVerifier(password: string): string {
  const salt = randomBytes(16);
  const iterations = 4096;
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

export function quoteIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

export function quoteLiteral(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** Whether address:port can be bound now (nothing else listens there). */
export function addressFree(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host: address, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** PostgreSQL did not start; `addressInUse` when something else took its address meanwhile. */
export class PgStartError extends Error {
  constructor(message: string, readonly addressInUse: boolean) {
    super(message);
  }
}

export interface PgInstanceOptions {
  binDir: string;
  /** Directory of this instance: data/ and postgres.log go there. */
  dir: string;
  address: string;
  port: number;
  certPem: string;
  keyPem: string;
  caPem: string;
  runAs?: RunAs;
  /** Settings written to postgresql.conf at init (name -> value). */
  settings: Record<string, string>;
  /** Client networks (CIDR) allowed to connect; undefined: every client (see writeHba). */
  allowedClients?: string[];
  /** The hidden superuser's password, when the data comes from another instance. */
  superuserPassword?: string;
}

export class PgInstance {
  /** The hidden superuser's password (a replica or a restore has its source's: the data is a copy). */
  readonly superuserPassword: string;
  /** What clients reach (pg-front.ts): started after PostgreSQL is up, stopped before it goes down. */
  front?: { start(): Promise<void>; stop(): Promise<void> };
  private child?: ChildProcess;
  private exited?: Promise<void>;
  private requireSsl = true;
  private allowedClients: string[] | undefined;

  constructor(readonly opts: PgInstanceOptions) {
    this.allowedClients = opts.allowedClients;
    this.superuserPassword = opts.superuserPassword ?? randomBytes(24).toString('base64url');
  }

  /** The client networks pg_hba admits (undefined: every client). */
  get allowed(): string[] | undefined {
    return this.allowedClients;
  }

  get dataDir(): string {
    return join(this.opts.dir, 'data');
  }

  get logPath(): string {
    return join(this.opts.dir, 'postgres.log');
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  private async own(path: string, mode: number): Promise<void> {
    await chmod(path, mode);
    if (this.opts.runAs) await chown(path, this.opts.runAs.uid, this.opts.runAs.gid);
  }

  private command(bin: string, args: string[]): [string, string[]] {
    const exe = bin.startsWith('/') ? bin : join(this.opts.binDir, bin);
    if (!this.opts.runAs) return [exe, args];
    return ['setpriv', [`--reuid=${this.opts.runAs.uid}`, `--regid=${this.opts.runAs.gid}`, '--init-groups', '--', exe, ...args]];
  }

  /** Runs a PostgreSQL tool (pg_basebackup...; or a system command by absolute path) as the account PostgreSQL runs as. */
  async runTool(bin: string, args: string[], env: Record<string, string> = {}): Promise<void> {
    const [cmd, cmdArgs] = this.command(bin, args);
    await run(cmd, cmdArgs, { cwd: this.opts.dir, env: { ...process.env, HOME: this.opts.dir, LC_ALL: 'C.UTF-8', ...env }, timeout: 120_000 }).catch((e) => {
      throw new Error(`${bin} failed: ${(e as { stderr?: string }).stderr || (e as Error).message}`);
    });
  }

  /** Makes this instance's directory (owned by the account PostgreSQL runs as). */
  async makeDir(): Promise<void> {
    await mkdir(this.opts.dir, { recursive: true });
    await this.own(this.opts.dir, 0o700);
  }

  /** initdb, certificates, postgresql.conf and pg_hba.conf. */
  async init(): Promise<void> {
    await mkdir(this.opts.dir, { recursive: true });
    await this.own(this.opts.dir, 0o700);
    const pwfile = join(this.opts.dir, '.pwfile');
    await writeFile(pwfile, `${this.superuserPassword}\n`, { mode: 0o600 });
    await this.own(pwfile, 0o600);
    try {
      const [cmd, args] = this.command('initdb', ['-D', this.dataDir, '-U', SUPERUSER, `--pwfile=${pwfile}`, '--auth-local=scram-sha-256',
        '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync', '--no-instructions']);
      await run(cmd, args, { cwd: this.opts.dir, env: { ...process.env, LC_ALL: 'C.UTF-8' }, timeout: 120_000 }).catch((e) => {
        throw new Error(`initdb failed: ${(e as { stderr?: string }).stderr || (e as Error).message}`);
      });
    } finally {
      await rm(pwfile, { force: true });
    }
    await this.configure();
  }

  /**
   * Certificates, this instance's settings appended to postgresql.conf (later lines win, so a data directory copied
   * from another server takes this one's address), and pg_hba.conf.
   */
  async configure(): Promise<void> {
    const files: [string, string, number][] = [
      ['server.crt', this.opts.certPem, 0o644],
      ['server.key', this.opts.keyPem, 0o600],
      ['root.crt', this.opts.caPem, 0o644],
    ];
    for (const [name, content, mode] of files) {
      const p = join(this.dataDir, name);
      await writeFile(p, content, { mode });
      await this.own(p, mode);
    }
    const conf: Record<string, string> = {
      listen_addresses: quoteLiteral(this.opts.address),
      port: String(this.opts.port),
      unix_socket_directories: "''",
      ssl: 'on',
      ssl_cert_file: "'server.crt'",
      ssl_key_file: "'server.key'",
      ssl_ca_file: "'root.crt'",
      shared_buffers: "'16MB'",
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'off',
      logging_collector: 'off',
      log_destination: "'stderr'",
      log_timezone: "'UTC'",
      dynamic_shared_memory_type: 'posix',
      ...this.opts.settings,
    };
    const lines = ['', '# --- cdk8s-azure ARM emulator ---', ...Object.entries(conf).map(([k, v]) => `${k} = ${v}`), ''];
    await writeFile(join(this.dataDir, 'postgresql.conf'), lines.join('\n'), { flag: 'a' });
    await this.writeHba();
  }

  /**
   * pg_hba.conf: TLS only unless require_secure_transport is off; scram-sha-256 always. `allowedClients` (CIDRs, from
   * the firewall rules) limits who may connect, as Azure's firewall does (a refused client gets PostgreSQL's own "no
   * pg_hba.conf entry for host" error, as on Azure); undefined lets every client in. The hidden superuser (Azure's
   * management path) is never limited.
   */
  async writeHba(requireSsl = this.requireSsl): Promise<void> {
    this.requireSsl = requireSsl;
    const type = requireSsl ? 'hostssl' : 'host';
    const clients = this.allowedClients
      ? [
        `${type} all ${SUPERUSER} 0.0.0.0/0 scram-sha-256`,
        `${type} all ${SUPERUSER} ::/0 scram-sha-256`,
        ...this.allowedClients.map((cidr) => `${type} all all ${cidr} scram-sha-256`),
      ]
      : [`${type} all all 0.0.0.0/0 scram-sha-256`, `${type} all all ::/0 scram-sha-256`];
    const hba = [
      '# Managed by the cdk8s-azure ARM emulator (Azure: require_secure_transport decides hostssl vs host; firewall rules decide the clients).',
      ...clients,
      // Azure's own replication (read replicas) runs as its hidden superuser.
      `hostssl replication ${SUPERUSER} 0.0.0.0/0 scram-sha-256`,
      '',
    ].join('\n');
    const p = join(this.dataDir, 'pg_hba.conf');
    await writeFile(p, hba);
    await this.own(p, 0o600);
  }

  /** Changes the client networks allowed (undefined: every client) and rewrites pg_hba.conf (reload to apply). */
  async setAllowedClients(allowedClients: string[] | undefined): Promise<void> {
    this.allowedClients = allowedClients;
    await this.writeHba();
  }

  async start(timeoutMs = 60_000): Promise<void> {
    if (this.running) return;
    const logFd = openSync(this.logPath, 'a', 0o640);
    try {
      const [cmd, args] = this.command('postgres', ['-D', this.dataDir]);
      const child = spawn(cmd, args, { stdio: ['ignore', logFd, logFd], env: { ...process.env, LC_ALL: 'C.UTF-8' } });
      this.child = child;
      this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
      child.once('error', () => undefined);
    } finally {
      closeSync(logFd);
    }
    const deadline = Date.now() + timeoutMs;
    let lastErr: unknown;
    while (Date.now() < deadline) {
      if (!this.running) {
        const tail = (await readFile(this.logPath, 'utf8').catch(() => '')).trim().split('\n').slice(-3).join(' | ');
        throw new PgStartError(`postgres exited during start: ${tail}`, /could not bind|Address already in use|could not create any TCP\/IP sockets/.test(tail));
      }
      try {
        await this.sql('SELECT 1');
      } catch (e) {
        lastErr = e;
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      await this.front?.start().catch(async (e: NodeJS.ErrnoException) => {
        await this.stop();
        throw new PgStartError(`the PostgreSQL front could not listen: ${e.message}`, e.code === 'EADDRINUSE');
      });
      return;
    }
    throw new Error(`postgres did not accept connections within ${timeoutMs}ms: ${(lastErr as Error)?.message}`);
  }

  async stop(timeoutMs = 15_000): Promise<void> {
    await this.front?.stop();
    const child = this.child;
    if (!child || !this.running) return;
    child.kill('SIGINT'); // fast shutdown
    const timer = setTimeout(() => child.kill('SIGQUIT'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Immediate shutdown without waiting (for process exit). */
  killNow(): void {
    if (this.child && this.running) {
      try {
        this.child.kill('SIGQUIT');
      } catch {
        // already gone
      }
    }
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** Runs SQL as the hidden superuser, over TLS verified against the emulator CA. */
  async sql(text: string | string[], database = 'postgres'): Promise<Record<string, unknown>[]> {
    const client = new Client({
      host: this.opts.address,
      port: this.opts.port,
      user: SUPERUSER,
      password: this.superuserPassword,
      database,
      ssl: { ca: this.opts.caPem },
      connectionTimeoutMillis: 5000,
    });
    client.on('error', () => undefined);
    await client.connect();
    try {
      let rows: Record<string, unknown>[] = [];
      for (const stmt of Array.isArray(text) ? text : [text]) rows = (await client.query(stmt)).rows;
      return rows;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /**
   * Azure's role layout: azure_pg_admin, and the password administrator (when the server has one: a server created
   * with password sign-in off has none until it is turned on).
   */
  async setupAdmin(login: string | undefined, password: string | undefined): Promise<void> {
    await this.sql([
      'CREATE ROLE azure_pg_admin NOLOGIN',
      'GRANT pg_monitor, pg_signal_backend, pg_read_all_settings, pg_read_all_stats, pg_stat_scan_tables TO azure_pg_admin WITH ADMIN OPTION',
      'CREATE DATABASE azure_maintenance',
      'CREATE DATABASE azure_sys',
      'REVOKE CONNECT ON DATABASE azure_maintenance FROM PUBLIC',
    ]);
    if (login !== undefined && password !== undefined) await this.createAdministrator(login, password);
    await installAllowList(this, ['template1', 'postgres', 'azure_sys']);
  }

  /** The password administrator: a member of azure_pg_admin with LOGIN CREATEROLE CREATEDB (no superuser). */
  async createAdministrator(login: string, password: string): Promise<void> {
    const admin = quoteIdent(login);
    await this.sql([
      `CREATE ROLE ${admin} WITH LOGIN CREATEROLE CREATEDB INHERIT NOREPLICATION PASSWORD ${quoteLiteral(scramVerifier(password))}`,
      `GRANT azure_pg_admin TO ${admin}`,
    ]);
  }

  async setPassword(login: string, password: string): Promise<void> {
    await this.sql(`ALTER ROLE ${quoteIdent(login)} WITH PASSWORD ${quoteLiteral(scramVerifier(password))}`);
  }

  async createDatabase(name: string, owner: string, charset: string, collation: string | undefined): Promise<void> {
    const exists = await this.sql(`SELECT 1 FROM pg_database WHERE datname = ${quoteLiteral(name)}`);
    if (exists.length) return;
    // Only the C and C.UTF-8 locales may exist on this machine: a collation the OS lacks falls back to C.UTF-8 (UTF8)
    // or C (any other encoding), while Azure's answers keep reporting the requested collation.
    let locale = charset.toUpperCase() === 'UTF8' ? 'C.UTF-8' : 'C';
    if (collation && charset.toUpperCase() === 'UTF8') {
      const known = await this.sql(`SELECT 1 FROM pg_collation WHERE collname = ${quoteLiteral(collation)} AND collencoding IN (-1, 6) AND collprovider = 'c'`);
      if (known.length) locale = collation;
    }
    // Two PUTs of one database may run at once (a client retrying a PUT whose answer it lost): the later finds it made.
    await this.sql(`CREATE DATABASE ${quoteIdent(name)} OWNER ${quoteIdent(owner)} ENCODING ${quoteLiteral(charset)} LC_COLLATE ${quoteLiteral(locale)} LC_CTYPE ${quoteLiteral(locale)} TEMPLATE template0`)
      .catch((e: { code?: string }) => {
        if (e.code !== '42P04' && e.code !== '23505') throw e;
      });
    await this.sql(allowListTriggerSql(), name);
  }

  async dropDatabase(name: string): Promise<void> {
    await this.sql(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
  }

  /** ALTER SYSTEM SET (or RESET when value is undefined), then reload. */
  async alterSystem(name: string, value: string | undefined): Promise<void> {
    const stmt = value === undefined ? `ALTER SYSTEM RESET ${name}` : `ALTER SYSTEM SET ${name} = ${quoteLiteral(value)}`;
    await this.sql([stmt, 'SELECT pg_reload_conf()']);
  }

  /**
   * Reloads the configuration and waits until new connections see it: pg_reload_conf() only signals the postmaster, and
   * a connection opened right after could still get the old pg_hba. A new session's pg_conf_load_time() is the
   * postmaster's last reload.
   */
  async reload(): Promise<void> {
    const [{ t }] = await this.sql('SELECT pg_reload_conf(), clock_timestamp()::text AS t');
    for (let i = 0; i < 100; i++) {
      const [{ ok }] = await this.sql(`SELECT pg_conf_load_time() >= ${quoteLiteral(String(t))}::timestamptz AS ok`);
      if (ok) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async destroy(): Promise<void> {
    await this.stop();
    await rm(this.opts.dir, { recursive: true, force: true });
  }
}
