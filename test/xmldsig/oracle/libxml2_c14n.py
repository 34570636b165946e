#!/usr/bin/python3
"""libxml2's canonicalizer as a test oracle, one long-lived process fed JSON lines on stdin.

Run with Debian's /usr/bin/python3 (packages python3-libxml2 and python3-lxml, both linked to the
system libxml2, the same one xmllint and xmlsec1 use). python3-libxml2 parses (with its error
handler, which tells errors from warnings); C14N itself is libxml2's xmlC14NDocDumpMemory called
through ctypes on libxml2's own XPath node sets (see c14n_libxml2). Requests, one JSON object per line; every
request gets exactly one JSON line back, in order:

  {"op": "parse", "doc": K, "xml": <base64 bytes>}
      -> {"ok": true, "libxml2": {"wellFormed": bool, "errors": [[severity, message], ...]},
          "lxml": {"ok": bool, "error": str}}
      Parses with libxml2 (as xmllint --c14n does: entities substituted; see parse_options) and
      keeps the document under key K until "drop". severity: 1 warning, 2 error (libxml2's
      namespace errors such as xmlns:p="" land here: the document is still built), 3 fatal.
  {"op": "c14n", "doc": K, "method": URI, "mode": "document" | "exclude" | "apex",
   "path": [i, ...], "prefixes": [...] | null, "engine": "libxml2" | "lxml"}
      -> {"ok": true, "out": <base64 bytes>} or {"ok": false, "error": str}
      mode document: the whole document (URI="" without comments keeps comments out by the method).
      mode exclude: the whole document without the subtree of the element at `path` (what the
        enveloped-signature transform leaves). libxml2 engine: a real XPath node set,
        (//. | //@* | //namespace::*) minus the subtree; lxml engine: the element removed from a
        copy of the tree, then the whole document canonicalized.
      mode apex: the document subset made of the element at `path`, its descendants, and their
        attributes and namespace nodes (how a verifier canonicalizes SignedInfo). libxml2 engine
        only, through a real node set, so in-scope namespaces (and, for inclusive C14N 1.0, xml:*
        attributes of ancestors) are inherited as the spec says. The lxml engine serializes an
        element by copying it into a new document, which is only the same thing for exclusive C14N.
      path: indices among element children, from the document element ([] is the root).
  {"op": "drop", "doc": K} -> {"ok": true}
"""
import base64
import ctypes
import json
import sys

import libxml2
from lxml import etree

C14N_10 = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315'
EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#'
METHODS = {
    C14N_10: (0, 0),
    C14N_10 + '#WithComments': (0, 1),
    EXC_C14N: (1, 0),
    EXC_C14N + 'WithComments': (1, 1),
}

# libxml2's C14N reports its errors (e.g. "relative namespace") through the generic handler.
generic_errors = []


def on_generic_error(_ctx, msg):
    generic_errors.append(msg)


libxml2.registerErrorHandler(on_generic_error, None)

docs = {}


XML_PARSE_NOENT = 2
XML_PARSE_NONET = 2048


def parse_options(data):
    """As xmllint --c14n and xmlsec1 parse (entities substituted), except for a document with a
    DOCTYPE (which the hub refuses, and which is not compared): nothing is substituted or loaded.

    libxml2 fact: without XML_PARSE_NOENT, a predefined entity in a namespace declaration stays
    escaped in the namespace name (xmlns:a="?q=1&amp;r=2" gets the name "?q=1&#38;r=2"), while an
    ordinary attribute gets "&". xmllint --c14n and xmlsec1 substitute entities, so they read "&".
    """
    return XML_PARSE_NONET if b'<!DOCTYPE' in data else XML_PARSE_NOENT | XML_PARSE_NONET


def parse_libxml2(data):
    errors = []

    def on_error(_arg, msg, severity, _reserved):
        errors.append([severity, msg.strip()])

    ctxt = libxml2.createMemoryParserCtxt(data, len(data))
    ctxt.setErrorHandler(on_error, None)
    ctxt.ctxtUseOptions(parse_options(data))
    ctxt.parseDocument()
    try:
        doc = ctxt.doc()
    except libxml2.parserError:  # no tree at all (e.g. not XML)
        doc = None
    well_formed = bool(ctxt.wellFormed()) and doc is not None and doc.getRootElement() is not None
    return doc, {'wellFormed': well_formed, 'errors': errors}


def parse_lxml(data):
    # No huge_tree: libxml2's default depth limit (256) applies, as for the libxml2 parse.
    parser = etree.XMLParser(resolve_entities=b'<!DOCTYPE' not in data, no_network=True, strip_cdata=False, remove_blank_text=False)
    try:
        return etree.fromstring(data, parser).getroottree(), None
    except etree.XMLSyntaxError as e:
        return None, str(e)


def xpath_of(path):
    return '/*[1]' + ''.join('/*[%d]' % (i + 1) for i in path)


def element_at(root, path):
    el = root
    for i in path:
        el = [c for c in el if isinstance(c.tag, str)][i]
    return el


# libxml2's C14N entry point, called directly: the python3-libxml2 binding's c14nMemory cannot
# pass an InclusiveNamespaces PrefixList under Python 3 (it refuses str, and bytes crash it), and
# an XPath node set handed back through it is rebuilt from Python objects. Through ctypes the node
# set is libxml2's own XPath result, as xmlsec1 hands it over.
_lib = ctypes.CDLL('libxml2.so.2')
_lib.xmlXPathNewContext.restype = ctypes.c_void_p
_lib.xmlXPathNewContext.argtypes = [ctypes.c_void_p]
_lib.xmlXPathFreeContext.argtypes = [ctypes.c_void_p]
_lib.xmlXPathEvalExpression.restype = ctypes.c_void_p
_lib.xmlXPathEvalExpression.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
_lib.xmlXPathFreeObject.argtypes = [ctypes.c_void_p]
_lib.xmlC14NDocDumpMemory.restype = ctypes.c_int
_lib.xmlC14NDocDumpMemory.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.POINTER(ctypes.c_void_p)]
_xmlFree = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(ctypes.c_void_p.in_dll(_lib, 'xmlFree').value)
ctypes.pythonapi.PyCapsule_GetPointer.restype = ctypes.c_void_p
ctypes.pythonapi.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
XML_XPATH_NODESET = 1


def doc_pointer(doc):
    return ctypes.pythonapi.PyCapsule_GetPointer(doc._o, b'xmlDocPtr')


def c14n_libxml2(entry, method, mode, path, prefixes):
    exclusive, with_comments = METHODS[method]
    doc = doc_pointer(entry['libxml2'])
    ctx = None
    obj = None
    nodes = None
    try:
        if mode != 'document':
            ctx = _lib.xmlXPathNewContext(doc)
            x = xpath_of(path)
            if mode == 'exclude':
                expr = '(//. | //@* | //namespace::*)[not(ancestor-or-self::node()[count(. | %s) = 1])]' % x
            elif mode == 'apex':
                expr = '(%s/descendant-or-self::node() | %s/descendant-or-self::*/@* | %s/descendant-or-self::*/namespace::*)' % (x, x, x)
            else:
                raise ValueError('mode ' + mode)
            if not entry['libxml2'].xpathEval(x):
                raise ValueError('no element at path %r' % (path,))
            obj = _lib.xmlXPathEvalExpression(expr.encode(), ctx)
            if not obj or ctypes.c_int.from_address(obj).value != XML_XPATH_NODESET:
                raise ValueError('XPath failed: ' + expr)
            nodes = ctypes.c_void_p.from_address(obj + 8).value  # xmlXPathObject.nodesetval
        prefix_array = None
        if prefixes is not None:
            prefix_array = (ctypes.c_char_p * (len(prefixes) + 1))(*[p.encode('utf-8') for p in prefixes], None)
        out = ctypes.c_void_p()
        del generic_errors[:]
        n = _lib.xmlC14NDocDumpMemory(doc, nodes, exclusive, prefix_array, with_comments, ctypes.byref(out))
        if n < 0 or not out.value:
            raise ValueError('libxml2 C14N failed: ' + ' '.join(m.strip() for m in generic_errors))
        data = ctypes.string_at(out.value, n)
        _xmlFree(out.value)
        return data
    finally:
        if obj:
            _lib.xmlXPathFreeObject(obj)
        if ctx:
            _lib.xmlXPathFreeContext(ctx)


def c14n_lxml(entry, method, mode, path, prefixes):
    exclusive, with_comments = METHODS[method]
    tree = entry['lxml']
    if tree is None:
        raise ValueError('lxml could not parse: ' + entry['lxml_error'])
    kw = dict(method='c14n', exclusive=bool(exclusive), with_comments=bool(with_comments))
    if prefixes is not None:
        if '#default' in prefixes:
            # lxml keeps only prefixes found in the document's name dictionary: "#default" is dropped.
            raise ValueError('lxml cannot pass #default in a PrefixList')
        kw['inclusive_ns_prefixes'] = prefixes
    if mode == 'document':
        return etree.tostring(tree, **kw)
    if mode == 'exclude':
        copy, _ = parse_lxml(entry['data'])  # a fresh tree: the cached one stays intact
        el = element_at(copy.getroot(), path)  # noqa: the same element as in the cached tree
        parent = el.getparent()
        if parent is None:
            raise ValueError('cannot remove the root')
        # Keep the tail text: it belongs to the parent, not to the removed subtree.
        tail = el.tail
        prev = el.getprevious()
        parent.remove(el)
        if tail:
            if prev is not None:
                prev.tail = (prev.tail or '') + tail
            else:
                parent.text = (parent.text or '') + tail
        return etree.tostring(copy, **kw)
    if mode == 'apex':
        if not exclusive:
            raise ValueError('lxml cannot canonicalize a subset with inclusive C14N')
        return etree.tostring(element_at(tree.getroot(), path), **kw)
    raise ValueError('mode ' + mode)


def handle(req):
    op = req['op']
    if op == 'parse':
        data = base64.b64decode(req['xml'])
        doc, info = parse_libxml2(data)
        tree, lxml_error = parse_lxml(data)
        old = docs.pop(req['doc'], None)
        if old is not None and old['libxml2'] is not None:
            old['libxml2'].freeDoc()
        docs[req['doc']] = {'data': data, 'libxml2': doc if info['wellFormed'] else None, 'lxml': tree, 'lxml_error': lxml_error}
        if doc is not None and not info['wellFormed']:
            doc.freeDoc()
        return {'ok': True, 'libxml2': info, 'lxml': {'ok': tree is not None, 'error': lxml_error}}
    if op == 'c14n':
        entry = docs[req['doc']]
        method = req['method']
        if method not in METHODS:
            raise ValueError('unknown method ' + method)
        engine = req.get('engine', 'libxml2')
        prefixes = req.get('prefixes')
        if engine == 'libxml2':
            if entry['libxml2'] is None:
                raise ValueError('libxml2 could not parse the document')
            out = c14n_libxml2(entry, method, req['mode'], req.get('path', []), prefixes)
        else:
            out = c14n_lxml(entry, method, req['mode'], req.get('path', []), prefixes)
        return {'ok': True, 'out': base64.b64encode(out).decode('ascii')}
    if op == 'drop':
        entry = docs.pop(req['doc'], None)
        if entry is not None and entry['libxml2'] is not None:
            entry['libxml2'].freeDoc()
        return {'ok': True}
    raise ValueError('unknown op ' + op)


def main():
    out = sys.stdout
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            res = handle(req)
        except Exception as e:  # every request gets an answer; the test decides what an error means
            res = {'ok': False, 'error': '%s: %s' % (type(e).__name__, e)}
        out.write(json.dumps(res) + '\n')
        out.flush()


if __name__ == '__main__':
    main()
