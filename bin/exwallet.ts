#!/usr/bin/env node
// The `exwallet` command: one subcommand per app of the project. Each app
// lives in a top-level folder of its own (load/ for `exwallet load`, serve/ for `exwallet serve`) and is
// imported only when asked for, so `exwallet --help` starts in milliseconds.
//
// Exit codes: those of the subcommand; 2 (EXIT_USAGE) for an unknown one.
//
// No static import but Node's: npm packs a package's bin whatever "files"
// says, but not the apps (the published package is the library only), so
// this file must run, and explain, where load/ and tools/ are absent.

import { fileURLToPath } from 'node:url';

/** tools/cli.ts's EXIT_USAGE and usage_line, restated for the reason above. */
const EXIT_USAGE = 2;
const usage_line = (program: string, message: string): string => `${program}: ${message} (run ${program} --help)`;

const PROGRAM = 'exwallet';

const HELP = `Usage: exwallet <command> [options]

Commands:
  load     drive a shared wallet from several worker threads with a Hub88
           session mix, then audit it (exwallet load --help for its flags)
  serve    the Hub88 operator wallet endpoint over HTTP, every worker thread
           on one port and one shared wallet (exwallet serve --help)

  exwallet --help     show this help`;

/** The app module at `path`, or undefined if this installation lacks it. */
async function import_app<P extends '../load/main.js' | '../serve/main.js'>(path: P): Promise<(P extends '../load/main.js' ? typeof import('../load/main.js') : typeof import('../serve/main.js')) | undefined> {
  const url = new URL(path, import.meta.url);
  try {
    return await import(url.href);
  } catch (error) {
    // Missing is the app itself ('…/load/main.js' quoted), not one of its imports.
    const missing = (error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' &&
      String((error as Error).message).includes(`'${fileURLToPath(url)}'`);
    if (missing) return undefined;
    throw error;
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'load': {
      const load = await import_app('../load/main.js');
      if (load === undefined) {
        process.stderr.write('exwallet load: not in this installation (the apps ship with the source repository: npm start there)\n');
        return EXIT_USAGE;
      }
      return load.main(rest);
    }
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(HELP + '\n');
      return 0;
    case 'serve': {
      const serve = await import_app('../serve/main.js');
      if (serve === undefined) {
        process.stderr.write('exwallet serve: not in this installation (the apps ship with the source repository: npx exwallet serve there)\n');
        return EXIT_USAGE;
      }
      // The service's worker threads keep the event loop alive: exit with its code.
      process.exit(await serve.main(rest));
    }
    case undefined:
      process.stderr.write(usage_line(PROGRAM, 'a command is needed: load or serve') + '\n');
      return EXIT_USAGE;
    default:
      process.stderr.write(usage_line(PROGRAM, `unknown command "${command}"`) + '\n');
      return EXIT_USAGE;
  }
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (error: unknown) => {
    process.stderr.write(`exwallet: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
