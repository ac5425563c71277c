// A worker that attaches and detaches on command, for the thread-registry
// bounds: it answers each command with what happened.

import { parentPort, workerData } from 'node:worker_threads';
import { attach, detach, balance, type Wallet, type WalletHandle } from 'exwallet';

export type AttachCommand = 'attach' | 'detach' | 'balance';
export interface AttachReply { command: AttachCommand; ok: boolean; error?: string; status?: string }

const handle = workerData as WalletHandle;
const port = parentPort!;
let wallet: Wallet | undefined;

port.on('message', (command: AttachCommand) => {
  try {
    if (command === 'attach') wallet = attach(handle);
    else if (command === 'detach') detach(wallet!);
    else {
      const status = balance(wallet!, { user: 'ann', request_uuid: 'r' }).status;
      port.postMessage({ command, ok: true, status } satisfies AttachReply);
      return;
    }
    port.postMessage({ command, ok: true } satisfies AttachReply);
  } catch (error) {
    port.postMessage({ command, ok: false, error: `${(error as Error).name}: ${(error as Error).message}` } satisfies AttachReply);
  }
});
