// Picks the connector for the endpoint type the owner's spec names. New connector types are added here.
import type { RunnerConfig } from '../config.ts';
import type { CartConnector, WarehouseConnector } from './connector.ts';
import { createHttpConnector } from './http-connector.ts';

export function createCartConnector(config: RunnerConfig): CartConnector {
  switch (config.endpoint.type) {
    case 'http':
      return createHttpConnector({ ...config.endpoint, timeoutMs: config.requestTimeoutMs });
  }
}

export function createWarehouseConnector(config: RunnerConfig): WarehouseConnector {
  switch (config.endpoint.type) {
    case 'http':
      return createHttpConnector({ ...config.endpoint, timeoutMs: config.requestTimeoutMs });
  }
}
