// Seeded journal records (layout_constants.ts, "journal record") for the
// retired-file tests and benchmark: every byte drawn from the project's one
// generator, except what a record must hold to be valid.

import { L } from 'exwallet/internal/layout';
import { Random } from './random.js';

/** `count` records: a valid kind, an epoch in [1, epoch_max] (a safe u64),
 *  every other byte (uuid, flags, amounts, …) random. Random 16-byte uuids
 *  of one call are distinct with overwhelming probability (2^-128 a pair). */
export function random_journal_records(random: Random, count: number, epoch_max = 1_000_000): Buffer {
  const records = Buffer.alloc(count * L.JOURNAL_RECORD_BYTES); // never pooled: byteOffset 0
  const words = new Uint32Array(records.buffer, records.byteOffset, records.length >>> 2);
  for (let w = 0; w < words.length; w++) words[w] = random.next_u32();
  const kinds = [L.KIND_BET, L.KIND_WIN, L.KIND_ROLLBACK];
  for (let i = 0; i < count; i++) {
    const at = i * L.JOURNAL_RECORD_BYTES;
    records[at + L.R_KIND] = kinds[random.below(3)]!;
    records.writeUInt32LE(1 + random.below(epoch_max), at + L.R_EPOCH);
    records.writeUInt32LE(0, at + L.R_EPOCH + 4);
  }
  return records;
}

/** A random 16-byte uuid. */
export function random_uuid_bytes(random: Random): Buffer {
  const uuid = Buffer.alloc(16);
  for (let at = 0; at < 16; at += 4) uuid.writeUInt32LE(random.next_u32(), at);
  return uuid;
}
