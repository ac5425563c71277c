// X-Hub88-Signature: base64 of an RSA-SHA256 signature of the exact request
// body bytes, made with Hub88's private key, checked with its public key.

import { createPublicKey, verify, type KeyObject } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-hub88-signature';
/** A 16384-bit RSA signature is 2 KiB; anything longer is garbage. */
const SIGNATURE_BASE64_MAX = 4096;

/** The key, or throws with a message for the operator (main.ts: one line, exit 2). */
export function load_public_key(pem: string): KeyObject {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== 'rsa' && key.asymmetricKeyType !== 'rsa-pss') {
    throw new Error(`not an RSA public key (${key.asymmetricKeyType})`);
  }
  return key;
}

/** true when `header` is a valid signature of `body`; never throws. */
export function signature_valid(key: KeyObject, body: Buffer, header: string | string[] | undefined): boolean {
  if (typeof header !== 'string' || header.length === 0 || header.length > SIGNATURE_BASE64_MAX) return false;
  const text = header.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return false;
  try {
    return verify('sha256', body, key, Buffer.from(text, 'base64'));
  } catch {
    return false;
  }
}
