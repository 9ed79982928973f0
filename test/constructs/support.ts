/**
 * Test support: the CRDs read straight from crds/ (the one source of the API, independent of the constructs), an ajv
 * validator built from their schemas, and small synth helpers.
 */
import * as fs from 'fs';
import * as path from 'path';
import Ajv, { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { App, Chart, Testing } from 'cdk8s';
import * as YAML from 'yaml';

export const REPO_ROOT = path.join(__dirname, '..', '..');
export const CRD_DIR = path.join(REPO_ROOT, 'crds');

export interface Crd {
  readonly file: string;
  readonly group: string;
  readonly kind: string;
  readonly plural: string;
  readonly versions: Array<{ name: string; schema: { openAPIV3Schema: any } }>;
  readonly document: any;
}

/** Every CRD in crds/, parsed with the yaml package (not with the library's own loader). */
export function loadCrds(): Crd[] {
  return fs.readdirSync(CRD_DIR).filter(f => f.endsWith('.yaml')).sort().map(file => {
    const document = YAML.parse(fs.readFileSync(path.join(CRD_DIR, file), 'utf-8'));
    return {
      file,
      group: document.spec.group,
      kind: document.spec.names.kind,
      plural: document.spec.names.plural,
      versions: document.spec.versions,
      document,
    };
  });
}

/**
 * The Kubernetes structural schema as JSON Schema: x-kubernetes-* extensions (CEL rules, list types) are dropped,
 * since ajv cannot evaluate them; everything else (types, patterns, enums, ranges, not/allOf) is standard.
 */
export function toJsonSchema(schema: any): any {
  if (Array.isArray(schema)) {
    return schema.map(toJsonSchema);
  }
  if (schema === null || typeof schema !== 'object') {
    return schema;
  }
  const result: any = {};
  for (const [key, value] of Object.entries(schema)) {
    if (!key.startsWith('x-kubernetes-')) {
      result[key] = key === 'default' || key === 'enum' ? value : toJsonSchema(value);
    }
  }
  return result;
}

/** apiVersion/kind -> ajv validator of that CRD version's openAPIV3Schema. */
export function crdValidators(): Map<string, ValidateFunction> {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv, ['ipv4', 'date-time']);
  // Kubernetes' int64: an integer JavaScript can hold exactly.
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
  const validators = new Map<string, ValidateFunction>();
  for (const crd of loadCrds()) {
    for (const version of crd.versions) {
      validators.set(`${crd.group}/${version.name}/${crd.kind}`, ajv.compile(toJsonSchema(version.schema.openAPIV3Schema)));
    }
  }
  return validators;
}

/** Ajv's errors for one manifest, or [] when it is valid; throws for a kind with no CRD. */
export function schemaErrors(validators: Map<string, ValidateFunction>, manifest: any): string[] {
  const validate = validators.get(`${manifest.apiVersion}/${manifest.kind}`);
  if (!validate) {
    throw new Error(`no CRD for ${manifest.apiVersion} ${manifest.kind}`);
  }
  return validate(manifest) ? [] : (validate.errors ?? []).map(e => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
}

/**
 * The connection Secret keys, as the CRD documents them ("... with the keys host, port, ... and sslmode."), so the
 * contract the tests check comes from the API, not from the constructs.
 */
export function secretContractKeys(): string[] {
  const server = loadCrds().find(c => c.kind === 'PostgresServer')!;
  const description: string = server.versions[0].schema.openAPIV3Schema.properties.spec.properties.writeConnectionSecretToRef.description;
  const list = /with the keys (.+?)(?: \(|\. )/.exec(description)?.[1];
  if (!list) {
    throw new Error(`cannot find the key list in: ${description}`);
  }
  return list.split(/,\s*|\s+and\s+/).map(k => k.trim()).filter(k => k.length > 0);
}

/** A fresh app and chart. */
export function newChart(namespace?: string): { app: App; chart: Chart } {
  const app = Testing.app();
  const chart = new Chart(app, 'test', { namespace });
  return { app, chart };
}

/** Every manifest of every chart of the app (running the app's validations, as `cdk8s synth` does). */
export function synthApp(app: App): any[] {
  return YAML.parseAllDocuments(app.synthYaml()).map(d => d.toJS()).filter(d => d !== null);
}

/** The message of the error `fn` throws; fails the test when it does not throw. */
export function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error, but none was thrown');
}

/** Every value under `key` anywhere in a JSON tree. */
export function findAll(tree: any, key: string): any[] {
  const found: any[] = [];
  const walk = (node: any) => {
    if (Array.isArray(node)) {
      node.forEach(walk);
    } else if (node !== null && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        if (k === key) {
          found.push(v);
        }
        walk(v);
      }
    }
  };
  walk(tree);
  return found;
}
