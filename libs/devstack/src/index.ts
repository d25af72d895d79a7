// @switchyard/devstack: the built apps as local processes, for `npm start` and end-to-end tests.
export { AppProcess, type AppProcessOptions } from './app-process';
export { APPS, appEnvironment, readComposeEnvironment, STACK_OWNED_VARIABLES, stackOwnedVariables, type App } from './compose-environment';
export { checkHealth } from './health-check';
export { LocalStack, StackStoppedError, type LocalStackOptions } from './local-stack';
