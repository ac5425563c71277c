// One port for every worker thread, on Node 20 (no `reusePort`, and the
// cluster module shares ports between processes, which cannot share a
// WebAssembly.Memory).
//
// The main thread creates the TCP socket and BINDS it (so the address is
// checked, and port 0 resolved, before any worker starts), but never calls
// listen() on it, so its event loop never accepts. Every worker thread then
// calls `http.Server#listen({ fd })` on that same descriptor: libuv opens it
// in the worker's loop and calls listen() (idempotent on a bound socket).
// Descriptors are process-wide, so every worker's epoll watches the one
// listening socket and whichever worker is free accepts the next connection
// (the kernel wakes the waiters; the one whose accept() wins serves it).
//
// The price: all the handles share ONE descriptor number, so the socket must
// be closed once. The main thread closes it (stop accepting: everywhere at
// once); the workers never close theirs (a second close() could hit a reused
// number), they end with the process. See docs/service.md.
//
// Creating a bound, unlistened socket needs Node's tcp_wrap binding
// (process.binding, deprecated but present in Node 20 and 22); nothing else
// here is internal.

import { getSystemErrorName } from 'node:util';

export interface BoundSocket {
  fd: number;
  host: string;
  port: number;
  /** Closes the descriptor: no thread accepts any more. Once. */
  close(): void;
}

interface TcpHandle {
  bind(address: string, port: number, flags: number): number;
  bind6(address: string, port: number, flags: number): number;
  getsockname(out: { address?: string; port?: number; family?: string }): number;
  close(callback?: () => void): void;
  readonly fd: number;
}
interface TcpWrap { TCP: new (type: number) => TcpHandle; constants: { SERVER: number } }

/** Thrown with a message for the operator (EADDRINUSE, EACCES, …). */
export class BindError extends Error {
  constructor(message: string, readonly errno_code: string) { super(message); }
}

function uv_error_name(code: number): string {
  try {
    return getSystemErrorName(code);
  } catch {
    return String(code);
  }
}

/** `address` is an IP address (resolve names first), of `family` 4 or 6. */
export function bind_shared_socket(address: string, port: number, family: number): BoundSocket {
  const host = address;
  const ipv6 = family === 6;
  const binding = (process as unknown as { binding(name: string): unknown }).binding('tcp_wrap') as TcpWrap;
  const handle = new binding.TCP(binding.constants.SERVER);
  const error = ipv6 ? handle.bind6(host, port, 0) : handle.bind(host, port, 0);
  if (error !== 0) {
    handle.close();
    const name = uv_error_name(error);
    throw new BindError(`cannot bind ${host}:${port} (${name})`, name);
  }
  const bound: { address?: string; port?: number } = {};
  handle.getsockname(bound);
  let closed = false;
  return {
    fd: handle.fd,
    host,
    port: bound.port ?? port,
    close() {
      if (closed) return;
      closed = true;
      handle.close();
    },
  };
}
