import { ApiObjectMetadata, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-34';
import { Construct } from 'constructs';
import { CA_CERT_ENV, connectionEnvKeys } from './connection-env';
import { ConnectionEnvNames } from './connection-secret';
import { WORKLOAD_IDENTITY_USE_LABEL, type AzurePostgresRole } from './postgres-role';
import { checkInteger, checkString, ENV_VAR_NAME, Problems, show } from './validation';

/** Name of the app's container; extra containers must use other names. */
const APP_CONTAINER_NAME = 'app';

/** Properties of a `WebAppWithDb`. */
export interface WebAppWithDbProps {
  /** Container image of the app, e.g. ghcr.io/acme/catalog-api:1.4.2. */
  readonly image: string;

  /**
   * The database role the app connects as. The app gets PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD, PGSSLMODE
   * and DATABASE_URL from its connection Secret, and PGSSLROOTCERT pointing at its mounted ca.crt, and must be in its
   * namespace. With a passwordless role there is no PGPASSWORD: the Pods run as the role's ServiceAccount with the
   * label `azure.workload.identity/use: "true"`, and the app uses its identity's Entra token as the password.
   */
  readonly role: AzurePostgresRole;

  /**
   * Number of Pods.
   *
   * @default 2
   */
  readonly replicas?: number;

  /**
   * Port the app listens on.
   *
   * @default 8080
   */
  readonly port?: number;

  /**
   * Port of the Service (it forwards to `port`).
   *
   * @default 80
   */
  readonly servicePort?: number;

  /**
   * Type of the Service.
   *
   * @default kplus.ServiceType.CLUSTER_IP
   */
  readonly serviceType?: kplus.ServiceType;

  /**
   * Entrypoint of the container.
   *
   * @default - the image's ENTRYPOINT
   */
  readonly command?: string[];

  /**
   * Arguments of the entrypoint.
   *
   * @default - the image's CMD
   */
  readonly args?: string[];

  /**
   * CPU and memory of the app's container.
   *
   * @default - requests 100m CPU and 128Mi memory, limits 512Mi memory (no CPU limit, so the app is not throttled)
   */
  readonly resources?: kplus.ContainerResources;

  /**
   * Liveness probe: the kubelet restarts the container when it fails.
   *
   * @default - none
   */
  readonly liveness?: kplus.Probe;

  /**
   * Readiness probe: the Service sends traffic only to Pods that pass it.
   *
   * @default - a TCP connection to `port`
   */
  readonly readiness?: kplus.Probe;

  /**
   * More environment variables of the app's container. They cannot reuse the database variables' names.
   *
   * @default - none
   */
  readonly env?: { [name: string]: kplus.EnvValue };

  /**
   * Names of the database variables, when the app expects others than the libpq defaults.
   *
   * @default - PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD, PGSSLMODE, DATABASE_URL
   */
  readonly envNames?: ConnectionEnvNames;

  /**
   * More containers in each Pod (sidecars). Their names must differ from "app".
   *
   * @default - none
   */
  readonly containers?: kplus.ContainerProps[];

  /**
   * Security context of the app's container.
   *
   * @default - runAsNonRoot (the image must run as a numeric non-root USER, or set `user`), read-only root
   * filesystem (an emptyDir is mounted at /tmp), no privilege escalation, all capabilities dropped, the runtime's
   * default seccomp profile
   */
  readonly securityContext?: kplus.ContainerSecurityContextProps;

  /**
   * Metadata of the Deployment and the Service.
   *
   * @default - names generated from the construct path, in the role's namespace
   */
  readonly metadata?: ApiObjectMetadata;
}

/**
 * A web app wired to a PostgreSQL role: a Deployment and a Service (cdk8s-plus), whose container reads the role's
 * connection Secret through secretKeyRef environment variables.
 */
export class WebAppWithDb extends Construct {
  /** The role the app connects as. */
  public readonly role: AzurePostgresRole;
  /** The Deployment. */
  public readonly deployment: kplus.Deployment;
  /** The app's container. */
  public readonly container: kplus.Container;
  /** The Service in front of the Pods. */
  public readonly service: kplus.Service;

  public constructor(scope: Construct, id: string, props: WebAppWithDbProps) {
    super(scope, id);
    this.role = props.role;
    const port = props.port ?? 8080;
    const servicePort = props.servicePort ?? 80;
    validateWebAppProps(this, props, port, servicePort);

    // A Pod reads only Secrets of its own namespace, so the app goes where the role's Secret is unless told otherwise.
    const metadata: ApiObjectMetadata = { ...props.metadata, namespace: props.metadata?.namespace ?? props.role.namespace };
    const securityContext: kplus.ContainerSecurityContextProps = {
      ensureNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: [kplus.Capability.ALL] },
      seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
      ...props.securityContext,
    };

    this.deployment = new kplus.Deployment(this, 'Deployment', {
      metadata,
      replicas: props.replicas ?? 2,
      securityContext: { ensureNonRoot: securityContext.ensureNonRoot },
      // The app talks to PostgreSQL, not to the Kubernetes API.
      automountServiceAccountToken: false,
      // A passwordless role's identity is federated with its ServiceAccount.
      serviceAccount: props.role?.serviceAccount,
    });
    this.container = this.deployment.addContainer({
      name: APP_CONTAINER_NAME,
      image: props.image,
      command: props.command,
      args: props.args,
      ports: [{ number: port, name: 'http' }],
      resources: props.resources ?? {
        cpu: { request: kplus.Cpu.millis(100) },
        memory: { request: Size.mebibytes(128), limit: Size.mebibytes(512) },
      },
      readiness: props.readiness ?? kplus.Probe.fromTcpSocket({ port }),
      liveness: props.liveness,
      securityContext,
      envVariables: props.env,
    });
    this.role.addConnectionEnv(this.container, props.envNames);
    if (this.role.serviceAccount !== undefined) {
      // Passwordless: the Pods get the role's identity token from AKS's workload identity webhook.
      this.deployment.podMetadata.addLabel(WORKLOAD_IDENTITY_USE_LABEL, 'true');
    }
    if (securityContext.readOnlyRootFilesystem !== false) {
      // Most runtimes write temporary files; a writable /tmp keeps the root filesystem read-only.
      this.container.mount('/tmp', kplus.Volume.fromEmptyDir(this, 'Tmp', 'tmp'));
    }
    for (const sidecar of props.containers ?? []) {
      this.deployment.addContainer(sidecar);
    }

    this.service = new kplus.Service(this, 'Service', {
      metadata,
      type: props.serviceType ?? kplus.ServiceType.CLUSTER_IP,
      selector: this.deployment,
      ports: [{ name: 'http', port: servicePort, targetPort: port }],
    });
  }

  /** Namespace of the Deployment and the Service. */
  public get namespace(): string | undefined {
    return this.deployment.metadata.namespace;
  }
}

function validateWebAppProps(scope: Construct, props: WebAppWithDbProps, port: number, servicePort: number): void {
  const problems = new Problems(scope, 'WebAppWithDb properties');
  checkString(problems, 'image', props.image, { minLength: 1, pattern: /^\S+$/, description: 'a container image reference without spaces, e.g. nginx:1.27' });
  if (props.role === undefined || props.role === null) {
    problems.add('role', props.role, 'is required: the AzurePostgresRole the app connects as (AzurePostgres.addRole)');
  }
  if (props.replicas !== undefined) {
    checkInteger(problems, 'replicas', props.replicas, 0);
  }
  checkInteger(problems, 'port', port, 1, 65535);
  checkInteger(problems, 'servicePort', servicePort, 1, 65535);

  const databaseVariables = new Set([...connectionEnvKeys(props.envNames, props.role?.passwordless).map(([name]) => name), CA_CERT_ENV]);
  for (const name of Object.keys(props.env ?? {})) {
    if (checkString(problems, `env name ${show(name)}`, name, ENV_VAR_NAME) && databaseVariables.has(name)) {
      problems.add('env', name, `is one of the database variables the app gets from the role's Secret (${[...databaseVariables].join(', ')}); `
        + 'remove it, or give the database variable another name with envNames');
    }
  }
  const containerNames = (props.containers ?? []).map(c => c.name);
  containerNames.forEach((name, i) => {
    if (name === undefined || name === APP_CONTAINER_NAME || containerNames.indexOf(name) !== i) {
      problems.add(`containers[${i}].name`, name, `must be set and unique, and not "${APP_CONTAINER_NAME}" (the app's container)`);
    }
  });
  problems.throwIfAny();
}
