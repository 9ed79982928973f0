import { ApiObject, JsonPatch, Yaml } from 'cdk8s';
import * as kplus from 'cdk8s-plus-34';
import { k8s } from 'cdk8s-plus-34';
import { Construct } from 'constructs';
import { CLUSTER_ID, formatNamespaceScopes, LOG_LEVELS, namespaceScopesProblems } from './api';
import { RECONCILER_IMAGE_REPOSITORY } from './image';
import { crdFiles, packageVersion } from './package-info';
import { checkInteger, checkOneOf, checkString, DNS_LABEL, DNS_SUBDOMAIN, ENV_VAR_NAME, GUID, Problems } from './validation';

/** Name of the ServiceAccount, ClusterRole and ClusterRoleBinding (or Roles and RoleBindings), and Deployment. */
const RECONCILER_NAME = 'cdk8s-azure-reconciler';
const METRICS_PORT = 8080;
const HEALTH_PORT = 8081;
/** The UID of "nonroot" in distroless images; any non-root UID works, the image only needs to read its files. */
const DEFAULT_UID = 65532;
const HTTPS_URL = {
  pattern: /^https:\/\/[^\s/]+(\/\S*)?$/,
  description: 'an https:// URL, for example https://management.chinacloudapi.cn',
};

/** Properties of the reconciler install. */
export interface ReconcilerProps {
  /**
   * The Azure subscription (a GUID) the reconciler creates servers in, unless a namespace's `namespaceScopes` entry
   * names one of its own.
   */
  readonly subscriptionId: string;

  /**
   * Client ID (a GUID) of the Azure managed identity or app registration the reconciler signs in as, through AKS
   * workload identity: the ServiceAccount gets the azure.workload.identity/client-id annotation and the Pods the
   * azure.workload.identity/use label. The identity needs a federated credential for
   * system:serviceaccount:<namespace>:cdk8s-azure-reconciler and rights on the subscription (or resource groups).
   * Required when `namespaceScopes` names identities of their own: the Pods then get the token they exchange.
   *
   * @default - no workload identity; give the reconciler credentials another way (e.g. `env` with AZURE_CLIENT_ID,
   * AZURE_TENANT_ID and AZURE_CLIENT_SECRET from a Secret you manage)
   */
  readonly clientId?: string;

  /**
   * Tenant ID (a GUID) of the identity, when it is not the cluster's tenant.
   *
   * @default - the tenant AKS workload identity is configured with
   */
  readonly tenantId?: string;

  /**
   * Namespace of the reconciler.
   *
   * @default 'cdk8s-azure-system'
   */
  readonly namespace?: string;

  /**
   * Whether to create the namespace.
   *
   * @default true
   */
  readonly createNamespace?: boolean;

  /**
   * Whether to install the CustomResourceDefinitions (PostgresServer, PostgresDatabase, PostgresFirewallRule,
   * PostgresRole). Turn it off when they are installed separately, e.g. by a cluster administrator.
   *
   * @default true
   */
  readonly installCrds?: boolean;

  /**
   * The reconciler image.
   *
   * @default - ghcr.io/cdk8s-azure/reconciler:<version of this package>, the image each release publishes
   */
  readonly image?: string;

  /**
   * When the kubelet pulls the image.
   *
   * @default kplus.ImagePullPolicy.IF_NOT_PRESENT
   */
  readonly imagePullPolicy?: kplus.ImagePullPolicy;

  /**
   * Names of Secrets (in the reconciler's namespace) with credentials for a private registry.
   *
   * @default - none
   */
  readonly imagePullSecrets?: string[];

  /**
   * Number of reconciler Pods. Leader election keeps one active at a time, so 2 gives a warm standby.
   *
   * @default 1
   */
  readonly replicas?: number;

  /**
   * Watch and reconcile only the resources of these namespaces (a namespaced install). The reconciler's rights on the
   * custom resources, their status and finalizers, Secrets and Events are then granted by a Role and a RoleBinding in
   * each of these namespaces, and nowhere else: the reconciler cannot read a Secret of any other namespace (its one
   * cluster-wide right is `get` of the kube-system namespace, unless `clusterId` is set). The reconciler gets the list
   * as WATCH_NAMESPACES. The namespaces must exist when the install is applied (it creates only its own).
   *
   * @default - all namespaces: the same rights through a ClusterRole and a ClusterRoleBinding
   */
  readonly watchNamespaces?: string[];

  /**
   * This cluster's identity (CLUSTER_ID), written to the owner tag `cdk8s-azure.dev-cluster` of every resource the
   * reconciler creates in Azure: a resource tagged with another cluster is never adopted. Keep it stable for the life
   * of the cluster.
   *
   * @default - the UID of the kube-system namespace, read at start (the install grants `get` on that one namespace)
   */
  readonly clusterId?: string;

  /**
   * Namespaces whose resources may adopt an Azure resource that exists already (the annotation
   * `cdk8s-azure.dev/adopt: "true"`), as ADOPTION_NAMESPACES; `['*']` for all. Adoption is the cluster admin's choice:
   * in any other namespace the annotation is refused with a condition and nothing changes in Azure.
   *
   * @default - none: adoption is off
   */
  readonly adoptionNamespaces?: string[];

  /**
   * What each namespace's resources may touch in Azure, and the Azure identity the reconciler uses for them, as
   * NAMESPACE_SCOPES (the cluster admin's choice; a namespace's users cannot change it). Once set, a namespace not
   * listed may use nothing in Azure: a resource outside its namespace's scope gets Ready=False `OutOfScope`, a Warning
   * Event, and makes no Azure call (when deleted, nothing is deleted in Azure).
   *
   * A scope's `clientId` is signed in as through AKS workload identity, with the reconciler's one ServiceAccount: give
   * that identity a federated credential for system:serviceaccount:<namespace>:cdk8s-azure-reconciler (the reconciler's
   * namespace), and rights on the scope's subscription or resource groups. Set `clientId` here too, so that the Pods
   * get the workload identity token.
   *
   * @example { shop: { subscriptionId: '<guid>', resourceGroups: ['shop-*'], clientId: '<guid>' } }
   * @default - no restriction: every namespace may use every resource group of `subscriptionId`, as `clientId`
   */
  readonly namespaceScopes?: { [namespace: string]: NamespaceScope };

  /**
   * One namespace to watch: the same as `watchNamespaces: [watchNamespace]`.
   *
   * @deprecated use `watchNamespaces`
   * @default - all namespaces
   */
  readonly watchNamespace?: string;

  /**
   * Azure Resource Manager endpoint (AZURE_RESOURCE_MANAGER_ENDPOINT), for sovereign clouds, e.g.
   * https://management.chinacloudapi.cn or https://management.usgovcloudapi.net.
   *
   * @default - Azure public cloud
   */
  readonly resourceManagerEndpoint?: string;

  /**
   * Microsoft Entra authority host (AZURE_AUTHORITY_HOST), for sovereign clouds, e.g. https://login.chinacloudapi.cn
   * or https://login.microsoftonline.us.
   *
   * @default - Azure public cloud
   */
  readonly authorityHost?: string;

  /**
   * OAuth scope of Resource Manager tokens (ARM_SCOPE), when it is not the endpoint's, e.g.
   * https://management.chinacloudapi.cn/.default.
   *
   * @default - `<resourceManagerEndpoint>/.default` (the reconciler derives it)
   */
  readonly armScope?: string;

  /**
   * CPU and memory of the reconciler container.
   *
   * @default - requests 50m CPU and 96Mi memory, limits 192Mi memory (no CPU limit): ~63 MiB resident when idle,
   * ~73 MiB with 1000 resources and their Secrets cached, ~90 MiB at the peak of creating and deleting 1000 resources
   * at once (docs/benchmarks.md)
   */
  readonly resources?: kplus.ContainerResources;

  /**
   * More environment variables of the reconciler container.
   *
   * @default - none
   */
  readonly env?: { [name: string]: string };

  /**
   * The reconciler's log level (LOG_LEVEL): trace, debug, info, warn, error, fatal or silent.
   *
   * @default 'info'
   */
  readonly logLevel?: string;

  /**
   * Whether to create a Service `cdk8s-azure-reconciler-metrics` in front of the Prometheus endpoint (port `metrics`,
   * 8080, path `/metrics`), for a scraper or a ServiceMonitor.
   *
   * @default true
   */
  readonly metricsService?: boolean;

  /**
   * Whether to create a Prometheus Operator ServiceMonitor (monitoring.coreos.com/v1) that scrapes the metrics Service.
   * The cluster needs the Prometheus Operator's CRDs. Needs `metricsService`.
   *
   * @default false
   */
  readonly serviceMonitor?: boolean;

  /**
   * Labels of the ServiceMonitor, for a Prometheus whose serviceMonitorSelector picks monitors by label (e.g.
   * `{ release: 'prometheus' }`).
   *
   * @default - the install's labels only
   */
  readonly serviceMonitorLabels?: { [key: string]: string };

  /**
   * Whether to create a PodDisruptionBudget (minAvailable 1), so that a node drain never takes the last reconciler
   * Pod. With one replica it would block drains, so it is created by default only with two or more.
   *
   * @default - true when replicas is 2 or more
   */
  readonly podDisruptionBudget?: boolean;

  /**
   * Node labels the reconciler Pods must run on (nodeSelector).
   *
   * @default - any node
   */
  readonly nodeSelector?: { [key: string]: string };

  /**
   * Tolerations of the reconciler Pods, e.g. to run on a tainted system node pool.
   *
   * @default - none
   */
  readonly tolerations?: k8s.Toleration[];

  /**
   * Affinity of the reconciler Pods, e.g. anti-affinity to spread replicas over nodes or zones.
   *
   * @default - none
   */
  readonly affinity?: k8s.Affinity;

  /**
   * More annotations of the reconciler Pods.
   *
   * @default - none
   */
  readonly podAnnotations?: { [key: string]: string };

  /**
   * More labels of the reconciler Pods (the install's own labels and the workload identity label are kept).
   *
   * @default - none
   */
  readonly podLabels?: { [key: string]: string };
}

/** What one namespace's resources may touch in Azure, and the identity the reconciler uses for them. */
export interface NamespaceScope {
  /**
   * The Azure subscription (a GUID) the namespace's resources live in.
   *
   * @default - the install's `subscriptionId`
   */
  readonly subscriptionId?: string;

  /**
   * The resource groups the namespace's resources may use: names, or prefixes ending in `*` (`['*']`: any of the
   * subscription). Compared ignoring case, as Azure does. `[]`: none.
   */
  readonly resourceGroups: string[];

  /**
   * Client ID (a GUID) of the managed identity the reconciler signs in as for this namespace, through workload
   * identity (a federated credential for the reconciler's ServiceAccount).
   *
   * @default - the reconciler's own identity (the install's `clientId`)
   */
  readonly clientId?: string;

  /**
   * Tenant ID (a GUID) of that identity, when it is not the reconciler's tenant. Needs `clientId`.
   *
   * @default - the tenant of the reconciler's own identity
   */
  readonly tenantId?: string;

  /**
   * Azure scopes of other subscriptions whose subnets and private DNS zones the namespace's servers may use, as
   * resource IDs: a subscription (`/subscriptions/<guid>`), a resource group of it, or one resource. For example the
   * resource group of a hub network's `privatelink.postgres.database.azure.com` zone. The namespace's identity needs
   * Azure's join permission there (e.g. Private DNS Zone Contributor on the zone, Network Contributor on the subnet).
   *
   * @default - only resources of the namespace's own subscription
   */
  readonly networkScopes?: string[];
}

/**
 * Installs the cdk8s-azure reconciler in a cluster: the CRDs, a namespace, a ServiceAccount (AKS workload identity),
 * least-privilege RBAC (in every namespace, or only in `watchNamespaces`), and a hardened Deployment.
 *
 * Synthesize it to plain YAML or, with `cdk8s synth --format helm`, to a Helm chart.
 */
export class Reconciler extends Construct {
  /** The reconciler's namespace. */
  public readonly namespace: string;
  /** The image the Deployment runs. */
  public readonly image: string;
  /** Name of the reconciler's ServiceAccount. */
  public readonly serviceAccountName: string = RECONCILER_NAME;
  /** The CustomResourceDefinitions (empty when installCrds is false). */
  public readonly crds: ApiObject[] = [];
  /**
   * The namespaces the reconciler watches (`watchNamespaces`), or undefined for all namespaces.
   */
  public readonly watchNamespaces?: string[];
  /**
   * The ClusterRole with the reconciler's rights on our resources, Secrets and Events in every namespace. Undefined in
   * a namespaced install (`watchNamespaces`): its rights are in `roles`.
   */
  public readonly clusterRole?: k8s.KubeClusterRole;
  /**
   * The Roles of a namespaced install, one per watched namespace, with the rules of the ClusterRole. Empty when all
   * namespaces are watched. The leader-election Role is not among them.
   */
  public readonly roles: k8s.KubeRole[] = [];
  /** The Deployment. */
  public readonly deployment: k8s.KubeDeployment;
  /** The Service in front of the metrics endpoint (undefined with `metricsService: false`). */
  public readonly metricsService?: k8s.KubeService;
  /** The Prometheus Operator ServiceMonitor (undefined unless `serviceMonitor` is true). */
  public readonly serviceMonitor?: ApiObject;
  /** The PodDisruptionBudget (undefined when not created, see `podDisruptionBudget`). */
  public readonly podDisruptionBudget?: k8s.KubePodDisruptionBudget;

  public constructor(scope: Construct, id: string, props: ReconcilerProps) {
    super(scope, id);
    validateReconcilerProps(this, props);
    this.namespace = props.namespace ?? 'cdk8s-azure-system';
    this.image = props.image ?? `${RECONCILER_IMAGE_REPOSITORY}:${packageVersion()}`;
    const labels = {
      'app.kubernetes.io/name': RECONCILER_NAME,
      'app.kubernetes.io/part-of': 'cdk8s-azure',
      'app.kubernetes.io/component': 'reconciler',
    };

    // The CRDs are read from crds/ (the one source of the API), so the install never drifts from it.
    const crdDocuments = crdFiles().flatMap(file => Yaml.load(file)).filter(doc => doc?.kind === 'CustomResourceDefinition');
    if (props.installCrds ?? true) {
      for (const crd of crdDocuments) {
        this.crds.push(clusterScoped(new ApiObject(this, `Crd-${crd.spec.names.kind}`, crd)));
      }
    }

    if (props.createNamespace ?? true) {
      clusterScoped(new k8s.KubeNamespace(this, 'Namespace', { metadata: { name: this.namespace, labels } }));
    }

    const serviceAccountAnnotations: { [key: string]: string } = {};
    if (props.clientId !== undefined) {
      serviceAccountAnnotations['azure.workload.identity/client-id'] = props.clientId;
    }
    if (props.tenantId !== undefined) {
      serviceAccountAnnotations['azure.workload.identity/tenant-id'] = props.tenantId;
    }
    new k8s.KubeServiceAccount(this, 'ServiceAccount', {
      metadata: { name: this.serviceAccountName, namespace: this.namespace, labels, annotations: nonEmpty(serviceAccountAnnotations) },
    });

    // Least privilege: exactly the calls the reconciler makes (reconcilerRules), in every namespace or in each watched one.
    const groups = [...new Set(crdDocuments.map(crd => crd.spec.group as string))];
    const plurals = crdDocuments.map(crd => crd.spec.names.plural as string);
    const rules = reconcilerRules(groups, plurals);
    const subjects = [{ kind: 'ServiceAccount', name: this.serviceAccountName, namespace: this.namespace }];
    const watched = props.watchNamespaces ?? (props.watchNamespace !== undefined ? [props.watchNamespace] : undefined);
    this.watchNamespaces = watched === undefined ? undefined : [...watched];
    if (this.watchNamespaces === undefined) {
      this.clusterRole = clusterScoped(new k8s.KubeClusterRole(this, 'ClusterRole', { metadata: { name: RECONCILER_NAME, labels }, rules }));
      clusterScoped(new k8s.KubeClusterRoleBinding(this, 'ClusterRoleBinding', {
        metadata: { name: RECONCILER_NAME, labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: this.clusterRole.name },
        subjects,
      }));
    } else {
      for (const namespace of this.watchNamespaces) {
        const role = new k8s.KubeRole(this, `Role-${namespace}`, { metadata: { name: RECONCILER_NAME, namespace, labels }, rules });
        this.roles.push(role);
        new k8s.KubeRoleBinding(this, `RoleBinding-${namespace}`, {
          metadata: { name: RECONCILER_NAME, namespace, labels },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.name },
          subjects,
        });
      }
    }

    // The default cluster identity is the kube-system namespace's UID: the one cluster-scoped read, of one object.
    if (props.clusterId === undefined) {
      const identityRole = clusterScoped(new k8s.KubeClusterRole(this, 'ClusterIdentityRole', {
        metadata: { name: `${RECONCILER_NAME}-cluster-identity`, labels },
        rules: [{ apiGroups: [''], resources: ['namespaces'], resourceNames: ['kube-system'], verbs: ['get'] }],
      }));
      clusterScoped(new k8s.KubeClusterRoleBinding(this, 'ClusterIdentityRoleBinding', {
        metadata: { name: `${RECONCILER_NAME}-cluster-identity`, labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: identityRole.name },
        subjects,
      }));
    }

    // Another install may have claimed a resource this one watches (the annotation cdk8s-azure.dev/reconciled-by): whether
    // it still runs is its leader-election Lease, in its own namespace, which may be any. Named after this install's
    // namespace, so that two installs (two Helm releases) never share, or replace, each other's.
    const installsRole = clusterScoped(new k8s.KubeClusterRole(this, 'InstallsRole', {
      metadata: { name: `${RECONCILER_NAME}-installs-${this.namespace}`, labels },
      rules: [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get'] }],
    }));
    clusterScoped(new k8s.KubeClusterRoleBinding(this, 'InstallsRoleBinding', {
      metadata: { name: `${RECONCILER_NAME}-installs-${this.namespace}`, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: installsRole.name },
      subjects,
    }));

    // Leader election (coordination.k8s.io Leases) only in the reconciler's own namespace.
    const leaderElectionRole = new k8s.KubeRole(this, 'LeaderElectionRole', {
      metadata: { name: `${RECONCILER_NAME}-leader-election`, namespace: this.namespace, labels },
      rules: [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] }],
    });
    new k8s.KubeRoleBinding(this, 'LeaderElectionRoleBinding', {
      metadata: { name: `${RECONCILER_NAME}-leader-election`, namespace: this.namespace, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: leaderElectionRole.name },
      subjects,
    });

    const replicas = props.replicas ?? 1;
    const selector = { matchLabels: { 'app.kubernetes.io/name': RECONCILER_NAME } };
    this.deployment = new k8s.KubeDeployment(this, 'Deployment', {
      metadata: { name: RECONCILER_NAME, namespace: this.namespace, labels: { ...labels, 'app.kubernetes.io/version': versionLabel(this.image) } },
      spec: {
        replicas,
        selector,
        template: {
          metadata: {
            labels: { ...props.podLabels, ...labels, ...(props.clientId !== undefined ? { 'azure.workload.identity/use': 'true' } : {}) },
            annotations: props.podAnnotations === undefined ? undefined : nonEmpty({ ...props.podAnnotations }),
          },
          spec: {
            nodeSelector: props.nodeSelector === undefined ? undefined : nonEmpty({ ...props.nodeSelector }),
            tolerations: props.tolerations,
            affinity: props.affinity,
            serviceAccountName: this.serviceAccountName,
            // The reconciler talks to the Kubernetes API with this ServiceAccount's token.
            automountServiceAccountToken: true,
            imagePullSecrets: props.imagePullSecrets?.map(name => ({ name })),
            securityContext: {
              runAsNonRoot: true,
              runAsUser: DEFAULT_UID,
              runAsGroup: DEFAULT_UID,
              seccompProfile: { type: 'RuntimeDefault' },
            },
            containers: [{
              name: 'reconciler',
              image: this.image,
              imagePullPolicy: props.imagePullPolicy ?? kplus.ImagePullPolicy.IF_NOT_PRESENT,
              args: ['--leader-elect', `--metrics-bind-address=:${METRICS_PORT}`, `--health-probe-bind-address=:${HEALTH_PORT}`],
              env: reconcilerEnv(props, this.watchNamespaces),
              ports: [
                { name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' },
                { name: 'health', containerPort: HEALTH_PORT, protocol: 'TCP' },
              ],
              livenessProbe: { httpGet: { path: '/healthz', port: k8s.IntOrString.fromString('health') }, initialDelaySeconds: 15, periodSeconds: 20 },
              readinessProbe: { httpGet: { path: '/readyz', port: k8s.IntOrString.fromString('health') }, initialDelaySeconds: 5, periodSeconds: 10 },
              resources: toKubeResources(props.resources),
              securityContext: {
                runAsNonRoot: true,
                readOnlyRootFilesystem: true,
                allowPrivilegeEscalation: false,
                privileged: false,
                capabilities: { drop: ['ALL'] },
                seccompProfile: { type: 'RuntimeDefault' },
              },
              // The root filesystem is read-only; Node and the Azure SDK may write temporary files.
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
            }],
            volumes: [{ name: 'tmp', emptyDir: {} }],
          },
        },
      },
    });

    if (props.metricsService ?? true) {
      this.metricsService = new k8s.KubeService(this, 'MetricsService', {
        metadata: { name: `${RECONCILER_NAME}-metrics`, namespace: this.namespace, labels },
        spec: {
          selector: selector.matchLabels,
          ports: [{ name: 'metrics', port: METRICS_PORT, targetPort: k8s.IntOrString.fromString('metrics'), protocol: 'TCP' }],
        },
      });
    }
    if (props.serviceMonitor ?? false) {
      this.serviceMonitor = new ApiObject(this, 'ServiceMonitor', {
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'ServiceMonitor',
        metadata: { name: RECONCILER_NAME, namespace: this.namespace, labels: { ...props.serviceMonitorLabels, ...labels } },
        spec: {
          selector: { matchLabels: labels },
          namespaceSelector: { matchNames: [this.namespace] },
          endpoints: [{ port: 'metrics', path: '/metrics' }],
        },
      });
    }
    if (props.podDisruptionBudget ?? replicas >= 2) {
      this.podDisruptionBudget = new k8s.KubePodDisruptionBudget(this, 'PodDisruptionBudget', {
        metadata: { name: RECONCILER_NAME, namespace: this.namespace, labels },
        spec: { minAvailable: k8s.IntOrString.fromNumber(1), selector },
      });
    }
  }
}

/**
 * The reconciler's rights on its resources, Secrets and Events: the verbs of the calls it makes (src/reconciler/kube/
 * kube.ts, informer.ts, events.ts), and no other. docs/install.md and docs/reconciler.md list them with their reasons.
 */
function reconcilerRules(groups: string[], plurals: string[]): k8s.PolicyRule[] {
  return [
    // Informers (list, watch); a fresh read after a write conflicted (get); finalizers and annotations (patch: JSON
    // and merge patches, never a full update).
    { apiGroups: groups, resources: plurals, verbs: ['get', 'list', 'watch', 'patch'] },
    // Status: a JSON patch of the status subresource (it is read from the informer's cache, never fetched).
    { apiGroups: groups, resources: plurals.map(p => `${p}/status`), verbs: ['patch'] },
    // The Secrets it owns carry an ownerReference with blockOwnerDeletion to their resource; with the
    // OwnerReferencesPermissionEnforcement admission plugin, setting one needs update on the owner's finalizers.
    { apiGroups: groups, resources: plurals.map(p => `${p}/finalizers`), verbs: ['update'] },
    // Secrets: the informer of the Secrets labelled as its own (list, watch: RBAC cannot restrict to a label), a read
    // of one not in that cache (get), and the Secrets it owns: created (create), replaced with their resourceVersion
    // to change the data or restore the label or owner (update). Never patched or deleted: Kubernetes' garbage
    // collector deletes them with their owner.
    { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch', 'create', 'update'] },
    // core/v1 Events: created, then their count bumped by a merge patch.
    { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
  ];
}

function reconcilerEnv(props: ReconcilerProps, watchNamespaces: string[] | undefined): k8s.EnvVar[] {
  const env: k8s.EnvVar[] = [
    { name: 'AZURE_SUBSCRIPTION_ID', value: props.subscriptionId },
    // The reconciler's own namespace (for its leader-election Lease) and Pod name (its leader identity).
    { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
  ];
  const optional: Array<[string, string | undefined]> = [
    ['AZURE_RESOURCE_MANAGER_ENDPOINT', props.resourceManagerEndpoint],
    ['AZURE_AUTHORITY_HOST', props.authorityHost],
    ['ARM_SCOPE', props.armScope],
    ['WATCH_NAMESPACES', watchNamespaces?.join(',')],
    ['CLUSTER_ID', props.clusterId],
    ['ADOPTION_NAMESPACES', props.adoptionNamespaces?.join(',')],
    ['NAMESPACE_SCOPES', props.namespaceScopes === undefined ? undefined : formatNamespaceScopes(props.namespaceScopes)],
    ['LOG_LEVEL', props.logLevel],
  ];
  for (const [name, value] of optional) {
    if (value !== undefined) {
      env.push({ name, value });
    }
  }
  for (const [name, value] of Object.entries(props.env ?? {})) {
    env.push({ name, value });
  }
  return env;
}

function toKubeResources(resources: kplus.ContainerResources | undefined): k8s.ResourceRequirements {
  if (resources === undefined) {
    return {
      requests: { cpu: k8s.Quantity.fromString('50m'), memory: k8s.Quantity.fromString('96Mi') },
      limits: { memory: k8s.Quantity.fromString('192Mi') },
    };
  }
  const requests: { [key: string]: k8s.Quantity } = {};
  const limits: { [key: string]: k8s.Quantity } = {};
  if (resources.cpu?.request) requests.cpu = k8s.Quantity.fromString(resources.cpu.request.amount);
  if (resources.cpu?.limit) limits.cpu = k8s.Quantity.fromString(resources.cpu.limit.amount);
  if (resources.memory?.request) requests.memory = k8s.Quantity.fromString(`${resources.memory.request.toMebibytes()}Mi`);
  if (resources.memory?.limit) limits.memory = k8s.Quantity.fromString(`${resources.memory.limit.toMebibytes()}Mi`);
  if (resources.ephemeralStorage?.request) requests['ephemeral-storage'] = k8s.Quantity.fromString(`${resources.ephemeralStorage.request.toMebibytes()}Mi`);
  if (resources.ephemeralStorage?.limit) limits['ephemeral-storage'] = k8s.Quantity.fromString(`${resources.ephemeralStorage.limit.toMebibytes()}Mi`);
  return { requests: nonEmpty(requests), limits: nonEmpty(limits) };
}

/**
 * Cluster-scoped objects must not have a namespace, but cdk8s gives every object its chart's namespace; remove it.
 */
function clusterScoped<T extends ApiObject>(apiObject: T): T {
  if (apiObject.metadata.namespace !== undefined) {
    apiObject.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
  }
  return apiObject;
}

/** The image tag as a label value (labels allow at most 63 of [A-Za-z0-9_.-]); "unknown" for digests and odd tags. */
function versionLabel(image: string): string {
  const tag = /:([A-Za-z0-9_.-]{1,63})$/.exec(image.split('@')[0])?.[1];
  return tag ?? 'unknown';
}

function nonEmpty<T extends object>(map: T): T | undefined {
  return Object.keys(map).length === 0 ? undefined : map;
}

function validateReconcilerProps(scope: Construct, props: ReconcilerProps): void {
  const problems = new Problems(scope, 'Reconciler properties');
  checkString(problems, 'subscriptionId', props.subscriptionId, GUID);
  if (props.clientId !== undefined) {
    checkString(problems, 'clientId', props.clientId, GUID);
  }
  if (props.tenantId !== undefined) {
    checkString(problems, 'tenantId', props.tenantId, GUID);
  }
  if (props.namespace !== undefined) {
    checkString(problems, 'namespace', props.namespace, DNS_LABEL);
  }
  if (props.watchNamespace !== undefined) {
    checkString(problems, 'watchNamespace', props.watchNamespace, DNS_LABEL);
    if (props.watchNamespaces !== undefined) {
      problems.add('watchNamespace', props.watchNamespace, 'is the deprecated form of watchNamespaces; set only watchNamespaces (add this namespace to it)');
    }
  }
  if (props.watchNamespaces !== undefined) {
    if (props.watchNamespaces.length === 0) {
      problems.add('watchNamespaces', props.watchNamespaces, 'must name at least one namespace; leave it unset to watch all namespaces');
    }
    props.watchNamespaces.forEach((name, i) => {
      if (checkString(problems, `watchNamespaces[${i}]`, name, DNS_LABEL) && props.watchNamespaces!.indexOf(name) !== i) {
        problems.add(`watchNamespaces[${i}]`, name, `is already watchNamespaces[${props.watchNamespaces!.indexOf(name)}]; list each namespace once`);
      }
    });
  }
  if (props.clusterId !== undefined) {
    checkString(problems, 'clusterId', props.clusterId, CLUSTER_ID);
  }
  (props.adoptionNamespaces ?? []).forEach((name, i) => {
    if (name !== '*') {
      checkString(problems, `adoptionNamespaces[${i}]`, name, DNS_LABEL);
    }
  });
  if (props.namespaceScopes !== undefined) {
    for (const problem of namespaceScopesProblems(props.namespaceScopes, 'namespaceScopes')) {
      problems.addProblem(problem);
    }
    if (props.clientId === undefined && Object.values(props.namespaceScopes).some(namespaceScope => namespaceScope?.clientId !== undefined)) {
      problems.add('clientId', props.clientId,
        'must be set when namespaceScopes names identities (clientId): the reconciler exchanges its workload identity token for them, which the Pods get only with clientId');
    }
  }
  if (props.image !== undefined) {
    checkString(problems, 'image', props.image, { minLength: 1, pattern: /^\S+$/, description: 'a container image reference without spaces' });
  }
  if (props.imagePullPolicy !== undefined) {
    checkOneOf(problems, 'imagePullPolicy', props.imagePullPolicy, Object.values(kplus.ImagePullPolicy));
  }
  (props.imagePullSecrets ?? []).forEach((name, i) => checkString(problems, `imagePullSecrets[${i}]`, name, DNS_SUBDOMAIN));
  if (props.replicas !== undefined) {
    checkInteger(problems, 'replicas', props.replicas, 0);
  }
  if (props.logLevel !== undefined) {
    checkOneOf(problems, 'logLevel', props.logLevel, LOG_LEVELS);
  }
  if (props.serviceMonitor === true && props.metricsService === false) {
    problems.add('serviceMonitor', props.serviceMonitor, 'scrapes the metrics Service, which metricsService: false leaves out; keep metricsService or drop serviceMonitor');
  }
  for (const [field, value] of [
    ['resourceManagerEndpoint', props.resourceManagerEndpoint],
    ['authorityHost', props.authorityHost],
    ['armScope', props.armScope],
  ] as const) {
    if (value !== undefined) {
      checkString(problems, field, value, HTTPS_URL);
    }
  }
  // The install sets these, and the reconciler's RBAC follows the namespaces it is given.
  const ours = new Set(['AZURE_SUBSCRIPTION_ID', 'POD_NAMESPACE', 'POD_NAME', 'AZURE_RESOURCE_MANAGER_ENDPOINT', 'AZURE_AUTHORITY_HOST', 'ARM_SCOPE', 'WATCH_NAMESPACE', 'WATCH_NAMESPACES', 'CLUSTER_ID', 'ADOPTION_NAMESPACES', 'NAMESPACE_SCOPES', 'LOG_LEVEL']);
  for (const name of Object.keys(props.env ?? {})) {
    if (checkString(problems, 'env name', name, ENV_VAR_NAME) && ours.has(name)) {
      problems.add('env', name, 'is set by the install from its own properties (subscriptionId, resourceManagerEndpoint, authorityHost, armScope, watchNamespaces, clusterId, adoptionNamespaces, namespaceScopes, logLevel); use those');
    }
  }
  problems.throwIfAny();
}
