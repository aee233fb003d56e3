// Builds the CustomResourceDefinitions from the zod schemas: the OpenAPI schema, CEL rules, printer columns.
import { z } from 'zod';
import { group, kinds, ownerStatusSchema, specSchemas, version } from './types.ts';
import type { OwnerKind } from './services.ts';

type JsonSchema = { [key: string]: unknown };

/**
 * Kubernetes accepts only structural schemas: no `additionalProperties: false` beside `properties` (unknown fields are
 * pruned, and kubectl's strict field validation rejects them), and `format: date-time` is checked by the server, so
 * zod's long date-time regex is dropped.
 */
function toStructural(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(toStructural);
  if (schema === null || typeof schema !== 'object') return schema;
  const result: JsonSchema = {};
  for (const [key, value] of Object.entries(schema as JsonSchema)) {
    if (key === '$schema') continue;
    if (key === 'additionalProperties' && value === false) continue;
    if (key === 'pattern' && (schema as JsonSchema).format === 'date-time') continue;
    // The values of CEL rules and defaults are data, not schemas: keep them as they are.
    result[key] =
      key === 'x-kubernetes-validations' || key === 'default' || key === 'enum' ? value : toStructural(value);
  }
  return result;
}

export function openApiSchema(schema: z.ZodType, io: 'input' | 'output'): unknown {
  return toStructural(z.toJSONSchema(schema, { target: 'openapi-3.0', io }));
}

const readyColumn = { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' };
const reasonColumn = {
  name: 'Reason',
  type: 'string',
  jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
  priority: 1,
};
const failedColumn = {
  name: 'Failed',
  type: 'integer',
  description: 'Failed records over all services',
  jsonPath: '.status.failedRecords',
};
const statusColumn = {
  name: 'Status',
  type: 'string',
  description: 'The Ready message',
  jsonPath: '.status.conditions[?(@.type=="Ready")].message',
  priority: 1,
};
const suspendedColumn = { name: 'Suspended', type: 'boolean', jsonPath: '.spec.suspend' };
const ageColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };
/** A field of one service's status entry. */
const serviceField = (service: string, field: string) => `.status.services[?(@.name=="${service}")].${field}`;

// Is data moving? Each kind shows the service its orders move by: how long since an order last reached the
// warehouse (and how many wait), or since the cart's orders were last downloaded.
const printerColumns: Record<OwnerKind, object[]> = {
  Merchant: [
    readyColumn,
    failedColumn,
    {
      name: 'Pending',
      type: 'integer',
      description: 'Orders waiting to reach the warehouse',
      jsonPath: serviceField('orderDelivery', 'pendingRecords'),
    },
    {
      name: 'Delivered',
      type: 'date',
      description: 'When an order last reached the warehouse',
      jsonPath: serviceField('orderDelivery', 'lastDeliveryTime'),
    },
    suspendedColumn,
    ageColumn,
    reasonColumn,
    statusColumn,
  ],
  Cart: [
    { name: 'Merchant', type: 'string', jsonPath: '.spec.merchantRef.name' },
    readyColumn,
    failedColumn,
    {
      name: 'Downloaded',
      type: 'date',
      description: "When the cart's orders were last downloaded",
      jsonPath: serviceField('orderDownload', 'lastSuccessTime'),
    },
    suspendedColumn,
    ageColumn,
    reasonColumn,
    statusColumn,
  ],
};

/** Short names for kubectl (`kubectl get merch,crt`), as cert-manager's `cert` and Flux's `ks`. */
const shortNames: Record<OwnerKind, string[]> = { Merchant: ['merch'], Cart: ['crt'] };

const descriptions: Record<OwnerKind, string> = {
  Merchant:
    'A merchant of the integration hub: its warehouse (WMS/OMS) and the merchant-level services Order Delivery, ' +
    'Shipping Confirmations and Inventory, each run on a schedule by Switchyard.',
  Cart:
    'A shopping cart of a merchant and the cart-level services Order Download, Shipment Upload and Inventory Upload, ' +
    'each run on a schedule by Switchyard.',
};

export function buildCrd(kind: OwnerKind): object {
  const names = kinds[kind];
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${names.plural}.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { ...names, shortNames: shortNames[kind], categories: ['switchyard'] },
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: printerColumns[kind],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: descriptions[kind],
              required: ['spec'],
              // The name becomes a label value and a prefix of the workload names, whose limit is 63 characters.
              'x-kubernetes-validations': [
                // The error already names the object (`Merchant "…" is invalid`): no messageExpression needed, and
                // metadata.name has no declared maxLength, so concatenating it would exceed CEL's cost budget.
                { rule: 'self.metadata.name.size() <= 63', message: 'metadata.name must be at most 63 characters' },
              ],
              properties: {
                apiVersion: { type: 'string', description: 'APIVersion of this object: switchyard.dev/v1alpha1.' },
                kind: { type: 'string', description: `Kind of this object: ${kind}.` },
                // The API server describes metadata itself, and allows nothing else here.
                metadata: { type: 'object' },
                // Input: what a user may write, with the defaults the API server fills in.
                spec: openApiSchema(specSchemas[kind], 'input'),
                status: {
                  ...(openApiSchema(ownerStatusSchema, 'output') as object),
                  description: 'Observed state, written by the operator and the runner.',
                },
              },
            },
          },
        },
      ],
    },
  };
}
