// Body builders and response builders shared by the spec, differential and
// fuzz tests. Bodies are plain objects with Hub88's snake_case keys.

import type { WalletResponse } from 'exwallet';

/** The n-th canonical lowercase UUID of a namespace (0..15): distinct n, distinct uuid. */
export function uuidOf(n: number, namespace = 0): string {
  return `${namespace.toString(16).padStart(8, '0')}-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

/** Hands out fresh uuids: transactions in namespace 1, requests in namespace 2. */
export class Uuids {
  private count = 0;
  tx(): string { return uuidOf(++this.count, 1); }
  req(): string { return uuidOf(++this.count, 2); }
}

export type Body = Record<string, unknown>;

export function betBody(user: unknown, transaction_uuid: unknown, amount: unknown, request_uuid: unknown, currency: unknown = 'USD'): Body {
  return { user, transaction_uuid, request_uuid, currency, amount };
}

export function winBody(
  user: unknown, transaction_uuid: unknown, reference_transaction_uuid: unknown, amount: unknown, request_uuid: unknown,
  currency: unknown = 'USD',
): Body {
  return { user, transaction_uuid, request_uuid, currency, amount, reference_transaction_uuid };
}

/** A rollback as Hub88 sends it: no currency, no amount. */
export function rollbackBody(user: unknown, transaction_uuid: unknown, reference_transaction_uuid: unknown, request_uuid: unknown): Body {
  return { user, transaction_uuid, request_uuid, reference_transaction_uuid };
}

// Responses (§7).
export function okResponse(user: string, request_uuid: string, balance: number, currency = 'USD'): WalletResponse {
  return { user, status: 'RS_OK', request_uuid, currency, balance };
}

export function notEnoughMoney(user: string, request_uuid: string, balance: number, currency = 'USD'): WalletResponse {
  return { user, status: 'RS_ERROR_NOT_ENOUGH_MONEY', request_uuid, currency, balance };
}

export function errorResponse(user: string, status: WalletResponse['status'], request_uuid: string): WalletResponse {
  return { user, status, request_uuid };
}

/** A value nested `levels` deep in arrays: [[[ ... 0 ... ]]]. */
export function nestedArrays(levels: number): unknown {
  let value: unknown = 0;
  for (let level = 0; level < levels; level++) value = [value];
  return value;
}

/** A value nested `levels` deep in objects: { a: { a: ... 0 } }. */
export function nestedObjects(levels: number): unknown {
  let value: unknown = 0;
  for (let level = 0; level < levels; level++) value = { a: value };
  return value;
}

/** A property that throws when read. */
export function withThrowingGetter(body: Body, key: string): Body {
  Object.defineProperty(body, key, { enumerable: true, configurable: true, get() { throw new Error(`getter ${key} throws`); } });
  return body;
}

/** A proxy over `body` whose listed traps throw. */
export function throwingProxy(body: Body, traps: ReadonlyArray<keyof ProxyHandler<Body>>): Body {
  const handler: ProxyHandler<Body> = {};
  for (const trap of traps) {
    (handler as Record<string, unknown>)[trap] = () => { throw new Error(`trap ${String(trap)} throws`); };
  }
  return new Proxy(body, handler);
}

/** The error `action` throws; fails the test if it does not throw. */
export function thrown(action: () => unknown): Error & { code?: string } {
  try {
    action();
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected a throw');
}
