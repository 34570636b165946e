import type { ProblemCode } from '../errors/problem.js'

/**
 * Every rejection lienthong can give, as VDXP answers it: an ErrorCode (a string of digits; "0"
 * is success to the SDK) and a Vietnamese ErrorDesc. The lienthong code travels beside them
 * (`code`) so support staff can find the English explanation in docs/. Codes are stable: agency
 * software may branch on them. 1xx: the gateway (authentication, input, capacity); 2xx: the
 * document's verification (src/domain/reason-codes.ts); 3xx: VDXP-only rules.
 * The table in docs/vdxp-compat.md is checked against this one (test/vdxp/error-catalogue.test.ts).
 */
export const PROBLEM_CATALOGUE = {
  UNAUTHENTICATED: { errorCode: '101', desc: 'Xác thực không thành công: mã hệ thống hoặc chữ ký HMAC không hợp lệ' },
  FORBIDDEN: { errorCode: '102', desc: 'Không có quyền thực hiện thao tác này' },
  NOT_FOUND: { errorCode: '103', desc: 'Không tìm thấy văn bản hoặc chức năng được yêu cầu' },
  CONFLICT: { errorCode: '104', desc: 'Trạng thái mới mâu thuẫn với trạng thái đã ghi nhận' },
  CONTENT_EXPIRED: { errorCode: '105', desc: 'Nội dung văn bản đã bị xóa sau thời hạn lưu trữ' },
  DOCUMENT_UNKNOWN: { errorCode: '106', desc: 'Thông điệp trạng thái trả lời một văn bản không có trên trục' },
  RECIPIENT_UNKNOWN: { errorCode: '107', desc: 'Không có đơn vị nhận nào được trục biết đến' },
  UNSUPPORTED_MEDIA_TYPE: { errorCode: '108', desc: 'Kiểu nội dung không được hỗ trợ' },
  BAD_REQUEST: { errorCode: '109', desc: 'Yêu cầu không hợp lệ' },
  REQUEST_TIMEOUT: { errorCode: '110', desc: 'Yêu cầu không được nhận đủ trong thời gian cho phép' },
  HEADERS_TOO_LARGE: { errorCode: '111', desc: 'Phần tiêu đề của yêu cầu quá lớn' },
  RATE_LIMITED: { errorCode: '112', desc: 'Quá nhiều yêu cầu, vui lòng thử lại sau' },
  BUSY: { errorCode: '113', desc: 'Trục đang quá tải xác thực chữ ký, vui lòng thử lại sau' },
  IN_FLIGHT_LIMIT: { errorCode: '114', desc: 'Quá nhiều dữ liệu đang được gửi cùng lúc, vui lòng thử lại sau' },
  UNAVAILABLE: { errorCode: '115', desc: 'Trục tạm thời không truy cập được cơ sở dữ liệu hoặc hàng đợi, vui lòng thử lại sau' },
  INTERNAL: { errorCode: '116', desc: 'Lỗi nội bộ của trục' },
  RECIPIENT_UNROUTABLE: { errorCode: '117', desc: 'Không có tuyến chuyển tiếp nào tới đơn vị nhận' },
  HOP_LOOP: { errorCode: '118', desc: 'Văn bản đã đi qua trục này (vòng lặp định tuyến)' },
  HOP_LIMIT: { errorCode: '119', desc: 'Văn bản đã đi qua quá nhiều trục' },
  HOPS_INVALID: { errorCode: '120', desc: 'Danh sách chặng (Lienthong-Hops) không hợp lệ' },
  RECIPIENT_CASE_MISMATCH: { errorCode: '121', desc: 'Mã đơn vị nhận chỉ khác mã một đơn vị của trục ở chữ hoa, chữ thường' },
  PEER_NOT_ON_PATH: { errorCode: '122', desc: 'Trục chuyển tiếp không nằm trên đường đi của văn bản này' },
  PAYLOAD_TOO_LARGE: { errorCode: '201', desc: 'Văn bản vượt quá dung lượng cho phép' },
  XML_MALFORMED: { errorCode: '202', desc: 'Văn bản không phải XML hợp lệ' },
  XML_DTD_FORBIDDEN: { errorCode: '203', desc: 'Văn bản chứa khai báo DOCTYPE hoặc ENTITY, không được chấp nhận' },
  XML_TOO_DEEP: { errorCode: '204', desc: 'Cấu trúc XML lồng nhau quá sâu' },
  SCHEMA_INVALID: { errorCode: '205', desc: 'Văn bản không đúng cấu trúc gói tin edXML' },
  SIGNATURE_MISSING: { errorCode: '206', desc: 'Văn bản không có chữ ký số' },
  SIGNATURE_AMBIGUOUS: { errorCode: '207', desc: 'Văn bản phải có đúng một chữ ký số với một tham chiếu' },
  SIGNATURE_LOCATION: { errorCode: '208', desc: 'Chữ ký số đặt sai vị trí trong văn bản' },
  REFERENCE_NOT_DOCUMENT: { errorCode: '209', desc: 'Chữ ký số không bao phủ toàn bộ văn bản' },
  TRANSFORM_FORBIDDEN: { errorCode: '210', desc: 'Chữ ký số dùng phép biến đổi không được phép' },
  ALGORITHM_FORBIDDEN: { errorCode: '211', desc: 'Chữ ký số dùng thuật toán không được phép' },
  CERT_MISSING: { errorCode: '212', desc: 'Không có chứng thư số của người ký' },
  CERT_MALFORMED: { errorCode: '213', desc: 'Chứng thư số không đọc được' },
  CERT_UNTRUSTED: { errorCode: '214', desc: 'Chứng thư số không thuộc tổ chức chứng thực được tin cậy' },
  CERT_EXPIRED: { errorCode: '215', desc: 'Chứng thư số đã hết hạn hoặc chưa có hiệu lực' },
  CERT_REVOKED: { errorCode: '216', desc: 'Chứng thư số đã bị thu hồi' },
  REVOCATION_UNAVAILABLE: { errorCode: '217', desc: 'Không kiểm tra được tình trạng thu hồi của chứng thư số' },
  CERT_USAGE: { errorCode: '218', desc: 'Chứng thư số không dùng được để ký văn bản' },
  AGENCY_UNKNOWN: { errorCode: '219', desc: 'Đơn vị gửi không có trong danh bạ của trục' },
  SENDER_MISMATCH: { errorCode: '220', desc: 'Người ký không thuộc đơn vị gửi' },
  SIGNATURE_INVALID: { errorCode: '221', desc: 'Chữ ký số không hợp lệ' },
  DIGEST_MISMATCH: { errorCode: '222', desc: 'Nội dung văn bản đã bị thay đổi sau khi ký' },
  XML_PI_FORBIDDEN: { errorCode: '223', desc: 'Văn bản chứa chỉ thị xử lý XML, không được chấp nhận' },
  XML_LIMIT_EXCEEDED: { errorCode: '224', desc: 'Văn bản vượt quá giới hạn kích thước XML' },
  XML_DECLARATION_UNSUPPORTED: { errorCode: '225', desc: 'Chỉ chấp nhận XML 1.0 mã hóa UTF-8' },
  ENVELOPE_AMBIGUOUS: { errorCode: '226', desc: 'Phần bì thư edXML có phần tử lặp lại hoặc sai không gian tên' },
  FIELD_TOO_LONG: { errorCode: '227', desc: 'Một trường của bì thư edXML quá dài' },
  SIGNATURE_FOREIGN_CONTENT: { errorCode: '228', desc: 'Chữ ký số chứa nội dung không được ký' },
  SIGNATURE_MALFORMED: { errorCode: '229', desc: 'Chữ ký số không đọc được' }
} as const satisfies Record<ProblemCode, { errorCode: string, desc: string }>

/** Rules of the VDXP protocol itself, with no lienthong problem code of their own. */
export const VDXP_CATALOGUE = {
  HASH_FILE_MISMATCH: { errorCode: '301', desc: 'Mã băm hash-file không khớp với nội dung văn bản' },
  SENDER_NOT_SERVED: { errorCode: '302', desc: 'Đơn vị gửi (from) không thuộc hệ thống đã xác thực' },
  MISSING_PARAMETER: { errorCode: '303', desc: 'Thiếu tham số bắt buộc' },
  BAD_PARAMETER: { errorCode: '304', desc: 'Tham số không hợp lệ' },
  DIRECTORY_CHANGES_FORBIDDEN: { errorCode: '305', desc: 'Hệ thống không được phép thay đổi danh bạ đơn vị' },
  AGENCY_IN_REGISTRY: { errorCode: '306', desc: 'Đơn vị thuộc danh bạ chính thức của trục, không thể thay đổi qua VDXP' }
} as const

export type VdxpRule = keyof typeof VDXP_CATALOGUE
