// The shared-memory layout of one wallet: the single source of truth.
//
// This file is compiled twice: by asc into the WASM core (where the numbers
// are i32 constants) and by tsc into the TypeScript face (where they are
// numbers). Keep it to plain integer constants so both compilers agree; the
// region *offsets* depend on the options and are computed once, by
// `src/layout.ts`, then written into the header, from which every thread (and
// the WASM core, in `init`) reads them.
//
// One shared WebAssembly.Memory, sized at start() and never grown:
//
//   0                 65536      +4096
//   | AS static data  | header   | currencies      | user index | user names | user balances | user meta    |
//   |  (must be none) |          | 128 B x 1024    | u64 x cap  | 256 B x N  | i64 x N       | 16 B x N     |
//   -------------------------------------------------------------------------------------------------------
//   | tx index          | tx entries                    | thread registry | scratch            | rings | filter |
//   | u64 x tx_capacity | 88 B x (tx_max + slack)       | 64 B x threads  | 128 KiB x threads  |       |        |
//
// The tx index and the tx entries are split into GENERATIONS (1 for a
// memory-only wallet, 2 for a durable one), each with its own index, entries
// and budget counters (see "Generations" below):
//
//   tx index:   | gen 0: u64 x gen_index_capacity | gen 1: u64 x gen_index_capacity |
//   tx entries: | gen 0: gen_entries             | gen 1: gen_entries             |
//
// Entry numbers are global (gen g owns [g x gen_entries, (g+1) x gen_entries)),
// so a ref_entry or a twin's wait word needs no generation beside it.
//
// Every region starts on a 64-byte boundary. Offsets are u32 (the memory is
// at most 4 GiB); the TypeScript face must index typed arrays with `>>> 2`
// or a division, never `>> 2`, or offsets past 2 GiB turn negative.
//
// Index words are never changed once non-zero (keys are bound for life),
// which is what makes probing without locks safe: a prober that passed a
// word never needs to look at it again.
//
// Index word (user index and tx index alike), one u64:
//
//   63            32 31             0
//   | tag (32 bits)  | record + 1     |     0 = empty; record + 1 >= 1 otherwise
//
// Both indexes hash with SipHash-1-3 under the wallet's random 128-bit key
// (H_HASH_KEY): nobody who does not know the key can aim keys at one probe run.
//
// One currency record (CURRENCY_RECORD_BYTES = 128), append-only:
//
//   off size field
//    0   4   length         UTF-8 bytes, 0 = not yet published
//    4  64   UTF-8 bytes    (1-64; per-user currencies are 1-16)
//
// One user meta record (USER_META_BYTES = 16), written before the user's
// index word publishes it:
//
//   off size field
//    0   8   base_units     the balance the ledger starts from (the initial
//                           balance; audit checks balance = base + deltas)
//    8   4   currency_id    index into the currency records
//   12   4   (reserved)
//
// One transaction entry (ENTRY_SIZE_BYTES = 88):
//
//   off size field
//    0   4   state           phase | kind | settlement | waiters | owner (below)
//    4   4   user_slot       the user the transaction moved money for
//    8   4   ref_entry       win/rollback: entry index of the settled bet
//                            (NO_REF_ENTRY once that bet's generation retired)
//   12   4   (reserved)
//   16  16   uuid            transaction_uuid, 16 bytes, the key
//   32  16   request_uuid    the original request_uuid, replayed to duplicates
//   48   8   fingerprint     64-bit hash of every other field (see fingerprint.ts)
//   56   8   amount_units    bet/win: the amount; rollback: the refund
//   64   8   balance_after   the user's balance right after this transaction
//   72  16   ref_uuid        win/rollback: the settled bet's transaction_uuid
//                            (lookup() names it after the bet left memory)
//
// Entry state word, one u32, changed only by atomic compare-exchange:
//
//   bits 0-2   phase        FREE -> CLAIMED -> COMMITTED       (applied, final)
//                                          -> RELEASED -> CLAIMED  (failed; the
//                                             uuid may be claimed again)
//   bits 3-4   kind         BET | WIN | ROLLBACK
//   bits 5-7   settlement   (bets only, once COMMITTED)
//                           OPEN -> SETTLING_WIN      -> WON
//                                                     -> OPEN (the win failed)
//                           OPEN -> SETTLING_ROLLBACK -> ROLLED_BACK
//                                                     -> OPEN (the refund failed)
//                           OPEN -> MOVED (a rotation carried the open bet
//                                   into the current generation: this entry
//                                   is a stub, the copy there is the bet)
//   bit  8     waiters      a twin sleeps on this word: notify on change
//   bit  9     unit_held    RELEASED only: this entry still holds one budget
//                           unit (the release slack was spent, see below)
//   bits 16-31 owner        thread slot of the claimer (audit, diagnostics)
//
// Capacity. `tx_max` (maxTransactions) is a BUDGET of units: every applied
// transaction holds one, and every open bet holds a second one in reserve for
// its settlement. So a bet takes 2 units and a win or rollback of an open bet
// takes none (it uses the bet's reserve): the settlement of an open bet can
// never be refused for room. A request that fails gives its units back.
// Physical entries are tx_max + slack: a failure found only after the uuid
// was claimed leaves its entry bound to that uuid (RELEASED; retries of the
// uuid meet there), and the first RELEASE_SLACK of those come out of the
// slack rather than the budget; entries handed to threads in chunks but not
// used yet come out of the slack too (at most threads x chunk).

export const LAYOUT_VERSION = 4;
export const LAYOUT_MAGIC = 0x4c575845; // "EXWL" little-endian
/** Version of the fingerprint encoding (src/fingerprint_encoder.ts and
 *  assembly/fingerprint.ts): a stored fingerprint is only comparable with
 *  one computed by the same version. */
export const FINGERPRINT_VERSION = 2;

export const STATIC_DATA_MAX_BYTES = 65536;
export const HEADER_OFFSET = 65536;
export const HEADER_SIZE_BYTES = 4096;
export const REGION_ALIGN_BYTES = 64;
export const CACHE_LINE_BYTES = 64;

// Header fields (byte offsets from HEADER_OFFSET).
export const H_MAGIC = 0; //                 u32
export const H_VERSION = 4; //               u32
export const H_USERS_MAX = 8; //             u32  users the table accepts
export const H_USER_RECORDS_MAX = 12; //     u32  users_max + threads_max (race spares)
export const H_USER_INDEX_CAPACITY = 16; //  u32  index words (2 x users_max)
export const H_TX_MAX = 20; //               u32  budget units (maxTransactions)
export const H_TX_INDEX_CAPACITY = 24; //    u32  index words (2 x tx_entries_max)
export const H_THREADS_MAX = 28; //          u32  thread slots (scratch regions)
export const H_INITIAL_BALANCE = 32; //      i64  balance of a new user, in units
export const H_FINGERPRINT_SEED = 40; //     u64  random per wallet
export const H_WAIT_MS_MAX = 48; //          u32  bound on waiting for a twin
export const H_CURRENCY_ID = 52; //          u32  the wallet's default currency (a currency record)
export const H_HASH_KEY = 56; //             2 x u64  SipHash key of both indexes, random per wallet
export const H_TX_ENTRIES_MAX = 72; //       u32  physical entries (tx_max + slack)
export const H_RELEASE_SLACK = 76; //        u32  post-claim failures the slack absorbs
export const H_CURRENCIES_OFFSET = 124; //   u32  region offsets, from byte 0
export const H_USER_INDEX_OFFSET = 128;
export const H_USER_NAMES_OFFSET = 132;
export const H_USER_BALANCES_OFFSET = 136;
export const H_TX_INDEX_OFFSET = 140;
export const H_TX_ENTRIES_OFFSET = 144;
export const H_THREADS_OFFSET = 148;
export const H_SCRATCH_OFFSET = 152;
export const H_MEMORY_PAGES = 156; //        u32  memory size in 64 KiB pages
export const H_USER_META_OFFSET = 160;
export const H_RINGS_OFFSET = 164; //        u32  journal rings (durable wallets; else no bytes)
export const H_JOURNAL_ON = 168; //          u32  1: a durable wallet (calls append journal records)
export const H_RING_RECORDS = 172; //        u32  records per journal ring
export const H_DATA_DIR_LENGTH = 176; //     u32  UTF-8 bytes of the data directory's path (durable wallets)
export const H_DATA_DIR = 2048; //           [DATA_DIR_MAX_BYTES] that path: any thread's createUsers journals users there
export const DATA_DIR_MAX_BYTES = 2048;
// Words written by more than one thread each get a cache line of their own;
// none of them is touched on the bet/win/rollback hot path except once per
// chunk (entries, budget) and the run word (one load per call).
export const H_USERS_RESERVED = 256; //      u32  user tickets taken (<= H_USERS_MAX)
export const H_USER_RECORDS_NEXT = 320; //   u32  next free user record
export const H_TX_ENTRIES_NEXT = 384; //     u32  next free physical entry (handed out in chunks)
export const H_USERS_PUBLISHED = 448; //     u32  users created (<= H_USERS_RESERVED; the
//                                                 difference is creations in flight)
export const H_TX_BUDGET_NEXT = 512; //      u32  budget units handed to thread slots (in chunks)
export const H_RELEASED_BOUND = 576; //      u32  RELEASED entries holding no unit (<= H_RELEASE_SLACK)
export const H_CURRENCIES_RESERVED = 640; // u32  currency records taken
export const H_RUN = 704; //                 u32  RUN_* below; read by every call, written rarely
export const H_EPOCH = 768; //               u64  the open epoch E (durable wallets; 1 otherwise)
export const H_DURABLE = 832; //             u64  every epoch <= this is on stable storage
export const H_CREATE_LOCK = 896; //         u32  createUsers of a durable wallet: holder's threadId + 1
export const H_FLUSH_WANT = 960; //          u32  bumped (and notified) by durable() waiters: wakes the flusher
export const H_JOURNAL_FAILED = 1024; //     u32  the journal failed: durable() rejects
export const H_FLUSH_CLOSE = 1088; //        u32  close(): the flusher writes what is pending and exits
// Generations (durable wallets rotate them; see "Generations" below).
export const H_GEN_WORD = 1152; //           u32  (seq << 1) | prev_live: read once by every call
export const H_ROTATE_WANT = 1216; //        u32  bumped (and notified) when the current generation runs low
export const H_ROTATING = 1280; //           u32  ROTATION_*: a rotation or an audit holds the tables
export const H_RETIRED_SEQ = 1344; //        u32  retirements so far (a generation's uuids went to disk + filter)
export const H_GEN_ENTRIES_NEXT_1 = 1408; // u32  generation 1's H_TX_ENTRIES_NEXT
export const H_GEN_BUDGET_NEXT_1 = 1472; //  u32  generation 1's H_TX_BUDGET_NEXT
export const H_GEN_RELEASED_BOUND_1 = 1536; // u32 generation 1's H_RELEASED_BOUND
export const H_FILTER_KEYS = 1600; //        u32  uuids added to the retired filter (saturates)
export const H_FLIP_CANARY = 1664; //        u32  tests only: the rotator flips without pausing (src/testing.ts)
export const H_ROTATIONS = 1728; //          u32  flips done since start (stats)
export const H_ROTATION_STALL_MS = 1792; //  u32  tests only: the rotator lingers this long between steps
export const H_ROTATION_BLOCKED = 1856; //   u32  why the last rotation could not proceed (src/rotation.ts BLOCKED), 0: it did
export const H_BYTES_FALLBACKS = 1920; //    u32  bodies the bytes path handed to JSON.parse (stats; wraps)
export const H_GEN_COUNT = 180; //           u32  1 (memory-only) or 2 (durable)
export const H_GEN_BUDGET = 184; //          u32  budget units per generation
export const H_GEN_ENTRIES = 188; //         u32  physical entries per generation
export const H_GEN_INDEX_CAPACITY = 192; //  u32  index words per generation
export const H_FILTER_OFFSET = 196; //       u32  the retired filter (0 bytes when H_FILTER_BLOCKS is 0)
export const H_FILTER_BLOCKS = 200; //       u32  64-byte blocks of the retired filter
export const H_ROTATE_AT = 204; //           u32  budget units used in the current generation that ask for a rotation

// The run word: every call loads it once, after announcing itself busy.
export const RUN_OPEN = 0;
export const RUN_PAUSED = 1; // audit() holds the wallet: calls wait (bounded), then retry
export const RUN_CLOSED = 2; // close(): every call throws
export const RUN_FAILED = 3; // the journal failed: transactions answer RS_ERROR_UNKNOWN (fail-stop)

export const CURRENCY_MAX_BYTES = 64; //        the wallet's `currency` option
export const USER_CURRENCY_MAX_BYTES = 16; //   a user's own currency (spec: 1-16)
export const CURRENCIES_MAX = 1024;
export const CURRENCY_RECORD_BYTES = 128;
export const C_LENGTH = 0;
export const C_BYTES = 4;

export const INDEX_WORD_BYTES = 8;
export const USER_NAME_RECORD_BYTES = 256; // u8 length + up to 255 UTF-8 bytes
export const USER_NAME_MAX_BYTES = 255;
export const BALANCE_BYTES = 8;
export const USER_META_BYTES = 16;
export const M_BASE_UNITS = 0;
export const M_CURRENCY_ID = 8;

export const ENTRY_SIZE_BYTES = 88;
export const E_STATE = 0;
export const E_USER_SLOT = 4;
export const E_REF_ENTRY = 8;
export const E_EPOCH = 12;
export const E_UUID = 16;
export const E_REQUEST_UUID = 32;
export const E_FINGERPRINT = 48;
export const E_AMOUNT = 56;
export const E_BALANCE_AFTER = 64;
export const E_REF_UUID = 72;
/** ref_entry of a win/rollback whose bet's generation was retired. */
export const NO_REF_ENTRY = 0xffffffff;
// Entries and budget units are handed to a thread in chunks so the shared
// counters are touched once per chunk, not once per transaction.
export const ENTRY_CHUNK_MAX = 64;
export const BUDGET_CHUNK_MAX = 64;
/** Budget units a bet takes: its own entry and its settlement's reserve. */
export const BET_UNITS = 2;
/** Post-claim failures absorbed by the slack: at least this many, or 1/64 of the budget. */
export const RELEASE_SLACK_MIN = 64;

// State word fields.
export const PHASE_MASK = 0x7;
export const PHASE_FREE = 0;
export const PHASE_CLAIMED = 1;
export const PHASE_COMMITTED = 2;
export const PHASE_RELEASED = 3;
export const KIND_SHIFT = 3;
export const KIND_MASK = 0x18;
export const KIND_BET = 1;
export const KIND_WIN = 2;
export const KIND_ROLLBACK = 3;
export const SETTLE_SHIFT = 5;
export const SETTLE_MASK = 0xe0;
export const SETTLE_OPEN = 0;
export const SETTLE_SETTLING_WIN = 1;
export const SETTLE_SETTLING_ROLLBACK = 2;
export const SETTLE_WON = 3;
export const SETTLE_ROLLED_BACK = 4;
export const SETTLE_MOVED = 5;
export const WAITERS_BIT = 0x100;
export const UNIT_HELD_BIT = 0x200;
export const OWNER_SHIFT = 16;

// Generations. A durable wallet never runs out of room: maxTransactions
// sizes a window of two generations of gen_budget = maxTransactions / 2
// units each. New transactions go into the CURRENT one (seq mod 2); the
// PREVIOUS one is still probed (prev_live) for duplicates and for the bets
// that wins and rollbacks settle. When the current one runs low (H_ROTATE_AT),
// the rotator (src/rotator.ts) retires the previous generation:
//
//   1. pause: carry its open bets into the current one (copies; the
//      originals become MOVED stubs), then check it holds no claim in flight
//   2. write its committed transactions to a retired file (src/retired.ts),
//      fsync; add their uuids to the retired filter; H_RETIRED_SEQ++
//   3. pause: prev_live = 0 (from now on nobody probes it)
//   4. fold its deltas into each user's base_units (audit: balance = base +
//      deltas of the entries in memory); wipe its index and entries
//   5. pause: seq++ (it is the current one, empty), prev_live = 1; carry
//      the now previous generation's open bets into it
//
// "One uuid, one entry": a call reads H_GEN_WORD once, after announcing
// itself busy, and probes current then previous; it inserts only into the
// current one. Every change of H_GEN_WORD is made with the wallet paused and
// no call in flight (the same Dekker pair as audit's), so no call can publish
// into a generation after another call has probed past it. A memory-only
// wallet has one generation and never rotates (a full table refuses bets).
//
// The retired filter: a split-block Bloom filter of FILTER_BLOCK_BYTES
// blocks, FILTER_BITS_PER_KEY bits per retired uuid of its capacity; a uuid
// sets one bit in each of the FILTER_PROBES 64-bit words of one block. A new uuid that misses both generations and the
// filter is new (no disk read); a filter hit is searched in the retired
// files (ST_RETIRED_MAYBE), which answer exactly.
export const GEN_COUNT_DURABLE = 2;
export const FILTER_BLOCK_BYTES = 64;
export const FILTER_BITS_PER_KEY = 12;
export const FILTER_PROBES = 8;
/** Rotate when the current generation has used this fraction of its budget (/1024). */
export const ROTATE_AT_PER_1024 = 768;
/** Retired transactions the filter is sized for by default: this many windows. */
export const FILTER_WINDOWS_DEFAULT = 64;
export const FILTER_CAPACITY_DEFAULT_MAX = 64 * 1024 * 1024;

// Thread registry: one record per thread slot, a cache line each. Only its
// holder writes it (audit too, at quiescence); stats() and audit() read it.
//
//   off size field
//    0   4   owner         0 = free, otherwise the holder's Node threadId + 1
//    4   4   entry_next    entries [entry_next, entry_end) are reserved for
//    8   4   entry_end     this slot; they outlive the thread that reserved
//                          them, so a detach or a new holder loses none
//   12   4   user_spare    a user record lost in a creation race, + 1 (0: none)
//   16   4   budget_units  budget units reserved for this slot (like entries)
//   20   4   gen_seq       the generation seq those entries and units are of:
//                          after a flip they are stale and dropped
//   24   8   announce      the epoch this slot's call entered in, 0 when idle:
//                          "busy" for audit and close, and what keeps the
//                          flusher from closing that epoch (see journal.ts)
//   32   8   bets          transactions this slot committed, by kind:
//   40   8   wins          stats() sums them over the slots (no shared
//   48   8   rollbacks     counter is written on the hot path)
//   56   4   released      post-claim failures of this slot
//   60   4   (reserved)
export const THREAD_RECORD_BYTES = 64;
export const T_OWNER = 0;
export const T_ENTRY_NEXT = 4;
export const T_ENTRY_END = 8;
export const T_USER_SPARE = 12;
export const T_BUDGET_UNITS = 16;
export const T_GEN_SEQ = 20;
export const T_ANNOUNCE = 24;
export const T_BETS = 32;
export const T_WINS = 40;
export const T_ROLLBACKS = 48;
export const T_RELEASED = 56;
/** Owner mark of a free slot held for a moment to adopt its entries. */
export const ADOPTING_OWNER = 0xffffffff;

// One thread's scratch region (SCRATCH_SIZE_BYTES), private to its holder:
//
//   off  size  field
//     0   16   transaction_uuid (16 bytes, parsed by the caller)
//    16   16   request_uuid
//    32   16   reference_transaction_uuid
//    48    8   out: balance (f64) for RS_OK / NOT_ENOUGH_MONEY / replays
//    56    4   out: entry index the call is waiting on (twin in flight)
//    60    4   out: user slot of the replayed entry
//    64   16   out: request_uuid of the replayed entry
//    80    8   out: amount (f64) of a looked-up entry
//    88    4   out: state word of a looked-up entry
//    96    8   out: ticket (f64): the epoch this call's answer depends on
//   104    8   out: fingerprint of the request (ST_RETIRED_MAYBE: JS compares it)
//   112    4   in:  H_RETIRED_SEQ when JS searched the retired files for
//                   this call's uuid (APPLY_OWN_CHECKED)
//   116    4   in:  the same for its referenced bet (APPLY_REF_CHECKED)
//   128  256   a user name, UTF-8 (user lookup and creation)
//   384   36   out: that request_uuid as canonical text (ASCII)
//   420   36   out: a looked-up win/rollback's bet uuid as canonical text
//   456    8   bytes path (src/bytes.ts, assembly/request_bytes.ts), out of
//              parse_body: the amount (f64)
//   464    4     where the body's `user` value starts (bytes from S_BODY)
//   468    4     its length in bytes
//   472    4     where its `request_uuid` value starts
//   476    4     its length
//   480    4     the user's slot
//   484    4     apply()'s flags (APPLY_CURRENCY_OK)
//   488    4     the records' length in bytes (transact_body)
//   512  ...   fingerprint records (see fingerprint.ts), up to the end; the
//              bytes path keeps them below S_BODY and writes its response
//              over them once the core has answered
// 65536 65536  bytes path: the request body (UTF-8 JSON), copied in by JS
export const SCRATCH_SIZE_BYTES = 131072;
export const S_UUID = 0;
export const S_REQUEST_UUID = 16;
export const S_REF_UUID = 32;
export const S_OUT_BALANCE = 48;
export const S_OUT_ENTRY = 56;
export const S_OUT_USER_SLOT = 60;
export const S_OUT_REQUEST_UUID = 64;
export const S_OUT_AMOUNT = 80;
export const S_OUT_STATE = 88;
export const S_OUT_TICKET = 96;
export const S_OUT_FINGERPRINT = 104;
export const S_IN_RETIRED_SEQ = 112;
export const S_IN_REF_RETIRED_SEQ = 116;
export const S_NAME = 128;
export const S_OUT_REQUEST_TEXT = 384;
export const S_OUT_REF_TEXT = 420;
export const UUID_TEXT_BYTES = 36;
export const S_RECORDS = 512;
export const S_RECORDS_MAX_BYTES = SCRATCH_SIZE_BYTES - S_RECORDS;
export const S_BODY_AMOUNT = 456;
export const S_BODY_USER_AT = 464;
export const S_BODY_USER_BYTES = 468;
export const S_BODY_REQUEST_AT = 472;
export const S_BODY_REQUEST_BYTES = 476;
export const S_BODY_USER_SLOT = 480;
export const S_BODY_FLAGS = 484;
export const S_BODY_RECORDS_BYTES = 488;
export const S_BODY = 65536;
export const S_BODY_MAX_BYTES = SCRATCH_SIZE_BYTES - S_BODY;
/** parse_body's answer when the WASM path does not take the body: the
 *  object path (JSON.parse, then bet/win/rollback) answers it. */
export const BODY_FALLBACK = -1;

// Statuses returned by the core. The TypeScript face maps them to Hub88
// status strings; TWIN_IN_FLIGHT and PAUSED are internal (the caller waits
// and retries), CLOSED makes the call throw.
export const ST_OK = 0;
export const ST_UNKNOWN = 1;
export const ST_NOT_ENOUGH_MONEY = 2;
export const ST_DUPLICATE = 3;
export const ST_WRONG_CURRENCY = 4;
export const ST_TX_DOES_NOT_EXIST = 5;
export const ST_REPLAY = 6; //         original response: balance + request_uuid in scratch
// Statuses 0..ST_REPLAY are final answers (src/wallet.ts apply_waiting tests
// `<= ST_REPLAY` on the hot path); those after may ask the caller to wait,
// search the retired files, or throw.
export const ST_TWIN_IN_FLIGHT = 7; // entry index in scratch at S_OUT_ENTRY
export const ST_TABLE_FULL = 8; //     answered as RS_ERROR_UNKNOWN
export const ST_OVERFLOW = 9; //       answered as RS_ERROR_UNKNOWN
export const ST_SETTLED = 10; //       bet already won / rolled back: RS_ERROR_UNKNOWN
export const ST_PAUSED = 11; //        audit holds the wallet: wait on H_RUN, retry
export const ST_CLOSED = 12; //        the wallet was closed
export const ST_RING_FULL = 13; //     this slot's journal ring is full: wait for the flusher, retry
export const ST_FAILED = 14; //        the journal failed: RS_ERROR_UNKNOWN
export const ST_RETIRED_MAYBE = 15; // the uuid may be retired: JS searches the disk, then retries
export const ST_REF_RETIRED_MAYBE = 16; // the referenced bet may be retired: the same

// apply()'s flags argument (bit 0 is currency_ok).
export const APPLY_CURRENCY_OK = 1;
export const APPLY_OWN_CHECKED = 2; // JS found the uuid in no retired file (as of S_IN_RETIRED_SEQ)
export const APPLY_REF_CHECKED = 4; // JS found the referenced bet in no retired file (as of S_IN_REF_RETIRED_SEQ)

// recover_records()'s flags (besides APPLY_OWN_CHECKED).
export const RECOVER_NO_DELTA = 8; //     a checkpoint's live record: its delta is in the balance already
export const RECOVER_DELTA_ONLY = 16; //  a retired record: only its delta (it is on disk)
export const RECOVER_BET_RETIRED = 32; // a win/rollback whose bet retired: no bet to settle

// H_ROTATING holders.
export const ROTATION_NONE = 0;
export const ROTATION_ROTATOR = 1;
export const ROTATION_AUDIT = 2;

// Return codes of the user table (user_find / user_create), >= 0 is a slot.
export const USER_NOT_FOUND = -1;
export const USER_TABLE_FULL = -2;
export const USER_PAUSED = -3;
export const USER_CLOSED = -4;
export const USER_FAILED = -5; // the journal failed (durable wallets): fail-stop

// Return codes of init().
export const INIT_OK = 0;
export const INIT_BAD_MAGIC = -1;
export const INIT_BAD_VERSION = -2;
export const INIT_BAD_SLOT = -3;
export const INIT_STATIC_DATA = -10;

// Bounds on every loop of the core.
export const CAS_RETRY_MAX = 1 << 20; //  balance compare-exchange attempts
export const COUNTER_RETRY_MAX = 1024; // chunk counters: past it, answer "full" for now
export const RESTART_MAX = 1024; //       apply restarts after losing a race
export const WAIT_MARK_TRIES_MAX = 64; // setting WAITERS_BIT on a twin's claim
export const MAX_SAFE_UNITS = 9007199254740991; // Number.MAX_SAFE_INTEGER

// The journal (durable wallets). One ring per thread slot, in shared memory:
//
//   off   size  field
//     0     4   head      records appended (a count; only the slot's holder writes it)
//    64     4   tail      records taken by the flusher (only the flusher writes it)
//   128   96 x RING_RECORDS  the records, record i at (i mod RING_RECORDS)
//
// One journal record (JOURNAL_RECORD_BYTES = 96), little-endian, the same in
// the ring and in the journal files on disk:
//
//   off size field
//    0   1   kind           BET | WIN | ROLLBACK (the KIND_* codes)
//    1   1   flags          0 in the journal; in a retired file, a bet's
//                           settlement when it retired (SETTLE_WON / SETTLE_ROLLED_BACK)
//    2   2   (reserved)
//    4   4   user_slot      the user (users.log gives slots their names)
//    8   8   epoch          the epoch read just before the balance compare-exchange
//   16  16   uuid           transaction_uuid
//   32  16   request_uuid   replayed to duplicates
//   48  16   reference      win/rollback: the bet's transaction_uuid (0 for a bet)
//   64   8   fingerprint
//   72   8   amount_units   bet/win: the amount; rollback: the refund
//   80   8   balance_after
//   88   8   (reserved)
export const RING_HEAD = 0;
export const RING_TAIL = 64;
export const RING_RECORDS_AT = 128;
/** Records per ring: what one thread can commit while a flush is in flight
 *  (at 1M bets/s and a 4 ms fdatasync, 4,096) before it waits for room. */
export const RING_RECORDS_DEFAULT = 4096;
export const JOURNAL_RECORD_BYTES = 96;
export const R_KIND = 0;
export const R_USER_SLOT = 4;
export const R_EPOCH = 8;
export const R_UUID = 16;
export const R_REQUEST_UUID = 32;
export const R_REFERENCE = 48;
export const R_FINGERPRINT = 64;
export const R_AMOUNT = 72;
export const R_BALANCE_AFTER = 80;
export const EPOCH_ANNOUNCE_TRIES_MAX = 1024;

/** What both compilers must agree on; the core exports the value it was
 *  compiled with and every thread compares it with its own (a stale build
 *  fails loudly instead of misreading the memory). */
export const LAYOUT_FINGERPRINT =
  LAYOUT_VERSION * 1000003 + FINGERPRINT_VERSION * 7919 + ENTRY_SIZE_BYTES * 1009 + THREAD_RECORD_BYTES * 131 +
  SCRATCH_SIZE_BYTES / 64 + HEADER_OFFSET / 64 + H_RUN + CURRENCY_RECORD_BYTES + USER_META_BYTES * 17 +
  JOURNAL_RECORD_BYTES * 3 + H_EPOCH + T_ANNOUNCE + H_GEN_WORD + E_REF_UUID + S_IN_RETIRED_SEQ + S_BODY_FLAGS;

// Fault-injection points of `apply` (tests only; see state.ts).
export const CRASH_AFTER_CLAIM = 1; //          claim published, nothing moved
export const CRASH_AFTER_SETTLE_BEGIN = 2; //   bet marked SETTLING, no money moved
export const CRASH_AFTER_BALANCE = 3; //        money moved, entry still CLAIMED
export const CRASH_AFTER_COMMIT = 4; //         entry committed, bet still SETTLING
export const CRASH_AFTER_RECLAIM = 5; //        a RELEASED entry claimed again, fields stale
export const CRASH_BEFORE_JOURNAL = 6; //       money moved, no journal record yet, entry CLAIMED
export const CRASH_BEFORE_PUBLISH = 7; //       the generation word read, the entry not yet published
