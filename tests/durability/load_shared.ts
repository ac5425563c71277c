// What the SIGKILL test and its loaded child process agree on.
import type { WalletResponse } from 'exwallet';

export const USERS = ['u0', 'u1', 'u2', 'u3', 'u4', 'u5'];
export const INITIAL_UNITS = 10_000;

/** One acknowledged answer: what the client was told. */
export interface Acked {
  kind: 'bet' | 'win' | 'rollback';
  transaction_uuid: string;
  body: Record<string, unknown>;
  response: WalletResponse;
}
