// The command line and the environment contract: what a bad value says, and that secrets are never echoed.
import { describe, expect, it } from 'vitest';
import { runnerEnv } from '../../../operator/api/runner-environment.ts';
import { parseCommandLine, parseRunnerConfig } from '../../../operator/runner/config.ts';

const merchantEnvironment = {
  [runnerEnv.ownerKind]: 'Merchant',
  [runnerEnv.ownerName]: 'acme',
  [runnerEnv.namespace]: 'shop',
  [runnerEnv.merchant]: 'acme',
  [runnerEnv.service]: 'orderDelivery',
  [runnerEnv.batchSize]: '100',
  [runnerEnv.endpointType]: 'http',
  [runnerEnv.endpointUrl]: 'https://wms.example/api',
  [runnerEnv.endpointToken]: 's3cret-token',
  [runnerEnv.databaseUrl]: 'postgresql://hub:db-password@postgres:5432/hub',
};
const orderDelivery = { mode: 'run', service: 'orderDelivery' } as const;

function errorsOf(
  env: Record<string, string | undefined>,
  commandLine: Parameters<typeof parseRunnerConfig>[0] = orderDelivery,
) {
  const parsed = parseRunnerConfig(commandLine, env);
  return parsed.ok ? [] : parsed.errors;
}

describe('the command line', () => {
  it('takes a mode and --service', () => {
    expect(parseCommandLine(['watch', '--service', 'shipmentUpload'])).toEqual({
      ok: true,
      value: { mode: 'watch', service: 'shipmentUpload' },
    });
  });

  it.each([
    [[], /expected exactly one mode/],
    [['sync', '--service', 'orderDelivery'], /expected exactly one mode/],
    [['run'], /--service must be one of/],
    [['run', '--service', 'orders'], /--service must be one of/],
    [['run', '--service', 'orderDelivery', '--verbose'], /Unknown option '--verbose'/],
  ])('refuses %j with a usage line', (argv, message) => {
    const parsed = parseCommandLine(argv);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.errors.join('\n')).toMatch(message);
      expect(parsed.errors.at(-1)).toMatch(/^usage: switchyard-runner <run\|watch\|cleanup> --service/);
    }
  });
});

describe('the environment', () => {
  it('gives a complete configuration with defaults for the optional variables', () => {
    const parsed = parseRunnerConfig(orderDelivery, merchantEnvironment);
    expect(parsed).toEqual({
      ok: true,
      value: {
        mode: 'run',
        service: 'orderDelivery',
        owner: { kind: 'Merchant', namespace: 'shop', name: 'acme' },
        merchant: 'acme',
        batchSize: 100,
        endpoint: { type: 'http', url: 'https://wms.example/api', token: 's3cret-token' },
        databaseUrl: 'postgresql://hub:db-password@postgres:5432/hub',
        logLevel: 'info',
        leaseMs: 300_000,
        sweepMs: 30_000,
        requestTimeoutMs: 30_000,
      },
    });
  });

  it('treats an empty token as no token', () => {
    const parsed = parseRunnerConfig(orderDelivery, { ...merchantEnvironment, [runnerEnv.endpointToken]: '' });
    expect(parsed.ok && parsed.value.endpoint).toEqual({ type: 'http', url: 'https://wms.example/api' });
  });

  it.each([
    [runnerEnv.batchSize, '0', 'SWITCHYARD_BATCH_SIZE must be a whole number from 1 to 10000'],
    [runnerEnv.batchSize, 'lots', 'SWITCHYARD_BATCH_SIZE must be a whole number from 1 to 10000'],
    [runnerEnv.batchSize, undefined, 'SWITCHYARD_BATCH_SIZE is required and must be a whole number from 1 to 10000'],
    [runnerEnv.ownerKind, 'Store', 'SWITCHYARD_OWNER_KIND must be Merchant or Cart'],
    [runnerEnv.namespace, 'Shop_1', 'SWITCHYARD_NAMESPACE must be a namespace name (lowercase letters, digits and -)'],
    [
      runnerEnv.endpointUrl,
      'ftp://wms.example',
      'SWITCHYARD_ENDPOINT_URL must be a URL starting with http:// or https://',
    ],
    [runnerEnv.endpointType, 'ftp', 'SWITCHYARD_ENDPOINT_TYPE must be http'],
    [runnerEnv.endpointToken, 'abc\r\nX-Evil: 1', 'SWITCHYARD_ENDPOINT_TOKEN must not contain line breaks'],
    [
      runnerEnv.databaseUrl,
      'mysql://db',
      'SWITCHYARD_DATABASE_URL must be a URL starting with postgres:// or postgresql://',
    ],
    [runnerEnv.logLevel, 'loud', 'SWITCHYARD_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent'],
    [runnerEnv.leaseSeconds, '0', 'SWITCHYARD_LEASE_SECONDS must be a whole number from 1 to 3600'],
    [runnerEnv.sweepSeconds, '1.5', 'SWITCHYARD_SWEEP_SECONDS must be a whole number from 1 to 3600'],
  ])('names %s and the rule it breaks (%j)', (variable, value, message) => {
    expect(errorsOf({ ...merchantEnvironment, [variable]: value })).toEqual([message]);
  });

  it('checks the variables against each other and against the command line', () => {
    expect(errorsOf({ ...merchantEnvironment, [runnerEnv.merchant]: 'other' })).toEqual([
      'SWITCHYARD_MERCHANT must equal SWITCHYARD_OWNER_NAME when the owner is a Merchant',
    ]);
    expect(errorsOf(merchantEnvironment, { mode: 'run', service: 'inventory' })).toEqual([
      'SWITCHYARD_SERVICE must agree with --service (inventory)',
    ]);
    expect(errorsOf({ ...merchantEnvironment, [runnerEnv.ownerKind]: 'Cart' })).toEqual([
      'SWITCHYARD_OWNER_KIND must be Merchant for the orderDelivery service',
    ]);
    expect(
      errorsOf({ ...merchantEnvironment, [runnerEnv.service]: 'inventory' }, { mode: 'watch', service: 'inventory' }),
    ).toEqual(['watch (Automatic) is offered only for orderDelivery, shipmentUpload, inventoryUpload, not inventory']);
    expect(errorsOf({ ...merchantEnvironment, [runnerEnv.leaseSeconds]: '10' })).toEqual([
      'SWITCHYARD_LEASE_SECONDS must be greater than SWITCHYARD_REQUEST_TIMEOUT_SECONDS: a lease must outlive a request',
    ]);
  });

  it('never repeats a secret in its messages', () => {
    const errors = errorsOf({
      ...merchantEnvironment,
      [runnerEnv.endpointToken]: 's3cret\ntoken',
      [runnerEnv.databaseUrl]: 'mysql://hub:db-password@db/hub',
    });
    expect(errors).toHaveLength(2);
    expect(errors.join(' ')).not.toMatch(/s3cret|db-password/);
  });
});
