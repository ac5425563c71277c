// The Hub88 routes (Hub88 calls the operator): POST /user/info,
// /user/balance, /transaction/bet, /transaction/win, /transaction/rollback.
// One request, in this order: route (404) → method (405) → size (64 KiB,
// from Content-Length, then counted while reading) → X-Hub88-Signature over
// the exact bytes → the wallet → durable() → the answer, HTTP 200, echoing
// the request's own request_uuid. Transactions go to the library's bytes
// path (betBytes, …: parsed, checked and answered in WASM, the answer's
// bytes sent as they come); /user/info and /user/balance through JSON.parse.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KeyObject } from 'node:crypto';
import {
  bet, win, rollback, balance, durable, betBytes, winBytes, rollbackBytes, RS_ERROR_WRONG_SYNTAX,
  type Wallet, type WalletResponse, type BytesOptions,
} from 'exwallet';
import { signature_valid, SIGNATURE_HEADER } from './signature.js';

export const BODY_BYTES_MAX = 64 * 1024;

export const RS_ERROR_INVALID_SIGNATURE = 'RS_ERROR_INVALID_SIGNATURE';
export { RS_ERROR_WRONG_SYNTAX };
const RS_OK = 'RS_OK';
const RS_ERROR_UNKNOWN = 'RS_ERROR_UNKNOWN';

type Call = (wallet: Wallet, body: unknown) => WalletResponse;
type BytesCall = (wallet: Wallet, body: Uint8Array, options?: BytesOptions) => Buffer;

/** Hub88: "respond with the same request_uuid as the one received", also on
 *  a replay (whose other fields are the original answer's). */
const OWN_REQUEST_UUID: BytesOptions = Object.freeze({ ownRequestUuid: true });

/** The transaction routes, on the bytes path. */
const BYTES_ROUTES: ReadonlyMap<string, BytesCall> = new Map<string, BytesCall>([
  ['/transaction/bet', betBytes],
  ['/transaction/win', winBytes],
  ['/transaction/rollback', rollbackBytes],
]);

/** /user/info: the user and its currency, learnt from balance(). */
const user_info: Call = (wallet, body) => {
  const answer = (balance as Call)(wallet, body);
  if (answer.status !== RS_OK) return answer;
  return { user: answer.user, status: answer.status, request_uuid: answer.request_uuid, currency: answer.currency } as WalletResponse;
};

export const ROUTES: ReadonlyMap<string, Call> = new Map<string, Call>([
  ['/user/info', user_info],
  ['/user/balance', balance as Call],
  ['/transaction/bet', bet as Call],
  ['/transaction/win', win as Call],
  ['/transaction/rollback', rollback as Call],
]);

export interface HandlerContext {
  wallet: Wallet;
  /** undefined: signatures not checked (--insecure-skip-signature). */
  key: KeyObject | undefined;
  durable: boolean;
  /** Set when the service drains: answers carry Connection: close. */
  draining(): boolean;
  /** What happened, once per request (metrics, logs). */
  done(route: string, status: string, started_ns: bigint, detail?: { durable_ns?: bigint; reason?: string; remote?: string }): void;
  /** A durable() that rejected (the journal failed): logged by the worker. */
  journal_error(error: Error): void;
}

export function send_json(response: ServerResponse, code: number, body: unknown, close: boolean, extra?: Record<string, string>): void {
  send_bytes(response, code, Buffer.from(JSON.stringify(body), 'utf8'), close, extra);
}

function send_bytes(response: ServerResponse, code: number, body: Buffer, close: boolean, extra?: Record<string, string>): void {
  const headers: Record<string, string | number> = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': body.length,
    ...extra,
  };
  if (close) headers.connection = 'close';
  if (response.destroyed) return;
  response.writeHead(code, headers);
  response.end(body);
}

const STATUS_FIELD = Buffer.from('"status":"');

/** The Hub88 status of an answer's bytes. The first `"status":"` is the
 *  field's: inside a JSON string every quote is escaped. */
function status_of(answer: Buffer): string {
  const at = answer.indexOf(STATUS_FIELD) + STATUS_FIELD.length;
  return answer.toString('latin1', at, answer.indexOf(0x22, at));
}

/** The request's own `user` and `request_uuid`, when the bytes are JSON with them (strings). */
function echoes(bytes: Buffer | undefined, parsed?: unknown): { user: string; request_uuid: string } {
  let value = parsed;
  if (value === undefined && bytes !== undefined) {
    try { value = JSON.parse(bytes.toString('utf8')); } catch { value = undefined; }
  }
  const record = typeof value === 'object' && value !== null ? value as Record<string, unknown> : {};
  return {
    user: typeof record.user === 'string' ? record.user : '',
    request_uuid: typeof record.request_uuid === 'string' ? record.request_uuid : '',
  };
}

/** A body too large: answered at once, and the connection closed without reading the rest. */
function refuse_too_large(context: HandlerContext, request: IncomingMessage, response: ServerResponse, route: string, started: bigint): void {
  send_json(response, 200, { user: '', status: RS_ERROR_WRONG_SYNTAX, request_uuid: '' }, true);
  context.done(route, RS_ERROR_WRONG_SYNTAX, started, { reason: 'body_too_large' });
  // Stop reading: no more bytes of this body are taken from the socket; the
  // answer is flushed, then the socket ends (FIN) and is destroyed shortly
  // after, whatever the client still sends.
  request.pause();
  request.removeAllListeners('data');
  const socket = request.socket;
  response.once('finish', () => {
    socket.end();
    setTimeout(() => socket.destroy(), 1000).unref();
  });
}

export function handle_hub88(context: HandlerContext, request: IncomingMessage, response: ServerResponse): void {
  const started = process.hrtime.bigint();
  const path = (request.url ?? '').split('?', 1)[0]!;
  const call = ROUTES.get(path);
  if (call === undefined) {
    send_json(response, 404, { error: `no route ${path.slice(0, 200)}` }, context.draining());
    context.done('other', 'HTTP_404', started);
    request.resume();
    return;
  }
  if (request.method !== 'POST') {
    send_json(response, 405, { error: 'POST only' }, context.draining(), { allow: 'POST' });
    context.done(path, 'HTTP_405', started);
    request.resume();
    return;
  }
  const declared = request.headers['content-length'];
  if (declared !== undefined && Number(declared) > BODY_BYTES_MAX) return refuse_too_large(context, request, response, path, started);

  const chunks: Buffer[] = [];
  let size = 0;
  let refused = false;
  request.on('data', (chunk: Buffer) => {
    if (refused) return;
    size += chunk.length;
    if (size > BODY_BYTES_MAX) {
      refused = true;
      chunks.length = 0;
      refuse_too_large(context, request, response, path, started);
      return;
    }
    chunks.push(chunk);
  });
  request.on('end', () => {
    if (refused) return;
    const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
    void answer(context, request, response, path, call, bytes, started);
  });
  request.on('error', () => { /* the client went away: nothing to answer */ });
}

async function answer(
  context: HandlerContext, request: IncomingMessage, response: ServerResponse,
  path: string, call: Call, bytes: Buffer, started: bigint,
): Promise<void> {
  // 1. The signature, before anything else: a bad one changes nothing.
  if (context.key !== undefined && !signature_valid(context.key, bytes, request.headers[SIGNATURE_HEADER])) {
    send_json(response, 200, { ...echoes(bytes), status: RS_ERROR_INVALID_SIGNATURE }, context.draining());
    context.done(path, RS_ERROR_INVALID_SIGNATURE, started, { reason: 'signature', remote: request.socket.remoteAddress });
    return;
  }
  const bytes_call = BYTES_ROUTES.get(path);
  if (bytes_call !== undefined) return answer_bytes(context, response, path, bytes_call, bytes, started);
  // 2. JSON.
  let body: unknown;
  try {
    body = JSON.parse(bytes.toString('utf8'));
  } catch {
    send_json(response, 200, { user: '', status: RS_ERROR_WRONG_SYNTAX, request_uuid: '' }, context.draining());
    context.done(path, RS_ERROR_WRONG_SYNTAX, started, { reason: 'not_json' });
    return;
  }
  // 3. The wallet (synchronous), then durable(): the answer leaves only
  //    once everything it depended on is on stable storage.
  let reply: Record<string, unknown> = { ...call(context.wallet, body) };
  const durable_ns = await wait_durable(context, () => { reply = { user: reply.user, status: RS_ERROR_UNKNOWN, request_uuid: reply.request_uuid }; });
  // 4. The request's own request_uuid.
  const own = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).request_uuid : undefined;
  if (typeof own === 'string') reply.request_uuid = own;
  send_json(response, 200, reply, context.draining());
  context.done(path, String(reply.status), started, { durable_ns });
}

/** A transaction: the body's bytes to the wallet, its answer's bytes out. */
async function answer_bytes(
  context: HandlerContext, response: ServerResponse, path: string, call: BytesCall, bytes: Buffer, started: bigint,
): Promise<void> {
  let reply = call(context.wallet, bytes, OWN_REQUEST_UUID);
  let status = status_of(reply);
  const durable_ns = await wait_durable(context, () => {
    const { user, request_uuid } = echoes(bytes);
    status = RS_ERROR_UNKNOWN;
    reply = Buffer.from(JSON.stringify({ user, status, request_uuid }), 'utf8');
  });
  send_bytes(response, 200, reply, context.draining());
  context.done(path, status, started, status === RS_ERROR_WRONG_SYNTAX ? { durable_ns, reason: 'not_json' } : { durable_ns });
}

/** durable(), for a durable wallet: its duration, or undefined. If the
 *  journal failed, `failed()` rewrites the answer (RS_ERROR_UNKNOWN). */
async function wait_durable(context: HandlerContext, failed: () => void): Promise<bigint | undefined> {
  if (!context.durable) return undefined;
  const before = process.hrtime.bigint();
  try {
    await durable(context.wallet);
  } catch (error) {
    context.journal_error(error as Error);
    failed();
  }
  return process.hrtime.bigint() - before;
}
