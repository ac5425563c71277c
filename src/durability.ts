// A durable wallet's data directory: open (lock, options, recovery), the
// flusher thread, durable(), close. Formats: journal_format.ts.
//
// What a crash can lose: only answers nobody was given. durable() resolves
// once every epoch up to the caller's ticket is fsync'd (the ticket of a call
// is the epoch open when it left: everything it observed was made in that
// epoch or before), so a service that answers after durable() never
// acknowledges what a crash can take back. Recovery replays whole epochs: a
// prefix of each user's history (assembly/journal.ts), so every recovered
// balance is one the user really had.

import { Worker } from 'node:worker_threads';
import {
  closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, realpathSync, renameSync,
  rmSync, unlinkSync, writeFileSync, writeSync,
} from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { L, gen_counter } from './layout.js';
import type { ThreadCore } from './core.js';
import { plain_error, range_error } from './errors.js';
import {
  FILES, scan_journal, decode_users, encode_users, JournalCorrupt, type UserRecord,
} from './journal_format.js';
import { read_checkpoint, segments_of, segment_name, replay_order, fsync_path, CHECKPOINT_FILE } from './checkpoint.js';
import { RetiredStore, remove_retired_tmp } from './retired.js';
import { rotate, add_uuids_to_filter, BLOCKED, BLOCKED_TEXTS } from './rotation.js';
import type { RotatorData, RotatorReply } from './rotator.js';
import { mark_journal_failed, type FlusherData, type FlusherReply, type JournalFaults } from './flusher.js';

/** What wallet.json keeps: a reopened wallet must be this wallet. */
export interface StoredOptions {
  format: 'exwallet';
  layout_version: number;
  fingerprint_version: number;
  maxUsers: number;
  maxTransactions: number;
  maxThreads: number;
  initialBalance: number;
  currency: string;
  /** The fingerprint seed (hex): a duplicate after a restart must hash as before. */
  fingerprint_seed: string;
}

/** Directories this process has open: a second start() on one is EXWALLET_LOCKED too. */
const open_dirs = new Set<string>();

export interface DataDir {
  path: string;
  real_path: string;
  stored: StoredOptions | undefined;
}


function pid_alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function locked_error(path: string, pid: number): Error {
  return plain_error('EXWALLET_LOCKED', `the data directory ${path} is open in process ${pid}; one process opens a directory at a time`);
}

/** mkdir -p, one level at a time: Node 20's recursive mkdirSync loops
 *  forever on some paths (an ENOENT under /proc). */
function make_dir(path: string): void {
  const absolute = resolve(path);
  const missing: string[] = [];
  for (let at = absolute; !existsSync(at); at = dirname(at)) {
    missing.push(at);
    if (dirname(at) === at) break;
  }
  for (const at of missing.reverse()) {
    try {
      mkdirSync(at);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw range_error('EXWALLET_BAD_OPTION', `dataDir ${path}: cannot create ${at} (${(error as Error).message})`);
      }
    }
  }
}

/** Take the directory: create it if needed, take LOCK (a stale lock of a
 *  dead process is taken over), read wallet.json. */
export function open_data_dir(path: string): DataDir {
  make_dir(path);
  const real_path = realpathSync(path);
  if (open_dirs.has(real_path)) throw locked_error(path, process.pid);
  const lock_path = join(real_path, FILES.lock);
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(lock_path, 'wx');
      writeSync(fd, `${process.pid}\n`);
      fsyncSync(fd);
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw locked_error(path, Number(readFileSync(lock_path, 'utf8')));
        throw error;
      }
      const holder = Number.parseInt(readFileSync(lock_path, 'utf8'), 10);
      if (Number.isInteger(holder) && pid_alive(holder)) throw locked_error(path, holder);
      unlinkSync(lock_path); // a crashed process's lock: take it over (one more try)
    }
  }
  open_dirs.add(real_path);
  const meta_path = join(real_path, FILES.meta);
  const stored = existsSync(meta_path) ? JSON.parse(readFileSync(meta_path, 'utf8')) as StoredOptions : undefined;
  return { path, real_path, stored };
}

export function release_data_dir(dir: DataDir): void {
  try {
    unlinkSync(join(dir.real_path, FILES.lock));
  } finally {
    open_dirs.delete(dir.real_path);
  }
}

/** The options of a reopened wallet: what is stored, where start() said
 *  nothing; a RangeError naming every option that conflicts. */
export function merge_options(
  dir: DataDir, given: Record<string, unknown>, defaults: Record<string, unknown>,
): Record<string, unknown> {
  const stored = dir.stored;
  if (!stored) return { ...defaults, ...Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined)) };
  if (stored.format !== 'exwallet' || stored.layout_version !== L.LAYOUT_VERSION || stored.fingerprint_version !== L.FINGERPRINT_VERSION) {
    throw range_error('EXWALLET_BAD_OPTION', `${dir.path} holds a wallet of another format (${JSON.stringify(stored).slice(0, 120)}); this build reads layout ${L.LAYOUT_VERSION}`);
  }
  const keys = ['maxUsers', 'maxTransactions', 'maxThreads', 'initialBalance', 'currency'] as const;
  const conflicts = keys.filter((key) => given[key] !== undefined && given[key] !== stored[key]);
  if (conflicts.length > 0) {
    throw range_error(
      'EXWALLET_BAD_OPTION',
      `options conflict with the wallet stored in ${dir.path}: ` +
      conflicts.map((key) => `${key} ${JSON.stringify(given[key])} (stored: ${JSON.stringify(stored[key])})`).join(', '),
    );
  }
  const merged: Record<string, unknown> = { ...defaults, ...given };
  for (const key of keys) merged[key] = stored[key];
  return merged;
}

/** Write wallet.json for a new wallet (atomically: tmp, fsync, rename, fsync dir). */
export function store_options(dir: DataDir, options: StoredOptions): void {
  const tmp = join(dir.real_path, `${FILES.meta}.tmp`);
  const fd = openSync(tmp, 'w');
  writeSync(fd, JSON.stringify(options, null, 2) + '\n');
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, join(dir.real_path, FILES.meta));
  fsync_path(dir.real_path);
  dir.stored = options;
}

/** What recovery replays, found before the header is written (the first
 *  open epoch follows the last recovered one): the checkpoint, then every
 *  journal segment's batches after it. Truncates a torn tail (only the last
 *  segment may have one: anywhere else it is corruption). */
export function scan_data_dir(dir: DataDir) {
  // A checkpoint or retired file being written when the process died: never renamed into place, never read.
  rmSync(join(dir.real_path, `${CHECKPOINT_FILE}.tmp`), { force: true });
  remove_retired_tmp(dir.real_path);
  const checkpoint = read_checkpoint(dir.real_path);
  let last_epoch = checkpoint?.epoch ?? 0;
  let paths = segments_of(dir.real_path);
  if (paths.length === 0) {
    const first = join(dir.real_path, segment_name(last_epoch + 1));
    writeFileSync(first, '');
    fsync_path(dir.real_path);
    paths = [first];
  }
  const segments = paths.map((path, index) => {
    const file = readFileSync(path);
    const scan = scan_journal(file, last_epoch);
    if (scan.end === 'torn' && index < paths.length - 1) {
      throw new JournalCorrupt(`exwallet: journal segment ${path} is damaged before the end of the journal: refusing to open`);
    }
    if (scan.valid_bytes < file.length) truncate(path, scan.valid_bytes);
    last_epoch = scan.last_epoch;
    return { path, file, scan };
  });
  const tail = segments[segments.length - 1];
  const users_path = join(dir.real_path, FILES.users);
  const users_file = existsSync(users_path) ? readFileSync(users_path) : Buffer.alloc(0);
  const users = decode_users(users_file);
  if (users.valid_bytes < users_file.length) truncate(users_path, users.valid_bytes);
  return {
    checkpoint, segments, users: users.users, last_epoch,
    journal_path: tail.path, journal_bytes: tail.scan.valid_bytes, last_crc: tail.scan.last_crc,
  };
}

function truncate(path: string, bytes: number): void {
  const fd = openSync(path, 'r+');
  try {
    ftruncateSync(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Replay what scan_data_dir found into a fresh wallet (this thread, before
 *  anyone else can attach): users at their slots, the retired filter from
 *  the retired files, the checkpoint's folded deltas and live records, then
 *  every record of the journal after it: a retired one (on disk already)
 *  moves only money, the others become committed transactions again. When
 *  they outgrow the window, recovery rotates as the rotator would. Last,
 *  each user's base_units is set so that audit's ledger holds: balance =
 *  base + the deltas of the entries in memory. */
export function recover(core: ThreadCore, found: ReturnType<typeof scan_data_dir>): { users: number; transactions: number } {
  for (const user of found.users) {
    const currency_id = core.currencies.id_of(user.currency, Buffer.from(user.currency, 'utf8'));
    const name_bytes = core.bytes.write(user.name, core.scratch + L.S_NAME, L.USER_NAME_MAX_BYTES, 'utf8');
    const slot = core.exports.user_create_at(user.slot, name_bytes, user.balance_units, currency_id);
    if (slot !== user.slot) throw new JournalCorrupt(`exwallet: users.log names user ${JSON.stringify(user.name)} at slot ${user.slot} twice, or past maxUsers`);
  }
  const retired = new RetiredStore(core.data_dir);
  let retired_seq = 0;
  for (const file of retired.files()) {
    add_uuids_to_filter(core, retired.uuids_of(file.path));
    retired_seq = Math.max(retired_seq, file.seq);
  }
  Atomics.store(core.u32, (L.HEADER_OFFSET + L.H_RETIRED_SEQ) >>> 2, retired_seq);
  const balances = core.layout.user_balances_offset / 8;
  found.checkpoint?.deltas.forEach((delta, slot) => {
    core.i64[balances + slot] += delta;
  });
  // stats() counts every transaction ever applied: the retired ones folded
  // into the checkpoint count in this thread's slot (recovery's commits too).
  const record = (core.layout.threads_offset + core.thread_slot * L.THREAD_RECORD_BYTES) / 8;
  const counters = [0, L.T_BETS, L.T_WINS, L.T_ROLLBACKS];
  for (const kind of [L.KIND_BET, L.KIND_WIN, L.KIND_ROLLBACK]) {
    core.i64[record + counters[kind] / 8] += BigInt(found.checkpoint?.retired_counts[kind] ?? 0);
  }
  let transactions = 0;
  const records_at = core.scratch + L.S_RECORDS;
  const chunk_records = Math.floor(L.S_RECORDS_MAX_BYTES / L.JOURNAL_RECORD_BYTES);
  /** Apply `count` contiguous records of `file` from `at`, a scratch-full at a time. */
  const apply = (file: Buffer, at: number, count: number, where: string, no_delta: number): void => {
    let flags = 0; // for the record at `done`, from what stopped it before
    for (let done = 0; done < count;) {
      const n = Math.min(chunk_records, count - done);
      const from = at + done * L.JOURNAL_RECORD_BYTES;
      file.copy(core.bytes, records_at, from, from + n * L.JOURNAL_RECORD_BYTES);
      const applied = core.exports.recover_records(n, flags, no_delta);
      done += applied;
      if (applied > 0) flags = 0;
      if (applied === n) continue;
      const status = core.u32[(core.scratch + L.S_OUT_STATE) >>> 2];
      const record = from + applied * L.JOURNAL_RECORD_BYTES;
      if (status === L.ST_TABLE_FULL) {
        const outcome = rotate(core, { dir: core.data_dir, live: false });
        if (!outcome.rotated) throw new JournalCorrupt(`exwallet: the journal does not fit the window (${outcome.reason}): start with a larger maxTransactions`);
        retired.refresh(); // the file recovery's rotation wrote
      } else if (status === L.ST_RETIRED_MAYBE) {
        const uuid = file.subarray(record + L.R_UUID, record + L.R_UUID + 16);
        flags |= retired.find(uuid) ? L.RECOVER_DELTA_ONLY : L.APPLY_OWN_CHECKED;
      } else if (status === L.ST_TX_DOES_NOT_EXIST && (flags & L.RECOVER_BET_RETIRED) === 0 &&
        retired.find(file.subarray(record + L.R_REFERENCE, record + L.R_REFERENCE + 16))) {
        flags |= L.RECOVER_BET_RETIRED;
      } else {
        throw new JournalCorrupt(`exwallet: record ${done} of ${where} cannot be applied (core status ${status}): refusing to open`);
      }
    }
    transactions += count;
  };
  if (found.checkpoint) apply(found.checkpoint.records, 0, found.checkpoint.record_count, 'the checkpoint', L.RECOVER_NO_DELTA);
  for (const { file, scan, path } of found.segments) {
    for (const batch of scan.batches) {
      // Runs of adjacent records go to the core together.
      const order = replay_order(file, batch);
      for (let i = 0; i < order.length;) {
        let run = 1;
        while (i + run < order.length && order[i + run] === order[i] + run * L.JOURNAL_RECORD_BYTES) run++;
        apply(file, order[i], run, `the batch of epoch ${batch.epoch} in ${path}`, 0);
        i += run;
      }
    }
  }
  set_bases(core);
  return { users: found.users.length, transactions };
}

/** base_units = balance - the deltas of the transactions in memory, per user. */
function set_bases(core: ThreadCore): void {
  const { layout, u32, i64 } = core;
  const in_memory = new Map<number, bigint>();
  for (let gen = 0; gen < layout.gen_count; gen++) {
    const used = Math.min(Atomics.load(u32, (L.HEADER_OFFSET + gen_counter('entries_next', gen)) >>> 2), layout.gen_entries);
    const first = gen * layout.gen_entries;
    for (let entry = first; entry < first + used; entry++) {
      const at = layout.tx_entries_offset + entry * L.ENTRY_SIZE_BYTES;
      const state = u32[(at + L.E_STATE) >>> 2];
      if ((state & L.PHASE_MASK) !== L.PHASE_COMMITTED) continue;
      const kind = (state & L.KIND_MASK) >>> L.KIND_SHIFT;
      if (kind === L.KIND_BET && ((state & L.SETTLE_MASK) >>> L.SETTLE_SHIFT) === L.SETTLE_MOVED) continue;
      const slot = u32[(at + L.E_USER_SLOT) >>> 2];
      const amount = i64[(at + L.E_AMOUNT) / 8];
      in_memory.set(slot, (in_memory.get(slot) ?? 0n) + (kind === L.KIND_BET ? -amount : amount));
    }
  }
  for (let slot = 0; slot < layout.user_records_max; slot++) {
    const base = (layout.user_meta_offset + slot * L.USER_META_BYTES + L.M_BASE_UNITS) / 8;
    i64[base] = i64[layout.user_balances_offset / 8 + slot] - (in_memory.get(slot) ?? 0n);
  }
}

/** Append one users.log frame and fsync it: the users it names may be
 *  published only after this returns. */
export function journal_users(core: ThreadCore, users: readonly UserRecord[]): void {
  const frame = encode_users(users);
  const fd = openSync(join(core.data_dir, FILES.users), 'a');
  try {
    writeSync(fd, frame);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The durable side of one wallet, in the thread that started it. */
export interface DurableState {
  dir: DataDir;
  flusher: Worker;
  flusher_done: Promise<void>;
  failure: string | undefined;
  rotator?: Rotator;
}

export interface Rotator {
  worker: Worker;
  done: Promise<void>;
  /** The last reason it reported for not rotating (stats().rotationBlocked has the current one). */
  blocked: string | undefined;
}

/** The rotator worker (src/rotator.ts) of a durable wallet. */
export function start_rotator(core: ThreadCore, dir: DataDir, retention_ms: number, module: WebAssembly.Module): Rotator {
  const data: RotatorData = { kind: 'exwallet.rotator', memory: core.memory, module, dir: dir.real_path, retention_ms };
  const worker = new Worker(new URL('./rotator.js', import.meta.url), { workerData: data });
  const rotator: Rotator = { worker, done: Promise.resolve(), blocked: undefined };
  rotator.done = new Promise<void>((resolve) => {
    worker.on('message', (reply: RotatorReply) => {
      rotator.blocked = reply.reason;
    });
    worker.once('error', (error) => {
      rotator.blocked = `the rotator failed: ${error.message}`;
      Atomics.store(core.u32, (L.HEADER_OFFSET + L.H_ROTATION_BLOCKED) >>> 2, BLOCKED_TEXTS.indexOf(BLOCKED.rotator_failed));
      resolve();
    });
    worker.once('exit', () => resolve());
  });
  // After the listeners: on Node 20 a 'message' listener added to an
  // unref()'d worker refs its port again, and the process would never exit.
  worker.unref();
  return rotator;
}

/** close(): the run word is CLOSED; wake the rotator and wait for it to exit. */
export async function stop_rotator(core: ThreadCore, rotator: Rotator): Promise<void> {
  const want = (L.HEADER_OFFSET + L.H_ROTATE_WANT) >>> 2;
  Atomics.add(core.u32, want, 1);
  Atomics.notify(core.i32, want);
  rotator.worker.ref();
  await rotator.done;
}

export function start_flusher(
  core: ThreadCore, dir: DataDir, journal_path: string, offset: number, prev_crc: number,
  faults: JournalFaults | undefined,
): DurableState {
  const data: FlusherData = { memory: core.memory, dir: dir.real_path, journal_path, offset, prev_crc, faults };
  const flusher = new Worker(new URL('./flusher.js', import.meta.url), { workerData: { kind: 'exwallet.flusher', data } });
  const state: DurableState = { dir, flusher, flusher_done: Promise.resolve(), failure: undefined };
  state.flusher_done = new Promise<void>((resolve) => {
    flusher.on('message', (reply: FlusherReply) => {
      if (reply.kind === 'failed') state.failure = reply.message;
    });
    flusher.once('error', (error) => {
      state.failure = error.message;
      mark_journal_failed(core.u32, core.i64);
      resolve();
    });
    flusher.once('exit', () => resolve());
  });
  flusher.unref(); // a wallet does not keep a process alive; close() or durable() waits for it (after the listeners: see start_rotator)
  return state;
}

// ---------------------------------------------------------------------------
// durable(): wait for the tickets this thread collected.


export function durable_epoch(core: ThreadCore): number {
  return Number(Atomics.load(core.i64, (L.HEADER_OFFSET + L.H_DURABLE) / 8));
}

export function journal_failed(core: ThreadCore): boolean {
  return Atomics.load(core.u32, (L.HEADER_OFFSET + L.H_JOURNAL_FAILED) >>> 2) !== 0;
}

export function journal_failed_error(): Error {
  return plain_error(
    'EXWALLET_JOURNAL_FAILED',
    'the journal could not be written (disk full or I/O error): this wallet is stopped (fail-stop); nothing acknowledged ' +
    'is lost. Fix the storage, then restart: start({ dataDir }) recovers every durable transaction',
  );
}

interface Waiter {
  ticket: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

const RESOLVED = Promise.resolve();

/** Resolves once every answer this thread got from the wallet is on stable
 *  storage (fsync'd); rejects with EXWALLET_JOURNAL_FAILED if the journal failed. */
export function wait_durable(core: ThreadCore): Promise<void> {
  if (!core.journal_on) return RESOLVED;
  if (journal_failed(core)) return Promise.reject(journal_failed_error());
  const ticket = core.max_ticket;
  if (durable_epoch(core) >= ticket) return RESOLVED;
  return new Promise<void>((resolve, reject) => {
    core.durable_waiters.push({ ticket, resolve, reject });
    // One wake per flush and thread, not per durable(): the watch wakes the
    // flusher again each time it re-arms with waiters left (an atomic add and
    // a notify per call were ~10% of a service worker's profile).
    if (!core.durable_waiting) watch(core);
  });
}

/** Atomics.waitAsync (Node 20 has it; the ES2023 lib types do not). */
const wait_async = (Atomics as unknown as {
  waitAsync(view: BigInt64Array, index: number, value: bigint, timeout_ms: number): { async: boolean; value: Promise<string> | string };
}).waitAsync;
/** A waiter re-checks at least this often (and so sees a failed journal). */
const WATCH_SLICE_MS = 100;
const KEEPALIVE_MS = 60_000;

/** One waitAsync per thread and wallet serves every pending durable(). */
function watch(core: ThreadCore): void {
  core.durable_waiting = true;
  const view = core.i64;
  const index = (L.HEADER_OFFSET + L.H_DURABLE) / 8;
  // A pending Atomics.waitAsync does not keep Node's event loop alive: an
  // awaited durable() must (the flusher thread itself is unref'd).
  const keepalive = setInterval(() => {}, KEEPALIVE_MS);
  const done = (): void => {
    core.durable_waiting = false;
    clearInterval(keepalive);
  };
  const step = (): void => {
    const waiters = core.durable_waiters as Waiter[];
    if (journal_failed(core)) {
      core.durable_waiters = [];
      done();
      for (const waiter of waiters) waiter.reject(journal_failed_error());
      return;
    }
    const durable_now = Atomics.load(view, index);
    const epoch = Number(durable_now);
    const still: Waiter[] = [];
    for (const waiter of waiters) {
      if (waiter.ticket <= epoch) waiter.resolve();
      else still.push(waiter);
    }
    core.durable_waiters = still;
    if (still.length === 0) {
      done();
      return;
    }
    wake_flusher(core);
    const waited = wait_async(view, index, durable_now, WATCH_SLICE_MS);
    if (waited.async) void (waited.value as Promise<string>).then(step);
    else queueMicrotask(step);
  };
  step();
}

/** Ask the flusher for a flush (it sleeps on H_FLUSH_WANT when idle). */
export function wake_flusher(core: ThreadCore): void {
  const word = (L.HEADER_OFFSET + L.H_FLUSH_WANT) >>> 2;
  Atomics.add(core.u32, word, 1);
  Atomics.notify(core.i32, word);
}

/** close(): ask the flusher to write everything pending and exit. */
export async function stop_flusher(core: ThreadCore, state: DurableState): Promise<void> {
  Atomics.store(core.u32, (L.HEADER_OFFSET + L.H_FLUSH_CLOSE) >>> 2, 1);
  wake_flusher(core);
  state.flusher.ref();
  await state.flusher_done;
}
