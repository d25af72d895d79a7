import { callMethod, checkHealth } from './address-commands';
import { CallError, UsageError } from './cli-errors';
import { parseCliOptions, type CliOptions } from './cli-options';
import { COMMAND_HELP, helpFor } from './command-help';
import { listInstances, listServices, watchService } from './registry-commands';

// grpc-js names an IP address as the TLS server name when dialling 127.0.0.1 with --cacert, and
// Node warns about it on every run; an operator's terminal is not the place for that.
process.noDeprecation = true;

const out = (text: string) => void process.stdout.write(text);

/** The positional arguments each command takes. */
const ARITY: Record<string, string[]> = {
  services: [],
  instances: ['<service>'],
  watch: ['<service>'],
  health: ['<address>'],
  call: ['<address>', '<method>', '<json>'],
};

function untilSigint(): Promise<void> {
  return new Promise((resolve) => process.once('SIGINT', () => resolve()));
}

async function run(options: CliOptions): Promise<number> {
  const { command, args } = options;
  const expected = ARITY[command as string];
  if (args.length !== expected.length) {
    throw new UsageError(`${command} takes ${expected.join(' ') || 'no arguments'}, got ${args.length} argument(s)`);
  }
  switch (command) {
    case 'services':
      await listServices(options, out);
      return 0;
    case 'instances':
      await listInstances(options, args[0], out);
      return 0;
    case 'watch':
      await watchService(options, args[0], out, untilSigint());
      return 0;
    case 'health':
      return (await checkHealth(options, args[0], out)) ? 0 : 1;
    default:
      await callMethod(options, args[0], args[1], args[2], out);
      return 0;
  }
}

async function main(argv: string[]): Promise<number> {
  let options: CliOptions;
  try {
    options = parseCliOptions(argv, process.env, process.cwd());
    if (options.help || options.command === undefined || options.command === 'help') {
      out(helpFor(options.command === 'help' ? options.args[0] : options.command));
      return options.command === undefined && !options.help ? 2 : 0;
    }
    if (!COMMAND_HELP[options.command]) throw new UsageError(`unknown command ${JSON.stringify(options.command)}`);
    return await run(options);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`switchyard: ${error.message}\nRun switchyard --help for usage.\n`);
      return 2;
    }
    process.stderr.write(`switchyard: ${error instanceof CallError ? error.message : (error as Error).message}\n`);
    return 1;
  }
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
