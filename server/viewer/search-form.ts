// The find-a-person form: by NHS number (10 digits, Modulus 11 checked here on the server with
// the mapping functions' check) or by family name and date of birth (an NHS.UK date input), with
// given name, postcode and gender to narrow it. Each problem is an error for one field, worded
// as the NHS.UK design system's error messages are.
import { isValidNhsNumber } from '../../mappings/functions/nhs-number.js';
import type { FindByDemographics, FindQuery } from './model.js';

export interface FieldError {
  /** The id of the input the error summary links to. */
  href: string;
  text: string;
}

export interface SearchForm {
  by: 'nhs-number' | 'demographics';
  nhsNumber: string;
  family: string;
  given: string;
  day: string;
  month: string;
  year: string;
  postcode: string;
  gender: string;
}

export type ParsedSearch = { form: SearchForm; query?: FindQuery; errors: FieldError[] };

export const GENDERS = ['female', 'male', 'other', 'unknown'] as const;
const MAX_TEXT = 100;

const field = (body: Record<string, unknown>, name: string): string => (typeof body[name] === 'string' ? (body[name] as string).trim().slice(0, MAX_TEXT) : '');

export function emptySearch(by: SearchForm['by'] = 'nhs-number'): SearchForm {
  return { by, nhsNumber: '', family: '', given: '', day: '', month: '', year: '', postcode: '', gender: '' };
}

function nhsNumberError(raw: string): string | undefined {
  if (!raw) return 'Enter an NHS number';
  const compact = raw.replace(/[\s-]/g, '');
  if (!/^\d+$/.test(compact)) return 'NHS number must only include numbers 0 to 9';
  if (compact.length !== 10) return 'NHS number must be 10 digits';
  if (!isValidNhsNumber(compact)) return 'This is not a valid NHS number. Check it and enter it again';
  return undefined;
}

/** YYYY-MM-DD, or the NHS.UK error for the date input. */
function birthDate(form: SearchForm, today: Date): { value?: string; error?: FieldError } {
  const { day, month, year } = form;
  const missing = [!day && 'day', !month && 'month', !year && 'year'].filter(Boolean) as string[];
  if (missing.length === 3) return { error: { href: '#dob-day', text: 'Enter the person\u2019s date of birth' } };
  if (missing.length) return { error: { href: `#dob-${missing[0]}`, text: `Date of birth must include a ${missing.join(' and ')}` } };
  if (![day, month, year].every((p) => /^\d+$/.test(p)) || year.length !== 4) return { error: { href: '#dob-day', text: 'Date of birth must be a real date' } };
  const d = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
  if (d.getUTCFullYear() !== Number(year) || d.getUTCMonth() !== Number(month) - 1 || d.getUTCDate() !== Number(day)) {
    return { error: { href: '#dob-day', text: 'Date of birth must be a real date' } };
  }
  if (d.getTime() > today.getTime()) return { error: { href: '#dob-day', text: 'Date of birth must be today or in the past' } };
  if (Number(year) < 1880) return { error: { href: '#dob-year', text: 'Date of birth must be after 1880' } };
  return { value: d.toISOString().slice(0, 10) };
}

const POSTCODE = /^[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}$/i;

/** The form as posted: a query to run, or the errors to show beside the fields. */
export function parseSearch(body: Record<string, unknown>, today = new Date()): ParsedSearch {
  const by = body.by === 'demographics' ? 'demographics' : 'nhs-number';
  const form: SearchForm = {
    by,
    nhsNumber: field(body, 'nhsNumber'),
    family: field(body, 'family'),
    given: field(body, 'given'),
    // NHS.UK's date input names its fields `dob[day]` … (ids `dob-day` …).
    day: field(body, 'dob[day]'),
    month: field(body, 'dob[month]'),
    year: field(body, 'dob[year]'),
    postcode: field(body, 'postcode').toUpperCase(),
    gender: field(body, 'gender'),
  };
  const errors: FieldError[] = [];
  if (by === 'nhs-number') {
    const error = nhsNumberError(form.nhsNumber);
    if (error) return { form, errors: [{ href: '#nhsNumber', text: error }] };
    return { form, errors, query: { kind: 'nhs-number', nhsNumber: form.nhsNumber.replace(/[\s-]/g, '') } };
  }
  if (!form.family) errors.push({ href: '#family', text: 'Enter the person\u2019s last name' });
  const dob = birthDate(form, today);
  if (dob.error) errors.push(dob.error);
  if (form.postcode && !POSTCODE.test(form.postcode)) errors.push({ href: '#postcode', text: 'Enter a full UK postcode, like LS1 4AP' });
  const gender = (GENDERS as readonly string[]).includes(form.gender) ? (form.gender as FindByDemographics['gender']) : undefined;
  if (form.gender && !gender) errors.push({ href: '#gender', text: 'Select a gender from the list' });
  if (errors.length) return { form, errors };
  return {
    form,
    errors,
    query: {
      kind: 'demographics',
      family: form.family,
      birthDate: dob.value!,
      ...(form.given ? { given: form.given } : {}),
      ...(form.postcode ? { postcode: form.postcode.replace(/\s+/g, '').replace(/^(.+)(\d[A-Z]{2})$/, '$1 $2') } : {}),
      ...(gender ? { gender } : {}),
    },
  };
}

/** What was searched, in words, for the results and "no one found" pages. */
export function describeSearch(query: FindQuery, formatNhs: (n: string) => string, formatDate: (d: string) => string): string[] {
  if (query.kind === 'nhs-number') return [`NHS number ${formatNhs(query.nhsNumber)}`];
  return [
    `Last name \u201c${query.family}\u201d`,
    ...(query.given ? [`First name \u201c${query.given}\u201d`] : []),
    `Date of birth ${formatDate(query.birthDate)}`,
    ...(query.postcode ? [`Postcode ${query.postcode}`] : []),
    ...(query.gender ? [`Gender ${query.gender}`] : []),
  ];
}
