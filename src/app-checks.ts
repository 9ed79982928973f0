/**
 * Internal (not exported from index.ts): the checks that need the whole app, such as names that must be unique per
 * server or per namespace, or a Pod reading a Secret of another namespace.
 *
 * One validator on the app's root runs them all, once per validation pass (`cdk8s synth`): it walks the tree once,
 * hands every check the same `AppOfPass` (whose derived tables, such as the children of each server, are computed once
 * per pass), and throws every problem together, in the format of every other synth error:
 * `Invalid <what> at '<construct path>':\n  - <field> = <value as JSON>: <expected>`.
 *
 * cdk8s validates the whole app once per chart, so an app of N charts has N + 1 passes. A pass over the same tree as
 * the last one, with the same inputs (the constructs, in order, and what each check says it reads of them besides,
 * see `AppCheckOptions.inputsOf`), reuses the last outcome instead of running the checks again.
 */
import { ApiObject } from 'cdk8s';
import { IConstruct } from 'constructs';
import { describeNamespace, namespaceKey, Problems } from './validation';

/** The app as one validation pass sees it. Nothing here outlives the pass, so a later synth sees tree changes. */
export class AppOfPass {
  /** Every construct of the app, in tree order. */
  public readonly constructs: readonly IConstruct[];

  private readonly memos = new Map<symbol, unknown>();
  private readonly problemsByConstruct = new Map<IConstruct, Map<string, Problems>>();

  public constructor(constructs: readonly IConstruct[]) {
    this.constructs = constructs;
  }

  /** A value derived from the whole app, computed on first use and kept for the rest of the pass. */
  public memo<T>(key: symbol, compute: () => T): T {
    if (!this.memos.has(key)) {
      this.memos.set(key, compute());
    }
    return this.memos.get(key) as T;
  }

  /** Where a check records the problems of `construct` ("Invalid <what> at '<its path>'"). */
  public problemsOf(construct: IConstruct, what: string): Problems {
    let byWhat = this.problemsByConstruct.get(construct);
    if (byWhat === undefined) {
      byWhat = new Map();
      this.problemsByConstruct.set(construct, byWhat);
    }
    let problems = byWhat.get(what);
    if (problems === undefined) {
      problems = new Problems(construct, what);
      byWhat.set(what, problems);
    }
    return problems;
  }

  /** Every message recorded, in tree order of the constructs they name; undefined when there is none. */
  public errorMessage(): string | undefined {
    const order = new Map(this.constructs.map((c, i) => [c, i]));
    const messages = [...this.problemsByConstruct.entries()]
      .sort(([a], [b]) => (order.get(a) ?? -1) - (order.get(b) ?? -1))
      .flatMap(([, byWhat]) => [...byWhat.values()].map(problems => problems.message))
      .filter((message): message is string => message !== undefined);
    return messages.length === 0 ? undefined : messages.join('\n');
  }
}

/** A whole-app check: it records what it finds with `app.problemsOf(construct, what)`. */
export type AppCheck = (app: AppOfPass) => void;

export interface AppCheckOptions {
  /**
   * What the check reads of a construct that can change without the tree changing (for example the environment
   * variables of a workload's containers), as values compared by identity: when none of them and no construct
   * changed since the last pass, the last outcome stands. Unset, the check reads only what a construct fixes when it
   * is created.
   */
  readonly inputsOf?: (construct: IConstruct) => readonly unknown[] | undefined;
}

/** The checks of an app and the last pass's outcome; on the root, under a Symbol.for, shared by copies of the library. */
interface AppChecks {
  readonly checks: Map<unknown, AppCheck>;
  readonly inputReaders: Array<(construct: IConstruct) => readonly unknown[] | undefined>;
  last?: { readonly constructs: readonly IConstruct[]; readonly inputs: readonly unknown[]; readonly error: string | undefined };
}

const APP_CHECKS = Symbol.for('cdk8s-azure.dev/app-checks/2');

/**
 * Adds a whole-app check to the app `scope` is in. `key` identifies the check: a check added again under the same
 * key (for example one per app, added by every role) is kept once.
 */
export function addAppCheck(scope: IConstruct, key: unknown, check: AppCheck, options: AppCheckOptions = {}): void {
  const root = scope.node.root as IConstruct & { [APP_CHECKS]?: AppChecks };
  let state = root[APP_CHECKS];
  if (state === undefined) {
    const created: AppChecks = { checks: new Map(), inputReaders: [] };
    state = created;
    Object.defineProperty(root, APP_CHECKS, { value: created, enumerable: false });
    root.node.addValidation({
      validate: () => {
        const error = runAppChecks(root, created);
        if (error !== undefined) {
          throw new Error(error);
        }
        return [];
      },
    });
  }
  if (!state.checks.has(key)) {
    state.checks.set(key, check);
    if (options.inputsOf !== undefined) {
      state.inputReaders.push(options.inputsOf);
    }
    // A check added since the last pass has not seen the tree.
    state.last = undefined;
  }
}

/** One pass: one walk of the tree; the checks run only when the constructs or their inputs changed since the last. */
function runAppChecks(root: IConstruct, state: AppChecks): string | undefined {
  const constructs = root.node.findAll();
  const inputs: unknown[] = [];
  for (const construct of constructs) {
    for (const read of state.inputReaders) {
      const values = read(construct);
      if (values !== undefined) {
        inputs.push(construct, values.length);
        for (const value of values) {
          inputs.push(value);
        }
      }
    }
  }
  const last = state.last;
  if (last !== undefined && sameItems(last.constructs, constructs) && sameItems(last.inputs, inputs)) {
    return last.error;
  }
  const app = new AppOfPass(constructs);
  for (const run of state.checks.values()) {
    run(app);
  }
  const error = app.errorMessage();
  state.last = { constructs, inputs, error };
  return error;
}

function sameItems(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) {
    return false;
  }
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) {
      return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------------------
// Secrets: two Secrets cannot share a name in one namespace.
// ---------------------------------------------------------------------------------------------------------------

/** A Secret some construct of the app declares: a Secret object, or one the reconciler writes for a CR. */
export interface DeclaredSecret {
  readonly namespace: string | undefined;
  readonly name: string;
  /** The construct that declares it, whose path the message names. */
  readonly owner: IConstruct;
  /** How it is declared, e.g. "the connection Secret of role "catalog_app"". */
  readonly description: string;
}

/**
 * Constructs whose CR makes the reconciler write a Secret carry this symbol: a function returning that Secret. A
 * symbol (Symbol.for, so one per process) rather than instanceof, so that this module does not import the
 * constructs, and copies of the library loaded twice still see each other.
 */
const WRITES_SECRET = Symbol.for('cdk8s-azure.dev/writes-secret');
const DECLARED_SECRETS = Symbol('declared Secrets');
const SECRET_COLLISIONS = Symbol('Secret name collisions');

/**
 * Marks `construct` as writing the Secret `secret()` returns (evaluated at synth, when names are final), and checks at
 * synth that no other Secret of the app has its namespace and name: the reconciler would overwrite the other one (or
 * refuse to), and an app reading it would get the wrong credentials.
 */
export function declareWrittenSecret(construct: IConstruct, secret: () => DeclaredSecret): void {
  Object.defineProperty(construct, WRITES_SECRET, { value: secret, enumerable: false });
  addAppCheck(construct, SECRET_COLLISIONS, checkSecretCollisions);
}

/** Every Secret the app declares: the ones our CRs make the reconciler write, and Secret objects. */
function declaredSecrets(app: AppOfPass): DeclaredSecret[] {
  return app.memo(DECLARED_SECRETS, () => {
    const result: DeclaredSecret[] = [];
    for (const c of app.constructs) {
      const writer = (c as any)[WRITES_SECRET] as (() => DeclaredSecret) | undefined;
      if (writer) {
        result.push(writer());
      } else if (ApiObject.isApiObject(c) && c.kind === 'Secret' && c.apiVersion === 'v1') {
        result.push({ namespace: c.metadata.namespace, name: c.name, owner: c, description: 'a Secret object' });
      }
    }
    return result;
  });
}

function checkSecretCollisions(app: AppOfPass): void {
  const byKey = new Map<string, DeclaredSecret[]>();
  for (const secret of declaredSecrets(app)) {
    const key = `${namespaceKey(secret.namespace)}/${secret.name}`;
    byKey.set(key, [...byKey.get(key) ?? [], secret]);
  }
  for (const group of byKey.values()) {
    // Each Secret our constructs write is reported at its writer; a Secret object alone is not ours to report.
    for (const mine of group.filter(s => (s.owner as any)[WRITES_SECRET] !== undefined)) {
      for (const other of group.filter(s => s.owner !== mine.owner)) {
        app.problemsOf(mine.owner, 'connection Secret name').add('secret name', mine.name,
          `${mine.description} has the same name in ${describeNamespace(mine.namespace)} as ${other.description} (at '${other.owner.node.path}'); `
          + 'two Secrets cannot share a name in one namespace: give one of them another secretName');
      }
    }
  }
}
