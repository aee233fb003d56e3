// The Merchant and Cart APIs (switchyard.dev/v1alpha1), defined once. The CRDs in crds/, the field reference in
// docs/api-reference.md and the TypeScript types below are all derived from these schemas.
import { z } from 'zod';
import {
  automaticSchedule,
  cronMacros,
  cronShape,
  disabledSchedule,
  intervalMinutes,
  intervalSchedules,
} from './schedule-syntax.ts';
import { defaultShopifyApiVersion } from '../runner-contract.ts';
import { serviceCatalogue, servicesOf, type OwnerKind, type ServiceDefinition } from './services.ts';

export const group = 'switchyard.dev';
export const version = 'v1alpha1';
export const apiVersion = `${group}/${version}`;

/** A CEL rule evaluated at admission, with the message `kubectl apply` prints when it fails. */
interface CelRule {
  rule: string;
  message: string;
}
/** A text as a CEL string literal. */
const celString = (text: string) => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
/**
 * Rules on a string field. The message echoes the rejected value (`messageExpression`): the API server otherwise
 * prints the field's type, `Invalid value: "string"`, and not what was written. `message` stays as the fallback.
 */
/** Rules on an object: the message alone (there is no one value to echo). */
const celOnObject = (...rules: CelRule[]) => ({ 'x-kubernetes-validations': rules });
const cel = (...rules: CelRule[]) => ({
  'x-kubernetes-validations': rules.map((rule) => ({
    ...rule,
    messageExpression: `'"' + self + '": ' + ${celString(rule.message)}`,
  })),
});
const celList = (values: readonly string[]) => `[${values.map((value) => `'${value}'`).join(', ')}]`;

const dnsLabel = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/);

const secretKeyRef = z
  .strictObject({
    name: dnsLabel.describe('Name of a Secret in the same namespace.'),
    key: z.string().min(1).default('token').describe('Key of the credential in that Secret.'),
  })
  .describe(
    'Secret holding the credential the runner presents to this system. The runner reads it; the operator never does.',
  );

const httpUrl = (description: string) =>
  z
    .string()
    .max(2048)
    .meta(cel({ rule: "self.matches('^https?://[^\\\\s]+$')", message: 'must be an http:// or https:// URL' }))
    .describe(description);

const endpoint = (what: string) =>
  z
    .strictObject({
      type: z.enum(['http']).default('http').describe('Connector type. `http` speaks the runner HTTP contract.'),
      url: httpUrl(`Base URL of the ${what}.`),
      credentialsSecretRef: secretKeyRef.optional(),
    })
    .describe(`How the runner reaches the ${what}.`);

const platform = z
  .strictObject({
    type: z
      .enum(['http', 'shopify'])
      .default('http')
      .describe(
        "Connector type. `http` speaks the runner HTTP contract (url required); `shopify` speaks Shopify's GraphQL Admin API (shop required).",
      ),
    url: httpUrl(
      'http: base URL of the cart platform. shopify: optional base URL to use instead of https://<shop> (a proxy).',
    ).optional(),
    shop: z
      .string()
      .max(255)
      .meta(
        cel({
          rule: "self.matches('^[a-z0-9][a-z0-9-]*\\\\.myshopify\\\\.com$')",
          message: "must be the shop's myshopify.com domain, such as acme.myshopify.com",
        }),
      )
      .optional()
      .describe("shopify: the shop's domain, <shop>.myshopify.com."),
    apiVersion: z
      .string()
      .max(16)
      .meta(
        cel({
          rule: "self.matches('^[0-9]{4}-(01|04|07|10)$')",
          message: 'must be a Shopify API release such as 2026-10 (YYYY-01, -04, -07 or -10)',
        }),
      )
      .optional()
      .describe(`shopify: the Admin API version to call; default ${defaultShopifyApiVersion}.`),
    locationId: z
      .string()
      .max(128)
      .optional()
      .describe(
        'shopify: the location whose available quantities Inventory Upload sets (a Location GID or its number); needed when the shop has more than one active location.',
      ),
    credentialsSecretRef: secretKeyRef
      .optional()
      .describe(
        'Secret holding the credential the runner presents. http: sent as a Bearer token. shopify: the Admin API access token, sent as X-Shopify-Access-Token. The runner reads it; the operator never does.',
      ),
  })
  .meta(
    celOnObject(
      { rule: "self.type != 'http' || has(self.url)", message: 'url is required when type is http' },
      { rule: "self.type != 'shopify' || has(self.shop)", message: 'shop is required when type is shopify' },
      {
        rule: "self.type == 'shopify' || (!has(self.shop) && !has(self.apiVersion) && !has(self.locationId))",
        message: 'shop, apiVersion and locationId are only for type shopify',
      },
    ),
  )
  .describe(
    "How the runner reaches the shopping cart platform. shopify: the app needs the access scopes read_orders, write_fulfillments, write_merchant_managed_fulfillment_orders (and write_third_party_fulfillment_orders for a fulfillment service's locations), read_products, read_locations and write_inventory (docs/shopify.md).",
  );

function scheduleRules(service: ServiceDefinition): CelRule[] {
  const rules: CelRule[] = [
    {
      rule:
        `self in ${celList([automaticSchedule, disabledSchedule, ...intervalSchedules, ...cronMacros])}` +
        ` || self.matches('${cronShape}')`,
      message: `must be Automatic, Disabled, an interval (${intervalSchedules.join(', ')}), a cron macro such as @hourly, or a 5-field cron expression`,
    },
  ];
  if (!service.automaticAllowed) {
    rules.push({
      rule: `self != '${automaticSchedule}'`,
      message: `Automatic is offered only for orderDelivery, shipmentUpload and inventoryUpload; ${service.name} needs an interval or a cron expression`,
    });
  }
  const tooFrequent = intervalSchedules.filter((interval) => intervalMinutes(interval) < service.minIntervalMinutes);
  if (tooFrequent.length > 0) {
    rules.push({
      rule: `!(self in ${celList(tooFrequent)})`,
      message: `${service.title} runs at most every ${service.minIntervalMinutes} minutes`,
    });
  }
  return rules;
}

export const defaultBatchSize = 100;

function serviceSpec(service: ServiceDefinition) {
  const automatic = service.automaticAllowed ? ' Automatic sends each record as soon as it is available.' : '';
  return z
    .strictObject({
      schedule: z
        .string()
        .max(128)
        .default(service.defaultSchedule)
        .meta(cel(...scheduleRules(service)))
        .describe(
          `When ${service.title} runs: an interval (${intervalSchedules.join(', ')}), a 5-field cron expression or macro, or Disabled.${automatic} ` +
            `Runs at most every ${service.minIntervalMinutes} minutes and at least once a day.`,
        ),
      suspend: z.boolean().default(false).describe('Pause this service without removing it.'),
      batchSize: z.int().min(1).max(10_000).default(defaultBatchSize).describe('Records sent or fetched per batch.'),
    })
    .default({ schedule: service.defaultSchedule, suspend: false, batchSize: defaultBatchSize })
    .describe(`${service.title} (${service.direction}): ${service.description}`);
}

function servicesSpec(kind: OwnerKind) {
  const shape = Object.fromEntries(servicesOf(kind).map((service) => [service.name, serviceSpec(service)]));
  const defaults = Object.fromEntries(
    servicesOf(kind).map((service) => [
      service.name,
      { schedule: service.defaultSchedule, suspend: false, batchSize: defaultBatchSize },
    ]),
  );
  return z
    .strictObject(shape)
    .default(defaults)
    .describe('The services of this ' + kind + ' and their schedules. Every service has a default.');
}

const timeZone = z
  .string()
  .max(64)
  .default('UTC')
  .meta(
    cel({
      rule: "self == 'UTC' || self.matches('^[A-Za-z]+(/[A-Za-z0-9_+-]+)+$')",
      message: 'must be an IANA time zone name such as UTC or America/Chicago',
    }),
  )
  .describe('IANA time zone of the interval and cleanup schedules of this merchant and its carts.');

const suspend = z
  .boolean()
  .default(false)
  .describe(
    "Pause every service: CronJobs are suspended and the merchant's watcher stops serving its Automatic services. Records wait in the hub store.",
  );

export const merchantSpecSchema = z
  .strictObject({
    timeZone,
    suspend,
    warehouse: endpoint('warehouse system (WMS/OMS)'),
    services: servicesSpec('Merchant'),
  })
  .describe('A merchant: its warehouse and the merchant-level services.');

export const cartSpecSchema = z
  .strictObject({
    merchantRef: z
      .strictObject({ name: dnsLabel.describe('Name of the Merchant.') })
      .describe('The Merchant (in the same namespace) that this cart sells for.'),
    suspend,
    platform,
    services: servicesSpec('Cart'),
  })
  .describe('A shopping cart connected to a merchant, and the cart-level services.');

// Status -----------------------------------------------------------------------------------------------------------

const time = z.iso.datetime();

export const conditionSchema = z
  .object({
    type: z.string().describe('Ready, Reconciling or Stalled.'),
    status: z.enum(['True', 'False', 'Unknown']).describe('Whether the condition holds: True, False or Unknown.'),
    reason: z.string().describe('CamelCase reason for the last transition.'),
    message: z.string().describe('Human-readable detail.'),
    observedGeneration: z.int().optional().describe('The generation this condition was computed from.'),
    lastTransitionTime: time.describe('When the status last changed.'),
  })
  .describe('One condition, as in the Kubernetes API conventions (metav1.Condition).');
export type Condition = z.infer<typeof conditionSchema>;

const failedRecordSample = z
  .object({
    id: z.string().describe("The record's id in its source system."),
    reason: z.string().max(256).describe('Why the destination did not take it.'),
    time: time.describe('When it last failed.'),
  })
  .describe('One failed record: its id, why it failed, and when.');

export const runnerReportSchema = z.object({
  failedRecords: z
    .object({
      count: z.int().min(0).describe('Records of this service that are failed now.'),
      sample: z.array(failedRecordSample).max(10).optional().describe('A bounded sample of the failed records.'),
    })
    .optional()
    .describe('Written by the runner (field manager switchyard-runner/<service>); the operator never writes it.'),
  lastResult: z
    .object({
      time: time.describe('When the run, cleanup or Automatic pass ended.'),
      outcome: z
        .enum(['Succeeded', 'PartiallyFailed', 'Failed'])
        .describe(
          'Succeeded: every record went through. PartiallyFailed: some records failed. Failed: every record failed, or the run could not do its work (see message).',
        ),
      processed: z.int().min(0).describe('Records the run read or sent, failed ones included.'),
      failed: z.int().min(0).describe('Records that failed in this run.'),
      message: z
        .string()
        .max(256)
        .optional()
        .describe('Why the run could not do its work, when it could not (the hub store refused, a source failed).'),
    })
    .optional()
    .describe("The runner's last run or trigger. Written by the runner; the operator never writes it."),
  pendingRecords: z
    .int()
    .min(0)
    .optional()
    .describe(
      'Delivery services: records waiting to reach the destination that the runner sends or retries by itself (new and edited records, records in flight, and transient failures, which failedRecords counts too; not refused records). Written by the runner.',
    ),
  pendingSince: time
    .optional()
    .describe(
      'Delivery services: since when records have waited with none delivered. The time the earliest record that began to wait after the last delivery began to wait (an edit starts the wait anew; a transient failure counts once its retry failed as well). Absent when nothing has waited since the last delivery. Three periods of the service later the object is Stalled (DeliveryStalled). Written by the runner.',
    ),
  lastDeliveryTime: time
    .optional()
    .describe('Delivery services: when a record last reached the destination. Written by the runner.'),
  oldestPendingTime: time
    .optional()
    .describe(
      'Delivery services: when the oldest record still waiting (pendingRecords) began to wait; its age is how far behind the destination is. Absent when nothing waits. Written by the runner.',
    ),
  lastSuccessTime: time
    .optional()
    .describe(
      'When a run, cleanup or Automatic pass of this service last did its work (outcome Succeeded or PartiallyFailed). Written by the runner.',
    ),
});

export const serviceStatusSchema = z
  .object({
    name: z.string().describe('Service name, e.g. orderDelivery.'),
    schedule: z
      .string()
      .optional()
      .describe('The effective schedule: Automatic, Disabled, or the CronJob schedule in use.'),
    workload: z
      .object({
        kind: z
          .enum(['CronJob', 'Deployment'])
          .describe('CronJob for an interval service, Deployment for the watcher.'),
        name: z.string().describe('Name of the workload, in the same namespace.'),
      })
      .optional()
      .describe('The workload that runs this service.'),
    nextRunTime: time
      .optional()
      .describe(
        'Next scheduled run of an interval service. Run times are reported when a run ends: while one is in progress, this is when it was due.',
      ),
    lastRunTime: time.optional().describe('When the last finished Job of this service started.'),
    cleanup: z
      .object({
        nextTimes: z
          .array(time.describe('A cleanup time.'))
          .max(2)
          .optional()
          .describe('The next two cleanup times. A cleanup runs at its time only if the service has failed records.'),
        lastTime: time.optional().describe('The last cleanup run started.'),
      })
      .optional()
      .describe(
        "Cleanup runs: two a day at stable random times in the Merchant's time zone, which retry every failed record (those that need a person too) of a service that has any.",
      ),
  })
  .extend(runnerReportSchema.shape)
  .describe(
    "One service's state: what the operator runs it with (schedule, workload, run and cleanup times) and what its runner reported (records failed and waiting, the last result).",
  );
export type ServiceStatus = z.infer<typeof serviceStatusSchema>;

export const ownerStatusSchema = z.object({
  observedGeneration: z.int().optional().describe('The generation the operator last acted on.'),
  conditions: z
    .array(conditionSchema)
    .optional()
    .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] })
    .describe('Ready is always present; Reconciling and Stalled only while True.'),
  failedRecords: z
    .int()
    .min(0)
    .optional()
    .describe('Failed records over all services (the sum of the per-service counts).'),
  lastHandledRunRequest: z
    .string()
    .optional()
    .describe(
      "The last value of the switchyard.dev/run-requested-at annotation that the operator acted on (as Flux's lastHandledReconcileAt).",
    ),
  lastHandledRetryRequest: z
    .string()
    .optional()
    .describe('The last value of the switchyard.dev/retry-requested-at annotation that the operator acted on.'),
  services: z
    .array(serviceStatusSchema)
    .optional()
    .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] })
    .describe('Per-service state, keyed by service name.'),
});
export type OwnerStatus = z.infer<typeof ownerStatusSchema>;

// Objects ----------------------------------------------------------------------------------------------------------

export type MerchantSpec = z.infer<typeof merchantSpecSchema>;
export type CartSpec = z.infer<typeof cartSpecSchema>;
/** The part of metadata the operator reads. */
export interface ObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  deletionTimestamp?: unknown;
}

export interface Merchant {
  apiVersion: typeof apiVersion;
  kind: 'Merchant';
  metadata: ObjectMeta;
  spec: MerchantSpec;
  status?: OwnerStatus;
}
export interface Cart {
  apiVersion: typeof apiVersion;
  kind: 'Cart';
  metadata: ObjectMeta;
  spec: CartSpec;
  status?: OwnerStatus;
}
export type Owner = Merchant | Cart;

export const specSchemas = { Merchant: merchantSpecSchema, Cart: cartSpecSchema } as const;

/** How each kind is named and listed; the CRD generator and the controllers share it. */
export const kinds = {
  Merchant: { kind: 'Merchant', plural: 'merchants', singular: 'merchant', listKind: 'MerchantList' },
  Cart: { kind: 'Cart', plural: 'carts', singular: 'cart', listKind: 'CartList' },
} as const satisfies Record<OwnerKind, { kind: OwnerKind; plural: string; singular: string; listKind: string }>;

export { serviceCatalogue };
