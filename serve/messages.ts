// What the main thread and the worker threads of exwallet serve tell each
// other (tagged with `kind`, as every message of the project).

import type { WalletHandle } from 'exwallet';
import type { LogLevel } from './config.js';

export interface WorkerSetup {
  kind: 'setup';
  index: number;
  handle: WalletHandle;
  /** The shared listening socket (listen_socket.ts). */
  fd: number;
  durable: boolean;
  /** PEM, or undefined: signatures not checked (--insecure-skip-signature). */
  publicKeyPem: string | undefined;
  logLevel: LogLevel;
}

export type ToWorker =
  | { kind: 'drain' }
  | { kind: 'metrics'; id: number };

export type ToMain =
  | { kind: 'ready'; index: number }
  | { kind: 'drained'; index: number; inFlight: number }
  | { kind: 'metrics'; id: number; index: number; metrics: unknown };
