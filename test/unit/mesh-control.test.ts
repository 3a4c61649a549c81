// The MESH client's control file: what we write reads back the same, the elements come in the
// MESH client's order, a real received control file parses, and hostile XML is refused.
import { describe, expect, test } from '@jest/globals';
import { ControlFileError, isFailureReport, parseControlFile, writeControlFile, type ControlFile } from '../../adapters/mesh-folder/control.js';

/** As the MESH client writes a received message's control file (from the published example). */
const RECEIVED = `<DTSControl>
<Version>1.0</Version>
<AddressType>ALL</AddressType>
<MessageType>Data</MessageType>
<From_DTS>X26HC010</From_DTS>
<To_DTS>X26OT002</To_DTS>
<Subject>ADW</Subject>
<LocalId>00042</LocalId>
<DTSId>20180808160418053343_B8CF9A</DTSId>
<PartnerId></PartnerId>
<Compress>N</Compress>
<Encrypted>N</Encrypted>
<WorkflowId>ADW_NOTICE</WorkflowId>
<ProcessId></ProcessId>
<DataChecksum></DataChecksum>
<IsCompressed>N</IsCompressed>
<StatusRecord>
<DateTime>20180808170418</DateTime>
<Event>TRANSFER</Event>
<Status>SUCCESS</Status>
<StatusCode>00</StatusCode>
<Description>Transferred to recipient mailbox</Description>
</StatusRecord>
</DTSControl>`;

describe('MESH control file', () => {
  test('a received control file parses, values kept as text', () => {
    expect(parseControlFile(Buffer.from(RECEIVED))).toEqual({
      version: '1.0',
      addressType: 'ALL',
      messageType: 'Data',
      workflowId: 'ADW_NOTICE',
      fromDts: 'X26HC010',
      toDts: 'X26OT002',
      subject: 'ADW',
      localId: '00042',
      dtsId: '20180808160418053343_B8CF9A',
      compress: false,
      encrypted: false,
      isCompressed: false,
      statusRecord: { dateTime: '20180808170418', event: 'TRANSFER', status: 'SUCCESS', statusCode: '00', description: 'Transferred to recipient mailbox' },
    });
  });

  test('write then parse gives back the same fields, in the MESH client order, escaped', () => {
    const control: ControlFile = {
      version: '1.0',
      addressType: 'DTS',
      messageType: 'Report',
      workflowId: 'W<&>1',
      fromDts: 'X26OT123',
      toDts: 'RX1MB001',
      subject: 'a & b',
      localId: 'm-1',
      dtsId: 'D1',
      partnerId: 'P',
      compress: false,
      encrypted: false,
      isCompressed: false,
      statusRecord: { dateTime: '20261207093000', event: 'SEND', status: 'ERROR', statusCode: '14', description: 'Message not collected' },
    };
    const xml = writeControlFile(control);
    expect(parseControlFile(Buffer.from(xml))).toEqual(control);
    const order = [...xml.matchAll(/<(\w+)>/g)].map((m) => m[1]);
    expect(order).toEqual([
      'DTSControl', 'Version', 'AddressType', 'MessageType', 'WorkflowId', 'From_DTS', 'To_DTS', 'Subject', 'LocalId', 'DTSId', 'PartnerId',
      'Compress', 'Encrypted', 'IsCompressed', 'StatusRecord', 'DateTime', 'Event', 'Status', 'StatusCode', 'Description',
    ]);
    expect(xml).toContain('<WorkflowId>W&lt;&amp;&gt;1</WorkflowId>');
  });

  test('failure reports are told from success reports and data', () => {
    const report = (status: string, statusCode: string) => parseControlFile(Buffer.from(writeControlFile({ version: '1.0', addressType: 'DTS', messageType: 'Report', workflowId: '', fromDts: '', toDts: 'X', statusRecord: { status, statusCode } })));
    expect(isFailureReport(report('ERROR', '14'))).toBe(true);
    expect(isFailureReport(report('SUCCESS', '00'))).toBe(false);
    expect(isFailureReport(parseControlFile(Buffer.from(RECEIVED)))).toBe(false);
  });

  test.each([
    ['a DTD with an entity', '<!DOCTYPE DTSControl [<!ENTITY x "boom">]><DTSControl><MessageType>Data</MessageType></DTSControl>', /DTD/],
    ['not XML', 'hello', /well-formed|root/],
    ['no DTSControl root', '<Other><MessageType>Data</MessageType></Other>', /no <DTSControl> root/],
    ['a data message without WorkflowId', '<DTSControl><MessageType>Data</MessageType><From_DTS>A</From_DTS></DTSControl>', /<WorkflowId> missing/],
    ['an unknown MessageType', '<DTSControl><MessageType>Chat</MessageType></DTSControl>', /MessageType/],
    ['a repeated element', '<DTSControl><MessageType>Data</MessageType><WorkflowId>A</WorkflowId><WorkflowId>B</WorkflowId><From_DTS>A</From_DTS></DTSControl>', /single text value/],
    ['a bad Y/N flag', '<DTSControl><MessageType>Data</MessageType><WorkflowId>A</WorkflowId><From_DTS>A</From_DTS><Compress>maybe</Compress></DTSControl>', /Y or N/],
  ])('refuses %s', (_what, xml, reason) => {
    expect(() => parseControlFile(Buffer.from(xml))).toThrow(ControlFileError);
    expect(() => parseControlFile(Buffer.from(xml))).toThrow(reason);
  });

  test('refuses a file over the size limit and bytes that are not UTF-8', () => {
    expect(() => parseControlFile(Buffer.alloc(70 * 1024, 0x20))).toThrow(/larger than/);
    expect(() => parseControlFile(Buffer.from([0x3c, 0xff, 0xfe, 0x3e]))).toThrow(/not UTF-8/);
  });
});
