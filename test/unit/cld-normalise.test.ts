// What a CSV (or loosely typed JSON) source gives, made judgeable: the normaliser and the
// sample extract read through it.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { readCldCsv } from '../../mappings/social-care/cld.js';
import { normaliseCldRecord, prepareCldRecord, validateCldRecord } from '../../mappings/social-care/cld-validate.js';
import { isValidNhsNumber } from '../../mappings/functions/nhs-number.js';

const SAMPLE = 'channels/examples/extracts/cld-sample.csv';

describe('normaliseCldRecord', () => {
  it('trims names and values and drops empty cells', () => {
    expect(normaliseCldRecord({ ' LA_Code ': ' x26 ', Gender: '  Female ', Ethnicity: '', Date_of_Death: '   ', Postcode: null, Dementia: undefined })).toEqual({
      LA_Code: 'X26',
      Gender: 'Female',
    });
  });

  it.each([
    ['Unit_Cost', '22.50', 22.5],
    ['Unit_Cost', '£1,120.00', 1120],
    ['Unit_Cost', '.5', 0.5],
    ['Planned_units_per_week', '14', 14],
    ['Total_Hrs_Caring_per_week', '35', 35],
    ['No_of_adults_being_cared_for', '2', 2],
    ['Unit_Cost', 'twenty', 'twenty'],
    ['Unit_Cost', '1e5', '1e5'],
  ])('number field %s %j → %j', (field, raw, want) => {
    expect(normaliseCldRecord({ [field]: raw })[field]).toBe(want);
  });

  it('leaves numbers it cannot read for the validator to report', () => {
    const { record, errors } = prepareCldRecord({ LA_Code: 'X26', LA_Person_Unique_Identifier: 'C1', Client_Type: 'Carer known by association', Total_Hrs_Caring_per_week: 'lots' });
    expect(record.Total_Hrs_Caring_per_week).toBe('lots');
    expect(errors).toEqual([{ field: 'Total_Hrs_Caring_per_week', reason: 'must be a number' }]);
  });

  it.each([
    ['05/11/2025', '2025-11-05'],
    ['5/1/2025', '2025-01-05'],
    ['2025-11-05', '2025-11-05'],
    ['2025/11/05', '2025/11/05'],
  ])('date %s → %s (dd/mm/yyyy is read as UK order)', (raw, want) => {
    expect(normaliseCldRecord({ Event_Start_Date: raw }).Event_Start_Date).toBe(want);
  });

  it('compacts NHS numbers and upper-cases codes and postcodes', () => {
    expect(normaliseCldRecord({ NHS_Number: '943 476-5919', Postcode: 'ls1   4ap', GP_Practice_Code: 'b86001', LA_Code: 'x 26' })).toEqual({
      NHS_Number: '9434765919',
      Postcode: 'LS1 4AP',
      GP_Practice_Code: 'B86001',
      LA_Code: 'X26',
    });
  });

  it.each([
    ['Client_Type', 'service user', 'Service User'],
    ['Client_Type', 'CARER  known by association', 'Carer known by association'],
    ['Event_Type', 'service', 'Service'],
    ['Service_Type', 'long term support: NURSING care', 'Long Term Support: Nursing Care'],
    ['Delivery_Mechanism', 'direct payment', 'Direct Payment'],
    ['Primary_Support_Reason', 'support with memory & cognition', 'Support with Memory & Cognition'],
    ['Client_Funding_Status', 'Fully Social Care Funded', 'Fully social care funded'],
    ['Sensitivity', 'ADOPTION', 'adoption'],
    ['Client_Type', 'Lodger', 'Lodger'],
  ])('value list %s %j → %j', (field, raw, want) => {
    expect(normaliseCldRecord({ [field]: raw })[field]).toBe(want);
  });

  it.each([
    ['Y', 'Yes'],
    ['no', 'No'],
    ['TRUE', 'Yes'],
    ['0', 'No'],
    ['unknown', 'Unknown'],
    [true, 'Yes'],
    [false, 'No'],
    ['perhaps', 'perhaps'],
  ])('yes/no %j → %j', (raw, want) => {
    expect(normaliseCldRecord({ Dementia: raw }).Dementia).toBe(want);
  });

  it('keeps JSON numbers and free text as given', () => {
    expect(normaliseCldRecord({ Unit_Cost: 22.5, Event_Outcome: 'Progress to Assessment', Assessment_Type: 'long term support assessment' })).toEqual({
      Unit_Cost: 22.5,
      Event_Outcome: 'Progress to Assessment',
      Assessment_Type: 'long term support assessment',
    });
  });
});

describe('the sample extract', () => {
  const rows = readCldCsv(readFileSync(SAMPLE, 'utf8'));
  const prepared = rows.map((r) => ({ rowNumber: r.rowNumber, ...prepareCldRecord(r.raw) }));

  it('has eleven rows numbered from 2 (the header is row 1)', () => {
    expect(rows.map((r) => r.rowNumber)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('has exactly one bad row, reported by row, field and reason', () => {
    const bad = prepared.filter((p) => !p.ok).map((p) => ({ row: p.rowNumber, errors: p.errors }));
    expect(bad).toEqual([
      {
        row: 11,
        errors: [
          { field: 'Event_End_Date', reason: 'is required' },
          { field: 'Event_Start_Date', reason: 'must be a real date written YYYY-MM-DD' },
        ],
      },
    ]);
  });

  it('uses synthetic NHS numbers that pass Modulus 11, except the one deliberately invalid', () => {
    const numbers = new Map(prepared.map((p) => [String(p.record.LA_Person_Unique_Identifier), String(p.record.NHS_Number)]));
    for (const [person, nhs] of numbers) expect([person, isValidNhsNumber(nhs)]).toEqual([person, person !== 'P1003']);
  });

  it('carries every event type, a carer and a sensitive row', () => {
    const good = prepared.filter((p) => p.ok).map((p) => p.record);
    expect(new Set(good.map((r) => r.Event_Type))).toEqual(new Set(['Request', 'Assessment', 'Service', 'Review']));
    expect(good.some((r) => r.Client_Type === 'Carer' && r.Adult_1_Linked_Person_ID === 'P1001')).toBe(true);
    expect(good.filter((r) => r.Sensitivity).map((r) => r.LA_Person_Unique_Identifier)).toEqual(['P1005']);
  });

  it('a raw CSV row without normalising fails on the strings the CSV gives', () => {
    const serviceRow = rows.find((r) => r.raw.Event_Reference === 'SVC-1002-2');
    expect(serviceRow).toBeDefined();
    const fields = validateCldRecord(serviceRow?.raw).errors.map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['Unit_Cost', 'Planned_units_per_week']));
  });
});
