// The Helm chart: it lints, what it renders is accepted by the API server, its CRDs are the generated ones, its
// settings are ones the operator accepts, a wrong value fails at install, and install and upgrade succeed.
import { execFile } from 'node:child_process';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type * as k8s from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, usage } from '../../../operator/config.ts';
import { repoRoot } from '../../cluster/local-cluster.ts';
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

describe('helm lint', () => {
  it('passes --strict with the default values and with watchNamespaces', async () => {
    expect(await helm(['lint', '--strict', chartDir])).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    expect(await helm(['lint', '--strict', chartDir, ...watchNamespacesOptions()])).toMatch(/0 chart\(s\) failed/);
  });
});

describe('the rendered chart', () => {
  it('passes kubectl apply --dry-run=server, CRDs included, cluster-wide and with watchNamespaces', async () => {
    // The optional hub-store Secret is rendered too, so that it is checked as well.
    const hubStoreSecret = ['--set', `hubStore.createSecretIn={${merchantNamespace.name}}`];
    for (const variant of [[], watchNamespacesOptions()]) {
      const manifests = await helm([
        'template',
        release,
        chartDir,
        '--namespace',
        releaseNamespace.name,
        '--include-crds',
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

  it('installs the CRDs that npm run generate writes, through a symlink that helm package resolves', async () => {
    const crds = join(chartDir, 'crds');
    expect(lstatSync(crds).isSymbolicLink()).toBe(true);
    expect(readlinkSync(crds)).toBe('../../crds');
    const generated = readdirSync(join(repoRoot, 'crds')).filter((file) => file.endsWith('.yaml'));
    expect(generated.sort()).toEqual(['switchyard.dev_carts.yaml', 'switchyard.dev_merchants.yaml']);

    const workDir = mkdtempSync(join(tmpdir(), 'switchyard-chart-'));
    await helm(['package', chartDir, '--destination', workDir]);
    await run('tar', ['-xzf', join(workDir, 'switchyard-0.1.0.tgz'), '-C', workDir]);
    const packagedCrds = join(workDir, 'switchyard/crds');
    expect(lstatSync(packagedCrds).isDirectory()).toBe(true);
    expect(readdirSync(packagedCrds).sort()).toEqual(generated);
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
      endpoints: [
        { port: 'http-metrics', path: '/metrics', honorLabels: true, interval: '30s', scrapeTimeout: '10s' },
      ],
    });
    expect(service.metadata?.labels).toMatchObject(service.spec!.selector!);
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
  ])('rejects %j: %s', async (options, message) => {
    const result = await helmResult(['template', release, chartDir, ...options]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(message);
  });
});

describe('helm install and upgrade', () => {
  it('install the chart into the cluster, and upgrade it with changed values', async () => {
    const namespace = releaseNamespace.name;
    const installed = await helm([
      'install',
      release,
      chartDir,
      '--namespace',
      namespace,
      '--wait',
      '--timeout',
      '90s',
    ]);
    expect(installed).toMatch(/STATUS: deployed/);
    expect(installed).toContain('kubectl create secret generic switchyard-hub-store -n NS');
    expect(installed).toContain('kubectl get merchants,carts -n NS');
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
