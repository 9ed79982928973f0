/**
 * The emulator's certificate authority and the certificates it issues, made with the openssl CLI (node:crypto has no
 * X.509 writer). Keys are EC P-256: quick to make, and accepted by Node, PostgreSQL and OpenSSL clients alike.
 */
import { execFile } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CertificateAuthority {
  readonly certPem: string;
  readonly certPath: string;
  readonly keyPath: string;
  readonly dir: string;
}

export interface IssuedCertificate {
  readonly certPem: string;
  readonly keyPem: string;
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args, { timeout: 60_000 });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`openssl ${args[0]} failed: ${err.stderr || err.message}`);
  }
}

/** Loads the CA in `dir` when a valid one is there (so a restarted emulator keeps the CA clients trust), or makes one. */
export async function loadOrCreateCa(dir: string): Promise<CertificateAuthority> {
  await mkdir(dir, { recursive: true });
  const certPath = join(dir, 'ca.crt');
  const keyPath = join(dir, 'ca.key');
  if (existsSync(certPath) && existsSync(keyPath)) {
    const certPem = await readFile(certPath, 'utf8');
    try {
      const cert = new X509Certificate(certPem);
      if (cert.ca && new Date(cert.validTo).getTime() > Date.now() + 7 * 86400_000) {
        return { certPem, certPath, keyPath, dir };
      }
    } catch {
      // unreadable: make a new one
    }
  }
  const cfg = join(dir, 'ca.cnf');
  await writeFile(cfg, [
    '[req]',
    'distinguished_name = dn',
    'prompt = no',
    'x509_extensions = ext',
    '[dn]',
    'O = cdk8s-azure',
    'CN = cdk8s-azure ARM emulator CA',
    '[ext]',
    'basicConstraints = critical,CA:TRUE,pathlen:0',
    'keyUsage = critical,keyCertSign,cRLSign',
    'subjectKeyIdentifier = hash',
    '',
  ].join('\n'));
  await openssl(['req', '-x509', '-config', cfg, '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyPath, '-out', certPath, '-days', '3650', '-set_serial', `0x${randomBytes(12).toString('hex')}`]);
  await chmod(keyPath, 0o600);
  await rm(cfg, { force: true });
  return { certPem: await readFile(certPath, 'utf8'), certPath, keyPath, dir };
}

let seq = 0;

/** Issues a server certificate for the given IP addresses and DNS names, signed by the CA. */
export async function issueServerCertificate(ca: CertificateAuthority, commonName: string, ips: string[], dnsNames: string[]):
Promise<IssuedCertificate> {
  const base = join(ca.dir, `issue-${process.pid}-${++seq}-${randomBytes(4).toString('hex')}`);
  const cfg = `${base}.cnf`;
  const keyPath = `${base}.key`;
  const certPath = `${base}.crt`;
  const san = [...ips.map((ip) => `IP:${ip}`), ...dnsNames.map((d) => `DNS:${d}`)].join(',');
  await writeFile(cfg, [
    '[req]',
    'distinguished_name = dn',
    'prompt = no',
    'x509_extensions = ext',
    '[dn]',
    `CN = ${commonName}`,
    '[ext]',
    'basicConstraints = critical,CA:FALSE',
    'keyUsage = critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage = serverAuth',
    `subjectAltName = ${san}`,
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid',
    '',
  ].join('\n'));
  try {
    await openssl(['req', '-x509', '-config', cfg, '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyPath, '-out', certPath, '-days', '825', '-CA', ca.certPath, '-CAkey', ca.keyPath,
      '-set_serial', `0x${randomBytes(12).toString('hex')}`]);
    const [certPem, keyPem] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
    return { certPem, keyPem };
  } finally {
    await Promise.all([cfg, keyPath, certPath].map((f) => rm(f, { force: true })));
  }
}
