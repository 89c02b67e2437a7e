import { Router } from 'express';

/**
 * The dashboard's only script and style sheet, served from here (same origin, no build step). Every
 * page reads without the script: it only turns UTC times into the viewer's time zone.
 */
const LOCAL_TIME_JS = `// Shows each <time datetime> in the viewer's time zone; the UTC text stays in the title (hover).
for (const element of document.querySelectorAll('time[datetime]')) {
  const date = new Date(element.getAttribute('datetime'));
  if (Number.isNaN(date.getTime())) continue;
  element.title = element.textContent;
  element.textContent = date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}
`;

const CSS = `:root { color-scheme: light; --ink: #1b1f24; --muted: #4f5863; --line: #d0d7de; --bad: #a40e26; --good: #116329; --accent: #0b4fa0; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, sans-serif; color: var(--ink); background: #fff; }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible { outline: 3px solid #f0b400; outline-offset: 1px; }
.skip { position: absolute; left: -999px; } .skip:focus { left: 8px; top: 8px; background: #fff; padding: 4px 8px; }
header { display: flex; gap: 1.5rem; align-items: center; padding: .6rem 1.2rem; background: #0d2b4e; color: #fff; flex-wrap: wrap; }
header a { color: #fff; } header nav ul { display: flex; gap: 1rem; list-style: none; margin: 0; padding: 0; }
header nav a[aria-current="page"] { font-weight: 700; text-decoration: underline; }
header .who { margin-left: auto; display: flex; gap: .8rem; align-items: center; }
header button { background: transparent; color: #fff; border: 1px solid #fff; }
main { padding: 1rem 1.2rem 3rem; max-width: 1400px; }
h1 { font-size: 1.5rem; margin: .4rem 0 1rem; } h2 { font-size: 1.15rem; margin: 1.6rem 0 .5rem; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0 1rem; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #f3f5f7; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding: .3rem 0; }
code, pre { font: 13px/1.4 ui-monospace, monospace; } td code { overflow-wrap: anywhere; } pre { background: #f6f8fa; padding: .6rem; overflow: auto; max-height: 24rem; }
form.inline { display: inline; } fieldset { border: 1px solid var(--line); padding: .6rem .8rem; margin: 0 0 1rem; }
label { display: block; font-weight: 600; margin: .3rem 0 .1rem; } label.inline { display: inline; } .row { display: flex; gap: 1rem; flex-wrap: wrap; align-items: flex-end; }
input, select, textarea, button { font: inherit; padding: .3rem .5rem; border: 1px solid #8c959f; border-radius: 4px; }
button { background: var(--accent); color: #fff; border-color: var(--accent); cursor: pointer; }
button.secondary { background: #fff; color: var(--accent); }
.alert { border: 2px solid var(--bad); background: #fff0f0; padding: .6rem .8rem; margin: 0 0 1rem; }
.notice { border: 2px solid var(--good); background: #effaf1; padding: .6rem .8rem; margin: 0 0 1rem; }
.code { font-family: ui-monospace, monospace; font-weight: 700; }
.strip { display: flex; gap: 1.4rem; flex-wrap: wrap; border: 1px solid var(--line); padding: .6rem .9rem; margin-bottom: 1rem; }
.strip div { display: flex; flex-direction: column; } .strip dt { color: var(--muted); font-size: .85rem; } .strip dd { margin: 0; font-weight: 600; }
.disagree { color: var(--bad); } .agree { color: var(--good); } .none { color: var(--muted); }
.badge { display: inline-block; padding: 0 .4rem; border-radius: 3px; background: #eef1f4; font-size: .85rem; }
.badge.fixed { background: #d3f5dc; color: #0a4a1d; } .badge.cap { background: #ffe2e2; color: #7a0c1f; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 1rem; }
`;

/** A page without an icon makes the browser ask for /favicon.ico; this answers it from here. */
const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#0d2b4e"/><text x="8" y="12" font-size="10" text-anchor="middle" fill="#fff" font-family="sans-serif">b</text></svg>`;

export function dashboardAssets(): Router {
  const router = Router();
  router.get('/assets/favicon.svg', (_req, res) => {
    res.type('image/svg+xml').set('cache-control', 'max-age=86400').send(FAVICON_SVG);
  });
  router.get('/assets/local-time.js', (_req, res) => {
    res.type('text/javascript').set('cache-control', 'no-cache').send(LOCAL_TIME_JS);
  });
  router.get('/assets/dashboard.css', (_req, res) => {
    res.type('text/css').set('cache-control', 'no-cache').send(CSS);
  });
  return router;
}
