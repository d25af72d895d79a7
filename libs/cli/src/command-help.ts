const COMMON = `Options:
  --registry host:port[,host:port]  registries, tried in order (default: REGISTRY_ADDRESS, else 127.0.0.1:50051)
  --token TOKEN                     registry token (default: REGISTRY_TOKEN, REGISTRY_TOKEN_FILE, ./data/registry-token)
  --cacert FILE --cert FILE --key FILE
                                    mutual TLS (default: TLS_CA, TLS_CERT, TLS_KEY)
  --timeout DURATION                per call, e.g. 5s or 500ms (default 5s)
  --json                            JSON for scripts (watch: one object per line)
  -h, --help                        this help`;

export const COMMAND_HELP: Record<string, string> = {
  services: 'Usage: switchyard services [options]\n\nLists the services the registry knows, with their instance counts.',
  instances:
    'Usage: switchyard instances <service> [options]\n\nLists the instances of <service>: id, address, version, state, zone, when it registered and when its lease expires.',
  watch:
    'Usage: switchyard watch <service> [options]\n\nPrints the instances of <service>, then each change as it comes, until Ctrl-C.',
  health:
    'Usage: switchyard health <address> [options]\n\nChecks grpc.health.v1 at <address> (host:port) for the server and each service its reflection lists. Exits 1 unless all are SERVING.',
  call: `Usage: switchyard call <address> <method> <json> [options]\n\nCalls <method> (package.Service/Method) at <address> with the JSON request, typed by the server's reflection. Example:\n  switchyard call 127.0.0.1:50052 switchyard.user.v1.UserService/GetUser '{"userId":"u1"}'`,
};

export const GENERAL_HELP = `Usage: switchyard <command> [arguments] [options]

Commands:
  services                       services in the registry
  instances <service>            instances of a service
  watch <service>                follow a service's instances until Ctrl-C
  health <address>               health of a server and of each service it serves
  call <address> <method> <json> call a method through server reflection

Run switchyard <command> --help for a command's help.`;

export function helpFor(command: string | undefined): string {
  const text = command && COMMAND_HELP[command] ? COMMAND_HELP[command] : GENERAL_HELP;
  return `${text}\n\n${COMMON}\n`;
}
