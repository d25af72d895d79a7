// The page's files, bundled into the registry as text (esbuild's text loader; see project.json),
// so the dashboard needs no files beside main.js, no build step of its own and no network.
import html from './assets/index.html';
import css from './assets/dashboard.css';
import script from './assets/dashboard.client.js';

export const DASHBOARD_ASSETS = {
  'index.html': { contentType: 'text/html; charset=utf-8', body: html },
  'dashboard.js': { contentType: 'text/javascript; charset=utf-8', body: script },
  'dashboard.css': { contentType: 'text/css; charset=utf-8', body: css },
} as const;
