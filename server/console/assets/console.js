// The console's one script, progressive enhancement only: every page is complete without it.
// It starts GOV.UK Frontend's components and, on the dashboard, swaps in the live figures the
// engine pushes with Server-Sent Events (rendered on the server, as on page load).
/* global document, window, EventSource */
import { initAll } from './govuk-frontend.min.js';

initAll();

const live = document.querySelector('[data-live-source]');
const status = document.querySelector('[data-live-status]');
if (live && status && 'EventSource' in window) {
  const source = new EventSource(live.getAttribute('data-live-source'));
  source.addEventListener('dashboard', (event) => {
    live.innerHTML = event.data;
    status.textContent = `Live: updated ${new Date().toISOString().slice(11, 19)} UTC.`;
    status.setAttribute('data-live', 'on');
  });
  source.addEventListener('error', () => {
    if (source.readyState === EventSource.CLOSED) {
      status.textContent = 'Live updates stopped. Refresh the page.';
      status.setAttribute('data-live', 'off');
    }
  });
}
