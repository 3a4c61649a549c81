// Realistic-size ADT messages for the mapping benchmark (issue #20): synthetic, written for
// the benchmark, in the style of vendor PAS feeds. The shipped cases (adt-cases.ts) are each
// about one feature and average ~510 bytes; a trust's feed sends messages of ~0.8-1.2 KB with
// more segments and fields than the mapping reads: PID with language, religion, ethnicity,
// several phones; PD1; one or two NK1; a fully written PV1 with PV2, ROL, OBX, AL1, DG1, PR1
// and Z-segments beside it. Every name, number and place here is invented; the NHS numbers are
// synthetic (`99…`, valid, replaced per patient by adt-variants.ts). Each maps without a
// warning to a valid UK Core bundle (test/unit/bench-data.test.ts).

/** One message per line of the array, joined with CR as sent. */
const msg = (...segments: string[]): string => segments.join('\r');

/** The realistic-size messages: an admission, transfer, discharge, outpatient attendance and update. */
export const REALISTIC_ADT_MESSAGES: readonly { name: string; text: string }[] = [
  {
    name: 'realistic-a01-admission',
    text: msg(
      'MSH|^~\\&|TCPAS|RXY|TRAMLINE|LA07|20261203101532||ADT^A01^ADT_A01|PAS2026120310153200017|P|2.4|||AL|NE|GBR|UNICODE UTF-8|EN',
      'EVN|A01|20261203101500||||20261203101000',
      'PID|1||9990000107^^^NHS^NH~D1234567^^^RXY^MR||HARGREAVES^MARGARET^ELLEN^^MRS^^L||19460521|F|||14 BEECH AVENUE^^HARROGATE^NORTH YORKSHIRE^HG2 8QT^GBR^H||01423 555014^PRN^PH~07700 900771^ORN^CP||EN^English|W|C^Church of England||||||A||||GBR||||||NSTS01',
      'PD1|||HARROGATE MEDICAL PRACTICE^^B82001|G8123456^Whitcombe^Helen^^^Dr^^^GMP',
      'NK1|1|HARGREAVES^PETER^^^MR|SPO^Spouse^HL70063||01423 555014^PRN^PH|07700 900772^ORN^CP|N^Next of kin^HL70131',
      'PV1|1|I|WARD12^SIDE ROOM 2^BED 1^RXY01|21|PRE0001||C7654321^Armitage^Rupert^^^Mr^^^GMC|G8123456^Whitcombe^Helen^^^Dr^^^GMP|C7654321^Armitage^Rupert^^^Mr^^^GMC|300^General Medicine||||19|||C7654321^Armitage^Rupert^^^Mr^^^GMC|01|80044556^^^RXY_VISIT^VN|||||||||||||||||||||||||20261203094500',
      'OBX|1|NM|29463-7^Body weight^LN||68.4|kg^kilogram^UCUM|||||F|||20261203100000',
      'AL1|1|DA|N0000001^Penicillin^99ZZZ|SV|Anaphylaxis|20010315',
      'DG1|1||J18.9^Pneumonia, unspecified organism^I10||20261203100500|A',
      'ZU1|20261203|1|E|||||',
    ),
  },
  {
    name: 'realistic-a02-transfer',
    text: msg(
      'MSH|^~\\&|TCPAS|RXY|TRAMLINE|LA07|20261204143011||ADT^A02^ADT_A02|PAS2026120414301100342|P|2.4|||AL|NE|GBR|UNICODE UTF-8|EN',
      'EVN|A02|20261204143000||||20261204142500',
      'PID|1||9990000204^^^NHS^NH~D2345678^^^RXY^MR||BRADSHAW^THOMAS^JAMES^^MR^^L||19580902|M|||7 MILL COTTAGES^STATION ROAD^KNARESBOROUGH^NORTH YORKSHIRE^HG5 0JD^GBR^H||01423 555220^PRN^PH||EN^English|M|^Roman Catholic||||||A||||GBR||||||NSTS01',
      'PD1|||KNARESBOROUGH SURGERY^^B82002|G8234567^Olawale^Femi^^^Dr^^^GMP',
      'NK1|1|BRADSHAW^SUSAN^^^MRS|SPO^Spouse^HL70063||07700 900225^PRN^CP||N^Next of kin^HL70131',
      'PV1|1|I|CCU^BAY 3^BED 14^RXY01|21|||C7788990^Fairbairn^Isla^^^Dr^^^GMC|G8234567^Olawale^Femi^^^Dr^^^GMP||320^Cardiology||||19|||C7788990^Fairbairn^Isla^^^Dr^^^GMC|01|80044571^^^RXY_VISIT^VN|||||||||||||||||||||||||20261203221500',
      'ROL|1|AD|AT^Attending^HL70443|C7788990^Fairbairn^Isla^^^Dr^^^GMC|20261204143000',
      'OBX|1|NM|8867-4^Heart rate^LN||112|/min^per minute^UCUM|||||F|||20261204140000',
      'ZU1|20261204|2|E',
    ),
  },
  {
    name: 'realistic-a03-discharge',
    text: msg(
      'MSH|^~\\&|TCPAS|RXY|TRAMLINE|LA07|20261206113045||ADT^A03^ADT_A03|PAS2026120611304500911|P|2.4|||AL|NE|GBR|UNICODE UTF-8|EN',
      'EVN|A03|20261206113000||||20261206112000',
      'PID|1||9990000301^^^NHS^NH~D3456789^^^RXY^MR||NAIDOO^PRIYA^^^MS^^L||19830130|F|||Flat 9 Mercer House^12 Albert Street^HARROGATE^^HG1 1JY^GBR^H||07700 900331^PRN^CP||EN^English|S|||||||||||GBR||||||NSTS01',
      'PD1|||BEECH HOUSE PRACTICE^^B82003|G8345678^Lund^Karin^^^Dr^^^GMP',
      'NK1|1|NAIDOO^ANIL^^^MR|BRO^Brother^HL70063||07700 900332^PRN^CP||C^Emergency contact^HL70131',
      'PV1|1|I|WARD5^BAY 2^BED 7^RXY01|11|||C7899001^Mensah^Kofi^^^Mr^^^GMC|G8345678^Lund^Karin^^^Dr^^^GMP||110^Trauma and Orthopaedics||||19|||C7899001^Mensah^Kofi^^^Mr^^^GMC|01|80044602^^^RXY_VISIT^VN|||||||||||||||||1^Discharged on clinical advice|19|||||||20261204073000|20261206110000',
      'DG1|1||M17.1^Other primary gonarthrosis^I10||20261204080000|F',
      'PR1|1||W40.1^Primary total prosthetic replacement of knee joint using cement^OPCS4||20261204093000|D|95|||||C7899001^Mensah^Kofi^^^Mr^^^GMC',
      'ZU1|20261206|3|E',
    ),
  },
  {
    name: 'realistic-a04-outpatient',
    text: msg(
      'MSH|^~\\&|TCPAS|RXY|TRAMLINE|LA07|20261207091512||ADT^A04^ADT_A01|PAS2026120709151201455|P|2.4|||AL|NE|GBR|UNICODE UTF-8|EN',
      'EVN|A04|20261207091500||||20261207091000',
      'PID|1||9990000409^^^NHS^NH~D4567890^^^RXY^MR||ABERNETHY^CALUM^ROSS^^MR^^L||20010714|M|||3 LARCH CLOSE^^PANNAL^NORTH YORKSHIRE^HG3 1LF^GBR^H||07700 900441^PRN^CP~01423 555441^PRN^PH||EN^English|S|^No religion||||||A||||GBR||||||NSTS01',
      'PD1|||PANNAL SURGERY^^B82004|G8456789^Hussain^Amira^^^Dr^^^GMP',
      'NK1|1|ABERNETHY^FIONA^^^MRS|MTH^Mother^HL70063|3 LARCH CLOSE^^PANNAL^^HG3 1LF^GBR^H|07700 900442^PRN^CP||N^Next of kin^HL70131',
      'PV1|1|O|OPD3^ROOM 4^^RXY02||||C7900112^Oyelaran^Tunde^^^Dr^^^GMC|G8456789^Hussain^Amira^^^Dr^^^GMP||502^Gynaecology||||||||01|80044650^^^RXY_VISIT^VN|||||||||||||||||||||||||20261207093000',
      'AL1|1|DA|N0000002^Codeine^99ZZZ|MO|Nausea|2015',
      'ZU1|20261207|1|O|||||',
    ),
  },
  {
    name: 'realistic-a08-update',
    text: msg(
      'MSH|^~\\&|TCPAS|RXY|TRAMLINE|LA07|20261207154510||ADT^A08^ADT_A01|PAS2026120715451002017|P|2.4|||AL|NE|GBR|UNICODE UTF-8|EN',
      'EVN|A08|20261207154500||||20261207154000',
      'PID|1||9990000506^^^NHS^NH~D5678901^^^RXY^MR||KOWALCZYK^ELZBIETA^^^MRS^^L~NOWAK^ELZBIETA^^^MISS^^M||19671109|F|||29 CHURCH LANE^^BOROUGHBRIDGE^NORTH YORKSHIRE^YO51 9BA^GBR^H||01423 555559^PRN^PH~07700 900559^ORN^CP||PL^Polish|M|^Roman Catholic||||||C||||POL||||||NSTS01',
      'PD1|||BOROUGHBRIDGE MEDICAL CENTRE^^B82005|G8567890^Fenwick^Rachel^^^Dr^^^GMP',
      'NK1|1|KOWALCZYK^JAN^^^MR|SPO^Spouse^HL70063||07700 900560^PRN^CP||N^Next of kin^HL70131',
      'NK1|2|KOWALCZYK^ANNA^^^MS|CHD^Daughter^HL70063||07700 900561^PRN^CP||C^Emergency contact^HL70131',
      'PV1|1|I|WARD3^BAY 1^BED 2^RXY01|12|||C7901223^Dunmore^Alastair^^^Mr^^^GMC|G8567890^Fenwick^Rachel^^^Dr^^^GMP||100^General Surgery||||19|||C7901223^Dunmore^Alastair^^^Mr^^^GMC|01|80044677^^^RXY_VISIT^VN|||||||||||||||||||||||||20261206140000',
      'AL1|1|EA|N0000003^Latex^99ZZZ|MI|Contact dermatitis|1999',
      'ZU1|20261207|2|E',
    ),
  },
];
