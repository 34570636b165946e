/**
 * The console's stylesheet and its one script, served from the gateway itself (/console/assets):
 * no third-party assets, no build step beyond tsc, and the CSP allows only 'self'.
 */
export const CONSOLE_CSS = `
:root { --ink: #1d2733; --line: #d5dce4; --bg: #f5f7fa; --brand: #0b5394;
  --ok: #1e7b34; --ok-bg: #e3f4e7; --wait: #8a5a00; --wait-bg: #fff2d6; --bad: #b3261e; --bad-bg: #fde7e5; --muted: #5b6675; --muted-bg: #eceff3; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, "Segoe UI", Roboto, "Noto Sans", sans-serif; color: var(--ink); background: var(--bg); }
a { color: var(--brand); }
header.top { display: flex; align-items: center; gap: 1.5rem; padding: .6rem 1.2rem; background: var(--brand); color: #fff; }
header.top a { color: #fff; text-decoration: none; }
header.top nav { display: flex; flex-wrap: wrap; gap: .2rem 1rem; flex: 1; }
header.top nav a, header.top .who, header.top .lang { white-space: nowrap; }
header.top nav a[aria-current="page"] { text-decoration: underline; font-weight: 600; }
header.top .who { font-size: .9rem; }
header.top form { display: inline; }
header.top button { background: transparent; color: #fff; border: 1px solid #fff8; border-radius: 4px; padding: .15rem .6rem; cursor: pointer; }
main { padding: 1rem 1.2rem; max-width: 1200px; margin: 0 auto; }
h1 { font-size: 1.35rem; margin: .2rem 0 1rem; }
h2 { font-size: 1.1rem; margin: 1.4rem 0 .6rem; }
table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line); }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef2f6; font-weight: 600; font-size: .9rem; }
form.filters { display: flex; flex-wrap: wrap; gap: .6rem 1rem; align-items: end; margin-bottom: 1rem; background: #fff; padding: .7rem; border: 1px solid var(--line); }
form.filters label { display: flex; flex-direction: column; font-size: .85rem; gap: .2rem; }
input, select, button { font: inherit; padding: .3rem .5rem; border: 1px solid #aab4c0; border-radius: 4px; }
button.primary { background: var(--brand); color: #fff; border-color: var(--brand); cursor: pointer; }
.state { display: inline-block; padding: .05rem .5rem; border-radius: 999px; font-size: .85rem; font-weight: 600; border: 1px solid currentColor; white-space: nowrap; }
.state::before { margin-right: .3rem; }
.tone-ok { color: var(--ok); background: var(--ok-bg); } .tone-ok::before { content: "✓"; }
.tone-wait { color: var(--wait); background: var(--wait-bg); } .tone-wait::before { content: "…"; }
.tone-bad { color: var(--bad); background: var(--bad-bg); } .tone-bad::before { content: "✕"; }
.tone-muted { color: var(--muted); background: var(--muted-bg); } .tone-muted::before { content: "–"; }
nav.pages { display: flex; gap: 1rem; margin: .8rem 0; }
.notice { padding: .6rem .8rem; border-radius: 4px; margin-bottom: 1rem; border: 1px solid; }
.notice.ok { color: var(--ok); background: var(--ok-bg); } .notice.bad { color: var(--bad); background: var(--bad-bg); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; background: #fff; padding: .8rem; border: 1px solid var(--line); }
dl.facts dt { font-weight: 600; } dl.facts dd { margin: 0; }
.login { max-width: 360px; margin: 8vh auto; background: #fff; padding: 1.5rem; border: 1px solid var(--line); border-radius: 6px; }
.login label { display: block; margin: .8rem 0 .2rem; }
.login input { width: 100%; }
.login button { margin-top: 1rem; width: 100%; }
.mono { font-family: ui-monospace, monospace; font-size: .85rem; word-break: break-all; }
.lang { margin-left: auto; }
form.inline { display: inline; margin-left: .5rem; }
form.filters label.check { justify-content: end; }
form.filters textarea { font: .8rem ui-monospace, monospace; min-width: 22rem; }
form.stacked { display: flex; flex-direction: column; gap: .4rem; background: #fff; padding: .7rem; border: 1px solid var(--line); }
form.stacked textarea { width: 100%; font: .85rem ui-monospace, monospace; }
form.stacked button { align-self: flex-start; }
.muted { color: var(--muted); }
code.secret { display: inline-block; padding: .2rem .4rem; background: #fff; border: 1px solid var(--line); user-select: all; }
`

/**
 * The console's icon, linked from every page. Without a `<link rel="icon">` a browser asks for
 * /favicon.ico on every page load: an unknown route, answered 401 and counted against the
 * address's failed-authentication budget, so a busy office behind one NAT address exhausted it
 * and then no clerk could sign in (found by bench:console: 429 at login after ~130 page loads).
 */
export const CONSOLE_ICON_SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#0b5394"/><path d="M8 9h16v3H8zm0 6h16v3H8zm0 6h10v3H8z" fill="#fff"/></svg>'
