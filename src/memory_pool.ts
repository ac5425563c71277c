// Memories of closed, never-shared wallets, kept for the next start() of the
// same size. V8 frees a WebAssembly.Memory only when it collects the object,
// and it does not count the memory as GC pressure: a loop that starts and
// drops small prefaulted wallets can reach gigabytes of RSS before a GC runs.
// Reusing what close() gave back keeps such a process flat.

const POOLED_MAX = 4;
const pooled: WebAssembly.Memory[] = [];

/** A zeroed memory of exactly `pages` 64 KiB pages, if one was pooled. */
export function take_pooled_memory(pages: number): WebAssembly.Memory | undefined {
  const at = pooled.findIndex((memory) => memory.buffer.byteLength === pages * 65536);
  if (at < 0) return undefined;
  const [memory] = pooled.splice(at, 1);
  new Uint8Array(memory.buffer).fill(0); // a fresh wallet starts from all zeros
  return memory;
}

/** Keep `memory` (no thread can use it any more) for a later start(). */
export function pool_memory(memory: WebAssembly.Memory): void {
  if (pooled.length >= POOLED_MAX) pooled.shift();
  pooled.push(memory);
}
