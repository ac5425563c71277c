// --users FILE: the users to create at start, as CSV `user,currency,balance`
// (a header line optional) or JSON lines {"user","currency","balance"}. Also
// the validation of POST /admin/users records (a JSON array of the same).

export interface UserRecord { user: string; currency: string; balance: number }

/** A bad file or record: the message names the line (or index). */
export class UsersFileError extends Error {}

function record_of(value: unknown, where: string): UserRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UsersFileError(`${where}: not an object`);
  const { user, currency, balance } = value as Record<string, unknown>;
  if (typeof user !== 'string' || user === '') throw new UsersFileError(`${where}: "user" must be a non-empty string`);
  if (typeof currency !== 'string' || currency === '') throw new UsersFileError(`${where}: "currency" must be a non-empty string`);
  if (typeof balance !== 'number' || !Number.isSafeInteger(balance) || balance < 0) {
    throw new UsersFileError(`${where}: "balance" must be an integer >= 0 (the currency's smallest unit)`);
  }
  return { user, currency, balance };
}

/** Splits one CSV line (RFC 4180 quotes allowed). */
function csv_fields(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') { fields.push(field); field = ''; }
    else field += c;
  }
  fields.push(field);
  return fields;
}

/** The records of a users file's text. */
export function parse_users_text(text: string): UserRecord[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const records: UserRecord[] = [];
  const json = lines.find((line) => line.trim() !== '')?.trim().startsWith('{') ?? false;
  lines.forEach((raw, index) => {
    const line = raw.trim();
    const where = `line ${index + 1}`;
    if (line === '' || line.startsWith('#')) return;
    if (json) {
      let value: unknown;
      try { value = JSON.parse(line); } catch { throw new UsersFileError(`${where}: not JSON`); }
      records.push(record_of(value, where));
      return;
    }
    const fields = csv_fields(line).map((field) => field.trim());
    if (fields.length !== 3) throw new UsersFileError(`${where}: expected user,currency,balance (3 fields), got ${fields.length}`);
    const [user, currency, balance] = fields as [string, string, string];
    if (records.length === 0 && !/^\d+$/.test(balance) && balance.toLowerCase() === 'balance') return; // the header
    if (!/^\d+$/.test(balance)) throw new UsersFileError(`${where}: balance must be an integer >= 0, got "${balance}"`);
    records.push(record_of({ user, currency, balance: Number(balance) }, where));
  });
  return records;
}

/** POST /admin/users: a JSON array of records. */
export function parse_users_array(value: unknown): UserRecord[] {
  if (!Array.isArray(value)) throw new UsersFileError('the body must be a JSON array of {"user","currency","balance"}');
  return value.map((entry, index) => record_of(entry, `record ${index}`));
}
