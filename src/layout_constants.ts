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
//   0                 65536      +4096                                       end
//   | AS static data  | header   | user index | user names | user balances |
//   |  (must be none) |          | u64 x cap  | 256 B x N  | i64 x N       |
//   --------------------------------------------------------------------------
//   | tx index          | tx entries             | thread registry | scratch  |
//   | u64 x tx_capacity | 72 B x tx_max          | 64 B x threads  | 64 KiB x |
//   |                   |                        |                 | threads  |
//
// Every region starts on a 64-byte boundary. Index words are never changed
// once non-zero (keys are bound for life), which is what makes probing without
// locks safe: a prober that passed a word never needs to look at it again.
//
// Index word (user index and tx index alike), one u64:
//
//   63            32 31             0
//   | tag (32 bits)  | record + 1     |     0 = empty; record + 1 >= 1 otherwise
//
// One transaction entry (ENTRY_SIZE_BYTES = 72):
//
//   off size field
//    0   4   state           phase | kind | settlement | waiters | owner (below)
//    4   4   user_slot       the user the transaction moved money for
//    8   4   ref_entry       win/rollback: entry index of the settled bet
//   12   4   (reserved)
//   16  16   uuid            transaction_uuid, 16 bytes, the key
//   32  16   request_uuid    the original request_uuid, replayed to duplicates
//   48   8   fingerprint     64-bit hash of every other field (see fingerprint.ts)
//   56   8   amount_units    bet/win: the amount; rollback: the refund
//   64   8   balance_after   the user's balance right after this transaction
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
//   bit  8     waiters      a twin sleeps on this word: notify on change
//   bits 16-31 owner        thread slot of the claimer (audit, diagnostics)

export const LAYOUT_VERSION = 1;
export const LAYOUT_MAGIC = 0x4c575845; // "EXWL" little-endian

export const STATIC_DATA_MAX_BYTES = 65536;
export const HEADER_OFFSET = 65536;
export const HEADER_SIZE_BYTES = 4096;
export const REGION_ALIGN_BYTES = 64;

// Header fields (byte offsets from HEADER_OFFSET).
export const H_MAGIC = 0; //                 u32
export const H_VERSION = 4; //               u32
export const H_USERS_MAX = 8; //             u32  users the table accepts
export const H_USER_RECORDS_MAX = 12; //     u32  users_max + threads_max (race spares)
export const H_USER_INDEX_CAPACITY = 16; //  u32  index words (2 x users_max)
export const H_TX_MAX = 20; //               u32  transactions the table accepts
export const H_TX_INDEX_CAPACITY = 24; //    u32  index words (2 x tx_max)
export const H_THREADS_MAX = 28; //          u32  thread slots (scratch regions)
export const H_INITIAL_BALANCE = 32; //      i64  balance of a new user, in units
export const H_FINGERPRINT_SEED = 40; //     u64  random per wallet
export const H_WAIT_MS_MAX = 48; //          u32  bound on waiting for a twin
export const H_CURRENCY_LEN = 52; //         u32  UTF-8 bytes of the currency
export const H_CURRENCY = 56; //             [CURRENCY_MAX_BYTES] UTF-8
export const H_USER_INDEX_OFFSET = 128; //   u32  region offsets, from byte 0
export const H_USER_NAMES_OFFSET = 132;
export const H_USER_BALANCES_OFFSET = 136;
export const H_TX_INDEX_OFFSET = 140;
export const H_TX_ENTRIES_OFFSET = 144;
export const H_THREADS_OFFSET = 148;
export const H_SCRATCH_OFFSET = 152;
export const H_MEMORY_PAGES = 156; //        u32  memory size in 64 KiB pages
// Counters written by more than one thread each get a cache line of their
// own; none of them is touched on the bet/win/rollback hot path except once
// per ENTRY_CHUNK_MAX entries.
export const H_USERS_RESERVED = 256; //      u32  user tickets taken (<= users_max)
export const H_USER_RECORDS_NEXT = 320; //   u32  next free user record
export const H_TX_ENTRIES_NEXT = 384; //     u32  next free entry (handed out in chunks)
export const H_USERS_PUBLISHED = 448; //     u32  users created (<= H_USERS_RESERVED; the
//                                                 difference is creations in flight)

export const CURRENCY_MAX_BYTES = 64;

export const INDEX_WORD_BYTES = 8;
export const USER_NAME_RECORD_BYTES = 256; // u8 length + up to 255 UTF-8 bytes
export const USER_NAME_MAX_BYTES = 255;
export const BALANCE_BYTES = 8;

export const ENTRY_SIZE_BYTES = 72;
export const E_STATE = 0;
export const E_USER_SLOT = 4;
export const E_REF_ENTRY = 8;
export const E_UUID = 16;
export const E_REQUEST_UUID = 32;
export const E_FINGERPRINT = 48;
export const E_AMOUNT = 56;
export const E_BALANCE_AFTER = 64;
// Entries are handed to a thread in chunks so the shared counter is touched
// once per chunk, not once per transaction.
export const ENTRY_CHUNK_MAX = 64;

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
export const WAITERS_BIT = 0x100;
export const OWNER_SHIFT = 16;

// Thread registry: one record per thread slot, a cache line each (only its
// holder writes it, on every call that takes an entry).
//
//   off size field
//    0   4   owner         0 = free, otherwise the holder's Node threadId + 1
//    4   4   entry_next    entries [entry_next, entry_end) are reserved for
//    8   4   entry_end     this slot; they outlive the thread that reserved
//                          them, so a detach or a new holder loses none
//   12   4   user_spare    a user record lost in a creation race, + 1 (0: none)
export const THREAD_RECORD_BYTES = 64;
export const T_OWNER = 0;
export const T_ENTRY_NEXT = 4;
export const T_ENTRY_END = 8;
export const T_USER_SPARE = 12;
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
//   128  256   a user name, UTF-8 (user lookup and creation)
//   384   36   out: that request_uuid as canonical text (ASCII)
//   512  ...   fingerprint records (see fingerprint.ts), up to the end
export const SCRATCH_SIZE_BYTES = 65536;
export const S_UUID = 0;
export const S_REQUEST_UUID = 16;
export const S_REF_UUID = 32;
export const S_OUT_BALANCE = 48;
export const S_OUT_ENTRY = 56;
export const S_OUT_USER_SLOT = 60;
export const S_OUT_REQUEST_UUID = 64;
export const S_NAME = 128;
export const S_OUT_REQUEST_TEXT = 384;
export const UUID_TEXT_BYTES = 36;
export const S_RECORDS = 512;
export const S_RECORDS_MAX_BYTES = 65536 - 512;

// Statuses returned by the core. The TypeScript face maps them to Hub88
// status strings; TWIN_IN_FLIGHT is internal (the caller waits and retries).
export const ST_OK = 0;
export const ST_UNKNOWN = 1;
export const ST_NOT_ENOUGH_MONEY = 2;
export const ST_DUPLICATE = 3;
export const ST_WRONG_CURRENCY = 4;
export const ST_TX_DOES_NOT_EXIST = 5;
export const ST_REPLAY = 6; //         original response: balance + request_uuid in scratch
export const ST_TWIN_IN_FLIGHT = 7; // entry index in scratch at S_OUT_ENTRY
export const ST_TABLE_FULL = 8; //     answered as RS_ERROR_UNKNOWN
export const ST_OVERFLOW = 9; //       answered as RS_ERROR_UNKNOWN
export const ST_SETTLED = 10; //       bet already won / rolled back: RS_ERROR_UNKNOWN

// Bounds on every loop of the core.
export const CAS_RETRY_MAX = 1 << 20; // balance compare-exchange attempts
export const MAX_SAFE_UNITS = 9007199254740991; // Number.MAX_SAFE_INTEGER

// Fault-injection points of `apply` (tests only; see state.ts).
export const CRASH_AFTER_CLAIM = 1; //          claim published, nothing moved
export const CRASH_AFTER_SETTLE_BEGIN = 2; //   bet marked SETTLING, no money moved
export const CRASH_AFTER_BALANCE = 3; //        money moved, entry still CLAIMED
export const CRASH_AFTER_COMMIT = 4; //         entry committed, bet still SETTLING
export const CRASH_AFTER_RECLAIM = 5; //        a RELEASED entry claimed again, fields stale
