// The one command-line dialect of the project's tools (exwallet load, the
// stress runner, the benchmarks): node:util parseArgs underneath, with the
// three things it does not do for us.
//
// - A value that looks like a negative number is a value: `--seconds -1`
//   reaches the flag's own range rule instead of parseArgs' "argument is
//   ambiguous" (it reads -1 as a flag).
// - Errors are the tool's words, one line each: "unknown flag --x",
//   "--seed needs a value", never a stack or parseArgs' phrasing.
// - Numbers are checked where they are parsed, with their bounds in the
//   message.
//
// A UsageError is printed by the tool as ONE line with a hint (usage_line),
// and the tool exits 2 (EXIT_USAGE).

import { parseArgs } from 'node:util';

/** Exit code of a bad command line (as BSD sysexits' EX_USAGE is to 64). */
export const EXIT_USAGE = 2;

/** A bad command line: the tool prints it with usage_line() and exits EXIT_USAGE. */
export class UsageError extends Error {}

export type FlagSpecs = Record<string, { type: 'string' | 'boolean'; short?: string }>;

type FlagValues<S extends FlagSpecs> = {
  [K in keyof S]?: S[K]['type'] extends 'boolean' ? boolean : string;
};

/** parseArgs in strict mode, no positionals, errors as UsageErrors. */
export function parse_flags<S extends FlagSpecs>(argv: readonly string[], specs: S): FlagValues<S> {
  const args = join_negative_values(argv, specs);
  try {
    const { values } = parseArgs({ args, options: specs, strict: true, allowPositionals: false });
    return values as FlagValues<S>;
  } catch (error) {
    throw new UsageError(usage_message_of(error as Error & { code?: string }));
  }
}

/** `--name -1` → `--name=-1` for string flags, when the value is a number. */
function join_negative_values(argv: readonly string[], specs: FlagSpecs): string[] {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    const spec = arg.startsWith('--') ? specs[arg.slice(2)] : undefined;
    if (spec?.type === 'string' && next !== undefined && /^-[\d.]/.test(next)) {
      args.push(`${arg}=${next}`);
      i++;
    } else {
      args.push(arg);
    }
  }
  return args;
}

function usage_message_of(error: Error & { code?: string }): string {
  const quoted = /'([^']*)'/.exec(error.message)?.[1] ?? '';
  const flag = quoted.split(' ')[0];
  switch (error.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': return `unknown flag ${flag}`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL': return `unexpected argument "${quoted}"`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return error.message.includes('does not take an argument') ? `${flag} takes no value` : `${flag} needs a value`;
    default: return error.message.split('\n')[0]!;
  }
}

/** An integer flag in [min, max], or `fallback` when absent. */
export function integer_flag(name: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  if (!/^\s*-?\d+\s*$/.test(text)) throw new UsageError(`--${name} must be an integer, got "${text}"`);
  const value = Number(text);
  if (value < min || value > max) throw new UsageError(`--${name} must be from ${min} to ${max}, got ${text.trim()}`);
  return value;
}

/** The one line a tool prints for a UsageError: the problem and where help is. */
export function usage_line(program: string, message: string): string {
  return `${program}: ${message} (run ${program} --help)`;
}
