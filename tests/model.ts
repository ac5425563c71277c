// The sequential reference model: docs/contract.md, its § numbers (and the choices
// the project made where the spec left room), restated as plain JavaScript.
// No shared memory, no hashing, no cleverness: Maps, and "same parameters" as
// equality of a canonical text of the body's fields, which is injective (two
// bodies get the same text exactly when their fields are deep-equal under the
// choices: key order free at every level, -0 = 0, NaN = NaN, 1 ≠ "1",
// present-undefined ≠ absent, only own enumerable string keys).
//
// Used by the spec, differential and fuzz tests, and by the linearizability
// checker (clone() / key() let it search sequential orders).
//
// The only thing the model refuses to judge is a body whose extra fields
// encode to a size close to the ~64 KiB limit (the exact bound is the
// library's business): it throws Unjudgeable, and the caller skips the case.

import type { WalletResponse } from 'exwallet';
import {
  RS_OK, RS_ERROR_UNKNOWN, RS_ERROR_WRONG_TYPES, RS_ERROR_NOT_ENOUGH_MONEY, RS_ERROR_DUPLICATE_TRANSACTION,
  RS_ERROR_WRONG_CURRENCY, RS_ERROR_TRANSACTION_DOES_NOT_EXIST,
} from 'exwallet';

export interface ModelOptions { initialBalance?: number; currency?: string; maxUsers?: number; maxTransactions?: number }

/** Thrown for a body the model cannot judge (extra fields near the size bound). */
export class Unjudgeable extends Error {}


const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const LONE_SURROGATE = /\p{Surrogate}/u;
const USER_NAME_MAX_BYTES = 255;
const NESTING_MAX = 32;
/** Encoded size of the fingerprinted fields, in bytes, counted as UTF-16 code
 *  units of keys and values plus a few units of framing per value. At most
 *  SURELY_FITS: data; above SURELY_TOO_BIG: RS_ERROR_WRONG_TYPES; between:
 *  the library's exact bound decides, the model does not judge. */
const FIELDS_BYTES_SURELY_FITS = 124 * 1024;
const FIELDS_BYTES_SURELY_TOO_BIG = 128 * 1024;

type Kind = 'bet' | 'win' | 'rollback';
type Settlement = 'won' | 'rolled_back';

/** An applied transaction, never changed once recorded. */
interface Applied {
  readonly kind: Kind;
  readonly user: string;
  /** Canonical text of every field but request_uuid (plus the kind). */
  readonly params: string;
  /** bet: the amount debited (a rollback refunds it). */
  readonly amount: number;
  readonly response: WalletResponse;
}

/** Not JSON-like data, nested too deep, or too big: RS_ERROR_WRONG_TYPES. */
class NotData extends Error {}

interface Size { units: number; fields: number }

/** Canonical text of a data value; throws NotData. Every kind of value starts
 *  with its own marker and strings are JSON-quoted, so the text is injective. */
function canonical(value: unknown, level: number, size: Size): string {
  const count = (units: number): void => {
    size.units += units;
    if (size.units * 2 > FIELDS_BYTES_SURELY_TOO_BIG) throw new NotData(); // also bounds every loop below
  };
  switch (typeof value) {
    case 'string': count(3 + value.length); return JSON.stringify(value);
    case 'number': count(5); return 'n' + (value === 0 ? '0' : String(value)); // -0 -> 0; String(NaN) = 'NaN'
    case 'boolean': count(1); return value ? 't' : 'f';
    case 'undefined': count(1); return 'u';
    case 'bigint': count(3 + String(value).length); return 'i' + String(value);
    case 'object': {
      if (value === null) { count(1); return 'z'; }
      if (level >= NESTING_MAX) throw new NotData();
      count(3);
      if (Array.isArray(value)) {
        const items: string[] = [];
        for (let i = 0; i < value.length; i++) items.push(canonical(value[i], level + 1, size));
        return '[' + items.join(',') + ']';
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) throw new NotData(); // Date, Map, class instance...
      const pairs: string[] = [];
      for (const key of Object.keys(value).sort()) {
        count(2 + key.length);
        pairs.push(JSON.stringify(key) + ':' + canonical((value as Record<string, unknown>)[key], level + 1, size));
      }
      return '{' + pairs.join(',') + '}';
    }
    default: throw new NotData(); // symbol, function
  }
}

function isPlainObject(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return (proto === Object.prototype || proto === null) && !Array.isArray(value);
}

/** §7: a body that is not a plain object still has its user and
 *  request_uuid echoed when they read as strings. */
function notPlain(body: unknown): WalletResponse {
  if (typeof body !== 'object' || body === null) return { user: '', status: RS_ERROR_WRONG_TYPES, request_uuid: '' };
  const echo = (key: string) => safely(() => {
    const value = (body as Record<string, unknown>)[key];
    return typeof value === 'string' ? value : '';
  }, '');
  return { user: echo('user'), status: RS_ERROR_WRONG_TYPES, request_uuid: echo('request_uuid') };
}

function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** A rejected request (§7: user and request_uuid echoed when strings). Thrown
 *  by decide() and caught by transact(); not an Error, so that a search that
 *  runs the model millions of times does not pay for stack traces. */
class Rejection {
  constructor(readonly status: WalletResponse['status']) {}
}

export class ReferenceWallet {
  readonly initialBalance: number;
  readonly currency: string;
  readonly maxUsers: number;
  readonly maxTransactions: number;
  /** user -> balance, and its currency. */
  private balances = new Map<string, number>();
  private currencies = new Map<string, string>();
  /** transaction_uuid -> applied transaction (only RS_OK ones, §5). */
  private applied = new Map<string, Applied>();
  /** bet transaction_uuid -> how it was settled (absent: open). */
  private settled = new Map<string, Settlement>();

  constructor(options: ModelOptions = {}) {
    this.initialBalance = options.initialBalance ?? 100_000;
    this.currency = options.currency ?? 'USD';
    this.maxUsers = options.maxUsers ?? 1_048_576;
    this.maxTransactions = options.maxTransactions ?? 4_194_304;
  }

  /** §2. */
  createUsers(names: unknown): void {
    if (!Array.isArray(names)) throw new TypeError('createUsers expects an array');
    const fresh = new Map<string, { currency: string; balance: number }>();
    for (let i = 0; i < names.length; i++) {
      const entry: unknown = names[i];
      const object = typeof entry === 'object' && entry !== null && !Array.isArray(entry) ? entry as Record<string, unknown> : undefined;
      const name: unknown = object ? object.user : entry;
      if (typeof name !== 'string') throw new TypeError(`entry ${i} is not a string`);
      if (LONE_SURROGATE.test(name) || utf8Bytes(name) > USER_NAME_MAX_BYTES) throw new TypeError(`entry ${i} is not a valid name`);
      const currency = object?.currency ?? this.currency;
      const balance = object?.balance ?? this.initialBalance;
      if (typeof currency !== 'string' || LONE_SURROGATE.test(currency) || utf8Bytes(currency) < 1 || utf8Bytes(currency) > (object?.currency === undefined ? 64 : 16)) {
        throw new TypeError(`entry ${i} has a bad currency`);
      }
      if (typeof balance !== 'number' || !Number.isSafeInteger(balance) || balance < 0) throw new TypeError(`entry ${i} has a bad balance`);
      if (name !== '' && !this.balances.has(name) && !fresh.has(name)) fresh.set(name, { currency, balance });
    }
    if (this.balances.size + fresh.size > this.maxUsers) throw new RangeError('user table full');
    for (const [name, { currency, balance }] of fresh) {
      this.balances.set(name, balance);
      this.currencies.set(name, currency);
    }
  }

  /** Budget units in use (§8): one per applied transaction, and one more held
   *  by each open bet for its settlement. */
  private unitsUsed(): number {
    let bets = 0;
    for (const t of this.applied.values()) if (t.kind === 'bet') bets++;
    return this.applied.size + bets - this.settled.size;
  }

  bet(body: unknown): WalletResponse { return this.transact('bet', body); }
  win(body: unknown): WalletResponse { return this.transact('win', body); }
  rollback(body: unknown): WalletResponse { return this.transact('rollback', body); }

  /** Hub88 /user/balance. */
  balance(body: unknown): WalletResponse {
    if (!safely(() => isPlainObject(body), false)) return notPlain(body);
    const fields = new FieldReader(body as Record<string, unknown>);
    const user = fields.string('user');
    const request_uuid = fields.string('request_uuid');
    if (fields.threw || typeof fields.get('user') !== 'string' || typeof fields.get('request_uuid') !== 'string') {
      return { user, status: RS_ERROR_WRONG_TYPES, request_uuid };
    }
    const balance = this.balances.get(user);
    if (balance === undefined) return { user, status: RS_ERROR_UNKNOWN, request_uuid };
    return { user, status: RS_OK, request_uuid, currency: this.currencies.get(user) as string, balance };
  }

  balanceOf(user: string): number | undefined {
    return this.balances.get(user);
  }

  /** Number of applied transactions recorded. */
  transactionCount(): number {
    return this.applied.size;
  }

  /** Whether `transaction_uuid` is recorded as applied. */
  isApplied(transaction_uuid: string): boolean {
    return this.applied.has(transaction_uuid);
  }

  clone(): ReferenceWallet {
    const copy = new ReferenceWallet(this);
    copy.balances = new Map(this.balances);
    copy.currencies = new Map(this.currencies);
    copy.applied = new Map(this.applied); // Applied records are immutable: sharing them is safe
    copy.settled = new Map(this.settled);
    return copy;
  }

  key(): string {
    const users = [...this.balances].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const applied = [...this.applied].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([uuid, t]) => [uuid, t.kind, t.user, t.params, t.amount, t.response, this.settled.get(uuid) ?? 'open']);
    return JSON.stringify([users, applied]);
  }

  // -------------------------------------------------------------------------
  // §4: the checks in order; the first failure wins.

  private transact(kind: Kind, body: unknown): WalletResponse {
    // §4.1
    if (!safely(() => isPlainObject(body), false)) return notPlain(body);
    const fields = new FieldReader(body as Record<string, unknown>);
    const user = fields.string('user');
    const request_uuid = fields.string('request_uuid');
    const reject = (status: WalletResponse['status']): WalletResponse => ({ user, status, request_uuid });
    try {
      return this.decide(kind, fields, user, request_uuid);
    } catch (error) {
      if (error instanceof Rejection) return reject(error.status);
      throw error;
    }
  }

  private decide(kind: Kind, fields: FieldReader, user: string, request_uuid: string): WalletResponse {
    // §4.2 types.
    const transaction_uuid = fields.get('transaction_uuid');
    const currency = fields.get('currency');
    const amount = kind === 'rollback' ? 0 : fields.get('amount');
    const reference = kind === 'bet' ? undefined : fields.get('reference_transaction_uuid');
    let typesOk =
      !fields.threw &&
      typeof fields.get('user') === 'string' &&
      isUuid(fields.get('request_uuid')) &&
      isUuid(transaction_uuid) &&
      (kind === 'bet' || isUuid(reference));
    if (kind === 'rollback') {
      // Optional, but if present it must be a string (present-undefined is not absent).
      typesOk &&= currency === undefined ? !fields.has('currency') : typeof currency === 'string';
    } else {
      typesOk &&= typeof currency === 'string' && typeof amount === 'number' && Number.isSafeInteger(amount);
    }
    if (!typesOk || fields.threw) throw new Rejection(RS_ERROR_WRONG_TYPES);
    const params = this.paramsOf(kind, fields); // extra fields must be data: also §4.2
    const amount_units = (amount as number) + 0; // -0 -> 0

    // §4.3, §4.4.
    if (amount_units < 0) throw new Rejection(RS_ERROR_UNKNOWN);
    const balance = user === '' ? undefined : this.balances.get(user);
    if (balance === undefined) throw new Rejection(RS_ERROR_UNKNOWN);

    // §4.5 idempotency: the original response, or a conflict.
    const uuid = transaction_uuid as string;
    const earlier = this.applied.get(uuid);
    if (earlier !== undefined) {
      if (earlier.params !== params) throw new Rejection(RS_ERROR_DUPLICATE_TRANSACTION);
      return { ...earlier.response };
    }

    // §4.6 currency (a rollback's is not compared).
    const userCurrency = this.currencies.get(user) as string;
    if (kind !== 'rollback' && currency !== userCurrency) throw new Rejection(RS_ERROR_WRONG_CURRENCY);

    // §4.7 per kind; §3 the balance bounds.
    let delta_units: number;
    if (kind === 'bet') {
      if (amount_units > balance) {
        return { user, status: RS_ERROR_NOT_ENOUGH_MONEY, request_uuid, currency: userCurrency, balance };
      }
      delta_units = -amount_units;
    } else {
      const bet = this.applied.get(reference as string);
      if (bet === undefined || bet.kind !== 'bet' || bet.user !== user) throw new Rejection(RS_ERROR_TRANSACTION_DOES_NOT_EXIST);
      if (this.settled.has(reference as string)) throw new Rejection(RS_ERROR_UNKNOWN);
      delta_units = kind === 'win' ? amount_units : bet.amount;
      if (balance + delta_units > Number.MAX_SAFE_INTEGER) throw new Rejection(RS_ERROR_UNKNOWN);
    }
    // §8: a bet needs room for itself and its settlement; a settlement uses its bet's reserve.
    if (kind === 'bet' && this.unitsUsed() + 2 > this.maxTransactions) throw new Rejection(RS_ERROR_UNKNOWN);

    // §4.8 apply and record.
    const balance_after = balance + delta_units;
    this.balances.set(user, balance_after);
    if (kind !== 'bet') this.settled.set(reference as string, kind === 'win' ? 'won' : 'rolled_back');
    const response: WalletResponse = { user, status: RS_OK, request_uuid, currency: userCurrency, balance: balance_after };
    this.applied.set(uuid, { kind, user, params, amount: amount_units, response: { ...response } });
    return response;
  }

  /** §5 "same parameters": kind, user, and every own enumerable field but
   *  request_uuid, as one canonical text. */
  private paramsOf(kind: Kind, fields: FieldReader): string {
    const size: Size = { units: 0, fields: 0 };
    const parts: string[] = [];
    try {
      const keys = fields.keys().filter((key) => key !== 'request_uuid').sort();
      for (const key of keys) {
        const value = fields.get(key);
        if (fields.threw) throw new NotData();
        // user, transaction_uuid and a bet's/win's amount are compared exactly: not in the size.
        // A bet's or win's currency costs no room either: the library encodes it as
        // one mark (the user's currency, or not), whatever its length.
        const exact = key === 'user' || key === 'transaction_uuid' || (key === 'amount' && kind !== 'rollback') ||
          (key === 'currency' && kind !== 'rollback' && typeof value === 'string');
        if (!exact) {
          size.fields += 1;
          size.units += 6 + key.length;
        }
        // (exact fields are already type-checked: a string, or a safe-integer amount; -0 + 0 is 0)
        const text = exact ? (key === 'amount' ? 'n' + String((value as number) + 0) : JSON.stringify(value)) : canonical(value, 0, size);
        parts.push(JSON.stringify(key) + ':' + text);
      }
    } catch {
      // Not data, too deep or too big, or a getter / proxy trap that threw.
      throw new Rejection(RS_ERROR_WRONG_TYPES);
    }
    // Upper estimate of the encoding: the counted units plus padding per field.
    if ((size.units + 4 * size.fields) * 2 > FIELDS_BYTES_SURELY_FITS) {
      if (size.units * 2 > FIELDS_BYTES_SURELY_TOO_BIG) throw new Rejection(RS_ERROR_WRONG_TYPES);
      throw new Unjudgeable(`extra fields of about ${size.units * 2} bytes: near the size bound`);
    }
    // A non-enumerable `user` still names the user: keep it in the parameters.
    return JSON.stringify([kind, fields.get('user')]) + '{' + parts.join(',') + '}';
  }
}

/** Reads each field of a body at most once (getters and proxy traps run once),
 *  remembering whether any read threw. */
class FieldReader {
  threw = false;
  private readonly values = new Map<string, unknown>();
  constructor(private readonly body: Record<string, unknown>) {}

  get(key: string): unknown {
    if (this.values.has(key)) return this.values.get(key);
    let value: unknown;
    try {
      value = this.body[key];
    } catch {
      this.threw = true;
    }
    this.values.set(key, value);
    return value;
  }

  /** The field as echoed in a response: itself if a string, else "". */
  string(key: string): string {
    const value = this.get(key);
    return typeof value === 'string' ? value : '';
  }

  has(key: string): boolean {
    try {
      return Object.hasOwn(this.body, key);
    } catch {
      this.threw = true;
      return true;
    }
  }

  keys(): string[] {
    return Object.keys(this.body); // may throw (a proxy trap): the caller treats it as not data
  }
}

function isUuid(value: unknown): boolean {
  return typeof value === 'string' && UUID.test(value);
}

function safely<T>(action: () => T, fallback: T): T {
  try {
    return action();
  } catch {
    return fallback;
  }
}
