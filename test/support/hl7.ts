// Synthetic NHS ADT messages for tests: invented people, NHS numbers that pass Modulus 11.
export interface AdtOptions {
  controlId: string;
  event?: string;
  facility?: string;
  nhsNumber?: string;
  mrn?: string;
  family?: string;
  given?: string;
  charset?: string;
  ackTypes?: [string, string];
  ward?: string;
}

export function adt(o: AdtOptions): string {
  const event = o.event ?? 'A01';
  const ack = o.ackTypes ? `${o.ackTypes[0]}|${o.ackTypes[1]}` : '|';
  const ids = [o.nhsNumber ? `${o.nhsNumber}^^^NHS^NH` : '', `${o.mrn ?? 'RCB' + o.controlId}^^^RCB^MR`].filter(Boolean).join('~');
  return [
    `MSH|^~\\&|PAS|${o.facility ?? 'RCB'}|TRAMLINE|BLACKPOOL|20260615093000||ADT^${event}^ADT_A01|${o.controlId}|P|2.4|||${ack}|GBR|${o.charset ?? 'UNICODE UTF-8'}`,
    `EVN|${event}|20260615093000`,
    `PID|1||${ids}||${o.family ?? 'TESTPERSON'}^${o.given ?? 'ALEX'}^^^MX||19700101|U|||1 TEST STREET^^BLACKPOOL^^FY1 1AA||01253000000`,
    `PV1|1|I|${o.ward ?? 'WARD1'}^BAY1^BED1||||C1234567^DOCTOR^TEST||||||||||||V${o.controlId}`,
  ].join('\r');
}

/** NHS numbers that pass Modulus 11 (checked in test/unit). */
export const NHS_NUMBERS = ['9434765919', '9449305552', '9912003888'];
