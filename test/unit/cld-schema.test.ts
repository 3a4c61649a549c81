// The CLD record schema, table by table: every value-list entry, dates, the NHS number form,
// what each event type requires, and readable problems that never echo a value.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { CLD_SCHEMA_FILE, validateCldRecord, type CldRecord } from '../../mappings/social-care/cld-validate.js';

const schema = JSON.parse(readFileSync(CLD_SCHEMA_FILE, 'utf8')) as {
  properties: Record<string, { enum?: string[]; $ref?: string; anyOf?: { enum?: string[] }[] }>;
  definitions: Record<string, { enum?: string[] }>;
};

const PERSON: CldRecord = {
  LA_Code: 'X26',
  Reporting_Period_Start_Date: '2025-04-01',
  Reporting_Period_End_Date: '2026-03-31',
  LA_Person_Unique_Identifier: 'P1001',
  NHS_Number: '9434765919',
  Gender: 'Female',
  Date_of_Birth: '1941-05-12',
  Client_Type: 'Service User',
  Primary_Support_Reason: 'Physical Support: Personal care support',
};

const EVENTS: Record<string, CldRecord> = {
  Request: { Event_Type: 'Request', Event_Reference: 'REQ-1', Event_Start_Date: '2025-10-01', Event_End_Date: '2025-10-03', Request_Route_of_Access: 'Discharge from Hospital' },
  Assessment: { Event_Type: 'Assessment', Event_Reference: 'ASM-1', Event_Start_Date: '2025-10-04', Event_End_Date: '2025-10-20', Assessment_Type: 'Long Term Support Assessment' },
  Service: { Event_Type: 'Service', Event_Reference: 'SVC-1', Event_Start_Date: '2025-10-21', Service_Type: 'Long Term Support: Community', Service_Component: 'Home Support' },
  Review: { Event_Type: 'Review', Event_Reference: 'REV-1', Event_Start_Date: '2026-01-15', Event_End_Date: '2026-01-15', Review_Reason: 'Planned', Method_of_Review: 'Telephone' },
};

function row(eventType: keyof typeof EVENTS, extra: CldRecord = {}): CldRecord {
  return { ...PERSON, ...EVENTS[eventType], ...extra };
}

function without(r: CldRecord, field: string): CldRecord {
  const copy = { ...r };
  delete copy[field];
  return copy;
}

function fieldsIn(r: CldRecord): string[] {
  return validateCldRecord(r).errors.map((e) => e.field);
}

describe('CLD record schema: accepted rows', () => {
  it.each(Object.keys(EVENTS))('a complete %s row is accepted', (type) => {
    expect(validateCldRecord(row(type))).toEqual({ ok: true, errors: [] });
  });

  it('a carer known only by association needs no event', () => {
    const r = { LA_Code: 'X26', LA_Person_Unique_Identifier: 'C2002', Client_Type: 'Carer known by association', Adult_1_Linked_Person_ID: 'P1002' };
    expect(validateCldRecord(r).ok).toBe(true);
    expect(validateCldRecord({ ...r, Client_Type: 'Unpaid carer known by association' }).ok).toBe(true);
  });

  it('an NHS number failing Modulus 11 is still accepted (the mapping leaves it out)', () => {
    expect(validateCldRecord(row('Service', { NHS_Number: '9434765918' })).ok).toBe(true);
  });

  it('a row without an NHS number is accepted', () => {
    expect(validateCldRecord(without(row('Service'), 'NHS_Number')).ok).toBe(true);
  });

  it('extra columns some extracts carry (LA_Name, Der_ fields) are allowed', () => {
    expect(validateCldRecord(row('Service', { LA_Name: 'Sample Council', Der_Age_Band: '85 to 94' })).ok).toBe(true);
  });
});

describe('CLD record schema: every value-list entry', () => {
  const enumFields = Object.entries(schema.properties).flatMap(([field, p]) => {
    const values = p.enum ?? (p.$ref ? schema.definitions[p.$ref.replace('#/definitions/', '')]?.enum : undefined) ?? p.anyOf?.flatMap((a) => a.enum ?? []);
    return values ? values.map((value) => ({ field, value })) : [];
  });

  it('has a value list for each coded CLD field (Client_Type, Primary_Support_Reason, Service_Type, …)', () => {
    const fields = new Set(enumFields.map((e) => e.field));
    for (const f of ['Client_Type', 'Primary_Support_Reason', 'Service_Type', 'Delivery_Mechanism', 'Client_Funding_Status', 'Event_Type', 'Sensitivity', 'Has_Unpaid_Carer']) {
      expect(fields).toContain(f);
    }
    expect(enumFields.length).toBeGreaterThan(50);
  });

  it.each(enumFields)('$field = "$value" is accepted', ({ field, value }) => {
    const base = field === 'Event_Type' ? { ...PERSON, ...EVENTS[value], Event_Type: value } : row('Service');
    // A carer-by-association row needs no event; any other Client_Type keeps the Service event.
    expect(validateCldRecord({ ...base, [field]: value })).toEqual({ ok: true, errors: [] });
  });

  it.each([
    ['Client_Type', 'Service user (adult)'],
    ['Primary_Support_Reason', 'Physical support'],
    ['Service_Type', 'Long term support'],
    ['Delivery_Mechanism', 'Cash'],
    ['Client_Funding_Status', 'Self funded'],
    ['Event_Type', 'Referral'],
    ['Sensitivity', 'secret'],
    ['Has_Unpaid_Carer', 'Maybe'],
  ])('%s = "%s" is rejected, naming the field', (field, value) => {
    const result = validateCldRecord(row('Service', { [field]: value }));
    expect(result.ok).toBe(false);
    expect(result.errors.map((e) => e.field)).toContain(field);
  });

  it('a value-list problem lists the allowed values', () => {
    const [problem] = validateCldRecord(row('Service', { Delivery_Mechanism: 'Cash' })).errors;
    expect(problem).toEqual({ field: 'Delivery_Mechanism', reason: 'must be one of: Direct Payment; CASSR Managed Personal Budget; CASSR Commissioned Support' });
  });

  it('release 2 "Unpaid carer support: …" service types are accepted by their prefix', () => {
    expect(validateCldRecord(row('Service', { Service_Type: 'Unpaid carer support: Direct to carer' })).ok).toBe(true);
    expect(validateCldRecord(row('Service', { Service_Type: 'Unpaid carer support: ' }))).toEqual({
      ok: false,
      errors: [{ field: 'Service_Type', reason: 'is not a value from the CLD value list' }],
    });
  });
});

describe('CLD record schema: dates', () => {
  it.each([
    ['2024-02-29', true],
    ['2026-03-31', true],
    ['2023-02-29', false],
    ['2024-13-01', false],
    ['2024-04-31', false],
    ['2024-1-1', false],
    ['01/02/2024', false],
    ['2024-01-01T10:00:00Z', false],
    ['', false],
  ])('Event_Start_Date %j accepted: %s', (value, ok) => {
    const result = validateCldRecord(row('Service', { Event_Start_Date: value }));
    expect(result.ok).toBe(ok);
    if (!ok) expect(result.errors).toContainEqual({ field: 'Event_Start_Date', reason: 'must be a real date written YYYY-MM-DD' });
  });

  it.each(['Date_of_Birth', 'Date_of_Death', 'Event_End_Date', 'Reporting_Period_Start_Date', 'Reporting_Period_End_Date'])('%s must be an ISO date', (field) => {
    expect(fieldsIn(row('Review', { [field]: '2025-02-30' }))).toContain(field);
  });

  it('an event cannot end before it starts', () => {
    expect(validateCldRecord(row('Review', { Event_End_Date: '2026-01-14' })).errors).toEqual([{ field: 'Event_End_Date', reason: 'is before Event_Start_Date' }]);
  });

  it('death cannot come before birth, nor an event before birth', () => {
    expect(validateCldRecord(row('Service', { Date_of_Death: '1940-01-01' })).errors).toContainEqual({ field: 'Date_of_Death', reason: 'is before Date_of_Birth' });
    expect(validateCldRecord(row('Service', { Event_Start_Date: '1930-01-01' })).errors).toContainEqual({ field: 'Event_Start_Date', reason: 'is before Date_of_Birth' });
  });
});

describe('CLD record schema: NHS number form', () => {
  it.each([
    ['9434765919', true],
    ['9912003888', true],
    ['9434765918', true],
    ['943476591', false],
    ['94347659190', false],
    ['943 476 5919', false],
    ['943476591X', false],
  ])('%s accepted: %s', (value, ok) => {
    const result = validateCldRecord(row('Service', { NHS_Number: value }));
    expect(result.ok).toBe(ok);
    if (!ok) expect(result.errors).toEqual([{ field: 'NHS_Number', reason: 'must be 10 digits' }]);
  });

  it('a number instead of a string is a type problem', () => {
    expect(validateCldRecord(row('Service', { NHS_Number: 9434765919 })).errors).toEqual([{ field: 'NHS_Number', reason: 'must be a string' }]);
  });
});

describe('CLD record schema: what each event type requires', () => {
  const required: [string, string][] = [
    ['Request', 'Event_Reference'],
    ['Request', 'Event_Start_Date'],
    ['Request', 'Event_End_Date'],
    ['Request', 'Request_Route_of_Access'],
    ['Assessment', 'Event_Reference'],
    ['Assessment', 'Event_Start_Date'],
    ['Assessment', 'Event_End_Date'],
    ['Assessment', 'Assessment_Type'],
    ['Service', 'Event_Reference'],
    ['Service', 'Event_Start_Date'],
    ['Service', 'Service_Type'],
    ['Service', 'Service_Component'],
    ['Review', 'Event_Reference'],
    ['Review', 'Event_Start_Date'],
    ['Review', 'Event_End_Date'],
    ['Review', 'Review_Reason'],
    ['Review', 'Method_of_Review'],
  ];

  it.each(required)('a %s row without %s is rejected', (type, field) => {
    expect(validateCldRecord(without(row(type), field)).errors).toContainEqual({ field, reason: 'is required' });
  });

  it('only a Service may be open-ended', () => {
    expect(validateCldRecord(without(row('Service'), 'Event_End_Date')).ok).toBe(true);
    for (const type of ['Request', 'Assessment', 'Review']) expect(fieldsIn(without(row(type), 'Event_End_Date'))).toEqual(['Event_End_Date']);
  });

  it('a client row needs an event; the person fields LA_Code, person id and Client_Type are always required', () => {
    expect(fieldsIn(without(row('Service'), 'Event_Type'))).toEqual(['Event_Type']);
    for (const field of ['LA_Code', 'LA_Person_Unique_Identifier', 'Client_Type']) expect(fieldsIn(without(row('Service'), field))).toContain(field);
  });

  it('fields of another event type do not make a row invalid', () => {
    expect(validateCldRecord(row('Service', { Review_Reason: 'Planned' })).ok).toBe(true);
  });
});

describe('CLD record schema: numbers and problems', () => {
  it.each([
    ['Total_Hrs_Caring_per_week', 35.5, true],
    ['Total_Hrs_Caring_per_week', 169, false],
    ['No_of_adults_being_cared_for', 2, true],
    ['No_of_adults_being_cared_for', 1.5, false],
    ['Unit_Cost', 22.5, true],
    ['Unit_Cost', -1, false],
    ['Unit_Cost', '22.50', false],
  ])('%s = %j accepted: %s', (field, value, ok) => {
    expect(validateCldRecord(row('Service', { [field]: value })).ok).toBe(ok);
  });

  it('problems never echo the value', () => {
    const r = row('Service', { NHS_Number: '12345', Postcode: 'NOT A POSTCODE!', Date_of_Birth: '1941-02-30', Gender: '' });
    const text = JSON.stringify(validateCldRecord(r).errors);
    for (const v of ['12345', 'NOT A POSTCODE', '1941-02-30']) expect(text).not.toContain(v);
  });

  it('a non-object is one readable problem', () => {
    expect(validateCldRecord('P1001,Service')).toEqual({ ok: false, errors: [{ field: '(record)', reason: 'must be an object of CLD fields' }] });
    expect(validateCldRecord(null).ok).toBe(false);
  });
});
