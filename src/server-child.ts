import { ApiObject, ApiObjectMetadata } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import type { AzurePostgres } from './azure-postgres';
import { brand, ConstructKind, isKind } from './kinds';
import { DeletionPolicy } from './postgres-options';
import {
  describeNamespace,
  Problems,
  requireServerNamespace,
  requireValidObjectName,
} from './validation';

/**
 * On each server, the children created for it, in creation order (some may since have been removed from the tree).
 * Symbol.for, so that a child made by a copy of the library loaded twice is still seen.
 */
const CHILDREN_CREATED = Symbol.for('cdk8s-azure.dev/children-created');

function childrenCreatedFor(server: object): AzurePostgresChild[] {
  const holder = server as { [CHILDREN_CREATED]?: AzurePostgresChild[] };
  let children = holder[CHILDREN_CREATED];
  if (children === undefined) {
    children = [];
    Object.defineProperty(server, CHILDREN_CREATED, { value: children, enumerable: false });
  }
  return children;
}

/**
 * The children created for `server` that are still in its app's tree, without walking the tree (adding a child to a
 * server must not cost a walk of the app, or building an app would grow with its square). In creation order.
 */
export function childrenInTreeOf(server: AzurePostgres): AzurePostgresChild[] {
  return childrenCreatedFor(server).filter(child => isInTree(child, server.node.root));
}

/** Whether `construct` is reachable from `root`: every scope up to the root still has it (tryRemoveChild may not). */
function isInTree(construct: IConstruct, root: IConstruct): boolean {
  let current = construct;
  for (let scope = current.node.scope; scope !== undefined; scope = current.node.scope) {
    if (scope.node.tryFindChild(current.node.id) !== current) {
      return false;
    }
    current = scope;
  }
  return current === root;
}

/** Options every child of a server (database, firewall rule, role) has. */
export interface AzurePostgresChildOptions {
  /**
   * What happens to the database, firewall rule or role (in Azure, or in PostgreSQL for a role) when its Kubernetes
   * resource is deleted. Unset, the child follows its server: the children of a retained server are kept with it.
   *
   * @default - the server's deletionPolicy
   */
  readonly deletionPolicy?: DeletionPolicy;

  /**
   * Metadata of the Kubernetes object. Its namespace, when set, must be the server's.
   *
   * @default - a name generated from the construct path, in the server's namespace
   */
  readonly metadata?: ApiObjectMetadata;
}

/** Properties every child of a server has. */
export interface AzurePostgresChildProps extends AzurePostgresChildOptions {
  /** The server the child belongs to; the child's object is in the server's namespace and names it in `serverRef`. */
  readonly server: AzurePostgres;
}

/**
 * What the children of a server (`AzurePostgresDatabase`, `AzurePostgresFirewallRule`, `AzurePostgresRole`) have in
 * common, as cdk8s-plus's `Resource` is for its resources: the server, the object's name and namespace (always the
 * server's, since `serverRef` names a PostgresServer of the same namespace), and the checks of the common properties.
 */
export abstract class AzurePostgresChild extends Construct {
  /** The server this child belongs to. */
  public readonly server: AzurePostgres;

  /** What messages call this construct, e.g. "AzurePostgresDatabase". */
  private readonly kind: ConstructKind;
  private resource?: ApiObject;

  /**
   * For the constructs of this library.
   *
   * @param kind the name of the construct class, e.g. "AzurePostgresDatabase": messages name it, and
   * `AzurePostgresDatabase.isAzurePostgresDatabase` and the like check it
   */
  protected constructor(scope: Construct, id: string, kind: string, props: AzurePostgresChildProps) {
    super(scope, id);
    this.kind = kind as ConstructKind;
    brand(this, this.kind);
    this.server = props.server;
    if (isKind(props.server, 'AzurePostgres')) {
      childrenCreatedFor(props.server).push(this);
    }
  }

  /** Name of the Kubernetes object. */
  public get name(): string {
    return this.requireResource().name;
  }

  /** Namespace of the Kubernetes object: the server's. */
  public get namespace(): string | undefined {
    return this.requireResource().metadata.namespace;
  }

  /**
   * The problems of the properties every child has that its spec does not show (the server, the namespace). The
   * subclass adds the problems of its spec (src/api's rules) and of its own properties, then throws them together.
   *
   * @internal
   */
  protected _propertyProblems(props: AzurePostgresChildProps): Problems {
    const problems = new Problems(this, `${this.kind} properties`);
    if (!isKind(props.server, 'AzurePostgres')) {
      problems.add('server', props.server, 'is required: the AzurePostgres this belongs to');
      problems.throwIfAny();
    }
    if (props.metadata?.namespace !== undefined && props.metadata.namespace !== props.server.namespace) {
      problems.add('metadata.namespace', props.metadata.namespace,
        `must be the namespace of its server at '${props.server.node.path}' (${describeNamespace(props.server.namespace)}), `
        + 'because serverRef names a PostgresServer in the same namespace; leave it unset');
    }
    return problems;
  }

  /**
   * Metadata of the object: the user's, in the server's namespace whatever this construct's chart says.
   *
   * @internal
   */
  protected _metadata(props: AzurePostgresChildProps): ApiObjectMetadata {
    return { ...props.metadata, namespace: props.server.namespace };
  }

  /**
   * Records the child's object and checks its final name and namespace.
   *
   * @internal
   */
  protected _setResource(resource: ApiObject, props: AzurePostgresChildProps): void {
    this.resource = resource;
    requireValidObjectName(this, `${this.kind} properties`, resource.name, props.metadata?.name !== undefined);
    requireServerNamespace(this, `${this.kind} properties`, this.namespace, props.server, props.server.namespace);
  }

  private requireResource(): ApiObject {
    if (this.resource === undefined) {
      throw new Error(`${this.kind} at '${this.node.path}' has no object yet`);
    }
    return this.resource;
  }
}
