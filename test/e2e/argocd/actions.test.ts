// Argo CD resource actions (config/argocd/argocd-cm-actions.yaml): Run now, Retry failed records now, Suspend and
// Resume on Merchants and Carts. The scripts run under lua5.1 in the environment Argo CD gives them (lua.ts); on the
// API server, their output goes in as the merge patch Argo CD makes of it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type * as k8s from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { retryRequestedAtAnnotation, runRequestedAtAnnotation } from '../../../operator/api/v1alpha1/annotations.ts';
import { repoRoot } from '../../cluster/local-cluster.ts';
import { kubectl, useTestNamespace } from '../support/cluster.ts';
import { applyYaml, cartYaml, getOwner, merchantYaml } from '../support/switchyard.ts';
import { discoverActions, ensureLua, runAction, runArgoCdScript } from './lua.ts';

type Kind = 'Merchant' | 'Cart';
const kinds: Kind[] = ['Merchant', 'Cart'];

/** The value of `resource.customizations.actions.<group_kind>`, as Argo CD reads it (ResourceActions). */
interface ResourceActions {
  'discovery.lua': string;
  definitions: { name: string; 'action.lua': string }[];
}

const actionsConfig = parse(
  readFileSync(join(repoRoot, 'config/argocd/argocd-cm-actions.yaml'), 'utf8'),
) as k8s.V1ConfigMap;
const actionsKey = (kind: Kind) => `resource.customizations.actions.switchyard.dev_${kind}`;
const actionsOf = (kind: Kind) => parse(actionsConfig.data?.[actionsKey(kind)] ?? '') as ResourceActions;
const discoveryOf = (kind: Kind) => actionsOf(kind)['discovery.lua'];
function actionScript(kind: Kind, name: string): string {
  const definition = actionsOf(kind).definitions.find((candidate) => candidate.name === name);
  if (!definition) throw new Error(`no action ${name} for ${kind}`);
  return definition['action.lua'];
}

// os.date("!%Y-%m-%dT%H:%M:%SZ"): UTC, to the second.
const requestTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** A Merchant or Cart as Argo CD reads it from the API server: defaults filled in, managed fields, a status. */
function served(kind: Kind, { suspend = false, annotations }: { suspend?: boolean; annotations?: object } = {}) {
  const spec =
    kind === 'Merchant'
      ? { suspend, timeZone: 'UTC', warehouse: { url: 'https://wms.example.com/api' } }
      : { suspend, merchantRef: { name: 'acme' }, platform: { url: 'https://cart.example.com/api' } };
  return {
    apiVersion: 'switchyard.dev/v1alpha1',
    kind,
    metadata: {
      name: 'acme',
      namespace: 'shops',
      uid: '6f1c1d0e-3b7a-4f35-9d55-2f0c8e7f4a10',
      generation: 3,
      resourceVersion: '4711',
      creationTimestamp: '2026-05-04T10:00:00Z',
      ...(annotations && { annotations }),
      // Managed fields are full of empty objects, which Lua hands back as empty tables.
      managedFields: [
        {
          manager: 'argocd-controller',
          operation: 'Apply',
          apiVersion: 'switchyard.dev/v1alpha1',
          time: '2026-05-04T10:00:00Z',
          fieldsType: 'FieldsV1',
          fieldsV1: { 'f:spec': { 'f:suspend': {}, 'f:services': {} } },
        },
      ],
    },
    spec: { ...spec, services: { orderDelivery: { schedule: '10m', suspend: false, batchSize: 100 } } },
    status: {
      observedGeneration: 3,
      failedRecords: 0,
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: suspend ? 'Suspended' : 'Reconciled',
          message: 'Every workload is as declared',
          lastTransitionTime: '2026-05-04T10:00:05Z',
          observedGeneration: 3,
        },
      ],
    },
  };
}

type Served = ReturnType<typeof served>;
const withAnnotations = (object: Served, annotations: Record<string, string>): Served => ({
  ...object,
  metadata: { ...object.metadata, annotations: { ...object.metadata.annotations, ...annotations } },
});
const withSuspend = (object: Served, suspend: boolean): Served => ({ ...object, spec: { ...object.spec, suspend } });

/** Whether each action is disabled, by name. */
async function disabledActions(kind: Kind, object: unknown): Promise<Record<string, boolean>> {
  const discovered = await discoverActions(discoveryOf(kind), object);
  return Object.fromEntries(Object.entries(discovered).map(([name, action]) => [name, action.disabled]));
}

const namespace = useTestNamespace('argocd-actions');

beforeAll(() => {
  ensureLua();
});

describe('config/argocd/argocd-cm-actions.yaml', () => {
  it('holds one set of actions for both kinds, in a ConfigMap the API server accepts', async () => {
    expect(actionsConfig.data?.[actionsKey('Cart')]).toBe(actionsConfig.data?.[actionsKey('Merchant')]);
    expect(actionsOf('Merchant').definitions.map((definition) => definition.name)).toEqual([
      'run-now',
      'retry-now',
      'suspend',
      'resume',
    ]);
    const inTestNamespace = { ...actionsConfig, metadata: { ...actionsConfig.metadata, namespace: namespace.name } };
    const result = await kubectl(['apply', '--dry-run=server', '-f', '-'], JSON.stringify(inTestNamespace));
    expect(result.trim()).toBe('configmap/argocd-cm created (server dry run)');
  });
});

describe('the Lua environment of these tests', () => {
  it("is Argo CD's: no string library, no string methods, only os.date and os.time", async () => {
    await expect(runArgoCdScript('return { text = string.format("%d", 1) }', {})).rejects.toThrow(/string/);
    await expect(runArgoCdScript('return { text = ("run"):upper() }', {})).rejects.toThrow(
      /attempt to index a string value/,
    );
    await expect(
      runArgoCdScript('return { exit = type(os.exit), io = type(io), math = type(math) }', {}),
    ).resolves.toEqual({ exit: 'nil', io: 'nil', math: 'nil' });
    await expect(
      runArgoCdScript('return { time = require("os").time() }', {}, { now: new Date(5_000) }),
    ).resolves.toEqual({ time: 5 });
  });
});

describe.each(kinds)('discovery for a %s', (kind) => {
  it('offers Run now, Retry failed records now and Suspend while it runs; not Resume', async () => {
    const running = { 'run-now': false, 'retry-now': false, suspend: false, resume: true };
    expect(await disabledActions(kind, served(kind))).toEqual(running);
    const { suspend: _, ...noSuspendField } = served(kind).spec;
    expect(await disabledActions(kind, { ...served(kind), spec: noSuspendField })).toEqual(running);
  });

  it('offers only Resume while it is suspended', async () => {
    expect(await disabledActions(kind, served(kind, { suspend: true }))).toEqual({
      'run-now': true,
      'retry-now': true,
      suspend: true,
      resume: false,
    });
  });

  it('names every action it defines, each with a display name and an icon', async () => {
    const discovered = await discoverActions(discoveryOf(kind), served(kind));
    expect(Object.keys(discovered).sort()).toEqual(
      actionsOf(kind)
        .definitions.map(({ name }) => name)
        .sort(),
    );
    for (const action of Object.values(discovered)) {
      expect(action.displayName).toBeTruthy();
      expect(action.iconClass).toMatch(/^fa fa-fw fa-/);
    }
  });
});

describe.each(kinds)('the actions on a %s', (kind) => {
  const now = new Date('2026-05-04T12:00:00.700Z');

  it(`run-now sets ${runRequestedAtAnnotation} to the time, and changes nothing else`, async () => {
    const fresh = served(kind);
    expect(await runAction(actionScript(kind, 'run-now'), fresh, { now })).toEqual(
      withAnnotations(fresh, { [runRequestedAtAnnotation]: '2026-05-04T12:00:00Z' }),
    );
    const tracked = served(kind, {
      annotations: { 'argocd.argoproj.io/tracking-id': 'shops:switchyard.dev/Merchant:shops/acme' },
    });
    const requested = withAnnotations(tracked, { [runRequestedAtAnnotation]: '2026-05-04T11:00:00Z' });
    expect(await runAction(actionScript(kind, 'run-now'), requested, { now })).toEqual(
      withAnnotations(tracked, { [runRequestedAtAnnotation]: '2026-05-04T12:00:00Z' }),
    );
  });

  it(`retry-now sets ${retryRequestedAtAnnotation} to the time, and changes nothing else`, async () => {
    const requested = withAnnotations(served(kind), { [runRequestedAtAnnotation]: '2026-05-04T11:00:00Z' });
    expect(await runAction(actionScript(kind, 'retry-now'), requested, { now })).toEqual(
      withAnnotations(requested, { [retryRequestedAtAnnotation]: '2026-05-04T12:00:00Z' }),
    );
    expect(await runAction(actionScript(kind, 'retry-now'), served(kind), { now })).toEqual(
      withAnnotations(served(kind), { [retryRequestedAtAnnotation]: '2026-05-04T12:00:00Z' }),
    );
  });

  it('run-now and retry-now a second later are new requests: a new value', async () => {
    const later = new Date(now.getTime() + 1000);
    for (const [action, annotation] of [
      ['run-now', runRequestedAtAnnotation],
      ['retry-now', retryRequestedAtAnnotation],
    ] as const) {
      const first = (await runAction(actionScript(kind, action), served(kind), { now })) as Served;
      const second = (await runAction(actionScript(kind, action), first, { now: later })) as Served;
      expect(first.metadata.annotations).toEqual({ [annotation]: '2026-05-04T12:00:00Z' });
      expect(second.metadata.annotations).toEqual({ [annotation]: '2026-05-04T12:00:01Z' });
    }
  });

  it("run-now on Argo CD's clock: the current time, in UTC, to the second", async () => {
    const before = new Date(Math.floor(Date.now() / 1000) * 1000);
    const requested = (await runAction(actionScript(kind, 'run-now'), served(kind))) as Served;
    const after = new Date();
    const value = (requested.metadata.annotations as Record<string, string>)[runRequestedAtAnnotation]!;
    expect(value).toMatch(requestTime);
    expect(new Date(value).getTime()).toBeGreaterThanOrEqual(before.getTime());
    expect(new Date(value).getTime()).toBeLessThanOrEqual(after.getTime());
  });

  it('suspend sets spec.suspend, resume clears it, and neither changes anything else', async () => {
    const running = served(kind);
    const suspended = withSuspend(running, true);
    expect(await runAction(actionScript(kind, 'suspend'), running)).toEqual(suspended);
    expect(await runAction(actionScript(kind, 'resume'), suspended)).toEqual(running);
  });
});

// What Argo CD sends the API server for an action (server/application/application.go, patchResource): a JSON merge
// patch (RFC 7386) from the live object to the action's output.
function createMergePatch(from: Record<string, unknown>, to: Record<string, unknown>): Record<string, unknown> {
  const isObject = (value: unknown): value is Record<string, unknown> =>
    typeof value === 'object' && value !== null && !Array.isArray(value);
  const patch: Record<string, unknown> = {};
  for (const key of Object.keys(from)) if (!(key in to)) patch[key] = null;
  for (const [key, value] of Object.entries(to)) {
    const before = from[key];
    if (isObject(value) && isObject(before)) {
      const inner = createMergePatch(before, value);
      if (Object.keys(inner).length > 0) patch[key] = inner;
    } else if (!isDeepStrictEqual(value, before)) patch[key] = value;
  }
  return patch;
}

describe('the actions on the API server, as Argo CD runs them', () => {
  beforeAll(async () => {
    await applyYaml(
      namespace.name,
      [merchantYaml('acme', { inventory: '1h' }), cartYaml('acme-web', 'acme', { orderDownload: '15m' })].join('---\n'),
    );
  });

  /** Runs an action on the live object as Argo CD does: discovery must offer it; the merge patch goes to the server. */
  async function runOnServer(kind: Kind, name: string, action: string): Promise<Record<string, unknown>> {
    const live = await getOwner(kind, namespace.name, name);
    expect((await discoverActions(discoveryOf(kind), live))[action]?.disabled, action).toBe(false);
    const updated = (await runAction(actionScript(kind, action), live)) as Record<string, unknown>;
    const patch = createMergePatch(live as unknown as Record<string, unknown>, updated);
    await kubectl([
      'patch',
      kind.toLowerCase(),
      name,
      '-n',
      namespace.name,
      '--type',
      'merge',
      '-p',
      JSON.stringify(patch),
    ]);
    return patch;
  }

  it.each([
    ['Merchant', 'acme'],
    ['Cart', 'acme-web'],
  ] as const)('a %s takes each action, which changes only its own field', async (kind, name) => {
    const annotationPatch = (annotation: string) => ({
      metadata: { annotations: { [annotation]: expect.stringMatching(requestTime) as unknown } },
    });

    expect(await runOnServer(kind, name, 'run-now')).toEqual(annotationPatch(runRequestedAtAnnotation));
    expect(await runOnServer(kind, name, 'retry-now')).toEqual(annotationPatch(retryRequestedAtAnnotation));
    const requested = await getOwner(kind, namespace.name, name);
    expect(requested.metadata.annotations?.[runRequestedAtAnnotation]).toMatch(requestTime);
    expect(requested.metadata.annotations?.[retryRequestedAtAnnotation]).toMatch(requestTime);

    expect(await runOnServer(kind, name, 'suspend')).toEqual({ spec: { suspend: true } });
    const suspended = await getOwner(kind, namespace.name, name);
    expect(suspended.spec.suspend).toBe(true);
    expect(suspended.metadata.generation).toBe(requested.metadata.generation! + 1);
    expect(await disabledActions(kind, suspended)).toEqual({
      'run-now': true,
      'retry-now': true,
      suspend: true,
      resume: false,
    });

    expect(await runOnServer(kind, name, 'resume')).toEqual({ spec: { suspend: false } });
    const resumed = await getOwner(kind, namespace.name, name);
    expect(resumed.spec.suspend).toBe(false);
    expect(resumed.metadata.annotations).toEqual(requested.metadata.annotations);
  });
});
