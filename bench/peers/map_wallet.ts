// Peer (a): the wallet a competent Node developer writes in an afternoon —
// plain JavaScript on two Maps, one thread, the same contract as exwallet
// (docs/contract.md):
//
//   users: Map<name, User>            transactions: Map<transaction_uuid, Tx>
//
// Idempotency keeps, per applied transaction, the original response and a
// fingerprint of every field but user / transaction_uuid / request_uuid
// (and amount on bet/win, compared exactly beside kind and user): a canonical
// string built by a small recursive encoder with sorted keys. It is meant to
// be a fair, honest baseline: no deliberate slowness, no exotic tricks.
//
// Known differences from exwallet, none on the benchmarked paths: the size
// limit of the fingerprinted fields is counted in canonical-string
// characters (about the same ~64 KiB), and there are no threads, so nothing
// is ever "in flight".

import type { WalletResponse } from 'exwallet';
import {
  RS_OK, RS_ERROR_UNKNOWN, RS_ERROR_WRONG_TYPES, RS_ERROR_NOT_ENOUGH_MONEY, RS_ERROR_DUPLICATE_TRANSACTION,
  RS_ERROR_WRONG_CURRENCY, RS_ERROR_TRANSACTION_DOES_NOT_EXIST,
} from 'exwallet';


const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const NAME_BYTES_MAX = 255;
const DEPTH_MAX = 32;
const FINGERPRINT_CHARS_MAX = 32_512; // ~64 KiB of UTF-16, like exwallet's scratch records

const BET = 1, WIN = 2, ROLLBACK = 3;
type Kind = typeof BET | typeof WIN | typeof ROLLBACK;
const OPEN = 0, WON = 1, ROLLED_BACK = 2;

interface User {
  balance: number;
  readonly currency: string;
}

interface Tx {
  readonly kind: Kind;
  readonly user: string;
  readonly amount: number;
  readonly fingerprint: string;
  readonly response: WalletResponse;
  settlement: number; // bets only: OPEN, WON, ROLLED_BACK
}

class NotData extends Error {}
const NOT_DATA = new NotData('not JSON-like data');

function is_plain_object(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Canonical text of a JSON-like value: type-tagged so that 1 and "1", [] and
 *  {} differ; -0 as 0; nested keys sorted. Throws NOT_DATA otherwise. */
function canonical(value: unknown, depth: number): string {
  switch (typeof value) {
    case 'string': return 's' + value.length + ':' + value;
    case 'number': return 'n' + (value === 0 ? '0' : String(value)); // String(NaN) is one NaN
    case 'boolean': return value ? 't' : 'f';
    case 'undefined': return 'u';
    case 'bigint': return 'b' + value.toString() + ';';
    case 'object': {
      if (value === null) return 'z';
      if (depth >= DEPTH_MAX) throw NOT_DATA;
      if (Array.isArray(value)) {
        let text = 'a' + value.length + '[';
        for (let i = 0; i < value.length; i++) text += canonical(value[i], depth + 1);
        return text + ']';
      }
      if (!is_plain_object(value)) throw NOT_DATA;
      const keys = Object.keys(value).sort();
      let text = 'o' + keys.length + '{';
      for (const key of keys) text += key.length + ':' + key + canonical(value[key], depth + 1);
      return text + '}';
    }
    default: throw NOT_DATA; // symbol, function
  }
}

/** Fingerprint of every field that is not compared on its own. */
function fingerprint_of(body: Record<string, unknown>, kind: Kind): string {
  const keys = Object.keys(body).sort();
  let text = '';
  for (const key of keys) {
    if (key === 'user' || key === 'transaction_uuid' || key === 'request_uuid') continue;
    if (key === 'amount' && kind !== ROLLBACK) continue;
    text += key.length + ':' + key + canonical(body[key], 0);
  }
  if (text.length > FINGERPRINT_CHARS_MAX) throw NOT_DATA;
  return text;
}

function reply(user: string, status: string, request_uuid: string): WalletResponse {
  return { user, status, request_uuid } as WalletResponse;
}

function reply_with_balance(user: string, status: string, request_uuid: string, currency: string, balance: number): WalletResponse {
  return { user, status, request_uuid, currency, balance } as WalletResponse;
}

function copy(response: WalletResponse): WalletResponse {
  // The caller owns what it gets back: never hand out the stored original.
  return { user: response.user, status: response.status, request_uuid: response.request_uuid, currency: response.currency, balance: response.balance };
}

export interface MapWalletOptions {
  maxTransactions?: number;
  initialBalance?: number;
  currency?: string;
}

export class MapWallet {
  readonly users = new Map<string, User>();
  readonly transactions = new Map<string, Tx>();
  readonly tx_max: number;
  readonly initial_balance_units: number;
  readonly currency: string;

  constructor(options: MapWalletOptions = {}) {
    this.tx_max = options.maxTransactions ?? 4_194_304;
    this.initial_balance_units = options.initialBalance ?? 100_000;
    this.currency = options.currency ?? 'USD';
  }

  createUsers(names: string[]): void {
    if (!Array.isArray(names)) throw new TypeError('createUsers expects an array');
    for (let i = 0; i < names.length; i++) {
      const name: unknown = names[i];
      if (typeof name !== 'string' || !(name as unknown as { isWellFormed(): boolean }).isWellFormed() || Buffer.byteLength(name) > NAME_BYTES_MAX) {
        throw new TypeError(`createUsers: entry ${i} is not a valid user name`);
      }
    }
    for (const name of names) {
      if (name !== '' && !this.users.has(name)) this.users.set(name, { balance: this.initial_balance_units, currency: this.currency });
    }
  }

  bet(body: unknown): WalletResponse {
    return this.transact(BET, body);
  }

  win(body: unknown): WalletResponse {
    return this.transact(WIN, body);
  }

  rollback(body: unknown): WalletResponse {
    return this.transact(ROLLBACK, body);
  }

  balance(body: unknown): WalletResponse {
    if (!is_plain_object(body)) return reply('', RS_ERROR_WRONG_TYPES, '');
    const { user, request_uuid } = body;
    if (typeof user !== 'string' || typeof request_uuid !== 'string') {
      return reply(typeof user === 'string' ? user : '', RS_ERROR_WRONG_TYPES, typeof request_uuid === 'string' ? request_uuid : '');
    }
    const account = this.users.get(user);
    if (account === undefined) return reply(user, RS_ERROR_UNKNOWN, request_uuid);
    return reply_with_balance(user, RS_OK, request_uuid, account.currency, account.balance);
  }

  private transact(kind: Kind, body: unknown): WalletResponse {
    let user = '';
    let request_uuid = '';
    let amount = 0;
    let fingerprint: string;
    let currency: unknown;
    let transaction_uuid: string;
    let reference = '';
    try {
      // §4.1-4.2. Reading a field may run a getter that throws: bad input.
      if (!is_plain_object(body)) return reply('', RS_ERROR_WRONG_TYPES, '');
      const u = body.user;
      const r = body.request_uuid;
      if (typeof u === 'string') user = u;
      if (typeof r === 'string') request_uuid = r;
      const t = body.transaction_uuid;
      currency = body.currency;
      let ok = typeof u === 'string' && typeof r === 'string' && UUID.test(r) && typeof t === 'string' && UUID.test(t);
      if (kind === ROLLBACK) {
        ok = ok && (currency === undefined ? !Object.hasOwn(body, 'currency') : typeof currency === 'string');
      } else {
        const a = body.amount;
        ok = ok && typeof currency === 'string' && typeof a === 'number' && Number.isSafeInteger(a);
        if (ok) amount = a as number;
      }
      if (kind !== BET) {
        const ref = body.reference_transaction_uuid;
        ok = ok && typeof ref === 'string' && UUID.test(ref);
        if (ok) reference = ref as string;
      }
      if (!ok) return reply(user, RS_ERROR_WRONG_TYPES, request_uuid);
      transaction_uuid = t as string;
      fingerprint = fingerprint_of(body, kind);
    } catch {
      return reply(user, RS_ERROR_WRONG_TYPES, request_uuid);
    }

    // §4.3, §4.4.
    if (amount < 0) return reply(user, RS_ERROR_UNKNOWN, request_uuid);
    const account = user === '' ? undefined : this.users.get(user);
    if (account === undefined) return reply(user, RS_ERROR_UNKNOWN, request_uuid);

    // §4.5 idempotency, before any balance or currency check.
    const seen = this.transactions.get(transaction_uuid);
    if (seen !== undefined) {
      const same = seen.kind === kind && seen.user === user && (kind === ROLLBACK || seen.amount === amount) && seen.fingerprint === fingerprint;
      return same ? copy(seen.response) : reply(user, RS_ERROR_DUPLICATE_TRANSACTION, request_uuid);
    }

    // §4.6-4.7.
    if (kind !== ROLLBACK && currency !== account.currency) return reply(user, RS_ERROR_WRONG_CURRENCY, request_uuid);
    let delta = 0;
    let bet: Tx | undefined;
    if (kind === BET) {
      if (amount > account.balance) return reply_with_balance(user, RS_ERROR_NOT_ENOUGH_MONEY, request_uuid, account.currency, account.balance);
      delta = -amount;
    } else {
      bet = this.transactions.get(reference);
      if (bet === undefined || bet.kind !== BET || bet.user !== user) return reply(user, RS_ERROR_TRANSACTION_DOES_NOT_EXIST, request_uuid);
      if (bet.settlement !== OPEN) return reply(user, RS_ERROR_UNKNOWN, request_uuid);
      delta = kind === WIN ? amount : bet.amount;
      if (account.balance + delta > Number.MAX_SAFE_INTEGER) return reply(user, RS_ERROR_UNKNOWN, request_uuid);
    }
    if (this.transactions.size >= this.tx_max) return reply(user, RS_ERROR_UNKNOWN, request_uuid);

    // §4.8 apply and record.
    account.balance += delta;
    if (bet !== undefined) bet.settlement = kind === WIN ? WON : ROLLED_BACK;
    const response = reply_with_balance(user, RS_OK, request_uuid, account.currency, account.balance);
    this.transactions.set(transaction_uuid, {
      kind, user, amount: kind === ROLLBACK ? delta : amount, fingerprint, response, settlement: OPEN,
    });
    return copy(response);
  }
}
