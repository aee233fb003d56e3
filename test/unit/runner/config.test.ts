// The command line and the environment contract: what a bad value says, and that secrets are never echoed.
import { describe, expect, it } from 'vitest';
import { runnerEnv, tokenVariableOf, type WatchTarget } from '../../../operator/api/runner-contract.ts';
import { parseCommandLine, parseRunnerConfig, usage } from '../../../operator/runner/config.ts';

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
  it.each([
    [['run', '--service', 'orderDelivery'], { mode: 'run', service: 'orderDelivery' }],
    [['cleanup', '--service', 'shipmentUpload'], { mode: 'cleanup', service: 'shipmentUpload' }],
    [['run', '--service=inventory'], { mode: 'run', service: 'inventory' }],
    [['watch'], { mode: 'watch' }],
    [['migrate'], { mode: 'migrate' }],
  ])('reads %j', (argv, value) => {
    expect(parseCommandLine(argv)).toEqual({ ok: true, value });
  });

  it.each([
    [[], 'expected exactly one mode: run, cleanup, watch, migrate'],
    [['sync', '--service', 'orderDelivery'], 'expected exactly one mode: run, cleanup, watch, migrate'],
    [['run', 'cleanup', '--service', 'orderDelivery'], 'expected exactly one mode: run, cleanup, watch, migrate'],
    [['--service', 'orderDelivery'], 'expected exactly one mode: run, cleanup, watch, migrate'],
    [['run'], /^--service must be one of orderDelivery, shippingConfirmations, /],
    [['cleanup'], /^--service must be one of /],
    [['run', '--service', 'orders'], /^--service must be one of /],
    [['run', '--service'], /argument missing/],
    [['run', '--service', 'orderDelivery', '--verbose'], /Unknown option '--verbose'/],
    [['watch', '--service', 'orderDelivery'], 'watch serves no single service: drop --service'],
    [['migrate', '--service', 'orderDelivery'], 'migrate serves no single service: drop --service'],
  ])('refuses %j with the usage', (argv, message) => {
    const parsed = parseCommandLine(argv);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.errors).toHaveLength(2);
      expect(parsed.errors[0]).toMatch(message);
      expect(parsed.errors[1]).toBe(usage);
    }
  });

  it('names every mode and service in the usage', () => {
    expect(usage).toBe(
      'usage: switchyard-runner <run|cleanup> --service ' +
        '<orderDelivery|shippingConfirmations|inventory|orderDownload|shipmentUpload|inventoryUpload>\n' +
        '       switchyard-runner watch\n' +
        '       switchyard-runner migrate',
    );
  });

  it('refuses run or cleanup without a service even past the command line', () => {
    expect(parseRunnerConfig({ mode: 'cleanup' }, merchantEnvironment)).toEqual({
      ok: false,
      errors: ['cleanup needs --service', usage],
    });
  });
});

describe('the environment of one service', () => {
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
        requestTimeoutMs: 30_000,
      },
    });
  });

  it("reads a Cart's cleanup run, its merchant and the optional timings", () => {
    const parsed = parseRunnerConfig(
      { mode: 'cleanup', service: 'shipmentUpload' },
      {
        ...merchantEnvironment,
        [runnerEnv.ownerKind]: 'Cart',
        [runnerEnv.ownerName]: 'acme-shopify',
        [runnerEnv.service]: 'shipmentUpload',
        [runnerEnv.endpointType]: undefined,
        [runnerEnv.endpointToken]: undefined,
        [runnerEnv.logLevel]: 'debug',
        [runnerEnv.leaseSeconds]: '600',
        [runnerEnv.requestTimeoutSeconds]: '45',
      },
    );
    expect(parsed.ok && parsed.value.mode === 'cleanup' && parsed.value).toEqual({
      mode: 'cleanup',
      service: 'shipmentUpload',
      owner: { kind: 'Cart', namespace: 'shop', name: 'acme-shopify' },
      merchant: 'acme',
      batchSize: 100,
      endpoint: { type: 'http', url: 'https://wms.example/api' },
      databaseUrl: 'postgresql://hub:db-password@postgres:5432/hub',
      logLevel: 'debug',
      leaseMs: 600_000,
      requestTimeoutMs: 45_000,
    });
  });

  it('treats an empty token as no token', () => {
    const parsed = parseRunnerConfig(orderDelivery, { ...merchantEnvironment, [runnerEnv.endpointToken]: '' });
    expect(parsed.ok && parsed.value.mode === 'run' && parsed.value.endpoint).toEqual({
      type: 'http',
      url: 'https://wms.example/api',
    });
  });

  it.each([
    [runnerEnv.batchSize, '0', 'SWITCHYARD_BATCH_SIZE must be a whole number from 1 to 10000'],
    [runnerEnv.batchSize, 'lots', 'SWITCHYARD_BATCH_SIZE must be a whole number from 1 to 10000'],
    [runnerEnv.batchSize, undefined, 'SWITCHYARD_BATCH_SIZE is required and must be a whole number from 1 to 10000'],
    [runnerEnv.ownerKind, 'Store', 'SWITCHYARD_OWNER_KIND must be Merchant or Cart'],
    [runnerEnv.ownerName, undefined, 'SWITCHYARD_OWNER_NAME is required'],
    [runnerEnv.namespace, 'Shop_1', 'SWITCHYARD_NAMESPACE must be a namespace name (lowercase letters, digits and -)'],
    [
      runnerEnv.endpointUrl,
      'ftp://wms.example',
      'SWITCHYARD_ENDPOINT_URL must be a URL starting with http:// or https://',
    ],
    [runnerEnv.endpointType, 'ftp', 'SWITCHYARD_ENDPOINT_TYPE must be http or shopify'],
    [runnerEnv.endpointToken, 'abc\r\nX-Evil: 1', 'SWITCHYARD_ENDPOINT_TOKEN must not contain line breaks'],
    [
      runnerEnv.databaseUrl,
      'mysql://db',
      'SWITCHYARD_DATABASE_URL must be a URL starting with postgres:// or postgresql://',
    ],
    [runnerEnv.logLevel, 'loud', 'SWITCHYARD_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent'],
    [runnerEnv.leaseSeconds, '0', 'SWITCHYARD_LEASE_SECONDS must be a whole number from 1 to 3600'],
    [runnerEnv.requestTimeoutSeconds, '601', 'SWITCHYARD_REQUEST_TIMEOUT_SECONDS must be a whole number from 1 to 600'],
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
    expect(errorsOf({ ...merchantEnvironment, [runnerEnv.leaseSeconds]: '10' })).toEqual([
      'SWITCHYARD_LEASE_SECONDS must be greater than SWITCHYARD_REQUEST_TIMEOUT_SECONDS: a lease must outlive a request',
    ]);
  });

  it("reads a Merchant's Carts for its runs and cleanups, and leaves them out for a Cart's", () => {
    const carts = (
      value: string | undefined,
      env: Record<string, string | undefined> = merchantEnvironment,
      commandLine: Parameters<typeof parseRunnerConfig>[0] = orderDelivery,
    ) => {
      const parsed = parseRunnerConfig(commandLine, { ...env, [runnerEnv.merchantCarts]: value });
      return parsed.ok && parsed.value.mode !== 'migrate' && parsed.value.mode !== 'watch'
        ? parsed.value.merchantCarts
        : parsed;
    };
    expect(carts('["acme-etsy","acme.shopify"]')).toEqual(['acme-etsy', 'acme.shopify']);
    expect(carts('[]')).toEqual([]);
    // A pod template of an older operator: the run goes on, and leaves the cart registry alone.
    expect(carts(undefined)).toBeUndefined();
    expect(carts('')).toBeUndefined();
    const cartEnvironment = {
      ...merchantEnvironment,
      [runnerEnv.ownerKind]: 'Cart',
      [runnerEnv.ownerName]: 'acme-etsy',
      [runnerEnv.service]: 'shipmentUpload',
    };
    expect(carts('["acme-etsy"]', cartEnvironment, { mode: 'cleanup', service: 'shipmentUpload' })).toBeUndefined();
  });

  it.each([
    ['[acme', 'SWITCHYARD_MERCHANT_CARTS must be JSON'],
    ['{"acme-etsy":true}', 'SWITCHYARD_MERCHANT_CARTS must be a list of Cart names'],
    [
      '["acme-etsy","Acme_Shop"]',
      'SWITCHYARD_MERCHANT_CARTS 1 must be a Kubernetes object name (lowercase letters, digits, - and .)',
    ],
    ['[7]', 'SWITCHYARD_MERCHANT_CARTS 0 must be a Cart name'],
  ])("refuses the Merchant's Carts %j", (value, message) => {
    expect(errorsOf({ ...merchantEnvironment, [runnerEnv.merchantCarts]: value })).toEqual([message]);
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

describe('the environment of a watcher', () => {
  const watch = { mode: 'watch' } as const;
  const merchantToken = tokenVariableOf('Merchant', 'acme');
  const cartToken = tokenVariableOf('Cart', 'acme-shopify');
  const targets: WatchTarget[] = [
    {
      kind: 'Merchant',
      name: 'acme',
      endpoint: { type: 'http', url: 'https://wms.example/api', tokenVariable: merchantToken },
      services: [{ name: 'orderDelivery', batchSize: 100 }],
    },
    {
      kind: 'Cart',
      name: 'acme-shopify',
      endpoint: { type: 'http', url: 'https://shopify.example/api', tokenVariable: cartToken },
      services: [
        { name: 'shipmentUpload', batchSize: 50 },
        { name: 'inventoryUpload', batchSize: 20 },
      ],
    },
    {
      kind: 'Cart',
      name: 'acme-etsy',
      endpoint: { type: 'http', url: 'https://etsy.example/api' },
      services: [{ name: 'inventoryUpload', batchSize: 10 }],
    },
  ];
  const watchEnvironment = {
    [runnerEnv.namespace]: 'shop',
    [runnerEnv.merchant]: 'acme',
    [runnerEnv.watchTargets]: JSON.stringify(targets),
    [merchantToken]: 'wms-s3cret',
    [cartToken]: 'shopify-s3cret',
    [runnerEnv.databaseUrl]: 'postgresql://hub:db-password@postgres:5432/hub',
  };
  const withTargets = (list: unknown) => ({ ...watchEnvironment, [runnerEnv.watchTargets]: JSON.stringify(list) });
  const [merchantTarget, , etsyTarget] = targets as [WatchTarget, WatchTarget, WatchTarget];

  it('gives each owner its endpoint, its services and the token from its own variable, with defaults', () => {
    expect(parseRunnerConfig(watch, watchEnvironment)).toEqual({
      ok: true,
      value: {
        mode: 'watch',
        merchant: 'acme',
        namespace: 'shop',
        owners: [
          {
            owner: { kind: 'Merchant', namespace: 'shop', name: 'acme' },
            endpoint: { type: 'http', url: 'https://wms.example/api', token: 'wms-s3cret' },
            services: [{ service: 'orderDelivery', batchSize: 100 }],
          },
          {
            owner: { kind: 'Cart', namespace: 'shop', name: 'acme-shopify' },
            endpoint: { type: 'http', url: 'https://shopify.example/api', token: 'shopify-s3cret' },
            services: [
              { service: 'shipmentUpload', batchSize: 50 },
              { service: 'inventoryUpload', batchSize: 20 },
            ],
          },
          {
            owner: { kind: 'Cart', namespace: 'shop', name: 'acme-etsy' },
            endpoint: { type: 'http', url: 'https://etsy.example/api' },
            services: [{ service: 'inventoryUpload', batchSize: 10 }],
          },
        ],
        databaseUrl: 'postgresql://hub:db-password@postgres:5432/hub',
        logLevel: 'info',
        leaseMs: 300_000,
        requestTimeoutMs: 30_000,
        sweepMs: 30_000,
        healthPort: 8080,
      },
    });
  });

  it('reads the optional timings and the health port', () => {
    const parsed = parseRunnerConfig(watch, {
      ...watchEnvironment,
      [runnerEnv.sweepSeconds]: '5',
      [runnerEnv.healthPort]: '0',
      [runnerEnv.leaseSeconds]: '120',
      [runnerEnv.requestTimeoutSeconds]: '10',
    });
    expect(parsed.ok && parsed.value.mode === 'watch' && parsed.value).toMatchObject({
      sweepMs: 5000,
      healthPort: 0,
      leaseMs: 120_000,
      requestTimeoutMs: 10_000,
    });
  });

  it("reads the Merchant's Carts, and the Disabled services it only counts", () => {
    const counted: WatchTarget = {
      ...etsyTarget,
      services: [
        { name: 'inventoryUpload', batchSize: 10 },
        { name: 'shipmentUpload', batchSize: 100, countOnly: true },
      ],
    };
    const parsed = parseRunnerConfig(watch, {
      ...withTargets([merchantTarget, counted]),
      [runnerEnv.merchantCarts]: '["acme-etsy","acme-shopify"]',
    });
    expect(parsed.ok && parsed.value.mode === 'watch' && parsed.value).toMatchObject({
      merchantCarts: ['acme-etsy', 'acme-shopify'],
      owners: [
        { services: [{ service: 'orderDelivery', batchSize: 100 }] },
        {
          services: [
            { service: 'inventoryUpload', batchSize: 10 },
            { service: 'shipmentUpload', batchSize: 100, countOnly: true },
          ],
        },
      ],
    });
    expect(parsed.ok && parsed.value.mode === 'watch' && parsed.value.owners[1]?.services[0]).not.toHaveProperty(
      'countOnly',
    );
  });

  it('reads no token from a variable the target does not name, nor the single-service token', () => {
    const parsed = parseRunnerConfig(watch, {
      ...withTargets([etsyTarget]),
      [runnerEnv.endpointToken]: 'stray',
      [tokenVariableOf('Cart', 'acme-etsy')]: 'stray too',
    });
    expect(parsed.ok && parsed.value.mode === 'watch' && parsed.value.owners[0]?.endpoint).toEqual({
      type: 'http',
      url: 'https://etsy.example/api',
    });
  });

  it.each([
    ['no targets', { [runnerEnv.watchTargets]: undefined }, 'SWITCHYARD_WATCH_TARGETS is required'],
    ['targets that are not JSON', { [runnerEnv.watchTargets]: '[{kind:' }, 'SWITCHYARD_WATCH_TARGETS must be JSON'],
    ['an empty list', withTargets([]), 'SWITCHYARD_WATCH_TARGETS must name at least one target'],
    [
      'a target without services',
      withTargets([{ ...merchantTarget, services: [] }]),
      'SWITCHYARD_WATCH_TARGETS 0.services must name at least one service',
    ],
    [
      'a service that cannot run Automatic',
      withTargets([merchantTarget, { ...etsyTarget, services: [{ name: 'orderDownload', batchSize: 10 }] }]),
      'SWITCHYARD_WATCH_TARGETS 1.services.0.name must be one of orderDelivery, shipmentUpload, inventoryUpload',
    ],
    [
      'a Merchant other than the watcher’s',
      withTargets([{ ...merchantTarget, name: 'globex' }]),
      "SWITCHYARD_WATCH_TARGETS [0] (Merchant globex) must be the watcher's own merchant acme",
    ],
    [
      'a Cart service on a Merchant',
      withTargets([{ ...merchantTarget, services: [{ name: 'shipmentUpload', batchSize: 5 }] }]),
      'SWITCHYARD_WATCH_TARGETS [0] (Merchant acme): shipmentUpload is not a Merchant service',
    ],
    [
      'a Merchant service on a Cart',
      withTargets([{ ...etsyTarget, services: [{ name: 'orderDelivery', batchSize: 5 }] }]),
      'SWITCHYARD_WATCH_TARGETS [0] (Cart acme-etsy): orderDelivery is not a Cart service',
    ],
    [
      'a target listed twice',
      withTargets([
        merchantTarget,
        etsyTarget,
        { ...etsyTarget, endpoint: { type: 'http', url: 'https://b.example' } },
      ]),
      'SWITCHYARD_WATCH_TARGETS [2] (Cart acme-etsy) is listed twice',
    ],
    [
      'a token variable of another family',
      withTargets([{ ...merchantTarget, endpoint: { ...merchantTarget.endpoint, tokenVariable: 'HOME' } }]),
      'SWITCHYARD_WATCH_TARGETS 0.endpoint.tokenVariable must name a SWITCHYARD_ENDPOINT_TOKEN_… variable',
    ],
    [
      'an endpoint that is not http(s)',
      withTargets([{ ...etsyTarget, endpoint: { type: 'http', url: 'ftp://etsy.example' } }]),
      'SWITCHYARD_WATCH_TARGETS 0.endpoint.url must be an http(s) URL',
    ],
    ['a token with a line break', { [cartToken]: 'shopify\r\nX-Evil: 1' }, `${cartToken} must not contain line breaks`],
    [
      'a service counted but not only counted',
      withTargets([{ ...etsyTarget, services: [{ name: 'inventoryUpload', batchSize: 10, countOnly: false }] }]),
      'SWITCHYARD_WATCH_TARGETS 0.services.0.countOnly must be true when present',
    ],
    [
      'a Cart target that is not among the Merchant’s Carts',
      { [runnerEnv.merchantCarts]: '["acme-shopify"]' },
      'SWITCHYARD_WATCH_TARGETS [2] (Cart acme-etsy) must be among SWITCHYARD_MERCHANT_CARTS',
    ],
    [
      'Merchant’s Carts that are not a list',
      { [runnerEnv.merchantCarts]: '"acme-etsy"' },
      'SWITCHYARD_MERCHANT_CARTS must be a list of Cart names',
    ],
    ['no merchant', { [runnerEnv.merchant]: undefined }, 'SWITCHYARD_MERCHANT is required'],
    [
      'a health port out of range',
      { [runnerEnv.healthPort]: '65536' },
      'SWITCHYARD_HEALTH_PORT must be a whole number from 0 to 65535',
    ],
    [
      'a fractional sweep',
      { [runnerEnv.sweepSeconds]: '1.5' },
      'SWITCHYARD_SWEEP_SECONDS must be a whole number from 1 to 3600',
    ],
    [
      'a lease no longer than a request',
      { [runnerEnv.leaseSeconds]: '30' },
      'SWITCHYARD_LEASE_SECONDS must be greater than SWITCHYARD_REQUEST_TIMEOUT_SECONDS: a lease must outlive a request',
    ],
  ])('refuses %s, naming the variable and the rule', (_case, change, message) => {
    expect(errorsOf({ ...watchEnvironment, ...change }, watch)).toEqual([message]);
  });

  it('never repeats a secret in its messages', () => {
    const tokenErrors = errorsOf(
      { ...watchEnvironment, [merchantToken]: 'wms-s3cret\nX-Evil: 1', [cartToken]: 'shopify-s3cret\r' },
      watch,
    );
    expect(tokenErrors).toEqual([
      `${merchantToken} must not contain line breaks`,
      `${cartToken} must not contain line breaks`,
    ]);
    const urlErrors = errorsOf(
      { ...watchEnvironment, [runnerEnv.databaseUrl]: 'mysql://hub:db-password@db/hub' },
      watch,
    );
    expect(urlErrors).toEqual(['SWITCHYARD_DATABASE_URL must be a URL starting with postgres:// or postgresql://']);
    expect([...tokenErrors, ...urlErrors].join(' ')).not.toMatch(/s3cret|db-password|Evil/);
  });
});

describe('the environment of a migration', () => {
  it('needs only the database URL', () => {
    expect(
      parseRunnerConfig(
        { mode: 'migrate' },
        { [runnerEnv.databaseUrl]: 'postgres://hub@postgres/hub', [runnerEnv.logLevel]: 'warn' },
      ),
    ).toEqual({ ok: true, value: { mode: 'migrate', databaseUrl: 'postgres://hub@postgres/hub', logLevel: 'warn' } });
  });

  it('names a missing or wrong database URL without repeating it', () => {
    expect(errorsOf({}, { mode: 'migrate' })).toEqual([
      'SWITCHYARD_DATABASE_URL is required and must be a URL starting with postgres:// or postgresql://',
    ]);
    const errors = errorsOf({ [runnerEnv.databaseUrl]: 'mysql://hub:db-password@db/hub' }, { mode: 'migrate' });
    expect(errors).toEqual(['SWITCHYARD_DATABASE_URL must be a URL starting with postgres:// or postgresql://']);
  });
});
