// The wallet's currencies: an append-only table in shared memory
// (layout_constants.ts, "currency record"), read through a per-thread cache.
//
// A currency is registered once, by the first createUsers that needs it:
// take a record with one atomic add, write its bytes, publish its length
// with one atomic store. Two threads registering the same new currency at
// once may both succeed and get two ids for one text; that is harmless,
// because every check compares the text, never the id.

import { L } from './layout.js';

export class CurrencyTable {
  /** id -> text, for the ids this thread has read. */
  private readonly text_by_id: string[] = [];
  private readonly id_by_text = new Map<string, number>();
  private readonly reserved_word: number;

  constructor(private readonly u32: Uint32Array, private readonly bytes: Buffer, private readonly offset: number) {
    this.reserved_word = (L.HEADER_OFFSET + L.H_CURRENCIES_RESERVED) >>> 2;
  }

  /** The text of currency record `id` (published before any user has it). */
  text_of(id: number): string {
    const cached = this.text_by_id[id];
    if (cached !== undefined) return cached;
    const at = this.offset + id * L.CURRENCY_RECORD_BYTES;
    const length = Atomics.load(this.u32, (at + L.C_LENGTH) >>> 2);
    if (length === 0 || length > L.CURRENCY_MAX_BYTES) throw new Error(`exwallet: currency record ${id} is not published (a bug)`);
    const text = this.bytes.toString('utf8', at + L.C_BYTES, at + L.C_BYTES + length);
    this.text_by_id[id] = text;
    if (!this.id_by_text.has(text)) this.id_by_text.set(text, id);
    return text;
  }

  /** The id of `text` (UTF-8 `utf8`), registering it if no thread has; -1
   *  when the table is full. */
  id_of(text: string, utf8: Buffer): number {
    const cached = this.id_by_text.get(text);
    if (cached !== undefined) return cached;
    const reserved = Math.min(Atomics.load(this.u32, this.reserved_word), L.CURRENCIES_MAX);
    for (let id = 0; id < reserved; id++) {
      const at = this.offset + id * L.CURRENCY_RECORD_BYTES;
      if (Atomics.load(this.u32, (at + L.C_LENGTH) >>> 2) === 0) continue; // being written
      if (this.text_of(id) === text) return id;
    }
    const id = Atomics.add(this.u32, this.reserved_word, 1);
    if (id >= L.CURRENCIES_MAX) {
      Atomics.sub(this.u32, this.reserved_word, 1);
      return -1;
    }
    const at = this.offset + id * L.CURRENCY_RECORD_BYTES;
    utf8.copy(this.bytes, at + L.C_BYTES);
    Atomics.store(this.u32, (at + L.C_LENGTH) >>> 2, utf8.length); // publishes the record
    this.text_by_id[id] = text;
    this.id_by_text.set(text, id);
    return id;
  }

  /** Currencies registered (for stats). */
  count(): number {
    return Math.min(Atomics.load(this.u32, this.reserved_word), L.CURRENCIES_MAX);
  }
}
