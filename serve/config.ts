// exwallet serve's configuration: flags, each also read from an environment
// variable EXWALLET_<NAME> (dashes as underscores, upper case); a flag wins
// over its variable. Parsed by tools/cli.ts (node:util parseArgs); a bad
// value is a UsageError, printed as one line by main.ts (exit 2).

import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse_flags, integer_flag, UsageError, type FlagSpecs } from '../tools/cli.js';

export const PROGRAM = 'exwallet serve';

const SPECS = {
  'port': { type: 'string' },
  'host': { type: 'string' },
  'workers': { type: 'string' },
  'data-dir': { type: 'string' },
  'memory': { type: 'boolean' },
  'hub88-public-key': { type: 'string' },
  'insecure-skip-signature': { type: 'boolean' },
  'users': { type: 'string' },
  'admin-port': { type: 'string' },
  'max-users': { type: 'string' },
  'max-transactions': { type: 'string' },
  'log-level': { type: 'string' },
  'help': { type: 'boolean', short: 'h' },
} as const satisfies FlagSpecs;

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const USAGE = `Usage: exwallet serve [options]

A Hub88 operator wallet endpoint over HTTP: POST /user/info, /user/balance,
/transaction/bet, /transaction/win, /transaction/rollback, every worker thread
serving one port on one shared wallet. Each flag can also be set by the
environment variable EXWALLET_<NAME> (e.g. EXWALLET_ADMIN_PORT=9091); flags win.

  --port N                  the Hub88 port (default 8080; 0: any free port)
  --host H                  the address to listen on (default 127.0.0.1)
  --workers N               worker threads serving the port (default: the cores)
  --data-dir DIR            the durable wallet's directory (default ./exwallet-data)
  --memory                  no directory: a memory-only wallet (lost at exit)
  --hub88-public-key FILE   Hub88's RSA public key (PEM), to verify X-Hub88-Signature
  --insecure-skip-signature accept unsigned requests (tests only)
  --users FILE              create these users at start if they do not exist:
                            CSV user,currency,balance (header optional) or JSON lines
  --admin-port N            admin HTTP on 127.0.0.1 only (default 9090; 0: any free port)
  --max-users N             users the wallet holds (a new wallet; default the library's)
  --max-transactions N      the transaction budget (a new wallet; default the library's)
  --log-level L             ${LOG_LEVELS.join(', ')} (default info)
  -h, --help                this help`;

export interface ServeConfig {
  port: number;
  host: string;
  workers: number;
  /** undefined with --memory. */
  dataDir: string | undefined;
  /** The PEM text, or undefined with --insecure-skip-signature. */
  publicKeyPem: string | undefined;
  usersFile: string | undefined;
  adminPort: number;
  maxUsers: number | undefined;
  maxTransactions: number | undefined;
  logLevel: LogLevel;
}

/** The value of a flag, or its environment variable when the flag is absent. */
function pick(values: Record<string, string | boolean | undefined>, env: NodeJS.ProcessEnv, name: string): string | undefined {
  const flag = values[name];
  if (flag !== undefined) return typeof flag === 'boolean' ? String(flag) : flag;
  return env[`EXWALLET_${name.toUpperCase().replaceAll('-', '_')}`];
}

function boolean_of(name: string, text: string | undefined): boolean {
  if (text === undefined || text === '') return false;
  const lower = text.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(lower)) return true;
  if (['0', 'false', 'no', 'off'].includes(lower)) return false;
  throw new UsageError(`--${name} (EXWALLET_${name.toUpperCase().replaceAll('-', '_')}) must be true or false, got "${text}"`);
}

/** The configuration, or `'help'`; throws UsageError. */
export function parse_config(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ServeConfig | 'help' {
  const values = parse_flags(argv, SPECS) as Record<string, string | boolean | undefined>;
  if (values.help) return 'help';
  const get = (name: string) => pick(values, env, name);
  const port = integer_flag('port', get('port'), 8080, 0, 65535);
  const admin_port = integer_flag('admin-port', get('admin-port'), 9090, 0, 65535);
  if (port !== 0 && port === admin_port) throw new UsageError(`--port and --admin-port must differ (both ${port})`);
  const host = get('host') ?? '127.0.0.1';
  if (host.trim() === '') throw new UsageError('--host must not be empty');
  const workers = integer_flag('workers', get('workers'), availableParallelism(), 1, 256);
  const memory = boolean_of('memory', get('memory'));
  const data_dir_text = get('data-dir');
  if (memory && values['data-dir'] !== undefined) throw new UsageError('--memory and --data-dir exclude each other');
  const skip = boolean_of('insecure-skip-signature', get('insecure-skip-signature'));
  const key_file = get('hub88-public-key');
  let public_key_pem: string | undefined;
  if (!skip) {
    if (key_file === undefined || key_file === '') {
      throw new UsageError('--hub88-public-key FILE is required (or --insecure-skip-signature, for tests only)');
    }
    try {
      public_key_pem = readFileSync(key_file, 'utf8');
    } catch (error) {
      throw new UsageError(`--hub88-public-key: cannot read ${key_file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
  }
  const level = (get('log-level') ?? 'info').trim().toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${level}"`);
  }
  const optional_integer = (name: string, max: number) => {
    const text = get(name);
    return text === undefined ? undefined : integer_flag(name, text, 0, 1, max);
  };
  return {
    port,
    host,
    workers,
    dataDir: memory ? undefined : resolve(data_dir_text ?? './exwallet-data'),
    publicKeyPem: public_key_pem,
    usersFile: get('users') || undefined,
    adminPort: admin_port,
    maxUsers: optional_integer('max-users', 2 ** 26),
    maxTransactions: optional_integer('max-transactions', 2 ** 26),
    logLevel: level as LogLevel,
  };
}
