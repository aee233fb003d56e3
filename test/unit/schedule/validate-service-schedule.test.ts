import { describe, expect, it } from 'vitest';
import { serviceCatalogue, type ServiceName } from '../../../operator/api/v1alpha1/services.ts';
import { validateServiceSchedule } from '../../../operator/schedule/validate-service-schedule.ts';

const now = new Date('2026-03-05T12:34:56Z');
const check = (service: ServiceName, text: string) =>
  validateServiceSchedule(serviceCatalogue[service], text, { fieldPath: `spec.services.${service}.schedule`, now });

describe('validateServiceSchedule accepts', () => {
  const cases: [ServiceName, string, string][] = [
    ['orderDelivery', 'Automatic', 'automatic'],
    ['shipmentUpload', 'Automatic', 'automatic'],
    ['inventoryUpload', 'Automatic', 'automatic'],
    ['inventory', 'Disabled', 'disabled'],
    ['orderDownload', '5m', 'interval'],
    ['shippingConfirmations', '15m', 'interval'],
    ['inventory', '1h', 'interval'],
    ['inventory', '24h', 'interval'],
    ['orderDownload', '*/5 * * * *', 'cron'],
    ['orderDownload', '0,5 * * * *', 'cron'], // shortest gap 5 = the minimum
    ['shippingConfirmations', '*/15 * * * *', 'cron'],
    ['inventory', '@hourly', 'cron'],
    ['inventory', '15 */2 * * *', 'cron'],
    ['inventory', '0 0 * * *', 'cron'],
    ['inventory', '@daily', 'cron'],
    ['inventory', '30 0,23 * * *', 'cron'], // 23:30 → 00:30 is exactly the 60-minute minimum
    ['orderDownload', '0 8-18 * * *', 'cron'], // 18:00 → 08:00 is 14 hours, within a day
  ];
  it.each(cases)('%s: %j', (service, text, kind) => {
    const result = check(service, text);
    expect(result.ok ? result.schedule.kind : result.message).toBe(kind);
  });
});

describe('validateServiceSchedule rejects', () => {
  const cases: [ServiceName, string, string][] = [
    [
      'inventory',
      'Automatic',
      'spec.services.inventory.schedule: Automatic is offered only for Order Delivery, Shipment Upload and ' +
        'Inventory Upload; Inventory needs an interval or a cron expression',
    ],
    [
      'orderDownload',
      'Automatic',
      'spec.services.orderDownload.schedule: Automatic is offered only for Order Delivery, Shipment Upload and ' +
        'Inventory Upload; Order Download needs an interval or a cron expression',
    ],
    [
      'inventory',
      '30m',
      'spec.services.inventory.schedule: "30m" runs every 30 minutes; Inventory runs at most every 60 minutes',
    ],
    [
      'shippingConfirmations',
      '10m',
      'spec.services.shippingConfirmations.schedule: "10m" runs every 10 minutes; Shipping Confirmations runs at most every 15 minutes',
    ],
    [
      'inventory',
      '*/30 * * * *',
      'spec.services.inventory.schedule: "*/30 * * * *" runs every 30 minutes; Inventory runs at most every 60 minutes',
    ],
    [
      'orderDownload',
      '*/2 * * * *',
      'spec.services.orderDownload.schedule: "*/2 * * * *" runs every 2 minutes; Order Download runs at most every 5 minutes',
    ],
    [
      'inventory',
      '0,10 */2 * * *',
      'spec.services.inventory.schedule: "0,10 */2 * * *" has runs only 10 minutes apart; Inventory runs at most every 60 minutes',
    ],
    [
      'inventory',
      '*/5 * 1 * *',
      'spec.services.inventory.schedule: "*/5 * 1 * *" has runs only 5 minutes apart; Inventory runs at most every 60 minutes',
    ],
    [
      'inventory',
      '0 0 * * 1',
      'spec.services.inventory.schedule: "0 0 * * 1" runs every 7 days; Inventory must run at least once a day',
    ],
    [
      'orderDelivery',
      '@weekly',
      'spec.services.orderDelivery.schedule: "@weekly" runs every 7 days; Order Delivery must run at least once a day',
    ],
    [
      'inventory',
      '0 0 1 * *',
      'spec.services.inventory.schedule: "0 0 1 * *" leaves up to 31 days between runs; Inventory must run at least once a day',
    ],
    [
      'inventory',
      '@yearly',
      'spec.services.inventory.schedule: "@yearly" leaves up to 366 days between runs; Inventory must run at least once a day',
    ],
    [
      'orderDownload',
      '0 9 * * MON-FRI',
      'spec.services.orderDownload.schedule: "0 9 * * MON-FRI" leaves up to 3 days between runs; Order Download must run at least once a day',
    ],
    [
      'orderDownload',
      '0 0 29 2 *',
      'spec.services.orderDownload.schedule: "0 0 29 2 *" runs every 1461 days; Order Download must run at least once a day',
    ],
    [
      'inventory',
      '7m',
      'spec.services.inventory.schedule: "7m" is not an interval (5m, 10m, 15m, 20m, 30m, 1h, 2h, 3h, 4h, 6h, 8h, 12h, ' +
        '24h), a 5-field cron expression, Automatic or Disabled',
    ],
    [
      'inventory',
      '0 0 * * 7',
      'spec.services.inventory.schedule: "0 0 * * 7": day-of-week 7 is outside 0-6; use 0 for Sunday',
    ],
  ];
  it.each(cases)('%s: %j', (service, text, message) => {
    expect(check(service, text)).toEqual({ ok: false, message });
  });

  it('judges the limits of a service with other bounds', () => {
    const hourly = { ...serviceCatalogue.inventory, maxIntervalMinutes: 120 };
    const result = validateServiceSchedule(hourly, '0 */3 * * *', { fieldPath: 'schedule', now });
    expect(result).toEqual({
      ok: false,
      message: 'schedule: "0 */3 * * *" runs every 3 hours; Inventory must run at least every 120 minutes',
    });
    expect(validateServiceSchedule(hourly, '4h', { fieldPath: 'schedule', now })).toEqual({
      ok: false,
      message: 'schedule: "4h" runs every 4 hours; Inventory must run at least every 120 minutes',
    });
  });
});
