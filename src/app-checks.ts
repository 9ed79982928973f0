/**
 * Internal (not exported from index.ts): the checks that need the whole app, such as names that must be unique per
 * server or per namespace, or a Pod reading a Secret of another namespace.
 *
 * One validator on the app's root runs them all, once per validation pass (`cdk8s synth`): it walks the tree once,
 * hands every check the same `AppOfPass` (whose derived tables, such as the children of each server, are computed once
 * per pass), and throws every problem together, in the format of every other synth error:
 * `Invalid <what> at '<construct path>':\n  - <field> = <value as JSON>: <expected>`.
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

  public constructor(root: IConstruct) {
    this.constructs = root.node.findAll();
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

/** The checks of an app, on its root; Symbol.for, so that copies of the library loaded twice share one runner. */
const APP_CHECKS = Symbol.for('cdk8s-azure.dev/app-checks');

/**
 * Adds a whole-app check to the app `scope` is in. `key` identifies the check: a check added again under the same
 * key (for example one per app, added by every role) is kept once.
 */
export function addAppCheck(scope: IConstruct, key: unknown, check: AppCheck): void {
  const root = scope.node.root as IConstruct & { [APP_CHECKS]?: Map<unknown, AppCheck> };
  let checks = root[APP_CHECKS];
  if (checks === undefined) {
    const created = new Map<unknown, AppCheck>();
    checks = created;
    Object.defineProperty(root, APP_CHECKS, { value: created, enumerable: false });
    root.node.addValidation({
      validate: () => {
        const app = new AppOfPass(root);
        for (const run of created.values()) {
          run(app);
        }
        const message = app.errorMessage();
        if (message !== undefined) {
          throw new Error(message);
        }
        return [];
      },
    });
  }
  if (!checks.has(key)) {
    checks.set(key, check);
  }
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
