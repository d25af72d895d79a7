// Which end-to-end files may run two at a time. They check behaviour, not timing: what a call
// answers, what a log or a trace holds. Every other file (chaos, failovers, npm start on its fixed
// ports, breaker and rate-limit timing, the dashboard's 1 s budget, floods) runs alone, and so
// does any new file until it is listed here.
const SHARES_THE_MACHINE = [
  'canary-routing',
  'cli',
  'events',
  'final-export',
  'garbage-input',
  'gateway-auth',
  'gateway-auth-rules',
  'gateway-front-door',
  'mutual-tls',
  'prometheus-scrape',
  'secret-leak',
  'system',
];

const fileOf = (name) => `/${name}\\.e2e\\.test\\.ts$`;

module.exports = { SHARES_THE_MACHINE, fileOf };
