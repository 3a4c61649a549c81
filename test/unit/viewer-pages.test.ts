// The clinicians' viewer's parts without a server: the search and purpose forms, formatting,
// the audit entries of a search, the stylesheet as served, the organisation claim, and the
// NHS.UK templates rendered over fixed records (test/support/viewer-fixtures.ts).
import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Response } from 'express';
import { organisationFromClaims } from '../../server/console/settings.js';
import { viewerStylesheet } from '../../server/viewer/assets.js';
import { searchEntries } from '../../server/viewer/audit.js';
import { formatDate, formatNhsNumber, formatStatus } from '../../server/viewer/format.js';
import { parsePurpose } from '../../server/viewer/purpose.js';
import { NHSUK_DIST, ViewerRenderer } from '../../server/viewer/render.js';
import { recordPageData } from '../../server/viewer/pages/record.js';
import { parseSearch } from '../../server/viewer/search-form.js';
import type { StatedPurpose } from '../../server/viewer/session-state.js';
import type { ConsoleSession } from '../../server/console/sessions.js';
import { ALICE, ALICE_RECORD, BOB_RECORD } from '../support/viewer-fixtures.js';

const TODAY = new Date('2026-12-07T09:00:00Z');

describe('find a person: the form', () => {
  const nhs = (nhsNumber: string) => parseSearch({ by: 'nhs-number', nhsNumber }, TODAY);
  test('an NHS number with spaces, Modulus 11 checked', () => {
    expect(nhs('943 476 5919').query).toEqual({ kind: 'nhs-number', nhsNumber: '9434765919' });
    expect(nhs('').errors).toEqual([{ href: '#nhsNumber', text: 'Enter an NHS number' }]);
    expect(nhs('943476591').errors[0].text).toBe('NHS number must be 10 digits');
    expect(nhs('94347659x9').errors[0].text).toBe('NHS number must only include numbers 0 to 9');
    expect(nhs('9434765918').errors[0].text).toBe('This is not a valid NHS number. Check it and enter it again');
  });

  const demo = (o: Record<string, string>) => parseSearch({ by: 'demographics', ...o }, TODAY);
  test('family name and date of birth, with the optional details', () => {
    expect(demo({ family: 'Example', 'dob[day]': '15', 'dob[month]': '3', 'dob[year]': '1948', given: 'Alice', postcode: 'fy11aa', gender: 'female' }).query).toEqual({
      kind: 'demographics',
      family: 'Example',
      birthDate: '1948-03-15',
      given: 'Alice',
      postcode: 'FY1 1AA',
      gender: 'female',
    });
  });

  test('each problem is an error for its field, in NHS.UK words', () => {
    expect(demo({}).errors).toEqual([
      { href: '#family', text: 'Enter the person\u2019s last name' },
      { href: '#dob-day', text: 'Enter the person\u2019s date of birth' },
    ]);
    expect(demo({ family: 'X', 'dob[day]': '15', 'dob[year]': '1948' }).errors).toEqual([{ href: '#dob-month', text: 'Date of birth must include a month' }]);
    expect(demo({ family: 'X', 'dob[day]': '31', 'dob[month]': '2', 'dob[year]': '1948' }).errors[0].text).toBe('Date of birth must be a real date');
    expect(demo({ family: 'X', 'dob[day]': '1', 'dob[month]': '1', 'dob[year]': '2027' }).errors[0].text).toBe('Date of birth must be today or in the past');
    expect(demo({ family: 'X', 'dob[day]': '1', 'dob[month]': '1', 'dob[year]': '1948', postcode: 'nowhere' }).errors).toEqual([{ href: '#postcode', text: 'Enter a full UK postcode, like LS1 4AP' }]);
  });
});

describe('why the record is opened', () => {
  test('a care relationship, or break-glass with a reason', () => {
    expect(parsePurpose({ purpose: 'direct-care' })).toEqual({ ok: true, stated: { choice: 'direct-care', purpose: 'direct care' } });
    expect(parsePurpose({})).toMatchObject({ ok: false, field: 'purpose' });
    expect(parsePurpose({ purpose: 'break-glass', reason: '  ' })).toMatchObject({ ok: false, field: 'reason', choice: 'break-glass' });
    expect(parsePurpose({ purpose: 'break-glass', reason: 'Unconscious in ED' })).toEqual({ ok: true, stated: { choice: 'break-glass', purpose: 'emergency access', breakGlass: 'Unconscious in ED' } });
  });
});

test('NHS numbers 3-3-4, dates in words, instants in UK time', () => {
  expect(formatNhsNumber('9434765919')).toBe('943 476 5919');
  expect(formatDate('1948-03-15')).toBe('15 March 1948');
  expect(formatDate('2026-12')).toBe('December 2026');
  expect(formatDate('2026-07-04T13:05:00Z')).toBe('4 Jul 2026 at 2:05pm');
  expect(formatStatus('in-progress')).toBe('In progress');
});

test('a search is audited against each person it showed, naming the criteria, not their values', () => {
  const principal = { kind: 'session' as const, id: 'dev.clinician', roles: ['clinician' as const], organisation: 'RXL' };
  expect(searchEntries({ principal, query: { kind: 'nhs-number', nhsNumber: '9434765919' }, found: [] })).toEqual([
    expect.objectContaining({ category: 'view', action: 'viewer.search', patient: '9434765919', actor: { id: 'dev.clinician', kind: 'session', role: 'clinician', organisation: 'RXL' }, detail: { by: 'nhs-number', criteria: ['nhsNumber'], results: 0 } }),
  ]);
  const byName = searchEntries({ principal, query: { kind: 'demographics', family: 'Example', birthDate: '1948-03-15' }, found: [ALICE] });
  expect(byName.map((e) => e.patient)).toEqual(['9434765919']);
  expect(JSON.stringify(byName)).not.toContain('Example');
});

test('the stylesheet as served: no Frutiger (licensed, not in the package), icons from /viewer/assets', () => {
  const css = viewerStylesheet(readFileSync(path.join(NHSUK_DIST, 'nhsuk', 'nhsuk-frontend.min.css'), 'utf8'));
  expect(css).not.toMatch(/@font-face/);
  expect(css).not.toMatch(/assets\.nhs\.uk/);
  expect(css).toMatch(/arial/);
  expect(css).not.toMatch(/url\(\/assets\//);
  expect(css).toMatch(/url\(\/viewer\/assets\/images\//);
});

test('the organisation claim: a name or a dotted path (NHS CIS2 role profiles)', () => {
  expect(organisationFromClaims({ org: 'rxl' }, 'org')).toBe('RXL');
  expect(organisationFromClaims({ nhsid_nrbac_roles: [{ org_code: 'RXL', person_roleid: '1' }, { org_code: 'X26' }] }, 'nhsid_nrbac_roles.org_code')).toBe('RXL');
  expect(organisationFromClaims({ org: { nested: true } }, 'org')).toBeUndefined();
  expect(organisationFromClaims({}, 'org')).toBeUndefined();
});

describe('the NHS.UK templates', () => {
  const renderer = new ViewerRenderer();
  const session = { csrfToken: 'csrf-token', principal: { kind: 'session', id: 'dev.clinician', name: 'Cleo Clinician', roles: ['clinician'], organisation: 'RXL' } } as unknown as ConsoleSession;
  const render = (template: string, data: Record<string, unknown>) => {
    const sent: { html?: string; headers: Record<string, string>; status?: number } = { headers: {} };
    const res = {
      status: (s: number) => ((sent.status = s), res),
      set: (k: string, v: string) => ((sent.headers[k] = v), res),
      type: () => res,
      send: (html: string) => ((sent.html = html), res),
    } as unknown as Response;
    renderer.page(res, { session, https: false }, template, data);
    return sent;
  };
  // The page's own data builder, as the record page's handler calls it.
  const record = (r: typeof ALICE_RECORD, stated: StatedPurpose) => render('record.njk', recordPageData('p-1', r, stated));

  test('a record: banner, organisation in the header, sections, where each item came from, the access notice; a nonce in the CSP', () => {
    const sent = record(ALICE_RECORD, { choice: 'direct-care', purpose: 'direct care' });
    const html = sent.html!;
    const nonce = /script nonce="([^"]+)"/.exec(html)?.[1];
    expect(sent.headers['Content-Security-Policy']).toContain(`'nonce-${nonce}'`);
    expect(html).toContain('943 476 5919');
    expect(html).toContain('15 March 1948');
    expect(html).toContain('(78 years)');
    expect(html).toContain('Talbot Medical Centre');
    expect(html).toMatch(/Organisation: <span class="app-signed-in-org">RXL<\/span>/);
    expect(html).toContain('Sam Social, Social worker');
    expect(html).toContain('Adult Social Care North');
    expect(html).toContain('Ward 3, Bed 12');
    expect(html).toContain('Acute Medical Unit from 4 Dec 2026 at 10:00am to 5 Dec 2026 at 8:00am');
    expect(html).toContain('From Blackpool Council, Mosaic.');
    expect(html).toContain('Last updated 3 Dec 2026 at 2:05pm');
    expect(html).toContain('Your access to this record is recorded');
    expect(html).not.toContain('data-break-glass');
    expect(html).toContain('Lives alone; key safe at the back door');
    // Each problem once, in its own area's tab panel.
    const between = (from: string, to: string) => html.slice(html.indexOf(`id="${from}"`), html.indexOf(`id="${to}"`));
    const panel = (id: 'social-care' | 'hospital') => (id === 'social-care' ? between('social-care', 'hospital') : between('hospital', 'timeline'));
    expect(panel('social-care')).toContain('Physical support: personal care');
    expect(panel('social-care')).not.toContain('Community-acquired pneumonia');
    expect(panel('hospital')).toContain('Community-acquired pneumonia');
    expect(panel('hospital')).not.toContain('Physical support: personal care');
  });

  test('break-glass is flagged, its reason escaped; empty sections say so', () => {
    const html = record(BOB_RECORD, { choice: 'break-glass', purpose: 'emergency access', breakGlass: 'Unconscious <script>' }).html!;
    expect(html).toContain('data-break-glass');
    expect(html).toContain('Unconscious &lt;script&gt;');
    expect(html).toContain('No social care information is recorded for this person.');
    expect(html).toContain('No hospital admissions or attendances are recorded for this person.');
    expect(html).toContain('Nothing is recorded for this person yet.');
  });

  test('the find page with an error: the summary links to the field, which shows it too', () => {
    const html = render('find.njk', { title: 'Error: Find a person', form: { by: 'nhs-number', nhsNumber: '123' }, errors: [{ href: '#nhsNumber', text: 'NHS number must be 10 digits' }], errorFor: { nhsNumber: 'NHS number must be 10 digits' }, genderItems: [] }).html!;
    expect(html).toContain('nhsuk-error-summary');
    expect(html).toContain('href="#nhsNumber"');
    expect(html).toMatch(/id="nhsNumber-error"[^>]*>\s*<span class="nhsuk-u-visually-hidden">Error: <\/span>NHS number must be 10 digits/);
  });
});
