// Synthetic HL7 v2.4 messages (invented people; NHS numbers pass Modulus 11).

export const ADT_A01_SEGMENTS = [
  'MSH|^~\\&|PAS|RX1|TRAMLINE|LA123|20260105093000||ADT^A01^ADT_A01|MSG00001|P|2.4|||AL|NE|GBR|UNICODE UTF-8|EN',
  'EVN|A01|20260105092500|||C1234567^Jones^Amy^^^Dr^^^GMC|20260105092500',
  'PID|1||9434765919^^^NHS^NH~RX1000123^^^RX1^MR||TESTPATIENT^Alex^James^^Mr^^L||19700101|1|||1 Example Street^^Leeds^West Yorkshire^LS1 4AP^GBR^H||01130000000^PRN^PH||en|S|C||||A|||||||NSTS01',
  'PD1|||Leeds GP Practice^^B86001|G1234567^Smith^Pat^^^Dr^^^GMC',
  'NK1|1|TESTPATIENT^Sam^^^Ms|SPO^Spouse|1 Example Street^^Leeds^^LS1 4AP^GBR^H|01130000001',
  'PV1|1|I|RX1^WARD7^BED3^RX101||||C1234567^Jones^Amy^^^Dr^^^GMC|||300||||19|||||V000123^^^RX1^VN|||||||||||||||||||||||||20260105093000',
  'AL1|1|DA|Z88.0^Penicillin allergy^I10|SV',
  'DG1|1||R06.0^Dyspnoea^I10||20260105|A',
  'ZU1|20260105093000|1|C',
];

export const ADT_A01 = ADT_A01_SEGMENTS.join('\r') + '\r';
