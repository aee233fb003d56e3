// The CRDs are templates of the chart, so `helm upgrade` brings them up to date: an older chart whose Merchant CRD lacks
// a printer column is installed, the current chart upgrades it, and the cluster's CRD has the column. Helm's crds/
// folder would have left the old CRD in place. The CRDs stay when the release stops rendering them or is uninstalled
// (`helm.sh/resource-policy: keep`): checked on the live CRDs before each step that would otherwise delete them, since
// deleting a CRD deletes every Merchant and Cart of the cluster, other tests' included.
//
// The cluster is shared: the older CRD differs from the current one only in a printer column, which changes what
// `kubectl get` prints and nothing any other test relies on.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, parseDocument } from 'yaml';
import { repoRoot } from '../../cluster/local-cluster.ts';
import { kubectl, useTestNamespace } from '../support/cluster.ts';
import { chartDir, helm, helmResult, uniqueReleaseName } from './helm.ts';

const run = promisify(execFile);
const releaseNamespace = useTestNamespace('crds');
const release = uniqueReleaseName('crds');
const merchantsCrd = 'merchants.switchyard.dev';
const droppedColumn = 'Delivered';
const currentVersion = (parseYaml(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as { version: string }).version;
const olderVersion = `${currentVersion}-older`;
let olderChart: string;

/** The chart as packaged (files/crds resolved), one version older, its Merchant CRD without one printer column. */
async function buildOlderChart(): Promise<string> {
  const workDir = mkdtempSync(join(tmpdir(), 'switchyard-older-chart-'));
  await helm(['package', chartDir, '--destination', workDir]);
  await run('tar', ['-xzf', join(workDir, `switchyard-${currentVersion}.tgz`), '-C', workDir]);
  const chart = join(workDir, 'switchyard');
  const chartYaml = parseDocument(readFileSync(join(chart, 'Chart.yaml'), 'utf8'));
  chartYaml.set('version', olderVersion);
  writeFileSync(join(chart, 'Chart.yaml'), chartYaml.toString());
  const crdFile = join(chart, 'files/crds/switchyard.dev_merchants.yaml');
  const crd = parseYaml(readFileSync(crdFile, 'utf8')) as k8s.V1CustomResourceDefinition;
  const version = crd.spec.versions[0]!;
  version.additionalPrinterColumns = version.additionalPrinterColumns!.filter(
    (column) => column.name !== droppedColumn,
  );
  writeFileSync(crdFile, JSON.stringify(crd));
  return chart;
}

async function liveCrd(name: string): Promise<k8s.V1CustomResourceDefinition> {
  return JSON.parse(await kubectl(['get', 'crd', name, '-o', 'json'])) as k8s.V1CustomResourceDefinition;
}

const columnsOf = (crd: k8s.V1CustomResourceDefinition) =>
  crd.spec.versions[0]!.additionalPrinterColumns!.map((column) => column.name);

/** Fails the test, before a step that would delete unkept CRDs, unless both live CRDs carry the keep policy. */
async function expectKept(): Promise<void> {
  for (const name of [merchantsCrd, 'carts.switchyard.dev']) {
    expect((await liveCrd(name)).metadata?.annotations?.['helm.sh/resource-policy'], name).toBe('keep');
  }
  expect(await helm(['get', 'manifest', release, '--namespace', releaseNamespace.name])).toContain(
    'helm.sh/resource-policy: keep',
  );
}

beforeAll(async () => {
  olderChart = await buildOlderChart();
});

afterAll(async () => {
  await helmResult(['uninstall', release, '--namespace', releaseNamespace.name]);
});

describe('CRDs as templates of the chart', () => {
  it('are brought up to date by helm upgrade, and kept when no longer rendered and on uninstall', async () => {
    const namespace = releaseNamespace.name;
    const generated = parseYaml(
      readFileSync(join(repoRoot, 'crds/switchyard.dev_merchants.yaml'), 'utf8'),
    ) as k8s.V1CustomResourceDefinition;
    expect(columnsOf(generated)).toContain(droppedColumn);

    // The cluster has the CRDs already (the test setup applied them, or another release of the chart owns them):
    // taking them over is what upgrading from chart 0.1, which installed them from crds/, takes too.
    await helm(['install', release, olderChart, '--namespace', namespace, '--take-ownership']);
    const older = await liveCrd(merchantsCrd);
    expect(columnsOf(older)).not.toContain(droppedColumn);
    expect(older.metadata?.labels?.['helm.sh/chart']).toBe(`switchyard-${olderVersion}`);
    expect(older.metadata?.annotations).toMatchObject({
      'meta.helm.sh/release-name': release,
      'meta.helm.sh/release-namespace': namespace,
      'helm.sh/resource-policy': 'keep',
    });

    await helm(['upgrade', release, chartDir, '--namespace', namespace]);
    const upgraded = await liveCrd(merchantsCrd);
    expect(columnsOf(upgraded)).toEqual(columnsOf(generated));
    expect(upgraded.metadata?.labels?.['helm.sh/chart']).toBe(`switchyard-${currentVersion}`);
    expect(upgraded.metadata?.uid).toBe(older.metadata?.uid);

    // A release that stops rendering the CRDs leaves them, as does uninstalling it.
    await expectKept();
    await helm([
      'upgrade',
      release,
      chartDir,
      '--namespace',
      namespace,
      '--reuse-values',
      '--set',
      'crds.install=false',
    ]);
    expect(await helm(['get', 'manifest', release, '--namespace', namespace])).not.toContain(
      'kind: CustomResourceDefinition',
    );
    expect((await liveCrd(merchantsCrd)).metadata?.uid).toBe(older.metadata?.uid);
    await helm([
      'upgrade',
      release,
      chartDir,
      '--namespace',
      namespace,
      '--reuse-values',
      '--set',
      'crds.install=true',
    ]);
    await expectKept();
    await helm(['uninstall', release, '--namespace', namespace]);
    expect((await liveCrd(merchantsCrd)).metadata?.uid).toBe(older.metadata?.uid);
  });
});
