// CLD rows → one mapping input per person: grouping, which row's person fields win, event
// de-duplication and order, carers' links, sensitivity flags, and statuses from dates.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { readCldCsv } from '../../mappings/social-care/cld.js';
import { prepareCldRecord, type CldRecord } from '../../mappings/social-care/cld-validate.js';
import { cldEventStatus, cldPersonKey, groupCldRows, toCldPersonInput } from '../../mappings/social-care/group.js';

const sampleRows = readCldCsv(readFileSync('channels/examples/extracts/cld-sample.csv', 'utf8'))
  .map((r) => prepareCldRecord(r.raw))
  .filter((p) => p.ok)
  .map((p) => p.record);

const P = { LA_Code: 'X26', LA_Person_Unique_Identifier: 'P9', Client_Type: 'Service User' };

function service(ref: string, start: string, extra: CldRecord = {}): CldRecord {
  return { ...P, Event_Type: 'Service', Event_Reference: ref, Event_Start_Date: start, Service_Type: 'Long Term Support: Community', Service_Component: 'Home Support', ...extra };
}

describe('groupCldRows', () => {
  const groups = groupCldRows(sampleRows);

  it('gives one input per person, in first-seen order', () => {
    expect(groups.map((g) => g.person.LA_Person_Unique_Identifier)).toEqual(['P1001', 'P1002', 'C2001', 'P1003', 'P1005']);
    expect(groups.map((g) => g.events.length)).toEqual([4, 2, 2, 1, 1]);
  });

  it('keys people by council and person id', () => {
    expect(cldPersonKey({ LA_Code: 'x26', LA_Person_Unique_Identifier: 'P1' })).toBe('X26|P1');
    const two = groupCldRows([service('S1', '2025-01-01'), service('S2', '2025-01-01', { LA_Code: 'Y11' })], { asOf: '2026-01-01' });
    expect(two.map((g) => g.person.LA_Code)).toEqual(['X26', 'Y11']);
  });

  it('judges statuses at the extract’s Reporting_Period_End_Date', () => {
    expect(groups.every((g) => g.asOf === '2026-03-31')).toBe(true);
    const p1001 = groups[0];
    expect(p1001.events.map((e) => [e.Event_Type, e.Event_Reference, e.fhirStatus])).toEqual([
      ['Request', 'REQ-1001-1', 'completed'],
      ['Assessment', 'ASM-1001-1', 'finished'],
      ['Service', 'SVC-1001-1', 'active'],
      ['Review', 'REV-1001-1', 'finished'],
    ]);
  });

  it('keeps person fields out of events and event fields out of the person', () => {
    const p1001 = groups[0];
    expect(p1001.person).toMatchObject({ NHS_Number: '9434765919', Postcode: 'LS1 4AP', Allocated_Worker_ID: 'W0451', Reporting_Period_End_Date: '2026-03-31' });
    expect(p1001.person).not.toHaveProperty('Event_Type');
    expect(p1001.events[2]).toEqual({
      Event_Type: 'Service',
      Event_Reference: 'SVC-1001-1',
      Event_Start_Date: '2025-10-21',
      Service_Type: 'Long Term Support: Community',
      Service_Component: 'Home Support',
      Delivery_Mechanism: 'CASSR Commissioned Support',
      Provider_CQC_Location_ID: '1-123456789',
      Unit_Cost: 22.5,
      Cost_Frequency_Unit_Type: 'Hourly',
      Planned_units_per_week: 14,
      fhirStatus: 'active',
    });
  });

  it('collects the adults a carer cares for, and sensitivity flags', () => {
    const carer = groups.find((g) => g.person.LA_Person_Unique_Identifier === 'C2001');
    expect(carer?.caredFor).toEqual(['P1001']);
    expect(carer?.sensitivity).toEqual([]);
    expect(groups.find((g) => g.person.LA_Person_Unique_Identifier === 'P1005')?.sensitivity).toEqual(['sealed-safeguarding']);
  });

  it('produces exactly the shipped example-case inputs for the sample people', () => {
    const cases: Record<string, string> = {
      P1001: 'service-user-full-journey',
      P1002: 'several-services-no-ethnicity-or-gp',
      C2001: 'unpaid-carer',
      P1003: 'invalid-nhs-number',
      P1005: 'sensitive-record-refused',
    };
    for (const g of groups) {
      const file = `mappings/social-care/cases/${cases[String(g.person.LA_Person_Unique_Identifier)]}.input.json`;
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(g);
    }
  });
});

describe('toCldPersonInput', () => {
  it('takes person fields from the newest row, and a value missing there from an older row', () => {
    const input = toCldPersonInput(
      [
        service('S2', '2025-06-01', { Postcode: 'LS6 2QT', Primary_Support_Reason: 'Mental Health Support' }),
        service('S1', '2024-01-01', { Postcode: 'LS1 4AP', NHS_Number: '9434765919', Primary_Support_Reason: 'Learning Disability Support' }),
      ],
      { asOf: '2026-01-01' },
    );
    expect(input.person).toMatchObject({ Postcode: 'LS6 2QT', Primary_Support_Reason: 'Mental Health Support', NHS_Number: '9434765919' });
  });

  it('on equal start dates the later row wins', () => {
    const input = toCldPersonInput([service('S1', '2025-01-01', { Gender: 'Male' }), service('S2', '2025-01-01', { Gender: 'Female' })], { asOf: '2026-01-01' });
    expect(input.person.Gender).toBe('Female');
  });

  it('de-duplicates events by type and reference (the later row wins) and orders them by start date', () => {
    const input = toCldPersonInput(
      [
        service('S2', '2025-06-01'),
        service('S1', '2025-01-01', { Event_End_Date: '2025-03-01' }),
        service('S1', '2025-01-01', { Event_End_Date: '2025-05-01' }),
        { ...P, Event_Type: 'Review', Event_Reference: 'S1', Event_Start_Date: '2025-02-01', Event_End_Date: '2025-02-01', Review_Reason: 'Planned', Method_of_Review: 'Telephone' },
      ],
      { asOf: '2026-01-01' },
    );
    expect(input.events.map((e) => [e.Event_Type, e.Event_Reference, e.Event_End_Date])).toEqual([
      ['Service', 'S1', '2025-05-01'],
      ['Review', 'S1', '2025-02-01'],
      ['Service', 'S2', undefined],
    ]);
  });

  it('collects every linked adult once, in row order', () => {
    const carer = { ...P, Client_Type: 'Carer' };
    const input = toCldPersonInput(
      [
        { ...carer, Adult_1_Linked_Person_ID: 'P1', Adult_2_Linked_Person_ID: 'P2' },
        { ...carer, Adult_1_Linked_Person_ID: 'P2', Adult_3_Linked_Person_ID: 'P3' },
      ],
      { asOf: '2026-01-01' },
    );
    expect(input.caredFor).toEqual(['P1', 'P2', 'P3']);
    expect(input.events).toEqual([]);
  });

  it('uses the asOf option over the reporting period, and the reporting period over today', () => {
    const rows = [service('S1', '2025-06-01', { Reporting_Period_End_Date: '2025-03-31' })];
    expect(toCldPersonInput(rows).asOf).toBe('2025-03-31');
    expect(toCldPersonInput(rows).events[0].fhirStatus).toBe('planned');
    expect(toCldPersonInput(rows, { asOf: '2025-07-01' }).events[0].fhirStatus).toBe('active');
    expect(toCldPersonInput([service('S1', '2025-06-01')]).asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it('refuses rows of more than one person, and no rows', () => {
    expect(() => toCldPersonInput([service('S1', '2025-01-01'), { ...service('S2', '2025-01-01'), LA_Person_Unique_Identifier: 'P10' }])).toThrow('more than one person');
    expect(() => toCldPersonInput([])).toThrow('at least one row');
  });
});

describe('cldEventStatus', () => {
  const asOf = '2026-03-31';
  it.each([
    ['Service', '2026-04-01', undefined, 'planned'],
    ['Service', '2026-03-31', undefined, 'active'],
    ['Service', '2025-01-01', undefined, 'active'],
    ['Service', '2025-01-01', '2026-04-30', 'active'],
    ['Service', '2025-01-01', '2026-03-31', 'finished'],
    ['Service', '2025-01-01', '2025-06-30', 'finished'],
    ['Request', '2026-03-01', '2026-03-05', 'completed'],
    ['Request', '2026-03-30', '2026-04-02', 'active'],
    ['Assessment', '2026-04-10', '2026-04-10', 'planned'],
    ['Assessment', '2026-03-20', '2026-04-10', 'in-progress'],
    ['Assessment', '2026-03-20', '2026-03-25', 'finished'],
    ['Review', '2026-01-15', '2026-01-15', 'finished'],
  ])('%s %s → %s at 2026-03-31: %s', (type, start, end, want) => {
    expect(cldEventStatus(type, start, end, asOf)).toBe(want);
  });
});
