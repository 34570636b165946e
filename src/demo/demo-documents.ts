import { randomInt, randomUUID } from 'node:crypto'
import { readSignedEnvelope } from '../edxml/signed-envelope-fields.js'
import { parseXml } from '../xmldsig/parse.js'

/** An agency as the envelope names it. */
export interface DemoAgency {
  code: string
  name: string
}

/** What a status message needs to know about the document it answers. */
export interface AnsweredDocument {
  sender: string
  documentId: string
  code?: string
  promulgationDate?: string
}

const escape = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

/** edXML dates and times are Vietnam local time (UTC+7, no daylight saving): 2026/11/20 and 2026/11/20 09:15:00. */
function vietnamTime (at: Date): { date: string, timestamp: string } {
  const [day, time] = new Date(at.getTime() + 7 * 3600_000).toISOString().split('T') as [string, string]
  const date = day.replace(/-/g, '/')
  return { date, timestamp: `${date} ${time.slice(0, 8)}` }
}

/**
 * A new official letter (Công văn) from `from` to every agency of `to`, numbered so that each demo
 * run sends a document the hub has not seen (the hub answers a repeated sender + DocumentId with
 * the original receipt instead of delivering again).
 */
export function demoDocument (from: DemoAgency, to: DemoAgency[], at = new Date()): { xml: string, documentId: string, code: string, promulgationDate: string } {
  const { date, timestamp } = vietnamTime(at)
  const number = String(randomInt(1000, 1_000_000))
  const notation = 'UBND-VP'
  const code = `${number}/${notation}`
  const documentId = `${from.code},${date},${code}`
  const contentId = `cid:${randomUUID()}`
  const text = `Kính gửi ${to.map((a) => a.name).join(', ')}: văn bản thử nghiệm liên thông, gửi lúc ${timestamp}.\n`
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">
  <edXML:edXMLEnvelope xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">
    <edXML:edXMLHeader>
      <edXML:MessageHeader>
        <edXML:From>
          <edXML:OrganId>${escape(from.code)}</edXML:OrganId>
          <edXML:OrganizationInCharge>${escape(from.name)}</edXML:OrganizationInCharge>
          <edXML:OrganName>${escape(from.name)}</edXML:OrganName>
        </edXML:From>
${to.map((a) => `        <edXML:To>
          <edXML:OrganId>${escape(a.code)}</edXML:OrganId>
          <edXML:OrganName>${escape(a.name)}</edXML:OrganName>
        </edXML:To>`).join('\n')}
        <edXML:DocumentId>${escape(documentId)}</edXML:DocumentId>
        <edXML:Code>
          <edXML:CodeNumber>${number}</edXML:CodeNumber>
          <edXML:CodeNotation>${notation}</edXML:CodeNotation>
        </edXML:Code>
        <edXML:PromulgationInfo>
          <edXML:PromulgationDate>${date}</edXML:PromulgationDate>
        </edXML:PromulgationInfo>
        <edXML:DocumentType>
          <edXML:Type>1</edXML:Type>
          <edXML:TypeDetail>0</edXML:TypeDetail>
          <edXML:TypeName>Công văn</edXML:TypeName>
        </edXML:DocumentType>
        <edXML:Subject>V/v thử nghiệm liên thông văn bản điện tử (lienthong demo)</edXML:Subject>
        <edXML:SignerInfo>
          <edXML:Competence>TL. CHỦ TỊCH</edXML:Competence>
          <edXML:Position>Chánh Văn phòng</edXML:Position>
          <edXML:FullName>Lê Văn Minh</edXML:FullName>
        </edXML:SignerInfo>
        <edXML:OtherInfo>
          <edXML:Priority>0</edXML:Priority>
          <edXML:PromulgationAmount>1</edXML:PromulgationAmount>
          <edXML:PageAmount>1</edXML:PageAmount>
        </edXML:OtherInfo>
      </edXML:MessageHeader>
      <edXML:TraceHeaderList>
        <edXML:TraceHeader>
          <edXML:OrganId>${escape(from.code)}</edXML:OrganId>
          <edXML:Timestamp>${timestamp}</edXML:Timestamp>
        </edXML:TraceHeader>
        <edXML:Bussiness>
          <edXML:BussinessDocType>0</edXML:BussinessDocType>
          <edXML:BussinessDocReason>Văn bản điện tử mới</edXML:BussinessDocReason>
          <edXML:Paper>0</edXML:Paper>
        </edXML:Bussiness>
      </edXML:TraceHeaderList>
    </edXML:edXMLHeader>
    <edXML:edXMLBody>
      <edXML:edXMLManifest version="1.0">
        <edXML:Reference>
          <edXML:ContentId>${contentId}</edXML:ContentId>
          <edXML:ContentType>text/plain</edXML:ContentType>
          <edXML:Description>Toàn văn công văn</edXML:Description>
          <edXML:AttachmentName>cong-van-${number}.txt</edXML:AttachmentName>
        </edXML:Reference>
      </edXML:edXMLManifest>
    </edXML:edXMLBody>
  </edXML:edXMLEnvelope>
  <AttachmentEncoded>
    <Attachment>
      <ContentId>${contentId}</ContentId>
      <AttachmentName>cong-van-${number}.txt</AttachmentName>
      <ContentType>text/plain</ContentType>
      <ContentTransferEncoded>${Buffer.from(text).toString('base64')}</ContentTransferEncoded>
    </Attachment>
  </AttachmentEncoded>
</edXML>
`
  return { xml, documentId, code, promulgationDate: date }
}

/** Status 03 (Đã tiếp nhận: registered in the incoming-documents book) from `from`, answering `answered`. */
export function status03 (from: DemoAgency, answered: AnsweredDocument, at = new Date()): string {
  const { timestamp } = vietnamTime(at)
  const optional = (element: string, value: string | undefined): string =>
    value != null && value !== '' ? `\n          <edXML:${element}>${escape(value)}</edXML:${element}>` : ''
  return `<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">
  <edXML:edXMLEnvelope xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">
    <edXML:edXMLHeader>
      <edXML:MessageHeader>
        <edXML:From>
          <edXML:OrganId>${escape(from.code)}</edXML:OrganId>
          <edXML:OrganName>${escape(from.name)}</edXML:OrganName>
        </edXML:From>
        <edXML:ResponseFor>
          <edXML:OrganId>${escape(answered.sender)}</edXML:OrganId>${optional('Code', answered.code)}
          <edXML:DocumentId>${escape(answered.documentId)}</edXML:DocumentId>${optional('PromulgationDate', answered.promulgationDate)}
        </edXML:ResponseFor>
        <edXML:StaffInfo>
          <edXML:Department>Văn thư</edXML:Department>
          <edXML:Staff>lienthong demo</edXML:Staff>
        </edXML:StaffInfo>
        <edXML:StatusCode>03</edXML:StatusCode>
        <edXML:Description>Đã tiếp nhận: văn bản đã được vào sổ văn bản đến</edXML:Description>
        <edXML:Timestamp>${timestamp}</edXML:Timestamp>
      </edXML:MessageHeader>
      <edXML:TraceHeaderList>
        <edXML:TraceHeader>
          <edXML:OrganId>${escape(from.code)}</edXML:OrganId>
          <edXML:Timestamp>${timestamp}</edXML:Timestamp>
        </edXML:TraceHeader>
      </edXML:TraceHeaderList>
    </edXML:edXMLHeader>
  </edXML:edXMLEnvelope>
</edXML>
`
}

/**
 * What a status message must name about a document the hub delivered: its sender, DocumentId,
 * number and date, read from the envelope (the hub verified the signature before delivering).
 * Undefined when the bytes are not an edXML document with a sender and a DocumentId.
 */
export function answeredDocumentOf (bytes: Buffer): AnsweredDocument | undefined {
  let envelope
  try {
    envelope = readSignedEnvelope(parseXml(bytes), 'document')
  } catch {
    return undefined
  }
  if (envelope.from.organId === '' || envelope.documentId == null) return undefined
  const code = [envelope.code?.number, envelope.code?.notation].filter((p) => p != null && p !== '').join('/')
  return {
    sender: envelope.from.organId,
    documentId: envelope.documentId,
    ...(code !== '' ? { code } : {}),
    ...(envelope.promulgationDate != null ? { promulgationDate: envelope.promulgationDate } : {})
  }
}
