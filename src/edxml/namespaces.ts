/** The one edXML namespace of QCVN 102:2016 (also used by the 2022 amendment). */
export const EDXML_NS = 'http://www.mic.gov.vn/TBT/QCVN_102_2016'

/** W3C XML-DSig: the namespace of the enveloped `Signature` an edXML message carries. */
export const DSIG_NS = 'http://www.w3.org/2000/09/xmldsig#'
