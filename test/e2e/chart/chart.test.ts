// The Helm chart: it lints, what it renders is accepted by the API server, its CRDs are the generated ones, its
// settings are ones the operator accepts, its optional NetworkPolicies, PodMonitor and dashboard fit the pods the
// operator makes, a wrong value fails at install, and install and upgrade succeed.
import { execFile } from 'node:child_process';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type * as k8s from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { watcherProbes } from '../../../operator/api/runner-contract.ts';
import { loadConfig, usage } from '../../../operator/config.ts';
import {
  buildChildren,
  buildCleanupJob,
  buildMigrateJob,
  servedPlans,
  type IntervalPlan,
  type ServicePlan,
} from '../../../operator/reconcile/desired.ts';
import { repoRoot } from '../../cluster/local-cluster.ts';
import { merchantFixture, runnerSettingsFixture } from '../../support/fixtures.ts';
import { kubectl, useTestNamespace } from '../support/cluster.ts';
import { apps } from '../support/switchyard.ts';
import {
  chartDir,
  describeObject,
  findObject,
  helm,
  helmResult,
  kubectlResult,
  parseManifests,
  renderChart,
  uniqueReleaseName,
} from './helm.ts';

const run = promisify(execFile);
const releaseNamespace = useTestNamespace('chart');
const merchantNamespace = useTestNamespace('chart-shop');
const release = uniqueReleaseName('chart');

afterAll(async () => {
  // The release's ClusterRoles outlive the namespace otherwise.
  await helmResult(['uninstall', release, '--namespace', releaseNamespace.name]);
});

const watchNamespacesOptions = () => ['--set', `watchNamespaces={${merchantNamespace.name}}`];
const digest = `sha256:${'0123456789abcdef'.repeat(4)}`;
const networkPolicyOptions = () => [
  '--set',
  'networkPolicy.enabled=true',
  '--set',
  'networkPolicy.apiServer.cidrs={10.0.0.10/32}',
  '--set',
  'networkPolicy.hubStore.to[0].ipBlock.cidr=10.20.0.5/32',
  '--set',
  `networkPolicy.runnerNamespaces={${merchantNamespace.name}}`,
];

function operatorContainer(objects: readonly k8s.KubernetesObject[]): k8s.V1Container {
  const deployment = findObject<k8s.V1Deployment>(objects, 'Deployment');
  return deployment.spec!.template.spec!.containers[0]!;
}

/** The container's environment as the pod would see it (the downward API's namespace resolved). */
function environmentOf(container: k8s.V1Container, podNamespace: string): Record<string, string> {
  return Object.fromEntries(
    (container.env ?? []).map((variable) => [
      variable.name,
      variable.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace' ? podNamespace : (variable.value ?? ''),
    ]),
  );
}

interface RunnerPod {
  kind: string;
  labels: Record<string, string>;
  ports: k8s.V1ContainerPort[];
}

/** The pod templates of the runner workloads the operator builds: a watcher, a CronJob, a cleanup and a migration. */
function runnerPods(): RunnerPod[] {
  const merchant = merchantFixture();
  const interval: IntervalPlan = {
    service: 'shippingConfirmations',
    mode: 'interval',
    suspended: false,
    batchSize: 50,
    cron: '7,37 * * * *',
    timeZone: 'America/Chicago',
  };
  const plans: ServicePlan[] = [
    { service: 'orderDelivery', mode: 'automatic', suspended: false, batchSize: 100 },
    interval,
  ];
  const context = { owner: merchant, merchantName: 'acme', settings: runnerSettingsFixture };
  const workloads = [
    ...buildChildren(context, plans, [{ owner: merchant, plans: servedPlans(plans) }]),
    buildCleanupJob(context, interval, new Date()),
    buildMigrateJob('shops', runnerSettingsFixture),
  ];
  return workloads.flatMap((workload): RunnerPod[] => {
    const template =
      workload.kind === 'CronJob'
        ? workload.spec.jobTemplate.spec?.template
        : workload.kind === 'Deployment' || workload.kind === 'Job'
          ? workload.spec?.template
          : undefined;
    if (!template) return [];
    const ports = template.spec?.containers.flatMap((container) => container.ports ?? []) ?? [];
    return [{ kind: workload.kind, labels: template.metadata?.labels ?? {}, ports }];
  });
}

const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([key, value]) => labels[key] === value);

describe('helm lint', () => {
  it('passes --strict with the default values and with watchNamespaces', async () => {
    expect(await helm(['lint', '--strict', chartDir])).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    expect(await helm(['lint', '--strict', chartDir, ...watchNamespacesOptions()])).toMatch(/0 chart\(s\) failed/);
  });
});

describe('the rendered chart', () => {
  it('passes kubectl apply --dry-run=server, CRDs included, cluster-wide, with watchNamespaces and with every option', async () => {
    // The optional hub-store Secret is rendered too, so that it is checked as well.
    const hubStoreSecret = ['--set', `hubStore.createSecretIn={${merchantNamespace.name}}`];
    // Every option whose kinds the cluster serves (the monitoring.coreos.com ones it does not).
    const everyOption = [
      ...watchNamespacesOptions(),
      ...networkPolicyOptions(),
      '--set',
      'grafanaDashboard.enabled=true',
      '--set',
      `image.digest=${digest}`,
    ];
    for (const variant of [[], watchNamespacesOptions(), everyOption]) {
      const manifests = await helm([
        'template',
        release,
        chartDir,
        '--namespace',
        releaseNamespace.name,
        '--set',
        'hubStore.url=postgres://hub/store',
        ...hubStoreSecret,
        ...variant,
      ]);
      const result = await kubectlResult(['apply', '--dry-run=server', '-f', '-'], manifests);
      expect(result.stderr.replace(/^Warning: .*$/gm, '').trim()).toBe('');
      expect(result.code).toBe(0);
      const applied = result.stdout.trim().split('\n');
      expect(applied).toHaveLength(parseManifests(manifests).length);
      for (const line of applied) expect(line).toMatch(/\((server dry run)\)$/);
      expect(result.stdout).toContain(`deployment.apps/${release}-switchyard created (server dry run)`);
      expect(result.stdout).toContain('customresourcedefinition.apiextensions.k8s.io/merchants.switchyard.dev');
    }
  });

  it('renders the CRDs that npm run generate writes, as templates kept on uninstall, unless crds.install is off', async () => {
    const generated = readdirSync(join(repoRoot, 'crds'))
      .filter((file) => file.endsWith('.yaml'))
      .sort();
    expect(generated).toEqual(['switchyard.dev_carts.yaml', 'switchyard.dev_merchants.yaml']);
    const generatedCrds = generated.map(
      (file) => parseYaml(readFileSync(join(repoRoot, 'crds', file), 'utf8')) as k8s.V1CustomResourceDefinition,
    );

    const crdsOf = (objects: k8s.KubernetesObject[]) =>
      objects.filter((object): object is k8s.V1CustomResourceDefinition => object.kind === 'CustomResourceDefinition');
    const rendered = crdsOf(await renderChart(release, releaseNamespace.name));
    expect(rendered.map((crd) => crd.metadata?.name).sort()).toEqual([
      'carts.switchyard.dev',
      'merchants.switchyard.dev',
    ]);
    for (const crd of rendered) {
      const { labels, annotations, ...metadata } = crd.metadata!;
      expect({ ...crd, metadata }).toEqual(generatedCrds.find((file) => file.metadata?.name === crd.metadata?.name));
      expect(annotations).toEqual({ 'helm.sh/resource-policy': 'keep' });
      expect(labels).toMatchObject({ 'app.kubernetes.io/instance': release, 'app.kubernetes.io/managed-by': 'Helm' });
    }
    const notKept = crdsOf(await renderChart(release, releaseNamespace.name, ['--set', 'crds.keep=false']));
    expect(notKept.map((crd) => crd.metadata?.annotations)).toEqual([undefined, undefined]);
    const notInstalled = await renderChart(release, releaseNamespace.name, ['--set', 'crds.install=false']);
    expect(notInstalled.map(describeObject).filter((name) => /CustomResourceDefinition/.test(name))).toEqual([]);
    expect(notInstalled.length).toBe((await renderChart(release, releaseNamespace.name)).length - 2);
  });

  it('reads the CRDs through files/crds, a link to crds/ that helm package resolves, and has no crds/ folder', async () => {
    const link = join(chartDir, 'files/crds');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe('../../../crds');
    const generated = readdirSync(join(repoRoot, 'crds')).filter((file) => file.endsWith('.yaml'));

    const workDir = mkdtempSync(join(tmpdir(), 'switchyard-chart-'));
    const { version } = parseYaml(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as { version: string };
    await helm(['package', chartDir, '--destination', workDir]);
    await run('tar', ['-xzf', join(workDir, `switchyard-${version}.tgz`), '-C', workDir]);
    const packaged = join(workDir, 'switchyard');
    // Helm would apply a crds/ folder once, before the templates, and then refuse the templated CRDs it made.
    expect(readdirSync(packaged)).not.toContain('crds');
    const packagedCrds = join(packaged, 'files/crds');
    expect(lstatSync(packagedCrds).isDirectory()).toBe(true);
    expect(readdirSync(packagedCrds).sort()).toEqual(generated.sort());
    for (const file of generated) {
      expect(readFileSync(join(packagedCrds, file), 'utf8')).toBe(readFileSync(join(repoRoot, 'crds', file), 'utf8'));
    }
  });

  it('configures the operator with settings it accepts, naming the Lease it renders', async () => {
    const objects = await renderChart(release, releaseNamespace.name, watchNamespacesOptions());
    const container = operatorContainer(objects);
    const environment = environmentOf(container, releaseNamespace.name);
    const knownVariables = [...usage().matchAll(/\((SWITCHYARD_[A-Z_]+)\)/g)].map((match) => match[1]);
    for (const name of Object.keys(environment).filter((variable) => variable.startsWith('SWITCHYARD_'))) {
      expect(knownVariables, `${name} is not an operator setting`).toContain(name);
    }
    expect(environment.POD_NAMESPACE).toBe(releaseNamespace.name);

    const config = loadConfig([], environment);
    expect(config.runnerImage).toBe(container.image);
    expect(container.image).toBe('switchyard:0.1.0');
    expect(config.watchNamespaces).toEqual([merchantNamespace.name]);
    expect(config.leaderElection).toBe(true);
    expect(config.httpPort).toBe(8080);
    expect(config.databaseSecretName).toBe('switchyard-hub-store');
    expect(config.databaseSecretKey).toBe('url');
    expect(config.runnerCpuLimit).toBe('500m');
    const leaseRole = findObject<k8s.V1Role>(objects, 'Role', `${release}-switchyard-leader-election`);
    expect(leaseRole.metadata?.namespace).toBe(releaseNamespace.name);
    expect(leaseRole.rules?.flatMap((rule) => rule.resourceNames ?? [])).toEqual([config.leaseName]);
  });

  it('lets the runner image, pull policy and pull secrets differ from the operator image', async () => {
    const objects = await renderChart(release, releaseNamespace.name, [
      '--set',
      'image.repository=registry.example.com/switchyard',
      '--set',
      'image.tag=1.2.3',
      '--set',
      'runner.image.tag=1.2.4',
      '--set',
      'runner.image.pullPolicy=Always',
      '--set',
      'runner.imagePullSecrets[0].name=regcred',
      '--set',
      'runner.imagePullSecrets[1].name=mirror',
    ]);
    const container = operatorContainer(objects);
    const config = loadConfig([], environmentOf(container, releaseNamespace.name));
    expect(container.image).toBe('registry.example.com/switchyard:1.2.3');
    expect(config.runnerImage).toBe('registry.example.com/switchyard:1.2.4');
    expect(config.runnerImagePullPolicy).toBe('Always');
    expect(config.runnerImagePullSecrets).toEqual(['regcred', 'mirror']);
    const byDefault = operatorContainer(await renderChart(release, releaseNamespace.name));
    expect(loadConfig([], environmentOf(byDefault, releaseNamespace.name)).runnerImagePullSecrets).toEqual([]);
  });

  it('references the operator and runner images by digest when image.digest is set', async () => {
    const imageOf = async (options: string[]) => {
      const container = operatorContainer(await renderChart(release, releaseNamespace.name, options));
      return { operator: container.image, runner: loadConfig([], environmentOf(container, 'any')).runnerImage };
    };
    const repository = ['--set', 'image.repository=registry.example.com/switchyard', '--set', 'image.tag=1.2.3'];
    expect(await imageOf([...repository, '--set', `image.digest=${digest}`])).toEqual({
      operator: `registry.example.com/switchyard@${digest}`,
      runner: `registry.example.com/switchyard@${digest}`,
    });
    // A runner image of its own does not inherit the operator's digest, which names another image.
    expect(
      await imageOf([...repository, '--set', `image.digest=${digest}`, '--set', 'runner.image.tag=1.2.4']),
    ).toEqual({
      operator: `registry.example.com/switchyard@${digest}`,
      runner: 'registry.example.com/switchyard:1.2.4',
    });
    const runnerDigest = `sha256:${'f'.repeat(64)}`;
    expect(
      await imageOf([
        ...repository,
        '--set',
        'runner.image.repository=registry.example.com/runner',
        '--set',
        `runner.image.digest=${runnerDigest}`,
      ]),
    ).toEqual({
      operator: 'registry.example.com/switchyard:1.2.3',
      runner: `registry.example.com/runner@${runnerDigest}`,
    });
  });

  it('runs two replicas with probes, resources, the restricted security context and a disruption budget', async () => {
    const objects = await renderChart(release, releaseNamespace.name);
    const deployment = findObject<k8s.V1Deployment>(objects, 'Deployment');
    const pod = deployment.spec!.template.spec!;
    const container = pod.containers[0]!;
    expect(deployment.spec?.replicas).toBe(2);
    expect(pod.serviceAccountName).toBe(`${release}-switchyard`);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(container.ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
    expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(container.resources?.requests).toEqual({ cpu: '100m', memory: '128Mi' });
    expect(container.resources?.limits).toEqual({ memory: '256Mi' });
    // The entry point sizes the heap from the limit.
    expect(container.env?.find((variable) => variable.name === 'CONTAINER_MEMORY_LIMIT_MIB')?.valueFrom).toEqual({
      resourceFieldRef: { containerName: 'operator', resource: 'limits.memory', divisor: '1Mi' },
    });
    expect(container.volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);

    const selector = deployment.spec!.selector.matchLabels;
    const budget = findObject<k8s.V1PodDisruptionBudget>(objects, 'PodDisruptionBudget');
    expect(budget.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: selector } });
    const service = findObject<k8s.V1Service>(objects, 'Service', `${release}-switchyard-metrics`);
    expect(service.spec?.selector).toEqual(selector);
    expect(service.spec?.ports).toEqual([{ name: 'http-metrics', port: 8080, targetPort: 'http', protocol: 'TCP' }]);
  });

  it('renders a ServiceMonitor for the metrics Service only when serviceMonitor.enabled', async () => {
    const plain = await renderChart(release, releaseNamespace.name);
    expect(plain.filter((object) => object.kind === 'ServiceMonitor')).toEqual([]);
    const objects = await renderChart(release, releaseNamespace.name, [
      '--set',
      'serviceMonitor.enabled=true',
      '--set',
      'serviceMonitor.labels.release=prometheus',
    ]);
    const monitor = findObject<k8s.KubernetesObject & { spec: Record<string, unknown> }>(objects, 'ServiceMonitor');
    const service = findObject<k8s.V1Service>(objects, 'Service');
    expect(monitor.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(monitor.metadata?.labels?.release).toBe('prometheus');
    expect(monitor.spec).toEqual({
      selector: { matchLabels: service.spec!.selector },
      namespaceSelector: { matchNames: [releaseNamespace.name] },
      endpoints: [{ port: 'http-metrics', path: '/metrics', honorLabels: true, interval: '30s', scrapeTimeout: '10s' }],
    });
    expect(service.metadata?.labels).toMatchObject(service.spec!.selector!);
  });

  it('renders a PodMonitor for the watchers only when podMonitor.enabled, on the port and pods the operator makes', async () => {
    const plain = await renderChart(release, releaseNamespace.name);
    expect(plain.filter((object) => object.kind === 'PodMonitor')).toEqual([]);
    type PodMonitor = k8s.KubernetesObject & {
      spec: {
        selector: { matchLabels: Record<string, string> };
        namespaceSelector: Record<string, unknown>;
        podMetricsEndpoints: Record<string, unknown>[];
      };
    };
    const monitorOf = async (options: string[]) =>
      findObject<PodMonitor>(
        await renderChart(release, releaseNamespace.name, ['--set', 'podMonitor.enabled=true', ...options]),
        'PodMonitor',
      );
    const monitor = await monitorOf(['--set', 'podMonitor.labels.release=prometheus']);
    expect(monitor.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(monitor.metadata?.namespace).toBe(releaseNamespace.name);
    expect(monitor.metadata?.labels?.release).toBe('prometheus');
    expect(monitor.spec.namespaceSelector).toEqual({ any: true });
    expect(monitor.spec.podMetricsEndpoints).toEqual([
      { port: 'health', path: '/metrics', interval: '30s', scrapeTimeout: '10s' },
    ]);

    // It selects the watcher pods the operator builds, and only them, on their named port.
    const pods = runnerPods();
    const watcher = pods.find((pod) => pod.kind === 'Deployment')!;
    const selected = pods.filter((pod) => matches(monitor.spec.selector.matchLabels, pod.labels));
    expect(selected.map((pod) => pod.kind)).toEqual(['Deployment']);
    expect(watcher.ports).toContainEqual({ name: 'health', containerPort: watcherProbes.port });

    const scoped = await monitorOf(watchNamespacesOptions());
    expect(scoped.spec.namespaceSelector).toEqual({ matchNames: [merchantNamespace.name] });
  });

  it('renders the Grafana dashboard ConfigMap only when grafanaDashboard.enabled, for the Grafana sidecar', async () => {
    const plain = await renderChart(release, releaseNamespace.name);
    expect(plain.filter((object) => object.kind === 'ConfigMap')).toEqual([]);
    const objects = await renderChart(release, releaseNamespace.name, [
      '--set',
      'grafanaDashboard.enabled=true',
      '--set',
      'grafanaDashboard.annotations.grafana_folder=Switchyard',
    ]);
    const configMap = findObject<k8s.V1ConfigMap>(objects, 'ConfigMap', `${release}-switchyard-dashboard`);
    expect(configMap.metadata?.labels?.grafana_dashboard).toBe('1');
    expect(configMap.metadata?.annotations).toEqual({ grafana_folder: 'Switchyard' });
    expect(Object.keys(configMap.data ?? {})).toEqual(['switchyard.json']);
    expect(JSON.parse(configMap.data!['switchyard.json']!)).toEqual(
      JSON.parse(readFileSync(join(chartDir, 'files/dashboard.json'), 'utf8')),
    );
  });

  it('grants the operator a ClusterRole by default, and Roles only in the listed namespaces with watchNamespaces', async () => {
    const rbacKinds = ['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'];
    const rbacOf = (objects: k8s.KubernetesObject[]) =>
      objects
        .filter((object) => rbacKinds.includes(object.kind!))
        .map(describeObject)
        .sort();
    const prefix = `${release}-switchyard`;
    const ns = releaseNamespace.name;
    expect(rbacOf(await renderChart(release, ns))).toEqual(
      [
        `ClusterRole/${prefix}-operator`,
        `ClusterRoleBinding/${prefix}-operator`,
        `Role/${ns}/${prefix}-leader-election`,
        `RoleBinding/${ns}/${prefix}-leader-election`,
      ].sort(),
    );
    const listed = merchantNamespace.name;
    expect(rbacOf(await renderChart(release, ns, watchNamespacesOptions()))).toEqual(
      [
        `Role/${listed}/${prefix}-operator`,
        `Role/${ns}/${prefix}-leader-election`,
        `RoleBinding/${listed}/${prefix}-operator`,
        `RoleBinding/${ns}/${prefix}-leader-election`,
      ].sort(),
    );
  });
});

describe('the NetworkPolicies', () => {
  type Rule = { to?: Record<string, unknown>[]; from?: Record<string, unknown>[]; ports?: { port: number | string }[] };
  type Policy = k8s.V1NetworkPolicy & { spec: { podSelector: { matchLabels: Record<string, string> } } };
  const policiesOf = (objects: k8s.KubernetesObject[]) =>
    objects.filter((object): object is Policy => object.kind === 'NetworkPolicy');
  const portsOf = (rule: Rule) => (rule.ports ?? []).map((entry) => entry.port);

  it('are off by default, and need the runner namespaces and the API server addresses when on', async () => {
    expect(policiesOf(await renderChart(release, releaseNamespace.name))).toEqual([]);
    const cidrs = ['--set', 'networkPolicy.apiServer.cidrs={10.0.0.10/32}'];
    const hubStore = ['--set', 'networkPolicy.hubStore.to[0].ipBlock.cidr=10.20.0.5/32'];
    const withoutNamespaces = await helmResult([
      'template',
      release,
      chartDir,
      '--set',
      'networkPolicy.enabled=true',
      ...cidrs,
      ...hubStore,
    ]);
    expect(withoutNamespaces.code).not.toBe(0);
    expect(withoutNamespaces.stderr).toContain('networkPolicy.enabled needs networkPolicy.runnerNamespaces');
    // watchNamespaces serves as the runner namespaces.
    const fromWatched = policiesOf(
      await renderChart(release, releaseNamespace.name, [
        '--set',
        'networkPolicy.enabled=true',
        ...cidrs,
        ...hubStore,
        ...watchNamespacesOptions(),
      ]),
    );
    expect(fromWatched.map(describeObject).sort()).toEqual(
      [
        `NetworkPolicy/${merchantNamespace.name}/${release}-switchyard-runner`,
        `NetworkPolicy/${releaseNamespace.name}/${release}-switchyard-operator`,
      ].sort(),
    );
  });

  it('let the operator reach DNS and the API server only, and be scraped on its HTTP port', async () => {
    const objects = await renderChart(release, releaseNamespace.name, networkPolicyOptions());
    const operator = policiesOf(objects).find((policy) => policy.metadata?.namespace === releaseNamespace.name)!;
    const deployment = findObject<k8s.V1Deployment>(objects, 'Deployment');
    expect(operator.spec.podSelector.matchLabels).toEqual(deployment.spec!.selector.matchLabels);
    expect(operator.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    const egress = operator.spec.egress as Rule[];
    expect(egress.map(portsOf)).toEqual([
      [53, 53],
      [443, 6443],
    ]);
    expect(egress[1]!.to).toEqual([{ ipBlock: { cidr: '10.0.0.10/32' } }]);
    const ingress = operator.spec.ingress as Rule[];
    expect(ingress).toEqual([{ ports: [{ protocol: 'TCP', port: 'http' }] }]);
    expect(deployment.spec!.template.spec!.containers[0]!.ports?.map((port) => port.name)).toEqual(['http']);
  });

  it('let every runner pod reach DNS, the API server, the hub store and the endpoints only', async () => {
    const objects = await renderChart(release, releaseNamespace.name, [
      ...networkPolicyOptions(),
      '--set',
      'networkPolicy.endpoints.to[0].ipBlock.cidr=203.0.113.0/24',
      '--set',
      'networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.name=monitoring',
    ]);
    const runner = policiesOf(objects).find((policy) => policy.metadata?.namespace === merchantNamespace.name)!;
    // Every runner workload the operator builds is selected, the operator's own pods are not.
    for (const pod of runnerPods())
      expect(matches(runner.spec.podSelector.matchLabels, pod.labels), pod.kind).toBe(true);
    const operatorPod = findObject<k8s.V1Deployment>(objects, 'Deployment').spec!.template.metadata!.labels!;
    expect(matches(runner.spec.podSelector.matchLabels, operatorPod)).toBe(false);

    const egress = runner.spec.egress as Rule[];
    expect(egress.map(portsOf)).toEqual([[53, 53], [443, 6443], [5432], [443]]);
    expect(egress.slice(1).map((rule) => rule.to)).toEqual([
      [{ ipBlock: { cidr: '10.0.0.10/32' } }],
      [{ ipBlock: { cidr: '10.20.0.5/32' } }],
      [{ ipBlock: { cidr: '203.0.113.0/24' } }],
    ]);
    expect(runner.spec.ingress).toEqual([
      {
        ports: [{ protocol: 'TCP', port: 'health' }],
        from: [{ namespaceSelector: { matchLabels: { name: 'monitoring' } } }],
      },
    ]);
  });

  it('leave the endpoints open to every address on their ports when none are listed, and to every port when none are', async () => {
    const egressOf = async (options: string[]) => {
      const objects = await renderChart(release, releaseNamespace.name, [...networkPolicyOptions(), ...options]);
      const runner = policiesOf(objects).find((policy) => policy.metadata?.namespace === merchantNamespace.name)!;
      return (runner.spec.egress as Rule[]).at(-1);
    };
    expect(await egressOf([])).toEqual({ ports: [{ protocol: 'TCP', port: 443 }] });
    expect(await egressOf(['--set', 'networkPolicy.endpoints.ports=null'])).toEqual({});
  });

  it('are admitted by the API server', async () => {
    const manifests = await helm([
      'template',
      release,
      chartDir,
      '--namespace',
      releaseNamespace.name,
      '--show-only',
      'templates/networkpolicy.yaml',
      ...networkPolicyOptions(),
      '--set',
      'networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.name=monitoring',
    ]);
    const applied = await kubectlResult(['apply', '--server-side', '--field-manager=chart-test', '-f', '-'], manifests);
    expect(applied.stderr).toBe('');
    expect(applied.stdout.trim().split('\n').sort()).toEqual([
      `networkpolicy.networking.k8s.io/${release}-switchyard-operator serverside-applied`,
      `networkpolicy.networking.k8s.io/${release}-switchyard-runner serverside-applied`,
    ]);
    const stored = await kubectl([
      'get',
      'networkpolicy',
      `${release}-switchyard-runner`,
      '-n',
      merchantNamespace.name,
      '-o',
      'jsonpath={.spec.egress[*].ports[*].port}',
    ]);
    expect(stored).toBe('53 53 443 6443 5432 443');
  });
});

describe('values.schema.json', () => {
  it('fails helm install on a wrong value with a message naming it, and installs nothing', async () => {
    const result = await helmResult([
      'install',
      release,
      chartDir,
      '--namespace',
      releaseNamespace.name,
      '--set',
      'image.pullPolicy=Sometimes',
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("at '/image/pullPolicy': value must be one of 'Always', 'IfNotPresent', 'Never'");
    expect(await helm(['list', '--namespace', releaseNamespace.name, '--all', '--short'])).toBe('');
  });

  it.each([
    [['--set', 'replicas=3'], "additional properties 'replicas' not allowed"],
    [['--set', 'watchNamespaces={Shops}'], "at '/watchNamespaces/0'"],
    [['--set', 'runner.resources.limits.memory=lots'], "at '/runner/resources/limits/memory'"],
    [['--set', 'runner.resources.requests.cpu=1e3'], "at '/runner/resources/requests/cpu'"],
    [['--set', 'hubStore.createSecretIn={shops}'], "at '/hubStore/url'"],
    [['--set', 'operator.leaderElection=false'], 'replicaCount above 1 needs operator.leaderElection'],
    [['--set', 'image.digest=latest'], "at '/image/digest'"],
    [['--set', 'runner.image.digest=sha256:abc'], "at '/runner/image/digest'"],
    [['--set', 'crds.install=yes'], "at '/crds/install'"],
    [['--set', 'networkPolicy.enabled=true'], "at '/networkPolicy/apiServer/cidrs'"],
    [['--set', 'networkPolicy.apiServer.cidrs={10.0.0.1}'], "at '/networkPolicy/apiServer/cidrs/0'"],
    [['--set', 'networkPolicy.hubStore.to[0].ipblock.cidr=10.0.0.1/32'], "at '/networkPolicy/hubStore/to/0'"],
    [['--set', 'grafanaDashboard.label=x'], "additional properties 'label' not allowed"],
  ])('rejects %j: %s', async (options, message) => {
    const result = await helmResult(['template', release, chartDir, ...options]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(message);
  });
});

describe('helm install and upgrade', () => {
  it('install the chart into the cluster, and upgrade it with changed values', async () => {
    const namespace = releaseNamespace.name;
    // The cluster's CRDs belong to the test setup, as they would to another release: crd-upgrade.test.ts installs them.
    const installed = await helm([
      'install',
      release,
      chartDir,
      '--namespace',
      namespace,
      '--set',
      'crds.install=false',
      '--wait',
      '--timeout',
      '90s',
    ]);
    expect(installed).toMatch(/STATUS: deployed/);
    expect(installed).toContain('kubectl create secret generic switchyard-hub-store -n NS');
    expect(installed).toContain('kubectl get merchants,carts -n NS');
    // The notes name no file of a repository checkout: they must read the same for a chart from a repository.
    const { home } = parseYaml(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as { home: string };
    expect(installed).toContain(`${home}/blob/main/docs/monitoring.md`);
    expect(installed).not.toMatch(/ (config|docs|crds)\/\S+/);
    const names = (
      await kubectl([
        'get',
        'deployment,serviceaccount,service,poddisruptionbudget,role,rolebinding',
        '-n',
        namespace,
        '-o',
        'name',
        '-l',
        `app.kubernetes.io/instance=${release}`,
      ])
    )
      .trim()
      .split('\n')
      .sort();
    expect(names).toEqual([
      `deployment.apps/${release}-switchyard`,
      `poddisruptionbudget.policy/${release}-switchyard`,
      `role.rbac.authorization.k8s.io/${release}-switchyard-leader-election`,
      `rolebinding.rbac.authorization.k8s.io/${release}-switchyard-leader-election`,
      `service/${release}-switchyard-metrics`,
      `serviceaccount/${release}-switchyard`,
    ]);
    const clusterWide = await kubectl([
      'get',
      'clusterrole,clusterrolebinding',
      '-o',
      'name',
      '-l',
      `app.kubernetes.io/instance=${release}`,
    ]);
    expect(clusterWide.trim().split('\n').sort()).toEqual([
      `clusterrole.rbac.authorization.k8s.io/${release}-switchyard-operator`,
      `clusterrolebinding.rbac.authorization.k8s.io/${release}-switchyard-operator`,
    ]);

    await helm([
      'upgrade',
      release,
      chartDir,
      '--namespace',
      namespace,
      '--reuse-values',
      '--set',
      'replicaCount=3',
      '--set',
      'operator.logLevel=debug',
      '--wait',
      '--timeout',
      '90s',
    ]);
    const history = JSON.parse(await helm(['history', release, '--namespace', namespace, '--output', 'json'])) as {
      revision: number;
      status: string;
    }[];
    expect(history.map(({ revision, status }) => [revision, status])).toEqual([
      [1, 'superseded'],
      [2, 'deployed'],
    ]);
    const deployment = await apps.readNamespacedDeployment({ namespace, name: `${release}-switchyard` });
    expect(deployment.spec?.replicas).toBe(3);
    const environment = environmentOf(deployment.spec!.template.spec!.containers[0]!, namespace);
    expect(environment.SWITCHYARD_LOG_LEVEL).toBe('debug');
  });
});
